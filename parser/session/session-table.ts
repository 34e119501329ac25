import type { ConnectionRecord } from '../report/types.js';
import { Float64Column, Int32Column, Uint8Column, ZeroMostlyInt32Column } from './columns.js';
import { SessionKeyIndex } from './key-index.js';
import { MarkedPositions } from './marked-positions.js';
import { RecencyIndex } from './recency-index.js';
import { keyOf, offeredKey, pskClientKey } from './session-keys.js';
import { readSessionState, SESSION_VERSIONS, SessionStateWriter, type CarriedAbort, type CarriedClient, type CarriedUnknownAbort, type ClientVisitor, type StateChunkSink } from './session-state.js';

// Follows every session (ID, ticket, PSK identity) across connections: who issued
// it, every later offer and its fate. Records are processed in ClientHello order,
// whatever the order of files and packets. Sessions and offers live in columns
// (a farm capture has millions of each). An offer is a row number: the diagnosis lists offers
// as Int32Arrays of rows and reads their facts through the table (an object per offer cost
// 40 bytes, its array slots 8 more, and a million of them were a sixth of the heap).

export type SessionKind = 'session-id' | 'ticket' | 'psk';

const KINDS: readonly SessionKind[] = ['session-id', 'ticket', 'psk'];

/** SessionTable.sessionKind's value for a TLS 1.3 session. */
export const PSK_SESSION_KIND = KINDS.indexOf('psk');

/**
 * One cached session as the traffic shows it: a view of row `index` of the session columns.
 * Views are made on demand, so compare sessions by `index`, not by identity.
 */
export class TrackedSession {
  constructor(private readonly table: SessionTable, readonly index: number) {}
  get kind(): SessionKind { return KINDS[this.table.sessionKind.get(this.index)]!; }
  /** Connection id that issued it; ISSUED_BEFORE_CAPTURE, or ISSUED_IN_EARLIER_ANALYSIS (its issue time known, from a state file). */
  get issuedBy(): number { return this.table.sessionIssuedBy.get(this.index); }
  get issuedAt(): number { return this.table.sessionIssuedAt.get(this.index); }
  /** "ip|port" of the server address that issued it. */
  get issuer(): string { return this.table.addressAt(this.table.sessionIssuer.get(this.index)); }
  get group(): ServerGroup { return this.table.groupAt(this.table.sessionGroup.get(this.index)); }
  /** The group's issue counter when this session was issued: churn = later issues. */
  get issueIndex(): number { return this.table.sessionIssueIndex.get(this.index); }
  /** Last successful use: issue or accepted resumption. */
  get lastUse(): number { return this.table.sessionLastUse.get(this.index); }
  /** Connection id of the last handshake that offered this session and was aborted (-1: none). */
  get abortedBy(): number { return this.table.sessionAbortedBy.get(this.index); }
  get abortedAt(): number { return this.table.sessionAbortedAt.get(this.index); }
}

/**
 * The capture lost part of the handshake, or ended during it, after the ServerHello: nobody
 * aborted it (that is `aborted`), so it most likely completed on the wire, and the server's answer
 * stands for what it did. Left out, a lost segment of the client's Finished made the session's
 * next offer look idle since the use before (simulated 300 s idle timeout, 3 packets of 8,197
 * dropped: gaps of 420 and 462 s accepted, the timeout discarded and a "cache of 22" critical).
 */
function cutByCapture(c: ConnectionRecord): boolean {
  return c.handshake === 'incomplete' && c.serverHelloTime !== null;
}

/** The ClientHello was read, and the capture lost segments before any ServerHello (not the capture's end, not an abort). */
function serverHelloLostByCapture(c: ConnectionRecord): boolean {
  return c.handshake === 'incomplete' && c.clientHelloTime !== null && c.serverHelloTime === null && c.anomalies.some((a) => a.kind === 'gap');
}

/** The connection used the session it offered: resumed, or accepted in a handshake the capture cut (cutByCapture). */
export function usedSession(c: ConnectionRecord): boolean {
  return c.resumed || (c.resumption === 'accepted' && cutByCapture(c));
}

/** One service (SNI + port, or address + port without SNI): may hide several backends. */
export class ServerGroup {
  /**
   * Per server address ("ip|port"): [0] its connections, [i] those negotiated under SESSION_VERSIONS[i]
   * (i ≥ 1): a backend left on older versions stands out among its group's addresses.
   */
  readonly addresses = new Map<string, Uint32Array>();
  issued = 0;
  connections = 0;
  /**
   * Completed TLS 1.0-1.2 full handshakes whose server gave the client nothing to resume with: an
   * empty session ID (RFC 5246 §7.4.1.3: "the session will not be cached") and no ticket.
   */
  fullHandshakesIssuingNothing = 0;
  /** Completed TLS 1.0-1.2 full handshakes that issued a session ID or a ticket. */
  fullHandshakesIssuing = 0;
  /** The issue counter's value carried in from earlier analyses: `issued - carriedIssued` were issued in this one. */
  carriedIssued = 0;
  /** Flushes earlier analyses found (carried in): the cache was emptied between low and time. */
  carriedFlushes: { low: number; time: number }[] = [];
  /** The group's sessions by their last use (issue or accepted resumption): their places in an LRU list. */
  readonly recency = new RecencyIndex();
  /**
   * The group's sessions an aborted handshake offered (after their last use), marked at their issue
   * index; null until one is. A server that purges such a session frees its place in a FIFO cache:
   * the newer sessions it purged push no older one out (churnOf, once purgesOnAbort is inferred).
   * Sessions from before the capture are not marked: they are older than every session it issued.
   */
  abortedSessions: MarkedPositions | null = null;
  /** The diagnosis inferred that the group purges a session an aborted handshake offered (purge-on-abort.ts). */
  purgesOnAbort = false;
  /**
   * Key names of the tickets (and TLS 1.3 PSK identities) the group was seen to issue or accept
   * (or an earlier analysis carried in), each ticket counted once. RFC 5077 §4 recommends that a
   * ticket start with the 16-byte name of the key that sealed it, and OpenSSL (nginx, Apache,
   * HAProxy) and GnuTLS do so; other servers start it with random bytes (see namesTicketKeys).
   */
  readonly ticketKeyNames = new Map<string, number>();
  /** Tickets and identities counted in ticketKeyNames. */
  ticketsNamed = 0;
  /**
   * By key name: when the group first issued a ticket under it in this analysis (a full handshake's,
   * or a renewal's: RFC 5077 §3.3). A rotation's keys are told apart by it (ticket-rotation.ts);
   * a renewed ticket belongs to a session issued earlier, under another key, so the session's
   * issue time would place its key too early.
   */
  readonly ticketKeyFirstIssue = new Map<string, number>();
  /** By key name: when the group last issued a ticket under it (a replaced key issues none after its successor starts). */
  readonly ticketKeyLastIssue = new Map<string, number>();
  constructor(
    readonly key: string,
    readonly sni: string | null,
    readonly port: number,
    /** Position in the table's list of groups. */
    readonly index: number,
  ) {}

