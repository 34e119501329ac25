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
import { decodeFrameAt, DecodeResult, TCP_ACK, TCP_SYN, TcpPacket } from './net/decode-packet.js';
import { formatDuration } from './diagnose/format.js';
import type { Anomaly } from './report/types.js';

/** The anomaly code of a file whose packet times were shifted onto another file's clock. */
export const CLOCK_OFFSET_CODE = 'clock-offset';
/** The anomaly code of a capture on a clock drifting apart from another's (corrected, or said: see ClockDrift). */
export const CLOCK_DRIFT_CODE = 'clock-drift';

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

/**
 * A file's clock runs at another rate than another file's (unsynchronised hosts: quartz is off by
 * 20–50 ppm, 70–180 ms an hour): found where the same connections' ClientHello times differ by
 * a line in time, not by one shift (sharedPastHeads). Its times are brought onto the other's rate
 * around `at` (driftCorrection), before any shift (ClockOffset).
 */
export interface ClockDrift {
  /** How much faster the file's clock runs (seconds per second: 1e-4 is 100 ppm; negative: slower). */
  rate: number;
  /** Its own time that the correction leaves where it is (its first packet, so that its head reads as probed). */
  at: number;
  /** The file whose rate it is brought to (a capture's name). */
  against: string;
  /** Connections both files hold, whose ClientHello times the rate rests on. */
  connections: number;
}

/**
 * Seconds to add to a time of the file (on its own clock) to bring it onto the other file's rate:
 * the time `at` stays, and a second of its clock past it becomes 1 / (1 + rate) seconds.
 */
export function driftCorrection(time: number, drift: ClockDrift): number {
  return (time - drift.at) * (1 / (1 + drift.rate) - 1);
}

/** The anomaly that says a file's times were corrected for its clock's rate (ClockDrift). */
export function clockDriftAnomaly(file: string, drift: ClockDrift): Anomaly {
  const ppm = Math.abs(drift.rate) * 1e6;
  const hourly = formatDuration(Math.abs(driftCorrection(drift.at + 3600, drift)));
  return {
    kind: 'clock', code: CLOCK_DRIFT_CODE, file,
    message: `the file's clock runs ${ppm < 10 ? ppm.toFixed(1) : Math.round(ppm)} ppm ${drift.rate > 0 ? 'fast' : 'slow'} against ${drift.against}'s, from ${drift.connections} connection${drift.connections === 1 ? '' : 's'} both files hold (their ClientHellos' times lie on a line, not one shift apart): its packet times are corrected for the rate (${hourly} an hour), so that the packets both hold are read as one`,
  };
}

/** Where only one bound is known: the handshakes are put in order with this much room (0.1 ms). */
const MARGIN = 1e-4;

/** Handshakes kept from one head at most (a megabyte holds a few thousand). */
const MAX_HANDSHAKES = 4096;

/**
 * The TCP handshakes in a capture's head, keyed by "clientport serverport N", N the client's
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

/** A handshake as HandshakeSample keeps it: also its ports (client's << 16 | server's) and the number the client's ACK carries. */
interface SampledHandshake extends HandshakeTimes {
  ports: number;
  next: number;
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
  private readonly awaited = new AwaitedAcks();
  /** Only clients whose port is a multiple of this are kept. */
  private stride = 1;

  constructor(private readonly thinned: boolean) {}

  add(packet: TcpPacket, time: number): void {
    const syn = (packet.flags & TCP_SYN) !== 0;
    const ack = (packet.flags & TCP_ACK) !== 0;
    if (!syn) {
      // The client's first segment after its SYN carries sequence number ISN + 1 (past its data, with Fast Open).
      if (!ack) return;
      const known = this.awaited.take(packet.sequence | 0, (packet.sourcePort << 16) | packet.destinationPort);
      if (known !== undefined && !Number.isNaN(known.syn) && Number.isNaN(known.ack)) known.ack = time;
      return;
    }
    const clientPort = syn && ack ? packet.destinationPort : packet.sourcePort;
    if (clientPort % this.stride !== 0) return;
    const times = this.times;
    // The ports and the client's number name a connection (two clients with the same port, server
    // port and random ISN in one sample are a 2⁻³² chance); the addresses' texts cost ~1 µs a SYN.
    if (syn && !ack) {
      const ports = `${packet.sourcePort} ${packet.destinationPort}`;
      const next = (packet.sequence + 1) >>> 0;
      const key = `${ports} ${next}`;
      if (times.has(key) || !this.room()) return;
      const pair = (packet.sourcePort << 16) | packet.destinationPort;
      const handshake: SampledHandshake = { syn: time, synAck: NaN, ack: NaN, ports: pair, next: next | 0 };
      times.set(key, handshake);
      this.awaited.add(next | 0, pair, handshake);
      const data = packet.payloadEnd - packet.payloadStart + packet.missingPayload;
      if (data > 0) {
        // Fast Open: the same handshake, under the number that acknowledges its data too.
        const past = (next + data) >>> 0;
        times.set(`${ports} ${past}`, handshake);
        this.awaited.add(past | 0, pair, handshake);
      }
      return;
    }
    const key = `${packet.destinationPort} ${packet.sourcePort} ${packet.acknowledgment}`;
    const known = times.get(key);
    if (known === undefined) {
      const handshake: SampledHandshake = { syn: NaN, synAck: time, ack: NaN, ports: (packet.destinationPort << 16) | packet.sourcePort, next: packet.acknowledgment | 0 };
      if (this.room()) times.set(key, handshake);
    } else if (Number.isNaN(known.synAck)) {
      known.synAck = time;
    }
  }

