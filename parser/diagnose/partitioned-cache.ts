import type { SessionTable } from '../session/session-table.js';
import { select } from './offer-lists.js';
import { estimateLimitOf, round2, type Estimate } from './threshold.js';
import type { Verdicts } from './verdicts.js';

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
export function partitionedCache(t: SessionTable, offers: Int32Array, verdicts: Verdicts, otherFits: readonly Estimate[]): Estimate | null {
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
    // Accepted values from the front, refused from the back (as fitLimits does).
    let a = 0;
    let r = inBand.length;
    for (const o of inBand) {
      const x = measure(o);
      if (x === null) continue;
      if (t.isAccepted(o)) values[a++] = x;
      else values[--r] = x;
    }
    const timeLimit = estimateLimitOf(values.subarray(0, a), values.subarray(r), undefined, { rulingOut: true });
    if (timeLimit.seconds !== null && timeLimit.exceptions <= TIME_LIMIT_EXCEPTIONS * refusedInBand) return null;
  }
  if (explainedByTwoTimeLimits(t, inBand, values, refusedInBand)) return null;
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
  // Confidence as a fit's (see fitLimit in threshold.ts), lowered by the refusals in the band's lower half.
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
/**
 * An idle timeout and a lifetime together: each alone leaves the other's refusals as exceptions,
 * and so neither rules the band out above; the band (no exceptions: it is the model) then won
 * the fit. Simulated idle timeout of 600 s with a lifetime of 1800 s: "a cache of about 47
 * sessions, in parts", critical at confidence 0.9, for 137 idle and 37 lifetime refusals.
 * Either order: the first limit fitted to the whole band, the second to what the first leaves;
 * the pair explains the band when few offers break it (accepted past either limit, or refused
 * within both).
 */
function explainedByTwoTimeLimits(t: SessionTable, inBand: Int32Array, values: Float64Array, refusedInBand: number): boolean {
  const idle = (o: number) => t.reuseGapOf(o);
  const age = (o: number) => t.ageOf(o);
  for (const [first, second] of [[idle, age], [age, idle]] as const) {
    const one = fitTimeLimit(inBand, values, first, (o) => t.isAccepted(o), () => true);
    if (one.seconds === null) continue;
    const firstExplains = (o: number) => (first(o) ?? -Infinity) > one.low!;
    const two = fitTimeLimit(inBand, values, second, (o) => t.isAccepted(o), (o) => !firstExplains(o));
    if (two.seconds === null) continue;
    let broken = 0;
    for (const o of inBand) {
      const x = first(o) ?? -Infinity;
      const y = second(o) ?? -Infinity;
      if (t.isAccepted(o) ? x > one.high! || y > two.high! : x <= one.low! && y <= two.low!) broken++;
    }
    if (broken <= TIME_LIMIT_EXCEPTIONS * refusedInBand) return true;
  }
  return false;
}

/** A time limit fitted to the band's accepted offers and those of its refusals `open` keeps (`values`: scratch room). */
function fitTimeLimit(inBand: Int32Array, values: Float64Array, measure: (o: number) => number | null, accepted: (o: number) => boolean, open: (o: number) => boolean): Estimate {
  let a = 0;
  let r = inBand.length;
  for (const o of inBand) {
    const x = measure(o);
    if (x === null) continue;
    if (accepted(o)) values[a++] = x;
    else if (open(o)) values[--r] = x;
  }
  return estimateLimitOf(values.subarray(0, a), values.subarray(r), undefined, { rulingOut: true });
}

const MIN_BAND_REFUSALS = 5;
/** A time limit with at most this share of the band's refusals as exceptions explains the band instead. */
const TIME_LIMIT_EXCEPTIONS = 0.1;
const MIN_BAND_SHARE = 0.2;
