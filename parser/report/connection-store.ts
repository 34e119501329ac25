import type { Abort, Anomaly, ConnectionRecord, ConnectionSink, Endpoint, HandshakeState, Offer, ProxyHeaderKind, ResumedBy, Resumption } from './types.js';
import { CLIENT_RANDOM_HASH } from './types.js';
import { wiresharkFilter } from '../session/tls-connection.js';
import { ByteWriter } from './byte-writer.js';
import type { HexField, SessionKeySource } from '../session/session-keys.js';
import type { SessionKind } from '../session/session-table.js';
import { HexArena } from './hex-arena.js';
import { ProfileTable } from './profile-table.js';
import { NULL_INDEX, StringPool } from './string-pool.js';
import type { ClientAddressSource } from '../diagnose/track-sessions.js';
import type { SessionView } from '../diagnose/types.js';

// Connection records in columns: typed arrays for numbers and enums, one pool for repeated
// strings, one byte arena for session IDs, tickets and PSK identities (hex, stored as bytes).
// A farm capture holds millions of connections; as objects each costs ~0.9 KB of heap
// (fields, boxed doubles, nested endpoint/offer/session objects), here ~0.2 KB.
// `StoredConnection` is a one-field view with getters, so the diagnosis, the report model and
// the pcapng export read stored rows exactly as they read records.

const RESUMPTIONS: readonly Resumption[] = ['not-offered', 'accepted', 'rejected', 'unanswered', 'unknown'];
const RESUMED_BY: readonly (ResumedBy | null)[] = [null, 'session-id', 'ticket', 'psk'];
const HANDSHAKES: readonly HandshakeState[] = ['complete', 'aborted', 'incomplete'];
const SESSION_KINDS = ['session-id', 'ticket', 'psk'] as const;

const FLAG_RESUMED = 1;
const FLAG_ESTABLISHED = 2;
const FLAG_HELLO_RETRY = 4;
const FLAG_CERTIFICATE = 8;
const FLAG_TICKET_ISSUED = 16;
const FLAG_OFFER_TICKET = 32;
const FLAG_OFFER_PSK = 64;

// Float64 columns, per row.
const T_START = 0, T_CLIENT_HELLO = 1, T_SERVER_HELLO = 2, T_END = 3, T_ISSUED_AT = 4, T_AGE = 5, T_REUSE_GAP = 6;
const FLOATS = 7;
// Int32 columns, per row. Strings are pool indices (-1: null); hex values are arena references.
// Both ports share one (16 bits each); the frame number and the ticket lifetime hint are
// uint32 (RFC 5077 §3.3) read back with >>> 0. Values that do not fit go to a side map.
// I_PROFILE: the row's fields that many rows share, as one ProfileTable index (F_* below).
const I_ID = 0, I_CLIENT_IP = 1, I_PORTS = 2, I_PROFILE = 3, I_FIRST_FRAME = 4,
  I_PACKETS = 5, I_HANDSHAKE_BYTES = 6, I_OFFER_SID = 7, I_SERVER_SID = 8, I_ISSUED_TICKET = 9,
  I_OFFERED_TICKET = 10, I_PSK_IDENTITY = 11, I_ISSUED_BY = 12, I_CHURN = 13, I_ABORTED_BY = 14, I_ISSUER = 15,
  I_REASON = 16, I_DETAIL = 17, I_TICKET_HINT = 18, I_CLIENT_RANDOM = 19, I_FULL_ONLY_BYTES = 20, I_USED_SINCE = 21;
const INTS = 22;
// A profile's fields, each a pool index.
const F_SERVER_IP = 0, F_SNI = 1, F_ALPN = 2, F_VERSION = 3, F_CIPHER = 4, F_HELLO_VERSION = 5, F_HISTORY = 6,
  F_FINGERPRINT = 7, F_FILE = 8;
// A PROXY header's client (pool index of its address, port), in blocks of their own made only when a
// row of theirs has one: most captures have none, and two Int32 columns for every row were 16 MB of
// the 2-million-connection run.
const P_IP = 0, P_PORT = 1;
const PROXIED_INTS = 2;
// P_IP of a header that named no TCP client (see ConnectionRecord.proxyHeader); NULL_INDEX: no header.
const PROXY_LOCAL = -2, PROXY_OTHER = -3;
/** What an Int32 column holds, for moving rows between stores: 0 a number, 1 a pool index, 2 a hex reference, 3 a profile. */
const INT_KIND = (() => {
  const kinds = new Uint8Array(INTS);
  for (const c of [I_CLIENT_IP, I_ISSUER, I_REASON, I_DETAIL]) kinds[c] = 1;
  for (const c of [I_OFFER_SID, I_SERVER_SID, I_ISSUED_TICKET, I_OFFERED_TICKET, I_PSK_IDENTITY]) kinds[c] = 2;
  kinds[I_PROFILE] = 3;
  return kinds;
})();
// Uint8 columns, per row.
const B_RESUMPTION = 0, B_RESUMED_BY = 1, B_HANDSHAKE = 2, B_FLAGS = 3, B_SESSION = 4, B_NUMBERS = 5;
const BYTES = 6;
// B_SESSION: 0 no session view; else bits 0-1 role (1 offer, 2 issue), 2-3 kind, 4 known, 5 crossAddress.
// B_NUMBERS bits.
const HAS_TICKET_HINT = 1;
/** Ports, frame number or hint outside the Int32 encodings: all four are in the side map. */
const ODD_NUMBERS = 2;
// The row has an entry in a side map: most rows have none, and a map lookup per row and field
// was a cache miss or two on large captures (the writer asks all three of every row).
const HAS_ABORT = 4, HAS_ALERTS = 8, HAS_ANOMALIES = 16;
const BLOCK_BITS = 14;
const BLOCK_ROWS = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK_ROWS - 1;


/** A store's columns as plain data (ConnectionStore.snapshot), to move them between threads. */
export interface StoreSnapshot {
  count: number;
  floatBlocks: Float64Array[];
  intBlocks: Int32Array[];
  /** PROXIED_INTS per row, null for a block without a PROXY client. */
  proxiedBlocks: (Int32Array | null)[];
  byteBlocks: Uint8Array[];
  strings: string[];
  /** ProfileTable.FIELDS pool indices per profile, in profile order. */
  profiles: Int32Array;
  hex: { blocks: Uint8Array[]; used: number; side: string[] };
  aborts: [number, Abort][];
  alerts: [number, ConnectionRecord['alerts']][];
  anomalies: [number, Anomaly[]][];
  otherSessions: [number, unknown][];
  oddNumbers: [number, OddNumbers][];
}

/** The numbers of a row that do not fit its Int32 encodings (kept as they are). */
interface OddNumbers {
  clientPort: number;
  serverPort: number;
  firstFrame: number;
  ticketLifetimeHint: number | null;
}

