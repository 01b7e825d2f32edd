import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured } from '../helpers/cli.ts';

/**
 * Issue 12 item 4 / issue 16 item 6: `--set key.path=value` on the training commands, validated by the
 * config's schema, and the resolved config saved with the run. Run in this process (fast).
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-set-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  process.env.RQ3D_BACKEND = 'cpu';
  process.env.RQ3D_CACHE = path.join(dir, 'cache');
});

const cli = runCliCaptured;
const saved = (d: string): Record<string, any> => JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));

describe('--set key.path=value', () => {
  it('pretrain: overrides any config field after the named flags; saved in config.json', async () => {
    const out = path.join(dir, 'pt');
    const r = await cli(
      'pretrain',
      '--config',
      'tiny',
      '--lr',
      '0.5',
      '--set',
      'optim.lr=0.01',
      '--set',
      'clusters=8',
      '--set',
      'rq.variant=uniform-middle',
      '--max-steps',
      '1',
      '--out',
      out,
      '--quiet',
    );
    expect(r.code, r.stderr).toBe(0);
    const c = saved(out);
    expect([c.optim.lr, c.clusters, c.rq.variant, c.rq.bins]).toEqual([0.01, 8, 'uniform-middle', 30]);
  });

  it('pretrain: bad keys and values name the --set', async () => {
    const bad = await cli('pretrain', '--config', 'tiny', '--set', 'optim.lrr=1', '--out', path.join(dir, 'x'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^rq3d: --set optim.lrr: unknown key \(optim takes lr, momentum, weightDecay, batchSize, epochs, .*\)\n$/);
    expect((await cli('pretrain', '--config', 'tiny', '--set', 'model.depth=2', '--out', path.join(dir, 'x'))).stderr).toBe(
      'rq3d: --set model.depth: must be at least 4, got 2\n',
    );
    expect((await cli('pretrain', '--config', 'tiny', '--set', 'lossWeights=[1]', '--out', path.join(dir, 'x'))).stderr).toMatch(/^rq3d: --set lossWeights: /);
    expect((await cli('pretrain', '--config', 'tiny', '--set', 'seed', '--out', path.join(dir, 'x'))).stderr).toBe(
      "rq3d: --set: expected key.path=value, got 'seed'\n",
    );
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it('linear: --lr / --batch-size / --set reach the protocol section; the resolved grid is saved', async () => {
    const out = path.join(dir, 'lin');
    // --from random: a frozen network probed with the linear recipe (scratch trains with the fine-tune one)
    const r = await cli(
      'linear',
      '--from',
      'random',
      '--model',
      'tiny',
      '--data',
      'synth:5',
      '--ratios',
      '1',
      '--base-steps',
      '3',
      '--min-steps',
      '2',
      '--lr',
      '0.3',
      '--batch-size',
      '8',
      '--set',
      'linear.momentum=0.5',
      '--set',
      'data.points=256',
      '--out',
      out,
      '--quiet',
    );
    expect(r.code, r.stderr).toBe(0);
    const c = saved(out);
    expect([c.linear.lr, c.linear.batchSize, c.linear.momentum, c.data.points]).toEqual([0.3, 8, 0.5, 256]);
    expect((await cli('linear', '--from', 'random', '--set', 'linear.lr=0', '--out', path.join(dir, 'y'))).stderr).toBe(
      'rq3d: --set linear.lr: must be greater than 0, got 0\n',
    );
    expect((await cli('linear', '--from', 'scratch', '--ratios', '1.5', '--out', path.join(dir, 'y'))).stderr).toBe(
      'rq3d: --ratios: each value must be at most 1, got 1.5\n',
    );
  });

  it('fewshot and supervised take --set too', async () => {
    const file = path.join(dir, 'g.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: 'g',
        task: 'classification',
        data: { source: 'synth:5' },
        model: 'tiny',
        backbones: { s: { from: 'scratch' } },
        protocols: ['linear'],
        ratios: [1],
        seeds: [0],
      }),
    );
    expect((await cli('fewshot', '--config', file, '--set', 'ratios=[2]')).stderr).toBe('rq3d: --set ratios: each value must be at most 1, got 2\n');
    expect((await cli('fewshot', '--config', file, '--out', path.join(dir, 'g'))).stderr).toMatch(
      /^rq3d: backbone 's' \(scratch\) .* needs a 'finetune' section\n$/,
    );
    expect(fs.existsSync(path.join(dir, 'g'))).toBe(false);
    expect((await cli('supervised', '--set', 'lr=abc', '--out', path.join(dir, 'sup'))).stderr).toBe("rq3d: --set lr: must be a number, got 'abc'\n");
  });
});
