/**
 * UTF-8 helpers for short strings (keys, types, ids) on the hot paths. ASCII
 * is copied char by char (no allocation); anything else falls back to
 * TextEncoder/TextDecoder.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes `s` as UTF-8 into `dst` at `at`, with at most `max` bytes.
 * Returns the bytes written, or -1 when it does not fit.
 */
export function writeUtf8(dst: Uint8Array, at: number, s: string, max: number): number {
  const n = s.length;
  if (n <= max) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      dst[at + i] = c;
    }
    if (i === n) return n;
  }
  const r = encoder.encodeInto(s, dst.subarray(at, at + max));
  return r.read === n ? r.written : -1;
}

/** Reads `len` bytes of UTF-8 at `at`. */
export function readUtf8(src: Uint8Array, at: number, len: number): string {
  if (len <= 32) {
    let s = '';
    for (let i = 0; i < len; i++) {
      const c = src[at + i];
      if (c > 0x7f) return decoder.decode(src.subarray(at, at + len));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(src.subarray(at, at + len));
}
