import { clientAddress, type ConnectionRecord } from '../report/types.js';
import { Float64Column, Int32Column, IntMap } from '../session/columns.js';
import { ISSUED_BEFORE_CAPTURE, ISSUED_IN_EARLIER_ANALYSIS, MAX_CARRIED_IDLE, offerTime, PSK_SESSION_KIND, SessionTable, usedSession, type PendingState, type ServerGroup, type TrackedSession } from '../session/session-table.js';
import type { ClientVisitor } from '../session/session-state.js';
import { keyOf } from '../session/session-keys.js';
import type { DiagnoseOptions, SessionView } from './types.js';

// The diagnosis's first step: every connection in session order through the session table, what
// each client held when it came back, and each connection's session facts.

/**
 * A record that numbers its client address (the column store: the address's index in its string
 * pool), equal numbers for equal addresses among the records of one `addressNumbering`. A farm
 * capture has a million clients: maps keyed by their address text were 5 of the 2-million-
 * connection run's 55 s (a cache miss or two per lookup, in session order).
 */
export interface ClientAddressSource {
  readonly clientAddressNumber: number;
  readonly addressNumbering: object;
}

function isClientAddressSource(c: ConnectionRecord): c is ConnectionRecord & ClientAddressSource {
  return typeof (c as Partial<ClientAddressSource>).clientAddressNumber === 'number';
}

/** Each connection's client address as a number 0..count-1, by position (equal numbers: same address). */
export function numberClients(connections: ConnectionRecord[]): { numbers: Int32Array; count: number } {
  const numbers = new Int32Array(connections.length);
  const first = connections[0];
  const numbering = first !== undefined && isClientAddressSource(first) ? first.addressNumbering : null;
  if (numbering !== null && connections.every((c) => isClientAddressSource(c) && c.addressNumbering === numbering && c.clientAddressNumber >= 0)) {
    // Stored rows: their pool indices, made dense through an array (no map of every address).
    const sources = connections as (ConnectionRecord & ClientAddressSource)[];
    let largest = -1;
    for (const c of sources) largest = Math.max(largest, c.clientAddressNumber);
    const dense = new Int32Array(largest + 1).fill(-1);
    let count = 0;
    for (let i = 0; i < sources.length; i++) {
      const key = sources[i]!.clientAddressNumber;
      let number = dense[key]!;
      if (number < 0) dense[key] = number = count++;
      numbers[i] = number;
    }
    return { numbers, count };
  }
  const byAddress = new Map<string, number>();
  for (let i = 0; i < connections.length; i++) {
    const ip = clientAddress(connections[i]!);
    let number = byAddress.get(ip);
    if (number === undefined) byAddress.set(ip, (number = byAddress.size));
    numbers[i] = number;
  }
  return { numbers, count: byAddress.size };
}

/** Connections between two 'tracking sessions' reports. */
const TRACKING_REPORT_EVERY = 1 << 16;

/** In a ClientMemory map: this address and TLS stack are several clients (see trackSessions). */
export const SEVERAL_CLIENTS = -2;

/** Flags of trackSessions' `reconnection`: seen before; seen before and holding a session it could offer. */
const RECONNECTION = 1;
export const HOLDING_RECONNECTION = 2;

/** A connection that offered nothing, or an older session, while its client held a session. */
export interface ForgottenSession {
  c: ConnectionRecord;
  group: ServerGroup;
  /** Seconds since the held session's last use. */
  gap: number;
  /** The client's entry (ClientMemory): skipped if it turns out to be several clients. */
  clients: IntMap;
  client: number;
  /** The held session is an inferred TLS 1.3 one (see trackSessions' pskHoldingIndex). */
  tls13: boolean;
}

/** A TLS 1.3 handshake carrying a known TLS 1.2 session's ID (TrackedConnections.legacyIdOffers). */
export interface LegacyIdOffer {
  c: ConnectionRecord;
  /** That session's idle time and age at the ClientHello, as an offer's (age null: issued before the capture). */
  reuseGap: number;
  age: number | null;
  /** That session was issued by another server address than c's. */
  crossAddress: boolean;
}

