/**
 * The viewer in a real browser: `rq3d view <dir> --no-open --port 0` (built with Vite on first use), driven by
 * Debian's chromium through playwright-core, WebGL through SwiftShader. Skipped only when no chromium exists.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePly } from '../../src/data/formats/ply.ts';
import { synthDataset } from '../../src/data/synth/index.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const FIXTURES = path.join(REPO, 'test/fixtures/data');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ARGS = [
  '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-gpu-sandbox', '--disable-sync', '--disable-quic',
];

interface Pixels {
  /** Non-background pixels in the left / right half of the WebGL canvas. */
  left: number;
  right: number;
  /** Coarse signatures (sum of channel values per 16x16 tile) to tell whether a half changed. */
  leftSig: number[];
  rightSig: number[];
}

/** Read the canvas back in the page (a 2D copy of the WebGL drawing buffer, which is preserved). */
async function canvasPixels(page: Page): Promise<Pixels> {
  return page.evaluate(() => {
    const src = document.querySelector('#canvas-host canvas') as HTMLCanvasElement;
    const c = document.createElement('canvas');
    c.width = src.width;
    c.height = src.height;
    const g = c.getContext('2d')!;
    g.drawImage(src, 0, 0);
    const { data, width, height } = g.getImageData(0, 0, c.width, c.height);
    const bg = [data[0]!, data[1]!, data[2]!];
    const half = Math.floor(width / 2);
    const tiles = 16;
    const out = { left: 0, right: 0, leftSig: new Array<number>(tiles * tiles).fill(0), rightSig: new Array<number>(tiles * tiles).fill(0) };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = 4 * (y * width + x);
        const right = x >= half;
        const ty = Math.min(tiles - 1, Math.floor((y * tiles) / height));
        const tx = Math.min(tiles - 1, Math.floor(((right ? x - half : x) * tiles) / half));
        (right ? out.rightSig : out.leftSig)[ty * tiles + tx]! += data[i]! + data[i + 1]! + data[i + 2]!;
        if (Math.abs(data[i]! - bg[0]!) + Math.abs(data[i + 1]! - bg[1]!) + Math.abs(data[i + 2]! - bg[2]!) > 30) {
          if (right) out.right++;
          else out.left++;
        }
      }
    }
    return out;
  });
}

const sigDiff = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0);

/** Wait until the viewer has settled (nothing loading or scheduled) and then one more frame was drawn. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const v = window.rq3dViewer;
    return !!v && v.stats() !== null && !v.busy();
  }, null, { timeout: 20_000 });
  const n = await page.evaluate(() => window.rq3dViewer!.renders());
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.waitForFunction((k) => window.rq3dViewer!.renders() >= k, n, { timeout: 5_000 });
}

async function setRange(page: Page, id: string, value: number): Promise<void> {
  await page.locator(`#${id}`).evaluate((el, v) => {
    (el as HTMLInputElement).value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

describe.skipIf(!CHROMIUM)('viewer in chromium', () => {
  let tmp: string;
  let server: ChildProcess | null = null;
  let url = '';
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rq3d-viewer-'));
    const ds = synthDataset({ perClass: 2, points: 2048, categories: ['chair', 'table'] });
    for (const item of ds.items) {
      const f = path.join(tmp, item.category, 'train', `${item.id}.ply`);
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, encodePly(ds.loadSync(item)));
    }
    copyFileSync(path.join(FIXTURES, 'cube.off'), path.join(tmp, 'cube.off'));

    server = spawn(process.execPath, [path.join(REPO, 'bin/rq3d.js'), 'view', tmp, '--no-open', '--port', '0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server!.on('exit', (code) => reject(new Error(`rq3d view exited (${code}): ${stderr}`)));
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

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
