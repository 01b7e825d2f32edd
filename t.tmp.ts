import * as tf from '@tensorflow/tfjs';
import { initBackend } from './src/backend.ts';
import { MidSegmenter } from './src/downstream/models.ts';
import { HRNET_PRESETS } from './src/models/mid-hrnet.ts';
import { synthDataset } from './src/data/synth/index.ts';
import { segmenterInputs } from './viewer/src/predict/segment-model.ts';
await initBackend({ backend: 'webgpu' });
const ds = synthDataset({ perClass: 1, points: 512, categories: ['chair'] });
const cloud = ds.loadSync(ds.items[0]!);
const meta = { model: { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 }, normalize: 'sphere', scale: 0.95, features: 'ND', parts: 4 } as any;
const inp = segmenterInputs(cloud, meta);
const out: Float32Array[] = [];
for (const b of ['cpu', 'webgpu']) {
  await tf.setBackend(b);
  const m = new MidSegmenter(meta.model, 4, 0);
  const l = tf.tidy(() => m.logits(tf.tensor2d(inp.features, [inp.octree.nnum[5]!, inp.channels]), inp.octree, inp.pts, { training: false }));
  out.push(await l.data() as Float32Array);
  // also the backbone pieces
  const bb = tf.tidy(() => m.net.backbone(tf.tensor2d(inp.features, [inp.octree.nnum[5]!, inp.channels]), inp.octree, { training: false }));
  console.log(b, Object.keys(bb));
}
let d = 0; for (let i = 0; i < out[0]!.length; i++) d = Math.max(d, Math.abs(out[0]![i]! - out[1]![i]!));
console.log('max diff', d, out[0]!.slice(0, 4), out[1]!.slice(0, 4));
