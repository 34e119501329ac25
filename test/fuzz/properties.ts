// The properties every input must satisfy, as plain functions that throw on a
// violation: shared by the vitest properties (test/fuzz/*.test.ts) and by the long
// run (`npm run fuzz`, test/tools/fuzz.ts).
import { Analysis, NotACaptureError, type CaptureIngest } from '../../parser/analysis.js';
import { planReading, probeHead, readInTimeOrder, type TimedSource } from '../../parser/merged-reading.js';
import { crc32 } from '../../parser/session/crc32.js';
import type { Anomaly, CaptureSummary, ConnectionRecord } from '../../parser/report/types.js';
import { parseClientHello, parseNewSessionTicket12, parseServerHello, parseSslv2ClientHello } from '../../parser/tls/hello.js';
import { TlsStream, type TlsStreamListener } from '../../parser/tls/tls-stream.js';
import { scanClientHello, scanServerHello } from '../../parser/tls/hello-scan.js';
import { StreamReassembler } from '../../parser/tcp/stream-reassembler.js';
import { buildCapture, chunked, mutate, type BuiltCapture, type CaptureSpec, type Mutation } from './captures.js';
import { decodeFrame, DecodeResult, TcpPacket } from '../../parser/net/decode-packet.js';
import { concat, erspan3, ethernet, geneve, gre, ipv4, ipv6, ipv6FragmentHeader, mpls, udp, vxlan } from '../unit/bytes.js';
import { IpFragmentReassembler } from '../../parser/net/ip-fragments.js';
import { decodeSessionState, encodeSessionState, readSessionState, StateFileError, type CarriedSessions } from '../../parser/session/session-state.js';
import { SessionTable } from '../../parser/session/session-table.js';

/** Per-input time budget: these inputs are a few KB; anything slower is a hang. */
export const TIME_LIMIT_MS = 2000;
const KINDS = new Set(['truncated', 'gap', 'malformed', 'internal', 'clock']);

export class PropertyViolation extends Error {}

function fail(message: string): never {
  throw new PropertyViolation(message);
}

export interface RunResult {
  captures: CaptureSummary[];
  connections: ConnectionRecord[];
  notACapture: string | null;
  ms: number;
}

/** Analyse one file given as chunks; NotACaptureError is a result, anything else a failure. */
export function analyze(chunks: Uint8Array[], fileName = 'fuzz.pcap'): RunResult {
  const started = performance.now();
  const connections: ConnectionRecord[] = [];
  const analysis = new Analysis((c) => connections.push(c));
  const ingest = analysis.openFile(fileName);
  let notACapture: string | null = null;
  try {
    for (const chunk of chunks) ingest.push(chunk);
    ingest.finish();
  } catch (e) {
    if (!(e instanceof NotACaptureError)) throw e;
    notACapture = e.message;
  }
  analysis.finish();
  const ms = performance.now() - started;
  if (ms > TIME_LIMIT_MS) fail(`took ${ms.toFixed(0)} ms (limit ${TIME_LIMIT_MS} ms) for ${chunks.reduce((s, c) => s + c.length, 0)} bytes`);
  return { captures: analysis.captures, connections, notACapture, ms };
}

/** kind/code/message always; file, and offset for capture-level damage. */
export function checkAnomaly(a: Anomaly, where: string, captureLevel: boolean): void {
  if (!KINDS.has(a.kind)) fail(`${where}: anomaly kind ${JSON.stringify(a.kind)}`);
  if (typeof a.code !== 'string' || a.code.length === 0) fail(`${where}: anomaly without code ${JSON.stringify(a)}`);
  if (typeof a.message !== 'string' || a.message.length === 0) fail(`${where}: anomaly without message ${JSON.stringify(a)}`);
  if (typeof a.file !== 'string' || a.file.length === 0) fail(`${where}: anomaly without file ${JSON.stringify(a)}`);
  if (a.message.includes('\n    at ')) fail(`${where}: stack trace in an anomaly message`);
  if (captureLevel && a.code !== 'more-anomalies' && a.code !== 'read-error') {
    if (typeof a.offset !== 'number' || !Number.isInteger(a.offset) || a.offset < 0) fail(`${where}: capture anomaly without a byte offset ${JSON.stringify(a)}`);
  }
  if (!captureLevel && (typeof a.frame !== 'number' || a.frame < 0)) fail(`${where}: connection anomaly without a frame ${JSON.stringify(a)}`);
  if (a.offset !== undefined && !(Number.isInteger(a.offset) && a.offset >= 0)) fail(`${where}: bad offset ${a.offset}`);
}

