// IP fragment reassembly (RFC 791 §3.2 for IPv4, RFC 8200 §4.5 for IPv6): the packets stage puts a
// datagram back together from its fragments, so that what was cut on the way (a tunnel's packets
// grown past the path's MTU, a host that fragments) is analysed like any packet. Stateful and
// bounded: fragments wait at most FRAGMENT_TIMEOUT seconds of capture time (Linux's ipfrag_time) and
// MAX_PENDING_BYTES in all; a datagram that never completes is reported, not guessed.

import type { TcpPacket } from './decode-packet.js';

/** What add() gives back is a bare IP packet: LINKTYPE_RAW (tcpdump.org/linktypes.html) to decodeFrame. */
export const LINKTYPE_RAW = 101;
/** Seconds of capture time a datagram's fragments wait for the rest (Linux net.ipv4.ipfrag_time). */
export const FRAGMENT_TIMEOUT = 30;
/** Fragment bytes held at most, over all datagrams: the oldest is given up beyond it. */
const MAX_PENDING_BYTES = 8 << 20;
/** Fragments of one datagram kept at most (tiny overlapping fragments are an attack, not traffic). */
const MAX_PIECES = 128;
/** RFC 791 §3.1 / RFC 8200 §3: a datagram's payload fits in 16 bits of length. */
const MAX_PAYLOAD = 65535;

export interface UnfinishedDatagram {
  /** Time of its first fragment, the frame it came in and that frame's byte offset in its file (-1: unknown). */
  time: number;
  frame: number;
  offset: number;
  /** Payload bytes received, and the datagram's payload length when its last fragment came (-1 before). */
  received: number;
  total: number;
  /** Why it was given up. */
  why: 'timeout' | 'memory' | 'end of capture' | 'snaplen' | 'malformed';
}

interface Pending {
  /** The unfragmentable part (IPv4 header; IPv6 header and extension headers before the fragment header), from the first fragment. */
  header: Uint8Array | null;
  nextHeaderAt: number;
  protocol: number;
  ipVersion: 4 | 6;
  offsets: number[];
  pieces: Uint8Array[];
  received: number;
  total: number;
  time: number;
  frame: number;
  offset: number;
}

/** Datagrams being put back together, by version, addresses, protocol and identification. */
export class IpFragmentReassembler {
  private readonly pending = new Map<string, Pending>();
  private pendingBytes = 0;

  constructor(private readonly onUnfinished: (d: UnfinishedDatagram) => void) {}

  /** Datagrams waiting for fragments. */
  get size(): number {
    return this.pending.size;
  }

  /** Whether the datagram of this fragmentKey() is still waiting for fragments. */
  has(key: string): boolean {
    return this.pending.has(key);
  }

  /**
   * The fragment decodeFrame just described in `packet` (DecodeResult.Fragment). Returns the whole
   * datagram (an IP packet, as LINKTYPE_RAW) once its last missing fragment came, else null.
   */
  add(packet: TcpPacket, time: number, frame: number, fileOffset = -1): Uint8Array | null {
    this.expire(time);
    const key = fragmentKey(packet);
    let entry = this.pending.get(key);
    if (entry === undefined) {
      entry = {
        header: null, nextHeaderAt: -1, protocol: packet.fragmentProtocol, ipVersion: packet.ipVersion, offsets: [], pieces: [],
        received: 0, total: -1, time, frame, offset: fileOffset,
      };
      this.pending.set(key, entry);
    }
    const data = packet.payloadBytes.subarray(packet.payloadStart, packet.payloadEnd);
    if (data.length < packet.fragmentLength) {
      // Cut by snaplen: the datagram cannot be made whole.
      this.giveUp(key, entry, 'snaplen');
      return null;
    }
    const offset = packet.fragmentOffset;
    const end = offset + data.length;
    // Data past the datagram's end (its last fragment says where that is), or two different ends:
    // the fragments contradict each other, and none of them is to be believed.
    const inconsistent = packet.fragmentMore
      ? entry.total >= 0 && end > entry.total
      : (entry.total >= 0 && entry.total !== end) || entry.pieces.some((piece, i) => entry.offsets[i]! + piece.length > end);
    if (end > MAX_PAYLOAD || entry.pieces.length >= MAX_PIECES || inconsistent) {
      this.giveUp(key, entry, 'malformed');
      return null;
    }
    if (offset === 0) {
      entry.header = packet.payloadBytes.slice(packet.fragmentHeaderStart, packet.fragmentHeaderEnd);
      entry.nextHeaderAt = packet.fragmentNextHeaderAt < 0 ? -1 : packet.fragmentNextHeaderAt - packet.fragmentHeaderStart;
    }
    if (!packet.fragmentMore) entry.total = end;
    entry.offsets.push(offset);
    entry.pieces.push(data.slice());
    entry.received += data.length;
    this.pendingBytes += data.length;
    if (this.pendingBytes > MAX_PENDING_BYTES) this.giveUpOldest();
    // (Repeated fragments count too: a datagram of many copies may be the one given up.)
    if (!this.pending.has(key) || entry.header === null || entry.total < 0 || !covers(entry)) return null;
    this.pending.delete(key);
    this.pendingBytes -= entry.received;
    return assemble(entry);
  }

