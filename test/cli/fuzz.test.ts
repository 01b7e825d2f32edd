import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { buildProgram, runCli } from '../../src/cli/main.ts';
import { rollbackRunFolders } from '../../src/util/run-folder.ts';

/**
 * Issue 16, item 2: a CLI fuzz test. Every option of every command gets invalid and extreme values, one
 * option at a time on an otherwise valid (and fast) command line, run in this process through runCli:
 * 0 hangs (each case must finish within seconds), 0 stacks (one `rq3d: ...` line on stderr), 0 exit-0 on
 * nonsense, nothing left on disk. Options are enumerated from the program itself, so a new option without a
 * row here is still fuzzed with the values every option must refuse.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-fuzz-'));
const shape = path.join(repoRoot, 'test/fixtures/data/cube.off');
const file = path.join(cwd, 'a-file');
const here = process.cwd();

const INT = ['', 'abc', '1.5', '-1', '1e400', 'NaN', '0x10'];
const POS = [...INT, '0'];
const NUM = ['', 'abc', '1e400', 'NaN', '-1'];
const ENUM = ['', 'bogus'];
const PATH = ['', '/nonexistent/rq3d-fuzz'];
/** --out of commands that write a folder: empty, and a path under a regular file. */
const OUT = ['', path.join(file, 'x')];
const SEED = ['', 'abc', '1.5', '1e400'];
const BACKEND = ['', 'bogus', 'Wasm!'];
/** Values every option must refuse (the fallback for options without a row). */
const ANY = [''];