export function checkWellFormed(r: RunResult, fileLength: number): void {
  for (const c of r.captures) {
    for (const a of c.anomalies) {
      checkAnomaly(a, 'capture', true);
      if (a.offset !== undefined && a.offset > fileLength) fail(`capture anomaly offset ${a.offset} beyond the file (${fileLength} bytes)`);
    }
    if (c.packets < 0 || !Number.isFinite(c.packets)) fail(`packet count ${c.packets}`);
  }
  for (const conn of r.connections) {
    for (const a of conn.anomalies) checkAnomaly(a, `connection ${conn.id}`, false);
    if (!Number.isFinite(conn.startTime) || !Number.isFinite(conn.endTime)) fail(`connection ${conn.id}: non-finite time`);
  }
  // The output must serialise (no cycles, no BigInt) as the CLI writes it.
  JSON.stringify({ captures: r.captures, connections: r.connections });
}

/** What a run is compared by across chunkings: everything, ids included. */
export function fingerprint(r: RunResult): string {
  // Not a capture: reading stops at the first chunk that decides it, so only the verdict counts.
  if (r.notACapture !== null) return JSON.stringify({ notACapture: r.notACapture });
  return JSON.stringify({ captures: r.captures, connections: r.connections, notACapture: r.notACapture });
}

/** Key fields of a connection record that do not depend on frame numbering. */
export function connectionKey(c: ConnectionRecord): string {
  return JSON.stringify([
    c.client, c.server, c.sni, c.alpn, c.version, c.cipher, c.offer, c.serverSessionId, c.resumption, c.resumedBy,
    c.resumed, c.established, c.handshake, c.history, c.helloRetry, c.ticketIssued, c.issuedTicket, c.offeredTicket,
    c.offeredPskIdentity, c.certificateSeen, c.clientFingerprint, c.abort?.by ?? null, c.abort?.how ?? null, c.abort?.stage ?? null,
  ]);
}

export function connectionKeys(r: RunResult): string[] {
  return r.connections.map(connectionKey).sort();
}

// ---------------------------------------------------------------------------
// Capture-level properties

/** Any bytes: no throw, bounded time, well-formed anomalies, identical result in any chunking. */
export function checkArbitraryInput(bytes: Uint8Array, chunkSizes: number[]): RunResult {
  const whole = analyze([bytes]);
  checkWellFormed(whole, bytes.length);
  const split = analyze(chunked(bytes, chunkSizes));
  if (fingerprint(whole) !== fingerprint(split)) fail(`chunking [${chunkSizes.slice(0, 8).join(',')}…] changed the result:\n${diff(fingerprint(whole), fingerprint(split))}`);
  return whole;
}

function diff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `  whole: …${a.slice(Math.max(0, i - 120), i + 200)}\n  split: …${b.slice(Math.max(0, i - 120), i + 200)}`;
}

/** A valid capture, mutated: never throws, terminates, anomalies well-formed, chunking-independent. */
export function checkMutatedCapture(spec: CaptureSpec, mutations: Mutation[], chunkSizes: number[]): void {
  const built = buildCapture(spec);
  const bytes = mutate(built, mutations, spec.littleEndian);
  const r = checkArbitraryInput(bytes, chunkSizes);
  // Shorter than its file header (pcap 24 bytes, pcapng's section header 28) holds nothing to read: refused like any stub.
  const headerLength = bytes[0] === 0x0a ? 28 : 24;
  // So does one cut inside its first blocks or packet record: not one packet was read.
  const cutBeforeAnyPacket = r.notACapture?.includes('before any packet') ?? false;
  if (r.notACapture !== null && !cutBeforeAnyPacket && bytes.length >= headerLength && isCaptureMagic(bytes)) fail(`a capture-looking file was rejected: ${r.notACapture}`);
}

