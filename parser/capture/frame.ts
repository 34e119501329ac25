import type { Anomaly } from '../report/types.js';

/**
 * One captured frame. Readers reuse a single Frame object for every frame they
 * emit (no per-packet allocation on the hot path): a consumer that keeps data
 * beyond the callback must copy it.
 */
export class Frame {
  /** Epoch seconds. */
  time = 0;
  /**
   * The same instant as the capture wrote it, exact to the nanosecond where its resolution is
   * decimal (microseconds, nanoseconds): whole epoch seconds and nanoseconds past them. `time`, a
   * double, keeps ~0.2 µs at today's epoch; what is written again (--pcapng-out) keeps these.
   */
  wholeSeconds = 0;
  nanoseconds = 0;
  /** LINKTYPE_* value (https://www.tcpdump.org/linktypes.html). */
  linkType = 0;
  /** The reader's buffer; the frame's captured bytes are bytes[start, end) (valid only during the callback). */
  bytes: Uint8Array = new Uint8Array(0);
  start = 0;
  end = 0;
  /** Length of the packet on the wire; larger than data.length when cut by snaplen. */
  originalLength = 0;
  /** 1-based frame number within its file. */
  number = 0;
  /** Byte offset of the frame's record/block within the file. */
  fileOffset = 0;
  interfaceId = 0;

  /** Captured bytes as a view (allocates: the hot path reads bytes/start/end instead). */
  get data(): Uint8Array {
    return this.bytes.subarray(this.start, this.end);
  }
}

export type FrameSink = (frame: Frame) => void;
export type AnomalySink = (anomaly: Anomaly) => void;

/** A push-based capture reader: feed it chunks in order, then call finish(). */
export interface CaptureReader {
  readonly format: 'pcap' | 'pcap-ns' | 'pcapng';
  /** `room`: bytes just before `chunk` in its buffer the caller lets the reader overwrite (see ChunkJoiner.join). */
  push(chunk: Uint8Array, room?: number): void;
  finish(): void;
  readonly linkTypes: ReadonlySet<number>;
  readonly frames: number;
}

/**
 * Keeps the unconsumed tail of the previous chunk so that records split across
 * chunks are seen whole. Copies only when a record straddles a chunk boundary.
 *
 * While the reader waits for a record longer than what is there (it says how long
 * through keep()), later chunks are only collected and joined once enough bytes are
 * in: joining the growing tail to every new chunk made a large record (a 16 MiB pcap
 * record, a 64 MiB pcapng block, or a damaged length claiming that much) quadratic in
 * the number of chunks: seconds to minutes with small chunks (fuzz regression).
 */
/** Joins up to this size reuse the joiner's buffer; larger ones (huge records) get their own. */
const MAX_REUSED_JOIN = 4 << 20;

export class ChunkJoiner {
  private rest: Uint8Array | null = null;
  /** Copies of the chunks that arrived while fewer than `needed` bytes were available. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  /** Bytes (counted from the start of `rest`) the reader needs before it can progress. */
  private needed = 0;
  /** Absolute file offset of the first byte of the buffer returned by join(). */
  baseOffset = 0;
  private scratch = new Uint8Array(0);

  /**
   * The kept tail plus `chunk`; null while still short of what the reader needs (unless `force`).
   * `room`: bytes just before `chunk` in its buffer that are the caller's to give (a file reader
   * leaves that much free ahead of each read): a tail that fits is copied there and the two are one
   * view, instead of copying the whole chunk after it. Nearly every chunk of a capture starts inside
   * a record, so that was a copy of the whole file (~3 % of the reading).
   */
  join(chunk: Uint8Array, force = false, room = 0): Uint8Array | null {
    const restLength = this.rest === null ? 0 : this.rest.length;
    if (!force && this.needed > 0 && restLength + this.heldBytes + chunk.length < this.needed) {
      if (chunk.length > 0) {
        // A copy: the caller may reuse its buffer once push() returns.
        this.held.push(chunk.slice());
        this.heldBytes += chunk.length;
      }
      return null;
    }
    this.needed = 0;
    if (restLength === 0 && this.held.length === 0) return chunk;
    if (this.held.length === 0 && restLength <= room && chunk.byteOffset >= restLength) {
      const joined = new Uint8Array(chunk.buffer, chunk.byteOffset - restLength, restLength + chunk.length);
      joined.set(this.rest!, 0);
      this.rest = null;
      return joined;
    }
    const total = restLength + this.heldBytes + chunk.length;
    // Chunk-sized joins (a record straddles almost every boundary) reuse one buffer: a fresh
    // megabyte per chunk was a tenth of the read time in allocation and collection. The joined
    // bytes are valid until the next join, like the caller's chunk (frames are borrowed views).
    let joined: Uint8Array;
    if (total <= MAX_REUSED_JOIN) {
      if (this.scratch.length < total) this.scratch = new Uint8Array(Math.min(MAX_REUSED_JOIN, Math.max(total, this.scratch.length * 2)));
      joined = this.scratch.subarray(0, total);
    } else {
      joined = new Uint8Array(total);
    }
    let pos = 0;
    if (this.rest !== null) {
      joined.set(this.rest, 0);
      pos = this.rest.length;
    }
    for (const h of this.held) {
      joined.set(h, pos);
      pos += h.length;
    }
    joined.set(chunk, pos);
    this.rest = null;
    this.held = [];
    this.heldBytes = 0;
    return joined;
  }

  /**
   * Remember buf[consumed..] for the next chunk; the caller has consumed `consumed` bytes
   * and needs `needed` bytes from there on before it can progress (0: any more bytes).
   */
  keep(buf: Uint8Array, consumed: number, needed = 0): void {
    this.baseOffset += consumed;
    this.rest = consumed < buf.length ? buf.slice(consumed) : null;
    this.needed = needed;
  }

  get pendingBytes(): number {
    return (this.rest === null ? 0 : this.rest.length) + this.heldBytes;
  }
}

export const LINK_TYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'ETHERNET',
  9: 'PPP',
  12: 'RAW',
  14: 'RAW',
  50: 'PPP_HDLC',
  101: 'RAW',
  108: 'LOOP',
  113: 'LINUX_SLL',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2',
};

export function linkTypeName(linkType: number): string {
  return LINK_TYPE_NAMES[linkType] ?? `LINKTYPE_${linkType}`;
}
