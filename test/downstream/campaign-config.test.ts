import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backboneIdentity, backbonePretrainConfig, cellConfigHash, pretrainDir } from '../../src/downstream/cell-id.ts';
import { armList, loadFewshotConfig, type BackboneSpec } from '../../src/downstream/fewshot-config.ts';

/**
 * The full campaign's config is pre-registered before any of its runs (experiments/campaign-modelnet10.json):
 * these checks keep its arms, pairs and probe consistent with what its notes promise, so that the long runs
 * started from it in a later session test the rule that was written down.
 */
const campaign = () => loadFewshotConfig(path.resolve('experiments/campaign-modelnet10.json'));
const pretrainOf = (spec: BackboneSpec | undefined) => {
  if (!spec || !('pretrain' in spec)) throw new Error('not a pretraining backbone');
  return backbonePretrainConfig(spec);
};

describe('the full campaign config', () => {
  it('pairs MID-Net + RQ with MID-Net per pretraining seed (0 and 1), 40 epochs, the pilot rule at 1 % and 2 % in both protocols', () => {
    const c = campaign();
    const t = armList(c.claim!.treatment);
    const k = armList(c.claim!.control);
    expect([t, k]).toEqual([
      ['mid_rq', 'mid_rq_p1'],
      ['mid', 'mid_p1'],
    ]);
    expect(c.claim!.ratios).toEqual([0.01, 0.02]);
    expect(c.claim!.protocols).toEqual(['linear', 'finetune']);
    t.forEach((name, i) => {
      const tp = pretrainOf(c.backbones[name]);
      const kp = pretrainOf(c.backbones[k[i]!]);
      // a pair shares its pretraining seed and schedule and differs only in RQ
      expect([tp.seed, kp.seed]).toEqual([i, i]);
      expect([tp.optim.epochs, kp.optim.epochs]).toEqual([40, 40]);
      expect(tp.rq).not.toBeNull();
      expect(kp.rq).toBeNull();
      expect({ ...tp, rq: null }).toEqual(kp);
      expect(tp.keepEpochs).toEqual([5, 10, 20, 40]);
    });
    // four distinct pretrainings, four distinct run folders
    const arms = [...t, ...k];
    expect(new Set(arms.map((a) => JSON.stringify(backboneIdentity(c, c.backbones[a]!)))).size).toBe(4);
    const out = path.resolve('experiments/results/campaign-modelnet10');
    expect(new Set(arms.map((a) => pretrainDir(a, c.backbones[a] as Extract<BackboneSpec, { pretrain: string }>, out))).size).toBe(4);
  });

  it("probes every arm's kept checkpoints in the linear protocol, each inside its own arm's run folder", () => {
    const c = campaign();
    const kept = Object.entries(c.backbones).filter(([, s]) => 'checkpoint' in s);
    expect(kept).toHaveLength(12);
    for (const [name, s] of kept) {
      if (!('checkpoint' in s)) continue;
      const arm = c.backbones[s.arm!] as Extract<BackboneSpec, { pretrain: string }>;
      expect(s.checkpoint, name).toBe(path.join(arm.out!, `checkpoint-e${s.epoch}`));
      expect(s.protocols).toEqual(['linear']);
    }
  });

  it("its budget probe measures the campaign's own recipe on the seed-0 arms' 40-epoch models, past the pilot's 800 steps", () => {
    const c = campaign();
    const probe = loadFewshotConfig(path.resolve('experiments/campaign/finetune-budget-curve.json'));
    expect(probe.budgetCurve!.steps).toEqual([800, 1600, 3200, 6400]);
    expect(probe.ratios).toEqual([0.01, 0.1]);
    expect(probe.finetune).toEqual(c.finetune);
    for (const [name, s] of Object.entries(probe.backbones)) {
      if ('from' in s) expect(s.from).toBe('scratch');
      else if ('checkpoint' in s) expect(s.checkpoint).toBe(path.join((c.backbones[name] as { out: string }).out, 'checkpoint-e40'));
    }
  });

  it("while its budget is the pilot's, its scratch cells are the pilot's (the same config hash), so they need not be run again", () => {
    const c = campaign();
    const pilot = loadFewshotConfig(path.resolve('experiments/pilot-modelnet10.json'));
    const cell = { protocol: 'finetune', backbone: 'scratch', ratio: 0.01, seed: 2 };
    const same = JSON.stringify(c.finetune) === JSON.stringify(pilot.finetune);
    expect(
      cellConfigHash(c, cell, backboneIdentity(c, c.backbones.scratch!)) === cellConfigHash(pilot, cell, backboneIdentity(pilot, pilot.backbones.scratch!)),
    ).toBe(same);
  });
});
