// Two captures of one link that overlap in time hold the same packets (one host's capture started
// before another's ended, two hosts capturing the same hour). Read merged by packet time (see
// merged-reading.ts), each packet of the overlap comes twice, once from each file, within the
// clocks' remaining difference. TCP would take the second copy as a retransmission and the
// analysis kept it (the bytes are delivered once), but each connection of the overlap counted its
// packets twice and `--pcapng-out` wrote them twice (as `editcap -D` would be needed to undo).

import type { TcpPacket } from '../net/decode-packet.js';

/**
 * A copy of a packet comes within this long of the packet from another file (seconds): the clocks
 * are brought within ~a millisecond of each other (merged-reading.ts: SAME_PACKET_SPREAD).
 */
const COPY_WITHIN = 5e-3;

/**
 * Finds the second copy of each TCP packet read from two files. A packet is the same when its
 * ports, sequence and acknowledgment numbers, flags and payload length are, coming from another
 * file within COPY_WITHIN; the same packet from the same file is the sender's own (a retransmitted
 * segment, a duplicate ACK) and stays. A retransmission the other file alone holds a few
 * milliseconds after the first is taken for a copy: TCP's shortest retransmission timeout is far
 * longer (RFC 6298 §2.4: 1 s; Linux: 200 ms).
 */
export class PacketCopies {
  /** The latest packet seen of each kind: its time and the file it came from. */
  private readonly latest = new Map<string, { time: number; file: object }>();
  /** Keys in the order seen, to let them go once COPY_WITHIN has passed. */
  private readonly seen: { key: string; time: number }[] = [];
  private oldest = 0;

  /** True when `packet` (just decoded, at `time`, from `file`) is a copy of one another file held. */
  isCopy(packet: TcpPacket, time: number, file: object): boolean {
    this.forgetBefore(time - 2 * COPY_WITHIN);
    const key = `${packet.sourcePort} ${packet.destinationPort} ${packet.sequence} ${packet.acknowledgment} ${packet.flags} ${packet.payloadEnd - packet.payloadStart}`;
    const latest = this.latest.get(key);
    if (latest !== undefined && latest.file !== file && Math.abs(time - latest.time) <= COPY_WITHIN) return true;
    this.latest.set(key, { time, file });
    this.seen.push({ key, time });
    return false;
  }

  private forgetBefore(time: number): void {
    const seen = this.seen;
    while (this.oldest < seen.length && seen[this.oldest]!.time < time) {
      const { key, time: at } = seen[this.oldest++]!;
      if (this.latest.get(key)?.time === at) this.latest.delete(key);
    }
    // The list is cut back now and then rather than shifted per packet.
    if (this.oldest > 4096 && this.oldest * 2 > seen.length) {
      seen.splice(0, this.oldest);
      this.oldest = 0;
    }
  }
}
