import type { SessionTable } from '../session/session-table.js';
import { formatDuration } from './format.js';
import { partitionedCache } from './partitioned-cache.js';
import { estimateLimitOf, pickValue, round2, type Estimate } from './threshold.js';
import type { CachePolicy, Eviction } from './types.js';
import { count, select, soFarAt } from './offer-lists.js';
import type { Verdicts } from './verdicts.js';

/** Two limits whose exceptions together are at most this share of the open refusals explain them (twoLimitsExplain). */
const TWO_LIMITS_EXCEPTIONS = 0.1;

const CAPACITY_NICE = [
  50, 100, 128, 200, 250, 256, 300, 400, 500, 512, 1000, 1024, 2000, 2048, 2500, 4096, 5000, 8192, 10000, 16384,
  20000, 32768, 50000, 65536, 100000, 131072, 200000, 262144, 500000, 1000000,
];

/**
 * Time and size limits, fitted on what is not yet explained. The limit that explains
 * its rejections with the fewest exceptions goes first (idle time, age and churn all grow
 * with time, so the wrong one fits too, only worse).
 * `known`: the group's offers of sessions seen issued or used; `rejected`: its refusals.
 */
export function fitLimits(t: SessionTable, offers: Int32Array, known: Int32Array, rejected: Int32Array, verdicts: Verdicts): Pick<CachePolicy, 'idleTimeout' | 'lifetime' | 'capacity'> {
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
      // The open offers: accepted ones, and rejections nothing explained yet.
      if (t.isAccepted(o)) fitValues[a++] = x;
      else if (!verdicts.has(o)) fitValues[--r] = x;
    }
    return limit === 'capacity' || limit === 'lru-capacity'
      ? estimateLimitOf(fitValues.subarray(0, a), fitValues.subarray(r), CAPACITY_NICE, { wholeNumbers: true })
      : estimateLimitOf(fitValues.subarray(0, a), fitValues.subarray(r));
  };
  /**
   * Whether two of these limits together leave few open refusals within both and no more than few
   * acceptances past either: then each one's exceptions are the other's refusals, not a cache
   * evicting in parts, whose band of churn would take them all with "no exception" (farm 5:9 of
   * `sweep.js --lru`: a 300 s idle timeout and an LRU cache of 50, each alone ~40 exceptions,
   * read as a cache in parts of 61 with no idle timeout, 134 of its refusals given to that cache).
   */
  const twoLimitsExplain = (limits: Limit[]): boolean => {
    const shown = limits.filter((l) => estimates[l].seconds !== null && estimates[l].high !== null);
    // Only where no limit alone explains them (partitionedCache looks for a band then).
    if (shown.length < 2 || shown.some((l) => estimates[l].exceptions <= TWO_LIMITS_EXCEPTIONS * estimates[l].rejectedAbove)) return false;
    for (let i = 0; i < shown.length; i++) {
      for (let j = i + 1; j < shown.length; j++) {
        const [a, b] = [shown[i]!, shown[j]!];
        const [va, vb] = [valuesOf(a), valuesOf(b)];
        const [ha, hb] = [estimates[a].high!, estimates[b].high!];
        let refused = 0;
        let exceptions = 0;
        for (let k = 0; k < known.length; k++) {
          const o = known[k]!;
          const past = va[k]! >= ha || vb[k]! >= hb;
          if (t.isAccepted(o)) {
            if (past) exceptions++;
          } else if (!verdicts.has(o)) {
            refused++;
            if (!past) exceptions++;
          }
        }
        if (refused > 0 && exceptions <= TWO_LIMITS_EXCEPTIONS * refused) return true;
      }
    }
    return false;
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
    const inParts = pending.includes('capacity') && !twoLimitsExplain(pending.filter((l) => l !== 'capacity'))
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
      if (verdicts.has(o)) continue;
      const x = measure[best](o);
      if (x === null && best === 'capacity') {
        // A session issued before the capture: its churn is not known, but more sessions were
        // issued since than the cache holds, so a FIFO cache had evicted it. Left open, its
        // refusal would go to the next limit fitted: idle time grows with churn, and a cache of
        // 100 with no idle timeout got "dropped after 1m49s idle" from a 5-minute slice.
        const least = t.churnAtLeastOf(o);
        if (least > e.high!) {
          verdicts.set(o, 'capacity', `issued before the capture, and ${newerSessionsText(t, o, `${least - 1} or more`)} (inferred cache size ${e.seconds}${eviction === 'partitioned' ? ', in parts' : ''})`);
        }
        continue;
      }
      if (x === null || x <= e.low!) continue;
      verdicts.set(o, best === 'lru-capacity' ? 'capacity' : best, limitDetail(t, o, best, x, e, eviction));
    }
  }
  const idleTimeout = estimates['idle-timeout'];
  const lifetime = estimates.lifetime;
  const sizeLimit = eviction === 'lru' ? estimates['lru-capacity'] : estimates.capacity;
  const capacity = { ...sizeLimit, entries: sizeLimit.seconds, eviction };
  return { idleTimeout, lifetime, capacity };
}

