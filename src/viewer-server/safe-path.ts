import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Map a request path onto a file inside one exposed root, or refuse. The raw path is split on `/` BEFORE
 * percent-decoding so that `%2f` cannot smuggle a separator, and every decoded segment is checked on its own,
 * so `..`, `%2e%2e`, `.`, backslashes and NUL never reach the file system. The result's real path (symlinks
 * resolved) must still be the root or lie under it: a symlink pointing out of the root is refused too.
 */
export type Resolved = { ok: true; file: string } | { ok: false; status: 403 | 404; reason: string };

export function splitRequestPath(raw: string): string[] | null {
  const segs: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(part);
    } catch {
      return null;
    }
    if (seg === '.' || seg === '..' || /[\\/\0]/.test(seg)) return null;
    segs.push(seg);
  }
  return segs;
}

export function isInside(root: string, candidate: string): boolean {
  if (candidate === root) return true;
  const rel = path.relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * `root` must already be a real path (see `realRoot`). When the root is a single file, the only path that
 * resolves is that file's own name.
 */
export async function resolveUnder(root: string, rootIsFile: boolean, rawPath: string): Promise<Resolved> {
  const segs = splitRequestPath(rawPath);
  if (!segs) return { ok: false, status: 403, reason: 'forbidden path' };
  let candidate: string;
  if (rootIsFile) {
    if (segs.length !== 1 || segs[0] !== path.basename(root)) return { ok: false, status: 404, reason: 'not found' };
    candidate = root;
  } else {
    candidate = path.join(root, ...segs);
  }
  let real: string;
  try {
    real = await fs.realpath(candidate);
  } catch {
    return { ok: false, status: 404, reason: 'not found' };
  }
  if (!isInside(root, real)) return { ok: false, status: 403, reason: 'outside the served folder' };
  try {
    const st = await fs.stat(real);
    if (!st.isFile()) return { ok: false, status: 404, reason: 'not a file' };
  } catch {
    return { ok: false, status: 404, reason: 'not found' };
  }
  return { ok: true, file: real };
}

export async function realRoot(p: string): Promise<{ root: string; isFile: boolean }> {
  const root = await fs.realpath(p);
  const st = await fs.stat(root);
  return { root, isFile: st.isFile() };
}
