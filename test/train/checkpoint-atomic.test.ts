import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { checkpointExists, disposeLoaded, loadCheckpoint, resolveCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';

/**
 * Issue 16, item 3: a checkpoint write killed at any moment (SIGKILL, a test) leaves the previous checkpoint
 * loadable. The writer saves into `<dir>.tmp-*`, fsyncs, swaps folders through `<dir>.prev`; the loader falls
 * back to `<dir>.prev`. A child process writes 20 MB checkpoints in a loop and is killed at varying moments.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-ckpt-atomic-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Every value of the checkpoint equals its step: a mix of two saves would show. */
async function expectWhole(dir: string): Promise<number> {
  const ck = await loadCheckpoint(dir);
  try {
    const step = Number(ck.meta.step);
    const w = ck.groups.get('model')!.get('w')!.dataSync();
    const bank = ck.arrays.get('bank')!;
    expect(w.length).toBe(1024 * 4096);
    expect(bank.length).toBe(1 << 20);
    for (let i = 0; i < w.length; i += 4099) expect(w[i]).toBe(step);
    expect(w[w.length - 1]).toBe(step);
    for (let i = 0; i < bank.length; i += 1021) expect(bank[i]).toBe(step);
    return step;
  } finally {
    disposeLoaded(ck);
  }
}

function runAndKill(dir: string, afterSaves: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, '../fixtures/scripts/checkpoint-writer.mjs'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let saves = 0;
    let last = 0;
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/saved (\d+)/g)) {
        last = Number(m[1]);
        if (++saves === afterSaves) setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`writer exited ${code}: ${err}`))));
  });
}

describe('checkpoint writes killed mid-way', () => {
  it('always leave a whole checkpoint: the last saved one or the one being written', async () => {
    const dir = path.join(root, 'run', 'checkpoint');
    let prevStep = 0;
    // kill at several points of the next save (it takes ~100-300 ms for 20 MB with fsync)
    for (const delay of [0, 15, 40, 80, 130, 200]) {
      const lastPrinted = await runAndKill(dir, 1, delay);
      expect(await checkpointExists(dir)).toBe(true);
      const step = await expectWhole(dir);
      // the checkpoint on disk is the last one reported saved, or the one after it (renamed just before the kill)
      expect(step === lastPrinted || step === lastPrinted + 1).toBe(true);
      expect(step).toBeGreaterThan(prevStep);
      prevStep = step;
    }
  }, 120_000);

  it('falls back to .prev when the folder swap was cut between its renames', async () => {
    const dir = path.join(root, 'swap', 'checkpoint');
    const w = tf.fill([8], 3);
    await saveCheckpoint(dir, { meta: { step: 3 }, groups: { model: new Map([['w', w]]) } });
    w.dispose();
    // the state right after `rename(dir, dir.prev)`: no dir, a whole .prev, a temp folder
    fs.renameSync(dir, `${dir}.prev`);
    fs.mkdirSync(`${dir}.tmp-1-x`);
    expect(await resolveCheckpoint(dir)).toBe(`${dir}.prev`);
    const ck = await loadCheckpoint(dir);
    expect(ck.meta.step).toBe(3);
    expect(ck.dir).toBe(`${dir}.prev`);
    disposeLoaded(ck);
    // the next save replaces both and clears the leftovers
    const w2 = tf.fill([8], 4);
    await saveCheckpoint(dir, { meta: { step: 4 }, groups: { model: new Map([['w', w2]]) } });
    w2.dispose();
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['checkpoint']);
    // a cut file in dir also falls back to .prev (here: none left, so the error names the file)
    fs.truncateSync(path.join(dir, 'weights.bin'), 4);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/weights\.bin: truncated or from another run \(4 bytes where the manifest needs 32\)/);
  });
});
