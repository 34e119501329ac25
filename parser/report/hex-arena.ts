import { sessionKey, sessionKeyOfBytes } from '../session/session-keys.js';
import type { SessionKind } from '../session/session-table.js';
import { hexDigitValue, toHex } from '../tls/hello.js';
import type { ByteWriter } from './byte-writer.js';
import { NULL_INDEX } from './string-pool.js';

/**
 * Lower-case hex strings (session IDs, ticket prefixes, PSK identities: at most 64 digits)
 * as bytes: a length byte then the bytes, half the size of the text and no object per value.
 * Anything else goes to a side list. Reference: ≥ 0 arena offset, ≤ -2 side index, -1 null.
 */
export class HexArena {
  // 1 MiB blocks; a value never straddles two (at most 256 bytes are left unused per block).
  private static readonly BLOCK_BITS = 20;
  private readonly blocks: Uint8Array[] = [];
  private used = 0;
  private readonly side: string[] = [];

  store(text: string | null): number {
    if (text === null) return NULL_INDEX;
    const n = text.length;
    if (n % 2 !== 0 || n > 510) return this.aside(text);
    const at = this.room(1 + n / 2);
    const block = this.blocks[at >>> HexArena.BLOCK_BITS]!;
    const offset = at & ((1 << HexArena.BLOCK_BITS) - 1);
    // One pass: digits are checked as they are converted; on anything but lower-case hex the
    // bytes written stay unclaimed (`used` does not move) and the text goes to the side list.
    let to = offset + 1;
    for (let i = 0; i < n; i += 2) {
      const high = HEX_VALUE[text.charCodeAt(i)] ?? -1;
      const low = HEX_VALUE[text.charCodeAt(i + 1)] ?? -1;
      if ((high | low) < 0) return this.aside(text);
      block[to++] = (high << 4) | low;
    }
    block[offset] = n / 2;
    this.used += 1 + n / 2;
    return at;
  }

  /** Where `need` bytes fit in one block (a new block when the current one is full); `used` does not move. */
  private room(need: number): number {
    const size = 1 << HexArena.BLOCK_BITS;
    if ((this.used & (size - 1)) + need > size || this.used === this.blocks.length * size) {
      if (this.used !== this.blocks.length * size) this.used = this.blocks.length * size;
      this.blocks.push(new Uint8Array(size));
    }
    return this.used;
  }

  /** Another arena's value (a reference into its exported blocks and side list), copied into this one. */
  copy(from: { blocks: Uint8Array[]; side: string[] }, ref: number): number {
    if (ref === NULL_INDEX) return NULL_INDEX;
    if (ref < 0) return this.aside(from.side[-2 - ref]!);
    const source = from.blocks[ref >>> HexArena.BLOCK_BITS]!;
    const sourceOffset = ref & ((1 << HexArena.BLOCK_BITS) - 1);
    const need = 1 + source[sourceOffset]!;
    const at = this.room(need);
    const offset = at & ((1 << HexArena.BLOCK_BITS) - 1);
    this.blocks[at >>> HexArena.BLOCK_BITS]!.set(source.subarray(sourceOffset, sourceOffset + need), offset);
    this.used += need;
    return at;
  }

  private aside(text: string): number {
    this.side.push(text);
    return -2 - (this.side.length - 1);
  }

  /** The value as JSON: lower-case hex needs no escaping, so the digits go out straight from the bytes. */
  writeJson(ref: number, out: ByteWriter): void {
    if (ref === NULL_INDEX) {
      out.ascii('null');
      return;
    }
    if (ref < 0) {
      out.text(JSON.stringify(this.side[-2 - ref]!));
      return;
    }
    const block = this.blocks[ref >>> HexArena.BLOCK_BITS]!;
    const offset = ref & ((1 << HexArena.BLOCK_BITS) - 1);
    out.ascii('"');
    out.hex(block, offset + 1, offset + 1 + block[offset]!);
    out.ascii('"');
  }

  /** The session table's key of the value (sessionKey of its hex), from the bytes. */
  sessionKeyOf(ref: number, kind: SessionKind): string | null {
    if (ref === NULL_INDEX) return null;
    if (ref < 0) return sessionKey(kind, this.side[-2 - ref]!);
    const block = this.blocks[ref >>> HexArena.BLOCK_BITS]!;
    const offset = ref & ((1 << HexArena.BLOCK_BITS) - 1);
    return sessionKeyOfBytes(kind, block, offset + 1, offset + 1 + block[offset]!);
  }

  get(ref: number): string | null {
    if (ref === NULL_INDEX) return null;
    if (ref < 0) return this.side[-2 - ref]!;
    const block = this.blocks[ref >>> HexArena.BLOCK_BITS]!;
    const offset = ref & ((1 << HexArena.BLOCK_BITS) - 1);
    return toHex(block, offset + 1, offset + 1 + block[offset]!);
  }

  get byteLength(): number {
    return this.blocks.length << HexArena.BLOCK_BITS;
  }

  export(): { blocks: Uint8Array[]; used: number; side: string[] } {
    return { blocks: this.blocks, used: this.used, side: this.side };
  }
}

/** Value of each character code that is a lower-case hex digit (what toHex writes), else -1. */
const HEX_VALUE = Int8Array.from({ length: 128 }, (_, code) => hexDigitValue(code));
