// Generators for valid captures (pcap / pcapng, several link types, TCP conversations
// carrying real TLS handshakes) and the mutations the fuzz applies to them. Pure data:
// no Node APIs, so the same code drives the vitest properties and `npm run fuzz`.
import fc from 'fast-check';
import {
  CT, HS, ccsRecord, clientHelloRecord, concat, encryptedRecord, epb, ethernet, ext, fill, handshake, idb,
  ipv4, ipv6, obsoletePb, pcapHeader, pcapRecord, pngBlock, serverHelloRecord, shb, tcp, tlsRecord, u16be, u32,
  u32be, V6_A, V6_B, HRR_RANDOM,
} from '../unit/bytes.js';

export type HandshakeKind = 'tls12-full' | 'tls12-sid-resume' | 'tls12-ticket-resume' | 'tls13-full' | 'tls13-psk' | 'tls13-hrr' | 'empty-rst' | 'not-tls';

export interface ConnectionSpec {
  kind: HandshakeKind;
  clientPort: number;
  ipv6: boolean;
  /** TCP payload per segment. */
  mss: number;
  end: 'fin' | 'rst' | 'none';
  sni: string;
  isn: [number, number];
  startTime: number;
}

/** One TCP segment of the conversation, before it is wrapped in link/IP headers. */
export interface Segment {
  conn: number;
  /** 0 = client → server. */
  side: 0 | 1;
  flags: number;
  sequence: number;
  acknowledgment: number;
  payload: Uint8Array;
  time: number;
  /** A data segment: may be swapped with the next data segment of the same flight. */
  flight: number;
}

const SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04, PSH = 0x08;

function handshakeRecord(type: number, body: Uint8Array): Uint8Array {
  return tlsRecord(CT.handshake, handshake(type, body));
}