  /** Gives up the datagrams whose first fragment is more than FRAGMENT_TIMEOUT seconds older than `now`. */
  expire(now: number): void {
    // In arrival order: the oldest first.
    for (const [key, entry] of this.pending) {
      if (now - entry.time <= FRAGMENT_TIMEOUT) break;
      this.giveUp(key, entry, 'timeout');
    }
  }

  /** The end of the capture: every datagram still waiting is given up. */
  finish(): void {
    for (const [key, entry] of this.pending) this.giveUp(key, entry, 'end of capture');
  }

  private giveUpOldest(): void {
    for (const [key, entry] of this.pending) {
      this.giveUp(key, entry, 'memory');
      if (this.pendingBytes <= MAX_PENDING_BYTES) return;
    }
  }

  private giveUp(key: string, entry: Pending, why: UnfinishedDatagram['why']): void {
    if (!this.pending.delete(key)) return;
    this.pendingBytes -= entry.received;
    this.onUnfinished({ time: entry.time, frame: entry.frame, offset: entry.offset, received: entry.received, total: entry.total, why });
  }
}

/** Which datagram a fragment belongs to: IP version, protocol, identification and both addresses. */
export function fragmentKey(p: TcpPacket): string {
  let key = `${p.ipVersion}|${p.fragmentProtocol}|${p.fragmentId}|`;
  for (let i = 0; i < p.addressLength; i++) key += String.fromCharCode(p.sourceBytes[p.sourceOffset + i]!);
  key += '|';
  for (let i = 0; i < p.addressLength; i++) key += String.fromCharCode(p.destinationBytes[p.destinationOffset + i]!);
  return key;
}

/** Every byte of [0, total) came (fragments may arrive in any order, repeated or overlapping). */
function covers(entry: Pending): boolean {
  const order = entry.offsets.map((_, i) => i).sort((a, b) => entry.offsets[a]! - entry.offsets[b]!);
  let reached = 0;
  for (const i of order) {
    const start = entry.offsets[i]!;
    if (start > reached) return false;
    reached = Math.max(reached, start + entry.pieces[i]!.length);
  }
  return reached >= entry.total;
}

/** The datagram: the first fragment's header with its lengths and fragment fields set for a whole one, then the data. */
function assemble(entry: Pending): Uint8Array {
  const header = entry.header!;
  const datagram = new Uint8Array(header.length + entry.total);
  datagram.set(header, 0);
  // Later fragments do not overwrite earlier ones (RFC 5722 drops overlaps in IPv6; first come here).
  const order = entry.offsets.map((_, i) => i).reverse();
  for (const i of order) datagram.set(entry.pieces[i]!, header.length + entry.offsets[i]!); // every piece ends by `total` (see add)
  const view = new DataView(datagram.buffer);
  if (entry.ipVersion === 4) {
    view.setUint16(2, header.length + entry.total); // total length
    view.setUint16(6, view.getUint16(6) & 0x4000); // keep DF; no MF, offset 0
  } else {
    view.setUint16(4, header.length - 40 + entry.total); // payload length
    datagram[entry.nextHeaderAt] = entry.protocol;
  }
  return datagram;
}
