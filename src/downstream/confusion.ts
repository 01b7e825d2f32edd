import { perClassAccuracy } from './metrics.ts';

/**
 * Confusion matrices for people: a Markdown table (rows: true class, columns: predicted class, counts, and
 * the per-class accuracy) and an SVG heat map (cells shaded by the row's fraction, counts written in).
 */
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function confusionTable(m: readonly (readonly number[])[], classes: readonly string[]): string[] {
  const acc = perClassAccuracy(m);
  const lines = [`| true \\ predicted | ${classes.join(' | ')} | accuracy |`, `|---|${classes.map(() => '---:').join('|')}|---:|`];
  m.forEach((row, i) => lines.push(`| ${classes[i]} | ${row.join(' | ')} | ${acc[i] === null ? '–' : `${(100 * acc[i]!).toFixed(1)} %`} |`));
  return lines;
}

export function confusionSvg(m: readonly (readonly number[])[], classes: readonly string[], title: string): string {
  const n = classes.length;
  const cell = Math.max(18, Math.min(48, Math.floor(520 / Math.max(1, n))));
  const label = Math.min(140, 8 + 7 * Math.max(...classes.map((c) => c.length), 4));
  const w = label + n * cell + 20;
  const h = 40 + label + n * cell + 20;
  const top = 40 + label;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `<text x="${label + (n * cell) / 2}" y="34" text-anchor="middle" fill="#555">predicted</text>`,
  ];
  classes.forEach((c, j) => parts.push(`<text transform="translate(${label + j * cell + cell / 2 + 4},${top - 4}) rotate(-60)" fill="#333">${esc(c)}</text>`));
  m.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    parts.push(`<text x="${label - 4}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" fill="#333">${esc(classes[i]!)}</text>`);
    row.forEach((v, j) => {
      const f = total > 0 ? v / total : 0;
      // diagonal in blue, confusions in red, shaded by the fraction of the true class
      const rgb = i === j ? [Math.round(255 - 200 * f), Math.round(255 - 140 * f), 255] : [255, Math.round(255 - 200 * f), Math.round(255 - 200 * f)];
      parts.push(
        `<rect x="${label + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${rgb.join(',')})" stroke="#ddd"><title>${esc(classes[i]!)} → ${esc(classes[j]!)}: ${v}</title></rect>`,
      );
      if (v > 0 && cell >= 18)
        parts.push(
          `<text x="${label + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" fill="${f > 0.6 ? 'white' : 'black'}">${v}</text>`,
        );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