  /** Notes when a ticket under this key name was issued (the first and the last time count). */
  noteTicketIssue(sessionKey: string, time: number): void {
    const name = ticketKeyNameOf(sessionKey);
    if (name === null) return;
    if (!this.ticketKeyFirstIssue.has(name)) this.ticketKeyFirstIssue.set(name, time);
    this.ticketKeyLastIssue.set(name, Math.max(this.ticketKeyLastIssue.get(name) ?? time, time));
  }

  /** Counts the key name of a ticket or PSK identity the server issued, or accepted the first time (its table key). */
  noteTicketKey(sessionKey: string): void {
    const name = ticketKeyNameOf(sessionKey);
    if (name === null) return;
    this.ticketKeyNames.set(name, (this.ticketKeyNames.get(name) ?? 0) + 1);
    this.ticketsNamed++;
  }

  /**
   * Whether the server's tickets name their keys: many tickets, few names (at most one for every
   * MIN_TICKETS_PER_KEY_NAME). Random first bytes (formats without key names, stateful TLS 1.3
   * identities) give a name per ticket.
   */
  namesTicketKeys(): boolean {
    return this.ticketsNamed >= MIN_NAMED_TICKETS && this.ticketKeyNames.size * MIN_TICKETS_PER_KEY_NAME <= this.ticketsNamed;
  }
}

/** Tickets issued or accepted before a group's key names say anything (see ServerGroup.namesTicketKeys). */
const MIN_NAMED_TICKETS = 8;
const MIN_TICKETS_PER_KEY_NAME = 4;
/** Bytes of a ticket's key name (RFC 5077 §4: opaque key_name[16]). */
const TICKET_KEY_NAME_BYTES = 16;

/**
 * The key name of a ticket or PSK identity from its table key (sessionKey: a kind letter, then a
 * character per byte), as text; null for other kinds and for values too short or not hex.
 */
export function ticketKeyNameOf(sessionKey: string): string | null {
  const kind = sessionKey.charCodeAt(0);
  // A name and more: a value of 16 bytes or fewer cannot be a sealed ticket.
  if ((kind !== 0x74 /* t */ && kind !== 0x70 /* p */) || sessionKey.length <= 1 + TICKET_KEY_NAME_BYTES) return null;
  return sessionKey.substring(1, 1 + TICKET_KEY_NAME_BYTES);
}

const FACT_KNOWN = 4, FACT_ACCEPTED = 8, FACT_CROSS_ADDRESS = 16;
const NONE = -1;
/** issuedBy of a session first seen resumed: issued before the capture (or any earlier analysis) began, at an unknown time. */
export const ISSUED_BEFORE_CAPTURE = -1;
/** issuedBy of a session carried in from an earlier analysis that saw its issue (see carryIn): its issue time and churn are known. */
export const ISSUED_IN_EARLIER_ANALYSIS = -2;
/** In the abort columns: the aborted handshake was in an earlier analysis (a state carried in). */
const ABORTED_EARLIER = -2;
/**
 * Sessions unused for longer than this are not carried to the next analysis: RFC 8446 §4.6.1 caps a
 * ticket's lifetime at 7 days, and RFC 5246 Appendix F.1.4 suggests at most 24 hours for session IDs.
 */
export const MAX_CARRIED_IDLE = 7 * 24 * 3600;

/** A state being written (SessionTable.carryOut): its sessions and keys are in; the flushes come last. */
export class PendingState {
  constructor(
    private readonly writer: SessionStateWriter,
    /** Sessions written. */
    readonly sessions: number,
    /** By group index: the flushes to carry on (those carried in; the diagnosis adds the ones it finds). */
    readonly flushes: { low: number; time: number }[][],
  ) {}
  /** The state file's bytes, or null when they were streamed (see SessionTable.carryOut's sink). */
  finish(): Uint8Array | null {
    return this.writer.finish(this.flushes.flatMap((list, group) => list.map((f) => ({ group, low: f.low, time: f.time }))));
  }
}

export function groupKeyOf(c: ConnectionRecord): { key: string; sni: string | null; port: number } {
  const sni = c.sni !== null && c.sni.length > 0 ? c.sni.toLowerCase() : null;
  return { key: sni !== null ? `${sni}:${c.server.port}` : `${c.server.ip}:${c.server.port}`, sni, port: c.server.port };
}

/**
 * A value per server group (see groupKeyOf), found by the record's own SNI (or server address)
 * and port, without composing and lower-casing a key per connection: a farm capture asks
 * millions of times for a few groups. `make` runs once per (name, port).
 */
export class GroupKeys<T> {
  private readonly bySni = new Map<string, Map<number, T>>();
  private readonly byAddress = new Map<string, Map<number, T>>();
  constructor(private readonly make: (c: ConnectionRecord) => T) {}