const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff;
const isUint32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** The typed arrays of a snapshot, to transfer rather than copy. */
export function snapshotBuffers(s: StoreSnapshot): ArrayBuffer[] {
  return [...s.floatBlocks, ...s.intBlocks, ...s.byteBlocks, ...s.proxiedBlocks.filter((b) => b !== null), ...s.hex.blocks, s.profiles].map((a) => a.buffer as ArrayBuffer);
}

/** "Not a number" stands for null in the Float64 columns; an int column uses this for null. */
const NULL_INT = -2147483648;

const NO_ANOMALIES: Anomaly[] = [];
const NO_ALERTS: ConnectionRecord['alerts'] = [];
const NOT_OFFERED: Offer = Object.freeze({ sessionId: null, ticket: false, psk: false });


/** A subclass of StoredConnection whose views read `store`. */
function viewClassFor(store: ConnectionStore): new (row: number) => StoredConnection {
  const View = class extends StoredConnection {};
  Object.defineProperty(View.prototype, 'store', { value: store });
  return View;
}

/** The columns. Rows are appended in the order connections are recorded (as they end, or close: see ConnectionSink). */
export class ConnectionStore implements ConnectionSink {
  private readonly View = viewClassFor(this);
  // Rows live in blocks of BLOCK_ROWS: growing never copies, and at most one block is unused.
  private readonly floatBlocks: Float64Array[] = [];
  private readonly intBlocks: Int32Array[] = [];
  private readonly byteBlocks: Uint8Array[] = [];
  private readonly proxiedBlocks: (Int32Array | null)[] = [];
  private readonly strings = new StringPool();
  private readonly profiles = new ProfileTable();
  private readonly profileFields = new Int32Array(ProfileTable.FIELDS);
  private readonly hex = new HexArena();
  // Rare per-connection lists and objects: only the connections that have them.
  private readonly aborts = new Map<number, Abort>();
  private readonly alerts = new Map<number, ConnectionRecord['alerts']>();
  private readonly anomalies = new Map<number, Anomaly[]>();
  /** Session values that are not a session view (kept as they are). */
  private readonly otherSessions = new Map<number, unknown>();
  private readonly oddNumbers = new Map<number, OddNumbers>();
  count = 0;

  /**
   * The columns as plain data, for another thread: typed-array blocks go in the transfer list
   * (moved, not copied). The store must not be used afterwards.
   */
  snapshot(): StoreSnapshot {
    return {
      count: this.count, floatBlocks: this.floatBlocks, intBlocks: this.intBlocks, byteBlocks: this.byteBlocks, proxiedBlocks: this.proxiedBlocks,
      strings: this.strings.values, profiles: this.profiles.export(), hex: this.hex.export(), aborts: [...this.aborts], alerts: [...this.alerts],
      anomalies: [...this.anomalies], otherSessions: [...this.otherSessions], oddNumbers: [...this.oddNumbers],
    };
  }

  /**
   * A view of every row, in row order. Readers make them once the records are in: views made as
   * records arrive live through the whole reading, and every major collection marks them again
   * (2 million connections, three alternating runs: reading 22.3–24.6 → 20.0–20.6 s).
   */
  views(): StoredConnection[] {
    const views: StoredConnection[] = new Array(this.count);
    for (let row = 0; row < this.count; row++) views[row] = new this.View(row);
    return views;
  }

  /**
   * Copies a snapshot's rows (a worker's store, after the transfer) after this store's rows
   * (`views` gives them afterwards). Rows are copied, not adopted, so that every view of the analysis is of
   * this store's one view class: with a store per file the diagnosis and the JSON writer saw a
   * view class per file at every property read (4 files: diagnosis +8 %, JSON +10 %), and each
   * file kept its own partly used blocks of rows and hex bytes (150 small files, --jobs 2:
   * ArrayBuffers 10 → 4 MiB). Pool indices are translated to this store's pool; hex values are
   * copied into its arena.
   */
  append(snapshot: StoreSnapshot): void {
    const pool = Int32Array.from(snapshot.strings, (text) => this.strings.intern(text));
    // The snapshot's profiles as this store's: their fields translated to this pool.
    const profiles = new Int32Array(snapshot.profiles.length / ProfileTable.FIELDS);
    for (let p = 0; p < profiles.length; p++) {
      for (let k = 0; k < ProfileTable.FIELDS; k++) {
        const v = snapshot.profiles[p * ProfileTable.FIELDS + k]!;
        this.profileFields[k] = v === NULL_INDEX ? NULL_INDEX : pool[v]!;
      }
      profiles[p] = this.profiles.intern(this.profileFields);
    }
    const first = this.count;
    for (let from = 0; from < snapshot.count; from++) {
      const row = this.newRow();
      const sourceBlock = from >>> BLOCK_BITS, sourceWithin = from & BLOCK_MASK;
      const block = row >>> BLOCK_BITS, within = row & BLOCK_MASK;
      const sourceFloats = snapshot.floatBlocks[sourceBlock]!, floats = this.floatBlocks[block]!;
      for (let k = 0; k < FLOATS; k++) floats[within * FLOATS + k] = sourceFloats[sourceWithin * FLOATS + k]!;
      const sourceBytes = snapshot.byteBlocks[sourceBlock]!, bytes = this.byteBlocks[block]!;
      for (let k = 0; k < BYTES; k++) bytes[within * BYTES + k] = sourceBytes[sourceWithin * BYTES + k]!;
      const sourceInts = snapshot.intBlocks[sourceBlock]!, ints = this.intBlocks[block]!;
      const source = sourceWithin * INTS, target = within * INTS;
      for (let k = 0; k < INTS; k++) {
        const v = sourceInts[source + k]!;
        const kind = INT_KIND[k]!;
        if (kind === 0 || v === NULL_INDEX) ints[target + k] = v;
        else if (kind === 1) ints[target + k] = pool[v]!;
        else if (kind === 3) ints[target + k] = profiles[v]!;
        // A resumption's echoed ID shares the offered one's bytes (see add): it still does.
        else if (k === I_SERVER_SID && v === sourceInts[source + I_OFFER_SID]) ints[target + k] = ints[target + I_OFFER_SID]!;
        else ints[target + k] = this.hex.copy(snapshot.hex, v);
      }
      const sourceProxied = snapshot.proxiedBlocks[sourceBlock];
      const proxiedIp = sourceProxied ? sourceProxied[sourceWithin * PROXIED_INTS + P_IP]! : NULL_INDEX;
      if (proxiedIp >= 0) this.setProxied(row, pool[proxiedIp]!, sourceProxied![sourceWithin * PROXIED_INTS + P_PORT]!);
      else if (proxiedIp !== NULL_INDEX) this.setProxied(row, proxiedIp, 0);
    }
    for (const [row, value] of snapshot.aborts) this.aborts.set(first + row, value);
    for (const [row, value] of snapshot.alerts) this.alerts.set(first + row, value);
    for (const [row, value] of snapshot.anomalies) this.anomalies.set(first + row, value);
    for (const [row, value] of snapshot.otherSessions) this.otherSessions.set(first + row, value);
    for (const [row, value] of snapshot.oddNumbers) this.oddNumbers.set(first + row, value);
  }

