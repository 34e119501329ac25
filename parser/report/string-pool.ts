import { ByteWriter } from './byte-writer.js';

/** A reference to no value (a null string, a null hex value) in the store's Int32 columns. */
export const NULL_INDEX = -1;

// StringPool's per-value JSON facts: start, end, flags.
const META_START = 0, META_END = 1, META_FLAGS = 2;
const JSON_META = 3;
/** The JSON text is the value itself in quotes (ASCII, nothing escaped). */
const PLAIN = 1;
const HAS_COLON = 2;

/** Repeated strings (addresses, SNIs, ciphers, fingerprints, reasons) kept once, by index. */
export class StringPool {
  private readonly index = new Map<string, number>();
  readonly values: string[] = [];
  intern(text: string | null | undefined): number {
    if (text === null || text === undefined) return NULL_INDEX;
    let i = this.index.get(text);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(text);
      this.index.set(text, i);
      if ((i + 1) * JSON_META > this.jsonMeta.length) {
        const grown = new Int32Array(this.jsonMeta.length * 2);
        grown.set(this.jsonMeta);
        this.jsonMeta = grown;
      }
      this.jsonMeta[i * JSON_META + META_START] = -1;
    }
    return i;
  }
  get(i: number): string | null {
    return i === NULL_INDEX ? null : this.values[i]!;
  }

  // The values' JSON texts as UTF-8, one after another in one growing buffer: escaped and encoded
  // once per distinct string, when first written. (A Uint8Array per string cost ~200 bytes of
  // overhead each: on the 2-million-connection run, with its many distinct details, that was
  // the difference between 962 and 1,033 MiB.)
  private jsonBytes = new Uint8Array(1 << 16);
  private jsonUsed = 0;
  /**
   * Per value (JSON_META ints): where its JSON text starts (-1: not encoded yet) and ends, and its
   * META_FLAGS. One typed array rather than a list per field: on a large capture the client
   * addresses are hundreds of thousands of values written in no order, and each list read was
   * a cache miss of its own.
   */
  private jsonMeta = new Int32Array(1024 * JSON_META);
  private readonly scratch = new ByteWriter(256);

  private encode(i: number): void {
    const value = this.values[i]!;
    const json = JSON.stringify(value);
    this.scratch.reset();
    this.scratch.text(json);
    const n = this.scratch.length;
    if (this.jsonUsed + n > this.jsonBytes.length) {
      const grown = new Uint8Array(Math.max(this.jsonBytes.length * 2, this.jsonUsed + n));
      grown.set(this.jsonBytes.subarray(0, this.jsonUsed));
      this.jsonBytes = grown;
    }
    this.jsonBytes.set(this.scratch.view(), this.jsonUsed);
    const meta = i * JSON_META;
    this.jsonMeta[meta + META_START] = this.jsonUsed;
    this.jsonMeta[meta + META_END] = this.jsonUsed + n;
    this.jsonUsed += n;
    const plain = json.length === value.length + 2 && isAscii(value);
    this.jsonMeta[meta + META_FLAGS] = (plain ? PLAIN : 0) | (value.includes(':') ? HAS_COLON : 0);
  }

  /** The value's JSON text ("null" for null). */
  writeJson(i: number, out: ByteWriter): void {
    if (i === NULL_INDEX) {
      out.ascii('null');
      return;
    }
    const meta = i * JSON_META;
    if (this.jsonMeta[meta + META_START]! < 0) this.encode(i);
    out.raw(this.jsonBytes, this.jsonMeta[meta + META_START]!, this.jsonMeta[meta + META_END]!);
  }

  /**
   * The value itself, when JSON needs no escape for it: lets a composed text (the Wireshark
   * filter) embed it without escaping again. False (nothing written) otherwise.
   */
  writePlain(i: number, out: ByteWriter): boolean {
    if (i === NULL_INDEX) return false;
    const meta = i * JSON_META;
    if (this.jsonMeta[meta + META_START]! < 0) this.encode(i);
    if ((this.jsonMeta[meta + META_FLAGS]! & PLAIN) === 0) return false;
    out.raw(this.jsonBytes, this.jsonMeta[meta + META_START]! + 1, this.jsonMeta[meta + META_END]! - 1);
    return true;
  }

  /** The value holds a colon (an IPv6 address, among addresses). */
  hasColon(i: number): boolean {
    if (i === NULL_INDEX) return false;
    const meta = i * JSON_META;
    if (this.jsonMeta[meta + META_START]! < 0) this.encode(i);
    return (this.jsonMeta[meta + META_FLAGS]! & HAS_COLON) !== 0;
  }

  /** Bytes held by the encoded JSON texts. */
  get jsonByteLength(): number {
    return this.jsonBytes.length;
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}
