import { fileError } from '../../util/errors.ts';
import { checkCloud, type Shape } from './check.ts';
import { decodeText, parseInt32, parseNum, splitLines, FloatList, IntList } from './text.ts';

/**
 * Plain point lists (.xyz, .txt, .pts, .asc): one point per line, values separated by whitespace or commas;
 * 3 columns = xyz, 6 = xyz + normal, 7 = xyz + normal + integer label (ShapeNet Part `_normal` files write the
 * label as a float like `12.000000`). Blank lines and `#` / `//` comments are skipped.
 */
export function parseXyz(bytes: Uint8Array, file: string): Shape {
  const lines = splitLines(decodeText(bytes));
  let cols = -1;
  const pts = new FloatList();
  const nrm = new FloatList();
  const lab = new IntList();
  for (let li = 0; li < lines.length; li++) {
    const line = li + 1;
    const raw = lines[li]!.trim();
    if (raw.length === 0 || raw.startsWith('#') || raw.startsWith('//')) continue;
    const t = raw.split(/\s*,\s*|\s+/);
    if (cols < 0) {
      cols = t.length;
      if (cols !== 3 && cols !== 6 && cols !== 7) {
        throw fileError(file, `expected 3 (xyz), 6 (xyz + normal) or 7 (xyz + normal + label) columns, found ${cols}`, line);
      }
    } else if (t.length !== cols) {
      throw fileError(file, `line has ${t.length} values but earlier lines have ${cols}`, line);
    }
    for (let a = 0; a < 3; a++) pts.push(parseNum(t[a], file, line, 'coordinate'));
    if (cols >= 6) for (let a = 3; a < 6; a++) nrm.push(parseNum(t[a], file, line, 'normal component'));
    if (cols === 7) lab.push(parseInt32(t[6], file, line, 'label'));
  }
  if (cols < 0) throw fileError(file, 'file has no points');
  return {
    format: 'xyz',
    cloud: checkCloud(
      {
        points: pts.toArray(),
        normals: cols >= 6 ? nrm.toArray() : null,
        labels: cols === 7 ? lab.toArray() : null,
        features: null,
        featureChannels: 0,
      },
      file,
    ),
  };
}
