import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { UsageError } from './errors.ts';

/**
 * Run folders are claimed before a command writes anything into them, so that
 * - a folder holding a run (started or finished) is never overwritten by accident: continuing it needs
 *   `--resume`, replacing it `--force` (the old folder is kept aside until the new run succeeds);
 * - a failed start leaves nothing behind: a folder this command created (or filled from empty) is removed
 *   again when the command fails before the run made progress (a checkpoint or a finished cell), and a
 *   folder replaced with `--force` is put back.
 * The CLI's error handler (src/cli/errors.ts) rolls back every open claim; a command that succeeds commits.
 */
export interface RunFolderOptions {
  /** Continue the run in the folder (pretrain --resume, ...). */
  resume?: boolean;
  /** Replace the run in the folder. */
  force?: boolean;
  /** The flag that named the folder, for messages (default --out). */
  flag?: string;
  /**
   * The config the command would save: with --resume the saved config.json must equal it (else the
   * finished parts of the run would be mixed with a different recipe).
   */
  sameConfig?: unknown;
  /**
   * Commands that resume by design (rq3d fewshot, rq3d main): a run whose saved config equals `sameConfig`
   * is continued without --resume; a different one needs --force.
   */
  implicitResume?: boolean;
  /** The file holding the saved config (default config.json). */
  configFile?: string;
  /**
   * Entries the command itself places in the folder besides its run markers (a few-shot grid's pretraining
   * folders, named by its backbones' `out`): a folder holding them is this command's run, not a stranger's.
   */
  ownEntries?: readonly string[];
}

/** Files and folders that mark an rq3d run folder. */
const RUN_MARKERS = ['config.json', 'checkpoint', 'checkpoint.prev', 'metrics.jsonl', 'cells', 'summary.json', 'table.md', 'model.json'];

export interface RunFolderClaim {
  readonly dir: string;
  /** The folder held a run that this command continues. */
  readonly resumed: boolean;
  /** The run succeeded: keep what it wrote, drop any folder it replaced. */
  commit(): void;
  /** The run failed: undo what `claimRunFolder` did unless the run made progress. */
  rollback(): void;
}

const open = new Set<RunFolderClaim>();

function entries(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Whether a run folder holds work worth keeping after a failure: a checkpoint, a saved model or a finished cell. */
export function hasRunProgress(dir: string, depth = 0, inCells = false): boolean {
  if (depth > 6) return false;
  for (const e of entries(dir)) {
    if (e === 'model.json' || (inCells && e.endsWith('.json'))) return true;
    const p = path.join(dir, e);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory() && hasRunProgress(p, depth + 1, inCells || e === 'cells')) return true;
  }
  return false;
}

function readSaved(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * A saved config without the `backend` a trainer recorded beside it (where the run went, not what it is),
 * unless the config compared with it has that field itself.
 */
function withoutBackend(saved: unknown, config: unknown): unknown {
  if (saved === null || typeof saved !== 'object' || Array.isArray(saved) || !('backend' in saved)) return saved;
  if (config !== null && typeof config === 'object' && 'backend' in config) return saved;
  const { backend: _backend, ...rest } = saved as Record<string, unknown>;
  return rest;
}

/** The JSON form of a config (what config.json holds), for comparison with a saved one. */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

export function claimRunFolder(dirIn: string, opts: RunFolderOptions = {}): RunFolderClaim {
  const dir = path.resolve(dirIn);
  const flag = opts.flag ?? '--out';
  if (dirIn.trim() === '') throw new UsageError(`${flag}: give a folder name`);
  if (opts.resume && opts.force) throw new UsageError(`${flag}: --resume and --force exclude each other (continue the run, or replace it)`);
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(dir);
  } catch {
    st = null;
  }
  if (st && !st.isDirectory()) throw new UsageError(`${flag} ${dirIn}: is a file, not a folder; choose another ${flag}`);
  const present = st ? entries(dir) : [];
  const isRun = present.some((e) => RUN_MARKERS.includes(e) || (opts.ownEntries ?? []).includes(e));
  let resumed = false;
  let created: string | null = null; // the topmost folder this claim created
  let emptied = false; // existed empty: on rollback, empty it again
  let backup: string | null = null; // the replaced run, while the new one has not succeeded

  if (present.length > 0 && !isRun) {
    throw new UsageError(`${flag} ${dirIn}: the folder is not empty and holds no rq3d run; choose a new or empty folder`);
  }
  if (isRun) {
    const saved = withoutBackend(readSaved(path.join(dir, opts.configFile ?? 'config.json')), opts.sameConfig);
    const same = opts.sameConfig !== undefined && saved !== undefined && isDeepStrictEqual(saved, asJson(opts.sameConfig));
    const differs = opts.sameConfig !== undefined && saved !== undefined && !same;
    if (opts.force) {
      backup = `${dir}.replaced-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      fs.renameSync(dir, backup);
      fs.mkdirSync(dir);
    } else if ((opts.resume || opts.implicitResume) && !differs) {
      resumed = true;
    } else if (differs) {
      throw new UsageError(
        `${flag} ${dirIn}: the folder holds a run with another config (its config.json); run it with the same settings to continue it, add --force to replace it, or choose another ${flag}`,
      );
    } else {
      throw new UsageError(`${flag} ${dirIn}: the folder holds a run; add --resume to continue it, --force to replace it, or choose another ${flag}`);
    }
  } else {
    if (st) emptied = true;
    else {
      // remember the topmost missing ancestor: mkdir -p creates it, rollback removes it
      let top = dir;
      while (!fs.existsSync(path.dirname(top))) top = path.dirname(top);
      try {
        fs.mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new UsageError(
          `${flag} ${dirIn}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another ${flag}`,
        );
      }
      created = top;
    }
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${dirIn}: the folder is not writable; choose another ${flag}`);
  }

  const claim: RunFolderClaim = {
    dir,
    resumed,
    commit() {
      open.delete(claim);
      if (backup) fs.rmSync(backup, { recursive: true, force: true });
      backup = null;
    },
    rollback() {
      open.delete(claim);
      if (resumed) return;
      if (hasRunProgress(dir)) {
        // a run that made progress is kept (resumable with --resume); what it replaced is gone for good
        if (backup) fs.rmSync(backup, { recursive: true, force: true });
        return;
      }
      if (created) fs.rmSync(created, { recursive: true, force: true });
      else if (emptied || backup) for (const e of entries(dir)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
      if (backup) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(backup, dir);
      }
    },
  };
  open.add(claim);
  return claim;
}

/** Roll back every claim still open (the command failed). Synchronous: it also runs on a crash. */
export function rollbackRunFolders(): void {
  for (const c of [...open]) {
    try {
      c.rollback();
    } catch {
      // best effort: the error being reported matters more than the clean-up
    }
  }
}

/** Commit every claim still open (the command succeeded). */
export function commitRunFolders(): void {
  for (const c of [...open]) c.commit();
}
