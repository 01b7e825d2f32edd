/** The registry of synthetic categories: names, part tables, and `generateShape`. */
import type { PointCloud } from '../pointcloud.ts';
import type { Rng } from '../../util/rng.ts';
import { FURNITURE } from './categories/furniture.ts';
import { OBJECTS } from './categories/objects.ts';
import { VEHICLES } from './categories/vehicles.ts';
import type { CategoryRecipe } from './categories/recipe.ts';

export type { CategoryRecipe } from './categories/recipe.ts';

const RECIPES: readonly CategoryRecipe[] = [...FURNITURE, ...OBJECTS, ...VEHICLES];

/** Category names, in class-label order. */
export const SYNTH_CATEGORIES: readonly string[] = RECIPES.map((r) => r.name);

/** Part names per category; a point's label is the index into its category's list (the local part id). */
export const SYNTH_PARTS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(RECIPES.map((r) => [r.name, r.parts]));

/** Global part id of a category's first part, like ShapeNet Part's per-category offsets. */
export const SYNTH_PART_OFFSETS: Readonly<Record<string, number>> = (() => {
  const out: Record<string, number> = {};
  let off = 0;
  for (const r of RECIPES) {
    out[r.name] = off;
    off += r.parts.length;
  }
  return out;
})();

export const SYNTH_TOTAL_PARTS = RECIPES.reduce((s, r) => s + r.parts.length, 0);

export function globalPartId(category: string, localId: number): number {
  const r = recipe(category);
  if (!Number.isInteger(localId) || localId < 0 || localId >= r.parts.length) throw new RangeError(`${category} has no part ${localId}`);
  return SYNTH_PART_OFFSETS[category]! + localId;
}

/** The table written to parts.json: per category its offset and part names. */
export function partTable(): { categories: Array<{ name: string; offset: number; parts: string[] }>; totalParts: number } {
  return {
    categories: RECIPES.map((r) => ({ name: r.name, offset: SYNTH_PART_OFFSETS[r.name]!, parts: [...r.parts] })),
    totalParts: SYNTH_TOTAL_PARTS,
  };
}

function recipe(category: string): CategoryRecipe {
  const r = RECIPES.find((c) => c.name === category);
  if (!r) throw new RangeError(`unknown synthetic category '${category}' (known: ${SYNTH_CATEGORIES.join(', ')})`);
  return r;
}

export interface GenerateOptions {
  /** Number of surface points (default 2048). */
  points?: number;
  /** Rotate the whole shape by a random angle about y (off by default). */
  randomYRotation?: boolean;
}

/**
 * One random instance of a category: `points` surface points with exact outward normals and local part
 * labels, the bounding box centred at 0 and scaled so that its largest half-extent is 0.9.
 */
export function generateShape(category: string, rng: Rng, opts: GenerateOptions = {}): PointCloud {
  const builder = recipe(category).build(rng);
  return builder.sample(rng, { points: opts.points ?? 2048, randomYRotation: opts.randomYRotation ?? false });
}