function isCaptureMagic(b: Uint8Array): boolean {
  const head = (b[0]! << 24 | b[1]! << 16 | b[2]! << 8 | b[3]!) >>> 0;
  return head === 0x0a0d0d0a || head === 0xa1b2c3d4 || head === 0xd4c3b2a1 || head === 0xa1b23c4d || head === 0x4d3cb2a1;
}

/** The intact capture: no anomaly of kind malformed, every frame read. */
export function checkIntactCapture(spec: CaptureSpec): { built: BuiltCapture; result: RunResult } {
  const built = buildCapture(spec);
  const result = analyze([built.bytes]);
  checkWellFormed(result, built.bytes.length);
  const frames = built.isPacket.filter(Boolean).length;
  const summary = result.captures[0]!;
  if (summary.packets !== frames) fail(`intact capture: ${summary.packets} packets read, ${frames} written`);
  const malformed = summary.anomalies.filter((a) => a.kind !== 'truncated');
  if (malformed.length > 0) fail(`intact capture reported ${JSON.stringify(malformed[0])}`);
  return { built, result };
}

/**
 * Truncating keeps everything before the cut: cut at a record boundary → exactly the
 * records before it, no anomaly from the reader; cut inside a record → the same, plus
 * one 'truncated' anomaly at that record's offset.
 */
export function checkTruncationKeepsPrefix(spec: CaptureSpec, cutAt: number): void {
  const built = buildCapture(spec);
  const cutPoint = Math.min(cutAt, built.bytes.length);
  const headerEnd = built.boundaries[0] ?? built.bytes.length;
  const r = analyze([built.bytes.subarray(0, cutPoint)]);
  checkWellFormed(r, cutPoint);
  if (cutPoint < 4) {
    if (r.notACapture === null) fail(`a ${cutPoint}-byte file was accepted`);
    return;
  }
  const summary = r.captures[0]!;
  let complete = 0;
  let cutRecord = -1;
  for (let i = 0; i < built.boundaries.length; i++) {
    const start = built.boundaries[i]!;
    const end = built.boundaries[i + 1] ?? built.bytes.length;
    if (end <= cutPoint) {
      if (built.isPacket[i]) complete++;
    } else if (start < cutPoint) cutRecord = i;
  }
  if (summary.packets !== complete) fail(`cut at ${cutPoint}: ${summary.packets} packets kept, ${complete} complete before the cut`);
  const reader = summary.anomalies.filter((a) => a.code !== 'snaplen-headers' && a.code !== 'ip-fragment' && a.code !== 'bad-headers');
  if (spec.format === 'pcap' && cutPoint < headerEnd) return; // inside the file header: reported as such
  if (cutRecord >= 0) {
    const cutAnomaly = reader.find((a) => a.kind === 'truncated' && a.offset === built.boundaries[cutRecord]);
    if (!cutAnomaly) fail(`cut at ${cutPoint} inside record ${cutRecord} (offset ${built.boundaries[cutRecord]}): no 'truncated' anomaly there, got ${JSON.stringify(reader)}`);
    if (reader.some((a) => a.kind === 'malformed')) fail(`cut at ${cutPoint}: a clean cut reported as malformed ${JSON.stringify(reader)}`);
  } else if (reader.length > 0 && cutPoint >= headerEnd) {
    fail(`cut at record boundary ${cutPoint}: unexpected anomaly ${JSON.stringify(reader)}`);
  }
}

/**
 * Order independence: interleaving the connections differently, swapping adjacent data
 * segments of one flight, or duplicating a segment right after itself gives the same
 * connection records (set equality on the key fields).
 */
