import { Octree, OctreeError } from './octree.ts';

/**
 * Merge the octrees of a batch into one (anchor-spec §2.10): rows at every depth become shape 0's, then
 * shape 1's, ...; non-empty (children) indices are shifted by the non-empty rows of the earlier shapes;
 * leaf signals and the point -> leaf map are concatenated. Neighbour tables are built lazily on the
 * merged octree (they are never merged). Inputs may themselves be merged batches.
 */
export function mergeOctrees(octrees: readonly Octree[]): Octree {
  if (octrees.length === 0) throw new OctreeError('mergeOctrees needs at least one octree');
  const first = octrees[0]!;
  const { depth, fullDepth } = first;
  const C = first.featureChannels;
  for (const [i, o] of octrees.entries()) {
    if (o.depth !== depth || o.fullDepth !== fullDepth) {
      throw new OctreeError(`octree ${i} has depth ${o.depth}/full depth ${o.fullDepth}, expected ${depth}/${fullDepth} like octree 0`);
    }
    if ((o.normals === null) !== (first.normals === null) || (o.labels === null) !== (first.labels === null) || o.featureChannels !== C) {
      throw new OctreeError(`octree ${i} carries different leaf signals (normals/labels/features) than octree 0`);
    }
  }
  const batchSize = octrees.reduce((s, o) => s + o.batchSize, 0);
  const keys: Int32Array[] = [];
  const children: Int32Array[] = [];
  const nnum: number[] = [];
  const nnumNempty: number[] = [];
  const batchNnum: Int32Array[] = [];
  const batchNnumNempty: Int32Array[] = [];
  for (let d = 0; d <= depth; d++) {
    const rows = octrees.reduce((s, o) => s + o.nnum[d]!, 0);
    const k = new Int32Array(rows);
    const ch = new Int32Array(rows);
    const bn = new Int32Array(batchSize);
    const bne = new Int32Array(batchSize);
    let r = 0;
    let ne = 0;
    let b = 0;
    for (const o of octrees) {
      k.set(o.keys[d]!, r);
      const src = o.children[d]!;
      for (let i = 0; i < src.length; i++) ch[r + i] = src[i]! >= 0 ? src[i]! + ne : -1;
      bn.set(o.batchNnum[d]!, b);
      bne.set(o.batchNnumNempty[d]!, b);
      r += o.nnum[d]!;
      ne += o.nnumNempty[d]!;
      b += o.batchSize;
    }
    keys.push(k);
    children.push(ch);
    nnum.push(rows);
    nnumNempty.push(ne);
    batchNnum.push(bn);
    batchNnumNempty.push(bne);
  }
  const cat = <T extends Float32Array | Int32Array>(parts: (T | null)[], make: (n: number) => T): T | null => {
    if (parts.some((p) => p === null)) return null;
    const out = make(parts.reduce((s, p) => s + p!.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p!, o);
      o += p!.length;
    }
    return out;
  };
  const nPoints = octrees.reduce((s, o) => s + o.pointToLeaf.length, 0);
  const pointToLeaf = new Int32Array(nPoints);
  let po = 0;
  let leafOffset = 0;
  for (const o of octrees) {
    for (let i = 0; i < o.pointToLeaf.length; i++) pointToLeaf[po + i] = o.pointToLeaf[i]! + leafOffset;
    po += o.pointToLeaf.length;
    leafOffset += o.nnumNempty[depth]!;
  }
  return new Octree({
    depth,
    fullDepth,
    batchSize,
    keys,
    children,
    nnum,
    nnumNempty,
    batchNnum,
    batchNnumNempty,
    points: cat(
      octrees.map((o) => o.points),
      (n) => new Float32Array(n),
    )!,
    normals: cat(
      octrees.map((o) => o.normals),
      (n) => new Float32Array(n),
    ),
    features:
      C > 0
        ? cat(
            octrees.map((o) => o.features),
            (n) => new Float32Array(n),
          )
        : null,
    featureChannels: C,
    labels: cat(
      octrees.map((o) => o.labels),
      (n) => new Int32Array(n),
    ),
    pointToLeaf,
    batchPoints: cat(
      octrees.map((o) => o.batchPoints),
      (n) => new Int32Array(n),
    )!,
  });
}
