import { spawn } from 'node:child_process';
import { accessSync, constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { UsageError, UserError } from '../util/errors.ts';
import { ensureViewerBuilt } from '../viewer-server/build.ts';
import { DEFAULT_VIEW_PORT, startViewServer } from '../viewer-server/server.ts';
import { parseIntOption } from './options.ts';

interface ViewOptions {
  port?: string;
  host: string;
  open: boolean;
  checkpoint?: string;
}

function findOnPath(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this folder
    }
  }
  return null;
}

/** Best effort: a missing or failing opener must never stop the server. */
function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? null : 'xdg-open';
  const exe = opener ? findOnPath(opener) : null;
  if (!exe) return;
  try {
    const child = spawn(exe, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // ignore: the URL is printed anyway
  }
}

async function checkPath(p: string, what: string, wantDir: boolean): Promise<void> {
  let st;
  try {
    st = await fs.stat(p);
  } catch {
    throw new UserError(`${what} ${p} does not exist`);
  }
  if (wantDir && !st.isDirectory()) throw new UserError(`${what} ${p} is not a folder`);
  if (!st.isDirectory() && !st.isFile()) throw new UserError(`${what} ${p} is neither a file nor a folder`);
}

export function registerView(program: Command): void {
  program
    .command('view')
    .description('open the three.js viewer on a shape file or a dataset folder (served on 127.0.0.1 unless --host)')
    .argument('[path]', 'shape file or folder of shapes', '.')
    .option('--port <n>', `port to listen on (default ${DEFAULT_VIEW_PORT}, or the next free one; 0 picks any free one)`)
    .option('--host <addr>', 'address to listen on (0.0.0.0: every interface; the files are then readable from the network)', '127.0.0.1')
    .option('--no-open', 'do not open a browser')
    .option(
      '--checkpoint <dir>',
      'a checkpoint folder (model.json) or a folder holding some (rq3d pretrain RUN, rq3d fewshot / segment results): colours by the PCA of its point features, and per-point part predictions from segmentation models',
    )
    .action(async (target: string, opts: ViewOptions) => {
      const port = opts.port === undefined ? DEFAULT_VIEW_PORT : parseIntOption(opts.port, '--port');
      if (port < 0 || port > 65535) throw new UsageError(`--port must be in 0..65535, got ${port}`);
      if (!/^[A-Za-z0-9.:[\]-]+$/.test(opts.host)) throw new UsageError(`--host must be an address or host name, got '${opts.host}'`);
      await checkPath(target, 'shape path', false);
      if (opts.checkpoint) await checkPath(opts.checkpoint, 'checkpoint folder', true);
      const appDir = await ensureViewerBuilt((m) => process.stderr.write(`rq3d view: ${m}\n`));
      let server;
      try {
        // The default port falls back to the next free one (up to 20 more); a port asked for is that port or an error.
        server = await startViewServer({
          target,
          appDir,
          checkpoint: opts.checkpoint ?? null,
          port,
          host: opts.host,
          portFallback: opts.port === undefined ? 20 : 0,
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE')
          throw new UserError(
            opts.port === undefined
              ? `ports ${port}..${port + 20} are all in use (try --port 0)`
              : `port ${port} is already in use (try --port 0, or leave --port out)`,
          );
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
          throw new UserError(`--host ${opts.host}: no such address on this machine`);
        if (code === 'EACCES') throw new UserError(`port ${port}: permission denied (use a port above 1023)`);
        throw e;
      }
      const moved = opts.port === undefined && server.port !== port ? ` (port ${port} was in use)` : '';
      process.stdout.write(`rq3d view: serving ${path.resolve(target)} at ${server.url}${moved}\n`);
      if (opts.host !== '127.0.0.1' && opts.host !== 'localhost' && opts.host !== '::1') {
        process.stderr.write(`rq3d view: listening on ${opts.host}: anyone who can reach this address can read the served files\n`);
      }
      if (opts.open) openBrowser(server.url);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