/** The TLS flights of one connection: alternating client / server byte strings. */
export function tlsFlights(kind: HandshakeKind, sni: string, seed: number): { side: 0 | 1; bytes: Uint8Array }[] {
  const sessionId = fill(32, (seed & 0x7f) + 1);
  const ticket = fill(96 + (seed % 64), 0x5a);
  const cert = handshakeRecord(HS.certificate, fill(600 + (seed % 900), 0x30));
  const done = handshakeRecord(HS.serverHelloDone, new Uint8Array(0));
  const cke = handshakeRecord(HS.clientKeyExchange, fill(66, 0x04));
  const nst = handshakeRecord(HS.newSessionTicket, concat(u32be(7200), u16be(ticket.length), ticket));
  const fin = encryptedRecord(CT.handshake, 40);
  const app = (n: number) => encryptedRecord(CT.applicationData, n);
  switch (kind) {
    case 'tls12-full':
      return [
        { side: 0, bytes: clientHelloRecord({ extensions: [ext.serverName(sni), ext.sessionTicket(new Uint8Array(0)), ext.extendedMasterSecret()] }) },
        { side: 1, bytes: concat(serverHelloRecord({ sessionId, extensions: [ext.sessionTicket(new Uint8Array(0))] }), cert, done) },
        { side: 0, bytes: concat(cke, ccsRecord(), fin) },
        { side: 1, bytes: concat(nst, ccsRecord(), fin) },
        { side: 0, bytes: app(200) },
        { side: 1, bytes: app(1200) },
      ];
    case 'tls12-sid-resume':
      return [
        { side: 0, bytes: clientHelloRecord({ sessionId, extensions: [ext.serverName(sni)] }) },
        { side: 1, bytes: concat(serverHelloRecord({ sessionId }), ccsRecord(), fin) },
        { side: 0, bytes: concat(ccsRecord(), fin, app(100)) },
        { side: 1, bytes: app(300) },
      ];
    case 'tls12-ticket-resume':
      return [
        { side: 0, bytes: clientHelloRecord({ sessionId, extensions: [ext.serverName(sni), ext.sessionTicket(ticket)] }) },
        { side: 1, bytes: concat(serverHelloRecord({ sessionId }), ccsRecord(), fin) },
        { side: 0, bytes: concat(ccsRecord(), fin) },
        { side: 1, bytes: app(500) },
      ];
    case 'tls13-full':
    case 'tls13-psk':
    case 'tls13-hrr': {
      const psk = kind === 'tls13-psk';
      const chExt = [ext.serverName(sni), ext.supportedVersionsClient([0x0304, 0x0303]), ext.keyShareClient([29]), ext.pskKeyExchangeModes([1]), ...(psk ? [ext.preSharedKeyClient([fill(120, 0x77)])] : [])];
      const shExt = [ext.supportedVersionsServer(0x0304), ext.keyShareServer(29), ...(psk ? [ext.preSharedKeyServer(0)] : [])];
      const flights: { side: 0 | 1; bytes: Uint8Array }[] = [{ side: 0, bytes: clientHelloRecord({ sessionId, cipherSuites: [0x1301], extensions: chExt }) }];
      if (kind === 'tls13-hrr') {
        flights.push({ side: 1, bytes: serverHelloRecord({ random: HRR_RANDOM, sessionId, cipherSuite: 0x1301, extensions: [ext.supportedVersionsServer(0x0304), ext.keyShareServer(23)] }) });
        flights.push({ side: 0, bytes: concat(ccsRecord(), clientHelloRecord({ sessionId, cipherSuites: [0x1301], extensions: chExt })) });
      }
      flights.push({ side: 1, bytes: concat(serverHelloRecord({ sessionId, cipherSuite: 0x1301, extensions: shExt }), ccsRecord(), app(psk ? 60 : 1400), app(80)) });
      flights.push({ side: 0, bytes: concat(ccsRecord(), app(53), app(150)) });
      flights.push({ side: 1, bytes: concat(app(250), app(700)) });
      return flights;
    }
    case 'empty-rst':
      return [];
    case 'not-tls':
      return [
        { side: 0, bytes: Uint8Array.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n', (c) => c.charCodeAt(0)) },
        { side: 1, bytes: Uint8Array.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', (c) => c.charCodeAt(0)) },
      ];
  }
}

/** The segments of one TCP connection: handshake, flights cut at the MSS, close. */
export function connectionSegments(spec: ConnectionSpec, conn: number, seed: number): Segment[] {
  const out: Segment[] = [];
  const next: [number, number] = [spec.isn[0], spec.isn[1]];
  let time = spec.startTime;
  let flight = 0;
  const tick = () => (time += 0.001);
  const push = (side: 0 | 1, flags: number, payload: Uint8Array = new Uint8Array(0), f = -1) => {
    const other = side === 0 ? 1 : 0;
    out.push({ conn, side, flags, sequence: next[side] >>> 0, acknowledgment: flags & ACK ? next[other] >>> 0 : 0, payload, time: tick(), flight: f });
    next[side] = (next[side] + payload.length + (flags & (SYN | FIN) ? 1 : 0)) >>> 0;
  };
  push(0, SYN);
  if (spec.kind === 'empty-rst') {
    push(1, RST | ACK);
    return out;
  }
  push(1, SYN | ACK);
  push(0, ACK);
  for (const { side, bytes } of tlsFlights(spec.kind, spec.sni, seed)) {
    flight++;
    for (let i = 0; i < bytes.length; i += spec.mss) push(side, ACK | PSH, bytes.subarray(i, Math.min(bytes.length, i + spec.mss)), flight);
    push(side === 0 ? 1 : 0, ACK);
  }
  if (spec.end === 'fin') {
    push(0, FIN | ACK);
    push(1, FIN | ACK);
    push(0, ACK);
  } else if (spec.end === 'rst') {
    push(0, RST | ACK);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Frames: link + IP + TCP

export const LINK_TYPES = [1, 0, 108, 101, 12, 228, 229, 113, 276, 9] as const;
export type LinkType = (typeof LINK_TYPES)[number];

const CLIENT4 = [10, 0, 0, 1], SERVER4 = [10, 0, 0, 2];

export function frameBytes(segment: Segment, spec: ConnectionSpec, linkType: LinkType): Uint8Array {
  const v6 = linkType === 229 ? true : linkType === 228 ? false : spec.ipv6;
  const [sourcePort, destinationPort] = segment.side === 0 ? [spec.clientPort, 443] : [443, spec.clientPort];
  const t = tcp({ sourcePort, destinationPort, sequence: segment.sequence, acknowledgment: segment.acknowledgment, flags: segment.flags, payload: segment.payload });
  const ip = v6
    ? ipv6(t, segment.side === 0 ? { source: V6_A, destination: V6_B } : { source: V6_B, destination: V6_A })
    : ipv4(t, segment.side === 0 ? { source: CLIENT4, destination: SERVER4 } : { source: SERVER4, destination: CLIENT4 });
  switch (linkType) {
    case 1: return ethernet(v6 ? 0x86dd : 0x0800, ip);
    case 0: return concat([v6 ? 30 : 2, 0, 0, 0], ip); // host byte order (little endian here)
    case 108: return concat(u32be(v6 ? 24 : 2), ip);
    case 101: case 12: case 228: case 229: return ip;
    case 113: return concat([0, 0, 0, 1, 0, 6], fill(8, 0x11), u16be(v6 ? 0x86dd : 0x0800), ip);
    case 276: return concat(u16be(v6 ? 0x86dd : 0x0800), [0, 0], u32be(2), [0, 1, 0, 6], fill(8, 0x22), ip);
    case 9: return concat([0xff, 0x03], u16be(v6 ? 0x0057 : 0x0021), ip);
  }
}

// ---------------------------------------------------------------------------
// Capture files

export interface CaptureSpec {
  format: 'pcap' | 'pcapng';
  littleEndian: boolean;
  /** pcap: nanosecond magic; pcapng: if_tsresol = 9. */
  nano: boolean;
  linkType: LinkType;
  /** Cut frames longer than this (0 = no cut). */
  snaplen: number;
  connections: ConnectionSpec[];
  /** Interleaving of the connections' segments (indices into the connection list, consumed in order). */
  interleave: number[];
  /** pcapng: extra blocks (statistics, custom) between packets; obsolete packet blocks for some packets. */
  pngExtras: boolean;
}

export interface BuiltCapture {
  bytes: Uint8Array;
  /** File offset of every record / block after the file header. */
  boundaries: number[];
  /** For each boundary: is it a packet record (counts as a frame)? */
  isPacket: boolean[];
  /** Offsets of 32-bit length fields that a damaged file may inflate. */
  lengthFields: number[];
  /** The frames in file order, as [connection, segment index]. */
  order: [number, number][];
  segments: Segment[][];
}

/** The segments of all connections in file order, following `interleave` (then round-robin). */
export function interleaveSegments(segments: Segment[][], interleave: number[]): [number, number][] {
  const cursor = segments.map(() => 0);
  const order: [number, number][] = [];
  const total = segments.reduce((s, x) => s + x.length, 0);
  let k = 0;
  while (order.length < total) {
    let c = interleave.length > 0 ? interleave[k % interleave.length]! % segments.length : k % segments.length;
    k++;
    // Skip exhausted connections.
    for (let tries = 0; cursor[c]! >= segments[c]!.length && tries < segments.length; tries++) c = (c + 1) % segments.length;
    order.push([c, cursor[c]!++]);
  }
  return order;
}

/** `clock`: the time each packet is stamped with, from its time (a capture host's clock); as it is by default. */
export function buildCapture(spec: CaptureSpec, order?: [number, number][], clock?: (time: number) => number): BuiltCapture {
  const segments = spec.connections.map((c, i) => connectionSegments(c, i, i * 7919 + c.clientPort));
  const fileOrder = order ?? interleaveSegments(segments, spec.interleave);
  const stamped = (segment: Segment) => (clock === undefined ? segment : { ...segment, time: clock(segment.time) });
  const frames = fileOrder.map(([c, s]) => ({ segment: stamped(segments[c]![s]!), data: frameBytes(segments[c]![s]!, spec.connections[c]!, spec.linkType) }));
  return spec.format === 'pcap' ? buildPcap(spec, frames, fileOrder, segments) : buildPcapng(spec, frames, fileOrder, segments);
}

function cut(data: Uint8Array, snaplen: number): Uint8Array {
  return snaplen > 0 && data.length > snaplen ? data.subarray(0, snaplen) : data;
}

function buildPcap(spec: CaptureSpec, frames: { segment: Segment; data: Uint8Array }[], order: [number, number][], segments: Segment[][]): BuiltCapture {
  const le = spec.littleEndian;
  const parts: Uint8Array[] = [pcapHeader({ littleEndian: le, nano: spec.nano, snaplen: spec.snaplen || 65535, linkType: spec.linkType })];
  const boundaries: number[] = [];
  const lengthFields: number[] = [];
  let offset = 24;
  for (const f of frames) {
    const seconds = Math.floor(f.segment.time);
    const fraction = Math.round((f.segment.time - seconds) * (spec.nano ? 1e9 : 1e6));
    const rec = pcapRecord({ seconds, fraction, data: cut(f.data, spec.snaplen), originalLength: f.data.length }, le);
    boundaries.push(offset);
    lengthFields.push(offset + 8, offset + 12);
    parts.push(rec);
    offset += rec.length;
  }
  return { bytes: concat(...parts), boundaries, isPacket: boundaries.map(() => true), lengthFields, order, segments };
}

function buildPcapng(spec: CaptureSpec, frames: { segment: Segment; data: Uint8Array }[], order: [number, number][], segments: Segment[][]): BuiltCapture {
  const le = spec.littleEndian;
  const units = spec.nano ? 1e9 : 1e6;
  const blocks: { bytes: Uint8Array; packet: boolean; lengths: number[] }[] = [];
  blocks.push({ bytes: shb(le), packet: false, lengths: [4] });
  blocks.push({ bytes: idb({ linkType: spec.linkType, snaplen: spec.snaplen, ...(spec.nano ? { tsresol: 9 } : {}) }, le), packet: false, lengths: [4] });
  frames.forEach((f, i) => {
    if (spec.pngExtras && i % 5 === 2) {
      // Interface statistics (§4.6) and a custom block (§4.8): readers must skip them.
      blocks.push({ bytes: pngBlock(5, concat(u32(0, le), u32(0, le), u32(0, le)), le), packet: false, lengths: [4] });
      blocks.push({ bytes: pngBlock(0x40000bad, concat(u32(32473, le), fill(6, 0x61)), le), packet: false, lengths: [4] });
    }
    const ts = BigInt(Math.round(f.segment.time * units));
    const data = cut(f.data, spec.snaplen);
    const useObsolete = spec.pngExtras && i % 7 === 3;
    const bytes = useObsolete
      ? obsoletePb({ interfaceId: 0, timestamp: ts, data, originalLength: f.data.length }, le)
      : epb({ interfaceId: 0, timestamp: ts, data, originalLength: f.data.length }, le);
    blocks.push({ bytes, packet: true, lengths: [4, 20] });
  });
  const boundaries: number[] = [];
  const lengthFields: number[] = [];
  const isPacket: boolean[] = [];
  let offset = 0;
  for (const b of blocks) {
    boundaries.push(offset);
    isPacket.push(b.packet);
    for (const l of b.lengths) lengthFields.push(offset + l);
    offset += b.bytes.length;
  }
  return { bytes: concat(...blocks.map((b) => b.bytes)), boundaries, isPacket, lengthFields, order, segments };
}

// ---------------------------------------------------------------------------
// fast-check arbitraries

const KINDS: HandshakeKind[] = ['tls12-full', 'tls12-sid-resume', 'tls12-ticket-resume', 'tls13-full', 'tls13-psk', 'tls13-hrr', 'empty-rst', 'not-tls'];

export function connectionArb(index: number): fc.Arbitrary<ConnectionSpec> {
  return fc.record({
    kind: fc.constantFrom(...KINDS),
    clientPort: fc.constant(40000 + index * 13),
    ipv6: fc.boolean(),
    mss: fc.oneof(fc.constant(1460), fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 1, max: 40 })),
    end: fc.constantFrom('fin', 'rst', 'none') as fc.Arbitrary<'fin' | 'rst' | 'none'>,
    sni: fc.constantFrom('a.test', 'resume.example.org', ''),
    isn: fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })),
    startTime: fc.constant(1_700_000_000 + index * 3),
  });
}

