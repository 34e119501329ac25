import type { Anomaly } from '../report/types.js';
import { ChunkJoiner, Frame, type AnomalySink, type CaptureReader, type FrameSink } from './frame.js';

// pcapng: draft-ietf-opsawg-pcapng (§4 general block structure, §4.1 SHB, §4.2 IDB,
// §4.3 EPB, §4.4 SPB, Appendix A obsolete Packet Block).
export const BLOCK_SECTION_HEADER = 0x0a0d0d0a;
const BLOCK_INTERFACE_DESCRIPTION = 0x00000001;
const BLOCK_PACKET_OBSOLETE = 0x00000002;
const BLOCK_SIMPLE_PACKET = 0x00000003;
const BLOCK_ENHANCED_PACKET = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPTION_IF_TSRESOL = 9;
const OPTION_IF_TSOFFSET = 14;
/**
 * Block types registered by the pcapng draft (§10.1): SHB, 1-10 (IDB, PB, SPB, NRB,
 * ISB, EPB, IRIG, ARINC 429, systemd journal, DSB) and the two custom block types.
 * Only used while resyncing after damage: there, an arbitrary 4-byte window that
 * happens to be followed by a plausible length (say, the high word of a µs
 * timestamp) made the reader wait for megabytes that never form a block, so
 * every later block was lost. Requiring a known type makes such windows rare.
 */
function isKnownBlockType(type: number): boolean {
  return type === BLOCK_SECTION_HEADER || (type >= 1 && type <= 0x0a) || type === 0x00000bad || type === 0x40000bad;
}
/** A block larger than this is treated as damage rather than waited for. */
const MAX_BLOCK_LENGTH = 64 * 1024 * 1024;

interface InterfaceInfo {
  linkType: number;
  snapLength: number;
  unitsPerSecond: number;
  offsetSeconds: number;
}

export function isPcapngMagic(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x0a && head[1] === 0x0d && head[2] === 0x0d && head[3] === 0x0a;
}

export class PcapngReader implements CaptureReader {
  readonly format = 'pcapng' as const;
  readonly linkTypes = new Set<number>();
  frames = 0;

  private readonly joiner = new ChunkJoiner();
  private readonly frame = new Frame();
  private littleEndian = true;
  private interfaces: InterfaceInfo[] = [];
  private resyncing = false;
  private sawSection = false;
  /** A block before any SHB (or the damage that hid the SHB) was reported already. */
  private reportedNoSection = false;
  /** finish() is draining what is left: a resync candidate that does not fit will never fit. */
  private ending = false;

  constructor(
    private readonly onFrame: FrameSink,
    private readonly onAnomaly: AnomalySink,
    private readonly fileName: string,
  ) {}

  push(chunk: Uint8Array, room = 0): void {
    const buf = this.joiner.join(chunk, this.ending, room);
    if (buf === null) return; // still short of the block being waited for
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    let needed = 0;
    while (buf.length - pos >= 12) {
      let blockType = view.getUint32(pos, this.littleEndian);
      if (blockType === BLOCK_SECTION_HEADER || (buf[pos] === 0x0a && buf[pos + 1] === 0x0d && buf[pos + 2] === 0x0d && buf[pos + 3] === 0x0a)) {
        // The SHB's own byte-order magic decides how the rest of the section is read (§4.1).
        const magicLE = view.getUint32(pos + 8, true);
        if (magicLE === BYTE_ORDER_MAGIC) this.littleEndian = true;
        else if (view.getUint32(pos + 8, false) === BYTE_ORDER_MAGIC) this.littleEndian = false;
        else {
          this.damaged(pos, 'section header block with an unknown byte-order magic');
          pos += 1;
          continue;
        }
        blockType = BLOCK_SECTION_HEADER;
      }
      const blockLength = view.getUint32(pos + 4, this.littleEndian);
      // Before any section header only known block types are believed (the trailer check
      // below confirms them): a damaged first SHB used to lose the whole file, though the
      // blocks after it were intact (fuzz regression); they are read in the default
      // (little-endian) byte order.
      if (((this.resyncing || !this.sawSection) && !isKnownBlockType(blockType)) || blockLength < 12 || blockLength % 4 !== 0 || blockLength > MAX_BLOCK_LENGTH) {
        this.damaged(pos, `block of type 0x${blockType.toString(16)} with impossible length ${blockLength}`);
        pos += 1;
        continue;
      }
      if (buf.length - pos < blockLength) {
        // At the end of the file, a candidate found while resyncing that runs past
        // the end was never a block: keep scanning instead of losing what follows.
        // Likewise a block whose length field was damaged (one flipped bit makes 92
        // bytes 65628) when sane blocks follow it: before, such a block swallowed the
        // rest of the file, which was then reported as merely cut short ('truncated').
        if (this.ending && (this.resyncing || this.saneBlockFollows(buf, view, pos + 1))) {
          this.damaged(pos, `block of type 0x${blockType.toString(16)} claims ${blockLength} bytes, more than the rest of the file, yet sane blocks follow`);
          pos += 1;
          continue;
        }
        needed = blockLength;
        break;
      }
      const trailer = view.getUint32(pos + blockLength - 4, this.littleEndian);
      if (trailer !== blockLength) {
        this.damaged(pos, `block length ${blockLength} does not match its trailing copy ${trailer}`);
        pos += 1;
        continue;
      }
      if (!this.sawSection && blockType !== BLOCK_SECTION_HEADER && !this.resyncing && !this.reportedNoSection) {
        this.report('malformed', 'pcapng-bad-block', `block of type 0x${blockType.toString(16)} before any section header block; read as little-endian`, this.joiner.baseOffset + pos);
      }
      if (!this.sawSection) this.reportedNoSection = true;
      this.resyncing = false;
      this.readBlock(buf, view, pos, blockType, blockLength);
      pos += blockLength;
    }
    this.joiner.keep(buf, pos, needed);
  }

