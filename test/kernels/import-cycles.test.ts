import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Issue 12: no import cycles in the octree engine (kernels/wasm/index.ts <-> split.ts was one). Relative
// imports only (`import ... from './x.ts'`, `export ... from`), type-only imports included.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function importsOf(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/^(?:import|export)[^'"]*?from\s+'(\.[^']+)'/gm)) out.push(path.resolve(path.dirname(file), m[1]!));
  return out.filter((f) => f.endsWith('.ts') && fs.existsSync(f));
}

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** One cycle (as a list of files) reachable from `files`, or null. */
function findCycle(files: string[]): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | null => {
    if (state.get(f) === 'done') return null;
    if (state.get(f) === 'open') return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, 'open');
    stack.push(f);
    for (const g of importsOf(f)) {
      const c = visit(g);
      if (c) return c;
    }
    stack.pop();
    state.set(f, 'done');
    return null;
  };
  for (const f of files) {
    const c = visit(f);
    if (c) return c;
  }
  return null;
}

describe('import graph', () => {
  it('octree/ has no import cycle', () => {
    const cycle = findCycle(tsFiles(path.join(ROOT, 'octree')));
    expect(cycle?.map((f) => path.relative(ROOT, f)) ?? null).toBeNull();
  });

  it('finds a cycle when there is one (the check itself works)', () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'rq3d-cycle-'));
    fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b.ts';\nexport const a = b;\n");
    fs.writeFileSync(path.join(dir, 'b.ts'), "import type { a } from './a.ts';\nexport const b = 1;\n");
    expect(findCycle([path.join(dir, 'a.ts')])?.map((f) => path.basename(f))).toEqual(['a.ts', 'b.ts', 'a.ts']);
  });
});
