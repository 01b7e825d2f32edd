import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError, printError } from '../../src/cli/errors.ts';
import { UsageError, UserError } from '../../src/util/errors.ts';

/**
 * Issue 16, item 1: every failure a user can cause prints one line (`rq3d: ...` naming the file, field or
 * flag), exits 2 for a bad command line and 1 otherwise, prints no stack (no tfjs-wasm source dump) unless
 * --debug / RQ3D_DEBUG=1, and leaves no half-made run folder. Each case of the issue is here, run as a user
 * runs it (a child process), since the 57 KB dumps came from the process-level handlers.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-errors-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The CLI as a child process (async, so this worker keeps answering vitest while it runs). */
function rq3d(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), ...args], {
      cwd: dir,
      env: { ...process.env, RQ3D_BACKEND: 'cpu', RQ3D_CACHE: path.join(dir, 'cache'), RQ3D_DEBUG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** The policy: exit code, exactly one stderr line starting 'rq3d: ', no stack frames, no tfjs source. */
function expectOneLine(r: Run, code: 1 | 2, ...mentions: RegExp[]): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^rq3d: /);
  expect(r.stderr).not.toMatch(/\n\s+at |GROWABLE_HEAP|node_modules/);
  expect(r.stderr.length).toBeLessThan(600);
  for (const m of mentions) expect(lines[0]).toMatch(m);
}

const listing = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d, { recursive: true }).map(String).sort() : []);

