import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listShapes } from '../../src/viewer-server/catalog.ts';
import { splitRequestPath } from '../../src/viewer-server/safe-path.ts';
import * as net from 'node:net';
import { DEFAULT_VIEW_PORT, isAllowedHost, startViewServer, type ViewServer } from '../../src/viewer-server/server.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/data');

/** A raw GET: the path goes on the wire exactly as written (fetch/URL would normalize `..` away). */
function rawGet(port: number, rawPath: string, opts: { host?: string; method?: string } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: rawPath, method: opts.method ?? 'GET', headers: { host: opts.host ?? `127.0.0.1:${port}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let tmp: string;
let root: string;
let server: ViewServer;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rq3d-view-'));
  root = path.join(tmp, 'data');
  const app = path.join(tmp, 'app');
  mkdirSync(path.join(app, 'assets'), { recursive: true });
  writeFileSync(path.join(app, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(path.join(app, 'assets', 'main.js'), 'console.log(1)');
  writeFileSync(path.join(tmp, 'secret.txt'), 'top secret');
  // ModelNet10-like and synth-like layouts, a ShapeNet Part v0 folder, and files that are not shapes.
  for (const [rel, src] of [
    ['chair/train/chair_0001.pcd', 'cloud.pcd'],
    ['chair/test/chair_0002.ply', 'cloud-labels.ply'],
    ['table/train/table_0001.off', 'cube.off'],
    ['02691156/points/abc.pts', 'points.xyz'],
  ] as const) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), readFileSync(path.join(FIXTURES, src)));
  }
  mkdirSync(path.join(root, '02691156', 'points_label'), { recursive: true });
  writeFileSync(path.join(root, '02691156', 'points_label', 'abc.seg'), '1\n2\n');
  mkdirSync(path.join(root, 'train_test_split'), { recursive: true });
  writeFileSync(path.join(root, 'train_test_split', 'shuffled_val_file_list.json'), JSON.stringify(['shape_data/02691156/abc']));
  writeFileSync(path.join(root, 'synsetoffset2category.txt'), 'Airplane\t02691156\n');
  writeFileSync(path.join(root, 'classes.txt'), 'chair\ntable\n');
  writeFileSync(path.join(root, 'notes.md'), 'hello');
  // Links: one inside (allowed), one file and one folder pointing out (refused).
  symlinkSync(path.join(root, 'chair', 'train', 'chair_0001.pcd'), path.join(root, 'inside-link.pcd'));
  symlinkSync(path.join(tmp, 'secret.txt'), path.join(root, 'out-link.txt'));
  symlinkSync(tmp, path.join(root, 'out-dir'));
  mkdirSync(path.join(tmp, 'run'), { recursive: true });
  writeFileSync(path.join(tmp, 'run', 'model.json'), '{"ok":true}');
  server = await startViewServer({ target: root, appDir: app, checkpoint: path.join(tmp, 'run'), port: 0 });
});

afterAll(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('request path splitting', () => {
  it('refuses dot segments, encoded or not, and encoded separators', () => {
    expect(splitRequestPath('a/b/c.ply')).toEqual(['a', 'b', 'c.ply']);
    expect(splitRequestPath('a%20b/c%23.ply')).toEqual(['a b', 'c#.ply']);
    for (const bad of ['../x', 'a/../../x', '%2e%2e/x', '%2E%2E/x', 'a/%2e%2e%2fx', '%2fetc%2fpasswd', 'a%5c..%5cx', '.', 'a/%00', '%zz']) {
      expect(splitRequestPath(bad), bad).toBeNull();
    }
  });
});

describe('rq3d view server', () => {
  it('serves the app, the info and the files under the root', async () => {
    const index = await rawGet(server.port, '/');
    expect(index.status).toBe(200);
    expect(index.body.toString()).toContain('<title>app</title>');
    expect((await rawGet(server.port, '/assets/main.js')).status).toBe(200);
    const info = JSON.parse((await rawGet(server.port, '/api/info')).body.toString());
    expect(info).toMatchObject({ kind: 'dir', name: 'data', file: null, checkpoint: { name: 'run', files: ['model.json'] } });
    const f = await rawGet(server.port, '/files/chair/test/chair_0002.ply');
    expect(f.status).toBe(200);
    expect(f.body.equals(readFileSync(path.join(FIXTURES, 'cloud-labels.ply')))).toBe(true);
    expect((await rawGet(server.port, '/files/inside-link.pcd')).status).toBe(200);
    expect((await rawGet(server.port, '/checkpoint/model.json')).body.toString()).toBe('{"ok":true}');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('refuses traversal: .., encoded .., absolute paths, symlinks out', async () => {
    const attempts = [
      '/files/../secret.txt',
      '/files/chair/../../secret.txt',
      '/files/%2e%2e/secret.txt',
      '/files/%2E%2E/secret.txt',
      '/files/%2e%2e%2fsecret.txt',
      '/files/..%2fsecret.txt',
      '/files/%2f' + encodeURIComponent(path.join(tmp, 'secret.txt').slice(1)),
      '/files/' + encodeURIComponent(path.join(tmp, 'secret.txt')),
      '/files//' + path.join(tmp, 'secret.txt').slice(1),
      '/files/out-link.txt',
      '/files/out-dir/secret.txt',
      '/files/..\\secret.txt',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/checkpoint/../secret.txt',
      '/checkpoint/%2e%2e/secret.txt',
    ];
    for (const p of attempts) {
      const r = await rawGet(server.port, p);
      expect([403, 404], p).toContain(r.status);
      expect(r.body.toString(), p).not.toContain('top secret');
    }
    expect((await rawGet(server.port, '/files/out-link.txt')).status).toBe(403);
    expect((await rawGet(server.port, '/files/%2e%2e/secret.txt')).status).toBe(403);
  });

  it('refuses foreign Host headers and non-GET methods', async () => {
    expect((await rawGet(server.port, '/api/info', { host: 'evil.example:80' })).status).toBe(403);
    expect((await rawGet(server.port, '/api/info', { method: 'POST' })).status).toBe(405);
    expect((await rawGet(server.port, '/api/info', { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('serves through a forwarded port (any port on localhost or an IP literal), refuses other names', async () => {
    for (const host of ['localhost:9000', 'LOCALHOST:9000', '127.0.0.1:4444', '127.0.0.1', '[::1]:9000', '192.168.1.20:8173', 'localhost.:9000']) {
      expect((await rawGet(server.port, '/api/info', { host })).status, host).toBe(200);
    }
    // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends Host evil.example[:port].
    for (const host of ['evil.example', `evil.example:${server.port}`, 'localhost.evil.example:9000', '127.0.0.1.nip.io:9000', 'localhost:9000:1', '[::1']) {
      const r = await rawGet(server.port, '/api/info', { host });
      expect(r.status, host).toBe(403);
      expect(r.body.toString()).toMatch(/forbidden host/);
    }
  });

  it('lists shapes with class and split read off the layout', async () => {
    const { items } = JSON.parse((await rawGet(server.port, '/api/shapes')).body.toString()) as Awaited<ReturnType<typeof listShapes>>;
    const byPath = Object.fromEntries(items.map((it) => [it.path, it]));
    expect(Object.keys(byPath).sort()).toEqual([
      '02691156/points/abc.pts',
      'chair/test/chair_0002.ply',
      'chair/train/chair_0001.pcd',
      'inside-link.pcd',
      'table/train/table_0001.off',
    ]);
    expect(byPath['chair/train/chair_0001.pcd']).toMatchObject({ category: 'chair', split: 'train', labels: null });
    expect(byPath['chair/test/chair_0002.ply']).toMatchObject({ category: 'chair', split: 'test' });
    expect(byPath['02691156/points/abc.pts']).toMatchObject({ category: 'Airplane', split: 'val', labels: '02691156/points_label/abc.seg' });
  });
});

describe('shape catalog names', () => {
  it('names ShapeNet synset folders by category without synsetoffset2category.txt, and lists them so', async () => {
    const dir = path.join(tmp, 'shapenet-bare');
    for (const rel of ['03001627/points/c1.pts', '02691156/a1.txt']) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), readFileSync(path.join(FIXTURES, 'points.xyz')));
    }
    const { items } = await listShapes(dir);
    expect(items.map((it) => [it.path, it.category])).toEqual([
      ['02691156/a1.txt', 'Airplane'],
      ['03001627/points/c1.pts', 'Chair'],
    ]);
    const { itemLabel } = await import('../../viewer/src/dataset-browser.ts');
    expect(items.map(itemLabel)).toEqual(['Airplane · a1.txt', 'Chair · points/c1.pts']);
    expect(itemLabel({ path: 'chair/train/chair_0001.pcd', category: 'chair', split: 'train', labels: null })).toBe('chair/train/chair_0001.pcd');
  });
});

describe('allowed Host headers', () => {
  it('takes localhost and IP literals with any port, and the --host name; no other names', () => {
    expect(isAllowedHost('localhost:9000')).toBe(true);
    expect(isAllowedHost('127.0.0.1:1')).toBe(true);
    expect(isAllowedHost('[::1]:8173')).toBe(true);
    expect(isAllowedHost('workstation.lan:8173')).toBe(false);
    expect(isAllowedHost('workstation.lan:8173', 'workstation.lan')).toBe(true);
    expect(isAllowedHost('WORKSTATION.lan', 'workstation.lan')).toBe(true);
    expect(isAllowedHost('other.lan:8173', 'workstation.lan')).toBe(false);
    expect(isAllowedHost(undefined)).toBe(false);
    expect(isAllowedHost('a b:80')).toBe(false);
  });
});

describe('rq3d view server ports and hosts', () => {
  it('has a fixed default port, and falls back to the next free one when asked', async () => {
    expect(DEFAULT_VIEW_PORT).toBe(8173);
    const app = path.join(tmp, 'app');
    // Hold a port, then ask for it: without fallback an error, with fallback a later port.
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startViewServer({ target: root, appDir: app, port: taken })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      const s = await startViewServer({ target: root, appDir: app, port: taken, portFallback: 10 });
      try {
        expect(s.port).toBeGreaterThan(taken);
        expect(s.port).toBeLessThanOrEqual(taken + 10);
        expect(s.url).toBe(`http://127.0.0.1:${s.port}/`);
        expect((await rawGet(s.port, '/api/info')).status).toBe(200);
      } finally {
        await s.close();
      }
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('listens on the --host address and takes that name in Host', async () => {
    const s = await startViewServer({ target: root, appDir: app(), port: 0, host: 'localhost' });
    try {
      expect(s.host).toBe('localhost');
      expect(s.url).toBe(`http://localhost:${s.port}/`);
      const get = (host: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = http.request({ host: 'localhost', port: s.port, path: '/api/info', headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await get(`localhost:${s.port}`)).toBe(200);
      expect(await get('evil.example')).toBe(403);
    } finally {
      await s.close();
    }
  });
});

const app = (): string => path.join(tmp, 'app');

describe('rq3d view server on a single file', () => {
  it('exposes that file only', async () => {
    const app = path.join(tmp, 'app');
    const one = await startViewServer({ target: path.join(root, 'chair', 'test', 'chair_0002.ply'), appDir: app, port: 0 });
    try {
      const info = JSON.parse((await rawGet(one.port, '/api/info')).body.toString());
      expect(info).toMatchObject({ kind: 'file', file: 'chair_0002.ply', checkpoint: null });
      expect((await rawGet(one.port, '/files/chair_0002.ply')).status).toBe(200);
      expect((await rawGet(one.port, '/files/chair_0001.pcd')).status).toBe(404);
      expect((await rawGet(one.port, '/files/../train/chair_0001.pcd')).status).toBe(403);
      expect((await rawGet(one.port, '/checkpoint/model.json')).status).toBe(404);
    } finally {
      await one.close();
    }
  });
});

describe('rq3d view command line', () => {
  it('names a missing path or a bad port and exits 1 before building anything', () => {
    const bin = path.resolve(import.meta.dirname, '../../bin/rq3d.js');
    const missing = spawnSync(process.execPath, [bin, 'view', path.join(tmp, 'nope'), '--no-open'], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope does not exist/);
    const port = spawnSync(process.execPath, [bin, 'view', root, '--no-open', '--port', '70000'], { encoding: 'utf8' });
    expect(port.status).toBe(2); // a bad flag is a usage error: exit 2 (issue 16)
    expect(port.stderr).toMatch(/--port must be in 0\.\.65535/);
  });
});
