/**
 * Line charts as standalone SVG (no dependency, opens in any browser and in papers via conversion).
 * Each series is a list of (x, y) points; optional error bars (y ± err).
 */
export interface Series {
  name: string;
  points: Array<{ x: number; y: number; err?: number }>;
  color?: string;
  /** A dashed line without markers (reference levels such as chance). */
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
  xTicks?: number[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

export function lineChart(series: Series[], o: ChartOptions): string {
  // the right margin holds the legend: wide enough for the longest series name
  const m = { l: 64, r: Math.max(120, 50 + 7 * Math.max(0, ...series.map((s) => s.name.length))), t: 36, b: 48 };
  const W = o.width ?? 500 + m.r;
  const H = o.height ?? 400;
  const pts = series.flatMap((s) => s.points);
  const fx = (x: number): number => (o.logX ? Math.log10(x) : x);
  let x0 = Math.min(...pts.map((p) => fx(p.x)));
  let x1 = Math.max(...pts.map((p) => fx(p.x)));
  if (x0 === x1) {
    x0 -= 1;
    x1 += 1;
  }
  let y0 = o.yMin ?? Math.min(...pts.map((p) => p.y - (p.err ?? 0)));
  let y1 = o.yMax ?? Math.max(...pts.map((p) => p.y + (p.err ?? 0)));
  if (y0 === y1) {
    y0 -= 1;
    y1 += 1;
  }
  if (o.yMin === undefined || o.yMax === undefined) {
    const pad = (y1 - y0) * 0.05;
    if (o.yMin === undefined) y0 -= pad;
    if (o.yMax === undefined) y1 += pad;
  }
  const sx = (x: number): number => m.l + ((fx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - m.r / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  const xt = o.xTicks ?? (o.logX ? [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b) : niceTicks(x0, x1));
  for (const t of xt) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#333"/>`);
    parts.push(`<text x="${sx(t)}" y="${H - m.b + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length]!;
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (sorted.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2"${dash} points="${sorted.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    if (sorted.length <= 60 && !s.dashed) {
      for (const p of sorted) {
        if (p.err) parts.push(`<line x1="${sx(p.x)}" x2="${sx(p.x)}" y1="${sy(p.y - p.err)}" y2="${sy(p.y + p.err)}" stroke="${c}"/>`);
        parts.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="3" fill="${c}"/>`);
      }
    }
    parts.push(`<line x1="${W - m.r + 12}" x2="${W - m.r + 32}" y1="${m.t + 10 + 18 * i}" y2="${m.t + 10 + 18 * i}" stroke="${c}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${W - m.r + 38}" y="${m.t + 14 + 18 * i}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
