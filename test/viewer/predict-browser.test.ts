/**
 * Predictions in a real browser: tiny segmentation models are trained for a few steps (chair and table,
 * saved in the few-shot layout models/<protocol>/<backbone>/<category>), synth PLY files with part labels are
 * served with `rq3d view <dir> --checkpoint <ckpt> --no-open --port 0`, and chromium (playwright-core,
 * WebGL through SwiftShader) must load the model of the shape's class, predict a part per point on webgl and
 * on wasm, colour by it and show IoUs in [0, 1]. Skipped only when no chromium exists.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePly } from '../../src/data/formats/ply.ts';
import { synthDataset } from '../../src/data/synth/index.ts';
import { segmentCategory } from '../../src/downstream/segment.ts';
import { HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { loadShapes } from '../../src/data/sources.ts';
import type { PredictionSummary } from '../../viewer/src/app.ts';
import { canvasRegions, CHROMIUM, openPage, settled as settledWithin, startViewer, stopViewer } from './browser-harness.ts';

const POINTS = 1024;
const CHAIR = 'models/finetune/scratch/chair';
const TABLE = 'models/finetune/scratch/table';

/** Sum of channel values per 16x16 tile of the WebGL canvas: tells whether the drawing changed. */
async function canvasSignature(page: Page): Promise<number[]> {
  return (await canvasRegions(page, 1))[0]!.sig;
}

/** Predicting on SwiftShader is slow: allow a minute to settle. */
const settled = (page: Page): Promise<void> => settledWithin(page, 60_000);

/**
 * The shown prediction once `ok` holds for it; a failed or unavailable prediction throws with the panel's
 * message. The check and the read happen in one evaluation: the viewer may start a new prediction (and
 * clear the shown one) at any moment, e.g. on the hash change of a navigation.
 */
async function prediction(page: Page, ok: (p: PredictionSummary, arg: string) => boolean = () => true, arg = ''): Promise<PredictionSummary> {
  const handle = await page.waitForFunction(
    ([f, a]) => {
      const p = window.rq3dViewer!.prediction();
      // eslint-disable-next-line no-new-func
      if (p !== null && (new Function('p', 'a', `return (${f})(p, a)`) as (p: unknown, a: string) => boolean)(p, a)) return { p };
      const status = document.getElementById('prediction-status')!.textContent ?? '';
      return /failed|unavailable/.test(status) ? { status } : false;
    },
    [ok.toString(), arg] as const,
    { timeout: 60_000 },
  );
  const r = (await handle.jsonValue()) as { p?: PredictionSummary; status?: string };
  await handle.dispose();
  if (!r.p) throw new Error(`no prediction: ${r.status ?? ''}`);
  return r.p;
}

const agreement = (a: number[], b: number[]): number => a.filter((v, i) => v === b[i]).length / a.length;

