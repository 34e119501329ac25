import type { Abort, ConnectionRecord, ConnectionSink, Endpoint } from '../report/types.js';
import { TlsConnection, type PacketPosition } from '../session/tls-connection.js';
import { formatAddress, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TcpPacket } from '../net/decode-packet.js';
import { MAX_PENDING_BYTES, sequenceDelta, StreamReassembler, type StreamConsumer } from './stream-reassembler.js';

/**
 * Capture-time seconds after the close (FIN both ways or RST) before a flow is finished; packets
 * of it until then (the last ACK, a retransmitted FIN) still count. Zeek waits as long
 * (tcp_close_delay = 5 s). Finishing closed flows promptly matters beyond memory: a flow that
 * outlives two young-generation collections is promoted to old space with all it holds. At 10 s,
 * with sweeps every ~40 s of capture, nearly every connection's objects were; at 5 s with sweeps
 * as below (and the bucket array, see FlowTable), a tenth of the bytes are, and reading the 1 GB
 * bench is ~11 % faster. Most closed flows now linger as a shell of ~0.3 KB (see FlowTable.seal).
 */
const CLOSED_LINGER = 5;
/** A flow with no packet for this long is finished (its record goes out). */
const IDLE_TIMEOUT = 600;
/**
 * Closed flows are finished from a queue in the order they closed. A sweep of every live flow
 * (for the idle ones) comes after at least this many packets and at least as many packets as
 * there are live flows, so that it costs O(1) a packet whatever the load...
 */
const SWEEP_EVERY_PACKETS = 4096;
/** ... and at least this many capture seconds after the last one. */
const SWEEP_INTERVAL = 30;
/**
 * A packet this far (seconds) behind the latest one restarts the capture clock (see restartClock):
 * two captures of the same hour appended into one file (`mergecap -a`). Packets a little out of
 * order (a merge of two interfaces, queueing in the capture path) stay far below it.
 */
export const CLOCK_STEP_BACK = 30;
const MAX_PENDING_EMPTY = 100000;
/**
 * Capture seconds by which a capture may write a packet after one the other side sent later: two
 * captures of one direction each merged (`mergecap`) from hosts whose clocks differ by a few ms, a
 * two-port tap, a NIC that queues a connection's two directions apart. Each keeps the order within
 * a direction, not across. So a segment may come after the peer's ACK of it (see HeldPackets), a
 * SYN/ACK before its SYN (see answeredSyn). A second is far more than clocks kept by NTP differ.
 */
const CROSS_DIRECTION_REORDER = 1;
/** Packets (and their payload bytes) one flow holds back at most (see HeldPackets); then they go on. */
const MAX_HELD_PACKETS = 64;
const MAX_HELD_BYTES = 256 * 1024;
/** Flow-table buckets to start with (a power of two). */
const INITIAL_BUCKETS = 1024;

/**
 * What a sealed flow holds instead of its TLS state and reassemblers (see FlowTable.seal): one
 * inert set for all, so that a flow's fields keep their types. Nothing reads or writes them: the
 * table handles a sealed flow's packets apart.
 */
const NO_CONSUMER: StreamConsumer = { onData() {}, onGap() {} };
const SEALED_TLS = new TlsConnection('');
const SEALED_REASSEMBLERS: [StreamReassembler, StreamReassembler] = [new StreamReassembler(NO_CONSUMER), new StreamReassembler(NO_CONSUMER)];
for (const r of SEALED_REASSEMBLERS) r.stop();

/** One TCP connection: two directions, each reassembled and fed to its TLS stream. */
export class TcpFlow {
  /** Built from the address words when first asked for (records, TLS servers): most flows never hold them. */
  private endpointPair: [Endpoint, Endpoint] | null = null;
  /** 4 (IPv4) or 16 (IPv6) bytes per address. */
  addressLength = 4;
  reassemblers: [StreamReassembler, StreamReassembler];
  tls: TlsConnection;
  /** What the sink named the record made at the close (see FlowTable.seal); -1 while none was made. */
  recordHandle = -1;
  packets = 0;
  lastTime: number;
  endTime: number;
  // Per-side facts are pairs of fields, not two-element arrays: whatever a flow holds is copied by
  // each scavenge it lives through (and promoted at the second); fields cost nothing extra.
  /** Initial sequence numbers from SYNs (-1: none yet), to tell a reused port from a retransmitted SYN. */
  initialSequence0 = -1;
  initialSequence1 = -1;
  /** Bit 0: side 0 sent a FIN; bit 1: side 1 did. */
  finSides = 0;
  rstSeen = false;
  closedAt = -1;
  abort: Abort | null = null;
  payloadSeen = false;

  /** Its record went out (or it was dropped): entries of it left in the closing queue are stale. */
  finished = false;

  /** Next flow with the same hash (chaining in FlowTable). */
  nextInBucket: TcpFlow | null = null;
  /** Side 0's and side 1's address words (IPv4: word 0 only) and ports: the flow's identity. */
  a0 = 0; a1 = 0; a2 = 0; a3 = 0;
  b0 = 0; b1 = 0; b2 = 0; b3 = 0;
  port0 = 0;
  port1 = 0;
  reportedServer = false;
  /** Bit 0: a packet of side 0 was captured; bit 1: one of side 1. */
  sidesSeen = 0;
  /**
   * One-way captures (asymmetric routing, a tap on one direction): the low 30 bits (small integers
   * stay unboxed) of the first ACK sent while the other side had shown no packet (-1: none), and
   * whether a later one acknowledged data of that side the capture never held.
   */
  firstBlindAck = -1;
  unseenDataAcknowledged = false;
  /** Packets of one side waiting for bytes of the other they acknowledge (null: none, nearly always). */
  held: HeldPackets | null = null;

