import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.ts';

/**
 * The viewer is built with Vite on first use into a cache folder named by a hash of its sources (the app and
 * every library folder it imports), so a changed source gives a fresh build and an unchanged one is reused.
 * Builds go to a temporary folder that is renamed into place, so two `rq3d view` started at once cannot see a
 * half-written app.
 */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const VIEWER_DIR = path.join(REPO_ROOT, 'viewer');
// Every library folder the app imports (the predictions bring in the models and src/train/checkpoint.ts).
const SOURCE_DIRS = ['viewer', 'src/data', 'src/augment', 'src/util', 'src/ssl', 'src/models', 'src/downstream', 'src/train', 'src/pipeline', 'octree'];
const SOURCE_EXT = new Set(['.ts', '.js', '.html', '.css', '.json']);

export function viewerCacheDir(): string {
  return process.env.RQ3D_VIEWER_CACHE ?? path.join(REPO_ROOT, 'node_modules', '.cache', 'rq3d-viewer');
}

export async function viewerSourceHash(): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'dist' && e.name !== 'node_modules' && !e.name.startsWith('.')) await walk(full);
      } else if (e.isFile() && SOURCE_EXT.has(path.extname(e.name))) {
        h.update(path.relative(REPO_ROOT, full))
          .update('\0')
          .update(await fs.readFile(full))
          .update('\0');
      }
    }
  };
  for (const d of SOURCE_DIRS) await walk(path.join(REPO_ROOT, d));
  for (const pkg of ['three', 'vite']) {
    const pj = await fs.readFile(path.join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8').catch(() => '');
    h.update(pkg).update((JSON.parse(pj || '{}') as { version?: string }).version ?? '?');
  }
  return h.digest('hex').slice(0, 16);
}

/** The folder of a built viewer for the current sources, building it if needed. */
export async function ensureViewerBuilt(log: (msg: string) => void = () => {}): Promise<string> {
  const cache = viewerCacheDir();
  const out = path.join(cache, await viewerSourceHash());
  try {
    await fs.access(path.join(out, 'index.html'));
    return out;
  } catch {
    // not built yet
  }
  await fs.mkdir(cache, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
  log('building the viewer (first use after a change; takes a few seconds)...');
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    throw new UserError('rq3d view needs the "vite" package to build the viewer: run npm install in the rq3d folder');
  }
  await vite.build({
    configFile: path.join(VIEWER_DIR, 'vite.config.ts'),
    root: VIEWER_DIR,
    logLevel: 'warn',
    build: { outDir: tmp, emptyOutDir: true },
  });
  try {
    await fs.rename(tmp, out);
  } catch {
    // Another process finished the same build first; its copy is identical.
    await fs.rm(tmp, { recursive: true, force: true });
  }
  await pruneOldBuilds(cache, path.basename(out));
  return out;
}

/** Keep the current build and the newest other one (a second checkout may still use it). */
async function pruneOldBuilds(cache: string, keep: string): Promise<void> {
  const entries = await fs.readdir(cache, { withFileTypes: true }).catch(() => []);
  // Half-written builds of a process that was killed mid-build are removed once they are an hour old.
  for (const e of entries.filter((x) => x.isDirectory() && x.name.includes('.tmp-'))) {
    const st = await fs.stat(path.join(cache, e.name)).catch(() => null);
    if (st && Date.now() - st.mtimeMs > 3_600_000) await fs.rm(path.join(cache, e.name), { recursive: true, force: true });
  }
  const dirs = await Promise.all(
    entries
      .filter((e) => e.isDirectory() && e.name !== keep && !e.name.includes('.tmp-'))
      .map(async (e) => ({ name: e.name, mtime: (await fs.stat(path.join(cache, e.name))).mtimeMs })),
  );
  dirs.sort((a, b) => b.mtime - a.mtime);
  for (const d of dirs.slice(1)) await fs.rm(path.join(cache, d.name), { recursive: true, force: true });
}