export function checkOrderIndependence(spec: CaptureSpec, swaps: number[], duplicates: number[]): void {
  const base = buildCapture(spec);
  const baseKeys = connectionKeys(analyze([base.bytes]));
  const order = base.order.map((x) => [...x] as [number, number]);
  const segs = base.segments;
  for (const s of swaps) {
    if (order.length < 2) break;
    const i = s % order.length;
    // Find the next frame of the same connection.
    const [c, k] = order[i]!;
    const j = order.findIndex((x, idx) => idx > i && x[0] === c);
    if (j < 0) continue;
    const a = segs[c]![k]!, b = segs[c]![order[j]![1]]!;
    if (a.flight < 0 || a.flight !== b.flight || a.side !== b.side) continue;
    order[i] = order[j]!;
    order[j] = [c, k];
  }
  for (const d of duplicates) {
    if (order.length === 0) break;
    const i = d % order.length;
    const [c, k] = order[i]!;
    const seg = segs[c]![k]!;
    // Duplicating a bare SYN after its answer is a new connection attempt, not a retransmission.
    if (seg.payload.length === 0 && (seg.flags & 0x07) !== 0) continue;
    order.splice(i + 1, 0, [c, k]);
  }
  const permuted = buildCapture(spec, order);
  const keys = connectionKeys(analyze([permuted.bytes]));
  if (JSON.stringify(keys) !== JSON.stringify(baseKeys)) {
    fail(`reordering changed the connection records:\n  before: ${baseKeys.join('\n          ')}\n  after:  ${keys.join('\n          ')}`);
  }
}

// ---------------------------------------------------------------------------
// TLS- and TCP-level properties

const silentListener: TlsStreamListener = {
  onHandshakeMessage: (_s, type, bytes, start, end) => {
    // What the connection would do with it: parse the hellos and tickets.
    if (type === 1) parseClientHello(bytes, start, end);
    else if (type === 2) parseServerHello(bytes, start, end);
    else if (type === 4) parseNewSessionTicket12(bytes, start, end);
  },
  onSslv2ClientHello: (_s, bytes, start, end) => { parseSslv2ClientHello(bytes, start, end); },
  onChangeCipherSpec: () => {},
  onAlert: () => {},
  onEncryptedRecord: () => {},
  onStreamTrouble: (_s, kind, code, message) => {
    if ((kind !== 'gap' && kind !== 'malformed' && kind !== 'truncated') || !code || !message) fail(`stream trouble without kind/code/message: ${kind} ${code}`);
  },
};

/** The hello parsers: any bytes, any range inside them → a result, never an exception. */
export function checkHelloParsers(bytes: Uint8Array, start: number, end: number): void {
  const s = Math.min(start, bytes.length);
  const e = Math.max(s, Math.min(end, bytes.length));
  for (const parse of [parseClientHello, parseServerHello, parseSslv2ClientHello, parseNewSessionTicket12]) {
    const r = parse(bytes, s, e) as { ok: boolean; error?: string };
    if (typeof r.ok !== 'boolean' || (!r.ok && !r.error)) fail(`${parse.name} returned ${JSON.stringify(r)}`);
  }
  // The hot path's scan: no answer where the parser finds the hello malformed.
  if (scanClientHello(bytes, s, e) !== null && !parseClientHello(bytes, s, e).ok) fail('scanClientHello answered for a malformed hello');
  if (scanServerHello(bytes, s, e) !== null && !parseServerHello(bytes, s, e).ok) fail('scanServerHello answered for a malformed hello');
}

export type StreamEvent = { data: Uint8Array } | { gap: number };

/** TlsStream over any bytes and gaps, in both directions: never throws, terminates. */
export function checkTlsStream(client: StreamEvent[], server: StreamEvent[]): void {
  const started = performance.now();
  const a = new TlsStream(0, silentListener);
  const b = new TlsStream(1, silentListener);
  a.peer = b;
  b.peer = a;
  const n = Math.max(client.length, server.length);
  for (let i = 0; i < n; i++) {
    for (const [stream, events] of [[a, client], [b, server]] as const) {
      const e = events[i];
      if (!e) continue;
      if ('data' in e) stream.push(e.data, i, i + 1);
      else stream.gap(e.gap, i + 1);
    }
  }
  const ms = performance.now() - started;
  if (ms > TIME_LIMIT_MS) fail(`TlsStream took ${ms.toFixed(0)} ms`);
}

export interface SegmentEvent {
  kind: 'syn' | 'data' | 'ack' | 'flush';
  offset: number;
  length: number;
  missing: number;
  fin: boolean;
}

