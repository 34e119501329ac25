import type { SessionTable } from '../session/session-table.js';
import { count, firstIds, select } from './offer-lists.js';
import { binomialTail } from './statistics.js';
import { round2 } from './threshold.js';
import type { CachePolicy } from './types.js';
import type { Verdicts } from './verdicts.js';

/**
 * Purge on abort: sessions touched by an aborted handshake, rejected far above the base rate.
 * An abort in an earlier file of the series counts as one seen here (carried in the state).
 */
export function inferPurgeOnAbort(t: SessionTable, offers: Int32Array, known: Int32Array, verdicts: Verdicts): CachePolicy['purgeOnAbort'] {
  const afterAbort = select(offers, (o) => t.offeredAfterAbort(o));
  const notAborted = select(known, (o) => !t.offeredAfterAbort(o) && !verdicts.has(o));
  const abortRejected = select(afterAbort, (o) => !t.isAccepted(o));
  const baseRate = notAborted.length > 0 ? count(notAborted, (o) => !t.isAccepted(o)) / notAborted.length : null;
  const abortRate = afterAbort.length > 0 ? abortRejected.length / afterAbort.length : 0;
  // Significant when so many rejections after aborts are unlikely at the base rate (binomial tail < 1%).
  const tail = binomialTail(abortRejected.length, afterAbort.length, Math.max(baseRate ?? 0, 0.01));
  // Or nearly every one of many refused, beyond any chance, where a full cache (not yet fitted: the
  // limits come after) makes the base rate high: 42 of 42 against 63 % (one in 10^8) in a farm with
  // a cache of 50, whose purges then read as its refusals, the cache as 53.
  const purgeDetected = afterAbort.length >= 2 && abortRate >= 0.8 && abortRate - (baseRate ?? 0) >= 0.4 && tail < 0.01 ||
    afterAbort.length >= 10 && abortRate >= 0.95 && tail < 1e-6;
  // Detected: the share of the offers the base rate would have let through that the aborts turned
  // into refusals, by how many there were. Against the plain difference of rates, 90 of 90 refused
  // where a full LRU cache refused half of the others read as confidence 0.50 (simulated).
  const excess = baseRate === null ? abortRate : baseRate >= 1 ? 0 : Math.max(0, (abortRate - baseRate) / (1 - baseRate));
  const purgeConfidence = purgeDetected ? round2((1 - Math.exp(-afterAbort.length / 4)) * excess) : afterAbort.length >= 3 ? round2((1 - Math.exp(-afterAbort.length / 4)) * (1 - abortRate)) : 0;
  if (purgeDetected) {
    for (const o of abortRejected) {
      if (verdicts.has(o)) continue;
      const by = t.abortedByOf(o);
      verdicts.set(o, 'purged-after-abort', `${by !== null ? `connection ${by}` : 'a connection of an earlier analysis (the state carried in)'} offered this session and was aborted before its handshake finished; the server dropped the session`);
    }
  }
  return {
    detected: purgeDetected,
    confidence: purgeConfidence,
    // Connections of this analysis only: an abort carried in names none.
    evidence: firstIds(select(afterAbort, (o) => t.abortedByOf(o) !== null), (o) => t.abortedByOf(o)!),
    rejectedAfterAbort: abortRejected.length,
    offersAfterAbort: afterAbort.length,
    baseRejectionRate: baseRate === null ? null : round2(baseRate),
  };
}

/**
 * Whether a group that purges on abort frees the purged sessions' places in its cache: the churn
 * without them (SessionTable.abortedNewerOf), or for a cache that evicts the least recently used
 * the place in its list without them (abortedUsedSinceOf), parts the accepted offers from the
 * refused ones with fewer exceptions than either measure with them. Caches differ: OpenSSL's own
 * counts the sessions it holds, so a purge lets an older session stay longer (a simulated cache of
 * 50 read as 53 with the purges counted), and so does Java's LRU cache, which removes an
 * invalidated session (an LRU cache of 60 read as 66); HAProxy's keeps each session's turn in its
 * ring, purged or not (`haproxy-purge-fifo-cache.pcap`: a session outlived its 9 newer issues, 4
 * of them purged, and went with the tenth).
 */
export function purgesFreePlaces(t: SessionTable, known: Int32Array, verdicts: Verdicts): boolean {
  const accepted = (o: number) => t.isAccepted(o);
  const open = select(known, (o) => t.isAccepted(o) || !verdicts.has(o));
  // The plain measures, whatever an issuing group inferred before (a ticket offered to another group).
  const fifo = select(open, (o) => t.churnOf(o) !== null);
  const lru = select(open, (o) => t.recencyOf(o) !== null);
  const churn = (o: number) => t.churnOf(o)! + t.purgedNewerOf(o);
  const place = (o: number) => t.recencyOf(o)! + t.purgedUsedSinceOf(o);
  const refused = (offers: Int32Array) => offers.some((o) => !t.isAccepted(o));
  if (!refused(fifo) && !refused(lru)) return false;
  const withPurged = Math.min(exceptionsAtBestEdge(fifo, churn, accepted), exceptionsAtBestEdge(lru, place, accepted));
  const withoutPurged = Math.min(exceptionsAtBestEdge(fifo, (o) => churn(o) - t.abortedNewerOf(o), accepted),
    exceptionsAtBestEdge(lru, (o) => place(o) - t.abortedUsedSinceOf(o), accepted));
  return withoutPurged < withPurged;
}

/** The fewest offers on the wrong side of any one edge: refused at or below it, or accepted above it. */
function exceptionsAtBestEdge(offers: Int32Array, churn: (o: number) => number, accepted: (o: number) => boolean): number {
  const sorted = Array.from(offers, (o) => ({ churn: churn(o), accepted: accepted(o) })).sort((a, b) => a.churn - b.churn);
  let acceptedAbove = sorted.filter((x) => x.accepted).length;
  let refusedAtOrBelow = 0;
  // The edge below every offer, then after each run of equal churns.
  let best = acceptedAbove;
  for (let i = 0; i < sorted.length;) {
    const edge = sorted[i]!.churn;
    for (; i < sorted.length && sorted[i]!.churn === edge; i++) {
      if (sorted[i]!.accepted) acceptedAbove--;
      else refusedAtOrBelow++;
    }
    best = Math.min(best, acceptedAbove + refusedAtOrBelow);
  }
  return best;
}