  finish(): void {
    if (this.joiner.pendingBytes > 0) {
      this.ending = true;
      this.push(new Uint8Array(0));
    }
    if (this.joiner.pendingBytes > 0) {
      this.report('truncated', 'file-cut-short', `the capture file ends in the middle of a block (${this.joiner.pendingBytes} bytes left over)`, this.joiner.baseOffset);
    }
  }

  private readBlock(buf: Uint8Array, view: DataView, pos: number, blockType: number, blockLength: number): void {
    const le = this.littleEndian;
    switch (blockType) {
      case BLOCK_SECTION_HEADER:
        // Interface IDs are scoped to their section (§4.1).
        this.interfaces = [];
        this.sawSection = true;
        return;
      case BLOCK_INTERFACE_DESCRIPTION: {
        if (blockLength < 20) return this.damaged(pos, 'interface description block too short');
        const info: InterfaceInfo = {
          linkType: view.getUint16(pos + 8, le),
          snapLength: view.getUint32(pos + 12, le),
          unitsPerSecond: 1e6,
          offsetSeconds: 0,
        };
        this.readInterfaceOptions(buf, view, pos + 16, pos + blockLength - 4, info);
        this.interfaces.push(info);
        this.linkTypes.add(info.linkType);
        return;
      }
      case BLOCK_ENHANCED_PACKET: {
        if (blockLength < 32) return this.damaged(pos, 'enhanced packet block too short');
        const interfaceId = view.getUint32(pos + 8, le);
        const high = view.getUint32(pos + 12, le);
        const low = view.getUint32(pos + 16, le);
        let capturedLength = view.getUint32(pos + 20, le);
        const originalLength = view.getUint32(pos + 24, le);
        const room = blockLength - 32;
        if (capturedLength > room) {
          this.report('malformed', 'pcapng-bad-packet-length', `captured length ${capturedLength} exceeds its block; keeping ${room} bytes`, this.joiner.baseOffset + pos);
          capturedLength = room;
        }
        this.emit(buf, pos + 28, capturedLength, originalLength, interfaceId, high, low, pos);
        return;
      }
      case BLOCK_SIMPLE_PACKET: {
        // §4.4: no timestamp and no captured length; the interface is the first one.
        if (blockLength < 16) return this.damaged(pos, 'simple packet block too short');
        const originalLength = view.getUint32(pos + 8, le);
        const iface = this.interfaces[0];
        const snap = iface && iface.snapLength > 0 ? iface.snapLength : Infinity;
        const capturedLength = Math.min(originalLength, snap, blockLength - 16);
        this.emit(buf, pos + 12, capturedLength, originalLength, 0, -1, -1, pos);
        return;
      }
      case BLOCK_PACKET_OBSOLETE: {
        if (blockLength < 32) return this.damaged(pos, 'packet block too short');
        const interfaceId = view.getUint16(pos + 8, le);
        const high = view.getUint32(pos + 12, le);
        const low = view.getUint32(pos + 16, le);
        const capturedLength = Math.min(view.getUint32(pos + 20, le), blockLength - 32);
        const originalLength = view.getUint32(pos + 24, le);
        this.emit(buf, pos + 28, capturedLength, originalLength, interfaceId, high, low, pos);
        return;
      }
      default:
        // Name resolution, statistics, decryption secrets, custom blocks: not needed here.
        return;
    }
  }

