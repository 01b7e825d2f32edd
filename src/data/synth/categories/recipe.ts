import type { Rng } from '../../../util/rng.ts';
import type { ShapeBuilder } from '../builder.ts';

/** One synthetic category: its part names (local part id = index) and a recipe that draws one instance. */
export interface CategoryRecipe {
  name: string;
  parts: readonly string[];
  build(rng: Rng): ShapeBuilder;
}
