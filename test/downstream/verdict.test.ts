import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cellFile, type CellResult } from '../../src/downstream/cells.ts';
import { backboneProtocols, loadFewshotConfig, type FewshotConfig } from '../../src/downstream/fewshot-config.ts';
import { writeFewshotReport } from '../../src/downstream/report.ts';
import { claimVerdict } from '../../src/downstream/verdict.ts';

/**
 * The pre-registered claim's verdict is computed from the cells and the arms' pretraining folders, by the
 * rule in the config: holds / does not hold / no-go / incomplete, with the numbers behind it.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-verdict-'));
  dirs.push(d);
  return d;
}

function writeConfig(dir: string, extra: Record<string, unknown> = {}): FewshotConfig {
  const hyper = {
    lr: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
    batchSize: 4,
    baseSteps: 10,
    minSteps: 2,
    multipliers: {},
    decayAt: [0.5],
    backboneLrScale: 0.1,
    headOnlyBelow: 0.1,
  };
  const cfg = {
    name: 'pilot-test',
    claim: {
      statement: 'RQ helps',
      treatment: 'rq',
      control: 'mid',
      protocols: ['linear', 'finetune'],
      ratios: [0.01],
      go: { instanceOverChance: 10, knnRise: 0.01, linearFull: 0.8 },
    },
    task: 'classification',
    data: { source: 'synth:4' },
    model: 'tiny',
    backbones: {
      scratch: { from: 'scratch' },
      mid: { pretrain: 'tiny', rq: false, epochs: 4, out: 'runs/mid' },
      rq: { pretrain: 'tiny', epochs: 4, out: 'runs/rq' },
      rq_e2: { checkpoint: 'runs/rq/checkpoint-e2', arm: 'rq', epoch: 2, protocols: ['linear'] },
    },
    protocols: ['linear', 'finetune'],
    ratios: [0.01, 1],
    seeds: [0, 1],
    linear: hyper,
    finetune: hyper,
    ...extra,
  };
  const file = path.join(dir, 'grid.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  return loadFewshotConfig(file);
}

/** A pretraining folder: the random init's kNN, then one epoch row per epoch. */
function writeArm(dir: string, o: { epochs: number; instance: number; knn: number[]; knnInit: number }): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'monitor-init.json'), JSON.stringify({ step: 0, epochsDone: 0, knnTop1: o.knnInit, knnChance: 0.25 }));
  const rows = [];
  for (let e = 1; e <= o.epochs; e++) {
    rows.push({ step: e * 10 - 1, loss: 1 });
    rows.push({
      step: e * 10 - 1,
      epochsDone: e,
      epochShapeAcc: o.instance,
      epochPointAcc: 0.2,
      shapeChance: 0.01,
      pointChance: 0.1,
      knnTop1: o.knn[e - 1],
      knnChance: 0.25,
      tensors: 10,
    });
  }
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

function writeCell(out: string, c: Partial<CellResult> & { protocol: string; backbone: string; ratio: number; seed: number; oa: number }): void {
  const file = cellFile(out, c);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ trainShapes: 4, steps: 2, seconds: 1, macc: c.oa, ...c }));
}

function writeAllCells(out: string, oa: (backbone: string, protocol: string, ratio: number, seed: number) => number): void {
  for (const b of ['scratch', 'mid', 'rq'])
    for (const p of ['linear', 'finetune'])
      for (const r of [0.01, 1]) for (const s of [0, 1]) writeCell(out, { protocol: p, backbone: b, ratio: r, seed: s, oa: oa(b, p, r, s) });
}

