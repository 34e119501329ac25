// Sessions carried from one analysis to the next (the CLI's --state file). A farm's sessions live
// for hours or days (seed 004: kept a day or longer, ~30 minutes between a client's connections)
// while its captures are cut into hourly files: analysed one at a time, every session issued in an
// earlier file was "issued before the capture", its age, idle time and churn unknown, and no limit
// longer than one file could ever be measured. The state holds what the session table knows of
// each session at the end of an analysis, so the next one knows it too.
//
// Binary, little-endian, read with bounds checks everywhere: a state file is input like a capture,
// and a damaged one is refused with the byte offset, never half-used.
//
//   magic "resumescope-state\n" (18 bytes), u32 format version (5; versions 1 to 4 are read too)
//   f64 lastTime: the latest session use (or, since version 3, carried abort) the analyses so far saw (epoch seconds)
//   (version 3) f64 observedSince: every session unknown to the state was last used before this
//       time (the first packet of the series, or where sessions idle for 7 days were dropped);
//       -Infinity when no analysis saw traffic yet
//   u32 groups, each: text key, u8 has-SNI, [text SNI], u32 port, u32 issued (the group's issue counter)
//   u32 addresses, each: text "ip|port" (server addresses that issued sessions)
//   u32 sessions (in order of last use), each: u8 kind (+4: issued before any analysis saw it; since version 5,
//       + 8 × the TLS version it was made under, SESSION_VERSIONS' index, 0: unknown), u32 group,
//       u32 issuer address, u32 issue index (the group's counter at its issue), f64 issuedAt, f64 lastUse
//   u32 keys, each: u32 session, text key (the session table's key: kind letter + ID bytes, …)
//   (version 2) u32 stacks, each: text (a client's TLS stack: its fingerprint, "" when unknown);
//       u32 clients, each: u32 group, u32 stack, text address, u32 session: the latest session a
//       client (an address and a TLS stack) held with a group, so that the next file knows a client
//       that comes back holding a session and offers nothing (client-forgot)
//   (version 3) u32 aborts, each: u32 session, f64 time: an aborted handshake offered the session
//       after its last use, so that its refusal in the next file can be the purge such an abort
//       causes (purged-after-abort); u32 unknown aborts, each: text key, f64 time: the same for a
//       session no analysis saw issued or used (its key only)
//   u32 flushes, each: u32 group, f64 low, f64 time (a cache flush found between the two); last, as
//       the flushes are known only once the groups are inferred, after the sessions are written
//   (version 4) u32 CRC-32 of every byte before it (crc32.ts): a file damaged on disk or edited is
//       refused whole, not read into wrong verdicts (the checks of counts, times and indexes let most
//       flipped bits in times and keys through)
// Written as it goes (SessionStateWriter), each count before what it counts, so that the CLI streams
// it to its file a chunk at a time: a million sessions are ~90 MB of state, which held whole cost the
// 2-million-connection run 91 MB at its peak (building them as objects first, a string per key, ~140 MB).
// A text: u32 length in UTF-16 code units, top bit set when each takes two bytes, then the units.

import type { SessionKind } from './session-table.js';
import { stringOfCodes } from '../tls/hello.js';
import { Crc32, crc32 } from './crc32.js';

export const STATE_MAGIC = 'resumescope-state\n';
export const STATE_VERSION = 5;
/** The fourth version, without the sessions' TLS versions: still read (every version unknown). */
const STATE_VERSION_WITHOUT_SESSION_VERSIONS = 4;
/** The third version, without the checksum: still read. */
const STATE_VERSION_WITHOUT_CHECKSUM = 3;
/** The first version, without clients: still read. */
const STATE_VERSION_WITHOUT_CLIENTS = 1;
/** The second, without observedSince and aborts: still read. */
const STATE_VERSION_WITHOUT_ABORTS = 2;
const KIND_NAMES: readonly SessionKind[] = ['session-id', 'ticket', 'psk'];
const WIDE = 0x80000000;
/** In a session's kind byte: its issue was never seen (see CarriedSessions.sessions.issueSeen). */
const ISSUE_UNSEEN = 4;
/** In a session's kind byte (version 5): the TLS version it was made under sits above this bit. */
const VERSION_SHIFT = 3;
/**
 * The TLS versions a session can be made under, by the index a state file and the session table keep
 * (0: unknown). A session resumes only under its own version (version-change), and sessions are
 * carried across analyses: a TLS 1.0 session offered in the next file's TLS 1.2 handshake is known as such.
 */