  private newRow(): number {
    const row = this.count++;
    if ((row & BLOCK_MASK) === 0) {
      this.floatBlocks.push(new Float64Array(BLOCK_ROWS * FLOATS));
      this.intBlocks.push(new Int32Array(BLOCK_ROWS * INTS));
      this.byteBlocks.push(new Uint8Array(BLOCK_ROWS * BYTES));
      this.proxiedBlocks.push(null);
    }
    return row;
  }

  private setProxied(row: number, ipIndex: number, port: number): void {
    const block = row >>> BLOCK_BITS;
    const proxied = (this.proxiedBlocks[block] ??= new Int32Array(BLOCK_ROWS * PROXIED_INTS).fill(NULL_INDEX));
    proxied[(row & BLOCK_MASK) * PROXIED_INTS + P_IP] = ipIndex;
    proxied[(row & BLOCK_MASK) * PROXIED_INTS + P_PORT] = port;
  }

  /** Pool index of the address a PROXY header named for this row; NULL_INDEX without a header, PROXY_LOCAL or PROXY_OTHER for one that named no TCP client. */
  proxiedIpIndex(row: number): number {
    const proxied = this.proxiedBlocks[row >>> BLOCK_BITS];
    return proxied ? proxied[(row & BLOCK_MASK) * PROXIED_INTS + P_IP]! : NULL_INDEX;
  }

  proxiedPort(row: number): number {
    return this.proxiedBlocks[row >>> BLOCK_BITS]![(row & BLOCK_MASK) * PROXIED_INTS + P_PORT]!;
  }

  /** Append a record; returns its view. */
  add(c: ConnectionRecord): StoredConnection {
    return new this.View(this.record(c));
  }

  /** Append a record (ConnectionSink): its row. */
  record(c: ConnectionRecord): number {
    const row = this.newRow();
    const block = row >>> BLOCK_BITS, within = row & BLOCK_MASK;
    const t = within * FLOATS, i = within * INTS, b = within * BYTES;
    const floats = this.floatBlocks[block]!, ints = this.intBlocks[block]!, bytes = this.byteBlocks[block]!;
    floats[t + T_START] = c.startTime;
    floats[t + T_CLIENT_HELLO] = c.clientHelloTime ?? NaN;
    floats[t + T_SERVER_HELLO] = c.serverHelloTime ?? NaN;
    floats[t + T_END] = c.endTime;
    ints[i + I_ID] = c.id;
    ints[i + I_CLIENT_IP] = this.internFor(I_CLIENT_IP, c.client.ip);
    const fields = this.profileFields;
    fields[F_SERVER_IP] = this.internFor(INTS + F_SERVER_IP, c.server.ip);
    fields[F_SNI] = this.internFor(INTS + F_SNI, c.sni);
    fields[F_ALPN] = this.internFor(INTS + F_ALPN, c.alpn);
    fields[F_VERSION] = this.internFor(INTS + F_VERSION, c.version);
    fields[F_CIPHER] = this.internFor(INTS + F_CIPHER, c.cipher);
    fields[F_HELLO_VERSION] = this.internFor(INTS + F_HELLO_VERSION, c.clientHelloVersion);
    fields[F_HISTORY] = this.internFor(INTS + F_HISTORY, c.history);
    fields[F_FINGERPRINT] = this.internFor(INTS + F_FINGERPRINT, c.clientFingerprint);
    fields[F_FILE] = this.internFor(INTS + F_FILE, c.file);
    ints[i + I_PROFILE] = this.profiles.intern(fields);
    const proxied = c.proxiedClient ?? null;
    if (proxied !== null) this.setProxied(row, this.strings.intern(proxied.ip), proxied.port);
    else if (c.proxyHeader === 'local' || c.proxyHeader === 'other') this.setProxied(row, c.proxyHeader === 'local' ? PROXY_LOCAL : PROXY_OTHER, 0);
    ints[i + I_PACKETS] = c.packets;
    ints[i + I_HANDSHAKE_BYTES] = c.handshakeBytes;
    ints[i + I_FULL_ONLY_BYTES] = c.fullHandshakeOnlyBytes ?? NULL_INT;
    ints[i + I_CLIENT_RANDOM] = c[CLIENT_RANDOM_HASH] ?? 0;
    const hint = c.ticketLifetimeHint;
    if (isPort(c.client.port) && isPort(c.server.port) && isUint32(c.firstFrame) && (hint === null || isUint32(hint))) {
      ints[i + I_PORTS] = (c.client.port << 16) | c.server.port;
      ints[i + I_FIRST_FRAME] = c.firstFrame | 0;
      ints[i + I_TICKET_HINT] = hint === null ? 0 : hint | 0;
      bytes[b + B_NUMBERS] = hint === null ? 0 : HAS_TICKET_HINT;
    } else {
      this.oddNumbers.set(row, { clientPort: c.client.port, serverPort: c.server.port, firstFrame: c.firstFrame, ticketLifetimeHint: hint });
      bytes[b + B_NUMBERS] = ODD_NUMBERS;
    }
    const offered = this.hex.store(c.offer.sessionId);
    ints[i + I_OFFER_SID] = offered;
    // On a resumption the echoed ID equals the offered one: store it once.
    ints[i + I_SERVER_SID] = c.serverSessionId !== null && c.serverSessionId === c.offer.sessionId ? offered : this.hex.store(c.serverSessionId);
    ints[i + I_ISSUED_TICKET] = this.hex.store(c.issuedTicket);
    ints[i + I_OFFERED_TICKET] = this.hex.store(c.offeredTicket);
    ints[i + I_PSK_IDENTITY] = this.hex.store(c.offeredPskIdentity);
    ints[i + I_REASON] = NULL_INDEX;
    ints[i + I_DETAIL] = NULL_INDEX;
    bytes[b + B_RESUMPTION] = RESUMPTIONS.indexOf(c.resumption);
    bytes[b + B_RESUMED_BY] = RESUMED_BY.indexOf(c.resumedBy);
    bytes[b + B_HANDSHAKE] = HANDSHAKES.indexOf(c.handshake);
    bytes[b + B_FLAGS] = (c.resumed ? FLAG_RESUMED : 0) | (c.established ? FLAG_ESTABLISHED : 0) |
      (c.helloRetry ? FLAG_HELLO_RETRY : 0) | (c.certificateSeen ? FLAG_CERTIFICATE : 0) |
      (c.ticketIssued ? FLAG_TICKET_ISSUED : 0) | (c.offer.ticket ? FLAG_OFFER_TICKET : 0) | (c.offer.psk ? FLAG_OFFER_PSK : 0);
    bytes[b + B_SESSION] = 0;
    if (c.abort !== null) {
      this.aborts.set(row, c.abort);
      bytes[b + B_NUMBERS] |= HAS_ABORT;
    }
    if (c.alerts.length > 0) {
      this.alerts.set(row, c.alerts);
      bytes[b + B_NUMBERS] |= HAS_ALERTS;
    }
    if (c.anomalies.length > 0) {
      this.anomalies.set(row, c.anomalies);
      bytes[b + B_NUMBERS] |= HAS_ANOMALIES;
    }
    if (c.reason !== undefined || c.reasonDetail !== undefined || c.session !== undefined) {
      const view = new this.View(row);
      if (c.reason !== undefined) view.reason = c.reason;
      if (c.reasonDetail !== undefined) view.reasonDetail = c.reasonDetail;
      if (c.session !== undefined) view.session = c.session;
    }
    return row;
  }