  constructor(
    readonly hash: number,
    /** Flows made before it in its table (see byFirstPacket). */
    readonly serial: number,
    readonly startTime: number,
    readonly firstFrame: number,
    readonly file: string,
    position?: PacketPosition,
  ) {
    this.lastTime = startTime;
    this.endTime = startTime;
    this.tls = new TlsConnection(file, position);
    this.reassemblers = [new StreamReassembler(new FlowSide(this, 0)), new StreamReassembler(new FlowSide(this, 1))];
  }

  /** Side 0's and side 1's address and port. */
  endpoints(texts: AddressTexts): [Endpoint, Endpoint] {
    return this.endpointPair ??= [
      { ip: texts.of(this.addressLength, this.a0, this.a1, this.a2, this.a3), port: this.port0 },
      { ip: texts.of(this.addressLength, this.b0, this.b1, this.b2, this.b3), port: this.port1 },
    ];
  }

  /**
   * One side's address and port as a key, from the words: for IPv4 a number (address × 65536 +
   * port, exact below 2^48), no string at all; for IPv6 a string of the words.
   */
  endpointKey(side: 0 | 1): number | string {
    if (this.addressLength === 4) return side === 0 ? this.a0 * 65536 + this.port0 : this.b0 * 65536 + this.port1;
    return side === 0 ? `${this.a0}|${this.a1}|${this.a2}|${this.a3}|${this.port0}` : `${this.b0}|${this.b1}|${this.b2}|${this.b3}|${this.port1}`;
  }

  initialSequenceOf(side: 0 | 1): number {
    return side === 0 ? this.initialSequence0 : this.initialSequence1;
  }

  /** Bytes of one side, reassembled in order (bytes[start, end)), go to that side's TLS stream. */
  onData(side: 0 | 1, bytes: Uint8Array, start: number, end: number, time: number, frame: number): void {
    this.tls.streams[side].push(bytes, time, frame, start, end);
    this.afterTls();
  }

  onGap(side: 0 | 1, length: number, time: number, frame: number, cause: 'lost' | 'snaplen'): void {
    const tls = this.tls;
    if (!tls.established && cause === 'snaplen') tls.handshakeBytesCut = true;
    else if (!tls.established) tls.handshakeBytesLost = true;
    if (cause === 'snaplen') {
      if (!tls.established) tls.anomaly({ kind: 'truncated', code: 'snaplen', message: `${length} bytes of TCP payload not captured (snaplen)`, file: this.file, frame });
    } else if (!tls.established) {
      tls.anomaly({ kind: 'gap', code: 'tcp-gap', message: `${length} bytes missing from the ${side === tls.clientSide ? 'client' : 'server'} stream`, file: this.file, frame });
    }
    tls.streams[side].gap(length, frame, cause, time);
    this.afterTls();
  }

  /** The capture holds one direction of this connection only, and the other sent data: its handshake cannot be followed. */
  onOneWay(): void {
    const tls = this.tls;
    if (tls.established) return;
    tls.handshakeBytesLost = true;
    const missing = this.sidesSeen === 1 ? 1 : 0;
    const who = tls.clientSide < 0 ? `side ${missing}` : missing === tls.clientSide ? 'client' : 'server';
    tls.anomaly({ kind: 'gap', code: 'one-way', message: `no packet of the ${who} was captured, though the other side acknowledged its data: the capture holds one direction only (asymmetric routing, a one-way tap)`, file: this.file, frame: this.firstFrame });
  }

  /** Stop reassembling once nothing more is learnt: handshake established, or the stream is not TLS. */
  private afterTls(): void {
    const tls = this.tls;
    for (const side of [0, 1] as const) {
      if (this.reassemblers[side].isActive && (tls.done || tls.streams[side].gaveUp)) this.reassemblers[side].stop();
    }
  }

  get closed(): boolean {
    return this.closedAt >= 0;
  }

  /** A hello was parsed, or either stream saw a TLS record: the flow has a record to give. */
  get sawTls(): boolean {
    const tls = this.tls;
    return tls.sawTls || tls.streams[0].sawTls || tls.streams[1].sawTls;
  }

  get sealed(): boolean {
    return this.recordHandle >= 0;
  }

  /** Its record went to the sink as `handle`: what made it is let go (see FlowTable.seal). */
  sealAs(handle: number): void {
    this.recordHandle = handle;
    this.tls = SEALED_TLS;
    this.reassemblers = SEALED_REASSEMBLERS;
    this.endpointPair = null;
  }

  toRecord(id: number, texts: AddressTexts): ConnectionRecord {
    // The table flushed the reassemblers when it finished the flow.
    return this.tls.toRecord({
      id, endpoints: this.endpoints(texts), startTime: this.startTime, endTime: this.endTime, firstFrame: this.firstFrame,
      packets: this.packets, handshakeBytes: this.reassemblers[0].bytesDelivered + this.reassemblers[1].bytesDelivered, abort: this.abort, endedCleanly: this.closed,
      ipv6: this.addressLength === 16,
    });
  }
}

/**
 * One side of a flow as its reassembler's consumer: a small object with the methods on its
 * prototype, where a pair of closures per side cost ~130 bytes more for every connection.
 */
class FlowSide implements StreamConsumer {
  constructor(private readonly flow: TcpFlow, private readonly side: 0 | 1) {}
  onData(bytes: Uint8Array, start: number, end: number, time: number, frame: number): void {
    this.flow.onData(this.side, bytes, start, end, time, frame);
  }
  onGap(length: number, time: number, frame: number, cause: 'lost' | 'snaplen'): void {
    this.flow.onGap(this.side, length, time, frame, cause);
  }
}