  of(c: ConnectionRecord): T {
    const server = c.server;
    const named = c.sni !== null && c.sni.length > 0;
    const byName = named ? this.bySni : this.byAddress;
    const name = named ? c.sni! : server.ip;
    let byPort = byName.get(name);
    if (byPort === undefined) byName.set(name, (byPort = new Map()));
    let value = byPort.get(server.port);
    if (value === undefined) {
      value = this.make(c);
      byPort.set(server.port, value);
    }
    return value;
  }
}

/** The time a connection counts at in session order. */
export function offerTime(c: ConnectionRecord): number {
  return c.clientHelloTime ?? c.startTime;
}

export class SessionTable {
  readonly groups = new Map<string, ServerGroup>();
  private readonly groupList: ServerGroup[] = [];
  /** Session key → row in the session columns. */
  private sessions = new SessionKeyIndex();
  /** Distinct keys once the index is released (null: not released). */
  private keysAtRelease: number | null = null;
  /** Rows of the offers the server answered (accepted or rejected), in ClientHello order. */
  readonly answeredOffers = new Int32Column();
  /**
   * Sessions of unknown origin that an aborted handshake offered: key → that connection's id
   * (ABORTED_EARLIER: in an earlier analysis) and its ClientHello time.
   */
  private abortedUnknown = new Map<string, { by: number; at: number; segment: number }>();
  /** Time of the first packet of the analysis. */
  captureStart = Infinity;
  /** From a state carried in: sessions unknown to it were last used before this (Infinity: no state, or an old one). */
  carriedSince = Infinity;
  /** The last time of a state carried in (-Infinity: none). */
  private carriedLastTime = -Infinity;
  /**
   * Sessions unknown to the table were last used before this: the analysis's first packet, or the
   * series' (a state carried in), so they are at least this old and idle at least since then.
   */
  get observedSince(): number {
    return Math.min(this.captureStart, this.carriedSince);
  }
  /** Row of the session the connection last given to `add` ended up holding (issued or resumed); -1: none. */
  heldAfter = NONE;
  /**
   * The clock segment (see clock-segments.ts) of the connection given to `add` next: a session of
   * another segment is unknown to it. Followed only after followClockSegments().
   */
  clockSegment = 0;
  /** By session row and offer row: the clock segment it belongs to (null: one clock, nothing kept). */
  private sessionSegments: Int32Column | null = null;
  private offerSegments: Int32Column | null = null;

  // Session columns (row = session index).
  readonly sessionKind = new Uint8Column();
  /**
   * The protocol version a session was negotiated under (its issue, or the resumption it was first
   * seen in, which keeps it: see version-change.ts), as an index in SESSION_VERSIONS; 0 unknown.
   */
  readonly sessionVersion = new Uint8Column();
  readonly sessionIssuedBy = new Int32Column();
  readonly sessionIssuedAt = new Float64Column();
  readonly sessionIssuer = new Int32Column();
  readonly sessionGroup = new Int32Column();
  readonly sessionIssueIndex = new Int32Column();
  readonly sessionLastUse = new Float64Column();
  readonly sessionAbortedBy = new Int32Column();
  readonly sessionAbortedAt = new Float64Column();
  /** The session's latest use in its group's RecencyIndex. */
  private readonly sessionRecencyUse = new Int32Column();
  private sessionRows = 0;

  // Offer columns (row = offer index).
  private readonly offerConnections: ConnectionRecord[] = [];
  private readonly offerGroups = new Int32Column();
  private readonly offerSessions = new Int32Column();
  private readonly offerFlagBits = new Uint8Column();
  private readonly offerReuseGaps = new Float64Column();
  /** The issuing group's issue counter at the time of the offer (churn; a ticket may be offered to another group). */
  private readonly offerIssuedSoFar = new Int32Column();
  private readonly offerAbortedByIds = new Int32Column();
  private readonly offerAddresses = new Int32Column();
  /** Place of the offered session in its issuing group's LRU list at the offer (1: the most recently used); 0: unknown session. */
  private readonly offerRecency = new Int32Column();
  /** Of the sessions used since the offered one (offerRecency − 1), those an aborted handshake offered since their own latest use (RecencyIndex.abortedSince). */
  private readonly offerAbortedUsedSince = new ZeroMostlyInt32Column();
  /** The issuing group's uses of sessions (issues and accepted resumptions) at the time of the offer (the offer's group's, for an unknown session). */
  private readonly offerUsesSoFar = new Int32Column();
  /**
   * Sessions newer than the offered one that an aborted handshake had offered by then (its issuing
   * group's abortedSessions above its issue index); for a session from before the capture, all its
   * group's; for an unknown one, all the offer's group's.
   */
  private readonly offerAbortedNewer = new ZeroMostlyInt32Column();

  get offerCount(): number {
    return this.offerConnections.length;
  }