/**
 * StreamReassembler: any segments and acknowledgments → delivered bytes and gaps
 * account exactly for the sequence space consumed, and memory held for out-of-order
 * data stays bounded (1 MiB of payload and 512 segments, plus the one being added).
 */
export function checkReassembler(base: number, events: SegmentEvent[]): void {
  let delivered = 0;
  let missing = 0;
  const r = new StreamReassembler({
    onData: (_bytes, start, end) => {
      if (!(end > start)) fail(`empty or inverted range ${start}..${end}`);
      delivered += end - start;
    },
    onGap: (length) => {
      if (!(length > 0)) fail(`gap of ${length} bytes`);
      missing += length;
    },
  });
  const pending = r as unknown as { pending: { data: Uint8Array }[]; pendingBytes: number };
  for (const e of events) {
    const seq = (base + e.offset) >>> 0;
    if (e.kind === 'syn') r.onSyn(seq);
    else if (e.kind === 'data') r.onSegment(seq, new Uint8Array(e.length), e.missing, e.fin, 0, 1);
    else if (e.kind === 'ack') r.onPeerAcknowledgment(seq, 0, 1);
    else r.flush(0, 0);
    if (pending.pending.length > 513 || pending.pendingBytes > (1 << 20) + 65536) {
      fail(`reassembler holds ${pending.pending.length} segments / ${pending.pendingBytes} bytes out of order`);
    }
  }
  if (r.bytesDelivered !== delivered || r.bytesMissing !== missing) fail('reassembler counters disagree with what it handed out');
}

/** Tunnel headers a fuzzed frame is wrapped in (index → wrapper), outermost last. */
export const TUNNEL_WRAPPERS: ((inner: Uint8Array) => Uint8Array)[] = [
  (inner) => ipv4(udp(vxlan(ethernet(0x0800, inner)), { destinationPort: 4789 }), { protocol: 17 }),
  (inner) => ipv4(udp(geneve(inner, { protocol: 0x0800 }), { destinationPort: 6081 }), { protocol: 17 }),
  (inner) => ipv4(gre(inner, { protocol: 0x0800, key: 1, sequence: 2 }), { protocol: 47 }),
  (inner) => ipv4(gre(erspan3(ethernet(0x0800, inner), { subheader: true }), { protocol: 0x22eb, sequence: 1 }), { protocol: 47 }),
  (inner) => ipv4(gre(mpls(inner), { protocol: 0x8847 }), { protocol: 47 }),
  (inner) => ipv4(inner, { protocol: 4 }),
  (inner) => ipv6(inner, { nextHeader: 4 }),
];

/**
 * Arbitrary bytes inside tunnels (raw IP frames, LINKTYPE 101), cut anywhere by "snaplen": the
 * decoder terminates without throwing, and what it reports lies within the captured bytes.
 */
export function checkTunnelFrame(kinds: number[], inner: Uint8Array, cut: number): void {
  let frame = inner;
  for (const kind of kinds) frame = TUNNEL_WRAPPERS[kind % TUNNEL_WRAPPERS.length]!(frame);
  const captured = frame.subarray(0, Math.min(frame.length, cut));
  const packet = new TcpPacket();
  const result = decodeFrame(101, captured, frame.length, packet);
  if (!(result >= DecodeResult.Tcp && result <= DecodeResult.Udp)) fail(`decodeFrame returned ${String(result)}`);
  if (packet.tunnels > 8 && result !== DecodeResult.Malformed) fail(`${packet.tunnels} tunnels opened and not refused`);
  if (result === DecodeResult.Tcp || result === DecodeResult.Udp) {
    const within = (at: number, n: number) => at >= 0 && at + n <= captured.length;
    if (!within(packet.sourceOffset, packet.addressLength) || !within(packet.destinationOffset, packet.addressLength)) fail('an address outside the captured bytes');
    if (!(packet.payloadStart <= packet.payloadEnd && packet.payloadEnd <= captured.length)) fail(`payload [${packet.payloadStart}, ${packet.payloadEnd}) outside ${captured.length} captured bytes`);
    if (packet.missingPayload < 0) fail('negative missing payload');
  }
}