/**
 * Packets of one side that acknowledge bytes of the other the capture has not shown yet, in the
 * order they came, with every later packet of that side (a direction's order is kept). RFC 9293
 * §3.4: an ACK names the next byte its sender expects, so the bytes before it were sent, and these
 * packets were sent after they arrived. A capture that writes the two directions apart (see
 * CROSS_DIRECTION_REORDER) may still bring them: the held packets go on once it does, in the order
 * of the time-ordered capture (a ServerHello after its ClientHello, a server's Finished after the
 * client's). Before, such an ACK declared the bytes lost at once and the direction's parsing
 * stopped. They go on anyway, their ACKs then declaring what is missing a gap, when the other side
 * shows the bytes lost (a later segment of it came, or it holds data behind a hole: the capture lost
 * them), CROSS_DIRECTION_REORDER capture seconds after the first was held, past MAX_HELD_PACKETS or
 * MAX_HELD_BYTES, or when the flow is finished. A copy per packet: only a reordered or lossy
 * capture's handshakes hold any.
 */
class HeldPackets {
  readonly packets: TcpPacket[] = [];
  readonly times: number[] = [];
  readonly frames: number[] = [];
  readonly files: string[] = [];
  readonly fileOffsets: number[] = [];
  bytes = 0;
  /**
   * The other side's highest ACK of the held side's data while it is held (it acknowledges the
   * held packets, -1: none), given to the held side's stream once they went on.
   */
  acknowledgment = -1;
  acknowledgmentTime = 0;
  acknowledgmentFrame = 0;

  constructor(readonly side: 0 | 1) {}

  add(packet: TcpPacket, time: number, frame: number, file: string, fileOffset: number): void {
    const copy = new TcpPacket();
    copy.sequence = packet.sequence;
    copy.acknowledgment = packet.acknowledgment;
    copy.flags = packet.flags;
    copy.payloadBytes = packet.payloadBytes.slice(packet.payloadStart, packet.payloadEnd);
    copy.payloadStart = 0;
    copy.payloadEnd = copy.payloadBytes.length;
    copy.missingPayload = packet.missingPayload;
    this.packets.push(copy);
    this.times.push(time);
    this.frames.push(frame);
    this.files.push(file);
    this.fileOffsets.push(fileOffset);
    this.bytes += copy.payloadEnd;
  }

  noteAcknowledgment(acknowledgment: number, time: number, frame: number): void {
    if (this.acknowledgment < 0 || sequenceDelta(acknowledgment, this.acknowledgment) > 0) {
      this.acknowledgment = acknowledgment;
      this.acknowledgmentTime = time;
      this.acknowledgmentFrame = frame;
    }
  }

  get full(): boolean {
    return this.packets.length >= MAX_HELD_PACKETS || this.bytes >= MAX_HELD_BYTES;
  }
}

/**
 * A sink for code that takes whole record objects (tests, tools): each is handed on when its
 * connection is finished, final. Records made at a close wait here through the linger.
 */
class RecordCallbackSink implements ConnectionSink {
  private readonly unsettled = new Map<number, ConnectionRecord>();
  private nextHandle = 0;

  constructor(private readonly onRecord: (record: ConnectionRecord) => void) {}

  record(record: ConnectionRecord): number {
    const handle = this.nextHandle++;
    this.unsettled.set(handle, record);
    return handle;
  }

  settle(handle: number, packets: number, endTime: number): void {
    const record = this.unsettled.get(handle);
    if (record === undefined) return;
    this.unsettled.delete(handle);
    record.packets = packets;
    record.endTime = endTime;
    this.onRecord(record);
  }
}

function connectionSink(to: ConnectionSink | ((record: ConnectionRecord) => void)): ConnectionSink {
  return typeof to === 'function' ? new RecordCallbackSink(to) : to;
}

const addressBytes = new Uint8Array(16);

/**
 * Address texts by address, one table per flow table (garbage with it once the reading is done).
 * A farm's connections come from many clients to a few servers: the same text object comes back
 * for an address, so the column store's string pool finds it by the hash a string keeps and by
 * identity, where a fresh text per connection was hashed and compared byte for byte. Up to
 * ADDRESS_TEXTS_KEPT addresses (~40 MB for a million clients), then it starts again. The 2-million-
 * connection run has 580,000 clients: with 65,536 kept (one table for the process, which the
 * diagnosis could not afford), most texts were fresh; with all of them, reading 20.1–23.5 →
 * 18.1–20.4 s (three alternating runs).
 */
class AddressTexts {
  // IPv4 texts in an open-addressed table keyed by the address word: a Map keyed by the word
  // (a boxed number from 128.0.0.0 up) took ~200 ns a lookup, 58 ms of the 1 GB file's profile.
  // (IntMap, columns.ts, takes keys of 0 to 2^31 − 2 only: an address word is any 32 bits.)
  private ipv4Words = new Int32Array(1024);
  private ipv4Texts: (string | undefined)[] = new Array<string | undefined>(1024).fill(undefined);
  private ipv4Count = 0;
  /** 32 − log2 of the table's size: a slot is the top bits of the word's Fibonacci hash. */
  private ipv4Shift = 22;

  /** Text form of an address kept as big-endian words (see addressWord). */
  of(length: number, w0: number, w1: number, w2: number, w3: number): string {
    // IPv4 (nearly every flow): dotted quad straight from the word, as formatAddress writes it.
    if (length === 4) {
      const word = w0 | 0;
      const mask = this.ipv4Words.length - 1;
      let slot = Math.imul(word, 0x9e3779b1) >>> this.ipv4Shift;
      for (;;) {
        const text = this.ipv4Texts[slot];
        if (text === undefined) break;
        if (this.ipv4Words[slot] === word) return text;
        slot = (slot + 1) & mask;
      }
      const text = `${w0 >>> 24}.${(w0 >>> 16) & 0xff}.${(w0 >>> 8) & 0xff}.${w0 & 0xff}`;
      this.addIpv4(word, text);
      return text;
    }
    const words = [w0, w1, w2, w3];
    for (let i = 0; i < length / 4; i++) {
      addressBytes[i * 4] = words[i]! >>> 24;
      addressBytes[i * 4 + 1] = (words[i]! >>> 16) & 0xff;
      addressBytes[i * 4 + 2] = (words[i]! >>> 8) & 0xff;
      addressBytes[i * 4 + 3] = words[i]! & 0xff;
    }
    return formatAddress(addressBytes.subarray(0, length));
  }