  // The facts of offer row `o`.
  connectionOf(o: number): ConnectionRecord { return this.offerConnections[o]!; }
  groupOf(o: number): ServerGroup { return this.groupList[this.offerGroups.get(o)]!; }
  /** The key name of the ticket or PSK identity offered (ticketKeyNameOf), null for a session ID. */
  offeredTicketKeyNameOf(o: number): string | null {
    const { key } = offeredKey(this.offerConnections[o]!);
    return key === null ? null : ticketKeyNameOf(key);
  }
  /** The version a session was negotiated under, null when unknown (SessionTable.sessionVersion). */
  versionOfSession(row: number): string | null {
    return SESSION_VERSIONS[this.sessionVersion.get(row)] ?? null;
  }
  /** Row of the session a key (sessionKey) names, -1 when the table does not know it. */
  sessionOfKey(key: string): number {
    return this.inClockSegment(this.sessions.get(key));
  }
  /** Row of the offered session in the session columns (-1: unknown session). */
  sessionRowOf(o: number): number { return this.offerSessions.get(o); }
  kindOf(o: number): SessionKind { return KINDS[this.offerFlagBits.get(o) & 3]!; }
  /** The table knew the session: issued or used earlier in the capture. */
  isKnown(o: number): boolean { return (this.offerFlagBits.get(o) & FACT_KNOWN) !== 0; }
  isAccepted(o: number): boolean { return (this.offerFlagBits.get(o) & FACT_ACCEPTED) !== 0; }
  /** Offered to another server address than the one that issued it. */
  isCrossAddress(o: number): boolean { return (this.offerFlagBits.get(o) & FACT_CROSS_ADDRESS) !== 0; }
  timeOf(o: number): number { return offerTime(this.offerConnections[o]!); }
  /** Seconds since the session's last successful use (issue or accepted resumption); null: unknown session. */
  reuseGapOf(o: number): number | null {
    const gap = this.offerReuseGaps.get(o);
    return Number.isNaN(gap) ? null : gap;
  }
  /** Seconds since the session was issued (null when issued before the capture or unknown). */
  ageOf(o: number): number | null {
    const s = this.offerSessions.get(o);
    return s !== NONE && this.sessionIssuedBy.get(s) !== ISSUED_BEFORE_CAPTURE ? this.timeOf(o) - this.sessionIssuedAt.get(s) : null;
  }
  /**
   * Sessions the issuing group issued from this one on, this one included (at the time of the
   * offer): its place in the group's FIFO queue, so a cache of N sessions holds it while this is ≤ N.
   */
  churnOf(o: number): number | null {
    const s = this.offerSessions.get(o);
    if (s === NONE || this.sessionIssuedBy.get(s) === ISSUED_BEFORE_CAPTURE) return null;
    return this.offerIssuedSoFar.get(o) - this.sessionIssueIndex.get(s) - this.purgedNewerOf(o);
  }
  /**
   * The newer sessions a group that purges on abort had dropped by the offer (0 otherwise), which
   * churnOf leaves out: their places in a FIFO cache were freed (a session is pushed out once N
   * newer ones remain). Counted in, a cache of 50 read as 53 where 5 % of handshakes aborted
   * (simulated), 46 of its refusals "unexplained".
   */
  purgedNewerOf(o: number): number {
    const s = this.offerSessions.get(o);
    const group = this.groupList[s === NONE ? this.offerGroups.get(o) : this.sessionGroup.get(s)]!;
    return group.purgesOnAbort ? this.offerAbortedNewer.get(o) : 0;
  }
  /** The newer sessions an aborted handshake had offered by the offer (purged or not): see offerAbortedNewer. */
  abortedNewerOf(o: number): number {
    return this.offerAbortedNewer.get(o);
  }
  /** Sessions the group that issued the offered session had issued when it was offered (the offer's group's, for an unknown session). */
  issuedSoFarOf(o: number): number {
    return this.offerIssuedSoFar.get(o);
  }
  /**
   * What churnOf says, or for a session issued before the capture (and before the earlier
   * analyses of a state carried in) the least it can be: it came before every session issued
   * since, so all of them (counted by the group it was used with, else the group it was offered
   * to) are newer. A FIFO cache of N held it only while this is ≤ N.
   */
  churnAtLeastOf(o: number): number {
    return this.churnOf(o) ?? this.offerIssuedSoFar.get(o) + 1 - this.purgedNewerOf(o);
  }
  /**
   * The offered session's place in its issuing group's LRU list at the offer: 1 + the distinct
   * sessions issued or resumed since its own last use (null: unknown session). An LRU cache of
   * N sessions still holds it while this is ≤ N.
   */
  recencyOf(o: number): number | null {
    const place = this.offerRecency.get(o);
    return place > 0 ? place - this.purgedUsedSinceOf(o) : null;
  }
  /**
   * The sessions used since the offered one that a group that purges on abort had dropped by the
   * offer (0 otherwise), which recencyOf leaves out: their places in an LRU cache were freed. As
   * purgedNewerOf for a FIFO cache (a simulated LRU cache of 60 read as 66 with them).
   */
  purgedUsedSinceOf(o: number): number {
    const s = this.offerSessions.get(o);
    return s !== NONE && this.groupList[this.sessionGroup.get(s)]!.purgesOnAbort ? this.offerAbortedUsedSince.get(o) : 0;
  }
  /** Uses of the issuing group's sessions (issues and accepted resumptions) at the time of the offer: as issuedSoFarOf, for an LRU cache's list. */
  usesSoFarOf(o: number): number {
    return this.offerUsesSoFar.get(o);
  }
  /** The sessions used since the offered one that an aborted handshake had offered by the offer (purged or not). */
  abortedUsedSinceOf(o: number): number {
    return this.offerAbortedUsedSince.get(o);
  }
  /** Id of an aborted handshake that offered this session since its last success (null also when that was in an earlier analysis). */
  abortedByOf(o: number): number | null {
    const id = this.offerAbortedByIds.get(o);
    return id >= 0 ? id : null;
  }
  /** An aborted handshake, in this analysis or an earlier one (a state carried in), offered this session since its last success. */
  offeredAfterAbort(o: number): boolean {
    return this.offerAbortedByIds.get(o) !== NONE;
  }
  /** Seconds since the sessions unknown to the table were last seen (observedSince): a lower bound of idle time and age for an unknown session. */
  sinceCaptureStartOf(o: number): number | null {
    // After a step back of its file's clock: how long the capture ran before is not known.
    if (this.offerSegments !== null && this.offerSegments.get(o) !== 0) return null;
    const since = this.observedSince;
    return Number.isFinite(since) ? this.timeOf(o) - since : null;
  }
  /** "ip|port" of the server address that issued the offered session (null: unknown session). */
  issuerOf(o: number): string | null {
    const s = this.offerSessions.get(o);
    return s === NONE ? null : this.addressList[this.sessionIssuer.get(s)]!;
  }
  /** "ip|port" of the server address the offer went to. */
  serverAddressOf(o: number): string { return this.addressList[this.offerAddresses.get(o)]!; }

  /**
   * Server addresses ("ip|port") repeat across millions of connections: one string and one
   * number each, found by address then port (no string composed per connection).
   */
  private readonly addressByIp = new Map<string, Map<number, number>>();
  private readonly addressList: string[] = [];