export const SESSION_VERSIONS: readonly (string | null)[] = [null, 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3'];

export interface CarriedGroup {
  key: string;
  sni: string | null;
  port: number;
  /** The group's issue counter: churn (sessions issued since) goes on across analyses. */
  issued: number;
  /**
   * Flushes found by earlier analyses (the cache emptied between low and time): a session last used
   * before one and offered in a later file is refused for it, though that file cannot see the moment.
   */
  flushes: { low: number; time: number }[];
}

export interface CarriedSessions {
  /** The latest session use the analyses so far saw (epoch seconds); -Infinity when empty. */
  lastTime: number;
  groups: CarriedGroup[];
  /** Server addresses ("ip|port") that issued the sessions. */
  addresses: string[];
  /** Sessions, in order of last use (oldest first): their places in a group's LRU list follow from it. */
  sessions: {
    kind: Uint8Array;
    /** 0: first seen resumed, issued before any analysis began (its issue time and churn unknown); 1: issue seen. */
    issueSeen: Uint8Array;
    /** The TLS version each was made under: an index of SESSION_VERSIONS (0: unknown; always 0 in files before version 5). */
    version: Uint8Array;
    group: Uint32Array;
    issuer: Uint32Array;
    issueIndex: Uint32Array;
    issuedAt: Float64Array;
    lastUse: Float64Array;
  };
  /** Every key a session is known by (a session ID and a ticket, a PSK identity and its client). */
  keys: string[];
  keySessions: Uint32Array;
  /** The latest session each client (address and TLS stack) held with a group. */
  clients: CarriedClient[];
  /**
   * Sessions unknown to the state were last used before this (epoch seconds): the series' first
   * packet, or later where sessions idle for MAX_CARRIED_IDLE were dropped. Infinity: unknown
   * (version 1 and 2 files, or no traffic yet).
   */
  observedSince: number;
  /** Sessions an aborted handshake offered after their last use (session: index in `sessions`). */
  aborts: CarriedAbort[];
  /** The same for keys of sessions no analysis saw issued or used. */
  unknownAborts: CarriedUnknownAbort[];
}

/** An aborted handshake offered this session after its last use, at `time`. */
export interface CarriedAbort {
  session: number;
  time: number;
}

/** An aborted handshake offered the session of this key, which no analysis saw issued or used, at `time`. */
export interface CarriedUnknownAbort {
  key: string;
  time: number;
}

/**
 * Visits clients holding a session (group index, TLS stack, address, session): called twice when a
 * state is written (the stacks first, then the clients), so that no list of them is made.
 */
export type ClientVisitor = (visit: (group: number, stack: string, address: string, session: number) => void) => void;

/** A client's latest session with a group, carried to the next analysis. */
export interface CarriedClient {
  group: number;
  /** The client's TLS stack (ClientHello fingerprint; "" when unknown). */
  stack: string;
  address: string;
  /** Index of the session in the state's sessions (a session table row once carried in). */
  session: number;
}

/**
 * Captures must come after the traffic a state holds: an offer of a session used later than itself
 * would get a negative idle time (the files of one tap's rotated capture follow each other, so no
 * overlap is allowed). `lastTime`: the state's latest session use; `firstTime`: the captures' first
 * packet (epoch seconds). Returns the complaint, or null.
 */
export function stateOrderProblem(lastTime: number, firstTime: number | null): string | null {
  if (firstTime === null || !Number.isFinite(lastTime) || lastTime <= firstTime) return null;
  // (A time a Date cannot hold, from a damaged capture, written as seconds: see diagnose/format.ts isoTime.)
  const iso = (t: number) => (Number.isNaN(new Date(t * 1000).getTime()) ? `${t} s after 1970` : new Date(t * 1000).toISOString());
  return `holds sessions used up to ${iso(lastTime)}, after this capture's start (${iso(firstTime)}): analyse the captures in time order (once each)`;
}

/** A state file checked whole: its latest session use, and its bytes for the diagnosis. */
export interface CheckedState {
  lastTime: number;
  /**
   * The bytes, handed over once and then dropped by this object (DiagnoseOptions.carriedIn takes
   * this function): a million sessions are ~90 MB, which the session table reads in at the start
   * of the diagnosis and no caller need hold through its peak.
   */
  take(): Uint8Array;
}

/** Checks a state file whole (throws StateFileError with the offset when it is damaged). */
export function checkSessionState(bytes: Uint8Array): CheckedState {
  const lastTime = readSessionState(bytes).lastTime;
  let held: Uint8Array | null = bytes;
  return {
    lastTime,
    take: () => {
      if (held === null) throw new Error('the state was handed over already');
      const taken = held;
      held = null;
      return taken;
    },
  };
}

/** A state file that cannot be used: what is wrong and at which byte. */
export class StateFileError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

/** The state file's bytes. */
export function encodeSessionState(state: CarriedSessions): Uint8Array {
  const keyUnits = state.keys.reduce((n, k) => n + 2 * k.length, 0);
  const w = new SessionStateWriter(state.lastTime, 1024 + 64 * (state.groups.length + state.addresses.length) + 29 * state.sessions.kind.length + 8 * state.keys.length + keyUnits, null, undefined, state.observedSince);
  w.groups(state.groups);
  w.addresses(state.addresses);
  const s = state.sessions;
  w.startSessions(s.kind.length);
  for (let i = 0; i < s.kind.length; i++) w.session(s.kind[i]!, s.issueSeen[i] === 1, s.group[i]!, s.issuer[i]!, s.issueIndex[i]!, s.issuedAt[i]!, s.lastUse[i]!, s.version[i]!);
  w.startKeys(state.keys.length);
  for (let i = 0; i < state.keys.length; i++) w.key(state.keySessions[i]!, state.keys[i]!);
  w.clients((visit) => { for (const c of state.clients) visit(c.group, c.stack, c.address, c.session); });
  w.aborts(state.aborts, state.unknownAborts);
  return w.finish(state.groups.flatMap((g, index) => g.flushes.map((f) => ({ group: index, ...f }))))!;
}

/**
 * Takes a state file's bytes as they are written, a chunk at a time (SessionStateWriter), and must
 * be done with each chunk when it returns: the writer reuses it. A million sessions are ~90 MB of
 * state: streamed to the file as they are encoded, they are never all in memory at the analysis's
 * peak (the 2-million-connection run with --state peaked 91 MB over the same run without).
 */
export type StateChunkSink = (chunk: Uint8Array) => void;

/** Bytes a streamed state is handed over in. */
const STATE_CHUNK = 1 << 20;

/**
 * A state file written as it goes, in the order of the format: groups, addresses, sessions, keys,
 * clients, aborts, then (finish) the flushes. Every count is written before what it counts, so that the
 * bytes can go out as they are made: to `sink` a chunk at a time when one is given, else into one
 * buffer (`sizeHint`: bytes to start with; it grows by half when short) that finish returns.
 */
export class SessionStateWriter {
  private readonly out: StateWriter;
  private keysLeft = -1;
  /** The next part to write: aborts come after the clients, the flushes after the aborts. */
  private step: 'clients' | 'aborts' | 'flushes' | 'done' = 'clients';
  /** observedSince: see CarriedSessions (Infinity: unknown). */
  constructor(lastTime: number, sizeHint = 1 << 16, sink: StateChunkSink | null = null, chunkBytes = STATE_CHUNK, observedSince = Infinity) {
    this.out = new StateWriter(sink === null ? sizeHint : chunkBytes, sink);
    for (let i = 0; i < STATE_MAGIC.length; i++) this.out.u8(STATE_MAGIC.charCodeAt(i));
    this.out.u32(STATE_VERSION);
    this.out.f64(lastTime);
    this.out.f64(Number.isFinite(observedSince) ? observedSince : -Infinity);
  }
  groups(groups: readonly Omit<CarriedGroup, 'flushes'>[]): void {
    this.out.u32(groups.length);
    for (const g of groups) {
      this.out.text(g.key);
      this.out.u8(g.sni === null ? 0 : 1);
      if (g.sni !== null) this.out.text(g.sni);
      this.out.u32(g.port);
      this.out.u32(g.issued);
    }
  }
  addresses(addresses: readonly string[]): void {
    this.out.u32(addresses.length);
    for (const a of addresses) this.out.text(a);
  }
  startSessions(count: number): void {
    this.out.u32(count);
  }
  /** version: an index of SESSION_VERSIONS (0: unknown). */
  session(kind: number, issueSeen: boolean, group: number, issuer: number, issueIndex: number, issuedAt: number, lastUse: number, version: number): void {
    this.out.u8(kind | (issueSeen ? 0 : ISSUE_UNSEEN) | (version << VERSION_SHIFT));
    this.out.u32(group);
    this.out.u32(issuer);
    this.out.u32(issueIndex);
    this.out.f64(issuedAt);
    this.out.f64(lastUse);
  }
  /** `count` keys follow (key): exactly that many. */
  startKeys(count: number): void {
    this.out.u32(count);
    this.keysLeft = count;
  }
  key(session: number, key: string): void {
    if (this.keysLeft-- <= 0) throw new Error('SessionStateWriter: more keys than startKeys counted');
    this.out.u32(session);
    this.out.text(key);
  }
  /** After the keys: each client's latest session (sessions by their index in this file). */
  clients(clients: ClientVisitor): void {
    if (this.keysLeft !== 0) throw new Error(`SessionStateWriter: ${this.keysLeft} keys fewer than startKeys counted`);
    if (this.step !== 'clients') throw new Error('SessionStateWriter: clients written twice');
    this.step = 'aborts';
    const stacks = new Map<string, number>();
    let count = 0;
    clients((_group, stack) => {
      if (!stacks.has(stack)) stacks.set(stack, stacks.size);
      count++;
    });
    this.out.u32(stacks.size);
    for (const stack of stacks.keys()) this.out.text(stack);
    this.out.u32(count);
    clients((group, stack, address, session) => {
      if (count-- <= 0) throw new Error('SessionStateWriter: the clients changed between their two visits');
      this.out.u32(group);
      this.out.u32(stacks.get(stack)!);
      this.out.text(address);
      this.out.u32(session);
    });
    if (count !== 0) throw new Error('SessionStateWriter: the clients changed between their two visits');
  }
  /** After the clients: sessions (by their index in this file) and unknown keys an aborted handshake offered. */
  aborts(aborts: readonly CarriedAbort[], unknown: readonly CarriedUnknownAbort[]): void {
    if (this.step !== 'aborts') throw new Error(`SessionStateWriter: aborts ${this.step === 'clients' ? 'before the clients' : 'written twice'}`);
    this.step = 'flushes';
    this.out.u32(aborts.length);
    for (const a of aborts) {
      this.out.u32(a.session);
      this.out.f64(a.time);
    }
    this.out.u32(unknown.length);
    for (const u of unknown) {
      this.out.text(u.key);
      this.out.f64(u.time);
    }
  }
  /**
   * The flushes (group index, low, time) last. Returns the file's bytes, or null when they went to
   * the sink (its last chunk handed over now).
   */
  finish(flushes: readonly { group: number; low: number; time: number }[]): Uint8Array | null {
    if (this.step !== 'flushes') throw new Error(`SessionStateWriter: finished before the ${this.step}`);
    this.step = 'done';
    this.out.u32(flushes.length);
    for (const f of flushes) {
      this.out.u32(f.group);
      this.out.f64(f.low);
      this.out.f64(f.time);
    }
    return this.out.end();
  }
}

/**
 * What a state file holds, handed over as it is read (readSessionState): a session table takes it
 * in without an object per session or a string array of keys (SessionTable.carryIn).
 */
export interface SessionStateSink {
  group(key: string, sni: string | null, port: number, issued: number): void;
  address(address: string): void;
  sessions(count: number): void;
  /** version: an index of SESSION_VERSIONS (0: unknown, and in every file before version 5). */
  session(kind: number, issueSeen: boolean, group: number, issuer: number, issueIndex: number, issuedAt: number, lastUse: number, version: number): void;
  key(session: number, key: string): void;
  client(group: number, stack: string, address: string, session: number): void;
  /** Version 3: see CarriedSessions.observedSince (Infinity: unknown); called before the groups. */
  observedSince(time: number): void;
  abort(session: number, time: number): void;
  unknownAbort(key: string, time: number): void;
  flush(group: number, low: number, time: number): void;
}

/** A sink that keeps nothing: reading into it checks a file. */
const CHECK_ONLY: SessionStateSink = { group() {}, address() {}, sessions() {}, session() {}, key() {}, client() {}, observedSince() {}, abort() {}, unknownAbort() {}, flush() {} };

/**
 * Reads a state file into `sink` (by default only checks it); returns its latest time and how many
 * sessions it holds. Throws StateFileError (message and byte offset) when it is not one or is
 * damaged — possibly after part of it went to the sink: check a file before reading it into a table.
 */
export function readSessionState(bytes: Uint8Array, sink: SessionStateSink = CHECK_ONLY): { lastTime: number; sessions: number } {
  const r = new StateReader(bytes);
  for (let i = 0; i < STATE_MAGIC.length; i++) {
    if (r.offset >= bytes.length || bytes[r.offset] !== STATE_MAGIC.charCodeAt(i)) throw new StateFileError('not a resumescope state file', r.offset);
    r.offset++;
  }
  const versionAt = r.offset;
  const version = r.u32('format version');
  if (version !== STATE_VERSION && version !== STATE_VERSION_WITHOUT_SESSION_VERSIONS && version !== STATE_VERSION_WITHOUT_CHECKSUM && version !== STATE_VERSION_WITHOUT_ABORTS && version !== STATE_VERSION_WITHOUT_CLIENTS) {
    throw new StateFileError(version > STATE_VERSION
      ? `state format version ${version}, newer than this resumescope reads (${STATE_VERSION_WITHOUT_CLIENTS} to ${STATE_VERSION}): it was written by a newer resumescope; use that one for this series`
      : `state format version ${version}; this resumescope reads versions ${STATE_VERSION_WITHOUT_CLIENTS} to ${STATE_VERSION}`, versionAt);
  }
  // The checksum first: a damaged file is refused as such, before any part of it goes to the sink.
  let end = bytes.length;
  if (version >= STATE_VERSION_WITHOUT_SESSION_VERSIONS) {
    if (bytes.length < r.offset + 4) throw new StateFileError('cut short in the checksum', r.offset);
    end = bytes.length - 4;
    const stored = new DataView(bytes.buffer, bytes.byteOffset + end, 4).getUint32(0, true);
    if (crc32(bytes.subarray(0, end)) !== stored) {
      throw new StateFileError('the checksum does not match: the file was damaged or changed after it was written', end);
    }
    r.limit(end);
  }
  const lastTime = r.time('last time', true);
  if (version >= STATE_VERSION_WITHOUT_CHECKSUM) {
    const at = r.offset;
    const since = r.time('observed-since time', true);
    if (since > lastTime && Number.isFinite(lastTime)) throw new StateFileError('observed-since time after the last time', at);
    sink.observedSince(since === -Infinity ? Infinity : since);
  } else {
    sink.observedSince(Infinity);
  }

  const groupKeys = new Set<string>();
  const groupCount = r.count('groups', 13);
  const issuedOf = new Float64Array(groupCount);
  for (let i = 0; i < groupCount; i++) {
    const keyAt = r.offset;
    const key = r.text('group key');
    // A group's counter and flushes are one group's: a key twice would merge two into one.
    if (groupKeys.has(key)) throw new StateFileError(`group "${key.slice(0, 60)}" twice`, keyAt);
    groupKeys.add(key);
    const hasSniAt = r.offset;
    const hasSni = r.u8('group SNI flag');
    if (hasSni > 1) throw new StateFileError(`group SNI flag ${hasSni}`, hasSniAt);
    const sni = hasSni === 1 ? r.text('group SNI') : null;
    const portAt = r.offset;
    const port = r.u32('group port');
    if (port > 65535) throw new StateFileError(`group port ${port}`, portAt);
    issuedOf[i] = r.u32('group issue counter');
    sink.group(key, sni, port, issuedOf[i]!);
  }
  const addressCount = r.count('addresses', 4);
  for (let i = 0; i < addressCount; i++) {
    const at = r.offset;
    const address = r.text('address');
    if (!address.includes('|')) throw new StateFileError(`address "${address.slice(0, 60)}" is not ip|port`, at);
    sink.address(address);
  }

  const n = r.count('sessions', 29);
  sink.sessions(n);
  let previousUse = -Infinity;
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    const flags = r.u8('session kind');
    const kind = flags & (ISSUE_UNSEEN - 1);
    const sessionVersion = version >= STATE_VERSION ? flags >> VERSION_SHIFT : 0;
    if (kind >= KIND_NAMES.length || sessionVersion >= SESSION_VERSIONS.length || (version < STATE_VERSION && flags >= 1 << VERSION_SHIFT)) {
      throw new StateFileError(`session kind ${flags}`, at);
    }
    const group = r.u32('session group');
    if (group >= groupCount) throw new StateFileError(`session group ${group} of ${groupCount}`, at + 1);
    const issuer = r.u32('session issuer');
    if (issuer >= addressCount) throw new StateFileError(`session issuer ${issuer} of ${addressCount}`, at + 5);
    const issueIndex = r.u32('session issue index');
    if (issueIndex > issuedOf[group]!) throw new StateFileError(`session issue index ${issueIndex}, past its group's ${issuedOf[group]!} issues`, at + 9);
    const issuedAt = r.time('session issue time', false);
    const lastUse = r.time('session last use', false);
    if (lastUse < issuedAt || lastUse < previousUse || lastUse > lastTime) throw new StateFileError('session last use out of order', at + 21);
    previousUse = lastUse;
    sink.session(kind, (flags & ISSUE_UNSEEN) === 0, group, issuer, issueIndex, issuedAt, lastUse, sessionVersion);
  }
  const keyCount = r.count('keys', 8);
  for (let i = 0; i < keyCount; i++) {
    const at = r.offset;
    const session = r.u32('key session');
    if (session >= n) throw new StateFileError(`key of session ${session} of ${n}`, at);
    sink.key(session, r.text('session key'));
  }
  if (version >= STATE_VERSION_WITHOUT_ABORTS) {
    const stackCount = r.count('client stacks', 4);
    const stacks: string[] = [];
    for (let i = 0; i < stackCount; i++) stacks.push(r.text('client stack'));
    const clientCount = r.count('clients', 16);
    for (let i = 0; i < clientCount; i++) {
      const at = r.offset;
      const group = r.u32('client group');
      if (group >= groupCount) throw new StateFileError(`client of group ${group} of ${groupCount}`, at);
      const stack = r.u32('client stack');
      if (stack >= stackCount) throw new StateFileError(`client stack ${stack} of ${stackCount}`, at + 4);
      const address = r.text('client address');
      const sessionAt = r.offset;
      const session = r.u32('client session');
      if (session >= n) throw new StateFileError(`client session ${session} of ${n}`, sessionAt);
      sink.client(group, stacks[stack]!, address, session);
    }
  }
  if (version >= STATE_VERSION_WITHOUT_CHECKSUM) {
    const abortCount = r.count('aborts', 12);
    for (let i = 0; i < abortCount; i++) {
      const at = r.offset;
      const session = r.u32('abort session');
      if (session >= n) throw new StateFileError(`abort of session ${session} of ${n}`, at);
      const time = r.time('abort time', false);
      if (time > lastTime) throw new StateFileError('abort after the last time', at + 4);
      sink.abort(session, time);
    }
    const unknownCount = r.count('unknown aborts', 12);
    for (let i = 0; i < unknownCount; i++) {
      const key = r.text('unknown abort key');
      const at = r.offset;
      const time = r.time('unknown abort time', false);
      if (time > lastTime) throw new StateFileError('abort after the last time', at);
      sink.unknownAbort(key, time);
    }
  }
  const flushCount = r.count('flushes', 20);
  for (let f = 0; f < flushCount; f++) {
    const at = r.offset;
    const group = r.u32('flush group');
    if (group >= groupCount) throw new StateFileError(`flush of group ${group} of ${groupCount}`, at);
    const low = r.time('flush low', false);
    const time = r.time('flush time', false);
    if (low > time) throw new StateFileError('flush time before its lower bound', at + 4);
    sink.flush(group, low, time);
  }
  if (r.offset !== end) throw new StateFileError(`${end - r.offset} bytes after the end of the state`, r.offset);
  return { lastTime, sessions: n };
}