export interface TrackedConnections {
  table: SessionTable;
  /** The offer row of a connection (-1: it offered nothing). */
  offerOf(c: ConnectionRecord): number;
  /** By position in session order: RECONNECTION when the client (address and TLS stack) was seen before with the same group, HOLDING_RECONNECTION when it also held a session it could offer. */
  reconnection: Uint8Array;
  /** Connections that offered nothing, or an older session, while the client held one. */
  forgotten: ForgottenSession[];
  /**
   * TLS 1.3 handshakes whose legacy session ID is a TLS 1.2 session the capture saw (RFC 8446
   * §4.1.2: a client with a cached pre-TLS 1.3 session sends its ID there): the client offered it,
   * the version change refused it. No offer by the record's rules, no forgetting either.
   */
  legacyIdOffers: LegacyIdOffer[];
  /** How many clients turned out to be several behind one address (see SEVERAL_CLIENTS). */
  sharedAddresses: SharedAddresses;
  /** Per group: how often a client's session changed, and how many clients that was. */
  sessionChanges: Map<ServerGroup, { clients: number; changes: number }>;
  /** By group index: TLS 1.3 reconnections that would have held a ticket, in groups no client offered a PSK to. */
  pskNeverOffered: Map<number, number>;
  /** The state being written for the next analysis (options.carryOut), else null. */
  carriedOut: PendingState | null;
}

/**
 * When the client of connection c could first resume the session c's handshake gave it. TLS 1.2:
 * after the server's Finished (RFC 5246 §7.4.9; a ticket comes just before it, RFC 5077 §3.3);
 * TLS 1.3: a NewSessionTicket after the handshake (RFC 8446 §4.6.1), which OpenSSL sends once the
 * client's Finished is in. Both come about one round trip after the ServerHello. The round trip,
 * wherever the capture was taken: first packet (the SYN) to ClientHello is one (the client sends
 * its hello with the handshake's last ACK); ClientHello to ServerHello is one more at the client,
 * near zero at the server. The larger of the two, the first capped: a connection opened long before
 * its hello (a proxy's CONNECT, STARTTLS) would only make the bound later, never wrong.
 */
function sessionReadyTime(c: ConnectionRecord): number {
  const hello = offerTime(c);
  if (c.serverHelloTime === null) return hello;
  const roundTrip = Math.max(c.serverHelloTime - hello, Math.min(hello - c.startTime, MAX_ROUND_TRIP));
  return c.serverHelloTime + Math.max(0, roundTrip);
}

/** The longest SYN-to-ClientHello time taken for a round trip (a geostationary satellite's is ~0.6 s). */
const MAX_ROUND_TRIP = 2;

/**
 * Feeds the connections to the session table in session order; gives each its session view.
 * Its own function so that what it alone needs (each client's latest session per group, a map
 * entry per client and group) is garbage before the per-group inference starts.
 */