  /** The connection in `row` is finished (ConnectionSink): its final packet count and end time. */
  settle(row: number, packets: number, endTime: number): void {
    this.setInt(row, I_PACKETS, packets);
    this.setFloat(row, T_END, endTime);
  }

  // Consecutive records mostly repeat the file, server, SNI, version, cipher and history:
  // compare with the previous value of the column (or profile field, INTS + F_*) before a map lookup.
  private readonly lastText: (string | null)[] = [];
  private readonly lastIndex: number[] = [];

  private internFor(column: number, text: string | null): number {
    if (this.lastIndex[column] !== undefined && this.lastText[column] === text) return this.lastIndex[column]!;
    const index = this.strings.intern(text);
    this.lastText[column] = text;
    this.lastIndex[column] = index;
    return index;
  }

  /** Bytes held by the columns (for tests and the benchmark's memory figures). */
  get byteLength(): number {
    return this.floatBlocks.length * BLOCK_ROWS * (FLOATS * 8 + INTS * 4 + BYTES) + this.proxiedBlocks.filter((b) => b !== null).length * BLOCK_ROWS * PROXIED_INTS * 4 +
      this.hex.byteLength + this.strings.jsonByteLength + this.profiles.byteLength;
  }

  // Accessors used by StoredConnection (one row each).
  float(row: number, column: number): number | null {
    const v = this.floatBlocks[row >>> BLOCK_BITS]![(row & BLOCK_MASK) * FLOATS + column]!;
    return Number.isNaN(v) ? null : v;
  }
  setFloat(row: number, column: number, value: number | null): void {
    this.floatBlocks[row >>> BLOCK_BITS]![(row & BLOCK_MASK) * FLOATS + column] = value ?? NaN;
  }
  int(row: number, column: number): number {
    return this.intBlocks[row >>> BLOCK_BITS]![(row & BLOCK_MASK) * INTS + column]!;
  }
  setInt(row: number, column: number, value: number): void {
    this.intBlocks[row >>> BLOCK_BITS]![(row & BLOCK_MASK) * INTS + column] = value;
  }
  nullableInt(row: number, column: number): number | null {
    const v = this.int(row, column);
    return v === NULL_INT ? null : v;
  }
  string(row: number, column: number): string | null {
    return this.strings.get(this.int(row, column));
  }
  intern(text: string | null): number {
    return this.strings.intern(text);
  }
  /** Field `field` (F_*) of the row's profile: a pool index. */
  profileField(row: number, field: number): number {
    return this.profiles.field(this.int(row, I_PROFILE), field);
  }
  profileString(row: number, field: number): string | null {
    return this.strings.get(this.profileField(row, field));
  }
  writeProfileJson(row: number, field: number, out: ByteWriter): void {
    this.strings.writeJson(this.profileField(row, field), out);
  }
  hexValue(row: number, column: number): string | null {
    return this.hex.get(this.int(row, column));
  }
  /** JSON of a pooled string column. */
  writeStringJson(row: number, column: number, out: ByteWriter): void {
    this.strings.writeJson(this.int(row, column), out);
  }
  /** JSON of a pooled string by its index (NULL_INDEX: null). */
  writePooledJson(index: number, out: ByteWriter): void {
    this.strings.writeJson(index, out);
  }
  pooled(index: number): string | null {
    return this.strings.get(index);
  }
  /** The session table's key of a hex column's value (see SessionKeySource). */
  sessionKeyOf(row: number, column: number, kind: SessionKind): string | null {
    return this.hex.sessionKeyOf(this.int(row, column), kind);
  }
  /** JSON of a hex column. */
  writeHexJson(row: number, column: number, out: ByteWriter): void {
    this.hex.writeJson(this.int(row, column), out);
  }
  /** The Wireshark filter as JSON (what wiresharkFilter() gives), composed from the pooled addresses. */
  writeFilterJson(row: number, out: ByteWriter): void {
    const client = this.int(row, I_CLIENT_IP);
    const server = this.profileField(row, F_SERVER_IP);
    const ipv6 = this.strings.hasColon(client);
    const mark = out.length;
    out.ascii(ipv6 ? '"ipv6.addr==' : '"ip.addr==');
    if (this.strings.writePlain(client, out)) {
      out.ascii(' && tcp.port==');
      out.number(this.clientPort(row));
      out.ascii(ipv6 ? ' && ipv6.addr==' : ' && ip.addr==');
      if (this.strings.writePlain(server, out)) {
        out.ascii(' && tcp.port==');
        out.number(this.serverPort(row));
        out.ascii('"');
        return;
      }
    }
    // An address that JSON escapes: the filter is escaped as a whole instead.
    out.length = mark;
    out.text(JSON.stringify(wiresharkFilter({ ip: this.strings.get(client)!, port: this.clientPort(row) }, { ip: this.strings.get(server)!, port: this.serverPort(row) })));
  }
  byte(row: number, column: number): number {
    return this.byteBlocks[row >>> BLOCK_BITS]![(row & BLOCK_MASK) * BYTES + column]!;
  }
  setByte(row: number, column: number, value: number): void {
    this.byteBlocks[row >>> BLOCK_BITS]![(row & BLOCK_MASK) * BYTES + column] = value;
  }
  clientPort(row: number): number {
    return this.byte(row, B_NUMBERS) & ODD_NUMBERS ? this.oddNumbers.get(row)!.clientPort : this.int(row, I_PORTS) >>> 16;
  }
  serverPort(row: number): number {
    return this.byte(row, B_NUMBERS) & ODD_NUMBERS ? this.oddNumbers.get(row)!.serverPort : this.int(row, I_PORTS) & 0xffff;
  }
  firstFrame(row: number): number {
    return this.byte(row, B_NUMBERS) & ODD_NUMBERS ? this.oddNumbers.get(row)!.firstFrame : this.int(row, I_FIRST_FRAME) >>> 0;
  }
  ticketLifetimeHint(row: number): number | null {
    const numbers = this.byte(row, B_NUMBERS);
    if (numbers & ODD_NUMBERS) return this.oddNumbers.get(row)!.ticketLifetimeHint;
    return numbers & HAS_TICKET_HINT ? this.int(row, I_TICKET_HINT) >>> 0 : null;
  }
  abortOf(row: number): Abort | null {
    return this.byte(row, B_NUMBERS) & HAS_ABORT ? this.aborts.get(row)! : null;
  }
  alertsOf(row: number): ConnectionRecord['alerts'] {
    return this.byte(row, B_NUMBERS) & HAS_ALERTS ? this.alerts.get(row)! : NO_ALERTS;
  }
  anomaliesOf(row: number): Anomaly[] {
    return this.byte(row, B_NUMBERS) & HAS_ANOMALIES ? this.anomalies.get(row)! : NO_ANOMALIES;
  }
  detailOf(row: number): string | undefined {
    return this.string(row, I_DETAIL) ?? undefined;
  }
  /** Details repeat ("idle 15m12s > inferred idle timeout 15m00s"): pooled, which also flattens them. */
  setDetail(row: number, detail: string | undefined): void {
    this.setInt(row, I_DETAIL, this.strings.intern(detail ?? null));
  }
  otherSession(row: number): unknown {
    return this.otherSessions.get(row) ?? null;
  }
  setOtherSession(row: number, value: unknown): void {
    if (value === null || value === undefined) this.otherSessions.delete(row);
    else this.otherSessions.set(row, value);
  }
}

