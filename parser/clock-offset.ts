// Files of one connection set taken on different clocks: a file per direction of a tap written by
// two capture hosts, or two hosts' captures of the same link. Read merged by packet time (see
// merged-reading.ts), a clock a few tenths of a second off puts each ServerHello before its
// ClientHello; two seconds off, and every connection came out twice, each half "one-way" (the
// simulated idle-timeout farm split by direction: 718 connections for 359).
//
// The offset is bounded by causality, as NTP bounds a clock by a request and its reply: the SYN-ACK
// answers the SYN, and the client's next packet answers the SYN-ACK (RFC 9293 §3.5). Where one file
// holds a connection's SYN and the other its SYN-ACK, the shift s of the second file's clock obeys
//   SYN ≤ SYN-ACK + s ≤ client's first ACK.
// Over all the connections both files' first megabytes hold, s lies in the intersection of these
// intervals; a file is shifted only when that excludes 0 (its clock demonstrably off), and then by
// the interval's middle.

import { Frame } from './capture/frame.js';
import { isPcapMagic, PcapReader } from './capture/pcap-reader.js';
import { PcapngReader } from './capture/pcapng-reader.js';
import { decodeFrameAt, DecodeResult, formatAddress, TCP_ACK, TCP_SYN, TcpPacket } from './net/decode-packet.js';
import { formatDuration } from './diagnose/format.js';
import type { Anomaly } from './report/types.js';

/** The anomaly code of a file whose packet times were shifted onto another file's clock. */
export const CLOCK_OFFSET_CODE = 'clock-offset';

/** What a file's head shows of one connection's TCP handshake (seconds; NaN: not in the file). */
export interface HandshakeTimes {
  /** The client's SYN. */
  syn: number;
  /** The server's SYN-ACK. */
  synAck: number;
  /** The client's first packet after its SYN that acknowledges (answers the SYN-ACK). */
  ack: number;
}

/** A file's shift onto another file's clock, and what it rests on. */
export interface ClockOffset {
  /** Seconds added to each of the file's packet times. */
  seconds: number;
  /** The file whose clock it is brought to (a capture's name). */
  against: string;
  /** Connections whose handshake both files show, which bound the shift. */
  handshakes: number;
  /** None did: the shift is that of this earlier file of the same side (an earlier part of a rotation). */
  like?: string;
  /**
   * Connections both files hold whole (overlapping captures of one link, found after a first
   * reading): the shift is the difference of their ClientHellos' times, the same packets.
   */
  connections?: number;
}

/** Where only one bound is known: the handshakes are put in order with this much room (0.1 ms). */
const MARGIN = 1e-4;

/** Handshakes kept from one head at most (a megabyte holds a few thousand). */
const MAX_HANDSHAKES = 4096;

/**
 * The TCP handshakes in a capture's head, keyed by "client|port server|port N", N the client's
 * sequence number after its SYN (ISN + 1, RFC 9293 §3.4): the client's initial sequence number
 * names the connection, so that a port pair used again is another one, and a SYN-ACK
 * (acknowledging N) is paired with its own SYN only. Keyed by the ports alone, a farm's port
 * reused minutes later paired a SYN with another connection's SYN-ACK and would bound the shift by
 * minutes. A SYN that carries data (TCP Fast Open, RFC 7413 §3) is acknowledged past it, at ISN +
 * 1 + its length, or at ISN + 1 when the server did not take the data: it is keyed by both. A head
 * that is no capture gives none.
 */
export function handshakeTimes(head: Uint8Array, name: string): Map<string, HandshakeTimes> {
  const sample = new HandshakeSample(false);
  const packet = new TcpPacket();
  const onFrame = (frame: Frame) => {
    if (decodeFrameAt(frame.linkType, frame.bytes, frame.start, frame.end, frame.originalLength, packet) === DecodeResult.Tcp) sample.add(packet, frame.time);
  };
  const ignore = () => {};
  try {
    const reader = isPcapMagic(head) ? new PcapReader(onFrame, ignore, name) : new PcapngReader(onFrame, ignore, name);
    reader.push(head);
  } catch {
    // What was read before the damage bounds the offset as well.
  }
  return sample.times;
}

