import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointExists, readCheckpointMeta } from '../train/checkpoint.ts';
import { backboneIdentity, backbonePretrainConfig, cellConfigHash, pretrainDir, type CellCoords } from './cell-id.ts';
import { cellFile, partialDir, readCell } from './cells.ts';
import { backboneProtocols, stepsFor, type FewshotConfig, type HyperParams } from './fewshot-config.ts';
import { selectGrid, type FewshotOptions } from './fewshot.ts';

/**
 * Where a grid stands, without training or writing anything (`rq3d fewshot --plan`): each pretraining
 * backbone's progress, and per protocol and backbone how many cells are stored with their current config
 * hash, how many have a partial run to continue, and how many training steps the rest needs. It reads the
 * same files a run would (cell files, partial checkpoints' meta, pretraining checkpoints' meta), so it says
 * exactly what `rq3d fewshot` with the same flags would do next.
 */
export interface PretrainState {
  backbone: string;
  dir: string;
  /** Optimizer steps done and planned (planned: epochs x steps per epoch, known once the run has started). */
  step: number;
  totalSteps: number | null;
  epochs: number;
  state: 'done' | 'partial' | 'not started';
}

export interface PlanRow {
  protocol: string;
  backbone: string;
  cells: number;
  stored: number;
  /** Cells with a partial run (a fine-tune cell's checkpoint, a segmentation cell's finished categories). */
  partial: number;
  toRun: number;
  /** Training steps the cells to run still need (segmentation: over its categories when the config lists them). */
  steps: number;
  /** A linear probe's steps train a classifier on cached fc1 features: cheap, so not in the total's network steps. */
  probe: boolean;
  /** Why the row's cells cannot run yet, or that they are copies (scratch: one computation for both protocols). */
  note?: string;
}

export interface GridPlan {
  grid: string;
  out: string;
  pretraining: PretrainState[];
  rows: PlanRow[];
  /** `steps`: network training steps (fine-tuning, segmentation, scratch); `probeSteps`: the linear probes'. */
  total: { cells: number; stored: number; partial: number; toRun: number; steps: number; probeSteps: number };
}

export async function gridPlan(cfg: FewshotConfig, out: string, only?: FewshotOptions['only']): Promise<GridPlan> {
  const dir = path.resolve(out);
  const { part, backbones, protocols } = selectGrid(cfg, only);
  const seg = cfg.task === 'segmentation';
  const categories = seg ? (cfg.categories?.length ?? null) : 1;
  const pretraining: PretrainState[] = [];
  const rows: PlanRow[] = [];
  for (const [name, spec] of backbones) {
    let note: string | undefined;
    let identity: unknown = null;
    if ('pretrain' in spec) pretraining.push(await pretrainState(name, spec, dir));
    if ('checkpoint' in spec && !(await checkpointExists(spec.checkpoint)))
      note = `its checkpoint is not there yet (${spec.checkpoint}${spec.arm ? `: kept by ${spec.arm}'s pretraining` : ''})`;
    else identity = backboneIdentity(cfg, spec);
    const scratch = 'from' in spec && spec.from === 'scratch';
    const own = backboneProtocols(spec, protocols);
    for (const protocol of own) {
      const row: PlanRow = { protocol, backbone: name, cells: 0, stored: 0, partial: 0, toRun: 0, steps: 0, probe: protocol === 'linear' && !scratch };
      // scratch trains once per ratio and seed; its cells in the other protocols are copies of the first one's
      const copies = scratch && protocol !== own[0];
      const h = recipe(cfg, protocol, scratch);
      for (const ratio of part.ratios) {
        for (const seed of part.seeds) {
          const cell: CellCoords = { protocol, backbone: name, ratio, seed };
          row.cells++;
          const hash = identity === null ? null : cellConfigHash(cfg, cell, identity);
          if (hash !== null && readCell(cellFile(dir, cell))?.configHash === hash) {
            row.stored++;
            continue;
          }
          row.toRun++;
          if (copies) continue;
          const total = stepsFor(h, ratio) * (categories ?? 1);
          const done = hash === null ? 0 : await partialSteps(partialDir(dir, cell, hash), seg, stepsFor(h, ratio));
          if (done > 0) row.partial++;
          row.steps += total - done;
        }
      }
      if (note) row.note = note;
      else if (copies && row.toRun > 0) row.note = `copies of the ${own[0]} cells (one computation)`;
      else if (seg && categories === null && row.toRun > 0) row.note = 'steps per category (the config lists no categories)';
      rows.push(row);
    }
  }
  const sum = (k: 'cells' | 'stored' | 'partial' | 'toRun' | 'steps', which: PlanRow[] = rows): number => which.reduce((n, r) => n + r[k], 0);
  return {
    grid: cfg.name,
    out: dir,
    pretraining,
    rows,
    total: {
      cells: sum('cells'),
      stored: sum('stored'),
      partial: sum('partial'),
      toRun: sum('toRun'),
      steps: sum(
        'steps',
        rows.filter((r) => !r.probe),
      ),
      probeSteps: sum(
        'steps',
        rows.filter((r) => r.probe),
      ),
    },
  };
}

