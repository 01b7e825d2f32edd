import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../helpers/cli.ts';
import { gridFromFile } from '../../src/cli/downstream.ts';
import { MAIN_CONFIG } from '../../src/cli/main-job.ts';
import { resolveConfig } from '../../src/config/load.ts';
import { findPreset, PRESETS } from '../../src/config/presets.ts';
import { FEWSHOT_KIND, fewshotModel, FewshotConfigSchema, loadFewshotConfig } from '../../src/downstream/fewshot-config.ts';
import { HRNET_PRESETS } from '../../src/models/presets.ts';
import { PRETRAIN_KIND, PRETRAIN_PRESETS, resolvePretrainConfig } from '../../src/train/config.ts';

/**
 * Issue 12 item 4: one config system. Every kind (pretraining, few-shot grid, budget probe, supervised, the
 * main job) resolves `extends` the same way, names the file and field of a bad value in one line, and saves
 * its resolved config with the run; presets are JSON files found relative to the package.
 */
const repo = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-configs-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  process.env.RQ3D_BACKEND = 'cpu';
  process.env.RQ3D_CACHE = path.join(dir, 'cache');
});

function write(rel: string, content: unknown): string {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

const cli = runCliCaptured;
const saved = (d: string): Record<string, any> => JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));

/** A tiny classification grid: one scratch backbone, a few fine-tune steps. */
const grid = {
  name: 'g',
  task: 'classification',
  data: { source: 'synth:5', points: 256 },
  model: 'hrnet-tiny',
  backbones: { s: { from: 'scratch' } },
  protocols: ['finetune'],
  ratios: [1],
  seeds: [0],
  finetune: {
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 5e-4,
    batchSize: 8,
    baseSteps: 2,
    minSteps: 2,
    multipliers: {},
    decayAt: [0.5],
    backboneLrScale: 0.1,
    headOnlyBelow: 0,
  },
  workers: 0,
};