  private addIpv4(word: number, text: string): void {
    if (this.ipv4Count >= ADDRESS_TEXTS_KEPT) {
      this.ipv4Words = new Int32Array(1024);
      this.ipv4Texts = new Array<string | undefined>(1024).fill(undefined);
      this.ipv4Shift = 22;
      this.ipv4Count = 0;
    } else if (2 * (this.ipv4Count + 1) > this.ipv4Words.length) {
      // At most half full, so a probe ends soon at an empty slot.
      const words = this.ipv4Words, texts = this.ipv4Texts;
      this.ipv4Words = new Int32Array(words.length * 2);
      this.ipv4Texts = new Array<string | undefined>(words.length * 2).fill(undefined);
      this.ipv4Shift--;
      this.ipv4Count = 0;
      for (let i = 0; i < words.length; i++) if (texts[i] !== undefined) this.addIpv4(words[i]!, texts[i]!);
    }
    const mask = this.ipv4Words.length - 1;
    let slot = Math.imul(word, 0x9e3779b1) >>> this.ipv4Shift;
    while (this.ipv4Texts[slot] !== undefined) slot = (slot + 1) & mask;
    this.ipv4Words[slot] = word;
    this.ipv4Texts[slot] = text;
    this.ipv4Count++;
  }
}

const ADDRESS_TEXTS_KEPT = 1 << 20;

/** Big-endian 32-bit word of an address (IPv4 has one word, IPv6 four). */
function addressWord(bytes: Uint8Array, offset: number, length: number, index: number): number {
  if (index * 4 >= length) return 0;
  const p = offset + index * 4;
  return ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
}

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/** 0 when the packet goes side 0 → side 1, 1 for the reverse, -1 when it is another flow. */
function matchSide(flow: TcpFlow, packet: TcpPacket): number {
  const w = scratch;
  if (packet.sourcePort === flow.port0 && packet.destinationPort === flow.port1 &&
      flow.a0 === w[0] && flow.a1 === w[1] && flow.a2 === w[2] && flow.a3 === w[3] &&
      flow.b0 === w[4] && flow.b1 === w[5] && flow.b2 === w[6] && flow.b3 === w[7]) return 0;
  if (packet.sourcePort === flow.port1 && packet.destinationPort === flow.port0 &&
      flow.b0 === w[0] && flow.b1 === w[1] && flow.b2 === w[2] && flow.b3 === w[3] &&
      flow.a0 === w[4] && flow.a1 === w[5] && flow.a2 === w[6] && flow.a3 === w[7]) return 1;
  return -1;
}

/** Scratch words of the current packet: source (0-3) and destination (4-7). */
const scratch = new Uint32Array(8);

/**
 * A SYN that the flow's SYN/ACK answered, written after it (and after the server's data, even its
 * close: a capture merged from two taps, see CROSS_DIRECTION_REORDER): the SYN side's first packet,
 * the flow begun by the other side's SYN (its initialSequence), whose first ACK (see firstBlindAck:
 * the SYN/ACK's) acknowledged this SYN (ISN + 1, RFC 9293 §3.4), at most CROSS_DIRECTION_REORDER
 * seconds before. Such a SYN made a second flow, and each half a broken connection.
 */
function answeredSyn(flow: TcpFlow, side: 0 | 1, sequence: number, time: number): boolean {
  return side === 1 && (flow.sidesSeen & 2) === 0 && flow.initialSequence0 >= 0 &&
    flow.firstBlindAck === ((sequence + 1) & 0x3fffffff) && time - flow.startTime <= CROSS_DIRECTION_REORDER;
}

/** Flows in order of first packet; ties in the order the table made them (the buckets' order is seeded at random). */
function byFirstPacket(a: TcpFlow, b: TcpFlow): number {
  return a.startTime - b.startTime || a.serial - b.serial;
}

export class FlowTable {
  /**
   * Chains of flows by hash of the 4-tuple (direction-independent): bucket = hash & (length - 1),
   * grown ×2 when the flows outnumber the buckets. A plain array updated in place, not a Map: a
   * Map rehashes into a new table every few thousand insertions and deletions, and the dead table,
   * until the next full collection, still pointed at every flow live when it was replaced. Those
   * pointers kept finished flows alive through young-generation collections, so nearly every
   * connection's objects were promoted to old space (heap profile: ~1.7 KB a connection).
   */
  private buckets: (TcpFlow | null)[] = new Array<TcpFlow | null>(INITIAL_BUCKETS).fill(null);
  /**
   * The flow hash's seed, a table's own: a capture made to put its connections in one bucket (the
   * hash's code is public; 17 bits of collision are found by trying ports) would make every packet
   * walk them all. Nothing the table gives out depends on the buckets' order (records are numbered
   * by their first packet).
   */
  private readonly seed = (Math.random() * 0x100000000) | 0;
  private live = 0;
  private nextId = 1;
  private packetsSinceSweep = 0;
  private now = 0;
  private lastSweep = 0;
  /** Endpoints (endpointKey) that answered TLS: lets an empty RST'd connection count as a TLS abort. */
  private readonly tlsServers = new Set<number | string>();
  private pendingEmpty: TcpFlow[] = [];
  /** Flows in the order they closed (see finishClosed), with the close time of each entry. */
  private readonly closing: (TcpFlow | null)[] = [];
  private readonly closingTimes: number[] = [];
  private closingHead = 0;
  /** When the queue's head entry is due (its close + CLOSED_LINGER); Infinity when the queue is empty. */
  private closingDue = Infinity;
  /** Flows that hold packets (see HeldPackets), and when the first of them is due to go on. */
  private readonly holdingFlows: TcpFlow[] = [];
  private holdingDue = Infinity;
  /** Set by startFile: the next packet is the first of a file (see restartClock). */
  private fileStarting = false;
  connectionsSeen = 0;