  private addressIndexOf(server: { ip: string; port: number }): number {
    let byPort = this.addressByIp.get(server.ip);
    if (byPort === undefined) this.addressByIp.set(server.ip, (byPort = new Map()));
    let index = byPort.get(server.port);
    if (index === undefined) {
      index = this.addressList.length;
      this.addressList.push(`${server.ip}|${server.port}`);
      byPort.set(server.port, index);
    }
    return index;
  }

  addressAt(index: number): string {
    return this.addressList[index]!;
  }

  groupAt(index: number): ServerGroup {
    return this.groupList[index]!;
  }

  /** A view of session row `index`. */
  session(index: number): TrackedSession {
    return new TrackedSession(this, index);
  }

  /** Distinct session keys seen (IDs, tickets, PSK identities). */
  get sessionCount(): number {
    return this.keysAtRelease ?? this.sessions.size;
  }

  /**
   * After the last `add`: frees the key lookups (on a million sessions ~100 MB) and the groups'
   * recency trees while the columns stay readable. `add` throws afterwards.
   */
  releaseKeys(): void {
    this.keysAtRelease ??= this.sessions.size;
    this.sessions = new SessionKeyIndex();
    this.abortedUnknown = new Map();
    // Each offer's place by last use is in its column: the groups' trees (~5 bytes a use) go too.
    for (const group of this.groupList) group.recency.release();
  }

  private readonly groupByName = new GroupKeys<ServerGroup>((c) => {
    const { key, sni, port } = groupKeyOf(c);
    return this.groupNamed(key, sni, port);
  });