/**
 * A time limit behind backends that do not share a cache. Balanced at random over k backends, an
 * offer is refused by the wrong backend k−1 times in k whatever its idle time or age, so a limit's
 * edge comes with refusals below it and fitLimits finds none; the balancer's steady rate then took
 * every refusal (simulated 3 backends at a VIP with a 300 s idle timeout: "idle timeout not
 * reached", 5 backends, and a shared cache said to save 367 where at most 209 were within the
 * timeout). Evidence of a limit at X: every offer past the largest accepted value X is refused. Were
 * offers accepted at the rate `a` seen below X whatever their value, n offers past X would all be
 * refused with chance (1 − a)^n; a limit is taken when that is below one in a million (three
 * measures tried in each group, see MAX_TAIL_CHANCE) and n is at least 8. Only a limit fitLimits
 * left open (seconds null) is looked for; the refusals past it get its verdict, the rest stay for
 * the balancer. Churn (a cache's size) is tried alike: two backends with caches of 50 behind a VIP
 * had read as an idle timeout and a lifetime.
 */
export function fitLimitsBehindBalancer(t: SessionTable, known: Int32Array, verdicts: Verdicts, limits: Pick<CachePolicy, 'idleTimeout' | 'lifetime' | 'capacity'>): Pick<CachePolicy, 'idleTimeout' | 'lifetime' | 'capacity'> {
  const result = { ...limits };
  type Key = 'idleTimeout' | 'lifetime' | 'capacity' | 'lruCapacity';
  const measures: Record<Key, (o: number) => number | null> = {
    idleTimeout: (o) => t.reuseGapOf(o),
    lifetime: (o) => t.ageOf(o),
    // Churn counts the whole group's issues: behind a balancer each backend's cache holds its
    // share of them, so the size is the group's (see the finding's text).
    capacity: (o) => t.churnOf(o),
    // The place by last use in the group's list, for caches that evict the least recently used
    // session: likewise each backend's list holds its share. Without it, two backends with LRU
    // caches of 50 under steady load read as "dropped after 2m45s idle" (simulated: the place
    // parts same-backend refusals from acceptances with 54 misfits, idle time with 86).
    lruCapacity: (o) => t.recencyOf(o),
  };
  const slotOf = (key: Key) => (key === 'lruCapacity' ? 'capacity' : key);
  // Idle time, age and churn all grow with time: each limit's refusals show as a tail in the
  // others too. The least likely tail is the limit; then the others are tried on what is left.
  for (;;) {
    let best: { key: Key; tail: Tail } | null = null;
    for (const key of ['idleTimeout', 'lifetime', 'capacity', 'lruCapacity'] as const) {
      if (result[slotOf(key)].seconds !== null) continue;
      const tail = tailPastLargestAccepted(t, known, verdicts, measures[key], key === 'capacity' || key === 'lruCapacity');
      if (tail !== null && (best === null || tail.chance < best.tail.chance)) best = { key, tail };
    }
    if (best === null) return result;
    const { key, tail } = best;
    const measure = measures[key];
    const low = tail.largestAccepted;
    if (key === 'capacity' || key === 'lruCapacity') result.capacity = { ...tail.estimate, entries: tail.estimate.seconds, eviction: key === 'capacity' ? 'fifo' : 'lru' };
    else result[key] = tail.estimate;
    const limit = key === 'idleTimeout' ? 'idle-timeout' : key === 'lifetime' ? 'lifetime' : 'capacity';
    const value = tail.estimate.seconds!;
    const behind = 'behind backends that refuse others\' sessions at a steady rate';
    for (const o of known) {
      const x = measure(o);
      // Below the value inferred, a refusal is the balancer's: "idle 4m58s > inferred idle timeout
      // 5m00s" had said otherwise of the refusals between the last acceptance and the limit.
      if (t.isAccepted(o) || verdicts.has(o) || x === null || x <= low || x < value) continue;
      verdicts.set(o, limit, key === 'idleTimeout' ? `idle ${formatDuration(x)} > inferred idle timeout ${formatDuration(value)} (no offer idle longer than ${formatDuration(low)} was accepted, ${behind})`
        : key === 'lifetime' ? `age ${formatDuration(x)} > inferred lifetime ${formatDuration(value)} (no session older than ${formatDuration(low)} was accepted, ${behind})`
          : key === 'capacity' ? `${newerSessionsText(t, o, x - 1)} (inferred cache size ${value}: no session with more than ${low - 1} newer ones was accepted, ${behind})`
            : `${usedSinceText(t, o, x - 1)} (inferred cache size ${value}, least recently used evicted first: no session with more than ${low - 1} others used since its last use was accepted, ${behind})`);
    }
  }
}