describe('claim verdict', () => {
  it('holds when the treatment is ahead in every claimed protocol and ratio, with go figures met', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir);
    writeArm(path.join(dir, 'runs/mid'), { epochs: 4, instance: 0.2, knn: [0.5, 0.55, 0.6, 0.62], knnInit: 0.5 });
    writeArm(path.join(dir, 'runs/rq'), { epochs: 4, instance: 0.2, knn: [0.5, 0.6, 0.65, 0.7], knnInit: 0.5 });
    writeAllCells(dir, (b, _p, r, s) => (r === 1 ? 0.85 : b === 'rq' ? 0.5 + 0.01 * s : 0.45));
    const v = claimVerdict(cfg, dir, (await import('../../src/downstream/cells.ts')).readCells(dir))!;
    expect(v.verdict).toBe('preliminary: holds');
    expect(v.differences.linear!['0.01']!.diff).toBeCloseTo(0.055, 6);
    expect(v.arms.rq!.pretrainSeeds).toEqual([0]);
    expect(v.arms.rq!.pretrainEpochs).toBe(4);
    expect(v.arms.rq!.go).toEqual({ instance: true, knnRising: true, linear: true });
    expect(v.arms.scratch).toBeUndefined();
    // the report carries it: summary.json and table.md
    await writeFewshotReport(cfg, dir);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { claim: { verdict: string } };
    expect(summary.claim.verdict).toBe('preliminary: holds');
    expect(fs.readFileSync(path.join(dir, 'table.md'), 'utf8')).toContain('**Verdict: preliminary: holds**');
  });

  it('does not hold when the treatment is behind in one claimed protocol', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir);
    writeArm(path.join(dir, 'runs/mid'), { epochs: 4, instance: 0.2, knn: [0.5, 0.55, 0.6, 0.62], knnInit: 0.5 });
    writeArm(path.join(dir, 'runs/rq'), { epochs: 4, instance: 0.2, knn: [0.5, 0.6, 0.65, 0.7], knnInit: 0.5 });
    writeAllCells(dir, (b, p, r) => (r === 1 ? 0.85 : b === 'rq' && p === 'finetune' ? 0.4 : b === 'rq' ? 0.5 : 0.45));
    const v = claimVerdict(cfg, dir, (await import('../../src/downstream/cells.ts')).readCells(dir))!;
    expect(v.verdict).toBe('preliminary: does not hold');
    expect(v.reason).toContain('finetune 1 %: -5.0');
  });

  it('prints each difference signed to two decimals, so one test shape either way still shows', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir);
    writeArm(path.join(dir, 'runs/mid'), { epochs: 4, instance: 0.2, knn: [0.5, 0.55, 0.6, 0.62], knnInit: 0.5 });
    writeArm(path.join(dir, 'runs/rq'), { epochs: 4, instance: 0.2, knn: [0.5, 0.6, 0.65, 0.7], knnInit: 0.5 });
    writeAllCells(dir, (b, p, r) => (r === 1 ? 0.85 : b === 'rq' ? (p === 'finetune' ? 0.4996 : 0.5004) : 0.5));
    const v = claimVerdict(cfg, dir, (await import('../../src/downstream/cells.ts')).readCells(dir))!;
    expect(v.verdict).toBe('preliminary: does not hold');
    expect(v.reason).toContain('linear 1 %: +0.04');
    expect(v.reason).toContain('finetune 1 %: -0.04');
  });

  it('is no-go when an arm fails a go figure (kNN falling, instance accuracy near chance, weak linear probe)', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir);
    writeArm(path.join(dir, 'runs/mid'), { epochs: 4, instance: 0.05, knn: [0.5, 0.48, 0.47, 0.45], knnInit: 0.5 });
    writeArm(path.join(dir, 'runs/rq'), { epochs: 4, instance: 0.2, knn: [0.5, 0.6, 0.65, 0.7], knnInit: 0.5 });
    writeAllCells(dir, (b, _p, r) => (r === 1 ? (b === 'rq' ? 0.7 : 0.85) : b === 'rq' ? 0.5 : 0.45));
    const v = claimVerdict(cfg, dir, (await import('../../src/downstream/cells.ts')).readCells(dir))!;
    expect(v.verdict).toBe('no-go');
    expect(v.arms.mid!.go).toEqual({ instance: false, knnRising: false, linear: true });
    expect(v.arms.rq!.go.linear).toBe(false);
    expect(v.reason).toMatch(/mid: shape-instance accuracy 5.00 % < 10x chance/);
    expect(v.reason).toMatch(/mid: kNN monitor not rising/);
    expect(v.reason).toMatch(/rq: linear accuracy with all labels 70.0 % < 80 %/);
  });

  it('is incomplete while cells or pretraining epochs are missing, and draws accuracy vs pretraining epochs', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir);
    writeArm(path.join(dir, 'runs/mid'), { epochs: 2, instance: 0.2, knn: [0.5, 0.55], knnInit: 0.5 });
    writeArm(path.join(dir, 'runs/rq'), { epochs: 4, instance: 0.2, knn: [0.5, 0.6, 0.65, 0.7], knnInit: 0.5 });
    writeCell(dir, { protocol: 'linear', backbone: 'rq', ratio: 0.01, seed: 0, oa: 0.5 });
    writeCell(dir, { protocol: 'linear', backbone: 'rq_e2', ratio: 0.01, seed: 0, oa: 0.4 });
    writeCell(dir, { protocol: 'linear', backbone: 'rq_e2', ratio: 0.01, seed: 1, oa: 0.4 });
    const v = claimVerdict(cfg, dir, (await import('../../src/downstream/cells.ts')).readCells(dir))!;
    expect(v.verdict).toBe('incomplete');
    expect(v.arms.mid!.pretrainEpochs).toBe(2);
    expect(v.arms.mid!.go.instance).toBeNull();
    await writeFewshotReport(cfg, dir);
    const svg = fs.readFileSync(path.join(dir, 'epochs.svg'), 'utf8');
    expect(svg).toContain('pretraining epochs');
    expect(svg).toContain('rq, linear, 1 %');
  });
});