export function trackSessions(connections: ConnectionRecord[], order: Uint32Array, numbering: { numbers: Int32Array; count: number }, options: DiagnoseOptions,
  segments: Int32Array | null = null): TrackedConnections {
  const onProgress = options.onProgress;
  const table = new SessionTable();
  const carriedIn = options.carriedIn;
  if (carriedIn !== undefined) table.carryIn(typeof carriedIn === 'function' ? carriedIn() : carriedIn);
  if (segments !== null) table.followClockSegments();
  const clientNumbers = numbering.numbers;
  let maxId = 0;
  for (let i = 0; i < connections.length; i++) {
    const c = connections[i]!;
    if (c.id > maxId) maxId = c.id;
    // The capture began where its clock did: a part after a step back of it may read earlier.
    if (segments === null || segments[i] === 0) table.captureStart = Math.min(table.captureStart, c.startTime);
  }
  // Offer row by connection id (ids are 1..N after numberConnections: a dense array); -1: no offer.
  const offerById = maxId <= 2 * connections.length + 1024 ? new Int32Array(maxId + 1).fill(-1) : null;
  const sparseOfferById = new Map<number, number>();
  const clientState = new ClientMemory();
  // Clients carried in: what each held when the earlier files ended. Numbered as this analysis
  // numbers its addresses; those not in it get numbers past them, to be carried on.
  const carriedAddresses: string[] = [];
  if (table.carriedClients.length > 0) {
    const numberOf = new Map<string, number>();
    for (const c of table.carriedClients) numberOf.set(c.address, -1);
    for (let i = 0; i < connections.length; i++) {
      const address = clientAddress(connections[i]!);
      if (numberOf.get(address) === -1) numberOf.set(address, clientNumbers[i]!);
    }
    for (const c of table.carriedClients) {
      let number = numberOf.get(c.address)!;
      if (number < 0) {
        numberOf.set(c.address, (number = numbering.count + carriedAddresses.length));
        carriedAddresses.push(c.address);
      }
      clientState.of(c.group, c.stack).set(number, c.session);
    }
  }
  const changesByGroup = new Map<ServerGroup, { clients: IntMap; changes: number }>();
  const forgotten: ForgottenSession[] = [];
  const legacyIdOffers: LegacyIdOffer[] = [];
  // By session row: from when its client could resume it (sessionReadyTime); -Infinity: held
  // since before the capture. A browser opens connections in parallel: those that start while
  // the handshake delivering the newest session is still under way cannot offer it.
  const readyAt = new Float64Column();

  // Reconnections (a client, by address and TLS stack, seen before with the same group) for the
  // clients summary: RECONNECTION, or HOLDING_RECONNECTION when the client held a session it could offer.
  const reconnection = new Uint8Array(connections.length);
  // A TLS 1.3 session is inferred from the full handshake: its tickets travel encrypted (RFC 8446
  // §4.6.1), and a server may send none (OpenSSL -num_tickets 0). A client holds one for sure only
  // where some client offered a PSK to the group. Holding reconnections on an inferred TLS 1.3
  // session are kept aside (position, group) and count once that is known (real s_server without
  // tickets: "never offers a session" was said of the client, tls13-no-tickets.pcap).
  const pskHoldingIndex = new Int32Column();
  const pskHoldingGroup = new Int32Column();
  const groupsOfferingPsk = new Set<number>();
  for (let index = 0; index < order.length; index++) {
    if (onProgress && index % TRACKING_REPORT_EVERY === TRACKING_REPORT_EVERY - 1) onProgress({ step: 'tracking sessions', done: index + 1, total: order.length });
    const position = order[index]!;
    const c = connections[position]!;
    c.reason = null;
    c.session = null;
    const group = table.group(c);
    // Before the table learns from c: what did this client hold for this group?
    const clients = clientState.clientsLike(c, group);
    const client = clientNumbers[position]!;
    // Session rows: -1 when the client holds none, SEVERAL_CLIENTS when it is several. A session
    // held on the other side of a step back of the clock is none: whether it came before is unknown.
    let held = clients.get(client, -1);
    if (segments !== null) {
      table.clockSegment = segments[position]!;
      if (held >= 0 && table.segmentOfSession(held) !== table.clockSegment) held = -1;
    }
    const time = offerTime(c);
    const heldReady = held >= 0 && (held >= readyAt.length || readyAt.get(held) <= time);
    if (c.clientHelloTime !== null) {
      if (held !== -1 || clients.has(client)) {
        reconnection[index] = heldReady ? HOLDING_RECONNECTION : RECONNECTION;
        if (heldReady && table.sessionKind.get(held) === PSK_SESSION_KIND) {
          pskHoldingIndex.push(index);
          pskHoldingGroup.push(group.index);
        }
      } else clients.set(client, -1);
    }
    // Looked up before the table learns from c (its own issue is no earlier session).
    const legacyId = c.version === 'TLS 1.3' && c.resumption === 'not-offered' ? keyOf(c, 'offerSessionId', 'session-id') : null;
    const legacySession = legacyId === null ? -1 : table.sessionOfKey(legacyId);
    // Its idle time and age now, before c: what the cache would have judged, had the version allowed it.
    if (legacySession >= 0) {
      const session = table.session(legacySession);
      legacyIdOffers.push({
        c, reuseGap: time - session.lastUse, age: session.issuedBy === ISSUED_BEFORE_CAPTURE ? null : time - session.issuedAt,
        crossAddress: session.issuer !== `${c.server.ip}|${c.server.port}`,
      });
    }
    const offer = table.add(c, group);
    if (offer >= 0) {
      if (offerById !== null && c.id >= 0) offerById[c.id] = offer;
      else sparseOfferById.set(c.id, offer);
      // From the table's flags: a stored record's `offer` would build its hex text.
      if (table.kindOf(offer) === 'psk') groupsOfferingPsk.add(group.index);
    }
    const offeredNothing = c.resumption === 'not-offered' && c.clientHelloTime !== null;
    // A legacy ID offer is a version change, no forgetting (see legacyIdOffers).
    if (legacySession < 0 && heldReady && (offeredNothing || (offer >= 0 && table.sessionRowOf(offer) !== held && table.sessionRowOf(offer) >= 0 && !table.isAccepted(offer)))) {
      forgotten.push({ c, group, gap: time - table.session(held).lastUse, clients, client, tls13: table.sessionKind.get(held) === PSK_SESSION_KIND });
    }
    const now = table.heldAfter;
    if (now >= 0) {
      while (readyAt.length <= now) readyAt.push(-Infinity);
      // Issued by c; or a TLS 1.3 ticket used up by c (a client uses each once, RFC 8446 §C.4, as
      // Chromium does: a new identity on every connection) and replaced by the one c's handshake
      // brings. Real Chromium, page with six images, server 50 ms away: two tickets resumed two
      // connections, the four opened with them had none left (chromium-nginx-parallel-rtt.pcap).
      // The client may have held more tickets than the one seen (OpenSSL sends two): then a
      // forgotten one goes unreported here, never the reverse. A TLS 1.2 session stays usable.
      if (table.session(now).issuedBy === c.id || (usedSession(c) && table.session(now).kind === 'psk')) readyAt.set(now, sessionReadyTime(c));
    }
    const resumedAnother = held >= 0 && offer >= 0 && table.isAccepted(offer) && table.sessionRowOf(offer) >= 0 && table.sessionRowOf(offer) !== held;
    if (resumedAnother && heldReady) {
      // One client offers the session it got last; this address and TLS stack just resumed
      // another one, still valid: several clients share them (NAT, a proxy, processes with
      // caches of their own). What "it" held says nothing about what each of them held.
      clients.set(client, SEVERAL_CLIENTS);
    } else if (resumedAnother) {
      // An older session resumed while the newest was still on its way: the newest stays the one held.
    } else if (now >= 0 && held !== SEVERAL_CLIENTS) {
      // Session-ID stickiness (seed 003) breaks whenever a client's session changes.
      if (held >= 0 && held !== now) {
        const changes = changesByGroup.get(group) ?? { clients: new IntMap(), changes: 0 };
        changes.changes++;
        changes.clients.set(client, 0);
        changesByGroup.set(group, changes);
      }
      clients.set(client, now);
    } else if (offeredNothing && heldReady && held !== SEVERAL_CLIENTS) {
      // It offered nothing though it held a session, and got none (a handshake it reset): it holds
      // none now. Still holding the dropped one, each later connection without an offer was that
      // same forgetting again (simulated: 21 of 615 "client forgot" after a client's reset handshake).
      clients.set(client, -1);
    }
    if (offer >= 0) c.session = offerView(table, offer);
    else if (now >= 0 && table.session(now).issuedBy === c.id) c.session = issueView(table.session(now));
  }


  const pskNeverOffered = new Map<number, number>();
  for (let k = 0; k < pskHoldingIndex.length; k++) {
    const g = pskHoldingGroup.get(k);
    if (groupsOfferingPsk.has(g)) continue;
    reconnection[pskHoldingIndex.get(k)] = RECONNECTION;
    pskNeverOffered.set(g, (pskNeverOffered.get(g) ?? 0) + 1);
  }
  // Likewise, not offering a TLS 1.3 ticket the server may never have sent is no forgetting.
  const forgottenKnown = forgotten.filter((f) => !f.tls13 || groupsOfferingPsk.has(f.group.index));

  const carryOut = options.carryOut ?? false;
  const carriedOut = carryOut === false ? null
    : table.carryOut(MAX_CARRIED_IDLE, clientState.carried(connections, numbering, carriedAddresses), carryOut === true ? null : carryOut);
  table.releaseKeys();
  const sessionChanges = new Map<ServerGroup, { clients: number; changes: number }>();
  for (const [group, { clients, changes }] of changesByGroup) sessionChanges.set(group, { clients: clients.size, changes });
  const offerOf = (c: ConnectionRecord) => (offerById !== null && c.id >= 0 ? offerById[c.id] ?? -1 : sparseOfferById.get(c.id) ?? -1);
  return { table, offerOf, reconnection, forgotten: forgottenKnown, legacyIdOffers, sessionChanges, pskNeverOffered, carriedOut, sharedAddresses: clientState.shared() };
}

