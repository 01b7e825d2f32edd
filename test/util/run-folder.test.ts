import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { claimRunFolder, rollbackRunFolders } from '../../src/util/run-folder.ts';

/** Issue 16, item 3 and "failed starts leave half-made run folders": the run-folder claim. */
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-runfolder-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const write = (f: string, s = 'x'): void => {
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, s);
};
const read = (f: string): string => fs.readFileSync(f, 'utf8');

describe('claimRunFolder', () => {
  it('creates a new folder and removes it (and the parents it made) when the start fails', () => {
    const dir = path.join(root, 'a', 'b', 'run');
    const c = claimRunFolder(dir);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    write(path.join(dir, 'config.json'), '{}');
    c.rollback();
    expect(fs.existsSync(path.join(root, 'a'))).toBe(false);
  });

  it('keeps a failed run that made progress (a checkpoint), so it can be resumed', () => {
    const dir = path.join(root, 'progress');
    const c = claimRunFolder(dir);
    write(path.join(dir, 'checkpoint', 'model.json'), '{}');
    rollbackRunFolders();
    expect(fs.existsSync(path.join(dir, 'checkpoint', 'model.json'))).toBe(true);
    void c;
  });

  it('refuses a folder holding a run without --resume or --force, and a non-run folder always', () => {
    const dir = path.join(root, 'done');
    write(path.join(dir, 'config.json'), '{"a":1}');
    write(path.join(dir, 'checkpoint', 'model.json'), 'old');
    expect(() => claimRunFolder(dir)).toThrow(/--out .*done: the folder holds a run; add --resume to continue it, --force to replace it/);
    expect(read(path.join(dir, 'checkpoint', 'model.json'))).toBe('old');
    const c = claimRunFolder(dir, { resume: true });
    expect(c.resumed).toBe(true);
    c.rollback();
    expect(read(path.join(dir, 'checkpoint', 'model.json'))).toBe('old');
    const other = path.join(root, 'photos');
    write(path.join(other, 'me.jpg'));
    expect(() => claimRunFolder(other, { force: true })).toThrow(/not empty and holds no rq3d run/);
    expect(() => claimRunFolder(path.join(other, 'me.jpg'))).toThrow(/is a file, not a folder/);
    expect(() => claimRunFolder(dir, { resume: true, force: true })).toThrow(/exclude each other/);
  });

  it("a folder holding only the command's own entries (a grid's pretraining folders) is its run", () => {
    const dir = path.join(root, 'grid');
    write(path.join(dir, 'pretrain-mid', 'checkpoint', 'model.json'), 'ckpt');
    expect(() => claimRunFolder(dir, { implicitResume: true })).toThrow(/not empty and holds no rq3d run/);
    const c = claimRunFolder(dir, { implicitResume: true, ownEntries: ['pretrain-mid', 'pretrain-mid_rq'] });
    expect(c.resumed).toBe(true);
    c.rollback();
    expect(read(path.join(dir, 'pretrain-mid', 'checkpoint', 'model.json'))).toBe('ckpt');
  });

  it('--force keeps the old run aside: put back when the new start fails, dropped when it succeeds', () => {
    const dir = path.join(root, 'forced');
    write(path.join(dir, 'config.json'), 'old');
    const c1 = claimRunFolder(dir, { force: true });
    expect(fs.readdirSync(dir)).toEqual([]);
    write(path.join(dir, 'config.json'), 'new');
    c1.rollback();
    expect(read(path.join(dir, 'config.json'))).toBe('old');
    const c2 = claimRunFolder(dir, { force: true });
    write(path.join(dir, 'config.json'), 'new');
    c2.commit();
    expect(read(path.join(dir, 'config.json'))).toBe('new');
    expect(fs.readdirSync(root).filter((e) => e.startsWith('forced.replaced'))).toEqual([]);
  });

  it('grids resume by design with the same config; another config needs --force', () => {
    const dir = path.join(root, 'grid');
    write(path.join(dir, 'config.json'), JSON.stringify({ name: 'g', ratios: [1] }));
    write(path.join(dir, 'cells', 'linear', 'x', 'r1.00-s0.json'), '{}');
    expect(claimRunFolder(dir, { sameConfig: { name: 'g', ratios: [1] }, implicitResume: true }).resumed).toBe(true);
    expect(() => claimRunFolder(dir, { sameConfig: { name: 'g', ratios: [0.5] }, implicitResume: true })).toThrow(/another config/);
    // the single-protocol commands: --resume, and the same config
    expect(() => claimRunFolder(dir, { sameConfig: { name: 'g', ratios: [0.5] }, resume: true })).toThrow(/another config/);
    expect(claimRunFolder(dir, { sameConfig: { name: 'g', ratios: [1] }, resume: true }).resumed).toBe(true);
    rollbackRunFolders();
    expect(fs.existsSync(path.join(dir, 'cells', 'linear', 'x', 'r1.00-s0.json'))).toBe(true);
  });
});