describe.skipIf(!CHROMIUM)('viewer predictions in chromium', () => {
  let tmp: string;
  let server: ChildProcess | undefined;
  let url = '';
  let browser: Browser | undefined;
  let page: Page;
  let parts = 0;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rq3d-predict-view-'));
    const data = path.join(tmp, 'data');
    const ckpt = path.join(tmp, 'run');
    const ds = synthDataset({ perClass: 1, points: POINTS, categories: ['chair', 'table'] });
    for (const item of ds.items) {
      const f = path.join(data, item.category, 'test', `${item.id}.ply`);
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, encodePly(ds.loadSync(item)));
    }
    // Real checkpoints: a few steps of the tiny HRNet per category, saved where rq3d fewshot saves them.
    await tf.setBackend('cpu');
    const shapes = await loadShapes('synth:3', { points: 512, scale: 0.95, quiet: true });
    const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };
    for (const [cat, dir] of [
      ['chair', CHAIR],
      ['table', TABLE],
    ] as const) {
      const c = shapes.classes.indexOf(cat);
      const idx = shapes.items.map((it, i) => (it.label === c ? i : -1)).filter((i) => i >= 0);
      await segmentCategory(tiny, shapes.clouds, shapes.parts![cat]!.length, idx, [], {
        init: 'scratch',
        mode: 'finetune',
        steps: 3,
        lr: 0.05,
        backboneLrScale: 0.1,
        momentum: 0.9,
        weightDecay: 5e-4,
        batchSize: 3,
        decayAt: [],
        seed: 0,
        workers: 0,
        quiet: true,
        saveDir: path.join(ckpt, dir),
        category: cat,
        partNames: shapes.parts![cat],
      });
    }
    parts = shapes.parts!.chair!.length;
    // A checkpoint that is not a segmentation model is listed but cannot be chosen.
    mkdirSync(path.join(ckpt, 'pretrain'));
    writeFileSync(
      path.join(ckpt, 'pretrain', 'model.json'),
      JSON.stringify({ format: 'rq3d-checkpoint', version: 1, meta: { kind: 'pretrain' }, weightsManifest: [] }),
    );

    ({ server, url } = await startViewer([data, '--checkpoint', ckpt]));
    ({ browser, page, pageErrors } = await openPage({ width: 1000, height: 600 }));
  }, 240_000);

  afterAll(() => stopViewer({ browser, server, tmp }));

  it('lists the models, runs the one of the shape class on webgl, colours by it and shows IoUs', async () => {
    await page.goto(`${url}#file=chair/test/chair_0000.ply&color=plain`);
    await settled(page);
    const plain = await canvasSignature(page);
    const options = await page
      .locator('#model option')
      .evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, disabled: (o as HTMLOptionElement).disabled })));
    expect(options).toEqual([
      { value: '', disabled: false },
      { value: CHAIR, disabled: false },
      { value: TABLE, disabled: false },
      { value: 'pretrain', disabled: true },
    ]);

    await page.locator('#color').selectOption('prediction');
    const p = await prediction(page);
    await settled(page);
    expect(p.model).toBe(CHAIR);
    expect(p.backend).toBe('webgl');
    expect(p.points).toBe(POINTS);
    expect(p.labels.length).toBe(POINTS);
    expect(p.distinct.every((v) => Number.isInteger(v) && v >= 0 && v < parts)).toBe(true);
    expect(p.ms).toBeGreaterThan(0);
    for (const v of [p.iou!, p.iouPointNet!]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(Number(await page.locator('#r-iou-in').textContent())).toBeCloseTo(p.iou!, 3);
    expect(Number(await page.locator('#r-iou-pn-in').textContent())).toBeCloseTo(p.iouPointNet!, 3);
    const q = Number(await page.locator('#r-iou-q').textContent());
    expect(q >= 0 && q <= 1).toBe(true);
    expect(await page.locator('#prediction-info').textContent()).toMatch(/chair · finetune · scratch · tfjs webgl · \d+ ms/);
    const coloured = await canvasSignature(page);
    expect(coloured.reduce((s, v, i) => s + Math.abs(v - plain[i]!), 0)).toBeGreaterThan(1000);
    expect(pageErrors).toEqual([]);
  });

  it('runs the same model on wasm with the same labels', async () => {
    // After the first test this is the page it left (same hash: no reload, the prediction is there).
    await page.goto(`${url}#file=chair/test/chair_0000.ply&color=prediction`);
    const webgl = await prediction(page);
    expect(webgl.backend).toBe('webgl');
    expect(await page.evaluate(() => window.rq3dViewer!.tfjsBackend(['wasm']))).toBe('wasm');
    await page.evaluate(() => window.rq3dViewer!.repredict());
    const p = await prediction(page, (x) => x.backend === 'wasm');
    expect(p.model).toBe(CHAIR);
    // Same weights, same inputs; only float rounding differs between the backends.
    expect(agreement(p.labels, webgl.labels)).toBeGreaterThan(0.98);
    expect(pageErrors).toEqual([]);
  });

  it('a repredict while a prediction runs drops that prediction and runs again', async () => {
    // Start a webgl prediction; while it runs, switch to wasm and ask again: the shown one must be wasm's
    // (the webgl one, finishing later, once overwrote it and no new run followed).
    const caught = await page.evaluate(async () => {
      const v = window.rq3dViewer!;
      await v.tfjsBackend(['webgl']);
      v.repredict();
      const t0 = performance.now();
      while (!v.predicting() && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 0));
      const running = v.predicting();
      await v.tfjsBackend(['wasm']);
      v.repredict();
      return running;
    });
    expect(caught).toBe(true);
    const p = await prediction(page, (x) => x.backend === 'wasm');
    expect(p.model).toBe(CHAIR);
    expect(pageErrors).toEqual([]);
  });

  it('picks the table model for a table, and the user choice over the class', async () => {
    await page.goto(`${url}#file=table/test/table_0000.ply&color=prediction`);
    expect((await prediction(page, (x, d) => x.model === d, TABLE)).model).toBe(TABLE);
    await page.locator('#model').selectOption(CHAIR);
    await prediction(page, (x, d) => x.model === d, CHAIR);
    expect(decodeURIComponent(page.url())).toContain(`model=${CHAIR}`);
    expect(pageErrors).toEqual([]);
  });
});