describe('claim verdict over several pretraining seeds', () => {
  const go = { instanceOverChance: 10, knnRise: 0.01, linearFull: 0.8 };
  // the full campaign's form: one (treatment, control) pair per pretraining seed
  const campaign = (dir: string): FewshotConfig =>
    writeConfig(dir, {
      claim: { statement: 'RQ helps', treatment: ['rq', 'rq_p1'], control: ['mid', 'mid_p1'], protocols: ['linear', 'finetune'], ratios: [0.01], go },
      backbones: {
        mid: { pretrain: 'tiny', rq: false, epochs: 4, out: 'runs/mid' },
        rq: { pretrain: 'tiny', epochs: 4, out: 'runs/rq' },
        mid_p1: { pretrain: 'tiny', rq: false, epochs: 4, seed: 1, out: 'runs/mid_p1' },
        rq_p1: { pretrain: 'tiny', epochs: 4, seed: 1, out: 'runs/rq_p1' },
      },
    });
  const arms = (dir: string): void => {
    for (const a of ['mid', 'rq', 'mid_p1', 'rq_p1'])
      writeArm(path.join(dir, 'runs', a), { epochs: 4, instance: 0.2, knn: [0.5, 0.55, 0.6, 0.62], knnInit: 0.5 });
  };
  const cells = (dir: string, oa: (b: string, p: string) => number): void => {
    for (const b of ['mid', 'rq', 'mid_p1', 'rq_p1'])
      for (const p of ['linear', 'finetune'])
        for (const r of [0.01, 1]) for (const s of [0, 1]) writeCell(dir, { protocol: p, backbone: b, ratio: r, seed: s, oa: r === 1 ? 0.85 : oa(b, p) });
  };
  const verdict = async (cfg: FewshotConfig, dir: string) => claimVerdict(cfg, dir, (await import('../../src/downstream/cells.ts')).readCells(dir))!;

  it('holds when every pretraining seed has the treatment ahead and the mean difference beats the spread between seeds', async () => {
    const dir = tmp();
    const cfg = campaign(dir);
    arms(dir);
    // differences +5 and +4 points; the arms move 1 point between pretraining seeds
    cells(dir, (b) => ({ mid: 0.45, rq: 0.5, mid_p1: 0.46, rq_p1: 0.5 })[b]!);
    const v = await verdict(cfg, dir);
    expect(v.verdict).toBe('holds');
    const d = v.differences.linear!['0.01']!;
    expect(d.diff).toBeCloseTo(0.045, 9);
    expect(d.spread).toBeCloseTo(0.01, 9);
    expect(d.perPretrainSeed!.map((x) => [x.treatment, x.control])).toEqual([
      ['rq', 'mid'],
      ['rq_p1', 'mid_p1'],
    ]);
    expect(v.arms.rq_p1!.pretrainSeeds).toEqual([1]);
    expect(v.arms.rq!.pretrainSeeds).toEqual([0]);
    expect(v.rule).toContain('for each pretraining seed (rq vs mid, rq_p1 vs mid_p1)');
    expect(v.reason).toBe(
      'treatment - control over 2 pretraining seeds (points): linear 1 %: +4.50 (per pretraining seed +5.00, +4.00; spread 1.00); finetune 1 %: +4.50 (per pretraining seed +5.00, +4.00; spread 1.00)',
    );
  });

  it('does not hold when one pretraining seed reverses the difference, or when the difference is within the spread between seeds', async () => {
    const dir = tmp();
    const cfg = campaign(dir);
    arms(dir);
    cells(dir, (b) => ({ mid: 0.45, rq: 0.5, mid_p1: 0.5, rq_p1: 0.49 })[b]!);
    expect((await verdict(cfg, dir)).verdict).toBe('does not hold');
    // both pairs ahead (+1 and +1 points), but the treatment arm itself moves 10 points between pretraining seeds
    const dir2 = tmp();
    const cfg2 = campaign(dir2);
    arms(dir2);
    cells(dir2, (b) => ({ mid: 0.45, rq: 0.46, mid_p1: 0.55, rq_p1: 0.56 })[b]!);
    const v = await verdict(cfg2, dir2);
    expect(v.differences.finetune!['0.01']!.perPretrainSeed!.every((x) => x.diff > 0)).toBe(true);
    expect(v.differences.finetune!['0.01']!.spread).toBeCloseTo(0.1, 9);
    expect(v.verdict).toBe('does not hold');
  });

  it('is incomplete while one pretraining seed lacks its cells; a second seed gives the pretraining another seed and identity', async () => {
    const dir = tmp();
    const cfg = campaign(dir);
    arms(dir);
    cells(dir, () => 0.5);
    fs.rmSync(path.join(dir, 'cells', 'finetune', 'rq_p1'), { recursive: true });
    expect((await verdict(cfg, dir)).verdict).toBe('incomplete');
    const { backboneIdentity } = await import('../../src/downstream/cell-id.ts');
    expect(backboneIdentity(cfg, cfg.backbones.rq_p1!)).not.toEqual(backboneIdentity(cfg, cfg.backbones.rq!));
    expect((backboneIdentity(cfg, cfg.backbones.rq_p1!) as { pretrain: { seed: number } }).pretrain.seed).toBe(1);
  });

  it('refuses unpaired or repeated arms, naming the field', () => {
    const dir = tmp();
    const claim = { statement: 's', protocols: ['linear'], ratios: [0.01], go };
    const bb = {
      mid: { pretrain: 'tiny', rq: false, epochs: 4, out: 'runs/mid' },
      rq: { pretrain: 'tiny', epochs: 4, out: 'runs/rq' },
      rq_p1: { pretrain: 'tiny', epochs: 4, seed: 1, out: 'runs/rq_p1' },
    };
    expect(() => writeConfig(dir, { backbones: bb, claim: { ...claim, treatment: ['rq', 'rq_p1'], control: 'mid' } })).toThrow(
      /claim.treatment has 2 backbones and claim.control 1: give one of each per pretraining seed/,
    );
    expect(() => writeConfig(dir, { backbones: bb, claim: { ...claim, treatment: ['rq', 'rq_p1'], control: ['mid', 'mid'] } })).toThrow(
      /claim: backbone 'mid' appears twice/,
    );
    expect(() => writeConfig(dir, { backbones: bb, claim: { ...claim, treatment: ['rq', 'nope'], control: ['mid', 'rq_p1'] } })).toThrow(
      /claim.treatment: 'nope' is not a backbone/,
    );
  });
});

