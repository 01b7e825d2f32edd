/** The `rq3d view` server's endpoints (see src/viewer-server/server.ts). */
import type { CheckpointInfo } from './predict/provider.ts';

export interface ServerInfo {
  kind: 'file' | 'dir';
  name: string;
  file: string | null;
  checkpoint: CheckpointInfo | null;
}

export interface CatalogItem {
  path: string;
  category: string;
  split: string;
  labels: string | null;
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

async function get(url: string): Promise<Response> {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${(await r.text()).slice(0, 200)}`);
  return r;
}

export async function fetchInfo(): Promise<ServerInfo> {
  return (await (await get('api/info')).json()) as ServerInfo;
}

export async function fetchCatalog(): Promise<{ items: CatalogItem[]; truncated: boolean }> {
  return (await (await get('api/shapes')).json()) as { items: CatalogItem[]; truncated: boolean };
}

export async function fetchShapeBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await get(`files/${encodePath(path)}`)).arrayBuffer());
}

export async function fetchText(path: string): Promise<string> {
  return (await get(`files/${encodePath(path)}`)).text();
}

export async function fetchCheckpointFile(path: string): Promise<ArrayBuffer> {
  return (await get(`checkpoint/${encodePath(path)}`)).arrayBuffer();
}