const SESSION_VIEW_KEYS = 'role,kind,known,issuedBy,issuedAt,age,reuseGap,churn,usedSince,abortedBy,crossAddress,issuer';

const SESSION_VIEW_KEY_LIST = SESSION_VIEW_KEYS.split(',');

/** Exactly the diagnosis's view, keys in its order (the stored form writes them back in that order). */
function isSessionView(v: unknown): v is SessionView {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  let keys = 0;
  for (const key in s) if (key !== SESSION_VIEW_KEY_LIST[keys++]) return false;
  return keys === SESSION_VIEW_KEY_LIST.length && (s.role === 'offer' || s.role === 'issue') &&
    (s.kind === 'session-id' || s.kind === 'ticket' || s.kind === 'psk') && typeof s.known === 'boolean' &&
    typeof s.crossAddress === 'boolean' && (s.issuer === null || typeof s.issuer === 'string') &&
    isNullableInt32(s.issuedBy) && isNullableInt32(s.churn) && isNullableInt32(s.usedSince) && isNullableInt32(s.abortedBy) &&
    isNullableNumber(s.issuedAt) && isNullableNumber(s.age) && isNullableNumber(s.reuseGap);
}

function isNullableInt32(n: unknown): boolean {
  return n === null || (Number.isInteger(n) && (n as number) > NULL_INT && (n as number) <= 0x7fffffff);
}

/** NaN stands for null in the columns, so a stored number must not be NaN itself. */
function isNullableNumber(n: unknown): boolean {
  return n === null || (typeof n === 'number' && !Number.isNaN(n));
}

/**
 * One stored connection, read through the columns. Same keys as a ConnectionRecord.
 * A view holds only its row: its store comes from the prototype of the store's own subclass
 * (`viewClassFor`), so two million views are 32 bytes each instead of 40.
 */
const HEX_FIELD_COLUMNS: Record<HexField, number> = {
  offerSessionId: I_OFFER_SID, serverSessionId: I_SERVER_SID, issuedTicket: I_ISSUED_TICKET,
  offeredTicket: I_OFFERED_TICKET, offeredPskIdentity: I_PSK_IDENTITY,
};

export class StoredConnection implements ConnectionRecord, SessionKeySource, ClientAddressSource {
  declare protected readonly store: ConnectionStore;
  constructor(protected readonly row: number) {}

  get id(): number { return this.store.int(this.row, I_ID); }
  set id(v: number) { this.store.setInt(this.row, I_ID, v); }
  get client(): Endpoint { return { ip: this.store.string(this.row, I_CLIENT_IP)!, port: this.store.clientPort(this.row) }; }
  get server(): Endpoint { return { ip: this.store.profileString(this.row, F_SERVER_IP)!, port: this.store.serverPort(this.row) }; }
  get startTime(): number { return this.store.float(this.row, T_START)!; }
  get clientHelloTime(): number | null { return this.store.float(this.row, T_CLIENT_HELLO); }
  get serverHelloTime(): number | null { return this.store.float(this.row, T_SERVER_HELLO); }
  get endTime(): number { return this.store.float(this.row, T_END)!; }
  get sni(): string | null { return this.store.profileString(this.row, F_SNI); }
  get alpn(): string | null { return this.store.profileString(this.row, F_ALPN); }
  get version(): string | null { return this.store.profileString(this.row, F_VERSION); }
  get cipher(): string | null { return this.store.profileString(this.row, F_CIPHER); }
  get offer(): Offer {
    const flags = this.store.byte(this.row, B_FLAGS);
    const sessionId = this.store.hexValue(this.row, I_OFFER_SID);
    const ticket = (flags & FLAG_OFFER_TICKET) !== 0;
    const psk = (flags & FLAG_OFFER_PSK) !== 0;
    return sessionId === null && !ticket && !psk ? NOT_OFFERED : { sessionId, ticket, psk };
  }
  get serverSessionId(): string | null { return this.store.hexValue(this.row, I_SERVER_SID); }
  // SessionKeySource: the session table reads keys from the arena's bytes, not the hex text.
  get offersTicket(): boolean { return (this.store.byte(this.row, B_FLAGS) & FLAG_OFFER_TICKET) !== 0; }
  get offersPsk(): boolean { return (this.store.byte(this.row, B_FLAGS) & FLAG_OFFER_PSK) !== 0; }
  sessionKeyOf(field: HexField, kind: SessionKind): string | null { return this.store.sessionKeyOf(this.row, HEX_FIELD_COLUMNS[field], kind); }
  // ClientAddressSource: the diagnosis numbers clients by the address's index in the pool.
  /** The client's address as the diagnosis knows it: a PROXY header's when one came (see proxiedClient). */
  get clientAddressNumber(): number {
    const proxied = this.store.proxiedIpIndex(this.row);
    return proxied < 0 ? this.store.int(this.row, I_CLIENT_IP) : proxied;
  }
  get addressNumbering(): object { return this.store; }
  get resumption(): Resumption { return RESUMPTIONS[this.store.byte(this.row, B_RESUMPTION)]!; }
  get resumedBy(): ResumedBy | null { return RESUMED_BY[this.store.byte(this.row, B_RESUMED_BY)]!; }
  get resumed(): boolean { return (this.store.byte(this.row, B_FLAGS) & FLAG_RESUMED) !== 0; }
  get established(): boolean { return (this.store.byte(this.row, B_FLAGS) & FLAG_ESTABLISHED) !== 0; }
  get handshake(): HandshakeState { return HANDSHAKES[this.store.byte(this.row, B_HANDSHAKE)]!; }
  get abort(): Abort | null { return this.store.abortOf(this.row); }
  get history(): string { return this.store.profileString(this.row, F_HISTORY)!; }
  get anomalies(): Anomaly[] { return this.store.anomaliesOf(this.row); }
  get clientHelloVersion(): string | null { return this.store.profileString(this.row, F_HELLO_VERSION); }
  get helloRetry(): boolean { return (this.store.byte(this.row, B_FLAGS) & FLAG_HELLO_RETRY) !== 0; }
  get ticketIssued(): boolean { return (this.store.byte(this.row, B_FLAGS) & FLAG_TICKET_ISSUED) !== 0; }
  get ticketLifetimeHint(): number | null { return this.store.ticketLifetimeHint(this.row); }
  get issuedTicket(): string | null { return this.store.hexValue(this.row, I_ISSUED_TICKET); }
  get offeredTicket(): string | null { return this.store.hexValue(this.row, I_OFFERED_TICKET); }
  get offeredPskIdentity(): string | null { return this.store.hexValue(this.row, I_PSK_IDENTITY); }
  get certificateSeen(): boolean { return (this.store.byte(this.row, B_FLAGS) & FLAG_CERTIFICATE) !== 0; }
  get alerts(): ConnectionRecord['alerts'] { return this.store.alertsOf(this.row); }
  get clientFingerprint(): string | null { return this.store.profileString(this.row, F_FINGERPRINT); }
  get file(): string { return this.store.profileString(this.row, F_FILE)!; }
  get firstFrame(): number { return this.store.firstFrame(this.row); }
  get packets(): number { return this.store.int(this.row, I_PACKETS); }
  get handshakeBytes(): number { return this.store.int(this.row, I_HANDSHAKE_BYTES); }
  get fullHandshakeOnlyBytes(): number | null { return this.store.nullableInt(this.row, I_FULL_ONLY_BYTES); }
  get [CLIENT_RANDOM_HASH](): number { return this.store.int(this.row, I_CLIENT_RANDOM) >>> 0; }
  get wiresharkFilter(): string { return wiresharkFilter(this.client, this.server); }
  get proxiedClient(): Endpoint | null {
    const ip = this.store.proxiedIpIndex(this.row);
    return ip < 0 ? null : { ip: this.store.pooled(ip)!, port: this.store.proxiedPort(this.row) };
  }
  get proxyHeader(): ProxyHeaderKind | null {
    const ip = this.store.proxiedIpIndex(this.row);
    return ip >= 0 ? 'client' : ip === PROXY_LOCAL ? 'local' : ip === PROXY_OTHER ? 'other' : null;
  }

