/**
 * What the chromium viewer tests share: `rq3d view ... --no-open --port 0` as a child process, a headless
 * chromium (playwright-core, WebGL through SwiftShader) with a page that records uncaught errors, reading
 * the canvas back, and the teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const REPO = path.resolve(import.meta.dirname, '../..');

/** Debian's chromium; undefined where none is installed (the tests then skip). */
export const CHROMIUM: string | undefined = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-gpu-sandbox',
  '--disable-sync',
  '--disable-quic',
];

export interface Viewer {
  server: ChildProcess;
  /** `http://127.0.0.1:<port>/` as the server printed it. */
  url: string;
}

/** Run `rq3d view <args> --no-open --port 0` and wait for the URL it prints; rejects with its stderr if it exits first. */
export async function startViewer(args: string[]): Promise<Viewer> {
  const server = spawn(process.execPath, [path.join(REPO, 'bin/rq3d.js'), 'view', ...args, '--no-open', '--port', '0'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.on('exit', (code) => reject(new Error(`rq3d view exited (${code}): ${stderr}`)));
  });
  return { server, url };
}

export interface BrowserPage {
  browser: Browser;
  page: Page;
  /** Messages of the page's uncaught errors, in order. */
  pageErrors: string[];
}

/** Launch headless chromium and open one page of the given viewport size that collects its uncaught errors. */
export async function openPage(viewport: { width: number; height: number }): Promise<BrowserPage> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  try {
    const page = await browser.newPage({ viewport });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return { browser, page, pageErrors };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/** Close the browser, stop the server (SIGTERM, then wait for it to exit) and remove the temp dir; each part may be missing. */
export async function stopViewer(parts: { browser?: Browser | undefined; server?: ChildProcess | undefined; tmp?: string | undefined }): Promise<void> {
  await parts.browser?.close();
  const { server } = parts;
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (parts.tmp) rmSync(parts.tmp, { recursive: true, force: true });
}

/** Wait until the viewer has settled (nothing loading, scheduled or predicting), then for one more drawn frame. */
export async function settled(page: Page, timeoutMs = 20_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const v = window.rq3dViewer;
      return !!v && v.stats() !== null && !v.busy();
    },
    null,
    { timeout: timeoutMs },
  );
  const n = await page.evaluate(() => window.rq3dViewer!.renders());
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.waitForFunction((k) => window.rq3dViewer!.renders() >= k, n, { timeout: 5_000 });
}

export interface CanvasRegion {
  /** Pixels that differ from the background (the top-left pixel's colour) by more than 30 summed over RGB. */
  count: number;
  /** Sum of channel values per tile of a 16x16 grid over the region: tells whether its drawing changed. */
  sig: number[];
}

/**
 * Read the WebGL canvas back in the page (a 2D copy of its drawing buffer, which is preserved), split into
 * `splits` side-by-side regions of equal width (the last one takes an odd column).
 */
export async function canvasRegions(page: Page, splits: number): Promise<CanvasRegion[]> {
  return page.evaluate((parts) => {
    const src = document.querySelector('#canvas-host canvas') as HTMLCanvasElement;
    const c = document.createElement('canvas');
    c.width = src.width;
    c.height = src.height;
    const g = c.getContext('2d')!;
    g.drawImage(src, 0, 0);
    const { data, width, height } = g.getImageData(0, 0, c.width, c.height);
    const bg = [data[0]!, data[1]!, data[2]!];
    const partWidth = Math.floor(width / parts);
    const tiles = 16;
    const out = Array.from({ length: parts }, () => ({ count: 0, sig: new Array<number>(tiles * tiles).fill(0) }));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = 4 * (y * width + x);
        const k = Math.min(parts - 1, Math.floor(x / partWidth));
        const r = out[k]!;
        const local = x - k * partWidth;
        const ty = Math.min(tiles - 1, Math.floor((y * tiles) / height));
        const tx = Math.min(tiles - 1, Math.floor((local * tiles) / partWidth));
        r.sig[ty * tiles + tx]! += data[i]! + data[i + 1]! + data[i + 2]!;
        if (Math.abs(data[i]! - bg[0]!) + Math.abs(data[i + 1]! - bg[1]!) + Math.abs(data[i + 2]! - bg[2]!) > 30) r.count++;
      }
    }
    return out;
  }, splits);
}