  private readonly addressTexts = new AddressTexts();

  private readonly sink: ConnectionSink;

  constructor(to: ConnectionSink | ((record: ConnectionRecord) => void)) {
    this.sink = connectionSink(to);
  }

  get liveFlows(): number {
    return this.live;
  }

  /** The current packet's place in its file, for anomalies; set by the caller before onPacket. */
  readonly position: PacketPosition = { file: '', frame: -1, offset: -1 };

  /**
   * The next packets come from another file. Consecutive files (a rotated capture) go on where the
   * last one stopped; a file that starts earlier (two taps of the same minutes, captures of
   * several hosts) restarts the clock at its first packet, see restartClock.
   */
  startFile(): void {
    this.fileStarting = true;
  }

  onPacket(packet: TcpPacket, time: number, frame: number, file: string, fileOffset = -1): void {
    if (this.fileStarting) {
      this.fileStarting = false;
      if (time < this.now) this.restartClock(time);
    } else if (time < this.now - CLOCK_STEP_BACK) {
      this.restartClock(time);
    }
    if (time > this.now) this.now = time;
    // Flows closed more than CLOSED_LINGER ago are finished before this packet is looked up.
    if (this.now > this.closingDue) this.finishClosed();
    if (this.now > this.holdingDue) this.releaseOverdue();
    this.position.file = file;
    this.position.frame = frame;
    this.position.offset = fileOffset;
    const length = packet.addressLength;
    let hashSource = (0x811c9dc5 ^ length ^ this.seed) >>> 0;
    let hashDestination = hashSource;
    for (let i = 0; i < 4; i++) {
      const sw = addressWord(packet.sourceBytes, packet.sourceOffset, length, i);
      const dw = addressWord(packet.destinationBytes, packet.destinationOffset, length, i);
      scratch[i] = sw;
      scratch[4 + i] = dw;
      hashSource = mix(hashSource, sw);
      hashDestination = mix(hashDestination, dw);
    }
    hashSource = mix(hashSource, packet.sourcePort);
    hashDestination = mix(hashDestination, packet.destinationPort);
    // Commutative combination: both directions land in the same bucket.
    const hash = mix(hashSource + hashDestination, length) | 0;

    let flow: TcpFlow | null = this.buckets[hash & (this.buckets.length - 1)]!;
    let side: 0 | 1 = 0;
    while (flow !== null) {
      const matched = matchSide(flow, packet);
      if (matched >= 0) {
        side = matched as 0 | 1;
        break;
      }
      flow = flow.nextInBucket;
    }
    const flags = packet.flags;
    if (flow !== null && (flags & TCP_SYN) !== 0 && (flags & TCP_ACK) === 0) {
      const previousIsn = flow.initialSequenceOf(side);
      // A new SYN with another ISN, or after the close, is a new connection on a reused port; not the
      // SYN its flow's SYN/ACK answered, written after it (see answeredSyn).
      if ((flow.closed || (previousIsn >= 0 && previousIsn !== packet.sequence) || (previousIsn < 0 && flow.payloadSeen)) && !answeredSyn(flow, side, packet.sequence, time)) {
        this.finish(flow);
        flow = null;
      }
    }
    if (flow === null) {
      flow = new TcpFlow(hash, this.connectionsSeen, time, frame, file, this.position);
      flow.addressLength = length;
      flow.a0 = scratch[0]!; flow.a1 = scratch[1]!; flow.a2 = scratch[2]!; flow.a3 = scratch[3]!;
      flow.b0 = scratch[4]!; flow.b1 = scratch[5]!; flow.b2 = scratch[6]!; flow.b3 = scratch[7]!;
      flow.port0 = packet.sourcePort;
      flow.port1 = packet.destinationPort;
      if (this.live >= this.buckets.length) this.growBuckets();
      const bucket = hash & (this.buckets.length - 1);
      flow.nextInBucket = this.buckets[bucket]!;
      this.buckets[bucket] = flow;
      this.live++;
      this.connectionsSeen++;
      side = 0;
    }
    const held = flow.held;
    if (held === null) {
      if (this.acknowledgesUnseenBytes(flow, side, packet, time)) this.hold(flow, side, packet, time, frame, file, fileOffset);
      else this.update(flow, side, packet, time, frame, file);
    } else if (held.side === side) {
      this.hold(flow, side, packet, time, frame, file, fileOffset);
    } else if ((flow.sidesSeen & (side === 0 ? 1 : 2)) === 0 && (packet.flags & TCP_SYN) === 0) {
      // The other side's first packet, and not the SYN/ACK the held ones waited for (it was lost):
      // they came first, as the capture wrote them (their ACKs place this side's start).
      this.releaseHeld(flow, true);
      this.update(flow, side, packet, time, frame, file);
    } else {
      // The other side: it may bring the bytes the held packets wait for, or show them lost.
      const stream = flow.reassemblers[side];
      const pastDelivered = stream.nextSequence >= 0 && sequenceDelta((packet.flags & TCP_SYN) !== 0 ? packet.sequence + 1 : packet.sequence, stream.nextSequence) > 0;
      this.update(flow, side, packet, time, frame, file);
      this.releaseHeld(flow, pastDelivered || stream.holdsDataPastHole);
    }

    if (++this.packetsSinceSweep >= SWEEP_EVERY_PACKETS && this.packetsSinceSweep >= this.live) this.sweep();
  }