  get reason(): string | null { return this.store.string(this.row, I_REASON); }
  set reason(v: string | null | undefined) { this.store.setInt(this.row, I_REASON, this.store.intern(v ?? null)); }
  get reasonDetail(): string | undefined { return this.store.detailOf(this.row); }
  set reasonDetail(v: string | undefined) { this.store.setDetail(this.row, v); }

  get session(): unknown {
    const packed = this.store.byte(this.row, B_SESSION);
    if (packed === 0) return this.store.otherSession(this.row);
    const s = this.store;
    const r = this.row;
    const view: SessionView = {
      role: (packed & 3) === 1 ? 'offer' : 'issue',
      kind: SESSION_KINDS[(packed >> 2) & 3]!,
      known: (packed & 16) !== 0,
      issuedBy: s.nullableInt(r, I_ISSUED_BY),
      issuedAt: s.float(r, T_ISSUED_AT),
      age: s.float(r, T_AGE),
      reuseGap: s.float(r, T_REUSE_GAP),
      churn: s.nullableInt(r, I_CHURN),
      usedSince: s.nullableInt(r, I_USED_SINCE),
      abortedBy: s.nullableInt(r, I_ABORTED_BY),
      crossAddress: (packed & 32) !== 0,
      issuer: s.string(r, I_ISSUER),
    };
    return view;
  }
  set session(v: unknown) {
    const s = this.store;
    const r = this.row;
    s.setOtherSession(r, null);
    if (!isSessionView(v)) {
      s.setByte(r, B_SESSION, 0);
      s.setOtherSession(r, v);
      return;
    }
    s.setByte(r, B_SESSION, (v.role === 'offer' ? 1 : 2) | (SESSION_KINDS.indexOf(v.kind) << 2) | (v.known ? 16 : 0) | (v.crossAddress ? 32 : 0));
    s.setInt(r, I_ISSUED_BY, v.issuedBy ?? NULL_INT);
    s.setFloat(r, T_ISSUED_AT, v.issuedAt);
    s.setFloat(r, T_AGE, v.age);
    s.setFloat(r, T_REUSE_GAP, v.reuseGap);
    s.setInt(r, I_CHURN, v.churn ?? NULL_INT);
    s.setInt(r, I_USED_SINCE, v.usedSince ?? NULL_INT);
    s.setInt(r, I_ABORTED_BY, v.abortedBy ?? NULL_INT);
    s.setInt(r, I_ISSUER, s.intern(v.issuer));
  }

  toJSON(): ConnectionRecord {
    const record: ConnectionRecord = {
      id: this.id, client: this.client, server: this.server, startTime: this.startTime,
      clientHelloTime: this.clientHelloTime, serverHelloTime: this.serverHelloTime, endTime: this.endTime,
      sni: this.sni, alpn: this.alpn, version: this.version, cipher: this.cipher, offer: this.offer,
      serverSessionId: this.serverSessionId, resumption: this.resumption, resumedBy: this.resumedBy,
      resumed: this.resumed, established: this.established, handshake: this.handshake, abort: this.abort,
      history: this.history, anomalies: this.anomalies, clientHelloVersion: this.clientHelloVersion,
      helloRetry: this.helloRetry, ticketIssued: this.ticketIssued, ticketLifetimeHint: this.ticketLifetimeHint,
      issuedTicket: this.issuedTicket, offeredTicket: this.offeredTicket, offeredPskIdentity: this.offeredPskIdentity,
      certificateSeen: this.certificateSeen, alerts: this.alerts, clientFingerprint: this.clientFingerprint,
      file: this.file, firstFrame: this.firstFrame, packets: this.packets, handshakeBytes: this.handshakeBytes,
      fullHandshakeOnlyBytes: this.fullHandshakeOnlyBytes, wiresharkFilter: this.wiresharkFilter, proxiedClient: this.proxiedClient, proxyHeader: this.proxyHeader, reason: this.reason,
    };
    const detail = this.reasonDetail;
    if (detail !== undefined) record.reasonDetail = detail;
    record.session = this.session;
    return record;
  }