describe('presets are JSON files', () => {
  it('resolve to the recipes they replaced, under their names and their old short names', () => {
    const before = JSON.parse(fs.readFileSync(path.join(repo, 'test/fixtures/config/presets-before.json'), 'utf8')) as {
      pretrain: Record<string, unknown>;
      hrnet: Record<string, unknown>;
    };
    for (const [alias, name] of [
      ['paper', 'mid-shapenet-paper'],
      ['cpu', 'mid-modelnet10-cpu'],
      ['quick', 'mid-synth-quick'],
      ['tiny', 'mid-synth-tiny'],
    ] as const) {
      expect(findPreset('pretrain', alias)!.name).toBe(name);
      expect(PRETRAIN_PRESETS[alias]).toBe(PRETRAIN_PRESETS[name]);
      expect(JSON.parse(JSON.stringify(PRETRAIN_PRESETS[name]))).toEqual(before.pretrain[alias]);
      expect(resolvePretrainConfig(alias)).toEqual(resolvePretrainConfig(name));
    }
    for (const alias of ['paper', 'cpu', 'tiny'] as const) {
      expect(findPreset('model', alias)!.name).toBe(`hrnet-${alias}`);
      expect(HRNET_PRESETS[alias]).toEqual(before.hrnet[alias]);
      expect(HRNET_PRESETS[`hrnet-${alias}`]).toBe(HRNET_PRESETS[alias]);
    }
    // 'cpu' is an alias in two kinds, each resolving within its own
    expect(findPreset('model', 'cpu')!.file).toBe('experiments/presets/model/hrnet-cpu.json');
    expect(findPreset('pretrain', 'cpu')!.file).toBe('experiments/presets/pretrain/mid-modelnet10-cpu.json');
    expect(Object.keys(PRETRAIN_PRESETS)).toEqual(['mid-shapenet-paper', 'mid-modelnet10-cpu', 'mid-synth-quick', 'mid-synth-tiny']);
  });

  it('each registered preset is the content of its file under experiments/presets, and every file there is registered', () => {
    for (const p of PRESETS) expect(p.json, p.file).toEqual(JSON.parse(fs.readFileSync(path.join(repo, p.file), 'utf8')));
    const files = fs
      .readdirSync(path.join(repo, 'experiments/presets'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .map((f) => `experiments/presets/${f}`);
    expect(files.sort()).toEqual(PRESETS.map((p) => p.file).sort());
  });

  it('npm pack ships every preset and the main job', async () => {
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
    const packed = new Set((JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    for (const f of [...PRESETS.map((p) => p.file), 'experiments/main.json', 'src/config/presets.ts']) expect(packed.has(f), f).toBe(true);
  }, 60_000);

  it('a grid takes the model presets by name or alias', () => {
    const a = FewshotConfigSchema.parse({ ...grid, model: 'tiny' });
    const b = FewshotConfigSchema.parse({ ...grid, model: 'hrnet-tiny' });
    expect(fewshotModel(a.model)).toEqual(fewshotModel(b.model));
    expect(fewshotModel(b.model)).toEqual(HRNET_PRESETS.tiny);
  });

  it('a pretraining config names its model by preset', () => {
    const f = write('pt/model-by-name.json', { extends: 'mid-synth-tiny', model: 'hrnet-cpu' });
    expect(resolvePretrainConfig(f).model).toEqual(HRNET_PRESETS.cpu);
    const bad = write('pt/model-bad.json', { extends: 'tiny', model: 'huge' });
    expect(() => resolvePretrainConfig(bad)).toThrow(
      /model-bad\.json: model: 'huge' is not a model preset \(hrnet-paper \(paper\), hrnet-cpu \(cpu\), hrnet-tiny \(tiny\)\)$/,
    );
  });

  it('are found relative to the package, from any working folder (presets, the main job)', async () => {
    const run = promisify(execFile);
    const bin = path.join(repo, 'bin/rq3d.js');
    const env = { ...process.env, RQ3D_BACKEND: 'cpu' };
    const pt = await run('node', [bin, 'pretrain', '--config', 'mid-synth-tiny', '--set', 'clusters=0', '--out', 'x'], { cwd: dir, env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(pt.stderr).toBe('rq3d: --set clusters: must be at least 1, got 0\n');
    const main = await run('node', [bin, 'main', '--set', 'ratios=[2]'], { cwd: dir, env }).catch((e: { code: number; stderr: string }) => e);
    expect(main.stderr).toBe('rq3d: --set ratios: each value must be at most 1, got 2\n');
    expect(fs.existsSync(path.join(dir, 'x')) || fs.existsSync(path.join(dir, 'runs'))).toBe(false);
  }, 60_000);
});

describe('extends, the same for every kind', () => {
  it('pretraining: a file extends a file that extends a preset; a bad field is named in the file that wrote it', () => {
    const parent = write('pt/parent.json', { extends: 'tiny', clusters: 8, optim: { epochs: 3 } });
    const child = write('pt/sub/child.json', { extends: '../parent.json', optim: { lr: 0.2 } });
    const c = resolvePretrainConfig(child);
    expect([c.clusters, c.optim.epochs, c.optim.lr, c.optim.batchSize]).toEqual([8, 3, 0.2, PRETRAIN_PRESETS.tiny!.optim.batchSize]);
    expect(resolveConfig(child, PRETRAIN_KIND).chain).toEqual([
      child,
      path.relative(process.cwd(), parent),
      'preset tiny',
      'preset mid-synth-quick',
      'preset mid-modelnet10-cpu',
    ]);
    const badChild = write('pt/sub/bad-child.json', { extends: '../parent.json', optim: { lr: -1 } });
    expect(() => resolvePretrainConfig(badChild)).toThrow(new RegExp(`^${badChild}: optim\\.lr: must be greater than 0, got -1$`));
    const unknown = write('pt/sub/unknown.json', { extends: '../parent.json', optim: { epochz: 3 } });
    expect(() => resolvePretrainConfig(unknown)).toThrow(new RegExp(`^${unknown}: optim: unknown key 'epochz'$`));
    const badParent = write('pt/bad-parent.json', { extends: 'tiny', clusters: 0 });
    const ok = write('pt/sub/ok.json', { extends: '../bad-parent.json', seed: 3 });
    expect(() => resolvePretrainConfig(ok)).toThrow(new RegExp(`^${path.relative(process.cwd(), badParent)}: clusters: must be at least 1, got 0$`));
  });

  it('messages for a bad extends: one line naming the file', () => {
    const missing = write('ext/missing.json', { extends: 'nope.json' });
    expect(() => resolvePretrainConfig(missing)).toThrow(
      new RegExp(
        `^${missing}: extends: 'nope\\.json' is neither a pretraining config preset \\(.*mid-synth-tiny \\(tiny\\)\\) nor a file \\(looked for ${path.join(dir, 'ext/nope.json')}\\)$`,
      ),
    );
    const a = write('ext/a.json', { extends: 'b.json' });
    write('ext/b.json', { extends: 'a.json' });
    expect(() => loadFewshotConfig(a)).toThrow(/ext\/b\.json: extends: 'a\.json' is already in the chain \(.*a\.json -> .*b\.json -> .*a\.json\)$/);
    const num = write('ext/num.json', { extends: 3 });
    expect(() => loadFewshotConfig(num)).toThrow(new RegExp(`^${num}: extends: must be a preset name or a file path, got 3$`));
    const grid404 = write('ext/grid404.json', { extends: 'cpu' });
    expect(() => loadFewshotConfig(grid404)).toThrow(/grid404\.json: extends: 'cpu' is not a file \(looked for .*ext\/cpu\)$/);
  });

  it('few-shot grid: a child in another folder inherits the parent and its paths, relative to the parent', () => {
    const parent = write('grids/parent.json', { ...grid, backbones: { s: { from: 'scratch' }, p: { checkpoint: 'ck/checkpoint' } } });
    const child = write('grids/probes/child.json', { extends: '../parent.json', name: 'child', seeds: [0, 1], finetune: { baseSteps: 5 } });
    const c = loadFewshotConfig(child);
    expect([c.name, c.seeds, c.finetune!.baseSteps, c.finetune!.minSteps, c.data.source]).toEqual(['child', [0, 1], 5, 2, 'synth:5']);
    expect(c.backbones.p).toEqual({ checkpoint: path.join(path.dirname(parent), 'ck/checkpoint') });
    const bad = write('grids/probes/bad.json', { extends: '../parent.json', finetune: { lr: 0 } });
    expect(() => loadFewshotConfig(bad)).toThrow(new RegExp(`^${bad}: finetune\\.lr: must be greater than 0, got 0$`));
  });

  it('budget probe: extends a grid and adds its budgetCurve; the committed probe extends its grid', () => {
    const parent = write('probe/grid.json', grid);
    const probe = write('probe/curve.json', { extends: 'grid.json', name: 'curve', budgetCurve: { steps: [1, 2] } });
    expect(loadFewshotConfig(probe).budgetCurve).toEqual({ steps: [1, 2] });
    expect(loadFewshotConfig(parent).budgetCurve).toBeUndefined();
    const longer = loadFewshotConfig(path.join(repo, 'experiments/probes/cpu-modelnet10-longer-finetune.json'));
    expect([longer.finetune!.baseSteps, longer.finetune!.lr, longer.linear!.baseSteps, longer.backbones.mid]).toEqual([
      4000,
      0.1,
      3000,
      { pretrain: 'cpu', rq: false, out: path.join(repo, 'runs/cpu-modelnet10/mid') },
    ]);
    const bad = write('probe/bad.json', { extends: 'grid.json', budgetCurve: { steps: [0] } });
    expect(() => loadFewshotConfig(bad)).toThrow(new RegExp(`^${bad}: budgetCurve\\.steps\\.0: must be greater than 0, got 0$`));
  });

  it('the main job is experiments/main.json, read like any grid; a child of it is checked the same way', async () => {
    expect(path.relative(repo, MAIN_CONFIG)).toBe('experiments/main.json');
    const main = gridFromFile(MAIN_CONFIG, []);
    expect([main.name, Object.keys(main.backbones), main.data.source, main.ratios]).toEqual(['main', ['mid_rq', 'mid', 'scratch'], 'synth:40', [0.01, 0.1, 1]]);
    const child = write('main/child.json', { extends: MAIN_CONFIG, ratios: [0.5, 2] });
    const r = await cli('main', '--config', child, '--out', path.join(dir, 'main-out'));
    expect([r.code, r.stderr]).toEqual([1, `rq3d: ${child}: ratios.1: must be at most 1, got 2\n`]);
    expect(fs.existsSync(path.join(dir, 'main-out'))).toBe(false);
  });

  it('supervised: --config takes its preset or a file extending it; a bad field names the file', async () => {
    const bad = write('sup/bad.json', { extends: 'ocnn-resnet-modelnet10', depth: 2 });
    const r = await cli('supervised', '--config', bad, '--out', path.join(dir, 'sup-bad'));
    expect([r.code, r.stderr]).toEqual([1, `rq3d: ${bad}: depth: must be at least 3, got 2\n`]);
    const unknown = await cli('supervised', '--config', 'ocnn-resnet', '--out', path.join(dir, 'sup-bad'));
    expect([unknown.code, unknown.stderr]).toEqual([2, "rq3d: --config: 'ocnn-resnet' is neither a preset (ocnn-resnet-modelnet10) nor a file\n"]);
    expect(fs.existsSync(path.join(dir, 'sup-bad'))).toBe(false);
  });
});

describe('the resolved config is saved with the run', () => {
  it('pretrain: preset, parent file, child file and --set, in config.json', async () => {
    write('run/pt-parent.json', { extends: 'tiny', clusters: 8, data: { synthPerClass: 2, points: 256 } });
    const child = write('run/pt-child.json', { extends: 'pt-parent.json', optim: { lr: 0.2 } });
    const out = path.join(dir, 'pt-out');
    const r = await cli('pretrain', '--config', child, '--set', 'seed=7', '--max-steps', '1', '--out', out, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const c = saved(out);
    expect([c.kind, c.clusters, c.optim.lr, c.optim.epochs, c.seed, c.data.points, c.model]).toEqual(['pretrain', 8, 0.2, 2, 7, 256, HRNET_PRESETS.tiny]);
    expect(c.extends).toBeUndefined();
  }, 60_000);

  it('fewshot: the merged grid with its --set, as config.json', async () => {
    write('run/grid.json', grid);
    const child = write('run/grid-child.json', { extends: 'grid.json', name: 'child', finetune: { baseSteps: 3 } });
    const out = path.join(dir, 'grid-out');
    const r = await cli('fewshot', '--config', child, '--set', 'finetune.minSteps=1', '--out', out, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const c = saved(out);
    expect([c.name, c.finetune.baseSteps, c.finetune.minSteps, c.finetune.lr, c.model]).toEqual(['child', 3, 1, 0.05, 'hrnet-tiny']);
    expect(c).toEqual(JSON.parse(JSON.stringify(gridFromFile(child, [{ flag: '--set finetune.minSteps', path: ['finetune', 'minSteps'], value: 1 }]))));
  }, 120_000);

  it('budget-curve: takes --set, and saves the merged probe', async () => {
    write('run/grid.json', grid);
    const probe = write('run/curve.json', { extends: 'grid.json', name: 'curve', budgetCurve: { steps: [1] } });
    const out = path.join(dir, 'curve-out');
    const r = await cli('budget-curve', '--config', probe, '--set', 'finetune.batchSize=4', '--out', out, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const c = saved(out);
    expect([c.name, c.budgetCurve, c.finetune.batchSize, c.finetune.baseSteps]).toEqual(['curve', { steps: [1] }, 4, 2]);
    expect(resolveConfig(probe, FEWSHOT_KIND).chain).toHaveLength(2);
  }, 120_000);

  it('supervised: the file extending the preset, the flags and --set, as config.json; --resume continues it', async () => {
    const file = write('run/sup.json', { extends: 'ocnn-resnet-modelnet10', data: 'synth:5', depth: 4, resblocks: 1, widthScale: 0.25 });
    const out = path.join(dir, 'sup-out');
    const args = ['supervised', '--config', file, '--epochs', '1', '--set', 'batchSize=8', '--out', out, '--quiet'];
    const r = await cli(...args);
    expect(r.code, r.stderr).toBe(0);
    const c = saved(out);
    expect([c.kind, c.data, c.depth, c.epochs, c.batchSize, c.lr, c.fullDepth]).toEqual(['supervised', 'synth:5', 4, 1, 8, 0.1, 2]);
    expect(c.backend?.name).toBe('cpu');
    const again = await cli(...args, '--resume');
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);
});
