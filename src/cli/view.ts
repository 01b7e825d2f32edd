import { spawn } from 'node:child_process';
import { accessSync, constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { ensureViewerBuilt } from '../view/build.ts';
import { startViewServer } from '../view/server.ts';
import { parseIntOption } from './options.ts';

interface ViewOptions {
  port: string;
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
    .description('open the three.js viewer on a shape file or a dataset folder (served on 127.0.0.1 only)')
    .argument('[path]', 'shape file or folder of shapes', '.')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '0')
    .option('--no-open', 'do not open a browser')
    .option('--checkpoint <dir>', 'segmentation model folder (model.json), or a results folder with models/**/model.json (rq3d fewshot / segment): per-point part predictions')
    .action(async (target: string, opts: ViewOptions) => {
      const port = parseIntOption(opts.port, '--port');
      if (port < 0 || port > 65535) throw new UserError(`--port must be in 0..65535, got ${port}`);
      await checkPath(target, 'shape path', false);
      if (opts.checkpoint) await checkPath(opts.checkpoint, 'checkpoint folder', true);
      const appDir = await ensureViewerBuilt((m) => process.stderr.write(`rq3d view: ${m}\n`));
      let server;
      try {
        server = await startViewServer({ target, appDir, checkpoint: opts.checkpoint ?? null, port });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(`port ${port} is already in use (try --port 0)`);
        throw e;
      }
      process.stdout.write(`rq3d view: serving ${path.resolve(target)} at ${server.url}\n`);
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
