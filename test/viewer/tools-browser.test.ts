/**
 * The viewer's research tools in a real browser (playwright-core + Debian's chromium, WebGL through
 * SwiftShader): PCA colours of a pretraining checkpoint's point features, picking, standard views and axes,
 * the point budget, shaded meshes, and the ground truth | prediction | error layout. One server for all:
 * `rq3d view <dir> --checkpoint <tiny pretraining run>/checkpoint`. Skipped only when no chromium exists.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePly } from '../../src/data/formats/ply.ts';
import { synthDataset } from '../../src/data/synth/index.ts';
import { PRETRAIN_PRESETS } from '../../src/train/config.ts';
import { pretrain } from '../../src/train/pretrain.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { canvasRegions, CHROMIUM, openPage, REPO, settled, startViewer, stopViewer } from './browser-harness.ts';

const sigDiff = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0);

/** Pixels of view `k` of `n` that are strongly red (the error colour). */
async function redPixels(page: Page, k: number, n: number): Promise<number> {
  return page.evaluate(
    ([k, n]) => {
      const src = document.querySelector('#canvas-host canvas') as HTMLCanvasElement;
      const c = document.createElement('canvas');
      c.width = src.width;
      c.height = src.height;
      const g = c.getContext('2d')!;
      g.drawImage(src, 0, 0);
      const x0 = Math.floor((k! * c.width) / n!),
        x1 = Math.floor(((k! + 1) * c.width) / n!);
      const { data } = g.getImageData(x0, 0, x1 - x0, c.height);
      let red = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i]! > 170 && data[i + 1]! < 90 && data[i + 2]! < 90) red++;
      return red;
    },
    [k, n] as const,
  );
}

