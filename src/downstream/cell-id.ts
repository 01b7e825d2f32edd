import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolvePretrainConfig, type PretrainConfig } from '../train/config.ts';
import { UserError } from '../util/errors.ts';
import type { BackboneSpec, FewshotConfig } from './fewshot-config.ts';

/**
 * Identity of a grid cell: its (protocol, backbone, ratio, seed) plus a hash of everything that decides its
 * result (data, hyper-parameters of its protocol, the backbone's weights or pretraining recipe). A cell file
 * or queued job carrying a different hash is stale and is never reused.
 */
export interface CellCoords {
  protocol: string;
  backbone: string;
  ratio: number;
  seed: number;
}

/** The pretraining config a `pretrain` backbone resolves to (its overrides applied). */
export function backbonePretrainConfig(spec: Extract<BackboneSpec, { pretrain: string }>): PretrainConfig {
  const pc = resolvePretrainConfig(spec.pretrain);
  if (spec.rq === false) pc.rq = null;
  else if (spec.rq) pc.rq = spec.rq;
  if (spec.epochs) pc.optim.epochs = spec.epochs;
  if (spec.seed !== undefined) pc.seed = spec.seed;
  if (spec.data) pc.data.source = spec.data;
  return pc;
}

/** The run folder of a grid's `pretrain` backbone: its `out`, else `<grid out>/pretrain-<name>`. */
export function pretrainDir(name: string, spec: Extract<BackboneSpec, { pretrain: string }>, out: string): string {
  return spec.out ?? path.join(out, `pretrain-${name}`);
}

/** The content hash of a checkpoint folder (model.json and weights.bin: what fine-tuning reads). */
export function checkpointDigest(dir: string): string {
  const h = createHash('sha256');
  for (const f of ['model.json', 'weights.bin']) {
    const file = path.join(dir, f);
    if (!fs.existsSync(file)) throw new UserError(`${file}: missing (not a complete checkpoint)`);
    h.update(f).update(fs.readFileSync(file));
  }
  return h.digest('hex');
}

/**
 * What a backbone is, for hashing: random init of the config's preset, the digest of a checkpoint's
 * content, or the resolved pretraining recipe (pretraining is deterministic, so the recipe names the weights).
 */
export function backboneIdentity(cfg: FewshotConfig, spec: BackboneSpec): unknown {
  if ('from' in spec) return { from: spec.from, model: cfg.model };
  if ('checkpoint' in spec) return { checkpoint: checkpointDigest(spec.checkpoint) };
  return { pretrain: backbonePretrainConfig(spec), maxSteps: spec.maxSteps ?? null };
}

/** Hash (16 hex digits) of a cell's resolved config; `identity` is the backbone's (backboneIdentity). */
export function cellConfigHash(cfg: FewshotConfig, cell: CellCoords, identity: unknown): string {
  const seg = cfg.task === 'segmentation';
  // scratch trains end to end with the fine-tune recipe in every protocol, the linear one included
  const scratch = (identity as { from?: string } | null)?.from === 'scratch';
  const section = cell.protocol === 'linear' && !scratch ? 'linear' : seg ? 'segment' : 'finetune';
  const hyper: Record<string, unknown> = { [section]: cfg[section] ?? null };
  // fine-tuning from a linear-probe head also depends on the linear recipe
  if (section === 'finetune' && cfg.finetune?.headInit === 'linear-probe') hyper.linear = cfg.linear ?? null;
  const resolved = {
    v: 1,
    task: cfg.task,
    data: cfg.data,
    protocol: cell.protocol,
    backbone: identity,
    hyper,
    categories: seg ? (cfg.categories ?? null) : null,
    // only a departure from the reference's fixed subsets enters the hash: the cells of grids written before
    // the field existed (and of grids that name the default) stay current
    subsets: cfg.subsets === 'per-seed' ? 'per-seed' : undefined,
    ratio: cell.ratio,
    seed: cell.seed,
  };
  return createHash('sha256').update(stableJson(resolved)).digest('hex').slice(0, 16);
}

/** "protocol/backbone/r0.10-s0": the cell's name in logs, reports and job ids. */
export function cellName(c: CellCoords): string {
  return `${c.protocol}/${c.backbone}/r${c.ratio.toFixed(2)}-s${c.seed}`;
}

/** JSON with sorted object keys, so a hash does not depend on the order keys were written in. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