/** Per command: a valid, fast command line (the fuzzed option is appended), and the nonsense per option. */
const TABLE: Record<string, { base: string[]; values: Record<string, string[]> }> = {
  octree: { base: [shape], values: { '--depth': [...POS, '11'], '--full-depth': [...INT, '9'], '--normalize': ENUM, '--features': ['', 'XYZ'] } },
  doctor: { base: [], values: { '--backend': BACKEND, '--threads': POS } },
  info: { base: [shape], values: { '--up-axis': ['', 'north'], '--shapes': INT } },
  sample: {
    base: [shape],
    values: {
      '--stage': ENUM,
      '--rq-bins': [...POS, '5000'],
      '--seed': SEED,
      '--depth': [...POS, '11'],
      '--up-axis': ['', 'north'],
      '--points': POS,
      '--frame': ENUM,
      '--out': ['', path.join(cwd, 's.txt'), path.join(file, 's.ply')],
    },
  },
  convert: {
    base: [shape, path.join(cwd, 'out.ply')],
    values: {
      '--format': ENUM,
      '--sample': POS,
      '--normals': ENUM,
      '--orient': ENUM,
      '--k': POS,
      '--normalize': ENUM,
      '--scale': [...NUM, '0'],
      '--seed': SEED,
    },
  },
  quantize: {
    base: [shape],
    values: {
      '--bins': POS,
      '--seed': SEED,
      '--variant': ENUM,
      '--p': [...NUM, '1.5'],
      '--depth': [...POS, '11'],
      '--normalize': ENUM,
      '--out': ['', path.join(cwd, 'q.txt'), path.join(file, 'q.ply')],
      '--frame': ENUM,
    },
  },
  synth: {
    base: ['--out', path.join(cwd, 'synth')],
    values: { '--out': OUT, '--per-class': POS, '--points': POS, '--seed': SEED, '--categories': ['', 'bogus', 'chair,,mug'] },
  },
  view: {
    base: ['/nonexistent/rq3d-fuzz', '--no-open'],
    values: { '--port': ['', 'abc', '-1', '70000', '1.5'], '--host': ['', 'a b', 'x;y'], '--checkpoint': PATH },
  },
  pretrain: {
    base: ['--config', 'tiny', '--out', path.join(cwd, 'pt'), '--quiet'],
    values: {
      '--data': PATH,
      '--up-axis': ['', 'north'],
      '--config': PATH,
      '--rq-bins': [...POS, '5000'],
      '--rq-variant': ENUM,
      '--epochs': POS,
      '--batch-size': POS,
      '--lr': [...NUM, '0'],
      '--workers': INT,
      '--seed': SEED,
      '--set': ['', 'noequals', '=1', 'optim.lrr=1', 'optim.lr=abc', 'rq.bins=-5', 'model.depth=99', '__proto__.x=1', 'optim.lr=[1'],
      '--out': OUT,
      '--max-steps': POS,
      '--backend': BACKEND,
    },
  },
  fewshot: {
    base: ['--config', path.join(cwd, 'grid.json'), '--out', path.join(cwd, 'grid'), '--quiet'],
    values: {
      '--config': PATH,
      '--out': OUT,
      '--backbones': ['', 'nope'],
      '--protocols': ['', 'nope', 'finetune'],
      '--ratios': ['', '0', '1.5', 'abc', '0.5'],
      '--seeds': ['', '1.5', '9'],
      '--set': ['', 'nope=1', 'ratios=[2]', 'linear.lr=-1', 'task=x'],
      '--backend': BACKEND,
      '--queue': ['', 'http://x', 'redis://'],
      '--attempts': POS,
    },
  },
  'budget-curve': {
    base: ['--config', path.join(cwd, 'grid.json'), '--out', path.join(cwd, 'curve'), '--quiet'],
    values: {
      '--config': PATH,
      '--out': OUT,
      '--backbones': ['', 'nope'],
      '--protocols': ['', 'nope', 'linear'],
      '--ratios': ['', '0', '1.5', 'abc'],
      '--seeds': ['', '1.5', 'abc'],
      '--set': ['', 'nope=1', 'ratios=[2]', 'finetune.lr=-1'],
    },
  },
  main: {
    base: ['--out', path.join(cwd, 'main'), '--quiet'],
    values: { '--out': OUT, '--per-class': [...POS, '4'], '--epochs': POS, '--config': PATH, '--set': ['', 'nope=1', 'ratios=[2]', 'backbones.mid.epochs=0'] },
  },
  supervised: {
    base: ['--data', 'synth:5', '--model', 'lenet', '--epochs', '1', '--out', path.join(cwd, 'sup'), '--quiet'],
    values: {
      '--data': PATH,
      '--model': ENUM,
      '--depth': [...POS, '12'],
      '--epochs': POS,
      '--batch-size': POS,
      '--lr': [...NUM, '0'],
      '--resblocks': POS,
      '--width': [...NUM, '0'],
      '--seed': SEED,
      '--workers': INT,
      '--out': OUT,
      '--set': ['', 'lr=abc', 'nope=1', 'depth=0'],
      '--backend': BACKEND,
      '--config': PATH,
    },
  },
  worker: {
    base: ['--queue', 'redis://127.0.0.1:1', '--quiet'],
    values: { '--queue': ['', 'http://x', 'redis://', 'redis://h:1/x'], '--concurrency': POS, '--lock-seconds': [...NUM, '0'], '--name': ANY },
  },
  prepare: {
    base: ['--data', path.join(cwd, 'prep'), '--config', 'tiny', '--quiet'],
    values: { '--data': PATH, '--config': PATH, '--queue': ['', 'http://x'], '--shard-size': POS, '--workers': INT, '--attempts': POS },
  },
  bench: {
    base: ['--quick'],
    values: {
      '--only': ['', 'nope'],
      '--models': ['', 'nope'],
      '--reps': POS,
      '--conv-variants': ['', 'nope'],
      '--backend': BACKEND,
      '--threads': POS,
      '--peer': PATH,
      '--export-inputs': ['', path.join(file, 'x')],
    },
  },
};
for (const cmd of ['linear', 'finetune', 'segment']) {
  TABLE[cmd] = {
    base: [
      '--from',
      'scratch',
      '--model',
      'tiny',
      '--data',
      'synth:5',
      '--ratios',
      '1',
      '--base-steps',
      '2',
      '--min-steps',
      '1',
      '--out',
      path.join(cwd, cmd),
      '--quiet',
    ],
    values: {
      '--checkpoint': PATH,
      '--from': ['', 'pretrained'],
      '--data': PATH,
      '--up-axis': ['', 'north'],
      '--ratios': ['', '0', '1.5', 'abc', '1,,0.5', '-0.5'],
      '--seeds': ['', '1.5', 'abc'],
      '--model': ENUM,
      '--points': POS,
      '--workers': INT,
      '--base-steps': POS,
      '--min-steps': POS,
      '--lr': [...NUM, '0'],
      '--batch-size': POS,
      '--backend': BACKEND,
      '--set': ['', 'nope=1', `${cmd === 'linear' ? 'linear' : cmd === 'segment' ? 'segment' : 'finetune'}.lr=-1`, 'ratios=[0]'],
      '--out': OUT,
      '--mode': ENUM,
    },
  };
}

