import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { listShapes, type CatalogItem } from './catalog.ts';
import { listCheckpointModels, type CheckpointModel } from './models.ts';
import { realRoot, resolveUnder } from './safe-path.ts';

/**
 * The `rq3d view` HTTP server. It listens on 127.0.0.1 only and exposes exactly three trees, each through
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
}

export interface ViewInfo {
  kind: 'file' | 'dir';
  /** Display name of the served path. */
  name: string;
  /** For a single file: its name, the only path under /files/. */
  file: string | null;
  /** `models`: every model.json at or below the checkpoint folder (see ./models.ts). */
  checkpoint: { name: string; files: string[]; models: CheckpointModel[] } | null;
}

export interface ViewServer {
  url: string;
  port: number;
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
    checkpoint: ckpt && !ckpt.isFile
      ? { name: path.basename(ckpt.root), files: await listFiles(ckpt.root), models: await listCheckpointModels(ckpt.root) }
      : null,
  };
  let catalog: Promise<{ items: CatalogItem[]; truncated: boolean }> | null = null;
  let port = 0;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    // Refuse other host names, so a web page cannot reach this server through DNS rebinding.
    const host = (req.headers.host ?? '').toLowerCase();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(res, 403, 'forbidden host');
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