export const captureSpecArb: fc.Arbitrary<CaptureSpec> = fc
  .integer({ min: 1, max: 4 })
  .chain((n) =>
    fc.record({
      format: fc.constantFrom('pcap', 'pcapng') as fc.Arbitrary<'pcap' | 'pcapng'>,
      littleEndian: fc.boolean(),
      nano: fc.boolean(),
      linkType: fc.constantFrom(...LINK_TYPES),
      snaplen: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 40, max: 300 }) }),
      connections: fc.tuple(...Array.from({ length: n }, (_, i) => connectionArb(i))),
      interleave: fc.array(fc.nat({ max: 3 }), { maxLength: 12 }),
      pngExtras: fc.boolean(),
    }),
  );

// ---------------------------------------------------------------------------
// Mutations

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'truncate'; at: number }
  | { op: 'truncate-record'; record: number; into: number }
  | { op: 'splice'; at: number; garbage: Uint8Array }
  | { op: 'splice-record'; record: number; garbage: Uint8Array }
  | { op: 'inflate'; field: number; value: number }
  | { op: 'duplicate'; record: number }
  | { op: 'swap'; record: number }
  | { op: 'zero'; at: number; length: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('truncate-record' as const), record: fc.nat(), into: fc.nat({ max: 40 }) }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), garbage: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ op: fc.constant('splice-record' as const), record: fc.nat(), garbage: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
  fc.record({
    op: fc.constant('inflate' as const), field: fc.nat(),
    value: fc.constantFrom(0x7fffffff, 0xffffffff, 0x80000000, 64 * 1024 * 1024, 64 * 1024 * 1024 - 4, 16 * 1024 * 1024, 262144, 262148, 65536, 2000, 0, 12, 13),
  }),
  fc.record({ op: fc.constant('duplicate' as const), record: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), record: fc.nat() }),
  fc.record({ op: fc.constant('zero' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
);

function recordSpan(c: BuiltCapture, bytes: Uint8Array, record: number): [number, number] {
  const i = record % c.boundaries.length;
  return [c.boundaries[i]!, c.boundaries[i + 1] ?? bytes.length];
}

/**
 * Apply one mutation. Record-level mutations use the intact file's boundaries, so they
 * are applied first (see mutate()); byte-level ones work on any bytes.
 */
export function applyMutation(c: BuiltCapture, bytes: Uint8Array, m: Mutation, le: boolean): Uint8Array {
  if (bytes.length === 0) return bytes;
  switch (m.op) {
    case 'flip': {
      const out = bytes.slice();
      out[m.at % out.length]! ^= 1 << m.bit;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.at % (bytes.length + 1));
    case 'truncate-record': {
      if (c.boundaries.length === 0) return bytes;
      const [start, end] = recordSpan(c, bytes, m.record);
      return bytes.slice(0, Math.min(end, start + m.into));
    }
    case 'splice': {
      const at = m.at % (bytes.length + 1);
      return concat(bytes.subarray(0, at), m.garbage, bytes.subarray(at));
    }
    case 'splice-record': {
      if (c.boundaries.length === 0) return bytes;
      const [start] = recordSpan(c, bytes, m.record);
      return concat(bytes.subarray(0, start), m.garbage, bytes.subarray(start));
    }
    case 'inflate': {
      if (c.lengthFields.length === 0) return bytes;
      const at = c.lengthFields[m.field % c.lengthFields.length]!;
      if (at + 4 > bytes.length) return bytes;
      const out = bytes.slice();
      out.set(u32(m.value, le), at);
      return out;
    }
    case 'duplicate': {
      if (c.boundaries.length === 0) return bytes;
      const [start, end] = recordSpan(c, bytes, m.record);
      return concat(bytes.subarray(0, end), bytes.subarray(start, end), bytes.subarray(end));
    }
    case 'swap': {
      if (c.boundaries.length < 2) return bytes;
      const i = m.record % (c.boundaries.length - 1);
      const a = c.boundaries[i]!, b = c.boundaries[i + 1]!, e = c.boundaries[i + 2] ?? bytes.length;
      return concat(bytes.subarray(0, a), bytes.subarray(b, e), bytes.subarray(a, b), bytes.subarray(e));
    }
    case 'zero': {
      const out = bytes.slice();
      const at = m.at % out.length;
      out.fill(0, at, Math.min(out.length, at + m.length));
      return out;
    }
  }
}

const RECORD_OPS = new Set(['truncate-record', 'splice-record', 'inflate', 'duplicate', 'swap']);

/** Record-level mutations first (they need the intact layout), then the byte-level ones. */
export function mutate(c: BuiltCapture, mutations: Mutation[], le: boolean): Uint8Array {
  let bytes = c.bytes;
  const recordLevel = mutations.filter((m) => RECORD_OPS.has(m.op));
  const byteLevel = mutations.filter((m) => !RECORD_OPS.has(m.op));
  // Only the first record-level mutation is applied to the intact layout; later ones would
  // see shifted boundaries, so they fall back to byte-level meaning (still hostile, still valid).
  if (recordLevel.length > 0) bytes = applyMutation(c, bytes, recordLevel[0]!, le);
  for (const m of [...recordLevel.slice(1), ...byteLevel]) bytes = applyMutation(c, bytes, m, le);
  return bytes;
}

/** Split bytes into chunks at the given (relative, cycling) sizes. */
export function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  if (sizes.length === 0) return [bytes];
  const out: Uint8Array[] = [];
  let pos = 0;
  for (let k = 0; pos < bytes.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]!);
    // Copies: no chunk aliases another, as a file reader delivers them.
    out.push(bytes.slice(pos, pos + n));
    pos += n;
  }
  return out;
}
