import { describe, expect, it } from 'vitest';
import { fitPca, pcaColors } from '../../viewer/src/pca.ts';
import { Rng } from '../../src/util/rng.ts';

describe('PCA colours of point features', () => {
  it('finds the directions of largest variance, by decreasing variance, with fixed signs', () => {
    // 8 channels: channel 2 varies most, then 5, then a mix of 0 and 1, the rest is small noise.
    const rng = new Rng(1);
    const n = 3000;
    const c = 8;
    const x = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < c; j++) x[i * c + j] = 0.01 * rng.normal();
      x[i * c + 2]! += 5 * rng.normal();
      x[i * c + 5]! += 3 * rng.normal();
      const t = 2 * rng.normal();
      x[i * c + 0]! += t / Math.SQRT2;
      x[i * c + 1]! -= t / Math.SQRT2;
    }
    const b = fitPca(x, n, c);
    expect(b.components.length).toBe(3);
    expect(Math.abs(b.components[0]![2]!)).toBeGreaterThan(0.999);
    expect(Math.abs(b.components[1]![5]!)).toBeGreaterThan(0.999);
    expect(Math.abs(b.components[2]![0]!)).toBeCloseTo(Math.SQRT1_2, 2);
    expect(b.variances[0]).toBeGreaterThan(b.variances[1]!);
    expect(b.variances[1]).toBeGreaterThan(b.variances[2]!);
    // 3 components hold all but the noise: 25 + 9 + 4 of about 38.0008.
    expect(b.variances.reduce((a, v) => a + v, 0) / b.totalVariance).toBeGreaterThan(0.999);
    for (const v of b.components) expect(Math.max(...v) >= -Math.min(...v)).toBe(true);
    // Same input, same basis.
    expect(fitPca(x, n, c)).toEqual(b);
    const col = pcaColors(x, n, b);
    expect(col.every((v) => v >= 0 && v <= 1)).toBe(true);
    const reds = new Set(Array.from({ length: n }, (_, i) => Math.round(col[3 * i]! * 10)));
    expect(reds.size).toBeGreaterThan(5);
  });

  it('gives constant colours for constant features, never NaN', () => {
    const x = new Float32Array(40).fill(0.3);
    const b = fitPca(x, 10, 4);
    expect(b.components.length).toBe(0);
    expect(Array.from(pcaColors(x, 10, b))).toEqual(new Array(30).fill(0.5));
  });
});
