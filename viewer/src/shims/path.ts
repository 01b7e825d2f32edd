/** Browser stand-in for the part of node:path that the shared readers use (POSIX semantics). */
export function basename(p: string, ext?: string): string {
  const b = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
}

export function extname(p: string): string {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i <= 0 ? '' : b.slice(i);
}

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}

export function join(...parts: string[]): string {
  return parts
    .filter((s) => s !== '')
    .join('/')
    .replace(/\/+/g, '/');
}

export const sep = '/';
export default { basename, extname, dirname, join, sep };