  /**
   * The packet acknowledges bytes of the other side the capture has not shown, while that side's
   * stream waits for nothing else (it holds no data past a hole: then those bytes are lost, and the
   * ACK declares them so at once). See HeldPackets.
   */
  private acknowledgesUnseenBytes(flow: TcpFlow, side: 0 | 1, packet: TcpPacket, time: number): boolean {
    if ((packet.flags & TCP_ACK) === 0 || flow.sealed) return false;
    const peer = flow.reassemblers[side === 0 ? 1 : 0];
    if (peer.nextSequence < 0 && (flow.sidesSeen & (side === 0 ? 2 : 1)) === 0) {
      // The other side has shown nothing yet: the side that sent the SYN acknowledges the SYN/ACK
      // the capture has not written yet (the client's half stamped ahead: a 20 ms skew had made a
      // resumed handshake "aborted by the client after the ServerHello"). Only within
      // CROSS_DIRECTION_REORDER of the SYN: a capture of one direction holds nothing longer.
      return flow.tls.synSide === side && (packet.flags & TCP_SYN) === 0 && time - flow.startTime <= CROSS_DIRECTION_REORDER;
    }
    return peer.isActive && peer.nextSequence >= 0 && !peer.holdsDataPastHole && sequenceDelta(packet.acknowledgment, peer.nextSequence) > 0;
  }

  private hold(flow: TcpFlow, side: 0 | 1, packet: TcpPacket, time: number, frame: number, file: string, fileOffset: number): void {
    let held = flow.held;
    if (held === null) {
      held = flow.held = new HeldPackets(side);
      this.holdingFlows.push(flow);
      if (time + CROSS_DIRECTION_REORDER < this.holdingDue) this.holdingDue = time + CROSS_DIRECTION_REORDER;
    }
    held.add(packet, time, frame, file, fileOffset);
    if (held.full) this.releaseHeld(flow, true);
  }

  /**
   * Held packets go on: all of them (`all`), or those at the head whose acknowledged bytes have come.
   * They are handled as if they came now, at their own time and frame.
   */
  private releaseHeld(flow: TcpFlow, all: boolean): void {
    const held = flow.held!;
    const position = this.position;
    const file = position.file, frame = position.frame, offset = position.offset;
    let next = 0;
    for (; next < held.packets.length; next++) {
      const packet = held.packets[next]!;
      if (!all && this.acknowledgesUnseenBytes(flow, held.side, packet, held.times[next]!)) break;
      position.file = held.files[next]!;
      position.frame = held.frames[next]!;
      position.offset = held.fileOffsets[next]!;
      this.update(flow, held.side, packet, held.times[next]!, held.frames[next]!, held.files[next]!);
    }
    position.file = file;
    position.frame = frame;
    position.offset = offset;
    if (next === 0) return;
    if (next < held.packets.length) {
      for (const list of [held.packets, held.times, held.frames, held.files, held.fileOffsets] as unknown[][]) list.splice(0, next);
      held.bytes = 0;
      for (const packet of held.packets) held.bytes += packet.payloadEnd;
      return;
    }
    flow.held = null;
    const index = this.holdingFlows.indexOf(flow);
    if (index >= 0) this.holdingFlows.splice(index, 1);
    if (held.acknowledgment >= 0) {
      const stream = flow.reassemblers[held.side];
      if (stream.isActive && !flow.sealed) stream.onPeerAcknowledgment(held.acknowledgment, held.acknowledgmentTime, held.acknowledgmentFrame);
    }
  }

  /** Flows whose first held packet is CROSS_DIRECTION_REORDER behind the capture's clock: their packets go on. */
  private releaseOverdue(): void {
    this.holdingDue = Infinity;
    for (const flow of this.holdingFlows.slice()) {
      const held = flow.held;
      if (held === null) continue;
      if (this.now - held.times[0]! > CROSS_DIRECTION_REORDER) this.releaseHeld(flow, true);
      else this.holdingDue = Math.min(this.holdingDue, held.times[0]! + CROSS_DIRECTION_REORDER);
    }
    for (const flow of this.holdingFlows) if (flow.held !== null) this.holdingDue = Math.min(this.holdingDue, flow.held.times[0]! + CROSS_DIRECTION_REORDER);
  }

  /** The other side acknowledged `ack` of this side's stream; held back while this side's packets are (see HeldPackets). */
  private acknowledge(flow: TcpFlow, side: 0 | 1, ack: number, time: number, frame: number): void {
    const peerSide = side === 0 ? 1 : 0;
    const peer = flow.reassemblers[peerSide];
    // A side the capture has shown no packet of (one direction captured): its bytes the ACK names
    // were never to be seen, not lost (3.3 "bytes missing" anomalies a connection of a server-only
    // capture had, its client stream started by the SYN/ACK's ACK).
    if (!peer.isActive || (flow.sidesSeen & (peerSide === 0 ? 1 : 2)) === 0) return;
    const held = flow.held;
    if (held !== null && held.side === peerSide) held.noteAcknowledgment(ack, time, frame);
    else peer.onPeerAcknowledgment(ack, time, frame);
  }

