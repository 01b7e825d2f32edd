import * as fs from 'node:fs';
import * as path from 'node:path';
import { meanStd } from './metrics.ts';

/** One finished cell of a few-shot grid, stored as JSON so interrupted grids resume. */
export interface CellResult {
  protocol: string;
  backbone: string;
  ratio: number;
  seed: number;
  trainShapes: number;
  steps: number;
  seconds: number;
  /** What trained, in words (e.g. 'head only (fc1 conv + classifier), backbone BN statistics updating'). */
  recipe?: string;
  /** Classification. */
  oa?: number;
  macc?: number;
  /** Classification: the confusion matrix m[truth][pred] over the test shapes, and the class names. */
  confusion?: number[][];
  classes?: string[];
  /** Segmentation (per category mean IoUs, then C.mIoU / I.mIoU; both conventions). */
  cmiou?: number;
  imiou?: number;
  cmiouPointNet?: number;
  imiouPointNet?: number;
  perCategory?: Record<string, number>;
  /** Hash of the cell's resolved config (cell-id.ts); a file with another hash is stale and recomputed. */
  configHash?: string;
}

export function cellFile(out: string, c: { protocol: string; backbone: string; ratio: number; seed: number }): string {
  return path.join(out, 'cells', c.protocol, c.backbone, `r${c.ratio.toFixed(2)}-s${c.seed}.json`);
}

/**
 * Where a cell's unfinished training run keeps its checkpoint (train-loop.ts, PartialRun): one folder per cell
 * and config hash, so a cell whose config changed never continues an old run's partial state.
 */
export function partialDir(out: string, c: { protocol: string; backbone: string; ratio: number; seed: number }, hash: string): string {
  return path.join(out, 'partial', c.protocol, c.backbone, `r${c.ratio.toFixed(2)}-s${c.seed}-${hash}`);
}

/** Removes every partial folder of a cell (any hash): called once the cell's result is stored. */
export function removePartials(out: string, c: { protocol: string; backbone: string; ratio: number; seed: number }): void {
  const dir = path.join(out, 'partial', c.protocol, c.backbone);
  const prefix = `r${c.ratio.toFixed(2)}-s${c.seed}-`;
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) if (f.startsWith(prefix)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
}

export function readCell(file: string): CellResult | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as CellResult;
  } catch {
    return null;
  }
}

/** Mean and std over seeds of one metric, per (protocol, backbone, ratio). */
export function summarizeCells(
  cells: readonly CellResult[],
  metric: keyof CellResult,
): Record<string, Record<string, Record<string, { mean: number; std: number; seeds: number }>>> {
  const out: Record<string, Record<string, Record<string, { mean: number; std: number; seeds: number }>>> = {};
  const groups = new Map<string, number[]>();
  for (const c of cells) {
    const v = c[metric];
    if (typeof v !== 'number') continue;
    const k = `${c.protocol}|${c.backbone}|${c.ratio.toFixed(2)}`;
    groups.set(k, [...(groups.get(k) ?? []), v]);
  }
  for (const [k, vs] of groups) {
    const [p, b, r] = k.split('|') as [string, string, string];
    const ms = meanStd(vs);
    ((out[p] ??= {})[b] ??= {})[r] = { mean: ms.mean, std: ms.std, seeds: vs.length };
  }
  return out;
}

export function readCells(out: string): CellResult[] {
  const dir = path.join(out, 'cells');
  const cells: CellResult[] = [];
  if (!fs.existsSync(dir)) return cells;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) {
        const c = readCell(p);
        if (c) cells.push(c);
      }
    }
  };
  walk(dir);
  return cells;
}
