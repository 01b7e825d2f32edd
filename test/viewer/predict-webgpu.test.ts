/**
 * Viewer predictions on WebGPU: headless chromium with `--enable-unsafe-webgpu` (SwiftShader's Vulkan on a
 * CPU-only machine) exposes navigator.gpu on the viewer's 127.0.0.1 page, so the viewer must pick webgpu
 * (rq3d's WGSL kernels) on its own, and give the labels wasm gives. Without the flag it falls back to webgl
 * (test/viewer/predict-browser.test.ts). Skipped only when no chromium exists.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePly } from '../../src/data/formats/ply.ts';
import { synthDataset } from '../../src/data/synth/index.ts';
import { segmentCategory } from '../../src/downstream/segment.ts';
import { HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { loadShapes } from '../../src/data/sources.ts';
import type { PredictionSummary } from '../../viewer/src/app.ts';
import { CHROMIUM, CHROMIUM_ARGS, startViewer, stopViewer } from './browser-harness.ts';

const POINTS = 512;
const CHAIR = 'models/finetune/scratch/chair';

async function prediction(page: Page, backend: string): Promise<PredictionSummary> {
  const handle = await page.waitForFunction(
    (b) => {
      const p = window.rq3dViewer!.prediction();
      if (p !== null && p.backend === b) return { p };
      const status = document.getElementById('prediction-status')!.textContent ?? '';
      return /failed|unavailable/.test(status) ? { status } : false;
    },
    backend,
    { timeout: 240_000 },
  );
  const r = (await handle.jsonValue()) as { p?: PredictionSummary; status?: string };
  await handle.dispose();
  if (!r.p) throw new Error(`no prediction: ${r.status ?? ''}`);
  return r.p;
}

describe.skipIf(!CHROMIUM)('viewer predictions on webgpu in chromium', () => {
  let tmp: string;
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rq3d-predict-webgpu-'));
    const data = path.join(tmp, 'data'),
      ckpt = path.join(tmp, 'run');
    const ds = synthDataset({ perClass: 1, points: POINTS, categories: ['chair'] });
    for (const item of ds.items) {
      const f = path.join(data, item.category, 'test', `${item.id}.ply`);
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, encodePly(ds.loadSync(item)));
    }
    await tf.setBackend('cpu');
    const shapes = await loadShapes('synth:3', { points: 512, scale: 0.95, quiet: true });
    const c = shapes.classes.indexOf('chair');
    const idx = shapes.items.map((it, i) => (it.label === c ? i : -1)).filter((i) => i >= 0);
    await segmentCategory({ ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 }, shapes.clouds, shapes.parts!.chair!.length, idx, [], {
      init: 'scratch',
      mode: 'finetune',
      steps: 2,
      lr: 0.05,
      backboneLrScale: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      batchSize: 3,
      decayAt: [],
      seed: 0,
      workers: 0,
      quiet: true,
      saveDir: path.join(ckpt, CHAIR),
      category: 'chair',
      partNames: shapes.parts!.chair,
    });
    ({ server, url } = await startViewer([data, '--checkpoint', ckpt]));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] });
    page = await browser.newPage({ viewport: { width: 800, height: 500 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // a synchronous read-back on webgpu (which returns zeros in a browser) must not happen
    page.on('console', (m) => {
      if (/synchronously reading data/.test(m.text())) pageErrors.push(m.text());
    });
  }, 300_000);

  afterAll(() => stopViewer({ browser, server, tmp }));

  it('picks webgpu by itself and predicts the labels wasm predicts', async () => {
    await page.goto(`${url}#file=chair/test/chair_0000.ply&color=prediction`);
    const gpu = await prediction(page, 'webgpu');
    expect(gpu.model).toBe(CHAIR);
    expect(gpu.labels.length).toBe(POINTS);
    expect(await page.evaluate(() => window.rq3dViewer!.tfjsBackend(['wasm']))).toBe('wasm');
    await page.evaluate(() => window.rq3dViewer!.repredict());
    const wasm = await prediction(page, 'wasm');
    // same weights and inputs; only float rounding differs between the backends
    expect(wasm.labels.filter((v, i) => v === gpu.labels[i]).length / POINTS).toBeGreaterThan(0.98);
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
