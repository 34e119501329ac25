// In-order delivery of one direction of a TCP connection (RFC 9293 §3.4 sequence
// numbers, modulo 2^32). Retransmissions and overlaps are trimmed, out-of-order
// segments wait, and bytes that never arrive become an explicit gap: the
// consumer is told how many bytes are missing, never handed glued data.

export interface StreamConsumer {
  /**
   * bytes[start, end) are the next bytes of the stream, valid only during the call (a range of
   * the capture's buffer, not a view of it: no object per segment on the hot path).
   */
  onData(bytes: Uint8Array, start: number, end: number, time: number, frame: number): void;
  onGap(length: number, time: number, frame: number, cause: 'lost' | 'snaplen'): void;
}

interface PendingSegment {
  sequence: number;
  data: Uint8Array;
  /** Bytes on the wire after `data` that the capture did not keep (snaplen). */
  missing: number;
  fin: boolean;
  time: number;
  frame: number;
}

/** Out-of-order data held before we give up waiting and declare a gap. */
export const MAX_PENDING_BYTES = 1 << 20;
const MAX_PENDING_SEGMENTS = 512;

/** Signed distance a - b in sequence space. */
export function sequenceDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Shared by every reassembler that holds nothing (almost all): only read (length, [0]) or
 * replaced, never written, so a connection costs no list of its own until a segment waits.
 */
const NO_PENDING: PendingSegment[] = [];

export class StreamReassembler {
  /** Next expected sequence number, or -1 before anything was seen in this direction. */
  nextSequence = -1;
  finished = false;
  /** Set by the owner when no more payload is wanted (handshake seen): stops buffering. */
  private active = true;
  /** Segments held ahead of a hole, by sequence; the shared empty list until the first one. */
  private pending: PendingSegment[] = NO_PENDING;
  private pendingBytes = 0;
  bytesDelivered = 0;
  bytesMissing = 0;

  constructor(private readonly consumer: StreamConsumer) {}

  stop(): void {
    this.active = false;
    this.pending = NO_PENDING;
    this.pendingBytes = 0;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** It holds data past a hole: bytes before that data were not captured before it. */
  get holdsDataPastHole(): boolean {
    return this.pending.length > 0;
  }

  onSyn(sequence: number): void {
    this.startAt((sequence + 1) >>> 0);
  }

  /** The stream's first byte is `sequence`, unless it started already (a SYN, a segment). */
  startAt(sequence: number): void {
    if (this.nextSequence < 0) this.nextSequence = sequence;
  }

  /** A segment whose payload is payload[start, end) (the whole array by default). */
  onSegment(sequence: number, payload: Uint8Array, missing: number, fin: boolean, time: number, frame: number, start = 0, end = payload.length): void {
    if (this.nextSequence < 0) this.nextSequence = sequence;
    if (!this.active) return;
    const length = end - start;
    if (length === 0 && missing === 0 && !fin) return;
    const delta = sequenceDelta(sequence, this.nextSequence);
    if (delta <= 0) {
      this.deliver(sequence, payload, start, end, missing, fin, time, frame);
      this.drainPending();
      return;
    }
    // Ahead of what we expect: hold a copy (the frame buffer is reused).
    if (this.pending.length >= MAX_PENDING_SEGMENTS || this.pendingBytes + length > MAX_PENDING_BYTES) {
      // Stop waiting for the hole: declare it a gap and hand over what is held. Skipping
      // alone (without draining) left everything held and every later segment was added
      // too, so a one-way capture with one lost segment held the whole rest of the stream
      // in memory (fuzz regression). Several holes: repeat until under the limits.
      while (this.pending.length > 0 && (this.pending.length >= MAX_PENDING_SEGMENTS || this.pendingBytes + length > MAX_PENDING_BYTES)) {
        this.skipToFirstPending(time, frame);
        this.drainPending();
      }
      if (!this.active) return;
      if (sequenceDelta(sequence, this.nextSequence) <= 0) {
        this.deliver(sequence, payload, start, end, missing, fin, time, frame);
        this.drainPending();
        return;
      }
    }
    this.insertPending({ sequence, data: payload.slice(start, end), missing, fin, time, frame });
  }

  /**
   * The peer acknowledged `ack`: every byte before it was sent. If we hold
   * nothing for the hole, those bytes were not captured.
   */
  onPeerAcknowledgment(ack: number, time: number, frame: number): void {
    if (!this.active || this.nextSequence < 0 || this.finished) return;
    if (sequenceDelta(ack, this.nextSequence) <= 0) return;
    const first = this.pending[0];
    const holeEnd = first && sequenceDelta(first.sequence, ack) < 0 ? first.sequence : ack;
    const hole = sequenceDelta(holeEnd, this.nextSequence);
    // An ACK may also cover our FIN (one sequence number): not a data gap.
    if (hole <= 1 && !first) return;
    if (hole > 0) this.gap(hole, time, frame, 'lost');
    this.drainPending();
  }

  /** End of capture (or connection replaced): deliver what waits, with gaps between. */
  flush(time: number, frame: number): void {
    while (this.active && this.pending.length > 0) {
      this.skipToFirstPending(time, frame);
      this.drainPending();
    }
  }

  private skipToFirstPending(time: number, frame: number): void {
    const first = this.pending[0];
    if (!first) return;
    const hole = sequenceDelta(first.sequence, this.nextSequence);
    if (hole > 0) this.gap(hole, time, frame, 'lost');
  }

  private gap(length: number, time: number, frame: number, cause: 'lost' | 'snaplen'): void {
    this.nextSequence = (this.nextSequence + length) >>> 0;
    this.bytesMissing += length;
    this.consumer.onGap(length, time, frame, cause);
  }

  private deliver(sequence: number, payload: Uint8Array, start: number, end: number, missing: number, fin: boolean, time: number, frame: number): void {
    const skip = -sequenceDelta(sequence, this.nextSequence);
    const length = end - start;
    const total = length + missing;
    if (skip < total) {
      if (skip < length) {
        const from = skip > 0 ? start + skip : start;
        this.nextSequence = (this.nextSequence + end - from) >>> 0;
        this.bytesDelivered += end - from;
        this.consumer.onData(payload, from, end, time, frame);
        if (!this.active) return;
      }
      const missingLeft = total - Math.max(skip, length);
      if (missingLeft > 0) this.gap(missingLeft, time, frame, 'snaplen');
    }
    if (fin && skip <= total && !this.finished) {
      this.finished = true;
      this.nextSequence = (this.nextSequence + 1) >>> 0;
    }
  }

  private drainPending(): void {
    while (this.active && this.pending.length > 0) {
      const first = this.pending[0]!;
      if (sequenceDelta(first.sequence, this.nextSequence) > 0) return;
      this.pending.shift();
      this.pendingBytes -= first.data.length;
      this.deliver(first.sequence, first.data, 0, first.data.length, first.missing, first.fin, first.time, first.frame);
    }
  }

  private insertPending(segment: PendingSegment): void {
    if (this.pending === NO_PENDING) this.pending = [];
    const list = this.pending;
    let i = list.length;
    while (i > 0 && sequenceDelta(list[i - 1]!.sequence, segment.sequence) > 0) i--;
    // Same start as one we hold: keep the longer (a retransmission may carry more).
    const previous = list[i - 1];
    if (previous && previous.sequence === segment.sequence) {
      if (previous.data.length >= segment.data.length) return;
      this.pendingBytes -= previous.data.length;
      list[i - 1] = segment;
    } else {
      list.splice(i, 0, segment);
    }
    this.pendingBytes += segment.data.length;
  }
}