interface Tail {
  largestAccepted: number;
  chance: number;
  estimate: Estimate;
}

/** The refusals past the largest accepted value of `measure`, when so many that chance is unlikely (see fitLimitsBehindBalancer). */
function tailPastLargestAccepted(t: SessionTable, known: Int32Array, verdicts: Verdicts, measure: (o: number) => number | null, wholeNumbers: boolean): Tail | null {
  // One pass without lists first: most groups have no such tail (a few refusals left, or none).
  let accepted = 0;
  let largestAccepted = -Infinity;
  for (const o of known) {
    if (!t.isAccepted(o)) continue;
    const x = measure(o);
    if (x === null) continue;
    accepted++;
    if (x > largestAccepted) largestAccepted = x;
  }
  // Only where the rest is refused at a steady rate: acceptances, and many refusals left.
  if (accepted < MIN_BALANCED_ACCEPTED) return null;
  let firstPast = 0;
  let past = 0;
  for (const o of known) {
    if (t.isAccepted(o) || verdicts.has(o)) continue;
    const x = measure(o);
    if (x === null) continue;
    if (x <= largestAccepted) firstPast++;
    else past++;
  }
  const acceptRate = accepted / (accepted + firstPast);
  if (past < MIN_PAST_LIMIT || acceptRate >= 1) return null;
  const chance = Math.pow(1 - acceptRate, past);
  if (chance > MAX_TAIL_CHANCE) return null;
  // The first refusals past X may be the balancer's too: the limit lies below the value past
  // which a run of refusals that long would be unlikely by chance (1 in 20) at the rate `a`.
  const pastValues = new Float64Array(past);
  let p = 0;
  for (const o of known) {
    if (t.isAccepted(o) || verdicts.has(o)) continue;
    const x = measure(o);
    if (x !== null && x > largestAccepted) pastValues[p++] = x;
  }
  pastValues.sort();
  const plausibleRun = plausibleRunOfRefusals(1 - acceptRate);
  const high = pastValues[Math.min(past - 1, plausibleRun)]!;
  return {
    largestAccepted,
    chance,
    estimate: {
      seconds: wholeNumbers ? pickValue(largestAccepted, high - 1, CAPACITY_NICE) : pickValue(largestAccepted, high),
      low: largestAccepted,
      high,
      rejectedAbove: past,
      acceptedBelow: accepted,
      // The refusals within the limit are the balancer's steady rate, which the shared-cache
      // estimate explains: no exception to this limit (counted as such, the finding called it
      // "not sharp", as if the server's clock were coarse).
      exceptions: 0,
      confidence: round2((1 - (chance / MAX_TAIL_CHANCE) * 0.5) * (1 - Math.exp(-past / 4)) * (1 - Math.exp(-accepted / 8))),
    },
  };
}

