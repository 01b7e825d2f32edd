import { assignVariables, loadCheckpoint, disposeLoaded, readCheckpointMeta } from '../train/checkpoint.ts';
import { validateBackboneSpec, type Backbone, type BackboneSpec } from '../models/backbones.ts';
import { UserError } from '../util/errors.ts';

// The pretrained backbone as downstream work reads it from a pretraining checkpoint: its config and its
// weights. The heads that wrap it read no files (so the viewer can build them) and live in ./heads.ts.

/**
 * The backbone config stored in a pretraining checkpoint (`meta.model`): any registered type, checked by its
 * registry entry (a config without `type` is MID HRNet's). `buildBackbone(spec, seed)` rebuilds the network.
 */
export async function checkpointModelConfig(dir: string): Promise<BackboneSpec> {
  const m = (await readCheckpointMeta(dir)).model as BackboneSpec | undefined;
  if (!m || typeof m !== 'object' || typeof m.depth !== 'number')
    throw new UserError(`${dir}: checkpoint has no model config (is it a pretraining checkpoint?)`);
  return validateBackboneSpec(m, dir);
}

/** Restore a pretraining checkpoint into `net`, leaving the variables under the given prefixes as they are. */
export async function loadPretrained(net: Pick<Backbone, 'params'>, dir: string, newHeads: readonly string[]): Promise<number> {
  const ck = await loadCheckpoint(dir, { arrays: false });
  try {
    return assignVariables(net.params.variables, ck.groups.get('model') ?? new Map(), {
      source: dir,
      skip: (name) => newHeads.some((p) => name.startsWith(p)),
    });
  } finally {
    disposeLoaded(ck);
  }
}
