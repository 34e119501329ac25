import { abortEnding } from '../report/abort-ending.js';
import type { ConnectionRecord } from '../report/types.js';
import { buildFindings, type OfferLookup } from './findings.js';
import { clockSegmentsOf } from './clock-segments.js';
import { formatDuration } from './format.js';
import { inferGroup } from './infer-group.js';
import { offersByGroup } from './offer-lists.js';
import { addressesLookShared, summarizeClients } from './clients-summary.js';
import { looksLikeCompatibilityId } from './compatibility-ids.js';
import { numberClients, sessionOrder, SEVERAL_CLIENTS, trackSessions, usedSinceOf, type LegacyIdOffer } from './track-sessions.js';
import type { DiagnoseOptions, Diagnosis, DiagnosisProgress, Reason, ServerSummary, SessionView } from './types.js';
import { Verdicts } from './verdicts.js';
import { TLS12_SESSION_ID_IN_TLS13 } from './version-change.js';
import { groupKeyOf, type SessionTable } from '../session/session-table.js';
import { SESSION_VERSIONS } from '../session/session-state.js';

// Why each failed resumption failed, and what the servers' session caches must be doing for the
// traffic to look like this. One estimator per cause; each rejection gets the first cause that
// explains it, in the order of how certain the evidence is. A file per step: track-sessions (the
// connections through the session table), infer-group (one group's policy, its estimators in
// flushes, partitioned-cache, threshold, ticket-keys and compatibility-ids), verdicts (the cause
// given to each refusal), clients-summary, findings.

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

/** TLS 1.0-1.2 full handshakes that issued nothing, and none that did, before "issues no sessions" is said. */
export const MIN_HANDSHAKES_ISSUING_NOTHING = 3;

/** TLS 1.3 reconnections without a ticket, in a group no client offered one, before "tickets unseen" is said. */
export const MIN_RECONNECTIONS_WITHOUT_TICKET = 3;