/** Reads a state file as one object (tests, tools); throws StateFileError as readSessionState does. */
export function decodeSessionState(bytes: Uint8Array): CarriedSessions {
  const groups: CarriedGroup[] = [];
  const addresses: string[] = [];
  let sessions: CarriedSessions['sessions'] = {
    kind: new Uint8Array(0), issueSeen: new Uint8Array(0), version: new Uint8Array(0), group: new Uint32Array(0), issuer: new Uint32Array(0),
    issueIndex: new Uint32Array(0), issuedAt: new Float64Array(0), lastUse: new Float64Array(0),
  };
  let i = 0;
  const keys: string[] = [];
  const keySessions: number[] = [];
  const clients: CarriedClient[] = [];
  let observedSince = Infinity;
  const aborts: CarriedAbort[] = [];
  const unknownAborts: CarriedUnknownAbort[] = [];
  const { lastTime } = readSessionState(bytes, {
    observedSince: (time) => { observedSince = time; },
    abort: (session, time) => aborts.push({ session, time }),
    unknownAbort: (key, time) => unknownAborts.push({ key, time }),
    group: (key, sni, port, issued) => groups.push({ key, sni, port, issued, flushes: [] }),
    address: (a) => addresses.push(a),
    sessions: (n) => {
      sessions = {
        kind: new Uint8Array(n), issueSeen: new Uint8Array(n), version: new Uint8Array(n), group: new Uint32Array(n), issuer: new Uint32Array(n),
        issueIndex: new Uint32Array(n), issuedAt: new Float64Array(n), lastUse: new Float64Array(n),
      };
    },
    session: (kind, issueSeen, group, issuer, issueIndex, issuedAt, lastUse, version) => {
      sessions.kind[i] = kind;
      sessions.issueSeen[i] = issueSeen ? 1 : 0;
      sessions.version[i] = version;
      sessions.group[i] = group;
      sessions.issuer[i] = issuer;
      sessions.issueIndex[i] = issueIndex;
      sessions.issuedAt[i] = issuedAt;
      sessions.lastUse[i] = lastUse;
      i++;
    },
    key: (session, key) => {
      keySessions.push(session);
      keys.push(key);
    },
    client: (group, stack, address, session) => clients.push({ group, stack, address, session }),
    flush: (group, low, time) => groups[group]!.flushes.push({ low, time }),
  });
  return { lastTime, groups, addresses, sessions, keys, keySessions: Uint32Array.from(keySessions), clients, observedSince, aborts, unknownAborts };
}

