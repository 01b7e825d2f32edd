import { fileError } from '../../util/errors.ts';

/**
 * Helpers shared by the text readers. Text is decoded as latin1 so that any byte sequence decodes (a stray
 * UTF-8 byte must end up in a "not a number" error, never in an exception from the decoder).
 */
export function decodeText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function splitLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/** Show at most a few characters of a bad token so that a binary blob does not flood the message. */
export function showToken(tok: string): string {
  const s = tok.length > 24 ? `${tok.slice(0, 24)}...` : tok;
  return JSON.stringify(s);
}

/** A finite number, or a UserError naming file, line and what the value was meant to be. */
export function parseNum(tok: string | undefined, file: string, line: number, what: string): number {
  if (tok === undefined || tok.length === 0) throw fileError(file, `missing value for ${what}`, line);
  const v = Number(tok);
  if (Number.isNaN(v) && !/^[+-]?nan$/i.test(tok)) throw fileError(file, `${showToken(tok)} is not a number (${what})`, line);
  if (!Number.isFinite(v)) throw fileError(file, `${what} is not finite (${showToken(tok)})`, line);
  return v;
}

/** An integer that fits int32 (labels, counts, indices). */
export function parseInt32(tok: string | undefined, file: string, line: number, what: string): number {
  const v = parseNum(tok, file, line, what);
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw fileError(file, `${what} must be an integer, got ${showToken(tok ?? '')}`, line);
  }
  return v;
}

/** A non-negative count from a header. */
export function parseCount(tok: string | undefined, file: string, line: number, what: string): number {
  const v = parseNum(tok, file, line, what);
  if (!Number.isSafeInteger(v) || v < 0) throw fileError(file, `${what} must be a non-negative integer, got ${showToken(tok ?? '')}`, line);
  return v;
}

export function tokens(line: string, sep: RegExp = /\s+/): string[] {
  const t = line.trim();
  return t.length === 0 ? [] : t.split(sep);
}

/** A growable Float32Array, for formats that do not declare their counts (OBJ, xyz). */
export class FloatList {
  data = new Float32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  toArray(): Float32Array {
    return this.data.slice(0, this.length);
  }
}

export class IntList {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  toArray(): Int32Array {
    return this.data.slice(0, this.length);
  }
}