  private update(flow: TcpFlow, side: 0 | 1, packet: TcpPacket, time: number, frame: number, file: string): void {
    flow.packets++;
    flow.sidesSeen |= side === 0 ? 1 : 2;
    flow.lastTime = time;
    if (time > flow.endTime) flow.endTime = time;
    const flags = packet.flags;
    if (flow.sealed) {
      // Closed, handshake over, recorded: a late packet counts, and a RST closes it again (a SYN
      // making a new connection was handled before). What else it says the record no longer hears.
      if (flags & TCP_RST) {
        flow.rstSeen = true;
        this.markClosed(flow, time);
      } else if (flags & TCP_FIN) {
        flow.finSides |= side === 0 ? 1 : 2;
      }
      return;
    }
    const tls = flow.tls;
    if (flags & TCP_SYN) {
      if (side === 0) flow.initialSequence0 = packet.sequence;
      else flow.initialSequence1 = packet.sequence;
      if ((flags & TCP_ACK) === 0 && tls.synSide < 0) tls.synSide = side;
      else if ((flags & TCP_ACK) !== 0 && tls.synSide < 0) tls.synSide = side === 0 ? 1 : 0;
      flow.reassemblers[side].onSyn(packet.sequence);
      // A SYN/ACK acknowledges the SYN (RFC 9293 §3.4): the other side's stream starts at its ACK,
      // though its SYN was not captured yet (see answeredSyn) or at all.
      if (flags & TCP_ACK) flow.reassemblers[side === 0 ? 1 : 0].startAt(packet.acknowledgment);
    }
    const payloadLength = packet.payloadEnd - packet.payloadStart;
    if (payloadLength > 0 || packet.missingPayload > 0) flow.payloadSeen = true;
    const sequence = flags & TCP_SYN ? (packet.sequence + 1) >>> 0 : packet.sequence;
    if (flags & TCP_RST) {
      // RFC 9293 §3.10.7.3: data on a RST is diagnostic text, not stream data. Its ACK, when it has
      // one, still names what the sender received (the only sign, when the segments it acknowledges
      // and the ACKs before it were not captured).
      if (flags & TCP_ACK) this.acknowledge(flow, side, packet.acknowledgment, time, frame);
      this.closeEvent(flow, side, 'rst', time, frame, file);
      flow.rstSeen = true;
      this.markClosed(flow, time);
      return;
    }
    const reassembler = flow.reassemblers[side];
    if (reassembler.isActive) {
      if (reassembler.nextSequence < 0 && side === 1) this.startAtAcknowledgmentOfSyn(flow, reassembler, sequence);
      reassembler.onSegment(sequence, packet.payloadBytes, packet.missingPayload, (flags & TCP_FIN) !== 0, time, frame, packet.payloadStart, packet.payloadEnd);
    } else if (reassembler.nextSequence < 0) {
      reassembler.nextSequence = sequence;
    }
    if (flags & TCP_ACK) {
      this.acknowledge(flow, side, packet.acknowledgment, time, frame);
      if ((flow.sidesSeen & (side === 0 ? 2 : 1)) === 0) {
        // RFC 9293 §3.4: an ACK names the next byte expected; beyond the first one (and a FIN's
        // one sequence number), the other side sent data this capture does not hold.
        const low = packet.acknowledgment & 0x3fffffff;
        if (flow.firstBlindAck < 0) flow.firstBlindAck = low;
        else if (((low - flow.firstBlindAck) & 0x3fffffff) > 1) flow.unseenDataAcknowledged = true;
      }
    }
    if (flags & TCP_FIN) {
      this.closeEvent(flow, side, 'fin', time, frame, file);
      flow.finSides |= side === 0 ? 1 : 2;
      if (flow.finSides === 3 && flow.closedAt < 0) this.markClosed(flow, time);
    }
    this.noteTlsServer(flow);
  }

  /**
   * Side 1's first segment, its SYN not captured (a SYN/ACK: side 0 sent the SYN). Side 0's first
   * ACK, sent while side 1 had shown no packet, acknowledged that SYN/ACK (RFC 9293 §3.5: ISN + 1),
   * so side 1's stream starts there: bytes between it and this segment were sent and not captured
   * (a ServerHello lost with its SYN/ACK), a hole that their ACKs will show lost. Starting at the
   * segment hid them. Only the low 30 bits of that ACK are kept (see firstBlindAck): a distance of up
   * to what the reassembler holds out of order is taken, anything else is no such ACK.
   */
  private startAtAcknowledgmentOfSyn(flow: TcpFlow, reassembler: StreamReassembler, sequence: number): void {
    if (flow.initialSequence0 < 0 || flow.firstBlindAck < 0) return;
    const unseen = ((sequence & 0x3fffffff) - flow.firstBlindAck) & 0x3fffffff;
    if (unseen > 0 && unseen <= MAX_PENDING_BYTES) reassembler.startAt((sequence - unseen) >>> 0);
  }

  /** Its server answered TLS (see tlsServers). */
  private noteTlsServer(flow: TcpFlow): void {
    const tls = flow.tls;
    if (!flow.reportedServer && tls.serverHello !== null && tls.clientSide >= 0) {
      flow.reportedServer = true;
      if (this.tlsServers.size < 1_000_000) this.tlsServers.add(flow.endpointKey(tls.clientSide === 0 ? 1 : 0));
    }
  }

  /**
   * The first RST or FIN before the handshake was established aborts it; so does one right after
   * a TLS 1.3 server's refusal of the client's Finished flight (TlsConnection.refusedByServer).
   */
  private closeEvent(flow: TcpFlow, side: 0 | 1, how: 'rst' | 'fin', time: number, frame: number, file: string): void {
    const tls = flow.tls;
    if (flow.abort !== null || (tls.established && !tls.refusedByServer(time))) return;
    const clientSide = tls.clientSide >= 0 ? tls.clientSide : tls.synSide >= 0 ? tls.synSide : 0;
    flow.abort = {
      by: side === clientSide ? 'client' : 'server',
      how,
      stage: tls.abortStage(),
      time,
      frame,
      file,
    };
  }

  /** The flow closed (or closed again: a later RST) at `time`: it joins the closing queue. */
  private markClosed(flow: TcpFlow, time: number): void {
    if (flow.closedAt < 0) this.seal(flow);
    flow.closedAt = time;
    if (this.closingHead === this.closing.length) this.closingDue = time + CLOSED_LINGER;
    this.closing.push(flow);
    this.closingTimes.push(time);
  }

  /**
   * A flow that closed with its handshake over, having shown both sides, is recorded now rather
   * than when its linger ends: no later packet can change its record but for the packet count and
   * end time, which the sink is given when the flow is finished (`settle`). Its TLS state,
   * reassemblers and endpoint texts (~1.5 KB, most of a flow) are let go at once. A closed flow
   * lingers CLOSED_LINGER capture seconds; where a capture passes more than ~100 capture seconds a
   * second of reading, that outlived one or two young-generation collections, which copied (and
   * then promoted) it all: the 2-million-connection capture spent ~20 % of its reading so.
   * Not sealed: a flow that shows one side only (a later ACK may tell that the other side's data
   * was lost, see onOneWay), or whose reassemblers still wait for data, or that saw no TLS (whether
   * it is recorded is decided at its finish, see finish).
   */
  private seal(flow: TcpFlow): void {
    if (flow.sidesSeen !== 3 || flow.reassemblers[0].isActive || flow.reassemblers[1].isActive) return;
    if (!flow.sawTls) return;
    this.noteTlsServer(flow);
    flow.sealAs(this.sink.record(flow.toRecord(this.nextId++, this.addressTexts)));
  }

