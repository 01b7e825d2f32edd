import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { listShapes, type CatalogItem } from './catalog.ts';
import { listCheckpointModels, type CheckpointModel } from './checkpoint-models.ts';
import { realRoot, resolveUnder } from './safe-path.ts';

/**
 * The `rq3d view` HTTP server. It listens on 127.0.0.1 unless told otherwise and exposes exactly three trees, each through
 * `resolveUnder` (no traversal, no symlinks out): the built app at `/`, the served shape file or folder at
 * `/files/`, and an optional checkpoint folder at `/checkpoint/`. JSON under `/api/` describes them.
 */
export interface ViewServerOptions {
  /** Shape file or folder to expose. */
  target: string;
  /** Folder holding the built viewer (index.html + assets). */
  appDir: string;
  checkpoint?: string | null;
  /** 0 picks a free port. */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /**
   * When the port is taken, try the next ones, up to this many more (default 0: fail with EADDRINUSE).
   * `rq3d view` without --port uses this, so its default port stays the same from run to run.
   */
  portFallback?: number;
}

export interface ViewInfo {
  kind: 'file' | 'dir';
  /** Display name of the served path. */
  name: string;
  /** For a single file: its name, the only path under /files/. */
  file: string | null;
  /** `models`: every model.json at or below the checkpoint folder (see ./checkpoint-models.ts). */
  checkpoint: { name: string; files: string[]; models: CheckpointModel[] } | null;
}

export interface ViewServer {
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The port `rq3d view` tries first; the next free one is taken when it is in use. */
export const DEFAULT_VIEW_PORT = 8173;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Whether a request's Host header may be served. DNS rebinding works by pointing an attacker's host NAME at
 * 127.0.0.1, so the browser's Host header then carries that name: refusing names other than `localhost`
 * (and the `--host` the server was started with) blocks it. IP literals (127.0.0.1, [::1], a LAN address)
 * cannot be rebound and are allowed, with any port, so the viewer works through a forwarded port
 * (`ssh -L 9000:127.0.0.1:8173` gives Host `localhost:9000`).
 */
export function isAllowedHost(header: string | undefined, bindHost = '127.0.0.1'): boolean {
  if (!header) return false;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return false;
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return false;
    return /^[0-9a-f:.]+$/.test(h.slice(1, end)); // an IPv6 literal
  }
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) return false;
  const name = m[1]!.replace(/\.$/, '');
  if (IPV4.test(name)) return true;
  if (name === 'localhost') return true;
  const bind = bindHost.toLowerCase().replace(/^\[|\]$/g, '');
  return name === bind;
}

async function listFiles(root: string, max = 2000): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (out.length >= max || e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(dir, e.name), r);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk(root, '');
  return out;
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, type: string): Promise<void> {
  const st = await fs.stat(file);
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': String(st.size),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const s = createReadStream(file);
    s.on('error', () => {
      res.destroy();
      resolve();
    });
    s.on('end', resolve);
    s.pipe(res);
  });
}

export async function startViewServer(opts: ViewServerOptions): Promise<ViewServer> {
  const target = await realRoot(opts.target);
  const app = await realRoot(opts.appDir);
  const ckpt = opts.checkpoint ? await realRoot(opts.checkpoint) : null;
  const info: ViewInfo = {
    kind: target.isFile ? 'file' : 'dir',
    name: path.basename(target.root),
    file: target.isFile ? path.basename(target.root) : null,
    checkpoint:
      ckpt && !ckpt.isFile ? { name: path.basename(ckpt.root), files: await listFiles(ckpt.root), models: await listCheckpointModels(ckpt.root) } : null,
  };
  let catalog: Promise<{ items: CatalogItem[]; truncated: boolean }> | null = null;
  const bindHost = opts.host ?? '127.0.0.1';

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    // Refuse other host names, so a web page cannot reach this server through DNS rebinding.
    if (!isAllowedHost(req.headers.host, bindHost)) {
      return send(
        res,
        403,
        `forbidden host ${JSON.stringify(req.headers.host ?? '')}: open the viewer as http://localhost:PORT/ or http://127.0.0.1:PORT/ (or start rq3d view with --host NAME)`,
      );
    }
    const raw = (req.url ?? '/').split(/[?#]/)[0]!;
    if (!raw.startsWith('/')) return send(res, 400, 'bad request');

    if (raw === '/api/info') return send(res, 200, JSON.stringify(info), 'application/json');
    if (raw === '/api/shapes') {
      if (target.isFile) {
        return send(res, 200, JSON.stringify({ items: [{ path: info.file, category: '', split: '', labels: null }], truncated: false }), 'application/json');
      }
      catalog ??= listShapes(target.root);
      return send(res, 200, JSON.stringify(await catalog), 'application/json');
    }
    let root = app.root;
    let rootIsFile = false;
    let rest = raw;
    let type: string | null = null;
    if (raw.startsWith('/files/')) {
      [root, rootIsFile, rest, type] = [target.root, target.isFile, raw.slice('/files/'.length), 'application/octet-stream'];
    } else if (raw.startsWith('/checkpoint/')) {
      if (!ckpt || ckpt.isFile) return send(res, 404, 'no checkpoint');
      [root, rest] = [ckpt.root, raw.slice('/checkpoint/'.length)];
    } else if (raw.startsWith('/api/')) {
      return send(res, 404, 'not found');
    } else if (raw === '/') {
      rest = '/index.html';
    }
    const r = await resolveUnder(root, rootIsFile, rest);
    if (!r.ok) return send(res, r.status, r.reason);
    await sendFile(req, res, r.file, type ?? TYPES[path.extname(r.file).toLowerCase()] ?? 'application/octet-stream');
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
      else res.destroy();
    });
  });
  const listen = (p: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        server.off('listening', onListening);
        reject(e);
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(p, bindHost);
    });
  const first = opts.port ?? 0;
  const tries = first === 0 ? 0 : Math.max(0, opts.portFallback ?? 0);
  for (let k = 0; ; k++) {
    try {
      await listen(first === 0 ? 0 : first + k);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || k >= tries || first + k >= 65535) throw e;
    }
  }
  const port = (server.address() as AddressInfo).port;
  // The printed address: the bound one, except that "listen everywhere" is opened locally.
  const shown = bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  return {
    url: `http://${shown}:${port}/`,
    port,
    host: bindHost,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
