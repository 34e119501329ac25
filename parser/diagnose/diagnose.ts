import { clientAddress, type ConnectionRecord } from '../report/types.js';
import { Float64Column, Int32Column, IntMap } from '../session/columns.js';
import { ISSUED_IN_EARLIER_ANALYSIS, MAX_CARRIED_IDLE, offerTime, PSK_SESSION_KIND, SessionTable, type PendingState, type ServerGroup, type SessionKind, type TrackedSession } from '../session/session-table.js';
import type { ClientVisitor, StateChunkSink } from '../session/session-state.js';
import { estimateLimitOf, maxOf, round2, type Estimate } from './threshold.js';
import { buildFindings, type Finding, type OfferLookup, type WhatIf } from './findings.js';

// Why each failed resumption failed, and what the servers' session caches must be
// doing for the traffic to look like this. One estimator per cause; each rejection
// gets the first cause that explains it, in the order of how certain the evidence is.

export type Reason =
  | 'idle-timeout' | 'lifetime' | 'capacity' | 'purged-after-abort' | 'other-backend' | 'flush'
  | 'issued-before-capture' | 'unexplained' | 'client-forgot' | 'not-kept';

export type Eviction = 'fifo' | 'lru' | 'unknown' | 'partitioned' | null;

export interface CachePolicy {
  idleTimeout: Estimate;
  lifetime: Estimate;
  /**
   * `eviction`: which session a full cache drops, the earliest issued (FIFO; `low`/`high` are
   * churns, see SessionView) or the least recently used (LRU; places in the LRU list, see
   * SessionTable.recencyOf); 'unknown' when both fit the capture alike (then `low`/`high` are
   * churns); 'partitioned' when sessions go by churn but with no sharp edge: anywhere from `low`
   * to `high` newer sessions on (a cache split into parts by session ID, each evicting its own
   * oldest: Apache's shmcb), `entries` where half of them went; null when no size limit shows.
   */
  capacity: Estimate & { entries: number | null; eviction: Eviction };
  purgeOnAbort: { detected: boolean; confidence: number; evidence: number[]; rejectedAfterAbort: number; offersAfterAbort: number; baseRejectionRate: number | null };
  sharedCache: {
    shared: boolean | null; backends: number | null; confidence: number; crossAddressOffers: number; crossAddressRejected: number; evidence: number[];
    /** Times a client's session with this group changed to a new one (what breaks session-ID stickiness). */
    sessionChanges?: number;
    clientsWithSessionChanges?: number;
  };
  flushes: { time: number; low: number; sessionsLost: number; evidence: number[] }[];
  tickets: {
    offers: number; accepted: number; rejected: number; lifetimeHint: number | null; rejectedWithinHint: number;
    /**
     * Distinct key names (RFC 5077 §4) among the tickets and TLS 1.3 PSK identities the group was
     * seen to issue or accept; null when they name no keys (ServerGroup.namesTicketKeys).
     */
    keyNames: number | null;
    /** Refused tickets and identities sealed under a key none of those name (sealedByUnusedKey). */
    rejectedUnusedKey: number;
  };
  /**
   * The group accepted none of its offers, though at least MIN_OFFERS_NOT_KEPT were of sessions it
   * issued in the capture, offered back to the address that issued them: it keeps no session (or
   * none for as long as `soonest`, the shortest time from a session's issue to its refused offer).
   */
  keepsNoSessions: { detected: boolean; confidence: number; offers: number; soonest: number | null; kind: SessionKind | null };
  /**
   * No TLS 1.0-1.2 full handshake of the group (at least MIN_HANDSHAKES_ISSUING_NOTHING of them)
   * gave its client a session ID or a ticket: no client can resume (nginx `ssl_session_cache off`).
   */
  issuesNoSessions: { detected: boolean; fullHandshakes: number };
  /**
   * At least MIN_RECONNECTIONS_WITHOUT_TICKET TLS 1.3 reconnections came after a full handshake with
   * the group, and no client offered it a ticket (PSK) at all: its tickets, if any, are not in the
   * capture's clear bytes (RFC 8446 §4.6.1), so either it sends none or the clients keep none.
   */
  tls13TicketsUnseen: { detected: boolean; reconnections: number };
}

export interface ServerSummary {
  group: string;
  sni: string | null;
  port: number;
  addresses: { address: string; connections: number }[];
  connections: number;
  offers: number;
  accepted: number;
  rejected: number;
  /**
   * Of the rejected: a TLS 1.3 client's random session ID never seen issued (looksLikeCompatibilityId),
   * most likely no offer at all; the resumption rates leave them out.
   */
  tls13CompatibilityIds: number;
  sessionsIssued: number;
  reasons: Partial<Record<Reason, number>>;
  cachePolicy: CachePolicy;
}

export interface ClientStack {
  fingerprint: string;
  clients: number;
  connections: number;
  reconnections: number;
  offered: number;
  forgot: number;
  forgetShare: number | null;
  neverOffers: boolean;
}

export interface ClientsSummary {
  clients: number;
  reconnections: number;
  forgot: number;
  forgetShare: number | null;
  stacks: ClientStack[];
}

export interface SessionView {
  role: 'offer' | 'issue';
  kind: 'session-id' | 'ticket' | 'psk';
  known: boolean;
  issuedBy: number | null;
  issuedAt: number | null;
  age: number | null;
  reuseGap: number | null;
  /**
   * Sessions the issuing group issued from this one on, this one included, by the time of the
   * offer: its place in a FIFO queue (a cache of N sessions still holds it while churn ≤ N).
   */
  churn: number | null;
  /** Id of an aborted handshake that offered the session since its last success; null also when it was in an earlier analysis (a state carried in). */
  abortedBy: number | null;
  crossAddress: boolean;
  issuer: string | null;
}

export interface Diagnosis {
  servers: ServerSummary[];
  clients: ClientsSummary;
  findings: Finding[];
  whatIf: WhatIf[];
  /**
   * distinct: session keys the analysis knew at its end (with carried sessions, theirs too); offers:
   * answered offers; carriedIn/carriedOut: sessions taken from and left for a state file (null: none used).
   */
  sessions: { distinct: number; offers: number; carriedIn: number | null; carriedOut: number | null };
  /** The state file's bytes for the next analysis (DiagnoseOptions.carryOut true; decodeSessionState reads them), else null (also when they went to a sink). */
  carriedOut: Uint8Array | null;
}

const CAPACITY_NICE = [
  50, 100, 128, 200, 250, 256, 300, 400, 500, 512, 1000, 1024, 2000, 2048, 2500, 4096, 5000, 8192, 10000, 16384,
  20000, 32768, 50000, 65536, 100000, 131072, 200000, 262144, 500000, 1000000,
];

/**
 * How far the diagnosis is, after each of its steps: the session tracking (a third to a half of
 * the time), each group's cache policy, the clients' summary. On a capture of millions of
 * connections it runs for many seconds: the caller shows progress, and may collect garbage
 * after the tracking (its session index is freed then).
 */
export interface DiagnosisProgress {
  step: 'tracking sessions' | 'sessions tracked' | 'cache policy inferred' | 'clients summarized';
  /** Connections tracked (tracking sessions) or groups whose policy is inferred (cache policy inferred), of `total`. */
  done: number;
  total: number;
}

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

/**
 * About which share of the diagnosis is done at a report, for a progress bar: on the 1 GB bench
 * the session tracking is about half of it and the groups' policies a third.
 */
export function diagnosisShare(p: DiagnosisProgress): number {
  const share = p.done / Math.max(1, p.total);
  return p.step === 'tracking sessions' ? 0.5 * share : p.step === 'sessions tracked' ? 0.5 : p.step === 'cache policy inferred' ? 0.5 + 0.35 * share : 0.9;
}

/** A report in words, as the progress bars show it. */
export function describeDiagnosisStep(p: DiagnosisProgress): string {
  return p.step === 'cache policy inferred' ? `cache policy of ${p.done} of ${p.total} server groups` : p.step;
}

/** Connections between two 'tracking sessions' reports. */
const TRACKING_REPORT_EVERY = 1 << 16;