  /**
   * The record as JSON, UTF-8 bytes appended to `out`: byte for byte what JSON.stringify(this)
   * gives, encoded (a test holds it to that), written from the columns without building the
   * object or any string per field: the output pass of a large capture is dominated by this.
   * Constant text between values is pre-encoded (J), with the flag- and enum-only stretches as
   * one piece per combination.
   */
  writeJson(out: ByteWriter): void {
    const s = this.store;
    const r = this.row;
    const flags = s.byte(r, B_FLAGS);
    const abort = s.abortOf(r);
    const alerts = s.alertsOf(r);
    const anomalies = s.anomaliesOf(r);
    const detail = s.int(r, I_DETAIL);
    out.raw(J.id); out.integer(s.int(r, I_ID));
    out.raw(J.clientIp); s.writeStringJson(r, I_CLIENT_IP, out);
    out.raw(J.port); out.number(s.clientPort(r));
    out.raw(J.serverIp); s.writeProfileJson(r, F_SERVER_IP, out);
    out.raw(J.port); out.number(s.serverPort(r));
    out.raw(J.startTime); out.number(s.float(r, T_START));
    out.raw(J.clientHelloTime); out.number(s.float(r, T_CLIENT_HELLO));
    out.raw(J.serverHelloTime); out.number(s.float(r, T_SERVER_HELLO));
    out.raw(J.endTime); out.number(s.float(r, T_END));
    out.raw(J.sni); s.writeProfileJson(r, F_SNI, out);
    out.raw(J.alpn); s.writeProfileJson(r, F_ALPN, out);
    out.raw(J.version); s.writeProfileJson(r, F_VERSION, out);
    out.raw(J.cipher); s.writeProfileJson(r, F_CIPHER, out);
    out.raw(J.offerSessionId); s.writeHexJson(r, I_OFFER_SID, out);
    out.raw(offerFlagsJson(flags)); s.writeHexJson(r, I_SERVER_SID, out);
    // Where values are null or empty, as in most records, the constant text around them is one
    // piece (what costs is the number of pieces, not their bytes).
    out.raw(outcomeJson(s.byte(r, B_RESUMPTION), s.byte(r, B_RESUMED_BY), flags, s.byte(r, B_HANDSHAKE), abort === null));
    if (abort !== null) {
      out.text(JSON.stringify(abort));
      out.raw(J.history);
    }
    s.writeProfileJson(r, F_HISTORY, out);
    if (anomalies.length === 0) out.raw(J.noAnomalies);
    else {
      out.raw(J.anomalies); out.text(JSON.stringify(anomalies)); out.raw(J.clientHelloVersion);
    }
    s.writeProfileJson(r, F_HELLO_VERSION, out);
    const hint = s.ticketLifetimeHint(r);
    if (hint === null && alerts.length === 0 && s.int(r, I_ISSUED_TICKET) === NULL_INDEX && s.int(r, I_OFFERED_TICKET) === NULL_INDEX &&
        s.int(r, I_PSK_IDENTITY) === NULL_INDEX) {
      out.raw(noTicketsJson(flags));
    } else {
      out.raw(retryJson(flags)); out.number(hint);
      out.raw(J.issuedTicket); s.writeHexJson(r, I_ISSUED_TICKET, out);
      out.raw(J.offeredTicket); s.writeHexJson(r, I_OFFERED_TICKET, out);
      out.raw(J.offeredPskIdentity); s.writeHexJson(r, I_PSK_IDENTITY, out);
      out.raw((flags & FLAG_CERTIFICATE) !== 0 ? J.certificateTrue : J.certificateFalse);
      if (alerts.length === 0) out.raw(J.emptyList);
      else out.text(JSON.stringify(alerts));
      out.raw(J.clientFingerprint);
    }
    s.writeProfileJson(r, F_FINGERPRINT, out);
    out.raw(J.file); s.writeProfileJson(r, F_FILE, out);
    out.raw(J.firstFrame); out.number(s.firstFrame(r));
    out.raw(J.packets); out.integer(s.int(r, I_PACKETS));
    out.raw(J.handshakeBytes); out.integer(s.int(r, I_HANDSHAKE_BYTES));
    out.raw(J.fullHandshakeOnlyBytes); out.number(s.nullableInt(r, I_FULL_ONLY_BYTES));
    out.raw(J.wiresharkFilter); s.writeFilterJson(r, out);
    const noReason = detail === NULL_INDEX && s.int(r, I_REASON) === NULL_INDEX;
    const proxiedIp = s.proxiedIpIndex(r);
    if (proxiedIp === NULL_INDEX) out.raw(noReason ? J.noProxiedNoReason : J.noProxied);
    else if (proxiedIp < 0) {
      out.raw(proxiedIp === PROXY_LOCAL ? J.proxyLocal : J.proxyOther);
      if (noReason) out.raw(J.noReason);
    } else {
      out.raw(J.proxiedIp); s.writePooledJson(proxiedIp, out);
      out.raw(J.port); out.integer(s.proxiedPort(r));
      out.raw(noReason ? J.proxiedNoReason : J.proxiedClose);
    }
    if (!noReason) {
      out.raw(J.reason); s.writeStringJson(r, I_REASON, out);
      if (detail !== NULL_INDEX) {
        out.raw(J.reasonDetail); s.writeStringJson(r, I_DETAIL, out);
      }
      out.raw(J.session);
    }
    this.writeSessionJson(out);
    out.raw(J.close);
  }

  private writeSessionJson(out: ByteWriter): void {
    const s = this.store;
    const r = this.row;
    const packed = s.byte(r, B_SESSION);
    if (packed === 0) {
      out.text(JSON.stringify(s.otherSession(r)));
      return;
    }
    out.raw(sessionHeadJson(packed)); out.number(s.nullableInt(r, I_ISSUED_BY));
    out.raw(J.issuedAt); out.number(s.float(r, T_ISSUED_AT));
    const age = s.float(r, T_AGE), reuseGap = s.float(r, T_REUSE_GAP), churn = s.nullableInt(r, I_CHURN), abortedBy = s.nullableInt(r, I_ABORTED_BY);
    const usedSince = s.nullableInt(r, I_USED_SINCE);
    // An issue's view (age 0, nothing else yet) as one piece.
    if (age === 0 && reuseGap === null && churn === null && usedSince === null && abortedBy === null && (packed & 32) === 0) out.raw(J.freshSession);
    else {
      out.raw(J.age); out.number(age);
      out.raw(J.reuseGap); out.number(reuseGap);
      out.raw(J.churn); out.number(churn);
      out.raw(J.usedSince); out.number(usedSince);
      out.raw(J.abortedBy); out.number(abortedBy);
      out.raw((packed & 32) !== 0 ? J.crossAddressTrue : J.crossAddressFalse);
    }
    s.writeStringJson(r, I_ISSUER, out);
    out.raw(J.close);
  }
}