export interface FragmentEvent {
  id: number;
  /** In 8-byte units (RFC 791 §3.1). */
  offset: number;
  length: number;
  more: boolean;
  ipv6: boolean;
  time: number;
}

/**
 * Arbitrary fragments (any ids, offsets, lengths, orders, both IP versions) through the reassembler:
 * it never throws, every datagram it gives back decodes as an IP packet of the length its
 * fragments said, and each fragment's datagram ends exactly once (given back or reported) by the end.
 */
export function checkFragments(events: FragmentEvent[]): void {
  const ended = new Map<number, number>();
  const reassembler = new IpFragmentReassembler((d) => ended.set(d.frame, (ended.get(d.frame) ?? 0) + 1));
  const packet = new TcpPacket();
  let time = 0;
  events.forEach((e, i) => {
    time += e.time;
    const data = new Uint8Array(e.length).fill(i & 0xff);
    const frame = e.ipv6
      ? ipv6(concat(ipv6FragmentHeader(6, e.offset, e.more), data), { nextHeader: 44 })
      : ipv4(data, { protocol: 6, flagsAndOffset: (e.more ? 0x2000 : 0) | (e.offset & 0x1fff), id: e.id & 0xffff });
    const result = decodeFrame(101, frame, frame.length, packet);
    if (result !== DecodeResult.Fragment) return;
    const whole = reassembler.add(packet, time, i + 1);
    if (whole === null) return;
    const check = new TcpPacket();
    const decoded = decodeFrame(101, whole, whole.length, check);
    if (decoded === DecodeResult.Fragment) fail('a reassembled datagram is still a fragment');
  });
  reassembler.finish();
  if (reassembler.size !== 0) fail(`${reassembler.size} datagrams left after finish()`);
  for (const [frame, times] of ended) if (times !== 1) fail(`the datagram first seen in frame ${frame} was reported ${times} times`);
}

/**
 * A --state file with bytes changed: decoding gives a StateFileError (offset inside the file) or a
 * state that a session table takes in and gives back — never another exception. What is read back
 * from the table's own carryOut decodes again to the same state.
 */
export function checkStateFile(valid: CarriedSessions, flips: [number, number][], cut: number | null): void {
  let bytes = encodeSessionState(valid).slice();
  for (const [at, value] of flips) bytes[at % bytes.length] = value;
  // Half the time the checksum is made again over the changed bytes (as a deliberate edit would):
  // the checks behind it (counts, times, indexes) still meet damaged contents.
  if (flips.length > 0 && flips[0]![1] % 2 === 0 && bytes.length >= 4) {
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  }
  if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
  let state: CarriedSessions;
  try {
    state = decodeSessionState(bytes);
    // The check alone (what the CLI does first) agrees with the whole read.
    if (readSessionState(bytes).sessions !== state.sessions.kind.length) fail('readSessionState and decodeSessionState disagree');
  } catch (e) {
    if (!(e instanceof StateFileError)) throw e;
    if (e.offset < 0 || e.offset > bytes.length) fail(`state file error at byte ${e.offset} of ${bytes.length}`);
    return;
  }
  const table = new SessionTable();
  table.carryIn(bytes);
  const written = table.carryOut(Infinity).finish()!;
  const reread = decodeSessionState(written);
  // Streamed a few bytes at a time (as the CLI streams to its file), the same bytes.
  const chunks: number[] = [];
  const again = new SessionTable();
  again.carryIn(bytes);
  if (again.carryOut(Infinity, undefined, (chunk) => { for (const b of chunk) chunks.push(b); }, 1 + (bytes.length % 13)).finish() !== null) fail('a streamed state returned its bytes');
  if (chunks.length !== written.length || chunks.some((b, i) => b !== written[i])) fail(`streamed state: ${chunks.length} bytes, differing from the ${written.length} written at once`);
  if (reread.sessions.kind.length !== state.sessions.kind.length) fail(`${state.sessions.kind.length} sessions carried in, ${reread.sessions.kind.length} carried on`);
  if (reread.clients.length !== state.clients.length) fail(`${state.clients.length} clients carried in, ${reread.clients.length} carried on`);
}

// ---------------------------------------------------------------------------
// Several files