export interface DiagnoseOptions {
  onProgress?: (progress: DiagnosisProgress) => void;
  /**
   * Sessions an earlier analysis ended with (a state file's bytes, Diagnosis.carriedOut of it): offers
   * of them are known sessions, with their issue time, last use and churn. The earlier analysis must
   * cover earlier traffic. A damaged state throws StateFileError. A function is asked for the bytes
   * once, when the sessions are read in: the caller then need not hold them (tens of MB for a
   * million sessions) through the analysis.
   */
  carriedIn?: Uint8Array | (() => Uint8Array);
  /**
   * The sessions to carry to the next analysis: true returns the state's bytes (Diagnosis.carriedOut);
   * a sink is handed them as they are made (a chunk at a time, during the tracking), which keeps a
   * large state out of the analysis's peak memory.
   */
  carryOut?: boolean | StateChunkSink;
}

/** Diagnose every connection (sets `reason` and `session` on each) and infer each group's cache policy. */
export function diagnose(connections: ConnectionRecord[], options: DiagnoseOptions = {}): Diagnosis {
  const order = sessionOrder(connections);
  const clientNumbers = numberClients(connections);
  const { table, offerOf, reconnection, forgotten, sessionChanges, pskNeverOffered, carriedOut } = trackSessions(connections, order, clientNumbers, options);
  const groups = table.groups.size;
  options.onProgress?.({ step: 'sessions tracked', done: connections.length, total: connections.length });

  const byGroup = offersByGroup(table);
  const verdicts = new Verdicts(table.offerCount);
  const servers: ServerSummary[] = [];
  for (const group of table.groups.values()) {
    const offers = byGroup[group.index]!;
    verdicts.startGroup();
    const policy = inferGroup(table, group, offers, verdicts);
    const counts: Partial<Record<Reason, number>> = {};
    for (const reason of verdicts.reasonsGiven) counts[reason] = 0;
    let accepted = 0;
    let compatibilityIds = 0;
    for (const o of offers) {
      if (table.isAccepted(o)) accepted++;
      const reason = verdicts.reasonOf(o);
      if (reason === null) continue;
      const c = table.connectionOf(o);
      c.reason = reason;
      c.reasonDetail = verdicts.detailOf(o);
      counts[reason]!++;
      if (reason === 'issued-before-capture' && looksLikeCompatibilityId(c)) compatibilityIds++;
    }
    servers.push({
      group: group.key,
      sni: group.sni,
      port: group.port,
      addresses: [...group.addresses].map(([address, n]) => ({ address: address.replace('|', ':'), connections: n })),
      connections: group.connections,
      offers: offers.length,
      accepted,
      rejected: offers.length - accepted,
      tls13CompatibilityIds: compatibilityIds,
      sessionsIssued: group.issued - group.carriedIssued,
      reasons: counts,
      cachePolicy: {
        ...policy,
        issuesNoSessions: {
          detected: group.fullHandshakesIssuingNothing >= MIN_HANDSHAKES_ISSUING_NOTHING && group.fullHandshakesIssuing === 0,
          fullHandshakes: group.fullHandshakesIssuingNothing,
        },
        tls13TicketsUnseen: {
          detected: (pskNeverOffered.get(group.index) ?? 0) >= MIN_RECONNECTIONS_WITHOUT_TICKET,
          reconnections: pskNeverOffered.get(group.index) ?? 0,
        },
        sharedCache: {
          ...policy.sharedCache,
          sessionChanges: sessionChanges.get(group)?.changes ?? 0,
          clientsWithSessionChanges: sessionChanges.get(group)?.clients ?? 0,
        },
      },
    });
    if (carriedOut !== null) {
      // Carried on: the flushes found now and those carried in (each listed once).
      const carried = carriedOut.flushes[group.index]!;
      for (const f of policy.flushes) {
        if (!carried.some((c) => c.low === f.low && c.time === f.time)) carried.push({ low: f.low, time: f.time });
      }
      carried.sort((x, y) => x.time - y.time);
    }
    options.onProgress?.({ step: 'cache policy inferred', done: servers.length, total: groups });
  }

  // A client that offered nothing, or an older session, while it held one the server would
  // still have taken (used within the longest gap the group is seen to accept).
  const forgotIds = new Set<number>();
  for (const { c, group, gap, clients: identity, client } of forgotten) {
    // Found to be several clients after this connection (see SEVERAL_CLIENTS): no single memory to fault.
    if (identity.get(client, -1) === SEVERAL_CLIENTS) continue;
    const server = servers.find((s) => s.group === group.key);
    const provenValid = server?.cachePolicy.idleTimeout.low ?? null;
    if (provenValid === null || gap > provenValid) continue;
    // An older session's rejection is the client's doing (seed 002), not the reason the group's
    // policy gave it: that reason's count gives the connection up.
    const previous = c.reason as Reason | null;
    if (server && previous) {
      const left = (server.reasons[previous] ?? 1) - 1;
      if (left > 0) server.reasons[previous] = left;
      else delete server.reasons[previous];
    }
    c.reason = 'client-forgot';
    c.reasonDetail =
      `the client held a session last used ${formatDuration(gap)} earlier (the server accepts gaps up to ${formatDuration(provenValid)}) but ${c.resumption === 'not-offered' ? 'offered nothing' : 'offered an older one'}`;
    forgotIds.add(c.id);
    if (server) server.reasons['client-forgot'] = (server.reasons['client-forgot'] ?? 0) + 1;
  }

  const clients = summarizeClients(connections, order, clientNumbers, reconnection, forgotIds);
  options.onProgress?.({ step: 'clients summarized', done: groups, total: groups });
  servers.sort((a, b) => b.connections - a.connections);
  let byId: Map<number, ConnectionRecord> | null = null;
  const lookup: OfferLookup = {
    groupKey: (c) => { const o = offerOf(c); return o >= 0 ? table.groupOf(o).key : null; },
    reuseGap: (c) => { const o = offerOf(c); return o >= 0 ? table.reuseGapOf(o) : null; },
    age: (c) => { const o = offerOf(c); return o >= 0 ? table.ageOf(o) : null; },
    churn: (c) => { const o = offerOf(c); return o >= 0 ? table.churnOf(o) : null; },
    recency: (c) => { const o = offerOf(c); return o >= 0 ? table.recencyOf(o) : null; },
    abortOf: (c) => {
      const o = offerOf(c);
      const id = o >= 0 ? table.abortedByOf(o) : null;
      if (id === null || id < 0) return null;
      // Asked for the few purged offers only: the index by id is made on first use.
      byId ??= new Map(connections.map((x) => [x.id, x]));
      const aborted = byId.get(id);
      if (!aborted?.abort) return null;
      const abortTime = aborted.abort.time;
      return aborted.alerts.some((a) => a.level === 2 && a.time <= abortTime) ? 'alert' : aborted.abort.how;
    },
  };
  const { findings, whatIf } = buildFindings(servers, clients, connections, lookup);
  const carrying = options.carriedIn !== undefined || (options.carryOut !== undefined && options.carryOut !== false);
  return {
    servers, clients, findings, whatIf, carriedOut: carriedOut?.finish() ?? null,
    sessions: {
      distinct: table.sessionCount, offers: table.answeredOffers.length,
      carriedIn: carrying ? table.carriedIn : null, carriedOut: carrying && carriedOut !== null ? carriedOut.sessions : null,
    },
  };
}

/** In a ClientMemory map: this address and TLS stack are several clients (see trackSessions). */
const SEVERAL_CLIENTS = -2;
/** Offers a group needs before a steady share of refusals is read as backends without a shared cache. */
export const MIN_OFFERS_FOR_BACKENDS = 12;
/** Flags of trackSessions' `reconnection`: seen before; seen before and holding a session it could offer. */
const RECONNECTION = 1, HOLDING_RECONNECTION = 2;

