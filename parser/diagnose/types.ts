import type { ClockStep } from './clock-segments.js';
import type { SessionKind } from '../session/session-table.js';
import type { StateChunkSink } from '../session/session-state.js';
import type { Estimate } from './threshold.js';
import type { Finding, WhatIf } from './findings.js';

// What the diagnosis gives: each group's summary and inferred cache policy, the clients' summary,
// the session facts of each connection (SessionView), and the options and progress of a run.

export const REASONS = [
  'idle-timeout', 'lifetime', 'capacity', 'purged-after-abort', 'other-backend', 'flush',
  'issued-before-capture', 'unexplained', 'client-forgot', 'not-kept', 'version-change',
] as const;

export type Reason = (typeof REASONS)[number];

/** A group that keeps replacing its ticket keys, refusing tickets under the replaced ones (explainRetiredTicketKeys). */
export interface TicketRotation {
  /** Key names its tickets showed. */
  keys: number;
  /** Keys replaced whose tickets were then refused. */
  keysReplaced: number;
  /** Median seconds between one key's first ticket and the next's. */
  every: number;
  /** Newest keys a ticket was still opened under (1: the newest only). */
  keysOpen: number;
  /** Refusals explained by it. */
  refused: number;
  /**
   * Seconds the servers took to switch from a key to the next, one after another, where the
   * capture shows it: the longest time two successive keys both sealed tickets (0: at once).
   */
  switchSpread: number;
}

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
    /**
     * Backends behind one address without a shared cache (read from refusals at a steady rate): the
     * share of offers that reached the backend holding their session, estimated as the accepted
     * share of the offers nothing else refused. Null where no such backends were inferred. The
     * what-ifs weigh by it every change but sharing: a session past the idle timeout that went to
     * another backend would be refused there, whatever the timeout.
     */
    sameBackendShare: number | null;
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
    /** Keys replaced again and again, their tickets then refused (ticket-rotation.ts); null: not seen. Older documents lack it. */
    rotation?: TicketRotation | null;
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
  /** versions: the address's connections by negotiated version ("TLS 1.3": n), those with one known. */
  addresses: { address: string; connections: number; versions: Record<string, number> }[];
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
  /**
   * Clients as the tracking tells them apart (address and TLS stack, per server group): `seen`, and
   * `several` found to be several clients behind one address (NAT, a proxy), which is when one of
   * them resumed a session older than the one the address got last.
   */
  sharedAddresses: { seen: number; several: number };
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
  /**
   * Other sessions of the issuing group used (issued or resumed) since this one's last use, by the
   * time of the offer: its place in an LRU list less one (an LRU cache of N sessions still holds it
   * while usedSince < N). Both leave out the sessions a group that purges on abort dropped, where
   * its cache frees their places (SessionTable.purgedNewerOf, purgedUsedSinceOf).
   */
  usedSince: number | null;
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
  /**
   * Where capture files' clocks stepped back (clockStepsOf(captures)): no session or client is
   * followed from one side of a step to the other (see clock-segments.ts).
   */
  clockSteps?: readonly ClockStep[];
}