  /** Whether another handshake may be kept (thinning the sample first, when it may). */
  private room(): boolean {
    if (this.times.size < MAX_HANDSHAKES) return true;
    if (!this.thinned) return false;
    this.stride *= 2;
    this.awaited.clear();
    for (const [key, t] of this.times as Map<string, SampledHandshake>) {
      if ((t.ports >>> 16) % this.stride !== 0) this.times.delete(key);
      else if (!Number.isNaN(t.syn) && Number.isNaN(t.ack)) this.awaited.add(t.next, t.ports, t);
    }
    return this.times.size < MAX_HANDSHAKES;
  }
}

/**
 * The shift of `other`'s clock onto `reference`'s: null when their heads share no handshake, or
 * when the handshakes they share disagree (ports reused, a head cut mid-handshake); 0 when the
 * clocks may agree.
 */
export function estimateOffset(reference: ReadonlyMap<string, HandshakeTimes>, other: ReadonlyMap<string, HandshakeTimes>): { seconds: number; handshakes: number } | null {
  const bounds = offsetBounds(reference, other);
  return bounds === null ? null : { seconds: shiftWithin(bounds.low, bounds.high), handshakes: bounds.handshakes };
}

/** The shifts of `other`'s clock onto `reference`'s that every handshake both show allows (see estimateOffset). */
export function offsetBounds(reference: ReadonlyMap<string, HandshakeTimes>, other: ReadonlyMap<string, HandshakeTimes>): { low: number; high: number; handshakes: number } | null {
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
  return { low, high, handshakes };
}

/** The shift taken within [low, high]: 0 where it fits (the clocks may agree), else the middle. */
export function shiftWithin(low: number, high: number): number {
  if (low <= 0 && high >= 0) return 0;
  // The middle, as NTP takes it: off by at most half the narrowest handshake's round trip.
  if (Number.isFinite(low) && Number.isFinite(high)) return (low + high) / 2;
  return low > 0 ? low + MARGIN : high - MARGIN;
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

/**
 * The handshakes HandshakeSample awaits the client's ACK of, by the sequence number and ports it
 * will carry, in an open-addressed table of 32-bit integers: asked of nearly every packet of a file
 * read merged, a Set of numbers (most beyond V8's small integers, boxed per lookup) and a text key
 * per match cost ~0.2 s per 250 MB. Holds at most 2 × MAX_HANDSHAKES; a handshake is let go once
 * its ACK came (a slot left as a tombstone), so the ClientHello after it (the same number) is not
 * looked up again.
 */
class AwaitedAcks {
  private readonly numbers = new Int32Array(4 * MAX_HANDSHAKES);
  private readonly ports = new Int32Array(4 * MAX_HANDSHAKES);
  /** 0: free; 1: in use; 2: let go (lookups go on past it). */
  private readonly state = new Uint8Array(4 * MAX_HANDSHAKES);
  private readonly handshakes: (HandshakeTimes | undefined)[] = new Array(4 * MAX_HANDSHAKES).fill(undefined);
  private lettings = 0;

  /** The handshake awaiting this ACK (let go from the table), if any. */
  take(number: number, ports: number): HandshakeTimes | undefined {
    const mask = this.numbers.length - 1;
    for (let i = slotOf(number, mask); this.state[i] !== 0; i = (i + 1) & mask) {
      if (this.state[i] === 1 && this.numbers[i] === number && this.ports[i] === ports) {
        this.state[i] = 2;
        this.lettings++;
        const handshake = this.handshakes[i];
        this.handshakes[i] = undefined;
        return handshake;
      }
    }
    return undefined;
  }

  add(number: number, ports: number, handshake: HandshakeTimes): void {
    // Tombstones lengthen every lookup: past a table's worth, it is built again (by the sample's thinning, or here).
    if (this.lettings > MAX_HANDSHAKES) this.compact();
    const mask = this.numbers.length - 1;
    let i = slotOf(number, mask);
    while (this.state[i] === 1) i = (i + 1) & mask;
    this.numbers[i] = number;
    this.ports[i] = ports;
    this.state[i] = 1;
    this.handshakes[i] = handshake;
  }

  clear(): void {
    this.state.fill(0);
    this.handshakes.fill(undefined);
    this.lettings = 0;
  }

  private compact(): void {
    const kept: [number, number, HandshakeTimes][] = [];
    for (let i = 0; i < this.state.length; i++) if (this.state[i] === 1) kept.push([this.numbers[i]!, this.ports[i]!, this.handshakes[i]!]);
    this.clear();
    for (const [number, ports, handshake] of kept) this.add(number, ports, handshake);
  }
}

function slotOf(number: number, mask: number): number {
  return (Math.imul(number, 0x9e3779b1) >>> 18) & mask;
}