function listing(): string[] {
  return fs
    .readdirSync(cwd, { recursive: true })
    .map(String)
    .filter((f) => !f.startsWith('cache'))
    .sort();
}

interface Outcome {
  code: number | 'timeout';
  stderr: string;
  stdout: string;
}

/** One command line in this process: stdout / stderr captured, a timeout counts as a hang. */
async function run(argv: string[], ms = 20_000): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([runCli(argv), new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
    return { code, stderr, stdout };
  } finally {
    clearTimeout(timer);
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

function valueOptions(cmd: Command): Option[] {
  return cmd.options.filter((o) => o.required || o.optional);
}

beforeAll(() => {
  process.env.RQ3D_BACKEND = 'cpu';
  process.env.RQ3D_CACHE = path.join(cwd, 'cache');
  fs.writeFileSync(file, 'not a folder');
  // a real (tiny) data folder for rq3d prepare: a valid base, so only the fuzzed flag can make it fail
  for (const [split, n] of [
    ['train', 2],
    ['test', 1],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const d = path.join(cwd, 'prep', 'cube', split);
      fs.mkdirSync(d, { recursive: true });
      fs.copyFileSync(shape, path.join(d, `cube_${split}_${i}.off`));
    }
  }
  fs.writeFileSync(
    path.join(cwd, 'grid.json'),
    JSON.stringify({
      name: 'g',
      task: 'classification',
      data: { source: 'synth:5', points: 256 },
      model: 'tiny',
      backbones: { scratch: { from: 'scratch' } },
      protocols: ['linear'],
      ratios: [1],
      seeds: [0],
      linear: {
        lr: 1,
        momentum: 0.9,
        weightDecay: 0,
        batchSize: 8,
        baseSteps: 2,
        minSteps: 1,
        multipliers: {},
        decayAt: [],
        backboneLrScale: 1,
        headOnlyBelow: 0,
      },
      workers: 0,
    }),
  );
  process.chdir(cwd);
});
afterAll(() => {
  process.chdir(here);
  rollbackRunFolders();
  fs.rmSync(cwd, { recursive: true, force: true });
});

describe('CLI fuzz: invalid and extreme values for every option of every command', () => {
  const program = buildProgram();
  const cases: Array<{ cmd: string; flag: string; value: string }> = [];
  for (const c of program.commands) {
    const row = TABLE[c.name()];
    for (const o of valueOptions(c)) {
      const values = row?.values[o.long!] ?? ANY;
      for (const value of values) cases.push({ cmd: c.name(), flag: o.long!, value });
    }
  }

  it('the table covers every option of the commands it knows', () => {
    const missing: string[] = [];
    for (const c of program.commands) {
      const row = TABLE[c.name()];
      if (!row) continue;
      for (const o of valueOptions(c)) if (!(o.long! in row.values)) missing.push(`${c.name()} ${o.long}`);
    }
    expect(missing).toEqual([]);
    expect(cases.length).toBeGreaterThan(300);
  });

  it('every case fails fast, in one line, without a stack and without leaving files', async () => {
    const before = listing();
    const bad: string[] = [];
    for (const k of cases) {
      const base = TABLE[k.cmd]?.base ?? [];
      const argv = [k.cmd, ...base, k.flag, k.value];
      const r = await run(argv);
      const lines = r.stderr.split('\n').filter((l) => l);
      const why =
        r.code === 'timeout'
          ? 'hangs'
          : r.code === 0
            ? `exit 0 (stdout ${r.stdout.slice(0, 80)})`
            : r.code !== 1 && r.code !== 2
              ? `exit ${r.code}`
              : lines.length !== 1 || !lines[0]!.startsWith('rq3d: ')
                ? `stderr is not one rq3d line: ${JSON.stringify(r.stderr.slice(0, 300))}`
                : /\n\s+at |GROWABLE_HEAP|internal error/.test(r.stderr)
                  ? `stack or internal error: ${lines[0]}`
                  : null;
      rollbackRunFolders();
      const after = listing();
      const left = after.filter((f) => !before.includes(f));
      if (why || left.length)
        bad.push(`rq3d ${argv.map((a) => (a === '' ? "''" : a)).join(' ')}: ${why ?? ''}${left.length ? ` left ${left.slice(0, 3).join(', ')}` : ''}`);
      for (const f of left) fs.rmSync(path.join(cwd, f), { recursive: true, force: true });
    }
    expect(bad).toEqual([]);
  }, 300_000);
});