/**
 * Two captures of one link that overlap (the first `a` frames, and the frames from `b` on, the
 * second on a clock `skewMicros` ahead that runs `ratePpm` fast from its first packet on), read
 * merged on one clock and rate as after sharedPastHeads found them: the records of the capture
 * whole, each packet counted once (PacketCopies), in bounded time.
 */
export async function checkOverlappingCaptures(spec: CaptureSpec, a: number, b: number, skewMicros: number, ratePpm = 0): Promise<void> {
  // Each capture in time order, as a capturing host writes it (the generator interleaves
  // connections out of time order; merged by time, such files read differently from one).
  const interleaved = buildCapture(spec);
  const timeOf = ([c, k]: [number, number]) => interleaved.segments[c]![k]!.time;
  const order = [...interleaved.order].sort((x, y) => timeOf(x) - timeOf(y));
  const base = buildCapture(spec, order);
  const frames = order.length;
  const firstEnd = frames === 0 ? 0 : 1 + (a % frames);
  const secondStart = firstEnd === 0 ? 0 : b % firstEnd;
  const skew = skewMicros / 1e6;
  const rate = ratePpm / 1e6;
  const first = buildCapture(spec, order.slice(0, firstEnd)).bytes;
  const ahead = { ...spec, connections: spec.connections.map((c) => ({ ...c, startTime: c.startTime + skew })) };
  // The second host's clock: `skew` ahead at its first packet, `rate` fast from there.
  const from = secondStart < frames ? timeOf(order[secondStart]!) + skew : 0;
  const second = buildCapture(ahead, order.slice(secondStart), rate === 0 ? undefined : (time) => from + (time - from) * (1 + rate)).bytes;
  const started = performance.now();
  const connections: ConnectionRecord[] = [];
  const analysis = new Analysis((c) => connections.push(c));
  const files = [first, second];
  // As if their heads shared nothing: the link is what the first reading found.
  const drift = rate === 0 ? {} : { drift: { file: 1, rate, at: from, against: 'part0', connections: 3 } };
  const plan = planReading(files.map((bytes, i) => ({ ...probeHead(bytes, `part${i}`), connections: new Set<string>(), handshakes: new Map() })), [{ files: [0, 1], ahead: skew, connections: 3, ...drift }]);
  await readInTimeOrder<MemorySource>(plan, {
    open: (planned) => new MemorySource(files[planned.index]!, () => analysis.openFile(`part${planned.index}`, false, planned)),
    close: async (source) => source.ingest?.finish(),
    abandon: async () => undefined,
  });
  analysis.finish();
  const ms = performance.now() - started;
  if (ms > TIME_LIMIT_MS) fail(`two overlapping captures took ${ms.toFixed(0)} ms (limit ${TIME_LIMIT_MS} ms)`);
  const whole = analyze([base.bytes]);
  const keys = connections.map(connectionKey).sort();
  if (JSON.stringify(keys) !== JSON.stringify(connectionKeys(whole))) {
    fail(`overlapping captures read merged changed the connection records:\n  whole:  ${connectionKeys(whole).join('\n          ')}\n  merged: ${keys.join('\n          ')}`);
  }
  const packets = (records: ConnectionRecord[]) => records.reduce((n, c) => n + c.packets, 0);
  if (packets(connections) !== packets(whole.connections)) fail(`the packets both files held counted twice: ${packets(connections)} against ${packets(whole.connections)}`);
}

/** A file in memory for readInTimeOrder, handed over in chunks of 1,500 bytes. */
class MemorySource implements TimedSource {
  ingest: CaptureIngest | null = null;
  ended = false;
  private at = 0;

  constructor(private readonly bytes: Uint8Array, private readonly open: () => CaptureIngest) {}

  async read(bound: number): Promise<void> {
    this.ingest ??= this.open();
    this.ingest.holdAfter = bound;
    if (this.at >= this.bytes.length) {
      this.ended = true;
      return;
    }
    this.ingest.push(this.bytes.slice(this.at, this.at + 1500));
    this.at += 1500;
  }

  release(until: number): void {
    this.ingest?.releaseHeld(until);
  }
}
