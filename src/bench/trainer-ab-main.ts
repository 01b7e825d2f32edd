/**
 * In-process A/B of the training loops before and after the one trainer (issue 12 items 1 and 7):
 *   old: `pretrain()` and `trainSupervised()` as they were at git ref REF (default dd8ba6e, before the
 *        trainer), copied next to the current files for the run (same imports, same kernels, same process)
 *        and removed afterwards;
 *   new: the current ones (through src/train/trainer.ts).
 * Rounds alternate the order (old, new / new, old), so drift of a loaded machine hits both alike. Per round:
 * the pretraining step's median ms (from its metrics.jsonl rows, first two steps of a run left out) and
 * the process CPU time of each whole run, the supervised step's median ms (the interval between consecutive optimizer updates, measured the same
 * way in both arms by wrapping SgdMomentum.apply) and the wall time of a whole supervised run; both arms get the same seed, and the script checks that they
 * train to the same bits (metrics rows without timings, checkpoint weights). Prints one JSON line.
 *   node --import tsx src/bench/trainer-ab-main.ts [rounds=5] [pretrainSteps=8] [ref=dd8ba6e] [aa]
 * (`aa`: both arms run the current loops, to see how far the ratios stray by noise alone.)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const rounds = Number(process.argv[2] ?? 5);
const pretrainSteps = Number(process.argv[3] ?? 8);
const ref = process.argv[4] ?? 'dd8ba6e';
// 'aa': both arms run the current loops (an A/A run: how far the ratios stray on this machine by noise alone)
const aa = process.argv[5] === 'aa';
process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-ab-cache-'));

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const copies = [
  { from: 'src/train/pretrain.ts', to: 'src/train/pretrain-ab-before.ts' },
  { from: 'src/downstream/supervised.ts', to: 'src/downstream/supervised-ab-before.ts' },
];
for (const c of copies) fs.writeFileSync(path.join(root, c.to), execFileSync('git', ['show', `${ref}:${c.from}`], { cwd: root }));

type Pretrain = typeof import('../train/pretrain.ts').pretrain;
type Supervised = typeof import('../downstream/supervised.ts').trainSupervised;
try {
  const { initBackend } = await import('../backend.ts');
  const { PRETRAIN_PRESETS } = await import('../train/config.ts');
  const { HRNET_PRESETS } = await import('../models/mid-hrnet.ts');
  const { loadShapes } = await import('../data/sources.ts');
  const { loadCheckpoint, disposeLoaded } = await import('../train/checkpoint.ts');
  const { SgdMomentum } = await import('../train/sgd.ts');
  // every optimizer update's time: the interval between two updates is one step in either arm
  const applyTimes: number[] = [];
  const apply = SgdMomentum.prototype.apply;
  SgdMomentum.prototype.apply = function (this: InstanceType<typeof SgdMomentum>, ...args: Parameters<typeof apply>): void {
    apply.apply(this, args);
    applyTimes.push(performance.now());
  };
  const arms: Record<'old' | 'new', { pretrain: Pretrain; supervised: Supervised }> = {
    old: {
      pretrain: ((await import(path.join(root, copies[0]!.to))) as { pretrain: Pretrain }).pretrain,
      supervised: ((await import(path.join(root, copies[1]!.to))) as { trainSupervised: Supervised }).trainSupervised,
    },
    new: { pretrain: (await import('../train/pretrain.ts')).pretrain, supervised: (await import('../downstream/supervised.ts')).trainSupervised },
  };
  if (aa) arms.old = arms.new;
  const backend = await initBackend();

  // pretraining: the cpu-preset MID HRNet with RQ, batch 8 of 1,024-point synthetic shapes, no monitor
  const cfg = structuredClone(PRETRAIN_PRESETS.quick!);
  cfg.model = { ...HRNET_PRESETS.cpu };
  cfg.optim.batchSize = 8;
  cfg.monitor = { ...cfg.monitor, knn: false };
  cfg.workers = 1;
  cfg.checkpointEvery = 1000;
  const pShapes = await loadShapes('synth:4', { split: 'train', points: 1024, quiet: true, seed: cfg.seed });
  // supervised: LeNet depth 5, 3 epochs
  const sShapes = await loadShapes('synth:8', { points: 512, quiet: true, scale: 0.95 });
  const sOpts = {
    model: 'lenet' as const,
    depth: 5,
    fullDepth: 2,
    epochs: 3,
    batchSize: 8,
    lr: 0.05,
    weightDecay: 5e-4,
    resblocks: 1,
    widthScale: 1,
    seed: 3,
    workers: 1,
    quiet: true,
  };

  const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-ab-'));
  const median = (a: readonly number[]): number => {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const rows = (dir: string): Array<Record<string, number>> =>
    fs
      .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
  const weights = async (dir: string): Promise<string> => {
    const ck = await loadCheckpoint(path.join(dir, 'checkpoint'));
    const parts: string[] = [];
    for (const [g, ts] of ck.groups)
      for (const [n, t] of ts) parts.push(`${g}/${n}:${Buffer.from(((await t.data()) as Float32Array).buffer).toString('base64')}`);
    disposeLoaded(ck);
    return parts.join('|');
  };
  const untimed = (r: Record<string, number>): Record<string, number> => {
    const { shapesPerSec: _s, buildMs: _b, ...rest } = r;
    return rest;
  };

  // process CPU time (all threads: wasm's and the pipeline workers'): less moved by other processes than wall time
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const d = process.cpuUsage(since);
    return (d.user + d.system) / 1000;
  };
  const runPretrain = async (arm: 'old' | 'new'): Promise<{ stepMs: number[]; cpuMs: number; dir: string }> => {
    const dir = tmp();
    const c0 = process.cpuUsage();
    await arms[arm].pretrain(cfg, { out: dir, quiet: true, shapes: pShapes, maxSteps: pretrainSteps, watchdog: false });
    const cpu = cpuMs(c0);
    const stepMs = rows(dir)
      .filter((r) => r.epochsDone === undefined)
      .map((r) => (1000 * cfg.optim.batchSize) / r.shapesPerSec!);
    return { stepMs, cpuMs: cpu, dir };
  };
  const runSupervised = async (arm: 'old' | 'new'): Promise<{ ms: number; cpuMs: number; stepMs: number; dir: string; oa: number }> => {
    const dir = tmp();
    applyTimes.length = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = await arms[arm].supervised(sShapes, { ...sOpts, out: dir });
    const cpu = cpuMs(c0);
    const ms = performance.now() - t0;
    const steps = applyTimes.slice(1).map((t, i) => t - applyTimes[i]!);
    return { ms, cpuMs: cpu, stepMs: median(steps), dir, oa: r.oa };
  };

  // warm-up (k-means cache, JIT, worker start), not counted; then the identity check on its outputs
  const warm = { old: await runPretrain('old'), new: await runPretrain('new') };
  const same = {
    pretrainRows: JSON.stringify(rows(warm.old.dir).map(untimed)) === JSON.stringify(rows(warm.new.dir).map(untimed)),
    pretrainWeights: (await weights(warm.old.dir)) === (await weights(warm.new.dir)),
    supervised: false,
  };
  const sw = { old: await runSupervised('old'), new: await runSupervised('new') };
  same.supervised =
    sw.old.oa === sw.new.oa &&
    (await weights(sw.old.dir)) === (await weights(sw.new.dir)) &&
    JSON.stringify(rows(sw.old.dir)) === JSON.stringify(rows(sw.new.dir));

  const arm2 = (): { old: number[]; new: number[] } => ({ old: [], new: [] });
  const res = { pretrainStepMs: arm2(), pretrainRunCpuMs: arm2(), supervisedStepMs: arm2(), supervisedRunMs: arm2(), supervisedRunCpuMs: arm2() };
  for (let r = 0; r < rounds; r++) {
    for (const arm of (r % 2 ? ['new', 'old'] : ['old', 'new']) as Array<'old' | 'new'>) {
      const p = await runPretrain(arm);
      res.pretrainStepMs[arm].push(Math.round(median(p.stepMs.slice(2))));
      res.pretrainRunCpuMs[arm].push(Math.round(p.cpuMs));
      const sv = await runSupervised(arm);
      res.supervisedStepMs[arm].push(+sv.stepMs.toFixed(1));
      res.supervisedRunMs[arm].push(Math.round(sv.ms));
      res.supervisedRunCpuMs[arm].push(Math.round(sv.cpuMs));
    }
  }
  const ratio = (k: keyof typeof res): number[] => res[k].new.map((v, i) => +(v / res[k].old[i]!).toFixed(3));
  const summary = (k: keyof typeof res): Record<string, number | number[]> => ({
    ...res[k],
    medOld: median(res[k].old),
    medNew: median(res[k].new),
    newOverOldPerRound: ratio(k),
    // the per-round ratio's median: each round's two runs saw nearly the same machine
    medianRatio: +median(ratio(k)).toFixed(3),
  });
  console.log(
    JSON.stringify({
      ref: aa ? 'A/A (current loops in both arms)' : ref,
      backend: backend.name,
      threads: backend.threads,
      date: new Date().toISOString(),
      cpu: os.cpus()[0]?.model,
      pretrainStep: { model: 'MID HRNet cpu preset, RQ n=30', batch: cfg.optim.batchSize, points: 1024, steps: pretrainSteps, ...summary('pretrainStepMs') },
      supervisedStep: { model: 'lenet d5', batch: sOpts.batchSize, ...summary('supervisedStepMs') },
      pretrainRunCpu: summary('pretrainRunCpuMs'),
      supervisedRun: { epochs: sOpts.epochs, shapes: sShapes.items.length, ...summary('supervisedRunMs') },
      supervisedRunCpu: summary('supervisedRunCpuMs'),
      sameBits: same,
      load: os.loadavg(),
      tensorsLeft: tf.memory().numTensors,
    }),
  );
} finally {
  for (const c of copies) fs.rmSync(path.join(root, c.to), { force: true });
}
process.exit(0);
