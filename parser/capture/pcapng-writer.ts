// pcapng writer (draft-ietf-opsawg-pcapng §4.1 SHB, §4.2 IDB, §4.3 EPB with opt_comment),
// little-endian, nanosecond timestamps (if_tsresol 9, §4.2): a nanosecond capture's packets keep
// their times (microseconds rounded them). Produces byte chunks; the caller stores them.

import { utf8 } from '../report/byte-writer.js';

const OPTION_END = 0;
const OPTION_COMMENT = 1;
const OPTION_SHB_USERAPPL = 4;
const OPTION_IF_TSRESOL = 9;
const NANOSECONDS = 9;

export class PcapngWriter {
  private readonly interfaces = new Map<string, number>();

  constructor(private readonly sink: (chunk: Uint8Array) => void, application: string) {
    // SHB: type, length, byte-order magic, version 1.0, section length -1 (unknown), options.
    const options = this.options([[OPTION_SHB_USERAPPL, application]]);
    const length = 28 + options.length;
    const block = new Uint8Array(length);
    const v = new DataView(block.buffer);
    v.setUint32(0, 0x0a0d0d0a, true);
    v.setUint32(4, length, true);
    v.setUint32(8, 0x1a2b3c4d, true);
    v.setUint16(12, 1, true);
    v.setUint16(14, 0, true);
    v.setInt32(16, -1, true);
    v.setInt32(20, -1, true);
    block.set(options, 24);
    v.setUint32(length - 4, length, true);
    this.sink(block);
  }

  /** The interface id for a link type (one IDB per distinct link type and snap length). */
  interfaceFor(linkType: number, name: string): number {
    const key = `${linkType}`;
    const known = this.interfaces.get(key);
    if (known !== undefined) return known;
    const id = this.interfaces.size;
    const options = this.options([[2 /* if_name */, name]], [[OPTION_IF_TSRESOL, Uint8Array.of(NANOSECONDS)]]);
    const length = 20 + options.length;
    const block = new Uint8Array(length);
    const v = new DataView(block.buffer);
    v.setUint32(0, 1, true);
    v.setUint32(4, length, true);
    v.setUint16(8, linkType, true);
    v.setUint32(12, 0, true); // no snap length limit
    block.set(options, 16);
    v.setUint32(length - 4, length, true);
    this.sink(block);
    this.interfaces.set(key, id);
    return id;
  }

  /** One Enhanced Packet Block; `comment` becomes opt_comment (shown by Wireshark as a packet comment). */
  /** `wholeSeconds` and `nanoseconds`: the packet's epoch time (Frame.wholeSeconds/nanoseconds). */
  writePacket(interfaceId: number, wholeSeconds: number, nanoseconds: number, data: Uint8Array, originalLength: number, comment: string | null): void {
    const options = comment === null ? new Uint8Array(0) : this.options([[OPTION_COMMENT, comment]]);
    const padded = (data.length + 3) & ~3;
    const length = 32 + padded + options.length;
    const block = new Uint8Array(length);
    const v = new DataView(block.buffer);
    const units = BigInt(wholeSeconds) * 1_000_000_000n + BigInt(nanoseconds);
    v.setUint32(0, 6, true);
    v.setUint32(4, length, true);
    v.setUint32(8, interfaceId, true);
    v.setUint32(12, Number(units >> 32n), true);
    v.setUint32(16, Number(units & 0xffffffffn), true);
    v.setUint32(20, data.length, true);
    v.setUint32(24, Math.max(originalLength, data.length), true);
    block.set(data, 28);
    block.set(options, 28 + padded);
    v.setUint32(length - 4, length, true);
    this.sink(block);
  }

  /** Options (§3.5): code, length, value padded to 32 bits, then opt_endofopt. */
  private options(list: [number, string][], binary: [number, Uint8Array][] = []): Uint8Array {
    if (list.length === 0 && binary.length === 0) return new Uint8Array(0);
    // Option values are limited to 65535 bytes (16-bit length).
    const encoded = [...list.map(([code, text]) => [code, utf8(text).subarray(0, 65535)] as const), ...binary];
    const size = encoded.reduce((sum, [, bytes]) => sum + 4 + ((bytes.length + 3) & ~3), 0) + 4;
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    let pos = 0;
    for (const [code, bytes] of encoded) {
      v.setUint16(pos, code, true);
      v.setUint16(pos + 2, bytes.length, true);
      out.set(bytes, pos + 4);
      pos += 4 + ((bytes.length + 3) & ~3);
    }
    v.setUint16(pos, OPTION_END, true);
    v.setUint16(pos + 2, 0, true);
    return out;
  }
}