class StateReader {
  offset = 0;
  /** text()'s code units, reused. */
  private readonly units: number[] = [];
  private readonly view: DataView;
  constructor(private readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.end = data.length;
  }
  /** Where the state's contents end (before a checksum). */
  private end: number;
  limit(end: number): void {
    this.end = end;
  }
  private need(n: number, what: string): void {
    if (this.offset + n > this.end) throw new StateFileError(`cut short in ${what}`, this.offset);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.data[this.offset++]!;
  }
  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }
  time(what: string, mayBeEmpty: boolean): number {
    this.need(8, what);
    const at = this.offset;
    const value = this.view.getFloat64(at, true);
    this.offset += 8;
    if (!Number.isFinite(value) && !(mayBeEmpty && value === -Infinity)) throw new StateFileError(`${what} is not a time`, at);
    return value;
  }
  /** A count of items each at least `minBytes` long: more than the bytes left can hold is damage, not a reason to allocate. */
  count(what: string, minBytes: number): number {
    const at = this.offset;
    const n = this.u32(`number of ${what}`);
    if (n * minBytes > this.end - this.offset) throw new StateFileError(`${n} ${what}: more than the file holds`, at);
    return n;
  }
  text(what: string): string {
    const header = this.u32(what);
    const wide = (header & WIDE) !== 0;
    const length = (header & ~WIDE) >>> 0;
    const size = length * (wide ? 2 : 1);
    this.need(size, what);
    const d = this.data;
    let at = this.offset;
    const units = this.units;
    units.length = length;
    for (let i = 0; i < length; i++) {
      units[i] = wide ? (d[at]! << 8) | d[at + 1]! : d[at]!;
      at += wide ? 2 : 1;
    }
    this.offset = at;
    return stringOfCodes(units);
  }
}

class StateWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;
  /** sink: where full chunks go (the buffer is then reused); null: the buffer grows and holds it all. */
  constructor(size: number, private readonly sink: StateChunkSink | null = null) {
    this.buffer = new Uint8Array(Math.max(sink === null ? 64 : 1, size));
    this.view = new DataView(this.buffer.buffer);
  }
  /** Of every byte handed to the sink so far: end() appends the CRC of the whole (format version 4). */
  private readonly crc = new Crc32();
  private room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    if (this.sink !== null && this.length > 0) {
      this.crc.update(this.buffer.subarray(0, this.length));
      this.sink(this.buffer.subarray(0, this.length));
      this.length = 0;
      if (n <= this.buffer.length) return;
    }
    let size = Math.ceil(this.buffer.length * 1.5);
    while (size < this.length + n) size = Math.ceil(size * 1.5);
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(value: number): void {
    this.room(1);
    this.buffer[this.length++] = value;
  }
  u32(value: number): void {
    this.room(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }
  f64(value: number): void {
    this.room(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }
  text(value: string): void {
    let wide = false;
    for (let i = 0; i < value.length && !wide; i++) wide = value.charCodeAt(i) > 0xff;
    this.u32((value.length | (wide ? WIDE : 0)) >>> 0);
    this.room(value.length * (wide ? 2 : 1));
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i);
      if (wide) this.buffer[this.length++] = code >>> 8;
      this.buffer[this.length++] = code & 0xff;
    }
  }
  /** The bytes written (a view: no copy of a state of tens of MB), or null once the sink took them all. */
  end(): Uint8Array | null {
    // The CRC of everything before it: of the chunks handed over, then of what is left here.
    const crc = this.crc;
    this.crc.update(this.buffer.subarray(0, this.length));
    this.u32(crc.value);
    if (this.sink === null) return this.buffer.subarray(0, this.length);
    if (this.length > 0) this.sink(this.buffer.subarray(0, this.length));
    this.length = 0;
    return null;
  }
}