const MIN_BALANCED_ACCEPTED = 8;
const MIN_PAST_LIMIT = 8;
/**
 * The tail's chance under a balancer alone. Not 1 in 400: X is where the data put it, three measures
 * are tried in every group, and a farm has many groups; 6 backends with no limit at all gave "sessions
 * expire after 12m39s" (critical) from 35 refusals past the oldest accepted ((5/6)^35 = 0.0017). Real
 * limits leave long tails: 158 refusals past a 300 s timeout behind 3 backends ((2/3)^158 ≈ 1e-28).
 */
export const MAX_TAIL_CHANCE = 1e-6;
const PLAUSIBLE_RUN_CHANCE = 0.05;

/** The longest run of refusals that refusals at `rate` give by chance more often than PLAUSIBLE_RUN_CHANCE. */
function plausibleRunOfRefusals(rate: number): number {
  return Math.floor(Math.log(PLAUSIBLE_RUN_CHANCE) / Math.log(rate));
}

/**
 * A session cache and tickets are two stores: a cache of session IDs (its idle timeout, its size)
 * and tickets the client carries (opened while their key and lifetime last; RFC 5077 §4). Where a
 * group gets enough offers of both, each kind's limits are fitted on its own offers: pooled, a
 * ticket accepted after 17 minutes idle contradicted the cache's 5-minute timeout, and 124
 * refusals were "unexplained" (simulated server with both). The policy keeps, for each limit,
 * the kind that shows it, marked with `appliesTo`; one both show is the group's (the more
 * certain fit), unmarked.
 */
export function fitLimitsByKind(t: SessionTable, offers: Int32Array, known: Int32Array, rejected: Int32Array, verdicts: Verdicts): Pick<CachePolicy, 'idleTimeout' | 'lifetime' | 'capacity'> {
  const isSessionId = (o: number) => t.kindOf(o) === 'session-id';
  const knownIds = count(known, isSessionId);
  if (knownIds < MIN_OFFERS_OF_EACH_KIND || known.length - knownIds < MIN_OFFERS_OF_EACH_KIND) return fitLimits(t, offers, known, rejected, verdicts);
  const parts = [true, false].map((ids) => {
    const keep = (o: number) => isSessionId(o) === ids;
    const fitted = fitLimits(t, select(offers, keep), select(known, keep), select(rejected, keep), verdicts);
    const appliesTo = ids ? 'session-ids' as const : 'tickets' as const;
    return {
      idleTimeout: { ...fitted.idleTimeout, appliesTo },
      lifetime: { ...fitted.lifetime, appliesTo },
      capacity: { ...fitted.capacity, appliesTo },
    };
  });
  const [ids, tickets] = parts as [typeof parts[0], typeof parts[0]];
  const withoutKind = <E extends Estimate>(e: E): E => {
    const { appliesTo: _kind, ...rest } = e;
    return rest as E;
  };
  const pick = <E extends Estimate>(a: E, b: E): E => {
    // Both kinds show it (OpenSSL checks a ticket's session against the same timeout): one limit.
    if (a.seconds !== null && b.seconds !== null) return withoutKind(a.confidence >= b.confidence ? a : b);
    if (a.seconds !== null) return a;
    if (b.seconds !== null) return b;
    // Shown by neither: what both prove, the lower of the two bounds, for both kinds.
    return withoutKind((a.low ?? -Infinity) <= (b.low ?? -Infinity) ? a : b);
  };
  return { idleTimeout: pick(ids.idleTimeout, tickets.idleTimeout), lifetime: pick(ids.lifetime, tickets.lifetime), capacity: pick(ids.capacity, tickets.capacity) };
}
const MIN_OFFERS_OF_EACH_KIND = 20;