/**
 * The TCP handshakes of a file's packets as they are read (see handshakeTimes for the keys). A
 * head keeps its first MAX_HANDSHAKES. A whole file (`thinned`) keeps handshakes from all of it:
 * when the sample is full, only clients whose port is a multiple of twice the stride before stay.
 * Two files thinned so keep the same connections where they hold them (a port is kept or dropped
 * in both), so the files' samples still meet wherever their times overlap: direction files of two
 * capture hosts that started minutes apart share no handshake in their heads (review: a server
 * direction 3 s off, read merged on the two clocks, made 799 of 1,196 handshakes "aborted").
 */
export class HandshakeSample {
  readonly times = new Map<string, HandshakeTimes>();
  // The sequence numbers after the SYNs whose ACK is awaited: most packets are neither, and are
  // let go on a number, without the texts of their addresses (the pass is ~40 % of a file's probe).
  private readonly awaited = new Set<number>();
  /** Only clients whose port is a multiple of this are kept. */
  private stride = 1;

  constructor(private readonly thinned: boolean) {}

  add(packet: TcpPacket, time: number): void {
    const syn = (packet.flags & TCP_SYN) !== 0;
    const ack = (packet.flags & TCP_ACK) !== 0;
    if (!syn && !(ack && this.awaited.has(packet.sequence))) return;
    const clientPort = syn && ack ? packet.destinationPort : packet.sourcePort;
    if (clientPort % this.stride !== 0) return;
    const times = this.times;
    const source = `${formatAddress(packet.source)}|${packet.sourcePort}`;
    const destination = `${formatAddress(packet.destination)}|${packet.destinationPort}`;
    if (syn && !ack) {
      const next = (packet.sequence + 1) >>> 0;
      const key = `${source} ${destination} ${next}`;
      if (times.has(key) || !this.room()) return;
      const handshake = { syn: time, synAck: NaN, ack: NaN };
      times.set(key, handshake);
      this.awaited.add(next);
      const data = packet.payloadEnd - packet.payloadStart + packet.missingPayload;
      if (data > 0) {
        // Fast Open: the same handshake, under the number that acknowledges its data too.
        const past = (next + data) >>> 0;
        times.set(`${source} ${destination} ${past}`, handshake);
        this.awaited.add(past);
      }
      return;
    }
    if (syn && ack) {
      const key = `${destination} ${source} ${packet.acknowledgment}`;
      const known = times.get(key);
      if (known === undefined) {
        if (this.room()) times.set(key, { syn: NaN, synAck: time, ack: NaN });
      } else if (Number.isNaN(known.synAck)) {
        known.synAck = time;
      }
      return;
    }
    // The client's first segment after its SYN carries sequence number ISN + 1 (past its data, with Fast Open).
    const known = times.get(`${source} ${destination} ${packet.sequence}`);
    if (known !== undefined && !Number.isNaN(known.syn) && Number.isNaN(known.ack)) known.ack = time;
  }

  /** Whether another handshake may be kept (thinning the sample first, when it may). */
  private room(): boolean {
    if (this.times.size < MAX_HANDSHAKES) return true;
    if (!this.thinned) return false;
    this.stride *= 2;
    this.awaited.clear();
    for (const [key, t] of this.times) {
      // "client|port server|port next": the client's port, and the number its ACK will carry.
      const port = Number(key.slice(key.indexOf('|') + 1, key.indexOf(' ')));
      if (port % this.stride !== 0) this.times.delete(key);
      else if (Number.isNaN(t.ack)) this.awaited.add(Number(key.slice(key.lastIndexOf(' ') + 1)));
    }
    return this.times.size < MAX_HANDSHAKES;
  }
}

/**
 * The shift of `other`'s clock onto `reference`'s: null when their heads share no handshake, or
 * when the handshakes they share disagree (ports reused, a head cut mid-handshake); 0 when the
 * clocks may agree.
 */
