/**
 * The models a checkpoint folder offers and which one fits a shape. `rq3d view --checkpoint DIR` takes one
 * model folder (DIR/model.json) or a results folder with `models/<protocol>/<backbone>/<category>/model.json`
 * (rq3d fewshot, rq3d segment); the server lists them (src/viewer-server/checkpoint-models.ts) and the viewer picks the model of
 * the shape's class, or the one the user chose.
 */
import { PART_OFFSETS, SHAPENET_PART_CATEGORIES } from '../../../src/data/shapenet-part-labels.ts';

/** One model.json under the checkpoint folder, as the server describes it (src/train/checkpoint-format.ts). */
import type { CheckpointModel } from '../../../src/train/checkpoint-format.ts';
export type { CheckpointModel } from '../../../src/train/checkpoint-format.ts';

export function modelLabel(m: CheckpointModel): string {
  const bits = [m.category ?? (m.dir || 'model'), m.protocol, m.backbone].filter((s) => s);
  return bits.join(' · ');
}

const same = (a: string | null, b: string | null): boolean => !!a && !!b && a.toLowerCase() === b.toLowerCase();

/** Protocols in order of preference when a class has several models (the fine-tuned one first). */
const PROTOCOL_ORDER = ['finetune', '2fc'];
const rank = (m: CheckpointModel): number => {
  const i = PROTOCOL_ORDER.indexOf(m.protocol);
  return i < 0 ? PROTOCOL_ORDER.length : i;
};

/**
 * The model to run for a shape: the user's choice (`chosen`, a model dir) if usable; else a model of the
 * shape's class (fine-tune before 2fc, then by folder name); else the only usable model; else null (the
 * user has to choose).
 */
export function chooseModel(models: readonly CheckpointModel[], shapeClass: string | null, chosen: string | null): CheckpointModel | null {
  const usable = models.filter((m) => !m.error);
  if (chosen !== null) {
    const c = usable.find((m) => m.dir === chosen);
    if (c) return c;
  }
  const ofClass = usable.filter((m) => same(m.category, shapeClass)).sort((a, b) => rank(a) - rank(b) || (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  if (ofClass.length) return ofClass[0]!;
  return usable.length === 1 ? usable[0]! : null;
}

/**
 * The model whose point features to show: the user's choice if it has features; else a feature model of the
 * shape's class; else the first feature model (any backbone's features are worth looking at); else null.
 */
export function chooseFeatureModel(models: readonly CheckpointModel[], shapeClass: string | null, chosen: string | null): CheckpointModel | null {
  const usable = models.filter((m) => m.features);
  if (chosen !== null) {
    const c = usable.find((m) => m.dir === chosen);
    if (c) return c;
  }
  return usable.find((m) => same(m.category, shapeClass)) ?? usable[0] ?? null;
}

/** A class name guessed from a file name like `chair_0003.ply` (rq3d synth) when no catalog class is known. */
export function classFromFileName(file: string): string | null {
  const stem = file.split('/').pop() ?? '';
  const m = /^([A-Za-z]+)[_-]\d+/.exec(stem);
  return m ? m[1]! : null;
}

/**
 * Ground-truth labels as the model's local part ids 0..parts-1 (what segmentation models predict):
 * ShapeNet Part v0 `.seg` sidecars are 1-based; the 7-column `_normal` txt files hold global ids (offset by
 * the category's first part); rq3d synth PLY files already hold local ids. Ids outside 0..parts-1 after the
 * mapping become -1 (ignored by the IoU).
 */
export function localGroundTruth(gt: Int32Array, o: { category: string | null; parts: number; sidecar: boolean }): Int32Array {
  let shift = 0;
  if (o.sidecar) shift = 1;
  else {
    const c = SHAPENET_PART_CATEGORIES.findIndex((n) => same(n, o.category));
    const off = c >= 0 ? PART_OFFSETS[c]! : 0;
    if (off > 0 && gt.every((v) => v < 0 || (v >= off && v < off + o.parts))) shift = off;
  }
  return gt.map((v) => (v < 0 || v - shift < 0 || v - shift >= o.parts ? -1 : v - shift));
}