/** Diagnose every connection (sets `reason` and `session` on each) and infer each group's cache policy. */
export function diagnose(connections: ConnectionRecord[], options: DiagnoseOptions = {}): Diagnosis {
  const order = sessionOrder(connections);
  const clientNumbers = numberClients(connections);
  const segments = clockSegmentsOf(connections, options.clockSteps);
  const { table, offerOf, reconnection, forgotten, legacyIdOffers, sessionChanges, pskNeverOffered, carriedOut, sharedAddresses: sharedAddressCounts } = trackSessions(connections, order, clientNumbers, options, segments);
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
      if (group.purgesOnAbort) showPlacesWithoutPurges(table, o);
      const reason = verdicts.reasonOf(o);
      if (reason === null) continue;
      const c = table.connectionOf(o);
      c.reason = reason;
      c.reasonDetail = verdicts.detailOf(o);
      counts[reason]!++;
      if (reason === 'issued-before-capture' && looksLikeCompatibilityId(c)) compatibilityIds++;
    }
    // A reason given and then taken back everywhere (a flush the limits did not confirm) counts nothing.
    for (const reason of verdicts.reasonsGiven) if (counts[reason] === 0) delete counts[reason];
    servers.push({
      group: group.key,
      sni: group.sni,
      port: group.port,
      addresses: [...group.addresses].map(([address, counts]) => ({ address: address.replace('|', ':'), connections: counts[0]!, versions: versionCounts(counts) })),
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
  const sharedAddresses = addressesLookShared(sharedAddressCounts);
  for (const { c, group, gap, clients: identity, client } of forgotten) {
    // Found to be several clients after this connection (see SEVERAL_CLIENTS): no single memory to fault.
    if (identity.get(client, -1) === SEVERAL_CLIENTS) continue;
    const server = servers.find((s) => s.group === group.key);
    const provenValid = server?.cachePolicy.idleTimeout.low ?? null;
    if (provenValid === null || gap > provenValid) continue;
    // An older session's rejection is the client's doing (seed 002), not the reason the group's
    // policy gave it: that reason's count gives the connection up.
    const previous = c.reason as Reason | null;
    // Behind shared addresses an "older session" is as likely another client's own: where the
    // policy explains its refusal, that stays the reason (simulated NAT with a 300 s idle timeout:
    // 4–14 idle-timeout refusals a farm had become "client forgot").
    if (previous !== null && c.resumption !== 'not-offered' && sharedAddresses) continue;
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

  // A TLS 1.2 session offered by its ID where the server took the handshake to TLS 1.3.
  const legacyIdFacts = new Map<ConnectionRecord, LegacyIdOffer>();
  for (const legacy of legacyIdOffers) {
    const c = legacy.c;
    legacyIdFacts.set(c, legacy);
    c.reason = 'version-change';
    c.reasonDetail = TLS12_SESSION_ID_IN_TLS13;
    const server = servers.find((s) => s.group === groupKeyOf(c).key);
    if (server) server.reasons['version-change'] = (server.reasons['version-change'] ?? 0) + 1;
  }

  const clients = summarizeClients(connections, order, clientNumbers, reconnection, forgotIds, sharedAddressCounts);
  options.onProgress?.({ step: 'clients summarized', done: groups, total: groups });
  servers.sort((a, b) => b.connections - a.connections);
  let byId: Map<number, ConnectionRecord> | null = null;
  const lookup: OfferLookup = {
    groupKey: (c) => { const o = offerOf(c); return o >= 0 ? table.groupOf(o).key : null; },
    // A legacy ID offer (no offer row) has its session's facts as an offer would.
    reuseGap: (c) => { const o = offerOf(c); return o >= 0 ? table.reuseGapOf(o) : legacyIdFacts.get(c)?.reuseGap ?? null; },
    age: (c) => { const o = offerOf(c); return o >= 0 ? table.ageOf(o) : legacyIdFacts.get(c)?.age ?? null; },
    churn: (c) => { const o = offerOf(c); return o >= 0 ? table.churnOf(o) : null; },
    recency: (c) => { const o = offerOf(c); return o >= 0 ? table.recencyOf(o) : null; },
    abortOf: (c) => {
      const o = offerOf(c);
      const id = o >= 0 ? table.abortedByOf(o) : null;
      if (id === null || id < 0) return null;
      // Numbered connections (numberConnections) sit at id − 1; others (a part of a capture
      // diagnosed alone) are found through an index by id, made on first use.
      let aborted: ConnectionRecord | undefined = connections[id - 1];
      if (aborted?.id !== id) {
        byId ??= new Map(connections.map((x) => [x.id, x]));
        aborted = byId.get(id);
      }
      if (!aborted?.abort) return null;
      return abortEnding(aborted);
    },
    crossAddress: (c) => { const o = offerOf(c); return o >= 0 ? table.isCrossAddress(o) : legacyIdFacts.get(c)?.crossAddress ?? false; },
    sessionVersion: (c) => { const o = offerOf(c); const row = o >= 0 ? table.sessionRowOf(o) : -1; return row >= 0 ? table.versionOfSession(row) : null; },
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

/** An address's connections by negotiated version (ServerGroup.addresses' counts), the versions it answered with only. */
function versionCounts(counts: Uint32Array): Record<string, number> {
  const versions: Record<string, number> = {};
  for (let i = 1; i < counts.length; i++) if (counts[i]! > 0) versions[SESSION_VERSIONS[i]!] = counts[i]!;
  return versions;
}

/**
 * The offer's session view shows its churn and its place by last use as the limits read them:
 * without the sessions a group that purges on abort dropped (SessionTable.purgedNewerOf,
 * purgedUsedSinceOf), known only once the group's policy is (the view was made while the sessions
 * were tracked).
 */
function showPlacesWithoutPurges(table: SessionTable, o: number): void {
  const c = table.connectionOf(o);
  const view = c.session as SessionView | null | undefined;
  if (view?.role === 'offer') c.session = { ...view, churn: table.churnOf(o), usedSince: usedSinceOf(table, o) };
}