describe.skipIf(!CHROMIUM)('viewer tools in chromium', () => {
  let tmp: string;
  let server: ChildProcess | undefined;
  let url = '';
  let browser: Browser | undefined;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rq3d-tools-view-'));
    process.env.RQ3D_CACHE ??= path.join(tmp, 'cache');
    const data = path.join(tmp, 'data');
    const ds = synthDataset({ perClass: 1, points: 2048, categories: ['chair'] });
    const chair = ds.loadSync(ds.items[0]!);
    mkdirSync(path.join(data, 'chair', 'test'), { recursive: true });
    writeFileSync(path.join(data, 'chair', 'test', 'chair_0000.ply'), encodePly(chair));
    // A cloud above the smallest budget: 60,000 points (with normals, so none are estimated).
    const big = synthDataset({ perClass: 1, points: 60_000, categories: ['table'] });
    writeFileSync(path.join(data, 'big.ply'), encodePly(big.loadSync(big.items[0]!)));
    copyFileSync(path.join(REPO, 'test/fixtures/data/cube.off'), path.join(data, 'cube.off'));
    // A real pretraining checkpoint: one step of the tiny preset (public API, as `rq3d pretrain` runs it).
    await tf.setBackend('cpu');
    const cfg = structuredClone(PRETRAIN_PRESETS.tiny!);
    const shapes = await loadShapes('synth:2', { split: 'train', points: 384, quiet: true });
    await pretrain(cfg, { out: path.join(tmp, 'run'), quiet: true, shapes, maxSteps: 1, watchdog: false });

    ({ server, url } = await startViewer([data, '--checkpoint', path.join(tmp, 'run', 'checkpoint')]));
    ({ browser, page, pageErrors } = await openPage({ width: 1200, height: 600 }));
  }, 180_000);

  afterAll(() => stopViewer({ browser, server, tmp }));

  it('colours a pretraining checkpoint by the PCA of its point features (not "no segmentation model")', async () => {
    await page.goto(`${url}#file=chair/test/chair_0000.ply&color=plain`);
    await settled(page);
    const plain = (await canvasRegions(page, 2))[0]!.sig;
    // Asking for predictions of a pretraining checkpoint switches to its features.
    await page.goto(`${url}#file=chair/test/chair_0000.ply&color=prediction`);
    await page.reload();
    const f = await page.waitForFunction(() => window.rq3dViewer!.features(), null, { timeout: 60_000 }).then((h) => h.jsonValue());
    await settled(page, 60_000);
    expect(await page.locator('#color').inputValue()).toBe('features');
    expect(await page.locator('#prediction-status').textContent()).toMatch(/no segmentation model \(a pretraining checkpoint\); colour by network features/);
    expect(f!.points).toBe(2048);
    expect(f!.channels).toBe(PRETRAIN_PRESETS.tiny!.model.pointHidden);
    // Non-constant colours: each of R, G, B spreads over the points.
    for (let ch = 0; ch < 3; ch++) {
      const v = f!.colors.filter((_, i) => i % 3 === ch);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      expect(sd, `channel ${ch}`).toBeGreaterThan(0.1);
    }
    expect(await page.locator('#legend').textContent()).toMatch(/principal components of 16 point features/);
    const coloured = (await canvasRegions(page, 2))[0]!;
    expect(sigDiff(coloured.sig, plain)).toBeGreaterThan(1000);
    // The exported PNG is not blank: many distinct colours.
    const distinct = await page.evaluate(async () => {
      const img = new Image();
      img.src = window.rq3dViewer!.screenshotDataUrl();
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const set = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 7) set.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      return set.size;
    });
    expect(distinct).toBeGreaterThan(200);
    expect(pageErrors).toEqual([]);
  });

  it('picks a clicked point: xyz, octree cell and key, label, RQ bin and value', async () => {
    await page.goto(`${url}#file=chair/test/chair_0000.ply&color=label&bins=8&depth=5`);
    await page.reload();
    await settled(page);
    expect(await page.evaluate(() => window.rq3dViewer!.lastPick())).toBeNull();
    const at = (await page.evaluate(() => window.rq3dViewer!.screenPosition(0, 100)))!;
    await page.mouse.click(at.x, at.y);
    const pick = (await page.waitForFunction(() => window.rq3dViewer!.lastPick(), null, { timeout: 5_000 }).then((h) => h.jsonValue()))!;
    expect(pick.view).toBe(0);
    // The picked point is under the cursor (it may be another point than #100 where points overlap).
    const there = (await page.evaluate((i) => window.rq3dViewer!.screenPosition(0, i), pick.index))!;
    expect(Math.hypot(there.x - at.x, there.y - at.y)).toBeLessThan(12);
    expect(pick.xyz).toEqual(pick.original);
    expect(pick.depth).toBe(5);
    const cell = pick.xyz.map((v) => Math.min(31, Math.floor(((v + 1) / 2) * 32)));
    expect(pick.cell).toEqual(cell);
    let key = 0;
    for (let b = 0; b < 5; b++) key |= (((cell[0]! >> b) & 1) << (3 * b + 2)) | (((cell[1]! >> b) & 1) << (3 * b + 1)) | (((cell[2]! >> b) & 1) << (3 * b));
    expect(pick.key).toBe(key);
    expect(pick.label).not.toBeNull();
    expect(pick.quantized!.length).toBe(3);
    for (const [a, q] of pick.quantized!.entries()) {
      expect(q.bins).toBe(8);
      expect(q.bin).toBeGreaterThanOrEqual(0);
      expect(q.bin).toBeLessThan(8);
      expect(pick.original![a]!).toBeGreaterThanOrEqual(q.lo);
      expect(pick.original![a]!).toBeLessThan(q.hi);
      expect(q.value).toBeGreaterThanOrEqual(q.lo - 1e-6);
      expect(q.value).toBeLessThanOrEqual(q.hi);
    }
    const panel = (await page.locator('#pick').textContent())!;
    expect(panel).toContain(`#${pick.index}`);
    expect(panel).toContain(`key ${pick.key}`);
    expect(panel).toContain(`bin ${pick.quantized![0]!.bin} of 8`);
    expect(panel).toContain(pick.xyz[0]!.toFixed(4));
    // The pick follows changes: fewer bins, same point.
    await page.locator('#bins').evaluate((el) => {
      (el as HTMLInputElement).value = '3';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.waitForFunction(() => window.rq3dViewer!.lastPick()?.quantized?.[0]?.bins === 3);
    expect((await page.evaluate(() => window.rq3dViewer!.lastPick()))!.index).toBe(pick.index);
    expect(await page.locator('#pick').textContent()).toContain('of 3 [');
    // A drag orbits and does not pick.
    await page.mouse.move(at.x + 200, at.y);
    await page.mouse.down();
    await page.mouse.move(at.x + 260, at.y + 30, { steps: 4 });
    await page.mouse.up();
    expect((await page.evaluate(() => window.rq3dViewer!.lastPick()))!.index).toBe(pick.index);

    // The MID-Net view quantizes the clipped cloud: a pick there claims no original point and no bins.
    await page.goto(`${url}#file=chair/test/chair_0000.ply&color=label&bins=8&mid=1`);
    await page.reload();
    await settled(page);
    const q = (await page.evaluate(() => window.rq3dViewer!.screenPosition(1, 5)))!;
    await page.mouse.click(q.x, q.y);
    const mp = (await page.waitForFunction(() => window.rq3dViewer!.lastPick(), null, { timeout: 5_000 }).then((h) => h.jsonValue()))!;
    expect(mp.view).toBe(1);
    expect(mp.quantized).toBeNull();
    expect(await page.locator('#pick').textContent()).toMatch(/bins not kept by the MID-Net training sample/);
    expect(pageErrors).toEqual([]);
  });

  it('standard views, axes, point budget and shaded meshes', async () => {
    await page.goto(`${url}#file=chair/test/chair_0000.ply&color=height`);
    await page.reload();
    await settled(page);
    const unit = async (): Promise<number[]> => {
      const c = await page.evaluate(() => window.rq3dViewer!.camera());
      const n = Math.hypot(...c);
      return c.map((v) => v / n);
    };
    await page.locator('#standard-views [data-view=top]').click();
    expect((await unit())[1]).toBeGreaterThan(0.999);
    await page.locator('#standard-views [data-view=front]').click();
    expect((await unit())[2]).toBeGreaterThan(0.999);
    await page.locator('#standard-views [data-view=side]').click();
    expect((await unit())[0]).toBeGreaterThan(0.999);
    expect(page.url()).toMatch(/cam=/);
    await settled(page);
    const withAxes = await canvasRegions(page, 2);
    await page.locator('#axes').uncheck();
    await page.waitForFunction(() => !window.rq3dViewer!.state().axes);
    await settled(page);
    expect(sigDiff((await canvasRegions(page, 2))[0]!.sig, withAxes[0]!.sig)).toBeGreaterThan(300);

    // A 60,000-point cloud under a 10,000 budget: said, and raised from the panel.
    await page.goto(`${url}#file=big.ply&budget=10000`);
    await page.reload();
    await settled(page);
    expect((await page.evaluate(() => window.rq3dViewer!.stats()!)).points).toBe(10_000);
    expect(await page.locator('#budget-info').textContent()).toMatch(/showing 10,000 of 60,000 points/);
    await page.locator('#budget').selectOption('200000');
    await page.waitForFunction(() => window.rq3dViewer!.stats()?.points === 60_000, null, { timeout: 30_000 });
    await settled(page);
    expect(await page.locator('#budget-info').textContent()).toBe('showing 60,000 of 60,000 points');

    // A mesh: shaded surface under the samples; turning it off changes the left view.
    await page.goto(`${url}#file=cube.off&color=plain&budget=200000`);
    await page.reload();
    await settled(page);
    expect(await page.locator('#budget-info').textContent()).toMatch(/showing 8,000 of 8,000 points sampled from a mesh of 12 triangles \(drawn shaded\)/);
    const shaded = await canvasRegions(page, 2);
    await page.locator('#surface').uncheck();
    await page.waitForFunction(() => !window.rq3dViewer!.state().surface);
    await settled(page);
    const bare = await canvasRegions(page, 2);
    expect(sigDiff(bare[0]!.sig, shaded[0]!.sig)).toBeGreaterThan(1000);
    expect(bare[0]!.count).toBeLessThan(shaded[0]!.count);
    expect(sigDiff(bare[1]!.sig, shaded[1]!.sig)).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('ground truth | prediction | error: three synchronized views, wrong points red', async () => {
    await page.goto(`${url}#file=chair/test/chair_0000.ply&layout=rq&color=label`);
    await page.reload();
    await settled(page);
    // A provider that is right except on the first 300 points.
    await page.evaluate(() => {
      window.rq3dViewer!.setPredictionProvider({
        name: 'almost',
        predictLabels: async (c) => Int32Array.from(c.labels ?? [], (v, i) => (i < 300 ? v + 1 : v)),
        dispose: () => {},
      });
    });
    await page.locator('#layout').selectOption('compare');
    await page.waitForFunction(() => /errors: 300 of 2048 points/.test(document.getElementById('title-3')!.textContent ?? ''), null, { timeout: 20_000 });
    await settled(page);
    expect(await page.evaluate(() => window.rq3dViewer!.viewCount())).toBe(3);
    expect(await page.locator('#title-left').textContent()).toBe('ground truth');
    expect(await page.locator('#title-right').textContent()).toMatch(/^prediction/);
    const views = await canvasRegions(page, 3);
    for (const v of views) expect(v.count).toBeGreaterThan(500);
    expect(await redPixels(page, 2, 3)).toBeGreaterThan(50);
    expect(await redPixels(page, 0, 3)).toBeLessThan(await redPixels(page, 2, 3));
    // One camera: a standard view changes all three.
    await page.locator('#standard-views [data-view=top]').click();
    await settled(page);
    const top = await canvasRegions(page, 3);
    for (let k = 0; k < 3; k++) expect(sigDiff(top[k]!.sig, views[k]!.sig), `view ${k}`).toBeGreaterThan(1000);
    expect(page.url()).toContain('layout=compare');
    expect(pageErrors).toEqual([]);
  });
});