/** A connection that offered nothing, or an older session, while its client held a session. */
interface ForgottenSession {
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

interface TrackedConnections {
  table: SessionTable;
  /** The offer row of a connection (-1: it offered nothing). */
  offerOf(c: ConnectionRecord): number;
  /** By position in session order: RECONNECTION when the client (address and TLS stack) was seen before with the same group, HOLDING_RECONNECTION when it also held a session it could offer. */
  reconnection: Uint8Array;
  /** Connections that offered nothing, or an older session, while the client held one. */
  forgotten: ForgottenSession[];
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
function trackSessions(connections: ConnectionRecord[], order: Uint32Array, numbering: { numbers: Int32Array; count: number }, options: DiagnoseOptions): TrackedConnections {
  const onProgress = options.onProgress;
  const table = new SessionTable();
  const carriedIn = options.carriedIn;
  if (carriedIn !== undefined) table.carryIn(typeof carriedIn === 'function' ? carriedIn() : carriedIn);
  const clientNumbers = numbering.numbers;
  let maxId = 0;
  for (const c of connections) {
    if (c.id > maxId) maxId = c.id;
    table.captureStart = Math.min(table.captureStart, c.startTime);
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
    // Session rows: -1 when the client holds none, SEVERAL_CLIENTS when it is several.
    const held = clients.get(client, -1);
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
    const offer = table.add(c, group);
    if (offer >= 0) {
      if (offerById !== null && c.id >= 0) offerById[c.id] = offer;
      else sparseOfferById.set(c.id, offer);
      // From the table's flags: a stored record's `offer` would build its hex text.
      if (table.kindOf(offer) === 'psk') groupsOfferingPsk.add(group.index);
    }
    const offeredNothing = c.resumption === 'not-offered' && c.clientHelloTime !== null;
    if (heldReady && (offeredNothing || (offer >= 0 && table.sessionRowOf(offer) !== held && table.sessionRowOf(offer) >= 0 && !table.isAccepted(offer)))) {
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
      if (table.session(now).issuedBy === c.id || (c.resumed && table.session(now).kind === 'psk')) readyAt.set(now, sessionReadyTime(c));
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
  return { table, offerOf, reconnection, forgotten: forgottenKnown, sessionChanges, pskNeverOffered, carriedOut };
}

/**
 * Session order: positions into `connections` by offer time, then id. Sorted as numbers (sorting
 * a copy of the records by a comparator on records cost 8 bytes per connection and property reads
 * per comparison).
 */
function sessionOrder(connections: ConnectionRecord[]): Uint32Array {
  const times = new Float64Array(connections.length);
  for (let i = 0; i < connections.length; i++) times[i] = offerTime(connections[i]!);
  const order = new Uint32Array(connections.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => times[a]! - times[b]! || connections[a]!.id - connections[b]!.id);
}

/** The answered offers of each group (by group index), as rows. */
function offersByGroup(table: SessionTable): Int32Array[] {
  const answered = table.answeredOffers;
  const counts = new Int32Array(table.groups.size);
  for (let i = 0; i < answered.length; i++) counts[table.groupOf(answered.get(i)).index]!++;
  const lists = Array.from(counts, (n) => new Int32Array(n));
  counts.fill(0);
  for (let i = 0; i < answered.length; i++) {
    const o = answered.get(i);
    const g = table.groupOf(o).index;
    lists[g]![counts[g]!++] = o;
  }
  return lists;
}

/** The offers of `list` for which `keep` holds (in order). */
function select(list: Int32Array, keep: (o: number) => boolean): Int32Array {
  const kept = new Int32Array(list.length);
  let n = 0;
  for (let i = 0; i < list.length; i++) if (keep(list[i]!)) kept[n++] = list[i]!;
  return n === list.length ? kept : kept.slice(0, n);
}

/** How many offers of `list` `keep` holds for (no list built to count). */
function count(list: Int32Array, keep: (o: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) if (keep(list[i]!)) n++;
  return n;
}

const REASONS: readonly Reason[] = [
  'idle-timeout', 'lifetime', 'capacity', 'purged-after-abort', 'other-backend', 'flush', 'issued-before-capture', 'unexplained', 'client-forgot', 'not-kept',
];

/** Refused offers of sessions a group issued (to the issuing address) before "keeps no sessions" is said. */
export const MIN_OFFERS_NOT_KEPT = 3;

/** TLS 1.0-1.2 full handshakes that issued nothing, and none that did, before "issues no sessions" is said. */
export const MIN_HANDSHAKES_ISSUING_NOTHING = 3;

/** TLS 1.3 reconnections without a ticket, in a group no client offered one, before "tickets unseen" is said. */
export const MIN_RECONNECTIONS_WITHOUT_TICKET = 3;

/**
 * The verdict of each explained offer, in columns by offer row. Details repeat across offers
 * ("idle 15m12s > inferred idle timeout 15m00s"): each distinct text is kept once (half a million
 * rejections hold a few thousand strings, not half a million).
 */
class Verdicts {
  /** 0: no verdict yet; else 1 + index in REASONS. */
  private readonly reasons: Uint8Array;
  private readonly details: Int32Array;
  private readonly texts: string[] = [];
  private readonly textIndex = new Map<string, number>();
  constructor(offers: number) {
    this.reasons = new Uint8Array(offers);
    this.details = new Int32Array(offers);
  }
  has(o: number): boolean {
    return this.reasons[o] !== 0;
  }
  set(o: number, reason: Reason, detail: string): void {
    let text = this.textIndex.get(detail);
    if (text === undefined) {
      text = this.texts.length;
      this.texts.push(detail);
      this.textIndex.set(detail, text);
    }
    if (!this.reasonsGiven.includes(reason)) this.reasonsGiven.push(reason);
    this.reasons[o] = 1 + REASONS.indexOf(reason);
    this.details[o] = text;
  }
  reasonOf(o: number): Reason | null {
    const r = this.reasons[o]!;
    return r === 0 ? null : REASONS[r - 1]!;
  }
  /** The detail of an offer that has a verdict. */
  detailOf(o: number): string {
    return this.texts[this.details[o]!]!;
  }
  /** Reasons in the order they were first given since `startGroup` (the order of a group's reason counts). */
  readonly reasonsGiven: Reason[] = [];
  startGroup(): void {
    this.reasonsGiven.length = 0;
  }
}

/** Infer one group's cache policy from its offers (rows of `table`); records a verdict for each rejection it explains. */
function inferGroup(table: SessionTable, group: ServerGroup, offers: Int32Array, verdicts: Verdicts): Omit<CachePolicy, 'issuesNoSessions' | 'tls13TicketsUnseen'> {
  const t = table;
  const rejected = select(offers, (o) => !t.isAccepted(o));
  const known = select(offers, (o) => t.isKnown(o));
  const unexplainedOrAccepted = (o: number) => t.isAccepted(o) || !verdicts.has(o);

  // 1. A server that keeps no session: it accepted none, though its own sessions came back to the
  // address that issued them. No limit or event can be measured without an acceptance, and each
  // would be a guess; this is what the traffic shows (real nginx with its default
  // `ssl_session_cache none`: a session ID in every ServerHello, none kept; nginx-cache-none.pcap).
  const keepsNoSessions = inferKeepsNoSessions(t, offers, known);
  if (keepsNoSessions.detected) {
    const soonest = formatDuration(keepsNoSessions.soonest!);
    for (const o of rejected) {
      const gap = t.reuseGapOf(o);
      verdicts.set(o, 'not-kept', `${gap === null ? 'issued before the capture' : `offered ${formatDuration(gap)} after its last use`}; the server accepted none of the ${offers.length} offers, the soonest ${soonest} after the session was issued: it keeps no sessions`);
    }
  }

  // 1b. A ticket or PSK identity sealed under a key none of the group's tickets in the capture
  // name, where they name their keys (sealedByUnusedKey): the server no longer holds that key.
  // Hard evidence, so before any inference; also for a TLS 1.3 offer linked to its client's latest
  // session (its issue is unseen): real nginx restarted with a new key before the capture, each old
  // identity was linked so, and its refusal left "unexplained" (nginx-tls13-ticket-key-before-capture.pcap).
  let rejectedUnusedKey = 0;
  for (const o of rejected) {
    if (verdicts.has(o) || !sealedByUnusedKey(t, o)) continue;
    rejectedUnusedKey++;
    const names = group.ticketKeyNames.size;
    verdicts.set(o, 'flush', `${t.isKnown(o) ? '' : 'issued before the capture, '}${OLD_TICKET_KEY_DETAIL} ${offeredKeyNameHex(t.connectionOf(o))}, which ${group.key} never used in the capture (its tickets name ${names === 1 ? 'one key' : `${names} keys`}): a key it no longer holds`);
  }

  // 2. Offered to another address than the issuer: does that address share the cache?
  const cross = select(known, (o) => t.isCrossAddress(o));
  const crossRejected = select(cross, (o) => !t.isAccepted(o));
  // Refused more often than offers back to their issuer, beyond chance: the address is why. When
  // both are refused alike, something else is (a flush, a timeout; the other address may well
  // share the cache): a ticket key rotation at the start of a file analysed with --state refused
  // 60 % of either kind, and "no shared cache" took the flush's rejections.
  const same = known.length - cross.length;
  const sameRejected = count(known, (o) => !t.isCrossAddress(o) && !t.isAccepted(o));
  const sameRate = same > 0 ? sameRejected / same : 0;
  const crossRate = cross.length > 0 ? crossRejected.length / cross.length : 0;
  const sharedAcross = cross.length < 3 ? null : crossRate < 0.5 ? true
    : binomialTail(crossRejected.length, cross.length, Math.max(sameRate, 0.01)) < 0.01 ? false : null;
  if (sharedAcross === false) {
    for (const o of crossRejected) {
      const issuedBy = t.session(t.sessionRowOf(o)).issuedBy;
      verdicts.set(o, 'other-backend', `issued by ${t.issuerOf(o)!.replace('|', ':')} (${issuedBy >= 0 ? `connection ${issuedBy}` : 'in an earlier analysis'}), offered to ${t.serverAddressOf(o).replace('|', ':')}, which does not share its cache`);
    }
  }

  // 3. Purge on abort: sessions touched by an aborted handshake, rejected far above the base rate.
  // An abort in an earlier file of the series counts as one seen here (carried in the state).
  const afterAbort = select(offers, (o) => t.offeredAfterAbort(o));
  const notAborted = select(known, (o) => !t.offeredAfterAbort(o) && !verdicts.has(o));
  const abortRejected = select(afterAbort, (o) => !t.isAccepted(o));
  const baseRate = notAborted.length > 0 ? count(notAborted, (o) => !t.isAccepted(o)) / notAborted.length : null;
  const abortRate = afterAbort.length > 0 ? abortRejected.length / afterAbort.length : 0;
  // Significant when so many rejections after aborts are unlikely at the base rate (binomial tail < 1%).
  const purgeDetected = afterAbort.length >= 2 && abortRate >= 0.8 && abortRate - (baseRate ?? 0) >= 0.4 &&
    binomialTail(abortRejected.length, afterAbort.length, Math.max(baseRate ?? 0, 0.01)) < 0.01;
  const purgeConfidence = purgeDetected ? round2((1 - Math.exp(-afterAbort.length / 4)) * (abortRate - (baseRate ?? 0))) : afterAbort.length >= 3 ? round2((1 - Math.exp(-afterAbort.length / 4)) * (1 - abortRate)) : 0;
  if (purgeDetected) {
    for (const o of abortRejected) {
      if (verdicts.has(o)) continue;
      const by = t.abortedByOf(o);
      verdicts.set(o, 'purged-after-abort', `${by !== null ? `connection ${by}` : 'a connection of an earlier analysis (the state carried in)'} offered this session and was aborted before its handshake finished; the server dropped the session`);
    }
  }

  // 4. Flushes: a moment after which every older session is rejected.
  const flushes = findFlushes(t, select(known, unexplainedOrAccepted), verdicts, group.carriedFlushes);

  // 5. Time and size limits, fitted on what is not yet explained. The limit that explains
  // its rejections with the fewest exceptions goes first (idle time, age and churn all grow
  // with time, so the wrong one fits too, only worse).
  const open = () => select(known, unexplainedOrAccepted);
  // A cache of N sessions evicts the earliest issued (FIFO: OpenSSL, nginx, Schannel) or the least
  // recently used (LRU): the same size limit on two measures, churn and recency. They are
  // alternatives; on a tie FIFO, listed first, is taken.
  type Limit = 'idle-timeout' | 'lifetime' | 'capacity' | 'lru-capacity';
  const measure: Record<Limit, (o: number) => number | null> = {
    'idle-timeout': (o) => t.reuseGapOf(o),
    lifetime: (o) => t.ageOf(o),
    capacity: (o) => t.churnOf(o),
    'lru-capacity': (o) => t.recencyOf(o),
  };
  // One buffer for every fit's values (accepted from the front, rejected from the back): a fit
  // sorts its two parts in place, and nine fits over a million offers would leave ~150 MB of
  // garbage arrays. Each limit's value of every known offer is read once (NaN: none), not per fit.
  const fitValues = new Float64Array(known.length);
  const measured = new Map<Limit, Float64Array>();
  const valuesOf = (limit: Limit): Float64Array => {
    let values = measured.get(limit);
    if (values === undefined) {
      values = new Float64Array(known.length);
      const value = measure[limit];
      for (let k = 0; k < known.length; k++) values[k] = value(known[k]!) ?? NaN;
      measured.set(limit, values);
    }
    return values;
  };
  const fit = (limit: Limit): Estimate => {
    const values = valuesOf(limit);
    let a = 0;
    let r = known.length;
    for (let k = 0; k < known.length; k++) {
      const x = values[k]!;
      if (Number.isNaN(x)) continue;
      const o = known[k]!;
      // The open offers (see open()): accepted ones, and rejections nothing explained yet.
      if (t.isAccepted(o)) fitValues[a++] = x;
      else if (!verdicts.has(o)) fitValues[--r] = x;
    }
    return limit === 'capacity' || limit === 'lru-capacity'
      ? estimateLimitOf(fitValues.subarray(0, a), fitValues.subarray(r), CAPACITY_NICE, { wholeNumbers: true })
      : estimateLimitOf(fitValues.subarray(0, a), fitValues.subarray(r));
  };
  // Each round fits the limits not yet applied (round 0 fits all of them).
  const notFitted: Estimate = { seconds: null, low: null, high: null, confidence: 0, rejectedAbove: 0, acceptedBelow: 0, exceptions: 0 };
  const estimates: Record<Limit, Estimate> = { 'idle-timeout': notFitted, lifetime: notFitted, capacity: notFitted, 'lru-capacity': notFitted };
  const applied = new Set<Limit>();
  let eviction: Eviction = null;
  for (let round = 0; round < 3; round++) {
    const pending = (Object.keys(estimates) as Limit[]).filter((l) => !applied.has(l));
    for (const l of pending) estimates[l] = fit(l);
    // Refusals that rise with churn over a band, with no sharp edge: a cache evicting in parts
    // (partitionedCache). Its estimate replaces the FIFO fit, which either took the band's upper
    // edge and left the rest "unexplained", or found no edge at all where a few sessions outlived
    // the band (their part had room); a lifetime or idle timeout then took them first (age grows
    // with churn: real Apache's first 250 connections got "lifetime" and 22 "unexplained").
    const inParts = pending.includes('capacity')
      ? partitionedCache(t, offers, verdicts, pending.filter((l) => l !== 'capacity').map((l) => estimates[l]))
      : null;
    if (inParts !== null) estimates.capacity = inParts;
    const valid = pending.filter((l) => estimates[l].seconds !== null);
    if (valid.length === 0) break;
    const score = (l: Limit) => estimates[l].exceptions / (estimates[l].rejectedAbove + estimates[l].acceptedBelow);
    const best = valid.sort((x, y) => score(x) - score(y) || estimates[y].rejectedAbove - estimates[x].rejectedAbove)[0]!;
    applied.add(best);
    if (best === 'capacity' || best === 'lru-capacity') {
      // One size, one way of evicting: the other measure of it is not fitted again. Where every
      // session was used only when issued (real nginx's cache of ten, nginx-cache-capacity.pcap),
      // recency is churn and both fit alike: the capture cannot tell which one goes first.
      const other = best === 'capacity' ? 'lru-capacity' : 'capacity';
      const tie = estimates[other].seconds !== null && score(other) === score(best);
      applied.add('capacity').add('lru-capacity');
      eviction = tie ? 'unknown' : best === 'capacity' ? (inParts !== null ? 'partitioned' : 'fifo') : 'lru';
    }
    const e = estimates[best];
    for (const o of rejected) {
      const x = measure[best](o);
      if (verdicts.has(o) || x === null || x <= e.low!) continue;
      const detail = best === 'idle-timeout' ? `idle ${formatDuration(x)} > inferred idle timeout ${formatDuration(e.seconds!)}`
        : best === 'lifetime' ? `age ${formatDuration(x)} > inferred lifetime ${formatDuration(e.seconds!)}`
        : best === 'capacity' && eviction === 'partitioned' ? `${x - 1} newer sessions were issued since (inferred cache size ~${e.seconds}, split into parts evicted separately: sessions went after ${e.low} to ${e.high! - 1} newer ones)`
        : best === 'capacity' ? `${x - 1} newer sessions were issued since (inferred cache size ${e.seconds})`
        : `${x - 1} other sessions were used since its last use (inferred cache size ${e.seconds}, least recently used evicted first)`;
      verdicts.set(o, best === 'lru-capacity' ? 'capacity' : best, detail);
    }
  }
  const idleTimeout = estimates['idle-timeout'];
  const lifetime = estimates.lifetime;
  const sizeLimit = eviction === 'lru' ? estimates['lru-capacity'] : estimates.capacity;
  const capacity = { ...sizeLimit, entries: sizeLimit.seconds, eviction };

  // 6. Rejections that no time, size or event explains, at a steady rate: several backends
  // behind one address without a shared cache (random balancing accepts ~1/k).
  const remaining = open();
  const unexplained = select(remaining, (o) => !t.isAccepted(o));
  let backends: number | null = null;
  let sharedConfidence = 0;
  let shared: boolean | null = sharedAcross;
  // Random balancing also mixes the outcomes in time; rejections in a block are an event instead.
  if (remaining.length >= MIN_OFFERS_FOR_BACKENDS && unexplained.length >= 4 && !outcomesClustered(t, remaining)) {
    const acceptRate = (remaining.length - unexplained.length) / remaining.length;
    // Random balancing over k backends accepts about 1/k: only a rate that fits k >= 2.
    if (acceptRate > 0.05 && Math.round(1 / acceptRate) >= 2) {
      backends = Math.max(2, Math.round(1 / acceptRate));
      shared = false;
      sharedConfidence = round2((1 - Math.exp(-unexplained.length / 8)) * Math.min(1, (1 - acceptRate) * 2));
      for (const o of unexplained) {
        verdicts.set(o, 'other-backend', `rejected at a steady rate (${Math.round((1 - acceptRate) * 100)}% of offers, independent of idle time): about ${backends} backends behind ${t.serverAddressOf(o).replace('|', ':')} without a shared cache`);
      }
    }
  }
  if (sharedAcross !== null) {
    sharedConfidence = Math.max(sharedConfidence, round2((1 - Math.exp(-cross.length / 4)) * Math.abs(1 - 2 * (crossRejected.length / cross.length))));
    if (sharedAcross === false && backends === null) {
      const addresses = new Set<string>();
      for (const o of cross) addresses.add(t.serverAddressOf(o));
      for (const o of cross) addresses.add(t.issuerOf(o)!);
      backends = addresses.size;
    }
  } else if (shared === null && remaining.length >= MIN_OFFERS_FOR_BACKENDS && unexplained.length === 0) {
    shared = true;
    sharedConfidence = round2(1 - Math.exp(-remaining.length / 20));
  }
  // Sessions never seen before: idle at least since the capture began. When even that
  // lower bound passes an inferred limit, the limit explains it; otherwise nothing can. Not for
  // the random session ID of a TLS 1.3 client (looksLikeCompatibilityId): most likely no session
  // at all, whose "age" says nothing about a limit. Real Chromium, a new visitor 14 s into a
  // capture of nginx's 2 s timeout: its first connection was put down to the idle timeout
  // (chromium-nginx-new-visitor.pcap). A flush found in this capture came after such a session was
  // issued, so it explains any offer of it from the flush on: in the simulator's mixed farm, 10–14
  // of a flushed service's refusals were "issued before the capture" for want of this. With a
  // state carried in, "the capture" is the series of files from the first (observedSince): such a
  // session was not seen in any of them, and a flush an earlier file found counts too. (A state
  // without that time, versions 1 and 2, leaves this file's start: a carried flush then may have
  // come before the session's issue in an earlier file.)
  const flushesInCapture = flushes.filter((f) => f.low >= t.observedSince);
  const beforeCapture = t.observedSince < t.captureStart ? 'issued before the first capture of the series (the state carried in)' : 'issued before the capture';
  for (const o of rejected) {
    if (verdicts.has(o) || t.isKnown(o)) continue;
    const since = t.sinceCaptureStartOf(o);
    const flush = flushesInCapture.find((f) => f.time <= t.timeOf(o));
    if (looksLikeCompatibilityId(t.connectionOf(o))) {
      verdicts.set(o, 'issued-before-capture', `the offered ${t.kindOf(o)} was never seen issued or used in the capture${COMPATIBILITY_ID_NOTE}`);
    } else if (since !== null && idleTimeout.high !== null && idleTimeout.seconds !== null && since > idleTimeout.high) {
      verdicts.set(o, 'idle-timeout', `${beforeCapture}, so idle at least ${formatDuration(since)} > inferred idle timeout ${formatDuration(idleTimeout.seconds)}`);
    } else if (since !== null && lifetime.high !== null && lifetime.seconds !== null && since > lifetime.high) {
      verdicts.set(o, 'lifetime', `${beforeCapture}, so at least ${formatDuration(since)} old > inferred lifetime ${formatDuration(lifetime.seconds)}`);
    } else if (flush !== undefined) {
      verdicts.set(o, 'flush', `${beforeCapture}, so before the cache was emptied between ${isoTime(flush.low)} and ${isoTime(flush.time)}`);
    } else {
      verdicts.set(o, 'issued-before-capture', `the offered ${t.kindOf(o)} was never seen issued or used in the capture${offeredKeyInUse(t, o) === true ? KEY_IN_USE_NOTE : ''}`);
    }
  }
  for (const o of rejected) if (!verdicts.has(o)) verdicts.set(o, 'unexplained', 'no cache limit, event or backend change inferred from the traffic explains this rejection');

  const ticketOffers = select(offers, (o) => t.kindOf(o) === 'ticket');
  const hints: number[] = [];
  for (const o of ticketOffers) {
    const hint = t.connectionOf(o).ticketLifetimeHint;
    if (hint !== null) hints.push(hint);
  }
  const longestHint = hints.length > 0 ? maxOf(hints) : null;
  const ticketsAccepted = count(ticketOffers, (o) => t.isAccepted(o));
  const firstIds = (list: Int32Array, id: (o: number) => number) => Array.from(list.subarray(0, 20), id);
  return {
    idleTimeout,
    lifetime,
    capacity,
    purgeOnAbort: {
      detected: purgeDetected,
      confidence: purgeConfidence,
      // Connections of this analysis only: an abort carried in names none.
      evidence: firstIds(select(afterAbort, (o) => t.abortedByOf(o) !== null), (o) => t.abortedByOf(o)!),
      rejectedAfterAbort: abortRejected.length,
      offersAfterAbort: afterAbort.length,
      baseRejectionRate: baseRate === null ? null : round2(baseRate),
    },
    sharedCache: {
      shared, backends, confidence: sharedConfidence, crossAddressOffers: cross.length, crossAddressRejected: crossRejected.length,
      evidence: firstIds(crossRejected, (o) => t.connectionOf(o).id),
    },
    flushes,
    tickets: {
      offers: ticketOffers.length,
      accepted: ticketsAccepted,
      rejected: ticketOffers.length - ticketsAccepted,
      lifetimeHint: longestHint,
      rejectedWithinHint: longestHint === null ? 0 : count(ticketOffers, (o) => { const age = t.ageOf(o); return !t.isAccepted(o) && age !== null && age < longestHint; }),
      keyNames: group.namesTicketKeys() ? group.ticketKeyNames.size : null,
      rejectedUnusedKey,
    },
    keepsNoSessions,
  };
}

/** See CachePolicy.keepsNoSessions. */
function inferKeepsNoSessions(t: SessionTable, offers: Int32Array, known: Int32Array): CachePolicy['keepsNoSessions'] {
  const home = select(known, (o) => !t.isCrossAddress(o));
  const detected = home.length >= MIN_OFFERS_NOT_KEPT && count(offers, (o) => t.isAccepted(o)) === 0;
  let soonest: number | null = null;
  const kinds = new Set<SessionKind>();
  for (const o of home) {
    const age = t.ageOf(o) ?? t.reuseGapOf(o);
    if (age !== null && (soonest === null || age < soonest)) soonest = age;
    kinds.add(t.kindOf(o));
  }
  return {
    detected, offers: detected ? offers.length : 0, soonest: detected ? soonest : null,
    kind: detected && kinds.size === 1 ? [...kinds][0]! : null,
    confidence: detected ? round2(1 - Math.exp(-home.length / 4)) : 0,
  };
}

/** What the detail of a refused ticket sealed under a key the server did not use says (findings tell them by it). */
export const OLD_TICKET_KEY_DETAIL = 'sealed under the ticket key named';

/**
 * A ticket (or PSK identity) whose key name (RFC 5077 §4) is none of those the group was seen to
 * issue or accept, where the group's tickets name their keys (a ticket seen issued always names
 * one of them; an identity linked to its client's latest session may not): sealed under a key
 * the server has dropped (rotated, replaced at a restart) or never had (another server's). Real
 * nginx restarted with a new ssl_session_ticket_key before the capture began
 * (nginx-ticket-key-before-capture.pcap): the old tickets were "issued before the capture".
 */
function sealedByUnusedKey(t: SessionTable, o: number): boolean {
  return offeredKeyInUse(t, o) === false;
}

/**
 * Whether the key an offered ticket or PSK identity names is one the group uses; null when that
 * says nothing (a session ID, a group whose tickets name no keys). A refused ticket under a key in
 * use could be opened, so the key is not why: a stateless ticket is refused so when too old.
 */
function offeredKeyInUse(t: SessionTable, o: number): boolean | null {
  if (t.kindOf(o) === 'session-id') return null;
  const group = t.groupOf(o);
  const name = t.offeredTicketKeyNameOf(o);
  return name === null || !group.namesTicketKeys() ? null : group.ticketKeyNames.has(name);
}

const KEY_IN_USE_NOTE = '; it is sealed under a key the server still uses, so the key is not why: most likely it was older than the server\'s ticket lifetime';

/** The key name of the ticket or PSK identity a connection offered, as hex (its first 16 bytes). */
export function offeredKeyNameHex(c: ConnectionRecord): string {
  return ((c.offer.ticket ? c.offeredTicket : null) ?? c.offeredPskIdentity ?? '').slice(0, 32);
}

/**
 * A client that also offers TLS 1.3 fills the ClientHello's session ID with 32 random bytes
 * (RFC 8446 §4.1.2, Appendix D.4) whether or not it resumes; a server that answers with TLS 1.2
 * sees an unknown session ID. Real Chromium against a TLS 1.2-only nginx: its first connection
 * looks like a refused offer. Told apart by the TLS stack (the fingerprint's "t13": TLS 1.3
 * among its versions), the negotiated version and the ID's length; no ticket or PSK offered.
 */
export function looksLikeCompatibilityId(c: ConnectionRecord): boolean {
  return c.offer.sessionId !== null && c.offer.sessionId.length === 64 && !c.offer.ticket && !c.offer.psk &&
    c.version !== 'TLS 1.3' && (c.clientFingerprint?.startsWith('t13') ?? false);
}

/** Rejected offers of all groups that were most likely TLS 1.3 random session IDs (0 for a document from before the count). */
export function compatibilityIdsOf(servers: readonly Pick<ServerSummary, 'tls13CompatibilityIds'>[]): number {
  let n = 0;
  for (const s of servers) n += s.tls13CompatibilityIds ?? 0;
  return n;
}

const COMPATIBILITY_ID_NOTE = '; the client also offers TLS 1.3, which fills the session ID with 32 random bytes (RFC 8446 §4.1.2): most likely no resumption attempt at all';

/**
 * Whether the accepted and rejected offers of `offers` (in time order) come in far fewer runs
 * than a random order would give (Wald-Wolfowitz runs test, one-sided, z < -2.33: p < 1 %).
 * Offers balanced at random over backends interleave; a cache emptied once, or a backend down
 * for a while, puts the rejections in a block (real nginx restart: 3 runs where ~12 were due).
 */
function outcomesClustered(t: SessionTable, offers: Int32Array): boolean {
  return fewerRunsThanRandom(offers.length, (i) => t.isAccepted(offers[i]!));
}

/** The runs test of outcomesClustered over outcomes 0..n-1 (true: accepted). */
export function fewerRunsThanRandom(n: number, acceptedAt: (i: number) => boolean): boolean {
  let accepted = 0;
  let runs = 0;
  let previous = false;
  for (let i = 0; i < n; i++) {
    const a = acceptedAt(i);
    if (a) accepted++;
    if (i === 0 || a !== previous) runs++;
    previous = a;
  }
  const rejected = n - accepted;
  if (accepted === 0 || rejected === 0 || n < 3) return false;
  const mean = 1 + (2 * accepted * rejected) / n;
  const variance = (2 * accepted * rejected * (2 * accepted * rejected - n)) / (n * n * (n - 1));
  return variance > 0 && (runs - mean) / Math.sqrt(variance) < -2.33;
}

/**
 * Flush: a time F such that offers of sessions last used before F and made after F are
 * all rejected, while such offers straddling no F are accepted. Greedy, one flush at a time.
 */
function findFlushes(t: SessionTable, offers: Int32Array, verdicts: Verdicts, carriedFlushes: readonly { low: number; time: number }[]): CachePolicy['flushes'] {
  const flushes: CachePolicy['flushes'] = [];
  const lastUseOf = (o: number) => t.timeOf(o) - (t.reuseGapOf(o) ?? 0);
  const timeOf = (o: number) => t.timeOf(o);
  // Flushes an earlier analysis found (--state): this one's offers all come after them, so no moment
  // of its own can show them. A session last used before one comes back refused for it, where the
  // group refused (nearly) all such sessions; 5-minute files of the bench farm read the refusals
  // after a ticket key rotation in the file before as a 10-minute lifetime without this.
  for (const flush of carriedFlushes) {
    const before = (o: number) => lastUseOf(o) <= flush.low && t.timeOf(o) >= flush.time;
    const refused = select(offers, (o) => !t.isAccepted(o) && !verdicts.has(o) && t.reuseGapOf(o) !== null && before(o));
    if (refused.length === 0) continue;
    const contradicting = count(offers, (o) => t.isAccepted(o) && t.reuseGapOf(o) !== null && before(o));
    if (contradicting > refused.length * 0.05) continue;
    const sessionsLost = new Set<number>();
    for (const o of refused) {
      verdicts.set(o, 'flush', `last used ${formatDuration(t.timeOf(o) - lastUseOf(o))} earlier, before the cache was emptied between ${isoTime(flush.low)} and ${isoTime(flush.time)} (found by an earlier analysis)`);
      sessionsLost.add(t.sessionRowOf(o));
    }
    flushes.push({ time: flush.time, low: flush.low, sessionsLost: sessionsLost.size, evidence: Array.from(refused.subarray(0, 20), (o) => t.connectionOf(o).id) });
  }
  // Each offer spans (last use, offer time]; counting spans that contain t is two binary searches.
  // The accepted offers are the same in every round.
  const accepted = select(offers, (o) => t.isAccepted(o) && t.reuseGapOf(o) !== null);
  let acceptedSpans: { containing(t: number): number } | null = null;
  // Largest idle time, age and churn the group accepted (null: none measured).
  const limits = [(o: number) => t.reuseGapOf(o), (o: number) => t.ageOf(o), (o: number) => t.churnOf(o)];
  const acceptedUpTo = limits.map((measure) => {
    let largest: number | null = null;
    for (const o of accepted) {
      const x = measure(o);
      if (x !== null && (largest === null || x > largest)) largest = x;
    }
    return largest;
  });
  /**
   * Whether one limit (idle time, age or churn) sets these rejections apart from every accepted
   * offer: then a limit explains them as well as a moment does, and the limits come next. (Real
   * nginx with a cache of ten: its last seven refusals came in a row, after every acceptance.)
   */
  const aLimitExplains = (rejected: Int32Array): boolean => limits.some((measure, k) => {
    const largestAccepted = acceptedUpTo[k];
    if (largestAccepted === null || accepted.length < 3) return false;
    for (const o of rejected) {
      const x = measure(o);
      if (x === null || x <= largestAccepted) return false;
    }
    return true;
  });
  /**
   * Whether a cache size explains them although some sessions as old in churn were accepted: the
   * other offers from their smallest churn up were refused nearly as often (FLUSH_LIKE_CAPACITY),
   * at other moments. A flush refuses sessions whatever their churn; a cache split into parts, each
   * evicting on its own, refuses by churn at any moment, with no sharp edge. (Real Apache, whose
   * shmcb cache is split by session ID: with 16 KB and 800 connections, a trial recording, sessions
   * went after 57 to 99 newer ones and a moment that 94 old sessions' spans crossed was taken for a
   * flush; the others from that churn up were refused 89 % of the time, in the first 300
   * connections of apache-shmcb-cache.pcap 77 %, after the simulated ticket-key rotations 7 %.
   * Idle time and age cannot tell the two apart: periodic rotations refuse by age too, 75 %.)
   */
  const aCacheSizeExplains = (rejected: Int32Array, open: Int32Array): boolean => {
    if (accepted.length < 3) return false;
    let smallest = Infinity;
    for (const o of rejected) smallest = Math.min(smallest, t.churnOf(o) ?? -Infinity);
    if (smallest === -Infinity) return false;
    const inFlush = new Set(rejected);
    let others = 0;
    let othersRefused = 0;
    for (const o of open) {
      const churn = t.churnOf(o);
      if (churn === null || churn < smallest || inFlush.has(o)) continue;
      others++;
      if (!t.isAccepted(o)) othersRefused++;
    }
    return others >= MIN_EVIDENCE_OUTSIDE_FLUSH && othersRefused >= FLUSH_LIKE_CAPACITY * others;
  };
  for (let round = 0; round < 10; round++) {
    const candidates = select(offers, (o) => !t.isAccepted(o) && !verdicts.has(o) && t.reuseGapOf(o) !== null);
    if (candidates.length < 3) break;
    // Candidate moments: just before each unexplained rejection (the earliest after a flush bounds it).
    const rejectedSpans = spanIndex(candidates, lastUseOf, timeOf);
    acceptedSpans ??= spanIndex(accepted, lastUseOf, timeOf);
    const times = valuesOf(candidates, timeOf).sort();
    let best: { time: number; count: number } | null = null;
    for (let i = 0; i < times.length; i++) {
      const moment = times[i]!;
      if (i > 0 && moment === times[i - 1]) continue;
      const count = rejectedSpans.containing(moment);
      if (count < 3 || (best && count <= best.count)) continue;
      const contradicting = acceptedSpans.containing(moment);
      if (contradicting > count * 0.05) continue;
      // So many rejections in a row must be unlikely at the usual rejection rate: many
      // moments are tried, hence the strict bound. The usual rate is that of the offers whose
      // span does not cross the moment (add-one smoothed): counting the flush's own rejections
      // in it, a restart that cost 8 of 24 offers set the bar at 33 % and was missed (real nginx).
      const otherRejected = candidates.length - count;
      const otherAccepted = accepted.length - contradicting;
      const usualRate = Math.max(0.01, (otherRejected + 1) / (otherRejected + otherAccepted + 2));
      if (binomialTail(count, count + contradicting, usualRate) > 1e-4) continue;
      best = { time: moment, count };
    }
    if (!best) break;
    const flushAt = best.time;
    const explained = select(candidates, (o) => lastUseOf(o) < flushAt && t.timeOf(o) >= flushAt);
    if (aLimitExplains(explained) || aCacheSizeExplains(explained, select(offers, (o) => t.isAccepted(o) || !verdicts.has(o)))) break;
    // The flush lies after the last use of every explained session and before the first rejection.
    let low = -Infinity;
    for (const o of explained) low = Math.max(low, lastUseOf(o));
    for (const o of accepted) if (t.timeOf(o) < flushAt) low = Math.max(low, t.timeOf(o));
    let time = Infinity;
    for (const o of explained) time = Math.min(time, t.timeOf(o));
    const sessionsLost = new Set<number>();
    for (const o of explained) {
      verdicts.set(o, 'flush', `last used ${formatDuration(t.timeOf(o) - lastUseOf(o))} earlier, before the cache was emptied between ${isoTime(low)} and ${isoTime(time)}`);
      sessionsLost.add(t.sessionRowOf(o));
    }
    flushes.push({ time, low, sessionsLost: sessionsLost.size, evidence: Array.from(explained.subarray(0, 20), (o) => t.connectionOf(o).id) });
  }
  return flushes.sort((a, b) => a.time - b.time);
}

/**
 * A cache split into parts by session ID, each evicting its own oldest (Apache's shmcb cache, 32
 * or more subcaches): a session goes when enough of the newer ones landed in its part, so eviction
 * follows churn with no sharp edge, and a session whose part had room outlives the rest. Real
 * Apache with an 8 KB cache (apache-shmcb-cache.pcap): none refused with fewer than 21 newer
 * sessions, all from 59 on, both in between and ever more refused as churn grew; the FIFO fit took
 * the upper edge and left the band's refusals "unexplained" (or, on the first 250 connections, to
 * a lifetime). From the offers nothing explained yet: the band runs from the smallest refused churn
 * to the largest accepted one; it must hold enough refusals, a fair share of its offers, more in
 * its upper half than in its lower, no time limit that sets them apart, and enough acceptances
 * below it. The estimate: [low, high] the band, `seconds` the churn where half the sessions went,
 * no exceptions (the band is the model), null when there is no such band.
 */
function partitionedCache(t: SessionTable, offers: Int32Array, verdicts: Verdicts, otherFits: readonly Estimate[]): Estimate | null {
  // A limit of another kind fitted to this group with few exceptions explains its refusals: no
  // band is looked for (a million offers of a farm with a 15-minute idle timeout cost 17 MiB at the
  // diagnosis's peak to rule one out below).
  if (otherFits.some((e) => e.seconds !== null && e.exceptions <= TIME_LIMIT_EXCEPTIONS * e.rejectedAbove)) return null;
  // Passes over the offers rather than lists of them: on the 2-million-connection capture each
  // list of a million offers raised the diagnosis's peak (16 MiB in all, first written).
  const isOpen = (o: number) => t.churnOf(o) !== null && (t.isAccepted(o) || !verdicts.has(o));
  let from = Infinity;
  let edge = -Infinity;
  for (const o of offers) {
    if (!isOpen(o)) continue;
    if (t.isAccepted(o)) edge = Math.max(edge, t.churnOf(o)!);
    else from = Math.min(from, t.churnOf(o)!);
  }
  if (from > edge) return null;
  let below = 0;
  let refusedFrom = 0;
  let high = Infinity;
  // Ever more refused as churn grows: the band's upper half (by churn) refuses more than its lower.
  const middle = (from + edge) / 2;
  let lower = 0, lowerRefused = 0, upper = 0, upperRefused = 0;
  for (const o of offers) {
    if (!isOpen(o)) continue;
    const churn = t.churnOf(o)!;
    const accepted = t.isAccepted(o);
    if (churn < from) below++;
    else if (churn <= edge) {
      if (churn < middle) lower++; else upper++;
      if (!accepted) { if (churn < middle) lowerRefused++; else upperRefused++; }
    }
    if (!accepted) {
      refusedFrom++;
      // All refused from the first refusal above the band.
      if (churn > edge) high = Math.min(high, churn);
    }
  }
  const bandOffers = lower + upper;
  const refusedInBand = lowerRefused + upperRefused;
  if (refusedInBand < MIN_BAND_REFUSALS || below < MIN_BAND_REFUSALS || refusedInBand < MIN_BAND_SHARE * bandOffers) return null;
  if (lower === 0 || upper === 0 || upperRefused / upper <= lowerRefused / lower) return null;
  const inBand = select(offers, (o) => isOpen(o) && t.churnOf(o)! >= from && t.churnOf(o)! <= edge);
  // A time limit or an LRU list that sets the band's refusals apart explains them better than parts
  // would: idle time, age and recency grow with churn. A farm with an idle timeout of 300 s and a FIFO
  // cache of 150 (simulated) had its idle refusals below the cache's edge taken for a cache in parts,
  // and an LRU cache, whose often-used sessions outlive any churn, looked like one too.
  // One buffer for the three fits and then the sort by churn.
  const values = new Float64Array(inBand.length);
  for (const measure of [(o: number) => t.reuseGapOf(o), (o: number) => t.ageOf(o), (o: number) => t.recencyOf(o)]) {
    // Accepted values from the front, refused from the back (as inferGroup's fits).
    let a = 0;
    let r = inBand.length;
    for (const o of inBand) {
      const x = measure(o);
      if (x === null) continue;
      if (t.isAccepted(o)) values[a++] = x;
      else values[--r] = x;
    }
    const timeLimit = estimateLimitOf(values.subarray(0, a), values.subarray(r));
    if (timeLimit.seconds !== null && timeLimit.exceptions <= TIME_LIMIT_EXCEPTIONS * refusedInBand) return null;
  }
  // The band by churn, refused after accepted at equal churn: churn × 2 + 1 for a refusal, sorted
  // natively (a million offers: no comparator, no objects); the sweep is linear.
  const keys = values;
  for (let i = 0; i < inBand.length; i++) keys[i] = t.churnOf(inBand[i]!)! * 2 + (t.isAccepted(inBand[i]!) ? 0 : 1);
  keys.sort();
  const isRefusal = (i: number) => keys[i]! % 2 === 1;
  // Where half the sessions went: the boundary with the fewest accepted above it plus refused at or below it.
  let acceptedAbove = inBand.length - refusedInBand;
  let refusedBelow = 0;
  let half = from;
  let best = Infinity;
  for (let i = 0; i < keys.length; i++) {
    if (isRefusal(i)) refusedBelow++; else acceptedAbove--;
    const churn = Math.floor(keys[i]! / 2);
    if (i + 1 < keys.length && Math.floor(keys[i + 1]! / 2) === churn) continue;
    if (acceptedAbove + refusedBelow < best) {
      best = acceptedAbove + refusedBelow;
      half = churn;
    }
  }
  // The band's end + 1 where no refusal came above it.
  if (high === Infinity) high = edge + 1;
  // Confidence as a fit's (see fitLimit), lowered by the refusals in the band's lower half.
  const support = (1 - Math.exp(-refusedInBand / 4)) * (1 - Math.exp(-below / 4));
  return {
    seconds: half,
    low: from - 1,
    high,
    confidence: round2(support * (1 - lowerRefused / bandOffers)),
    rejectedAbove: refusedFrom,
    acceptedBelow: below,
    exceptions: 0,
  };
}
const MIN_BAND_REFUSALS = 5;
/** A time limit with at most this share of the band's refusals as exceptions explains the band instead. */
const TIME_LIMIT_EXCEPTIONS = 0.1;
const MIN_BAND_SHARE = 0.2;

/** Offers outside a flush's moment, at its rejections' churn, needed to judge a cache size by them. */
const MIN_EVIDENCE_OUTSIDE_FLUSH = 5;
/** Refused this often at other moments from the same churn up, a flush's refusals are a cache size's. */
const FLUSH_LIKE_CAPACITY = 0.6;

/** Counts how many spans (start, end] contain a moment t: sorted starts and ends, two binary searches. */
function spanIndex(offers: Int32Array, startOf: (o: number) => number, endOf: (o: number) => number): { containing(t: number): number } {
  const starts = valuesOf(offers, startOf).sort();
  const ends = valuesOf(offers, endOf).sort();
  // Spans with start < t, minus those that also ended before t (end < t).
  return { containing: (t: number) => lowerBound(starts, t) - lowerBound(ends, t) };
}

/** One number per offer, as a typed array (a plain loop: Float64Array.from with a mapping function is several times slower). */
function valuesOf(offers: Int32Array, value: (o: number) => number): Float64Array {
  const values = new Float64Array(offers.length);
  for (let i = 0; i < offers.length; i++) values[i] = value(offers[i]!);
  return values;
}

/** Number of elements < t in a sorted array. */
function lowerBound(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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

function offerView(t: SessionTable, o: number): SessionView {
  const session = t.sessionRowOf(o);
  const issuedBy = session >= 0 ? t.session(session).issuedBy : -1;
  const issuer = t.issuerOf(o);
  return {
    role: 'offer', kind: t.kindOf(o), known: t.isKnown(o),
    issuedBy: issuedBy >= 0 ? issuedBy : null,
    // A session carried in from an earlier analysis: no connection of this one issued it, but its time is known.
    issuedAt: issuedBy >= 0 || issuedBy === ISSUED_IN_EARLIER_ANALYSIS ? t.session(session).issuedAt : null,
    age: t.ageOf(o), reuseGap: t.reuseGapOf(o), churn: t.churnOf(o), abortedBy: t.abortedByOf(o), crossAddress: t.isCrossAddress(o),
    issuer: issuer ? displayAddress(issuer) : null,
  };
}

function issueView(s: TrackedSession): SessionView {
  return {
    role: 'issue', kind: s.kind, known: true, issuedBy: s.issuedBy, issuedAt: s.issuedAt, age: 0, reuseGap: null,
    churn: null, abortedBy: null, crossAddress: false, issuer: displayAddress(s.issuer),
  };
}

/**
 * Per client (address + TLS stack) and group: seen before, and the latest session it holds.
 * Keyed by group, then stack, then address: the address and stack strings are shared with the
 * records, so a million clients cost map entries, not a million composed key strings.
 */
class ClientMemory {
  /** By group index, then TLS stack: client (numberClients) → row of the latest session held. */
  private readonly byGroup: Map<string, IntMap>[] = [];

  /** The clients of c's TLS stack with c's group: client number → row of the latest session held (-1: none yet). */
  clientsLike(c: ConnectionRecord, group: ServerGroup): IntMap {
    return this.of(group.index, c.clientFingerprint ?? '');
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

function summarizeClients(connections: ConnectionRecord[], order: Uint32Array, clientNumbers: { numbers: Int32Array; count: number }, reconnection: Uint8Array, forgot: Set<number>): ClientsSummary {
  // Distinct clients overall and per TLS stack: the (stack, client) pairs are counted by sorting
  // them as numbers (a set of addresses per stack was a second map entry per client).
  const stackNumbers = new Map<string, number>();
  const stacks: { fingerprint: string; clients: number; connections: number; reconnections: number; holding: number; offered: number; forgot: number }[] = [];
  const pairs = new Float64Array(order.length);
  let pairCount = 0;
  let reconnections = 0;
  for (let index = 0; index < order.length; index++) {
    const position = order[index]!;
    const c = connections[position]!;
    const client = clientNumbers.numbers[position]!;
    if (c.clientHelloTime === null) continue;
    const fingerprint = c.clientFingerprint ?? 'unknown';
    let stack = stackNumbers.get(fingerprint);
    if (stack === undefined) {
      stackNumbers.set(fingerprint, (stack = stacks.length));
      stacks.push({ fingerprint, clients: 0, connections: 0, reconnections: 0, holding: 0, offered: 0, forgot: 0 });
    }
    const s = stacks[stack]!;
    pairs[pairCount++] = stack * 2 ** 32 + client;
    s.connections++;
    if (reconnection[index] !== 0) {
      s.reconnections++;
      reconnections++;
      if (reconnection[index] === HOLDING_RECONNECTION) s.holding++;
      if (c.resumption !== 'not-offered') s.offered++;
      if (forgot.has(c.id)) s.forgot++;
    }
  }
  const clientCount = clientNumbers.count;
  const sorted = pairs.subarray(0, pairCount).sort();
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) stacks[Math.floor(sorted[i]! / 2 ** 32)]!.clients++;
  }
  const list: ClientStack[] = stacks.map((s) => ({
    fingerprint: s.fingerprint, clients: s.clients, connections: s.connections, reconnections: s.reconnections, offered: s.offered,
    forgot: s.forgot, forgetShare: s.reconnections > 0 ? round2(s.forgot / s.reconnections) : null,
    // Reconnections with a session in hand: parallel connections of a first visit, or hellos of
    // handshakes that never completed (no session issued), say nothing about offering.
    neverOffers: s.holding >= 3 && s.offered === 0,
  })).sort((a, b) => b.connections - a.connections);
  return { clients: clientCount, reconnections, forgot: forgot.size, forgetShare: reconnections > 0 ? round2(forgot.size / reconnections) : null, stacks: list };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n || p <= 0) return 0;
  if (p >= 1) return 1;
  // Each term's logarithm, from log P(X = 0) = n·log(1 − p) on: (1 − p)^n itself underflows to 0
  // for n in the thousands, and every tail came out 0 ("significant").
  const step = Math.log(p) - Math.log(1 - p);
  let logTerm = n * Math.log(1 - p);
  let total = 0;
  for (let i = 0; i <= n; i++) {
    if (i >= k) {
      const term = Math.exp(logTerm);
      total += term;
      // Past the mode the terms only shrink: stop once they no longer count.
      if (i > n * p && term < total * 1e-17) break;
    }
    logTerm += Math.log((n - i) / (i + 1)) + step;
  }
  return Math.min(1, total);
}
