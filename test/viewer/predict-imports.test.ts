import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Issue 12: the viewer builds its predictors through the backbone registry and the heads module
 * (src/models/backbones.ts, src/downstream/heads.ts), which read no files, so the browser bundle needs no
 * Node module for them (they used to reach node:fs through the checkpoint loader, src/downstream/pretrained.ts -> src/train/checkpoint.ts);
 * and the library never imports from viewer/. Relative value imports are followed (`import type` is erased).
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every .ts file reachable from `entries` by relative value imports, with the non-relative specifiers each imports. */
function graph(entries: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const visit = (f: string): void => {
    if (out.has(f)) return;
    const bare: string[] = [];
    out.set(f, bare);
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/^(?:import|export)(?!\s+type\b)[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (!spec.startsWith('.')) bare.push(spec);
      else {
        const g = path.resolve(path.dirname(f), spec);
        if (g.endsWith('.ts') && fs.existsSync(g)) visit(g);
      }
    }
  };
  for (const e of entries) visit(path.join(ROOT, e));
  return out;
}

describe('import boundaries of the viewer and the library', () => {
  it("the viewer's segmentation and feature loaders reach no Node module", () => {
    const g = graph(['viewer/src/predict/segment-model.ts', 'viewer/src/predict/feature-model.ts']);
    const rel = (f: string): string => path.relative(ROOT, f);
    expect([...g.keys()].map(rel)).toEqual(expect.arrayContaining(['src/models/backbones.ts', 'src/models/mid-hrnet.ts', 'src/downstream/heads.ts']));
    const node = [...g].flatMap(([f, specs]) => specs.filter((s) => s.startsWith('node:')).map((s) => `${rel(f)}: ${s}`));
    expect(node).toEqual([]);
  });

  it('no module of the library imports from viewer/', () => {
    const files = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
    const bad = ['src', 'octree']
      .flatMap((d) => files(path.join(ROOT, d)))
      .filter((f) => {
        for (const m of fs.readFileSync(f, 'utf8').matchAll(/^(?:import|export)[^'"]*?from\s+'(\.[^']+)'/gm)) {
          if (path.relative(ROOT, path.resolve(path.dirname(f), m[1]!)).startsWith(`viewer${path.sep}`)) return true;
        }
        return false;
      });
    expect(bad.map((f) => path.relative(ROOT, f))).toEqual([]);
  });
});