/**
 * Session order: positions into `connections` by offer time, then id. Sorted as numbers (sorting
 * a copy of the records by a comparator on records cost 8 bytes per connection and property reads
 * per comparison).
 */
export function sessionOrder(connections: ConnectionRecord[]): Uint32Array {
  const times = new Float64Array(connections.length);
  for (let i = 0; i < connections.length; i++) times[i] = offerTime(connections[i]!);
  const order = new Uint32Array(connections.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => times[a]! - times[b]! || connections[a]!.id - connections[b]!.id);
}

const displayAddresses = new Map<string, string>();

/** "ip|port" → "ip:port", one string per address however many connections show it. */
function displayAddress(address: string): string {
  let shown = displayAddresses.get(address);
  if (shown === undefined) {
    shown = address.replace('|', ':');
    if (displayAddresses.size > 100_000) displayAddresses.clear();
    displayAddresses.set(address, shown);
  }
  return shown;
}

/**
 * A span between two capture times, to the microsecond as the times themselves (pcap's µs; a ns
 * clock's times, as doubles near 1.7e9 s, hold ~0.24 µs). The doubles' difference carries float
 * noise past that: an age of 1.914084 s came out as 1.9140839576721191, 17 digits in the JSON,
 * each such number taking String() where the writer's microsecond path prints the rest.
 */