  /**
   * Finish the flows whose close is CLOSED_LINGER behind: the queue is in order of closing, so
   * this looks at its head only. An entry whose flow closed again later (its time no longer the
   * flow's) or was finished otherwise is dropped; the flow's newer entry stands.
   */
  private finishClosed(): void {
    const queue = this.closing;
    const times = this.closingTimes;
    let head = this.closingHead;
    this.closingDue = Infinity;
    while (head < queue.length) {
      const flow = queue[head]!;
      if (!flow.finished && times[head] === flow.closedAt) {
        if (this.now - flow.closedAt <= CLOSED_LINGER) {
          this.closingDue = flow.closedAt + CLOSED_LINGER;
          break;
        }
        this.finish(flow);
      }
      queue[head] = null;
      head++;
    }
    this.closingHead = head;
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      times.splice(0, head);
      this.closingHead = 0;
    }
  }

  /**
   * A file whose packets start before the last file's end, or a packet far behind the latest one
   * (captures appended into one file): the capture clock goes back to `time`.
   * The closed flows of the earlier file are finished now (their linger ran on the other clock,
   * and the queue is in order of closing on one clock); without this they waited behind the
   * queue's head, due at the earlier file's end, until the end of all input: memory grew with
   * every connection of the later files (4 farm captures of one hour: 100,000 flows held). The
   * earlier file's open flows stay: their own packets may still come.
   */
  private restartClock(time: number): void {
    for (let i = this.closingHead; i < this.closing.length; i++) {
      const flow = this.closing[i]!;
      if (!flow.finished && this.closingTimes[i] === flow.closedAt) this.finish(flow);
    }
    this.closing.length = 0;
    this.closingTimes.length = 0;
    this.closingHead = 0;
    this.closingDue = Infinity;
    this.now = time;
    this.lastSweep = time;
  }

  private sweep(): void {
    this.packetsSinceSweep = 0;
    if (this.now - this.lastSweep < SWEEP_INTERVAL) return;
    this.lastSweep = this.now;
    // For idle flows (closed ones go through the closing queue): a list of those only, not of
    // every flow, finished in order of first packet (as finishAll), not in the buckets' order.
    const idle: TcpFlow[] = [];
    for (const head of this.buckets) {
      for (let flow: TcpFlow | null = head; flow !== null; flow = flow.nextInBucket) if (this.now - flow.lastTime > IDLE_TIMEOUT) idle.push(flow);
    }
    for (const flow of idle.sort(byFirstPacket)) this.finish(flow);
  }

  private finish(flow: TcpFlow): void {
    if (flow.held !== null) this.releaseHeld(flow, true);
    flow.finished = true;
    this.unlink(flow);
    if (flow.sealed) {
      this.sink.settle(flow.recordHandle, flow.packets, flow.endTime);
      return;
    }
    // Data still held behind a hole reaches TLS only now (a one-way capture, a lost segment).
    for (const r of flow.reassemblers) r.flush(flow.lastTime, 0);
    if (flow.unseenDataAcknowledged && flow.sidesSeen !== 3) flow.onOneWay();
    if (flow.sawTls) {
      this.record(flow);
      return;
    }
    // No TLS byte at all: a TLS abort only if it was closed before any payload, towards a TLS server.
    if (flow.abort === null || flow.payloadSeen || flow.tls.synSide < 0) return;
    if (this.isTlsServer(flow)) this.record(flow);
    else if (this.pendingEmpty.length < MAX_PENDING_EMPTY) this.pendingEmpty.push(flow);
  }

  /** A finished flow's record goes out, final. */
  private record(flow: TcpFlow): void {
    this.sink.settle(this.sink.record(flow.toRecord(this.nextId++, this.addressTexts)), flow.packets, flow.endTime);
  }

  private growBuckets(): void {
    const old = this.buckets;
    this.buckets = new Array<TcpFlow | null>(old.length * 2).fill(null);
    const mask = this.buckets.length - 1;
    for (let i = 0; i < old.length; i++) {
      for (let f: TcpFlow | null = old[i]!; f !== null; ) {
        const next: TcpFlow | null = f.nextInBucket;
        f.nextInBucket = this.buckets[f.hash & mask]!;
        this.buckets[f.hash & mask] = f;
        f = next;
      }
      old[i] = null;
    }
  }

  private unlink(flow: TcpFlow): void {
    const bucket = flow.hash & (this.buckets.length - 1);
    let head: TcpFlow | null = this.buckets[bucket]!;
    if (head === flow) {
      this.buckets[bucket] = flow.nextInBucket;
    } else {
      while (head !== null && head.nextInBucket !== flow) head = head.nextInBucket;
      if (head !== null) head.nextInBucket = flow.nextInBucket;
    }
    flow.nextInBucket = null;
    this.live--;
  }

  private isTlsServer(flow: TcpFlow): boolean {
    return this.tlsServers.has(flow.endpointKey(flow.tls.synSide === 0 ? 1 : 0));
  }

  private allFlows(): TcpFlow[] {
    const out: TcpFlow[] = [];
    for (const head of this.buckets) for (let f: TcpFlow | null = head; f !== null; f = f.nextInBucket) out.push(f);
    return out;
  }

  /** End of all input: every live flow is finished. */
  finishAll(): void {
    // In order of first packet, so that ids follow the capture.
    for (const flow of this.allFlows().sort(byFirstPacket)) this.finish(flow);
    for (const flow of this.pendingEmpty) if (this.isTlsServer(flow)) this.record(flow);
    this.pendingEmpty = [];
  }
}
