import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cellFile, type CellResult } from '../../src/downstream/cells.ts';
import { confusionSvg } from '../../src/downstream/confusion.ts';
import { FewshotConfigSchema, DEFAULT_HYPER } from '../../src/downstream/fewshot-config.ts';
import { confusionMatrix, perClassAccuracy, sumConfusions } from '../../src/downstream/metrics.ts';
import { writeFewshotReport } from '../../src/downstream/report.ts';

/** Issue 16, item 6: per-class accuracy and a confusion matrix (table + SVG), per-category IoU, in the report. */
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-report-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function writeCells(out: string, cells: CellResult[]): void {
  for (const c of cells) {
    const f = cellFile(out, c);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, JSON.stringify(c));
  }
}

describe('confusion matrix and per-class accuracy', () => {
  it('counts m[truth][pred] and reads per-class accuracy off its rows', () => {
    const m = confusionMatrix([0, 1, 1, 2, 0], [0, 1, 2, 2, 1], 3);
    expect(m).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [0, 1, 1],
    ]);
    expect(perClassAccuracy(m)).toEqual([1, 0.5, 0.5]);
    expect(
      perClassAccuracy([
        [0, 0],
        [1, 1],
      ]),
    ).toEqual([null, 0.5]);
    expect(sumConfusions([m, m])[2]).toEqual([0, 2, 2]);
    const svg = confusionSvg(m, ['a<b', 'c', 'd'], 'title & co');
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('title &amp; co');
    expect((svg.match(/<rect x=/g) ?? []).length).toBe(9);
  });
});

describe('few-shot report', () => {
  it('classification: per-class table, confusion table and SVG per backbone, in summary.json too', async () => {
    const out = path.join(root, 'cls');
    const cfg = FewshotConfigSchema.parse({
      name: 'g',
      task: 'classification',
      data: { source: 'synth' },
      model: 'tiny',
      backbones: { a: { from: 'scratch' } },
      protocols: ['linear'],
      ratios: [0.5, 1],
      seeds: [0, 1],
      linear: DEFAULT_HYPER.linear,
    });
    const classes = ['chair', 'mug'];
    const base = { protocol: 'linear', backbone: 'a', trainShapes: 1, steps: 1, seconds: 0, macc: 0, classes };
    writeCells(out, [
      {
        ...base,
        ratio: 0.5,
        seed: 0,
        oa: 0.5,
        confusion: [
          [1, 1],
          [1, 1],
        ],
      },
      {
        ...base,
        ratio: 1,
        seed: 0,
        oa: 0.75,
        confusion: [
          [2, 0],
          [1, 1],
        ],
      },
      {
        ...base,
        ratio: 1,
        seed: 1,
        oa: 1,
        confusion: [
          [2, 0],
          [0, 2],
        ],
      },
    ]);
    await writeFewshotReport(cfg, out);
    const md = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(md).toContain('### linear: per-class accuracy (%)');
    // 50 % ran for one of the two seeds run: its value says so instead of passing for a mean
    expect(md).toContain('| a (end to end from random init) | 50.0 (1 seed) | 87.5 ± 17.7 |');
    expect(md).toContain('| a | 50 % | 50.0 | 50.0 |');
    expect(md).toContain('| a | 100 % | 100.0 | 75.0 |');
    expect(md).toMatch(/confusion matrix of a at 100 % labels \(test shapes, summed over 2 seeds/);
    expect(md).toContain('| chair | 4 | 0 | 100.0 % |');
    expect(md).toContain('| mug | 1 | 3 | 75.0 % |');
    expect(fs.readFileSync(path.join(out, 'confusion-linear-a.svg'), 'utf8')).toMatch(/^<svg /);
    const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(s.confusion.linear.a.matrix).toEqual([
      [4, 0],
      [1, 3],
    ]);
    expect(s.perClass.linear.accuracy.a['1.00']).toEqual([1, 0.75]);
  });

  it('segmentation: per-category IoU table and summary', async () => {
    const out = path.join(root, 'seg');
    const cfg = FewshotConfigSchema.parse({
      name: 's',
      task: 'segmentation',
      data: { source: 'synth' },
      model: 'tiny',
      backbones: { a: { from: 'scratch' } },
      protocols: ['2fc'],
      ratios: [1],
      seeds: [0, 1],
      segment: DEFAULT_HYPER.segment,
    });
    const base = {
      protocol: '2fc',
      backbone: 'a',
      ratio: 1,
      trainShapes: 1,
      steps: 1,
      seconds: 0,
      cmiou: 0.5,
      imiou: 0.5,
      cmiouPointNet: 0.5,
      imiouPointNet: 0.5,
    };
    writeCells(out, [
      { ...base, seed: 0, perCategory: { mug: 0.8, chair: 0.4 } },
      { ...base, seed: 1, perCategory: { mug: 0.6, chair: 0.2 } },
    ]);
    await writeFewshotReport(cfg, out);
    const md = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(md).toContain('### 2fc: per-category IoU (%)');
    expect(md).toContain('| backbone | ratio | chair | mug |');
    expect(md).toContain('| a | 100 % | 30.0 | 70.0 |');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')).perCategory['2fc'].a['1.00'].mug).toBeCloseTo(0.7, 9);
  });
});