/** ASCII text as bytes, for the constant stretches of a record's JSON. */
function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

const J = {
  id: ascii('{"id":'), clientIp: ascii(',"client":{"ip":'), port: ascii(',"port":'), serverIp: ascii('},"server":{"ip":'),
  startTime: ascii('},"startTime":'), clientHelloTime: ascii(',"clientHelloTime":'), serverHelloTime: ascii(',"serverHelloTime":'),
  endTime: ascii(',"endTime":'), sni: ascii(',"sni":'), alpn: ascii(',"alpn":'), version: ascii(',"version":'), cipher: ascii(',"cipher":'),
  offerSessionId: ascii(',"offer":{"sessionId":'), history: ascii(',"history":'), anomalies: ascii(',"anomalies":'),
  emptyList: ascii('[]'), clientHelloVersion: ascii(',"clientHelloVersion":'), issuedTicket: ascii(',"issuedTicket":'),
  offeredTicket: ascii(',"offeredTicket":'), offeredPskIdentity: ascii(',"offeredPskIdentity":'),
  certificateTrue: ascii(',"certificateSeen":true,"alerts":'), certificateFalse: ascii(',"certificateSeen":false,"alerts":'),
  clientFingerprint: ascii(',"clientFingerprint":'), file: ascii(',"file":'), firstFrame: ascii(',"firstFrame":'), packets: ascii(',"packets":'),
  handshakeBytes: ascii(',"handshakeBytes":'), fullHandshakeOnlyBytes: ascii(',"fullHandshakeOnlyBytes":'), wiresharkFilter: ascii(',"wiresharkFilter":'), reason: ascii(',"reason":'),
  noAnomalies: ascii(',"anomalies":[],"clientHelloVersion":'),
  noProxiedNoReason: ascii(',"proxiedClient":null,"proxyHeader":null,"reason":null,"session":'), noProxied: ascii(',"proxiedClient":null,"proxyHeader":null'),
  proxiedIp: ascii(',"proxiedClient":{"ip":'), proxiedNoReason: ascii('},"proxyHeader":"client","reason":null,"session":'),
  proxiedClose: ascii('},"proxyHeader":"client"'), noReason: ascii(',"reason":null,"session":'),
  proxyLocal: ascii(',"proxiedClient":null,"proxyHeader":"local"'), proxyOther: ascii(',"proxiedClient":null,"proxyHeader":"other"'),
  freshSession: ascii(',"age":0,"reuseGap":null,"churn":null,"usedSince":null,"abortedBy":null,"crossAddress":false,"issuer":'),
  reasonDetail: ascii(',"reasonDetail":'), session: ascii(',"session":'), close: ascii('}'),
  issuedAt: ascii(',"issuedAt":'), age: ascii(',"age":'), reuseGap: ascii(',"reuseGap":'), churn: ascii(',"churn":'), usedSince: ascii(',"usedSince":'), abortedBy: ascii(',"abortedBy":'),
  crossAddressTrue: ascii(',"crossAddress":true,"issuer":'), crossAddressFalse: ascii(',"crossAddress":false,"issuer":'),
};

const jsonBool = (flags: number, bit: number) => ((flags & bit) !== 0 ? 'true' : 'false');

// Constant stretches that depend only on small numbers: each built once per combination, looked
// up by a small index (no closure or map lookup per row).
const offerFlagsPieces: Uint8Array[] = [];
const outcomePieces: Uint8Array[] = [];
const retryPieces: Uint8Array[] = [];
const noTicketsPieces: Uint8Array[] = [];
const sessionHeadPieces: Uint8Array[] = [];

/** From the offer's ticket flag to the server session ID's key. */
function offerFlagsJson(flags: number): Uint8Array {
  const bits = flags & (FLAG_OFFER_TICKET | FLAG_OFFER_PSK);
  return offerFlagsPieces[bits >> 5] ??= ascii(`,"ticket":${jsonBool(bits, FLAG_OFFER_TICKET)},"psk":${jsonBool(bits, FLAG_OFFER_PSK)}},"serverSessionId":`);
}

/** From "resumption" to the key of "abort". */
function outcomeJson(resumption: number, resumedByIndex: number, flags: number, handshake: number, noAbort: boolean): Uint8Array {
  const bits = flags & (FLAG_RESUMED | FLAG_ESTABLISHED);
  const index = (((resumption * RESUMED_BY.length + resumedByIndex) * 4 + bits) * HANDSHAKES.length + handshake) * 2 + (noAbort ? 1 : 0);
  return outcomePieces[index] ??= ascii(`,"resumption":"${RESUMPTIONS[resumption]}","resumedBy":${resumedByJson(resumedByIndex)}` +
    `,"resumed":${jsonBool(bits, FLAG_RESUMED)},"established":${jsonBool(bits, FLAG_ESTABLISHED)},"handshake":"${HANDSHAKES[handshake]}","abort":` +
    (noAbort ? 'null,"history":' : ''));
}

/** From "helloRetry" to the key of "clientFingerprint", for a record with no ticket, PSK identity, hint or alert. */
function noTicketsJson(flags: number): Uint8Array {
  const bits = flags & (FLAG_HELLO_RETRY | FLAG_TICKET_ISSUED | FLAG_CERTIFICATE);
  return noTicketsPieces[bits >> 2] ??= ascii(`,"helloRetry":${jsonBool(bits, FLAG_HELLO_RETRY)},"ticketIssued":${jsonBool(bits, FLAG_TICKET_ISSUED)}` +
    `,"ticketLifetimeHint":null,"issuedTicket":null,"offeredTicket":null,"offeredPskIdentity":null,"certificateSeen":${jsonBool(bits, FLAG_CERTIFICATE)}` +
    ',"alerts":[],"clientFingerprint":');
}

function resumedByJson(index: number): string {
  const resumedBy = RESUMED_BY[index];
  return resumedBy === null || resumedBy === undefined ? 'null' : `"${resumedBy}"`;
}

/** From "helloRetry" to the key of "ticketLifetimeHint". */
function retryJson(flags: number): Uint8Array {
  const bits = flags & (FLAG_HELLO_RETRY | FLAG_TICKET_ISSUED);
  return retryPieces[bits >> 2] ??= ascii(`,"helloRetry":${jsonBool(bits, FLAG_HELLO_RETRY)},"ticketIssued":${jsonBool(bits, FLAG_TICKET_ISSUED)},"ticketLifetimeHint":`);
}

/** A session view's start, up to the key of "issuedBy". */
function sessionHeadJson(packed: number): Uint8Array {
  const bits = packed & 31;
  return sessionHeadPieces[bits] ??= ascii(`{"role":"${(bits & 3) === 1 ? 'offer' : 'issue'}","kind":"${SESSION_KINDS[(bits >> 2) & 3]}","known":${(bits & 16) !== 0},"issuedBy":`);
}
