/**
 * The viewer in a real browser: `rq3d view <dir> --no-open --port 0` (built with Vite on first use), driven by
 * Debian's chromium through playwright-core, WebGL through SwiftShader. Skipped only when no chromium exists.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePly } from '../../src/data/formats/ply.ts';
import { synthDataset } from '../../src/data/synth/index.ts';
import { canvasRegions, CHROMIUM, openPage, REPO, settled, startViewer, stopViewer } from './browser-harness.ts';

const FIXTURES = path.join(REPO, 'test/fixtures/data');

interface Pixels {
  /** Non-background pixels in the left / right half of the WebGL canvas. */
  left: number;
  right: number;
  /** Coarse signatures (sum of channel values per 16x16 tile) to tell whether a half changed. */
  leftSig: number[];
  rightSig: number[];
}

/** The canvas read back as a left (input) and a right (quantized) half. */
async function canvasPixels(page: Page): Promise<Pixels> {
  const [l, r] = await canvasRegions(page, 2);
  return { left: l!.count, right: r!.count, leftSig: l!.sig, rightSig: r!.sig };
}

const sigDiff = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0);

async function setRange(page: Page, id: string, value: number): Promise<void> {
  await page.locator(`#${id}`).evaluate((el, v) => {
    (el as HTMLInputElement).value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

describe.skipIf(!CHROMIUM)('viewer in chromium', () => {
  let tmp: string;
  let server: ChildProcess | undefined;
  let url = '';
  let browser: Browser | undefined;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rq3d-viewer-'));
    const ds = synthDataset({ perClass: 2, points: 2048, categories: ['chair', 'table'] });
    for (const item of ds.items) {
      const f = path.join(tmp, item.category, 'train', `${item.id}.ply`);
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, encodePly(ds.loadSync(item)));
    }
    copyFileSync(path.join(FIXTURES, 'cube.off'), path.join(tmp, 'cube.off'));

    ({ server, url } = await startViewer([tmp]));
    ({ browser, page, pageErrors } = await openPage({ width: 1200, height: 700 }));
  }, 180_000);

  afterAll(() => stopViewer({ browser, server, tmp }));

  it('renders both views; changing the bins changes the quantized view only', async () => {
    await page.goto(`${url}#file=chair/train/chair_0000.ply`);
    await settled(page);
    const before = await page.evaluate(() => window.rq3dViewer!.stats()!);
    expect(before.points).toBe(2048);
    expect(Math.max(...before.distinctQuantized)).toBeLessThanOrEqual(30);
    expect(Math.min(...before.distinctInput)).toBeGreaterThan(30);
    const shown = await page.locator('#r-dx-q').textContent();
    expect(Number(shown)).toBe(before.distinctQuantized[0]);
    const px0 = await canvasPixels(page);
    expect(px0.left).toBeGreaterThan(500);
    expect(px0.right).toBeGreaterThan(500);

    await setRange(page, 'bins', 4);
    await page.waitForFunction(() => window.rq3dViewer!.state().bins === 4);
    await settled(page);
    const after = await page.evaluate(() => window.rq3dViewer!.stats()!);
    expect(Math.max(...after.distinctQuantized)).toBeLessThanOrEqual(4);
    for (const id of ['r-dx-q', 'r-dy-q', 'r-dz-q']) expect(Number(await page.locator(`#${id}`).textContent())).toBeLessThanOrEqual(4);
    expect(after.leavesQuantized).toBeLessThan(before.leavesQuantized);
    expect(after.leavesInput).toBe(before.leavesInput);
    const px1 = await canvasPixels(page);
    expect(px1.right).toBeGreaterThan(50);
    expect(sigDiff(px1.rightSig, px0.rightSig)).toBeGreaterThan(1000);
    expect(sigDiff(px1.leftSig, px0.leftSig)).toBe(0);
    expect(page.url()).toContain('bins=4');
    expect(pageErrors).toEqual([]);
  });

  it('restores a shared URL state, draws octree cells, browses the dataset', async () => {
    await page.goto(`${url}#file=table/train/table_0001.ply&bins=9&seed=5&variant=uniform-middle&depth=3&boxes=solid&color=label&points=0`);
    await page.reload();
    await settled(page);
    expect(await page.locator('#bins').inputValue()).toBe('9');
    expect(await page.locator('#variant').inputValue()).toBe('uniform-middle');
    expect(await page.locator('#seed').inputValue()).toBe('5');
    const st = await page.evaluate(() => window.rq3dViewer!.stats()!);
    expect(st.depth).toBe(3);
    expect(Math.max(...st.distinctQuantized)).toBeLessThanOrEqual(9);
    expect(await page.locator('#legend').textContent()).toMatch(/part 0/);
    const solid = await canvasPixels(page);
    expect(solid.left).toBeGreaterThan(2000); // boxes only (points are off): cells at depth 3 are large

    await page.locator('#filter-category').selectOption('chair');
    expect(await page.locator('#shape-list option').count()).toBe(2);
    await page.locator('#next').click();
    await page.waitForFunction(() => window.rq3dViewer!.state().file?.startsWith('chair/'));
    await settled(page);
    expect(page.url()).toContain('cat=chair');
    await page.locator('#color').selectOption('cluster');
    await page.waitForFunction(() => /cluster 5/.test(document.getElementById('legend')!.textContent ?? ''));
    expect(await page.locator('#legend').textContent()).not.toMatch(/cluster 6/); // k = 6 by default
    expect(pageErrors).toEqual([]);
  });

  it('opens a dropped file, exports a PNG, plugs in a prediction provider with IoU', async () => {
    const bytes = [...readFileSync(path.join(FIXTURES, 'cube.off'))];
    await page.evaluate((b) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], 'cube.off'));
      const stage = document.getElementById('stage')!;
      stage.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
      stage.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true }));
    }, bytes);
    await page.waitForFunction(() => window.rq3dViewer!.stats()?.points === 8000);
    await settled(page);
    const png = await page.evaluate(() => window.rq3dViewer!.screenshotDataUrl());
    expect(png.startsWith('data:image/png;base64,')).toBe(true);
    expect(png.length).toBeGreaterThan(5000);

    await page.goto(`${url}#file=chair/train/chair_0000.ply&color=prediction`);
    await settled(page);
    expect(await page.locator('#prediction-status').textContent()).toMatch(/no checkpoint/);
    // An oracle provider that returns the ground truth: the IoU readout must say 1.
    await page.evaluate(() => {
      window.rq3dViewer!.setPredictionProvider({
        name: 'oracle',
        predictLabels: async (c) => Int32Array.from(c.labels ?? []),
        dispose: () => {},
      });
    });
    await page.waitForFunction(() => document.getElementById('r-iou-in')!.textContent === '1.000', null, { timeout: 10_000 });
    expect(await page.locator('#r-iou-q').textContent()).toBe('1.000');
    expect(await page.locator('#legend').textContent()).toMatch(/class 0/);
    // The backends a checkpoint-backed provider runs on: webgl (SwiftShader here), and the wasm fallback.
    expect(await page.evaluate(() => window.rq3dViewer!.tfjsBackend(['webgl']))).toBe('webgl');
    expect(await page.evaluate(() => window.rq3dViewer!.tfjsBackend(['wasm']))).toBe('wasm');
    expect(pageErrors).toEqual([]);
  });
});