function toMicroseconds(seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds * 1e6) / 1e6;
}

function offerView(t: SessionTable, o: number): SessionView {
  const session = t.sessionRowOf(o);
  const issuedBy = session >= 0 ? t.session(session).issuedBy : -1;
  const issuer = t.issuerOf(o);
  return {
    role: 'offer', kind: t.kindOf(o), known: t.isKnown(o),
    issuedBy: issuedBy >= 0 ? issuedBy : null,
    // A session carried in from an earlier analysis: no connection of this one issued it, but its time is known.
    issuedAt: issuedBy >= 0 || issuedBy === ISSUED_IN_EARLIER_ANALYSIS ? t.session(session).issuedAt : null,
    age: toMicroseconds(t.ageOf(o)), reuseGap: toMicroseconds(t.reuseGapOf(o)), churn: t.churnOf(o), usedSince: usedSinceOf(t, o), abortedBy: t.abortedByOf(o), crossAddress: t.isCrossAddress(o),
    issuer: issuer ? displayAddress(issuer) : null,
  };
}

function issueView(s: TrackedSession): SessionView {
  return {
    role: 'issue', kind: s.kind, known: true, issuedBy: s.issuedBy, issuedAt: s.issuedAt, age: 0, reuseGap: null,
    churn: null, usedSince: null, abortedBy: null, crossAddress: false, issuer: displayAddress(s.issuer),
  };
}

/** The other sessions used since the offered one's last use (SessionView.usedSince), null for an unknown session. */
export function usedSinceOf(t: SessionTable, o: number): number | null {
  const place = t.recencyOf(o);
  return place === null ? null : place - 1;
}

/**
 * Per client (address + TLS stack) and group: seen before, and the latest session it holds.
 * Keyed by group, then stack, then address: the address and stack strings are shared with the
 * records, so a million clients cost map entries, not a million composed key strings.
 */
/** Clients (address and TLS stack, per group) seen with a ClientHello, and those found to be several clients. */
export interface SharedAddresses {
  clients: number;
  several: number;
}

class ClientMemory {
  /** By group index, then TLS stack: client (numberClients) → row of the latest session held. */
  private readonly byGroup: Map<string, IntMap>[] = [];

  /** The clients of c's TLS stack with c's group: client number → row of the latest session held (-1: none yet). */
  clientsLike(c: ConnectionRecord, group: ServerGroup): IntMap {
    return this.of(group.index, c.clientFingerprint ?? '');
  }

  /** Clients (address, TLS stack, group) seen, and those found to be several clients behind one address. */
  shared(): SharedAddresses {
    let clients = 0;
    let several = 0;
    for (const stacks of this.byGroup) {
      if (stacks === undefined) continue;
      for (const map of stacks.values()) map.forEach((_, session) => { clients++; if (session === SEVERAL_CLIENTS) several++; });
    }
    return { clients, several };
  }

  /** The clients of a TLS stack (fingerprint, "" when unknown) with a group (its index). */
  of(group: number, stack: string): IntMap {
    const stacks = (this.byGroup[group] ??= new Map());
    let clients = stacks.get(stack);
    if (clients === undefined) stacks.set(stack, (clients = new IntMap()));
    return clients;
  }

  /**
   * Every client holding a session, to carry to the next analysis: addresses by client number from
   * `connections` (numberClients), past them `carriedAddresses` (clients carried in, not seen here).
   */
  carried(connections: ConnectionRecord[], numbering: { numbers: Int32Array; count: number }, carriedAddresses: readonly string[]): ClientVisitor {
    const addressOf: string[] = new Array<string>(numbering.count);
    for (let i = 0; i < connections.length; i++) addressOf[numbering.numbers[i]!] ??= clientAddress(connections[i]!);
    return (visit) => this.byGroup.forEach((stacks, group) => {
      for (const [stack, clients] of stacks) {
        clients.forEach((client, session) => {
          if (session >= 0) visit(group, stack, client < numbering.count ? addressOf[client]! : carriedAddresses[client - numbering.count]!, session);
        });
      }
    });
  }
}
