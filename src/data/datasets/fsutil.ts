import { promises as fs } from 'node:fs';
import { fileError } from '../../util/errors.ts';

/** Names in a directory, sorted by code unit like Python's sorted(os.listdir()) (not locale order). */
export async function listDir(dir: string): Promise<{ name: string; isDir: boolean }[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    throw fileError(dir, 'cannot list the folder (does it exist?)');
  }
  return entries.map((e) => ({ name: e.name, isDir: e.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

export async function readTextFile(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    throw fileError(file, 'cannot read the file (does it exist?)');
  }
}

/** Non-empty trimmed lines. */
export async function readLines(file: string): Promise<string[]> {
  return (await readTextFile(file))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

export function codeUnitCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