export function estimateOffset(reference: Map<string, HandshakeTimes>, other: Map<string, HandshakeTimes>): { seconds: number; handshakes: number } | null {
  let low = -Infinity;
  let high = Infinity;
  let handshakes = 0;
  for (const [connection, o] of other) {
    const r = reference.get(connection);
    if (r === undefined) continue;
    let bounded = false;
    // The reference's SYN, the other's SYN-ACK: SYN ≤ SYN-ACK + s ≤ ACK.
    if (!Number.isNaN(r.syn) && !Number.isNaN(o.synAck)) {
      low = Math.max(low, r.syn - o.synAck);
      if (!Number.isNaN(r.ack)) high = Math.min(high, r.ack - o.synAck);
      bounded = true;
    }
    // The other's SYN, the reference's SYN-ACK: SYN + s ≤ SYN-ACK ≤ ACK + s.
    if (!Number.isNaN(o.syn) && !Number.isNaN(r.synAck)) {
      high = Math.min(high, r.synAck - o.syn);
      if (!Number.isNaN(o.ack)) low = Math.max(low, r.synAck - o.ack);
      bounded = true;
    }
    if (bounded) handshakes++;
  }
  if (handshakes === 0 || low > high) return null;
  if (low <= 0 && high >= 0) return { seconds: 0, handshakes };
  // The middle, as NTP takes it: off by at most half the narrowest handshake's round trip.
  if (Number.isFinite(low) && Number.isFinite(high)) return { seconds: (low + high) / 2, handshakes };
  return { seconds: low > 0 ? low + MARGIN : high - MARGIN, handshakes };
}

/** The capture's note that its times were shifted (kind 'clock', `seconds` the shift). */
export function clockOffsetAnomaly(file: string, offset: ClockOffset): Anomaly {
  const size = formatDuration(Math.abs(offset.seconds));
  const relation = `${size} ${offset.seconds > 0 ? 'behind' : 'ahead of'} ${offset.against}'s`;
  const move = `its packet times are moved ${offset.seconds > 0 ? '+' : '−'}${size}`;
  if (offset.connections !== undefined && offset.like === undefined) {
    return {
      kind: 'clock', code: CLOCK_OFFSET_CODE, file, seconds: offset.seconds,
      message: `the file's clock reads ${relation}, from ${offset.connections} connection${offset.connections === 1 ? '' : 's'} both files hold (their ClientHellos' times): ${move}, so that the packets both hold are read as one (read merged on the two clocks, each would be counted twice)`,
    };
  }
  const reads = offset.like !== undefined
    ? `is taken to read ${relation}, as ${offset.like}'s, the earlier file of the same direction (no handshake in its first megabyte is in another file)`
    : `reads ${relation}, from ${offset.handshakes} TCP handshake${offset.handshakes === 1 ? '' : 's'} whose SYN is in one file and SYN-ACK in the other`;
  return {
    kind: 'clock', code: CLOCK_OFFSET_CODE, file, seconds: offset.seconds,
    message: `the file's clock ${reads}: ${move}, so that each SYN-ACK comes after its SYN (read merged on the two clocks, each handshake's packets would be out of order)`,
  };
}

/**
 * A frame's times moved by `seconds`: `time`, and the capture time it is written with again
 * (wholeSeconds, nanoseconds), so that an exported file's packets read as they were analysed.
 */
export function shiftFrameTime(frame: Frame, seconds: number): void {
  const nanos = Math.round(seconds * 1e9);
  let whole = frame.wholeSeconds + Math.trunc(nanos / 1e9);
  let nanoseconds = frame.nanoseconds + (nanos % 1e9);
  if (nanoseconds >= 1e9) {
    nanoseconds -= 1e9;
    whole++;
  } else if (nanoseconds < 0) {
    nanoseconds += 1e9;
    whole--;
  }
  frame.wholeSeconds = whole;
  frame.nanoseconds = nanoseconds;
  frame.time += seconds;
}
