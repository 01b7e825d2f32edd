/**
 * The shared text readers decode bytes with `Buffer.from(buffer, offset, length).toString('latin1')`.
 * Browsers have no Buffer; this installs the one call they use (latin1: one char per byte, never throws).
 */
export function latin1(bytes: Uint8Array): string {
  let out = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return out;
}

class Latin1View {
  constructor(private readonly bytes: Uint8Array) {}
  toString(encoding?: string): string {
    if (encoding !== 'latin1' && encoding !== 'binary') throw new Error(`browser Buffer shim: unsupported encoding ${encoding}`);
    return latin1(this.bytes);
  }
}

export function installBufferShim(): void {
  const g = globalThis as { Buffer?: unknown };
  if (g.Buffer) return;
  g.Buffer = {
    from(buf: ArrayBufferLike | Uint8Array, offset = 0, length?: number): Latin1View {
      const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf, offset, length);
      return new Latin1View(bytes);
    },
  };
}

installBufferShim();
