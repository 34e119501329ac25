import type { ServerGroup, SessionKind, SessionTable } from '../session/session-table.js';
import { COMPATIBILITY_ID_NOTE, looksLikeCompatibilityId } from './compatibility-ids.js';
import { findFlushes } from './flushes.js';
import { formatDuration, isoTime } from './format.js';
import { count, select } from './offer-lists.js';
import { partitionedCache } from './partitioned-cache.js';
import { binomialTail, fewerRunsThanRandom } from './statistics.js';
import { estimateLimitOf, maxOf, round2, type Estimate } from './threshold.js';
import { KEY_IN_USE_NOTE, OLD_TICKET_KEY_DETAIL, offeredKeyInUse, offeredKeyNameHex, sealedByUnusedKey } from './ticket-keys.js';
import type { CachePolicy, Eviction } from './types.js';
import type { Verdicts } from './verdicts.js';

// One group's cache policy: the estimators in the order of how certain their evidence is, each
// rejection given the first cause that explains it.

const CAPACITY_NICE = [
  50, 100, 128, 200, 250, 256, 300, 400, 500, 512, 1000, 1024, 2000, 2048, 2500, 4096, 5000, 8192, 10000, 16384,
  20000, 32768, 50000, 65536, 100000, 131072, 200000, 262144, 500000, 1000000,
];

/** Offers a group needs before a steady share of refusals is read as backends without a shared cache. */
export const MIN_OFFERS_FOR_BACKENDS = 12;

/** Refused offers of sessions a group issued (to the issuing address) before "keeps no sessions" is said. */
export const MIN_OFFERS_NOT_KEPT = 3;

/** Infer one group's cache policy from its offers (rows of `table`); records a verdict for each rejection it explains. */
export function inferGroup(table: SessionTable, group: ServerGroup, offers: Int32Array, verdicts: Verdicts): Omit<CachePolicy, 'issuesNoSessions' | 'tls13TicketsUnseen'> {
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

/**
 * Whether the accepted and rejected offers of `offers` (in time order) come in far fewer runs
 * than a random order would give (Wald-Wolfowitz runs test, one-sided, z < -2.33: p < 1 %).
 * Offers balanced at random over backends interleave; a cache emptied once, or a backend down
 * for a while, puts the rejections in a block (real nginx restart: 3 runs where ~12 were due).
 */
function outcomesClustered(t: SessionTable, offers: Int32Array): boolean {
  return fewerRunsThanRandom(offers.length, (i) => t.isAccepted(offers[i]!));
}
