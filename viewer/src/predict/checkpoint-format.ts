/**
 * rq3d checkpoints as the browser reads them. The format (manifest, layout, checks) lives in one module
 * without Node imports, src/train/checkpoint-format.ts, shared with the trainer and the server; here the
 * bytes are read through a caller-given `fetchFile` (HTTP in the viewer, the disk in tests) and made tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { decodeWeights, joinPath, MANIFEST_FILE, parseCheckpointJson, type CheckpointJson, type FetchFile } from '../../../src/train/checkpoint-format.ts';

export {
  assignByName,
  isBackboneConfig,
  parseCheckpointJson,
  segmentMeta,
  type CheckpointJson,
  type FetchFile,
  type ManifestEntry,
  type SegmentMeta,
} from '../../../src/train/checkpoint-format.ts';

/**
 * The tensors of one manifest group (default 'model'), by name. The caller owns (disposes) them.
 * `dir` is the checkpoint folder relative to what `fetchFile` resolves ('' for its root).
 */
export async function loadCheckpointTensors(
  dir: string,
  fetchFile: FetchFile,
  group = 'model',
): Promise<{ json: CheckpointJson; tensors: Map<string, tf.Tensor> }> {
  const where = joinPath(dir, MANIFEST_FILE);
  const json = parseCheckpointJson(new TextDecoder().decode(await fetchFile(where)), where);
  const tensors = new Map<string, tf.Tensor>();
  for (const m of json.weightsManifest) {
    if (!m.weights.some((w) => w.group === group)) continue;
    const file = joinPath(dir, m.paths[0]!);
    const got = decodeWeights(m, await fetchFile(file), { manifest: where, file }, (g) => g === group);
    for (const [name, t] of got.get(group) ?? []) tensors.set(name, tf.tensor(t.data, t.shape, 'float32'));
  }
  return { json, tensors };
}