  private emit(buf: Uint8Array, start: number, capturedLength: number, originalLength: number, interfaceId: number, high: number, low: number, blockPos: number): void {
    const frame = this.frame;
    frame.number = ++this.frames;
    const iface = this.interfaces[interfaceId];
    if (!iface) {
      // This packet already took its frame number: report that number, not the next one.
      this.report('malformed', 'pcapng-unknown-interface', `packet refers to interface ${interfaceId}, which no interface description block declared`, this.joiner.baseOffset + blockPos, frame.number);
      return;
    }
    frame.linkType = iface.linkType;
    frame.interfaceId = interfaceId;
    if (high < 0) {
      // Simple packet blocks carry no timestamp.
      frame.time = 0;
      frame.wholeSeconds = 0;
      frame.nanoseconds = 0;
    } else {
      frame.time = timestampSeconds(high, low, iface.unitsPerSecond) + iface.offsetSeconds;
      timestampParts(high, low, iface.unitsPerSecond, frame);
      frame.wholeSeconds += iface.offsetSeconds;
    }
    frame.bytes = buf;
    frame.start = start;
    frame.end = start + capturedLength;
    frame.originalLength = Math.max(originalLength, capturedLength);
    frame.fileOffset = this.joiner.baseOffset + blockPos;
    this.onFrame(frame);
  }

  private readInterfaceOptions(buf: Uint8Array, view: DataView, pos: number, end: number, info: InterfaceInfo): void {
    const le = this.littleEndian;
    while (pos + 4 <= end) {
      const code = view.getUint16(pos, le);
      const length = view.getUint16(pos + 2, le);
      if (code === 0) break;
      const value = pos + 4;
      if (value + length > end) break;
      if (code === OPTION_IF_TSRESOL && length >= 1) {
        const resolution = buf[value]!;
        const exponent = resolution & 0x7f;
        // §4.2: high bit clear → negative power of 10, set → negative power of 2.
        info.unitsPerSecond = resolution & 0x80 ? 2 ** exponent : 10 ** exponent;
        if (!Number.isFinite(info.unitsPerSecond) || info.unitsPerSecond < 1) info.unitsPerSecond = 1e6;
      } else if (code === OPTION_IF_TSOFFSET && length >= 8) {
        const high = view.getInt32(value + (le ? 4 : 0), le);
        const low = view.getUint32(value + (le ? 0 : 4), le);
        info.offsetSeconds = high * 4294967296 + low;
      }
      pos = value + ((length + 3) & ~3);
    }
  }

  /**
   * Is there, at or after `from`, a complete block of a known type whose trailing length
   * matches? One linear scan, run only at the end of the file when a block claims more
   * than is left.
   */
  private saneBlockFollows(buf: Uint8Array, view: DataView, from: number): boolean {
    const le = this.littleEndian;
    for (let q = from; buf.length - q >= 12; q++) {
      if (!isKnownBlockType(view.getUint32(q, le))) continue;
      const length = view.getUint32(q + 4, le);
      if (length < 12 || length % 4 !== 0 || length > buf.length - q) continue;
      if (view.getUint32(q + length - 4, le) === length) return true;
    }
    return false;
  }

  private damaged(pos: number, message: string): void {
    if (!this.resyncing) {
      this.report('malformed', 'pcapng-bad-block', `${message}; scanning for the next sane block`, this.joiner.baseOffset + pos);
      this.resyncing = true;
    }
  }

  private report(kind: Anomaly['kind'], code: string, message: string, offset: number, frame = this.frames + 1): void {
    this.onAnomaly({ kind, code, message, file: this.fileName, frame, offset });
  }
}

/**
 * A 64-bit pcapng timestamp (§4.3) as whole seconds and nanoseconds past them into `out`: exact for
 * decimal resolutions down to nanoseconds (if_tsresol 0-9), rounded to the nanosecond otherwise.
 */
export function timestampParts(high: number, low: number, unitsPerSecond: number, out: { wholeSeconds: number; nanoseconds: number }): void {
  const total = high * 4294967296 + low;
  let whole: number;
  let rest: number;
  if (total <= Number.MAX_SAFE_INTEGER) {
    whole = Math.floor(total / unitsPerSecond);
    rest = total - whole * unitsPerSecond;
  } else {
    const big = (BigInt(high) << 32n) | BigInt(low);
    const units = BigInt(Math.round(unitsPerSecond));
    whole = Number(big / units);
    rest = Number(big % units);
  }
  let nanos = Math.round((rest * 1e9) / unitsPerSecond);
  if (nanos >= 1e9) {
    whole += 1;
    nanos -= 1e9;
  }
  out.wholeSeconds = whole;
  out.nanoseconds = nanos;
}

/** Seconds of a 64-bit pcapng timestamp (§4.3), exact in whole seconds even at nanosecond resolution. */
export function timestampSeconds(high: number, low: number, unitsPerSecond: number): number {
  const total = high * 4294967296 + low;
  if (total <= Number.MAX_SAFE_INTEGER) {
    const whole = Math.floor(total / unitsPerSecond);
    return whole + (total - whole * unitsPerSecond) / unitsPerSecond;
  }
  const big = (BigInt(high) << 32n) | BigInt(low);
  const units = BigInt(Math.round(unitsPerSecond));
  return Number(big / units) + Number(big % units) / unitsPerSecond;
}
