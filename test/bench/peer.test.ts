import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STORED_PEER, peerFiguresFor, readSideBySide } from '../../src/bench/peer.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// the shape of ../shared/peer/side-by-side's JSON (driver.py summarize), trimmed to what rq3d reads
const sideBySide = {
  date: '2026-12-01T11:50:00Z',
  machine: { cpus: 2, cpu: 'Intel(R) Xeon(R) Processor', avx512: true },
  versions: { rq3dCommit: 'abc1234', ocnn: '2.3.2', torch: '1.13.1' },
  cases: {
    hrnet_d5: {
      batch: 16,
      rq3d: { trainShapesPerSec: 15.1, fwdShapesPerSec: 62, peakRssMiB: 1346 },
      peer: { trainShapesPerSec: 19.2, fwdShapesPerSec: 73, peakRssMiB: 650 },
      peerTuned: { trainShapesPerSec: 19.7, fwdShapesPerSec: 61, peakRssMiB: 658 },
    },
    hrnet_d5_b32: { batch: 32, peer: { trainShapesPerSec: 20, fwdShapesPerSec: 70 }, peerTuned: { trainShapesPerSec: 21.5, fwdShapesPerSec: 66 } },
    lenet_d6: { batch: 32, peer: { trainShapesPerSec: null, fwdShapesPerSec: null } },
  },
};

describe('peer figures', () => {
  it('a side-by-side result becomes the yardstick, labelled with its date and CPU', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-peer-'));
    const file = path.join(dir, 'sbs.json');
    fs.writeFileSync(file, JSON.stringify(sideBySide));
    const src = readSideBySide(file);
    expect(src).toMatchObject({ kind: 'side-by-side', date: '2026-12-01T11:50:00Z', machine: 'Intel(R) Xeon(R) Processor, 2 vCPUs' });
    expect(src.source).toContain('ocnn 2.3.2');
    const f = peerFiguresFor(src, 'hrnet_d5', 16)!;
    expect(f).toMatchObject({ trainShapesPerSec: 19.2, fwdShapesPerSec: 73, trainShapesPerSecTunedAlloc: 19.7, peakRssMiB: 650, peakRssMiBTuned: 658 });
    expect(peerFiguresFor(src, 'hrnet_d5', 32)!.trainShapesPerSecTunedAlloc).toBe(21.5);
    expect(peerFiguresFor(src, 'hrnet_d5', 4)).toBeNull();
    // a case whose peer run failed has no figures
    expect(peerFiguresFor(src, 'lenet_d6', 32)).toBeNull();
    fs.rmSync(dir, { recursive: true });
  });

  it('stored figures carry the machine and date they were measured on; only their own batch is compared', () => {
    expect(STORED_PEER).toMatchObject({ kind: 'stored', machine: 'AMD EPYC (AVX-512), 2 vCPUs', date: '2026-11-26' });
    expect(peerFiguresFor(STORED_PEER, 'lenet_d6', 32)!.trainShapesPerSec).toBe(28.89);
    expect(peerFiguresFor(STORED_PEER, 'lenet_d6', 8)).toBeNull();
  });

  it('rq3d bench --peer with a file that is not a side-by-side result fails in one line naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-peer-'));
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, '{"what": 1}');
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), 'bench', '--peer', file, '--quick'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`--peer ${file}: not a side-by-side result`);
    fs.rmSync(dir, { recursive: true });
  });
});
