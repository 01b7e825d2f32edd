/**
 * The bundled synthetic shape generator: procedurally varied shapes built from analytic parts, with a
 * part label per point. It is the default data of `npm start` and of the tests, so that nothing needs to be
 * downloaded; the real-format readers live next to it in src/data.
 */
export {
  generateShape,
  globalPartId,
  partTable,
  SYNTH_CATEGORIES,
  SYNTH_PARTS,
  SYNTH_PART_OFFSETS,
  SYNTH_TOTAL_PARTS,
  type CategoryRecipe,
  type GenerateOptions,
} from './registry.ts';
export { synthDataset, synthSplit, synthItemRng, type SynthDataset, type SynthItem, type SynthDatasetOptions } from './dataset.ts';