describe('rq3d errors: the cases of issue 16', () => {
  let run: string;
  beforeAll(async () => {
    run = path.join(dir, 'pt');
    const r = await rq3d(['pretrain', '--config', 'tiny', '--out', run, '--max-steps', '2', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('an empty test split is an error, not "OA 0.00 %", and leaves no results folder', async () => {
    const out = path.join(dir, 'lin-empty');
    const r = await rq3d(['linear', '--from', 'scratch', '--model', 'tiny', '--data', 'synth:4', '--ratios', '1', '--out', out, '--quiet']);
    expectOneLine(r, 1, /synth:4/, /test split is empty/, /synth:5/);
    expect(r.stdout).not.toMatch(/OA/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a checkpoint without weights.bin names the missing file', async () => {
    const ck = path.join(dir, 'no-weights');
    fs.cpSync(path.join(run, 'checkpoint'), ck, { recursive: true });
    fs.rmSync(path.join(ck, 'weights.bin'));
    const out = path.join(dir, 'lin-noweights');
    const r = await rq3d(['linear', '--checkpoint', ck, '--data', 'synth:5', '--ratios', '1', '--out', out, '--quiet']);
    expectOneLine(r, 1, /weights\.bin: missing/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('pretrain --resume without point_bank.bin names the file and leaves the run as it was', async () => {
    const copy = path.join(dir, 'pt-nobank');
    fs.cpSync(run, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'checkpoint', 'point_bank.bin'));
    const before = listing(copy);
    const r = await rq3d(['pretrain', '--out', copy, '--resume', '--quiet']);
    expectOneLine(r, 1, /point_bank\.bin: missing/);
    expect(listing(copy)).toEqual(before);
  });

  it('pretrain --rq-bins -5 names the flag (exit 2) and creates nothing', async () => {
    const out = path.join(dir, 'pt-bins');
    const r = await rq3d(['pretrain', '--config', 'tiny', '--out', out, '--rq-bins', '-5']);
    expectOneLine(r, 2, /^rq3d: --rq-bins: must be at least 1, got -5$/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('linear --data DIR with one class is an error naming the class', async () => {
    const data = path.join(dir, 'one-class');
    expect((await rq3d(['synth', '--out', data, '--per-class', '5', '--points', '256', '--categories', 'chair'])).code).toBe(0);
    const out = path.join(dir, 'lin-oneclass');
    const r = await rq3d(['linear', '--from', 'scratch', '--model', 'tiny', '--data', data, '--ratios', '1', '--out', out, '--quiet']);
    expectOneLine(r, 1, /at least 2 classes/, /chair/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('--batch-size 0 does not hang (a hang is killed after 90 s and fails); --epochs 0 and --max-steps -1 are errors, not untrained checkpoints', async () => {
    for (const [flag, value, text] of [
      ['--batch-size', '0', /--batch-size: must be greater than 0, got 0/],
      ['--epochs', '0', /--epochs: must be greater than 0/],
      ['--max-steps', '-1', /--max-steps: must be at least 1/],
    ] as const) {
      const out = path.join(dir, `pt-${flag.slice(2)}`);
      const r = await rq3d(['pretrain', '--config', 'tiny', '--out', out, flag, value]);
      expectOneLine(r, 2, text);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('a failed start (no such data folder) leaves no half-made run folder', async () => {
    const out = path.join(dir, 'runs', 'nested', 'pt-nodata');
    const r = await rq3d(['pretrain', '--config', 'tiny', '--data', path.join(dir, 'nonexistent'), '--out', out, '--quiet']);
    expectOneLine(r, 1, /nonexistent/);
    expect(fs.existsSync(path.join(dir, 'runs'))).toBe(false);
  });

  it('a finished run folder is not overwritten without --resume or --force', async () => {
    const bytes = fs.readFileSync(path.join(run, 'checkpoint', 'weights.bin'));
    const r = await rq3d(['pretrain', '--config', 'tiny', '--out', run, '--max-steps', '3', '--quiet']);
    expectOneLine(r, 2, /holds a run; add --resume to continue it, --force to replace it/);
    expect(fs.readFileSync(path.join(run, 'checkpoint', 'weights.bin')).equals(bytes)).toBe(true);
    // --resume continues with the run's own config (no --config needed) and checks nothing else changed
    expectOneLine(await rq3d(['pretrain', '--out', run, '--resume', '--seed', '7', '--quiet']), 2, /--resume: the run in .* was started with another seed/);
    const copy = path.join(dir, 'pt-force');
    fs.cpSync(run, copy, { recursive: true });
    const f = await rq3d(['pretrain', '--config', 'tiny', '--seed', '7', '--out', copy, '--max-steps', '1', '--force', '--json', '--quiet']);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout).steps).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(copy, 'config.json'), 'utf8')).seed).toBe(7);
    expect(fs.readdirSync(dir).filter((e) => e.includes('.replaced-'))).toEqual([]);
  });

  it('commander parse errors follow the policy too (exit 2, one line)', async () => {
    expectOneLine(await rq3d(['pretrain', '--no-such-flag']), 2, /unknown option '--no-such-flag'/);
    expectOneLine(await rq3d(['no-such-command']), 2, /unknown command/);
  });

  it('--debug and RQ3D_DEBUG=1 add the stack', async () => {
    const a = await rq3d(['pretrain', '--config', 'tiny', '--out', path.join(dir, 'dbg'), '--rq-bins', '-5', '--debug']);
    expect(a.code).toBe(2);
    expect(a.stderr.split('\n')[0]).toMatch(/^rq3d: --rq-bins/);
    expect(a.stderr).toMatch(/\n\s+at /);
    const b = await rq3d(['pretrain', '--config', 'tiny', '--out', path.join(dir, 'dbg'), '--rq-bins', '-5'], { RQ3D_DEBUG: '1' });
    expect(b.stderr).toMatch(/\n\s+at /);
  });
});

describe('describeError', () => {
  it('maps error kinds to one line and an exit code', async () => {
    expect(describeError(new UsageError('--x: bad'))).toEqual({ line: '--x: bad', code: 2 });
    expect(describeError(new UserError('a.json: x: bad\na.json: y: bad'))).toEqual({ line: 'a.json: x: bad; a.json: y: bad', code: 1 });
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', path: '/x/weights.bin' });
    expect(describeError(enoent)).toEqual({ line: '/x/weights.bin: no such file or folder; check the path', code: 1 });
    const bug = describeError(new TypeError(`Cannot read properties of undefined\n${'x'.repeat(60_000)}`));
    expect(bug.code).toBe(1);
    expect(bug.line).toMatch(/^internal error: Cannot read properties of undefined.*--debug/);
    expect(bug.line.length).toBeLessThan(400);
  });

  it('prints the stack only in debug mode', async () => {
    const out: string[] = [];
    printError(new UserError('f.ply: bad'), false, (s) => out.push(s));
    expect(out).toEqual(['rq3d: f.ply: bad\n']);
    out.length = 0;
    printError(new UserError('f.ply: bad'), true, (s) => out.push(s));
    expect(out[1]).toMatch(/UserError: f.ply: bad\n\s+at /);
  });
});
