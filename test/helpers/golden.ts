import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = path.resolve(REPO_ROOT, '../shared');
export const GOLDEN_DIR = path.join(SHARED, 'reference/ocnn-golden');
export const MODELNET10 = path.join(SHARED, 'data/modelnet10');
export const hasGolden = fs.existsSync(GOLDEN_DIR);
export const hasModelNet10 = fs.existsSync(MODELNET10);

export interface GoldenField {
  shape: number[];
  dtype: string;
  data: number[];
}

export function loadGolden(name: string): Record<string, GoldenField> {
  return JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, name), 'utf8')) as Record<string, GoldenField>;
}

/** Split an ocnn int64 key (batch at bit 48) into spatial key and batch index. */
export function splitKey(k: number): { key: number; batch: number } {
  const batch = Math.floor(k / 2 ** 48);
  return { key: k - batch * 2 ** 48, batch };
}
