import type { SessionTable } from '../session/session-table.js';
import { count, firstIds, select } from './offer-lists.js';
import { binomialTail, fewerRunsThanRandom } from './statistics.js';
import { round2 } from './threshold.js';
import type { CachePolicy } from './types.js';
import type { Verdicts } from './verdicts.js';

// Does a group's cache reach all its addresses and backends? Two estimators: offers to another
// address than the issuer's, and refusals at a steady rate that nothing else explains.

/** Offers a group needs before a steady share of refusals is read as backends without a shared cache. */
export const MIN_OFFERS_FOR_BACKENDS = 12;

/** The known offers made to another address than the issuer's, and whether that address shares its cache (null: cannot tell). */
export interface CrossAddressOffers {
  cross: Int32Array;
  crossRejected: Int32Array;
  sharedAcross: boolean | null;
}

/** Offered to another address than the issuer: does that address share the cache? */
export function inferCrossAddressSharing(t: SessionTable, known: Int32Array, verdicts: Verdicts): CrossAddressOffers {
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
  return { cross, crossRejected, sharedAcross };
}

/** The verdict detail of a refusal by one of `backends` backends behind one address (inferSharedCache). */
export function steadyRateDetail(t: SessionTable, o: number, acceptRate: number, backends: number): string {
  return `rejected at a steady rate (${Math.round((1 - acceptRate) * 100)}% of offers, independent of idle time): about ${backends} backends behind ${t.serverAddressOf(o).replace('|', ':')} without a shared cache`;
}

/**
 * Rejections that no time, size or event explains, at a steady rate: several backends
 * behind one address without a shared cache (random balancing accepts ~1/k).
 * Asked once the limits and flushes took what they explain; `crossAddress` from inferCrossAddressSharing.
 */
export function inferSharedCache(t: SessionTable, known: Int32Array, crossAddress: CrossAddressOffers, verdicts: Verdicts): CachePolicy['sharedCache'] {
  const { cross, crossRejected, sharedAcross } = crossAddress;
  const remaining = select(known, (o) => t.isAccepted(o) || !verdicts.has(o));
  const unexplained = select(remaining, (o) => !t.isAccepted(o));
  let backends: number | null = null;
  let sameBackendShare: number | null = null;
  let sharedConfidence = 0;
  let shared: boolean | null = sharedAcross;
  // Random balancing also mixes the outcomes in time; rejections in a block are an event instead.
  if (remaining.length >= MIN_OFFERS_FOR_BACKENDS && unexplained.length >= 4 && !outcomesClustered(t, remaining)) {
    const acceptRate = (remaining.length - unexplained.length) / remaining.length;
    // Random balancing over k backends accepts about 1/k: only a rate that fits k >= 2.
    if (acceptRate > 0.05 && Math.round(1 / acceptRate) >= 2) {
      backends = Math.max(2, Math.round(1 / acceptRate));
      sameBackendShare = round2(acceptRate);
      shared = false;
      sharedConfidence = round2((1 - Math.exp(-unexplained.length / 8)) * Math.min(1, (1 - acceptRate) * 2));
      for (const o of unexplained) verdicts.set(o, 'other-backend', steadyRateDetail(t, o, acceptRate, backends));
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
  return {
    shared, backends, confidence: sharedConfidence, crossAddressOffers: cross.length, crossAddressRejected: crossRejected.length,
    evidence: firstIds(crossRejected, (o) => t.connectionOf(o).id), sameBackendShare,
  };
}

/**
 * Whether the accepted and rejected offers of `offers` (in time order) come in far fewer runs
 * than a random order would give (Wald-Wolfowitz runs test, one-sided, z < -3.09: p < 0.1 %).
 * Offers balanced at random over backends interleave; a cache emptied once, or a backend down
 * for a while, puts the rejections in a block (real nginx restart: 3 runs where ~12 were due).
 */
function outcomesClustered(t: SessionTable, offers: Int32Array): boolean {
  return fewerRunsThanRandom(offers.length, (i) => t.isAccepted(offers[i]!));
}