/** The recipe a cell trains with: scratch trains end to end with the fine-tune one whatever the protocol. */
function recipe(cfg: FewshotConfig, protocol: string, scratch: boolean): HyperParams {
  if (cfg.task === 'segmentation') return cfg.segment!;
  return protocol === 'linear' && !scratch ? cfg.linear! : cfg.finetune!;
}

/** Steps a cell's partial run has done: its checkpoint's step; a segmentation cell's finished categories too. */
async function partialSteps(dir: string, seg: boolean, perRun: number): Promise<number> {
  if (!fs.existsSync(dir)) return 0;
  const stepOf = async (d: string): Promise<number> => ((await checkpointExists(d)) ? Number((await readCheckpointMeta(d)).step) || 0 : 0);
  if (!seg) return stepOf(dir);
  let done = 0;
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    if (f.endsWith('.json')) done += perRun;
    else if (fs.statSync(p).isDirectory()) done += await stepOf(p);
  }
  return done;
}

async function pretrainState(name: string, spec: Parameters<typeof backbonePretrainConfig>[0], out: string): Promise<PretrainState> {
  const pc = backbonePretrainConfig(spec);
  const dir = pretrainDir(name, spec, out);
  const ck = path.join(dir, 'checkpoint');
  if (!(await checkpointExists(ck))) return { backbone: name, dir, step: 0, totalSteps: null, epochs: pc.optim.epochs, state: 'not started' };
  const meta = (await readCheckpointMeta(ck)) as { step: number; stepsPerEpoch: number };
  const totalSteps = Math.min(pc.optim.epochs * meta.stepsPerEpoch, spec.maxSteps ?? Infinity);
  return { backbone: name, dir, step: meta.step, totalSteps, epochs: pc.optim.epochs, state: meta.step >= totalSteps ? 'done' : 'partial' };
}

/** The plan as text: one line per pretraining, a table of the cells, and the total. */
export function formatPlan(p: GridPlan): string {
  const n = (v: number): string => v.toLocaleString('en-US');
  const lines = [
    `grid ${p.grid} (${p.out}): ${n(p.total.stored)} of ${n(p.total.cells)} cells stored, ${n(p.total.toRun)} to run (${n(p.total.steps)} network training steps` +
      `${p.total.probeSteps ? `, ${n(p.total.probeSteps)} linear-probe steps on cached features` : ''}${p.total.partial ? `; ${p.total.partial} continue a partial run` : ''})`,
  ];
  for (const s of p.pretraining) {
    const at = s.totalSteps === null ? `0 of ${s.epochs} epochs` : `${n(s.step)} / ${n(s.totalSteps)} steps (${s.epochs} epochs)`;
    lines.push(`  pretraining ${s.backbone}: ${s.state}, ${at}, ${s.dir}`);
  }
  const w = Math.max(8, ...p.rows.map((r) => r.backbone.length));
  lines.push(
    `  ${'protocol'.padEnd(9)}${'backbone'.padEnd(w + 1)}${'stored'.padStart(9)}${'partial'.padStart(8)}${'to run'.padStart(8)}${'steps'.padStart(10)}`,
  );
  for (const r of p.rows)
    lines.push(
      `  ${r.protocol.padEnd(9)}${r.backbone.padEnd(w + 1)}${`${r.stored}/${r.cells}`.padStart(9)}${String(r.partial).padStart(8)}${String(r.toRun).padStart(8)}${n(r.steps).padStart(10)}${r.note ? `  ${r.note}` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}