  private groupNamed(key: string, sni: string | null, port: number): ServerGroup {
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new ServerGroup(key, sni, port, this.groupList.length);
      this.groups.set(key, group);
      this.groupList.push(group);
    }
    return group;
  }

  /** Each client's latest session with a group, carried in (session: a row of this table; group: a group index). */
  readonly carriedClients: CarriedClient[] = [];
  /** Sessions carried in from earlier analyses (carryIn). */
  carriedIn = 0;

  /**
   * Before the first `add`: the sessions an earlier analysis ended with (a state file's bytes, see
   * session-state.ts), so that offers of them are known sessions with their issue time, last use and
   * churn. Their places in each group's LRU list follow their order of last use. Read straight into
   * the table (no object per session, no array of key strings: ~150 MB on a million sessions), after
   * a first pass that checks the file whole: a damaged one throws StateFileError and leaves the
   * table untouched.
   */
  carryIn(state: Uint8Array): void {
    if (this.sessionRows > 0 || this.offerConnections.length > 0) throw new Error('SessionTable.carryIn after add');
    this.carriedLastTime = readSessionState(state).lastTime;
    const groups: ServerGroup[] = [];
    const addresses: number[] = [];
    readSessionState(state, {
      group: (key, sni, port, issued) => {
        const group = this.groupNamed(key, sni, port);
        group.issued = issued;
        group.carriedIssued = issued;
        groups.push(group);
      },
      address: (text) => {
        const bar = text.lastIndexOf('|');
        addresses.push(this.addressIndexOf({ ip: text.slice(0, bar), port: Number(text.slice(bar + 1)) }));
      },
      sessions: (count) => { this.carriedIn = count; },
      session: (kind, issueSeen, group, issuer, issueIndex, issuedAt, lastUse, version) => {
        const row = this.newSession(KINDS[kind]!, issueSeen ? ISSUED_IN_EARLIER_ANALYSIS : ISSUED_BEFORE_CAPTURE, issuedAt, addresses[issuer]!, groups[group]!, issueIndex, SESSION_VERSIONS[version] ?? null);
        this.sessionLastUse.set(row, lastUse);
      },
      key: (session, key) => {
        this.sessions.set(key, session);
        // A carried ticket's key was in use when an earlier analysis saw it.
        this.groupList[this.sessionGroup.get(session)]!.noteTicketKey(key);
      },
      // Sessions are rows in the order they were read: a client's session index is its row.
      client: (group, stack, address, session) => this.carriedClients.push({ group: groups[group]!.index, stack, address, session }),
      observedSince: (time) => { this.carriedSince = time; },
      abort: (session, time) => {
        // As for an abort seen here (add): it counts only if it came after the session's last use.
        if (time < this.sessionLastUse.get(session)) return;
        this.sessionAbortedBy.set(session, ABORTED_EARLIER);
        this.sessionAbortedAt.set(session, time);
        this.markAborted(session);
      },
      unknownAbort: (key, time) => { this.abortedUnknown.set(key, { by: ABORTED_EARLIER, at: time, segment: 0 }); },
      flush: (group, low, time) => { groups[group]!.carriedFlushes.push({ low, time }); },
    });
  }

  /**
   * After the last `add`, before releaseKeys: the sessions to carry to the next analysis, those used
   * within `maxIdle` seconds of the latest use (`MAX_CARRIED_IDLE`), in order of last use, written
   * straight into the state file's bytes (no object per session or string array of keys: on a
   * million sessions those were ~140 MB at the analysis's peak). Then `clients` (sessions as rows
   * of this table; by default those carried in) whose session is carried; the flushes come last (finish).
   */
  carryOut(maxIdle = MAX_CARRIED_IDLE, clients: ClientVisitor = (visit) => { for (const c of this.carriedClients) visit(c.group, c.stack, c.address, c.session); },
    sink: StateChunkSink | null = null, chunkBytes?: number): PendingState {
    if (this.keysAtRelease !== null) throw new Error('SessionTable.carryOut after releaseKeys');
    const rows = this.sessionRows;
    let lastTime = -Infinity;
    for (let row = 0; row < rows; row++) lastTime = Math.max(lastTime, this.sessionLastUse.get(row));
    let n = 0;
    for (let row = 0; row < rows; row++) if (this.sessionLastUse.get(row) >= lastTime - maxIdle) n++;
    const kept = new Int32Array(n);
    for (let row = 0, k = 0; row < rows; row++) if (this.sessionLastUse.get(row) >= lastTime - maxIdle) kept[k++] = row;
    kept.sort((a, b) => this.sessionLastUse.get(a) - this.sessionLastUse.get(b) || a - b);
    const place = new Int32Array(rows).fill(NONE);
    for (let i = 0; i < n; i++) place[kept[i]!] = i;
    // Every stored key's text is at most its bytes in the index (the same 4-byte header, 1 or 2 bytes
    // a character), plus 4 for its session: one buffer that need not grow.
    const names = this.groupList.reduce((sum, g) => sum + 2 * (g.key.length + (g.sni?.length ?? 0)), 0) + this.addressList.reduce((sum, a) => sum + 2 * a.length, 0);
    // The clients whose session is carried, as they will be written (16 bytes and the address each;
    // a stack's text at most once each): sized in, the buffer never grows (on the 2-million-
    // connection run, growing it by half took 78 MB more at the peak).
    const keptClients: ClientVisitor = (visit) => clients((group, stack, address, row) => {
      if (row >= 0 && row < rows && place[row]! >= 0) visit(group, stack, address, place[row]!);
    });
    let clientBytes = 8;
    const stacksSeen = new Set<string>();
    if (sink === null) keptClients((_group, stack, address) => {
      clientBytes += 16 + 2 * address.length;
      if (!stacksSeen.has(stack)) {
        stacksSeen.add(stack);
        clientBytes += 4 + 2 * stack.length;
      }
    });
    // Sized in when the bytes are kept; else streamed to `sink` (see StateChunkSink), a chunk at a time.
    const horizon = lastTime - maxIdle;
    // Sessions unknown to the next analysis: never seen since the series began, or dropped here
    // for being idle longer than maxIdle (so last used before the horizon).
    const observedSince = Number.isFinite(lastTime) ? Math.max(this.observedSince, horizon) : this.observedSince;
    const aborts: CarriedAbort[] = [];
    for (let i = 0; i < n; i++) {
      const row = kept[i]!;
      if (this.sessionAbortedBy.get(row) !== NONE && this.sessionAbortedAt.get(row) >= this.sessionLastUse.get(row)) aborts.push({ session: i, time: this.sessionAbortedAt.get(row) });
    }
    const unknownAborts: CarriedUnknownAbort[] = [];
    for (const [key, { at }] of this.abortedUnknown) {
      // A key adopted since (resumed: a known session now) has its abort, if any, in its row.
      if (at >= horizon && this.sessions.get(key) === NONE) unknownAborts.push({ key, time: at });
    }
    const abortBytes = 8 + 12 * aborts.length + unknownAborts.reduce((sum, u) => sum + 12 + 2 * u.key.length, 0);
    // The state's time covers its aborts too (an abort is no use of its session): a capture that
    // starts before it is refused as one that overlaps the analyses so far (stateOrderProblem).
    // And what the state carried in covered: no analysis may go back before it either.
    let stateTime = Math.max(lastTime, this.carriedLastTime);
    for (const a of aborts) stateTime = Math.max(stateTime, a.time);
    for (const u of unknownAborts) stateTime = Math.max(stateTime, u.time);
    const writer = new SessionStateWriter(stateTime, 1024 + names + 16 * (this.groupList.length + this.addressList.length) + 29 * n + this.sessions.storedBytes + 4 * this.sessions.size + clientBytes + abortBytes,
      // An earlier bound is a weaker one, never a wrong one.
      sink, chunkBytes, Number.isFinite(stateTime) ? Math.min(observedSince, stateTime) : observedSince);
    writer.groups(this.groupList);
    writer.addresses(this.addressList);
    writer.startSessions(n);
    for (let i = 0; i < n; i++) {
      const row = kept[i]!;
      writer.session(this.sessionKind.get(row), this.sessionIssuedBy.get(row) !== ISSUED_BEFORE_CAPTURE, this.sessionGroup.get(row), this.sessionIssuer.get(row),
        this.sessionIssueIndex.get(row), this.sessionIssuedAt.get(row), this.sessionLastUse.get(row), this.sessionVersion.get(row));
    }
    let keys = 0;
    this.sessions.forEachValue((row) => { if (row >= 0 && place[row]! >= 0) keys++; });
    writer.startKeys(keys);
    this.sessions.forEach((key, row) => {
      if (row >= 0 && place[row]! >= 0) writer.key(place[row]!, key);
    });
    writer.clients(keptClients);
    writer.aborts(aborts, unknownAborts);
    return new PendingState(writer, n, this.groupList.map((g) => g.carriedFlushes.filter((f) => f.time >= horizon)));
  }

  group(c: ConnectionRecord): ServerGroup {
    return this.groupByName.of(c);
  }

  /** Keep each session's and offer's clock segment from now on; rows made before (carried in) are segment 0. */
  followClockSegments(): void {
    if (this.sessionSegments !== null) return;
    this.sessionSegments = new Int32Column();
    this.offerSegments = new Int32Column();
    for (let row = 0; row < this.sessionRows; row++) this.sessionSegments.push(0);
    for (let o = 0; o < this.offerGroups.length; o++) this.offerSegments.push(0);
  }

  /** The clock segment of a session row (0 when segments are not followed). */
  segmentOfSession(row: number): number {
    return this.sessionSegments === null ? 0 : this.sessionSegments.get(row);
  }

  /** `session` when it belongs to the current clock segment (or segments are not followed), else NONE. */
  private inClockSegment(session: number): number {
    if (session === NONE || this.sessionSegments === null) return session;
    return this.sessionSegments.get(session) === this.clockSegment ? session : NONE;
  }

  /** The aborted connection that offered an unknown session by this key, in the current clock segment, ended by `time` (NONE: none). */
  private unknownAbortOf(key: string, time: number): number {
    const entry = this.abortedUnknown.get(key);
    return entry === undefined || entry.segment !== this.clockSegment || entry.at > time ? NONE : entry.by;
  }

  /**
   * An aborted handshake offered `session` after its last use: marked at its latest use for
   * recencyOf, and at its issue for churnOf unless it is from before the capture.
   */
  private markAborted(session: number): void {
    const group = this.groupList[this.sessionGroup.get(session)]!;
    group.recency.markAborted(this.sessionRecencyUse.get(session));
    if (this.sessionIssuedBy.get(session) === ISSUED_BEFORE_CAPTURE) return;
    (group.abortedSessions ??= new MarkedPositions()).mark(this.sessionIssueIndex.get(session));
  }

  private newSession(kind: SessionKind, issuedBy: number, time: number, address: number, group: ServerGroup, issueIndex: number, version: string | null = null): number {
    const row = this.sessionRows++;
    this.sessionKind.push(KINDS.indexOf(kind));
    this.sessionVersion.push(Math.max(0, SESSION_VERSIONS.indexOf(version)));
    this.sessionIssuedBy.push(issuedBy);
    this.sessionIssuedAt.push(time);
    this.sessionIssuer.push(address);
    this.sessionGroup.push(group.index);
    this.sessionIssueIndex.push(issueIndex);
    this.sessionLastUse.push(time);
    this.sessionAbortedBy.push(NONE);
    this.sessionAbortedAt.push(-1);
    this.sessionRecencyUse.push(group.recency.use(-1));
    this.sessionSegments?.push(this.clockSegment);
    return row;
  }


  /** Feed connections in ClientHello-time order. Returns the connection's offer row (-1: it offered nothing). */
  add(c: ConnectionRecord, group: ServerGroup = this.group(c)): number {
    if (this.keysAtRelease !== null) throw new Error('SessionTable.add after releaseKeys');
    group.connections++;
    const address = this.addressIndexOf(c.server);
    this.heldAfter = NONE;
    const shared = this.addressList[address]!;
    let counts = group.addresses.get(shared);
    if (counts === undefined) group.addresses.set(shared, counts = new Uint32Array(SESSION_VERSIONS.length));
    counts[0]!++;
    if (c.version !== null) {
      const version = SESSION_VERSIONS.indexOf(c.version);
      if (version > 0) counts[version]!++;
    }
    const time = offerTime(c);
    let offer = NONE;
    const used = usedSession(c);

    if (c.resumption === 'accepted' || c.resumption === 'rejected' || c.resumption === 'unanswered') {
      const { kind, key } = offeredKey(c);
      let session = key === null ? NONE : this.inClockSegment(this.sessions.get(key));
      // Each ticket or identity counts once towards its group's key names, however often resumed.
      const firstSight = session === NONE;
      if (session === NONE && kind === 'psk') {
        session = this.inClockSegment(this.sessions.get(pskClientKey(c, group)));
        if (session !== NONE && key !== null) this.sessions.set(key, session);
      }
      const known = session !== NONE;
      // The server's answer is the cache's decision, even if the client then aborts.
      const accepted = c.resumption === 'accepted';
      const lastUse = known ? this.sessionLastUse.get(session) : NaN;
      // Aborted after its last use, and before this offer: a connection opened while the aborting
      // one was still under way (a browser's parallel connections) came before any purge.
      const abortedAt = known ? this.sessionAbortedAt.get(session) : NaN;
      const abortedBy = known && this.sessionAbortedBy.get(session) !== NONE && abortedAt >= lastUse && abortedAt <= time ? this.sessionAbortedBy.get(session)
        : !known && key !== null ? this.unknownAbortOf(key, time) : NONE;
      offer = this.offerConnections.length;
      this.offerConnections.push(c);
      this.offerGroups.push(group.index);
      this.offerSessions.push(session);
      this.offerFlagBits.push(KINDS.indexOf(kind) | (known ? FACT_KNOWN : 0) | (accepted ? FACT_ACCEPTED : 0) |
        (known && this.sessionIssuer.get(session) !== address ? FACT_CROSS_ADDRESS : 0));
      this.offerReuseGaps.push(known ? time - lastUse : NaN);
      this.offerIssuedSoFar.push(known ? this.groupList[this.sessionGroup.get(session)]!.issued : group.issued);
      this.offerAbortedByIds.push(abortedBy);
      this.offerAddresses.push(address);
      const recency = known ? this.groupList[this.sessionGroup.get(session)]!.recency : null;
      this.offerRecency.push(recency === null ? 0 : 1 + recency.usedSince(this.sessionRecencyUse.get(session)));
      this.offerAbortedUsedSince.push(recency === null ? 0 : recency.abortedSince(this.sessionRecencyUse.get(session)));
      this.offerUsesSoFar.push((recency ?? group.recency).usesSoFar);
      // For a session from before the capture every session the capture saw issued is newer.
      const aborted = known ? this.groupList[this.sessionGroup.get(session)]!.abortedSessions : group.abortedSessions;
      const fromCapture = known && this.sessionIssuedBy.get(session) !== ISSUED_BEFORE_CAPTURE;
      this.offerAbortedNewer.push(aborted === null ? 0 : fromCapture ? aborted.above(this.sessionIssueIndex.get(session)) : aborted.count);
      this.offerSegments?.push(this.clockSegment);
      if (c.resumption !== 'unanswered') this.answeredOffers.push(offer);
      if (accepted && firstSight && key !== null && kind !== 'session-id') group.noteTicketKey(key);
      // A handshake the server refused the session in has nothing of it to purge when it aborts
      // (the cache had dropped it already): only an accepted or unanswered offer counts. Simulated
      // idle timeout with purge on abort: 14 idle-timeout refusals had been put down to aborts
      // whose own offers were refused for idle time.
      const abortMayPurge = c.handshake === 'aborted' && c.resumption !== 'rejected';
      // A server purges the session when the handshake ends (OpenSSL's SSL_CTX_remove_session on
      // the failed handshake), at the RST, FIN or fatal alert, not at the ClientHello: offers made
      // in between found it still there.
      const purgeTime = c.abort !== null ? Math.max(time, c.abort.time) : time;
      if (!known && key !== null && abortMayPurge) {
        this.abortedUnknown.set(key, { by: c.id, at: purgeTime, segment: this.clockSegment });
      }
      if (!known && key !== null && used) {
        // First sight of a session issued before the capture: remember it from now on.
        const adopted = this.newSession(kind, ISSUED_BEFORE_CAPTURE, time, address, group, group.issued, c.version);
        this.sessions.set(key, adopted);
        this.heldAfter = adopted;
        // Used while a handshake that offered it was still under way: that one's end purges it.
        const pending = this.abortedUnknown.get(key);
        if (pending !== undefined && pending.segment === this.clockSegment && pending.at > time) {
          this.sessionAbortedBy.set(adopted, pending.by);
          this.sessionAbortedAt.set(adopted, pending.at);
          this.markAborted(adopted);
        }
      } else if (known) {
        if (used) {
          this.sessionLastUse.set(session, time);
          this.sessionRecencyUse.set(session, this.groupList[this.sessionGroup.get(session)]!.recency.use(this.sessionRecencyUse.get(session)));
          this.heldAfter = session;
          // A session of unknown version (carried in from a state file before format version 5)
          // resumed: a server resumes only under the version it was made with, so that is its version.
          if (this.sessionVersion.get(session) === 0 && c.version !== null) this.sessionVersion.set(session, Math.max(0, SESSION_VERSIONS.indexOf(c.version)));
          if (kind === 'psk') this.sessions.set(pskClientKey(c, group), session);
        } else if (abortMayPurge && c.abort !== null) {
          this.sessionAbortedBy.set(session, c.id);
          this.sessionAbortedAt.set(session, purgeTime);
          this.markAborted(session);
        }
      }
    }

    if (c.resumption === 'unknown') {
      this.addUnknownOffer(c, group, address, time);
      return offer;
    }
    // A completed full handshake issues new session state (RFC 5246 §7.4.1.3; RFC 5077 §3.3).
    if ((c.established || cutByCapture(c)) && !used && c.resumption !== 'accepted') this.issue(c, group, address, time);
    else if (c.resumption === 'not-offered' && serverHelloLostByCapture(c)) {
      // Nothing offered, so the server made a session whose hello the capture lost: counted for
      // churn (the newer sessions a FIFO cache's size is read from), though no key names it. At 5 %
      // random loss a FIFO cache of 100 read as 90, its refusals at churn 88–90 "unexplained".
      group.issued++;
    }
    else if (used && this.heldAfter !== NONE) {
      const reissued = keyOf(c, 'issuedTicket', 'ticket');
      if (reissued !== null) {
        this.sessions.set(reissued, this.heldAfter);
        group.noteTicketIssue(reissued, time);
      }
    }
    return offer;
  }

  /**
   * A connection whose ClientHello was not read: no offer to judge. TLS 1.0-1.2 shows the server's
   * side of it: a Certificate is a full handshake, which issued what its ServerHello and tickets
   * name; none, an abbreviated one (RFC 5246 §7.3), which resumed the session its ServerHello names:
   * that session was used now (when known), never issued by this connection. TLS 1.3 shows it in
   * the ServerHello's pre_shared_key.
   */
  private addUnknownOffer(c: ConnectionRecord, group: ServerGroup, address: number, time: number): void {
    if (!(c.established || cutByCapture(c)) || c.version === null) return;
    let session = NONE;
    if (c.version === 'TLS 1.3') {
      // TLS 1.3 hides the Certificate, but its ServerHello says whether a PSK was taken (RFC 8446
      // §4.2.11: pre_shared_key, resumedBy 'psk'): the session the client last got from the group,
      // used now; without one, a full handshake, which gives the client a new session. Left out, a
      // lost ClientHello stretched the client's next idle time: 10 % of them lost turned a 10-minute
      // timeout into 16m20s and 12 unexplained refusals (simulated).
      if (c.resumedBy !== 'psk') {
        this.issue(c, group, address, time);
        return;
      }
      session = this.inClockSegment(this.sessions.get(pskClientKey(c, group)));
    } else {
      if (c.certificateSeen) {
        this.issue(c, group, address, time);
        return;
      }
      const key = keyOf(c, 'serverSessionId', 'session-id');
      session = key === null ? NONE : this.inClockSegment(this.sessions.get(key));
    }
    if (session === NONE) return;
    this.sessionLastUse.set(session, time);
    this.sessionRecencyUse.set(session, this.groupList[this.sessionGroup.get(session)]!.recency.use(this.sessionRecencyUse.get(session)));
    this.heldAfter = session;
  }

  private issue(c: ConnectionRecord, group: ServerGroup, address: number, time: number): void {
    const tls13 = c.version === 'TLS 1.3';
    let kind: SessionKind | null = null;
    const keys: string[] = [];
    const ticket = keyOf(c, 'issuedTicket', 'ticket');
    if (ticket !== null) { kind = 'ticket'; keys.push(ticket); group.noteTicketKey(ticket); group.noteTicketIssue(ticket, time); }
    const sessionId = tls13 ? null : keyOf(c, 'serverSessionId', 'session-id');
    if (sessionId !== null) { kind ??= 'session-id'; keys.push(sessionId); }
    // TLS 1.3 tickets travel encrypted (RFC 8446 §4.6.1): whether its server issued any is unseen.
    if (!tls13) {
      if (kind === null) group.fullHandshakesIssuingNothing++;
      else group.fullHandshakesIssuing++;
    }
    if (tls13) {
      // TLS 1.3 tickets travel encrypted: the issue is inferred, keyed by client and group,
      // and linked to the PSK identity when the client first offers it.
      kind = 'psk';
      keys.push(pskClientKey(c, group));
    }
    if (kind === null) return;
    const session = this.newSession(kind, c.id, time, address, group, group.issued++, c.version);
    for (const key of keys) this.sessions.set(key, session);
    this.heldAfter = session;
  }
}
