/** The readable report of `rq3d bench` (what it prints without --json), from the report ./run.ts assembles. */
import type { BenchReport } from './run.ts';
import { round } from './timing.ts';

function table(head: string[], rows: Array<Array<string | number | null>>): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (c === null || (typeof c === 'number' && !Number.isFinite(c)) ? '-' : String(c))))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(cells[0]!), w.map((x) => '-'.repeat(x)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const ratio = (a: number | null | undefined, b: number | null | undefined): string | null =>
  a === null || a === undefined || b === null || b === undefined || !(b > 0) ? null : `${round(a / b, 2)}x`;

export function formatBench(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`rq3d bench (${r.quick ? 'quick' : 'full'}): backend ${r.backend}, ${r.threads} thread(s)${r.simd ? ', SIMD' : ''}`);
  out.push(`machine: ${m.cpuModel}, ${m.cores} cores, ${m.totalMemMiB} MiB, node ${m.node}`);
  out.push(
    `load average before ${m.loadAverageBefore.join(' ')}, after ${m.loadAverageAfter.join(' ')}; other processes used ${m.otherProcessesCores ?? '?'} cores on average, this run ${m.ownCores ?? '?'}; ${m.elapsedSec} s`,
  );
  const ps = r.peerSource;
  out.push(
    ps.kind === 'stored'
      ? `peer: stored figures measured on ANOTHER machine (${ps.machine}, ${ps.date}; ${ps.source}); for this machine run ../shared/peer/side-by-side and pass its JSON with --peer FILE`
      : `peer: side-by-side result of ${ps.date} on ${ps.machine} (${ps.source})`,
  );
  const entries = [r.lenet, r.resnet, r.hrnet].flatMap((x) => (x ? Object.values(x) : []));
  if (entries.length > 0) {
    out.push('', `Models (median of ${r.settings.reps} after ${r.settings.warmup} warm-up(s); shapes/s; octrees prebuilt unless noted):`);
    out.push(
      table(
        ['case', 'batch', 'leaves', 'train', 'peer', 'ratio', 'vs tuned', 'fwd', 'peer', 'ratio', 's/step', 'inline', 'pooled'],
        entries.map((e) => [
          e.key,
          e.batch,
          e.nodes[e.depth]!,
          e.trainShapesPerSec,
          e.peer?.trainShapesPerSec ?? null,
          ratio(e.trainShapesPerSec, e.peer?.trainShapesPerSec),
          ratio(e.trainShapesPerSec, e.peer?.trainShapesPerSecTunedAlloc),
          e.fwdShapesPerSec,
          e.peer?.fwdShapesPerSec ?? null,
          ratio(e.fwdShapesPerSec, e.peer?.fwdShapesPerSec),
          e.secondsPerStep,
          e.inline?.shapesPerSec ?? null,
          e.pooled?.shapesPerSec ?? null,
        ]),
      ),
    );
    for (const f of r.modelFailures ?? []) out.push(`${f.key} batch ${f.batch}: FAILED: ${f.error}`);
    if (ps.kind === 'stored')
      out.push(
        `(stored peer HRNet is ocnn's classification HRNet d6 batch 8 on ${r.peer.machine}, ${r.peer.date}: ${r.peer.hrnet.trainShapesPerSec} train / ${r.peer.hrnet.fwdShapesPerSec} fwd shapes/s; a different net, no ratio)`,
      );
  }
  if (r.memory) {
    out.push(
      '',
      `Memory, ${r.memory.case}: peak RSS ${r.memory.peakRssMiB} MiB, VmHWM ${r.memory.vmHwmMiB ?? '?'} MiB${r.memory.vmHwmResetBeforeCase ? '' : ' (process peak so far)'}; goal < ${r.memory.goalMiB} MiB: ${r.memory.withinGoal ? 'met' : 'NOT met'}`,
    );
  }
  if (r.rq && (r.rq.models.length > 0 || r.rq.octree.length > 0)) {
    out.push('', 'RQ n=30 (random-random) on the same shapes:');
    if (r.rq.models.length > 0) {
      out.push(
        table(
          ['case', 'leaves plain', 'leaves RQ', 'ratio', 's/step plain', 's/step RQ', 'train speed-up', 'fwd speed-up', 'peer speed-up'],
          r.rq.models.map((q) => [
            q.key,
            q.nodesPlain[q.depth]!,
            q.nodesRq[q.depth]!,
            q.leafRatio,
            q.secondsPerStepPlain,
            q.secondsPerStepRq,
            `${q.trainSpeedup}x`,
            `${q.fwdSpeedup}x`,
            q.peerTrainSpeedup === null ? null : `${q.peerTrainSpeedup}x`,
          ]),
        ),
      );
      for (const q of r.rq.models) out.push(`  ${q.key} nodes per depth: ${q.nodesPlain.join(' / ')}  ->  RQ ${q.nodesRq.join(' / ')}`);
    }
    for (const q of r.rq.octree)
      out.push(`  octree bench depth ${q.depth} nodes: ${q.nodesPlain.join(' / ')}  ->  RQ ${q.nodesRq.join(' / ')} (leaves x${q.leafRatio})`);
  }
  if (r.conv) {
    out.push(
      '',
      `Conv layer (one octree conv, sphere-shell neighbourhoods; matMul peak ${r.matmulPeakGflops} GFLOP/s; torch figures stored from ${r.peer.machine}, ${r.peer.date}: sgemm ${r.peer.sgemmGflops.join('-')} GFLOP/s):`,
    );
    out.push(
      table(
        ['N', 'Cin', 'Cout', 'variant', 'fwd ms', 'GFLOP/s', 'fwd+bwd ms', 'GFLOP/s', 'torch ms', 'torch fwd+bwd', 'speed vs torch'],
        r.conv.map((c) => [
          c.N,
          c.Cin,
          c.Cout,
          c.variant,
          c.fwdMs,
          c.fwdGflops,
          c.trainMs,
          c.trainGflops,
          c.peerFwdMs,
          c.peerTrainMs,
          c.vsPeerTrain === null ? null : `${c.vsPeerTrain}x`,
        ]),
      ),
    );
  }
  if (r.octree) {
    const o = r.octree;
    out.push('', `Octree (${o.shapes} shapes of ${o.pointsPerShape} points, full depth ${o.fullDepth}):`);
    out.push(
      table(
        ['depth', 'build ms/shape', 'peer', 'merge+tables ms', 'peer', 'batch ms', 'batch ms RQ', 'shapes/s'],
        // the peer's merge figure is for a batch of 32
        o.depths.map((d) => [
          d.depth,
          d.buildMsPerShape,
          o.peer.buildMsPerShape[d.depth] ?? null,
          d.mergeNeighborsMs,
          o.shapes === 32 ? (o.peer.mergeNeighborsMs[d.depth] ?? null) : null,
          d.batchMs.plain,
          d.batchMs.rq30,
          d.shapesPerSec.plain,
        ]),
      ),
    );
    const v = o.overlap;
    out.push(
      `pipeline overlap at depth ${v.depth}, ${v.batches} batches, ${v.stepMs} ms synthetic step: inline ${v.inline.wallMs} ms, pooled (merge in worker) ${v.pooledMergeInWorker.wallMs} ms, (merge in main) ${v.pooledMergeInMain.wallMs} ms; speed-up ${v.speedup}x, overlap ${v.overlapRatio}`,
    );
  }
  return `${out.join('\n')}\n`;
}
