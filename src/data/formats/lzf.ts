/**
 * LZF decompression (the codec of PCD `binary_compressed`). A control byte below 32 starts a literal run of
 * ctrl+1 bytes; otherwise its top 3 bits are a length (7 = one more length byte follows) and the low 5 bits
 * plus the next byte a back-reference distance. Returns null when the stream is malformed or does not
 * produce exactly `outLength` bytes.
 */
export function lzfDecompress(input: Uint8Array, outLength: number): Uint8Array | null {
  const out = new Uint8Array(outLength);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (ip + len > input.length || op + len > outLength) return null;
      out.set(input.subarray(ip, ip + len), op);
      ip += len;
      op += len;
    } else {
      let len = ctrl >> 5;
      if (len === 7) {
        if (ip >= input.length) return null;
        len += input[ip++]!;
      }
      if (ip >= input.length) return null;
      let ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
      len += 2;
      if (ref < 0 || op + len > outLength) return null;
      for (let k = 0; k < len; k++) out[op++] = out[ref++]!;
    }
  }
  return op === outLength ? out : null;
}

/** A small greedy LZF compressor: used by tests and by anyone writing compressed PCD. */
export function lzfCompress(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  const table = new Map<number, number>();
  let lit: number[] = [];
  const flush = (): void => {
    for (let s = 0; s < lit.length; s += 32) {
      const chunk = lit.slice(s, s + 32);
      out.push(chunk.length - 1, ...chunk);
    }
    lit = [];
  };
  let i = 0;
  while (i < input.length) {
    if (i + 2 < input.length) {
      const h = (input[i]! << 16) | (input[i + 1]! << 8) | input[i + 2]!;
      const cand = table.get(h);
      table.set(h, i);
      if (cand !== undefined && i - cand - 1 < 8192) {
        let len = 0;
        while (len < 264 && i + len < input.length && input[cand + len] === input[i + len]) len++;
        if (len >= 3) {
          flush();
          const off = i - cand - 1;
          const l = len - 2;
          if (l < 7) out.push((l << 5) | (off >> 8), off & 0xff);
          else out.push((7 << 5) | (off >> 8), l - 7, off & 0xff);
          i += len;
          continue;
        }
      }
    }
    lit.push(input[i++]!);
  }
  flush();
  return Uint8Array.from(out);
}
