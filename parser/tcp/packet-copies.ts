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
 * Packets remembered (a power of two): far more than come in COPY_WITHIN on a busy link (500 at
 * 100,000 a second), few enough that the table (~450 KB) stays in the cache (65,536 slots cost
 * ~75 ms of misses per 250 MB read merged).
 */
const SLOTS = 1 << 14;

/**
 * Finds the second copy of each TCP packet read from two files. A packet is the same when its
 * ports, sequence and acknowledgment numbers, flags and payload length are, coming from another
 * file within COPY_WITHIN; the same packet from the same file is the sender's own (a retransmitted
 * segment, a duplicate ACK) and stays. A retransmission the other file alone holds a few
 * milliseconds after the first is taken for a copy: TCP's shortest retransmission timeout is far
 * longer (RFC 6298 §2.4: 1 s; Linux: 200 ms).
 *
 * Each packet is remembered in one of two slots chosen by a hash of those fields, over the older
 * of what they held (a packet gone by, or another one: then a copy may be missed and counted
 * twice, never a packet taken for another's copy), in typed arrays: every TCP packet of the files
 * is asked.
 */
export class PacketCopies {
  private readonly sequence = new Int32Array(SLOTS);
  private readonly acknowledgment = new Int32Array(SLOTS);
  private readonly ports = new Int32Array(SLOTS);
  /** Flags (low 8 bits) and payload length above them. */
  private readonly flagsAndLength = new Int32Array(SLOTS);
  private readonly time = new Float64Array(SLOTS).fill(-Infinity);
  /**
   * The files the packet came from so far, a bit each (a file's number modulo 31: files that far
   * apart in a reading are rotated parts, not open at once).
   */
  private readonly from = new Int32Array(SLOTS);
  private files = 0;

  /** The bit a file's packets are known by (isCopy), one per file opened. */
  fileBit(): number {
    return 1 << (this.files++ % 31);
  }

  /** True when `packet` (just decoded, at `time`, from the file `bit` names) is a copy of one another file held. */
  isCopy(packet: TcpPacket, time: number, bit: number): boolean {
    const sequence = packet.sequence | 0;
    const acknowledgment = packet.acknowledgment | 0;
    const ports = (packet.sourcePort << 16) | packet.destinationPort;
    const flagsAndLength = (packet.flags & 0xff) | ((packet.payloadEnd - packet.payloadStart) << 8);
    let hash = Math.imul(sequence ^ 0x2545f491, 0x9e3779b1);
    hash = Math.imul(hash ^ acknowledgment, 0x85ebca6b);
    hash = Math.imul(hash ^ ports, 0xc2b2ae35);
    hash = Math.imul(hash ^ flagsAndLength, 0x27d4eb2f);
    // Two slots side by side per hash (one cache line): a copy is missed only if two other packets
    // of the same pair of slots came between it and its packet (with one slot, 2 of a farm's
    // 13,000 copies were).
    const pair = (hash ^ (hash >>> 15)) & (SLOTS - 2);
    for (let slot = pair; slot <= pair + 1; slot++) {
      if (this.sequence[slot] === sequence && this.acknowledgment[slot] === acknowledgment && this.ports[slot] === ports &&
          this.flagsAndLength[slot] === flagsAndLength && Math.abs(time - this.time[slot]!) <= COPY_WITHIN) {
        const from = this.from[slot]!;
        if ((from & bit) === 0) {
          this.from[slot] = from | bit;
          return true;
        }
        // The same packet from this file again is its sender's own (a retransmission only this
        // file holds, or one both hold, whose copy comes next): a new packet, in this slot.
        this.remember(slot, sequence, acknowledgment, ports, flagsAndLength, time, bit);
        return false;
      }
    }
    // Over the older of the two.
    this.remember(this.time[pair]! <= this.time[pair + 1]! ? pair : pair + 1, sequence, acknowledgment, ports, flagsAndLength, time, bit);
    return false;
  }

  private remember(slot: number, sequence: number, acknowledgment: number, ports: number, flagsAndLength: number, time: number, bit: number): void {
    this.sequence[slot] = sequence;
    this.acknowledgment[slot] = acknowledgment;
    this.ports[slot] = ports;
    this.flagsAndLength[slot] = flagsAndLength;
    this.time[slot] = time;
    this.from[slot] = bit;
  }

}
