// Text written as UTF-8 bytes straight into a growing buffer. The output pass of a large capture
// writes ~1.4 KB of JSON per connection; built as strings it cost a string per field, a joined
// block and then an encoding of that block (the 1 GB bench's output pass allocated ~0.7 GB).
// TextEncoder is a web API, not part of the core's ES library, hence the encoder here.

import { HEX_DIGITS } from '../tls/hello.js';

const FLOAT_BITS = new DataView(new ArrayBuffer(8));
/** Half an ulp of a double with this biased exponent (IEEE 754 binary64), in millionths. */
const HALF_ULP_MICROS = Float64Array.from({ length: 2048 }, (_, biased) => 2 ** (Math.max(biased, 1) - 1023 - 53) * 1e6);

export class ByteWriter {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 4096) {
    this.bytes = new Uint8Array(capacity);
  }

  reset(): void {
    this.length = 0;
  }

  /** The bytes written so far (a view: valid until the next write or reset). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** Text known to be ASCII (keys, enum values, digits): one byte per character. */
  ascii(text: string): void {
    const n = text.length;
    this.reserve(n);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) bytes[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Any text as UTF-8 (RFC 3629); a lone surrogate becomes U+FFFD, as TextEncoder writes it. */
  text(text: string): void {
    const n = text.length;
    this.reserve(n * 3);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        bytes[at++] = c;
        continue;
      }
      if (c < 0x800) {
        bytes[at++] = 0xc0 | (c >> 6);
        bytes[at++] = 0x80 | (c & 0x3f);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          bytes[at++] = 0xf0 | (c >> 18);
          bytes[at++] = 0x80 | ((c >> 12) & 0x3f);
          bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
          bytes[at++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      bytes[at++] = 0xe0 | (c >> 12);
      bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[at++] = 0x80 | (c & 0x3f);
    }
    this.length = at;
  }

  /** Bytes as they are (pre-encoded keys, pooled JSON texts). */
  raw(source: Uint8Array, start = 0, end = source.length): void {
    const n = end - start;
    this.reserve(n);
    if (n > 64) {
      this.bytes.set(start === 0 && end === source.length ? source : source.subarray(start, end), this.length);
      this.length += n;
      return;
    }
    // Short runs (pooled values): a loop, without a view of the source per call.
    const bytes = this.bytes;
    let at = this.length;
    for (let i = start; i < end; i++) bytes[at++] = source[i]!;
    this.length = at;
  }

  /** A number as JSON writes it: null for null, NaN and infinities (ECMA-262 JSON.stringify). */
  number(value: number | null): void {
    if (value === null || !Number.isFinite(value)) {
      this.ascii('null');
      return;
    }
    if (Number.isSafeInteger(value)) this.integer(value);
    else if (!this.microseconds(value)) this.ascii(String(value));
  }

  /**
   * A capture time (or any value with at most six decimals) written without String(): on the
   * 1 GB bench String(double) was most of the output pass's number formatting. ECMA-262
   * Number::toString writes the decimal with the fewest significant digits that reads back as
   * the same double. If the double's rounding interval (width: one ulp) holds a decimal d with
   * at most six decimals, and one ulp is under 1e-6 (so no other such decimal fits in it), then d
   * is that shortest decimal: any shorter one would also have at most six decimals. The check
   * keeps a margin far above the error of frac·1e6; anything else (a boundary, a value with more
   * decimals, ≥ 2^32 or negative) goes to String(). Returns false when it wrote nothing.
   */
  private microseconds(value: number): boolean {
    if (!(value > 0 && value < 4294967296)) return false;
    const whole = Math.floor(value);
    const scaled = (value - whole) * 1e6; // value - whole is exact (Sterbenz)
    const micros = Math.round(scaled);
    if (micros === 0 || micros === 1e6) return false;
    FLOAT_BITS.setFloat64(0, value);
    const halfUlp = HALF_ULP_MICROS[(FLOAT_BITS.getUint32(0) >>> 20) & 0x7ff]!;
    if (halfUlp >= 0.5 || Math.abs(scaled - micros) >= halfUlp - 1e-9) return false;
    this.integer(whole);
    let digits = micros;
    let width = 6;
    while (digits % 10 === 0) {
      digits /= 10;
      width--;
    }
    this.reserve(width + 1);
    const bytes = this.bytes;
    bytes[this.length] = 46; // '.'
    for (let i = width; i >= 1; i--) {
      const next = Math.floor(digits / 10);
      bytes[this.length + i] = 48 + (digits - next * 10);
      digits = next;
    }
    this.length += width + 1;
    return true;
  }

  /** A safe integer's decimal digits (what String() gives, without the string). */
  integer(value: number): void {
    this.reserve(17);
    const bytes = this.bytes;
    if (value < 0) {
      bytes[this.length++] = 45; // '-'
      value = -value;
    }
    if (value < 2147483648) {
      // Int32 arithmetic: (v / 10) | 0 compiles to a multiply and shift, not a division.
      let v = value | 0;
      const digits = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6
        : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
      let at = this.length + digits;
      this.length = at;
      do {
        const next = (v / 10) | 0;
        bytes[--at] = 48 + v - next * 10;
        v = next;
      } while (v > 0);
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.length + digits;
    this.length = at;
    do {
      const next = Math.floor(value / 10);
      bytes[--at] = 48 + (value - next * 10);
      value = next;
    } while (value > 0);
  }

  /** Lower-case hex digits of source[start, end). */
  hex(source: Uint8Array, start: number, end: number): void {
    this.reserve((end - start) * 2);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = start; i < end; i++) {
      const b = source[i]!;
      bytes[at++] = HEX_DIGITS[b >> 4]!;
      bytes[at++] = HEX_DIGITS[b & 15]!;
    }
    this.length = at;
  }
}

/** UTF-8 bytes of a text (a fresh array). */
export function utf8(text: string): Uint8Array {
  const writer = new ByteWriter(text.length * 3 + 1);
  writer.text(text);
  return writer.bytes.slice(0, writer.length);
}
