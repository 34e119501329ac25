import type { Anomaly } from '../report/types.js';

/**
 * One captured frame. Readers reuse a single Frame object for every frame they
 * emit (no per-packet allocation on the hot path): a consumer that keeps data
 * beyond the callback must copy it.
 */
export class Frame {
  /** Epoch seconds. */
  time = 0;
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
  push(chunk: Uint8Array): void;
  finish(): void;
  readonly linkTypes: ReadonlySet<number>;
  readonly frames: number;
}

/**
 * Keeps the unconsumed tail of the previous chunk so that records split across
 * chunks are seen whole. Copies only when a record straddles a chunk boundary.
 */
export class ChunkJoiner {
  private rest: Uint8Array | null = null;
  /** Absolute file offset of the first byte of the buffer returned by join(). */
  baseOffset = 0;

  join(chunk: Uint8Array): Uint8Array {
    if (this.rest === null || this.rest.length === 0) return chunk;
    const joined = new Uint8Array(this.rest.length + chunk.length);
    joined.set(this.rest, 0);
    joined.set(chunk, this.rest.length);
    this.rest = null;
    return joined;
  }

  /** Remember buf[consumed..] for the next chunk; the caller has consumed `consumed` bytes. */
  keep(buf: Uint8Array, consumed: number): void {
    this.baseOffset += consumed;
    this.rest = consumed < buf.length ? buf.slice(consumed) : null;
  }

  get pendingBytes(): number {
    return this.rest === null ? 0 : this.rest.length;
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
