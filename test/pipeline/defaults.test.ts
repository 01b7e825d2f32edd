import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerPretrain } from '../../src/cli/pretrain.ts';
import { DEFAULT_DEPTH, DEFAULT_FULL_DEPTH, DEFAULT_NORMALIZE } from '../../src/pipeline/defaults.ts';
import { PRETRAIN_PRESETS } from '../../src/train/config.ts';
import { DEFAULT_STATE } from '../../viewer/src/state.ts';

describe('octree defaults', () => {
  it('are those of the default pretraining preset, and the viewer uses them', () => {
    const program = new Command();
    registerPretrain(program);
    const preset = program.commands.find((c) => c.name() === 'pretrain')!.options.find((o) => o.long === '--config')!.defaultValue as string;
    expect(preset).toBe('cpu');
    const cfg = PRETRAIN_PRESETS[preset]!;
    expect(DEFAULT_DEPTH).toBe(cfg.model.depth);
    expect(DEFAULT_FULL_DEPTH).toBe(cfg.model.fullDepth);
    for (const p of Object.values(PRETRAIN_PRESETS)) expect(p.data.normalize, p.name).toBe(DEFAULT_NORMALIZE);
    expect(DEFAULT_STATE.depth).toBe(DEFAULT_DEPTH);
    expect(DEFAULT_STATE.normalize).toBe(DEFAULT_NORMALIZE);
  });
});

/** Issue 16, item 7: the same defaults in the single-shape commands. */
describe('single-shape command defaults', () => {
  it('are the defaults of rq3d octree, rq3d quantize and rq3d sample', async () => {
    const { buildProgram } = await import('../../src/cli/main.ts');
    const p = buildProgram();
    for (const name of ['octree', 'quantize']) {
      const c = p.commands.find((x) => x.name() === name)!;
      const opt = (flag: string): unknown => c.options.find((o) => o.long === flag)!.defaultValue;
      expect([name, opt('--normalize'), opt('--depth')]).toEqual([name, DEFAULT_NORMALIZE, String(DEFAULT_DEPTH)]);
    }
    // rq3d sample normalizes as the pipeline does by construction (its --stage); only its depth is a flag
    const sample = p.commands.find((x) => x.name() === 'sample')!;
    expect(sample.options.find((o) => o.long === '--depth')!.defaultValue).toBe(String(DEFAULT_DEPTH));
  });
});