describe('claim and backbone protocols in the config', () => {
  it('refuses a claim whose arms or ratios are not in the grid, naming the field', () => {
    const dir = tmp();
    expect(() =>
      writeConfig(dir, {
        claim: {
          statement: 's',
          treatment: 'nope',
          control: 'mid',
          protocols: ['linear'],
          ratios: [0.01],
          go: { instanceOverChance: 10, knnRise: 0, linearFull: 0.8 },
        },
      }),
    ).toThrow(/claim.treatment: 'nope' is not a backbone/);
    expect(() =>
      writeConfig(dir, {
        claim: {
          statement: 's',
          treatment: 'rq',
          control: 'mid',
          protocols: ['linear'],
          ratios: [0.5],
          go: { instanceOverChance: 10, knnRise: 0, linearFull: 0.8 },
        },
      }),
    ).toThrow(/claim.ratios: 0.5 is not one of the grid's ratios/);
  });

  it('runs a backbone only in its own protocols; a random frozen network only in the linear one', () => {
    expect(backboneProtocols({ checkpoint: 'x', protocols: ['linear'] }, ['linear', 'finetune'])).toEqual(['linear']);
    expect(backboneProtocols({ from: 'random' }, ['linear', 'finetune'])).toEqual(['linear']);
    expect(backboneProtocols({ from: 'scratch' }, ['linear', 'finetune'])).toEqual(['linear', 'finetune']);
    const dir = tmp();
    expect(() => writeConfig(dir, { protocols: ['linear'] })).toThrow(/backbones.rq_e2.protocols|claim.protocols/);
  });
});