/**
 * A refusal past two limits got the one fitted first; the session died of whichever came first in
 * time. The moment each limit took it: its last use plus the idle timeout, its issue plus the
 * lifetime, and for a FIFO cache the first offer that saw more sessions issued from it on than
 * the cache holds (a bound from above: the eviction came at or before it). The simulator's truth
 * is the first: two limits at once (an idle timeout of 300 s and a cache of 50, of 600 s and of
 * 200) had 55–78 refusals per farm of the one given to the other. An LRU cache's eviction is known
 * between two bounds only (uses are counted, not which sessions they were): the cache is taken
 * from another limit where it came before that limit's moment at the latest, and given up for one
 * whose moment came before its earliest (farm 5:9 of `sweep.js --lru`: a 300 s idle timeout and an
 * LRU cache of 50, 134 of the timeout's refusals given to the cache). `offers`: the group's, in time order.
 */
export function firstLimitInTime(t: SessionTable, offers: Int32Array, rejected: Int32Array, limits: Pick<CachePolicy, 'idleTimeout' | 'lifetime' | 'capacity'>, verdicts: Verdicts): void {
  const { idleTimeout, lifetime, capacity } = limits;
  const shown = (e: Estimate, o: number) => limitShownFor(t, e, o);
  const fifo = capacity.eviction === 'fifo' || capacity.eviction === 'unknown';
  const lru = capacity.eviction === 'lru';
  if ([idleTimeout, lifetime, capacity].filter((e) => e.seconds !== null).length < 2) return;
  const issued = (o: number) => t.issuedSoFarOf(o);
  const uses = (o: number) => t.usesSoFarOf(o);
  // The first offer (in time order) that saw at least `count` sessions issued (or uses): a binary search.
  const firstIndexSeeing = (count: number, soFar: (o: number) => number): number => {
    let lo = 0, hi = offers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (soFar(offers[mid]!) < count) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const firstSeeing = (count: number, soFar = issued): number => {
    const k = firstIndexSeeing(count, soFar);
    return k < offers.length ? t.timeOf(offers[k]!) : Infinity;
  };
  // The last offer that had seen fewer than `count` uses: the count came after it.
  const lastBefore = (count: number): number => {
    const k = firstIndexSeeing(count, uses) - 1;
    return k >= 0 ? t.timeOf(offers[k]!) : -Infinity;
  };
  for (const o of rejected) {
    const given = verdicts.reasonOf(o);
    if (given !== 'idle-timeout' && given !== 'lifetime' && given !== 'capacity') continue;
    const time = t.timeOf(o);
    const gap = t.reuseGapOf(o);
    const age = t.ageOf(o);
    const churn = t.churnOf(o);
    const causes: { reason: 'idle-timeout' | 'lifetime' | 'capacity'; at: number; detail: () => string }[] = [];
    if (gap !== null && shown(idleTimeout, o) && gap > idleTimeout.high!) {
      causes.push({ reason: 'idle-timeout', at: time - gap + idleTimeout.seconds!, detail: () => `idle ${formatDuration(gap)} > inferred idle timeout ${formatDuration(idleTimeout.seconds!)}` });
    }
    if (age !== null && shown(lifetime, o) && age > lifetime.high!) {
      causes.push({ reason: 'lifetime', at: time - age + lifetime.seconds!, detail: () => `age ${formatDuration(age)} > inferred lifetime ${formatDuration(lifetime.seconds!)}` });
    }
    if (churn !== null && fifo && shown(capacity, o) && churn > capacity.high!) {
      // Evicted once more than `entries` sessions from it on were issued: its own index is issuedSoFar − churn.
      const evicted = firstSeeing(t.issuedSoFarOf(o) - churn + capacity.entries! + 1);
      causes.push({ reason: 'capacity', at: Math.min(evicted, time), detail: () => `${newerSessionsText(t, o, churn - 1)} (inferred cache size ${capacity.entries})` });
    }
    const place = t.recencyOf(o);
    if (place !== null && gap !== null && lru && shown(capacity, o) && place > capacity.high!) {
      // Gone once N + 1 others were used after its last use (N: the size). That takes N + 1 uses
      // at least, so came after the last offer that had seen fewer than the uses by its last use
      // plus N + 1 (an offer's count leaves out its own use); and it had come once the uses since
      // a moment were fewer than the others used since its last use beyond the N + 1.
      const entries = capacity.entries!;
      const earliest = lastBefore(soFarAt(t, offers, time - gap, uses) + entries + 1);
      const latest = Math.min(time, firstSeeing(t.usesSoFarOf(o) - (place - 1) + entries + 1, uses));
      causes.push({ reason: 'capacity', at: given === 'capacity' ? Math.max(earliest, time - gap) : latest,
        detail: () => `${usedSinceText(t, o, place - 1)} (inferred cache size ${entries}, least recently used evicted first)` });
    }
    if (causes.length < 2 || !causes.some((c) => c.reason === given)) continue;
    const first = causes.reduce((a, b) => (b.at < a.at ? b : a));
    if (first.reason !== given) verdicts.set(o, first.reason, first.detail());
  }
}

/**
 * "N newer sessions were issued since", saying where the group purges on abort that N leaves out
 * the newer ones it dropped (SessionTable.purgedNewerOf): they held no place in its cache.
 */
export function newerSessionsText(t: SessionTable, o: number, newer: number | string): string {
  return `${newer} newer sessions were issued since${keptText(t.purgedNewerOf(o))}`;
}

/** "N other sessions were used since its last use", as newerSessionsText for an LRU cache's list (SessionTable.purgedUsedSinceOf). */
function usedSinceText(t: SessionTable, o: number, others: number): string {
  return `${others} other sessions were used since its last use${keptText(t.purgedUsedSinceOf(o))}`;
}

function keptText(purged: number): string {
  return purged > 0 ? ` and kept (${purged} more ${purged === 1 ? 'was' : 'were'} dropped after aborted handshakes)` : '';
}

/** The limit was found (a value and an upper bound), for the kind of session offer `o` is (see Estimate.appliesTo). */
export function limitShownFor(t: SessionTable, e: Estimate, o: number): boolean {
  return e.seconds !== null && e.high !== null && (e.appliesTo === undefined || (e.appliesTo === 'session-ids') === (t.kindOf(o) === 'session-id'));
}

/** The verdict detail of refusal `o`, `x` past limit `e` (fitLimits). */
function limitDetail(t: SessionTable, o: number, limit: 'idle-timeout' | 'lifetime' | 'capacity' | 'lru-capacity', x: number, e: Estimate, eviction: Eviction): string {
  return limit === 'idle-timeout' ? `idle ${formatDuration(x)} > inferred idle timeout ${formatDuration(e.seconds!)}`
    : limit === 'lifetime' ? `age ${formatDuration(x)} > inferred lifetime ${formatDuration(e.seconds!)}`
    : limit === 'capacity' && eviction === 'partitioned' ? `${newerSessionsText(t, o, x - 1)} (inferred cache size ~${e.seconds}, split into parts evicted separately: sessions went after ${e.low} to ${e.high! - 1} newer ones)`
    : limit === 'capacity' ? `${newerSessionsText(t, o, x - 1)} (inferred cache size ${e.seconds})`
    : `${usedSinceText(t, o, x - 1)} (inferred cache size ${e.seconds}, least recently used evicted first)`;
}

/**
 * A limit fitted beside refusals of another cause at a steady rate (backends behind one address
 * without a shared cache, inferred afterwards: `sameBackendShare` of the offers nothing else refused
 * reached the backend holding their session). Its edge was put at the first refusal past the
 * largest accepted value, but the first refusals past it may be the balancer's too: the limit lies
 * below the value past which a run of refusals that long would be unlikely (1 in 20) at that rate,
 * as fitLimitsBehindBalancer has it. The estimate is widened to there, and the refusals below the
 * value now inferred go to the balancer (`backendDetail`). Real HAProxy backends with caches of
 * their own and a 10 s lifetime behind a round robin (haproxy-lifetime-own-caches.pcap): the
 * oldest session resumed was 7.2 s old, the next ones refused 7.5 s old at the other backend, and
 * "a lifetime of 7.4 s" came out, three of the balancer's refusals said to be "age 7.5s > inferred
 * lifetime 7.4s". Done after the policy is settled: the flushes and the order of two limits read
 * the edge as fitted. The refusals below the limit that the balancer explains are no exceptions to
 * it, as in fitLimitsBehindBalancer: counted as such, the capture's lifetime read at confidence
 * 0.52 and its finding called the limit "not sharp" for 25 refusals at the other backend.
 * `known`: the group's offers of sessions seen issued or used.
 */
export function widenLimitsBehindBalancer(t: SessionTable, known: Int32Array, rejected: Int32Array, limits: Pick<CachePolicy, 'idleTimeout' | 'lifetime' | 'capacity'>,
  sameBackendShare: number, verdicts: Verdicts, backendDetail: (o: number) => string): void {
  const refusedElsewhere = 1 - sameBackendShare;
  if (refusedElsewhere <= 0 || refusedElsewhere >= 1) return;
  const plausibleRun = plausibleRunOfRefusals(refusedElsewhere);
  if (plausibleRun < 1) return;
  const kinds = [
    { key: 'idleTimeout', reason: 'idle-timeout', measure: (o: number) => t.reuseGapOf(o), whole: false },
    { key: 'lifetime', reason: 'lifetime', measure: (o: number) => t.ageOf(o), whole: false },
    { key: 'capacity', reason: 'capacity', measure: (o: number) => (limits.capacity.eviction === 'lru' ? t.recencyOf(o) : t.churnOf(o)), whole: true },
  ] as const;
  for (const { key, reason, measure, whole } of kinds) {
    const e = limits[key];
    // Only an edge fitted with refusals below it (exceptions), and not a cache in parts (no edge).
    if (e.seconds === null || e.low === null || e.high === null || e.exceptions === 0) continue;
    if (key === 'capacity' && limits.capacity.eviction !== 'fifo' && limits.capacity.eviction !== 'lru') continue;
    const past = select(rejected, (o) => verdicts.reasonOf(o) === reason && (measure(o) ?? -Infinity) > e.low!);
    if (past.length <= plausibleRun) continue;
    const values = Float64Array.from(past, (o) => measure(o)!).sort();
    const high = values[plausibleRun]!;
    if (high <= e.high) continue;
    const seconds = whole ? pickValue(e.low, high - 1, CAPACITY_NICE) : pickValue(e.low, high);
    if (seconds <= e.seconds) continue;
    // The refusals below the value inferred go to the balancer: fewer past the limit, more below it.
    let moved = 0;
    for (const o of past) if (measure(o)! < seconds) moved++;
    // What still contradicts the limit: offers accepted past it, and refusals within it that
    // nothing explains (the balancer's have their verdict already, or get it below).
    let acceptedAbove = 0, unexplainedBelow = 0;
    for (const o of known) {
      const x = measure(o);
      if (x === null) continue;
      if (t.isAccepted(o)) { if (x > seconds) acceptedAbove++; }
      else if (x < seconds && !verdicts.has(o)) unexplainedBelow++;
    }
    // fitLimit's confidence (threshold.ts), with the rate below the edge that of what nothing explains.
    const rejectedAbove = e.rejectedAbove - moved;
    const support = (1 - Math.exp(-rejectedAbove / 4)) * (1 - Math.exp(-e.acceptedBelow / 4));
    const rateAbove = rejectedAbove / (rejectedAbove + acceptedAbove);
    const rateBelow = unexplainedBelow / Math.max(1, e.acceptedBelow + unexplainedBelow);
    const confidence = round2(support * rateAbove * (1 - rateBelow) * (acceptedAbove === 0 ? 1 : 0.7));
    const widened = { ...e, seconds, high, rejectedAbove, exceptions: acceptedAbove + unexplainedBelow, confidence };
    if (key === 'capacity') limits.capacity = { ...limits.capacity, ...widened, entries: seconds };
    else limits[key] = widened;
    const limit = key === 'capacity' && limits.capacity.eviction === 'lru' ? 'lru-capacity' : reason;
    for (const o of past) {
      const x = measure(o)!;
      verdicts.set(o, x < seconds ? 'other-backend' : reason, x < seconds ? backendDetail(o) : limitDetail(t, o, limit, x, widened, limits.capacity.eviction));
    }
  }
}
