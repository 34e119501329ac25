import type { SessionTable } from '../session/session-table.js';
import { formatDuration, isoTime } from './format.js';
import { count, select, soFarAfter, soFarAt, spanIndex, valuesOf } from './offer-lists.js';
import { binomialTail } from './statistics.js';
import type { CachePolicy } from './types.js';
import type { Estimate } from './threshold.js';
import { limitShownFor, MAX_TAIL_CHANCE } from './limits.js';
import type { Verdicts } from './verdicts.js';

/**
 * Flush: a time F such that offers of sessions last used before F and made after F are
 * all rejected, while such offers straddling no F are accepted. Greedy, one flush at a time.
 */
export function findFlushes(t: SessionTable, offers: Int32Array, verdicts: Verdicts, carriedFlushes: readonly { low: number; time: number }[],
  vetoed: readonly { low: number; time: number }[] = []): CachePolicy['flushes'] {
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
  // Largest idle time, age, churn and place by last use (in an LRU cache's list) the group accepted (null: none measured).
  const limits = [(o: number) => t.reuseGapOf(o), (o: number) => t.ageOf(o), (o: number) => t.churnOf(o), (o: number) => t.recencyOf(o)];
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
   * Whether, where offers are refused at a steady rate whatever their idle time, age and churn
   * (backends without a shared cache: two in three behind three), limits and that rate explain these
   * rejections as well as a moment does. A measure (idle time, age, churn, place by last use) shows
   * a limit where so many offers at other moments were refused past the largest value the group
   * accepted that the steady rate cannot account for them (MAX_TAIL_CHANCE, as behind balancers in
   * limits.ts); the moment's refusals within every such limit must then stand out on their own.
   * (Simulated, three backends and a 300 s idle timeout: long-idle sessions crossed a moment with no
   * acceptance by chance, 90 refusals, 79 of them past the timeout, 11 within it, where 67 % were
   * refused at other moments.) A measure without such a tail sets nothing apart: sessions that cross
   * a restart are the ones idle longest, past the longest idle time a third of the offers accepted
   * reached (real HAProxy, three backends restarted: 19 of 41 refusals idle past it, which no other
   * moment's refusals made a limit of). Where refusals are rare, a flush's youngest sessions stand
   * out, however few.
   */
  const aSteadyRateExplains = (rejected: Int32Array, moment: number, contradicting: number): boolean => {
    if (accepted.length < 3) return false;
    const crosses = (o: number) => lastUseOf(o) < moment && t.timeOf(o) >= moment;
    let others = 0;
    let othersRefused = 0;
    const refusedPast = limits.map(() => 0);
    const refusedWithin = limits.map(() => 0);
    for (const o of offers) {
      if (t.reuseGapOf(o) === null || crosses(o)) continue;
      others++;
      if (t.isAccepted(o)) continue;
      othersRefused++;
      limits.forEach((measure, k) => {
        const x = measure(o);
        const largest = acceptedUpTo[k]!;
        if (x !== null && largest !== null) {
          if (x > largest) refusedPast[k]!++;
          else refusedWithin[k]!++;
        }
      });
    }
    if (others < MIN_EVIDENCE_BELOW_FLUSH || (othersRefused + 1) / (others + 2) < STEADY_REFUSAL_RATE) return false;
    const shown = limits.map((_, k) => {
      const acceptRate = accepted.length / (accepted.length + refusedWithin[k]!);
      return refusedPast[k]! > 0 && Math.pow(1 - acceptRate, refusedPast[k]!) < MAX_TAIL_CHANCE;
    });
    const withinLimits = (o: number) => limits.every((measure, k) => {
      const x = measure(o);
      const largest = acceptedUpTo[k]!;
      return !shown[k] || x === null || largest === null || x <= largest;
    });
    let usualOffers = 0;
    let usualRefused = 0;
    for (const o of offers) {
      if (t.reuseGapOf(o) === null || crosses(o) || !withinLimits(o)) continue;
      usualOffers++;
      if (!t.isAccepted(o)) usualRefused++;
    }
    const usualRate = (usualRefused + 1) / (usualOffers + 2);
    const within = count(rejected, withinLimits);
    return binomialTail(within, within + contradicting, usualRate) > FLUSH_SIGNIFICANCE;
  };
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
    let younger = 0;
    let youngerRefused = 0;
    for (const o of open) {
      const churn = t.churnOf(o);
      if (churn === null || inFlush.has(o)) continue;
      const refused = !t.isAccepted(o);
      if (churn < smallest) {
        younger++;
        if (refused) youngerRefused++;
        continue;
      }
      others++;
      if (refused) othersRefused++;
    }
    // Refused as often below that churn, the refusals do not grow with churn: no cache size, but
    // backends without a shared cache, which refuse at their steady rate whatever the churn.
    // (Simulated: three backends behind round-robin, each refusing 67 % at churn 0–24 and 67 %
    // from 25 up; the restart's 200 refusals in a row went unfound, put down to other backends.)
    const steady = younger >= MIN_EVIDENCE_BELOW_FLUSH && youngerRefused >= FLUSH_LIKE_CAPACITY * younger;
    return !steady && others >= MIN_EVIDENCE_OUTSIDE_FLUSH && othersRefused >= FLUSH_LIKE_CAPACITY * others;
  };
  const group = offers.length > 0 ? t.groupOf(offers[0]!) : null;
  /**
   * Whether the key names show keys replaced at the moment (RFC 5077 §4: a ticket begins with the
   * name of its key): every refusal a ticket or PSK identity under a key last sealed with before the
   * moment and opened by none of the accepted offers after it, and a key first sealed with after
   * those took over by the last refusal. A limit may fit the refusals as well (nothing resumed after
   * the restart, so each refusal is "idle" longer than every acceptance), but the keys say what
   * happened: real s_server restarted with a new random key a second before the capture ended read
   * as "sessions are dropped after 1.0s idle" (tls12-ticket-key-restart-at-end.pcap).
   */
  const keysReplacedAt = (rejected: Int32Array, moment: number): boolean => {
    if (group === null || !group.namesTicketKeys()) return false;
    const oldKeys = new Set<string>();
    let lastRefusal = -Infinity;
    for (const o of rejected) {
      const name = t.kindOf(o) === 'session-id' ? null : t.offeredTicketKeyNameOf(o);
      if (name === null) return false;
      oldKeys.add(name);
      lastRefusal = Math.max(lastRefusal, t.timeOf(o));
    }
    let oldSealedUntil = -Infinity;
    for (const name of oldKeys) oldSealedUntil = Math.max(oldSealedUntil, group.ticketKeyLastIssue.get(name) ?? -Infinity);
    if (oldSealedUntil >= moment) return false;
    for (const o of accepted) {
      if (t.timeOf(o) >= moment && t.kindOf(o) !== 'session-id' && oldKeys.has(t.offeredTicketKeyNameOf(o) ?? '')) return false;
    }
    for (const [name, first] of group.ticketKeyFirstIssue) {
      if (!oldKeys.has(name) && first > oldSealedUntil && first <= lastRefusal + NEW_KEY_SLACK) return true;
    }
    return false;
  };
  /** Whether most of the `count` refusals whose span crosses `moment` also cross a vetoed flush's moment. */
  const mostlyVetoed = (candidates: Int32Array, moment: number, count: number): boolean => vetoed.some((v) => {
    let both = 0;
    for (const o of candidates) {
      const last = lastUseOf(o);
      if (last < moment && t.timeOf(o) >= moment && last <= v.low && t.timeOf(o) >= v.time) both++;
    }
    return both * 2 > count;
  });
  for (let round = 0; round < 10; round++) {
    const candidates = select(offers, (o) => !t.isAccepted(o) && !verdicts.has(o) && t.reuseGapOf(o) !== null);
    if (candidates.length < 3) break;
    // Candidate moments: just before each unexplained rejection (the earliest after a flush bounds
    // it), and just after each one's last use (the latest before a flush bounds it). Where sessions
    // are issued and resumed between the restart and its first refusal, those resumptions cross
    // every moment of the first kind: simulated, a busy LRU cache restarted, five sessions last used
    // 21 to 96 s before it refused, each moment of theirs crossed by a session issued since.
    const rejectedSpans = spanIndex(candidates, lastUseOf, timeOf);
    acceptedSpans ??= spanIndex(accepted, lastUseOf, timeOf);
    const times = new Float64Array(2 * candidates.length);
    times.set(valuesOf(candidates, timeOf));
    times.set(valuesOf(candidates, (o) => lastUseOf(o) + JUST_AFTER), candidates.length);
    times.sort();
    let best: { time: number; count: number } | null = null;
    for (let i = 0; i < times.length; i++) {
      const moment = times[i]!;
      if (i > 0 && moment === times[i - 1]) continue;
      const count = rejectedSpans.containing(moment);
      if (count < 3 || (best && count <= best.count)) continue;
      // A moment the limits showed to be no flush (unconfirmedFlushes) is not taken again, nor one a
      // little later that most of the same refusals cross (it came back a second later otherwise).
      if (vetoed.length > 0 && mostlyVetoed(candidates, moment, count)) continue;
      const contradicting = acceptedSpans.containing(moment);
      if (contradicting > count * 0.05) continue;
      // So many rejections in a row must be unlikely at the usual rejection rate: many
      // moments are tried, hence the strict bound. The usual rate is that of the offers whose
      // span does not cross the moment (add-one smoothed): counting the flush's own rejections
      // in it, a restart that cost 8 of 24 offers set the bar at 33 % and was missed (real nginx).
      const otherRejected = candidates.length - count;
      const otherAccepted = accepted.length - contradicting;
      const usualRate = Math.max(0.01, (otherRejected + 1) / (otherRejected + otherAccepted + 2));
      if (binomialTail(count, count + contradicting, usualRate) > FLUSH_SIGNIFICANCE) continue;
      best = { time: moment, count };
    }
    if (!best) break;
    const flushAt = best.time;
    const explained = select(candidates, (o) => lastUseOf(o) < flushAt && t.timeOf(o) >= flushAt);
    if (!keysReplacedAt(explained, flushAt) && (aLimitExplains(explained) || aSteadyRateExplains(explained, flushAt, acceptedSpans.containing(flushAt)) || aCacheSizeExplains(explained, select(offers, (o) => t.isAccepted(o) || !verdicts.has(o))))) break;
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
    const flush = { time, low, sessionsLost: sessionsLost.size, evidence: Array.from(explained.subarray(0, 20), (o) => t.connectionOf(o).id) };
    if (keysReplacedAt(explained, flushAt)) FOUND_BY_KEY_NAMES.add(flush);
    flushes.push(flush);
  }
  return flushes.sort((a, b) => a.time - b.time);
}

/**
 * A flush takes every older session it finds, but some were gone before it: past the idle timeout
 * or lifetime fitted afterwards, at the latest by the limit's upper bound, or pushed out of the
 * cache by as many newer sessions (FIFO) or sessions used since (LRU), before the flush's earliest
 * moment. Those refusals are the limit's, and the flush lost fewer sessions. Simulated: a TLS 1.3
 * server with a 300 s idle timeout and a restart after 20 minutes had 132 refusals of sessions idle
 * 8 to 19 minutes, expired long before, put down to the restart; one with a cache of 50, 150
 * evicted sessions; the same with an LRU cache of 50, 150 again.
 * `offers`: the group's, in time order; `rejected`: its refusals.
 */
export function returnExpiredToLimits(t: SessionTable, offers: Int32Array, rejected: Int32Array, flushes: CachePolicy['flushes'],
  limits: Pick<CachePolicy, 'idleTimeout' | 'lifetime' | 'capacity'>, verdicts: Verdicts): void {
  if (flushes.length === 0) return;
  const { idleTimeout, lifetime, capacity } = limits;
  const applies = (e: Estimate, o: number) => limitShownFor(t, e, o);
  // A FIFO cache's size, in churn: a session is gone once more than `high` sessions from it on were issued.
  const fifo = capacity.eviction === 'fifo' || capacity.eviction === 'unknown';
  const lru = capacity.eviction === 'lru';
  // Sessions the group had issued (and uses of them) by each flush's earliest moment, at least.
  const issuedAtFlush = flushes.map((f) => soFarAt(t, offers, f.low, (o) => t.issuedSoFarOf(o)));
  const usesAtFlush = flushes.map((f) => soFarAt(t, offers, f.low, (o) => t.usesSoFarOf(o)));
  const purges = offers.length > 0 && t.groupOf(offers[0]!).purgesOnAbort;
  const lost = flushes.map(() => new Set<number>());
  const evidence: number[][] = flushes.map(() => []);
  for (const o of rejected) {
    if (verdicts.reasonOf(o) !== 'flush' || !verdicts.detailOf(o).includes(FLUSH_DETAIL)) continue;
    const gap = t.reuseGapOf(o);
    if (gap === null) continue;
    const lastUse = t.timeOf(o) - gap;
    // The flush it was given to: the first whose moment its span (last use, offer] crosses.
    const k = flushes.findIndex((f) => lastUse <= f.low && t.timeOf(o) >= f.time);
    if (k < 0) continue;
    const flush = flushes[k]!;
    const age = t.ageOf(o);
    const churn = t.churnOf(o);
    // Its place in the queue when the flush began: the sessions issued from it on until then.
    const churnAtFlush = churn === null ? null : issuedAtFlush[k]! - (t.issuedSoFarOf(o) - churn);
    // Its place in the LRU list then, at least: of the sessions used since its last use, at most
    // one per use after the flush began came after it; and every session issued between its last
    // use and the flush went in ahead of it (unless purges freed places). The first bound alone
    // says little of a session offered long after the flush: simulated, an LRU cache of 50 and a
    // restart, 86 sessions that 160 to 420 newer ones had pushed out before it were the restart's.
    const place = t.recencyOf(o);
    const issuedSinceLastUse = purges ? 0 : issuedAtFlush[k]! - soFarAfter(t, offers, lastUse, (x) => t.issuedSoFarOf(x));
    const placeAtFlush = place === null ? null : Math.max(place - (t.usesSoFarOf(o) - usesAtFlush[k]!), issuedSinceLastUse + 1);
    if (applies(idleTimeout, o) && gap > idleTimeout.high! && lastUse + idleTimeout.high! < flush.low) {
      verdicts.set(o, 'idle-timeout', `idle ${formatDuration(gap)} > inferred idle timeout ${formatDuration(idleTimeout.seconds!)}: it had expired before the cache was emptied at ${isoTime(flush.low)}`);
    } else if (age !== null && applies(lifetime, o) && age > lifetime.high! && t.timeOf(o) - age + lifetime.high! < flush.low) {
      verdicts.set(o, 'lifetime', `age ${formatDuration(age)} > inferred lifetime ${formatDuration(lifetime.seconds!)}: it had expired before the cache was emptied at ${isoTime(flush.low)}`);
    } else if (fifo && churnAtFlush !== null && applies(capacity, o) && churnAtFlush > capacity.high!) {
      verdicts.set(o, 'capacity', `${churnAtFlush - 1} newer sessions had been issued${t.purgedNewerOf(o) > 0 ? ' and kept' : ''} before the cache was emptied at ${isoTime(flush.low)} (inferred cache size ${capacity.entries}): it was gone before`);
    } else if (lru && placeAtFlush !== null && applies(capacity, o) && placeAtFlush > capacity.high!) {
      verdicts.set(o, 'capacity', `${placeAtFlush - 1} or more other sessions had been used since its last use${t.purgedUsedSinceOf(o) > 0 ? ' and kept' : ''} before the cache was emptied at ${isoTime(flush.low)} (inferred cache size ${capacity.entries}, least recently used evicted first): it was gone before`);
    } else {
      lost[k]!.add(t.sessionRowOf(o));
      if (evidence[k]!.length < 20) evidence[k]!.push(t.connectionOf(o).id);
    }
  }
  flushes.forEach((f, k) => {
    f.sessionsLost = lost[k]!.size;
    f.evidence = evidence[k]!;
  });
}

/**
 * A flush found only among what the limits left (infer-group step 6b) came after the limits had
 * taken every refusal past them, including sessions the flush emptied out of the cache while they
 * were still alive, whose next offer came past the limit too. Those are the flush's, as step 4's
 * flushes keep them: here they are handed to the flush, and returnExpiredToLimits then gives back
 * the ones that had expired before it. Simulated: a TLS 1.3 server with a 300 s idle timeout
 * restarted after 20 minutes; 47 of its 56 restart refusals had been put down to the timeout.
 */
export function claimForLateFlushes(t: SessionTable, rejected: Int32Array, late: CachePolicy['flushes'], capacity: CachePolicy['capacity'], verdicts: Verdicts): void {
  // A cache's refusals only where returnExpiredToLimits can give back the ones evicted before the
  // flush: a FIFO cache's (by churn) or an LRU cache's (by place); a partitioned cache's stay the cache's.
  const byPlace = capacity.eviction !== 'partitioned';
  for (const o of rejected) {
    const reason = verdicts.reasonOf(o);
    if (reason !== 'idle-timeout' && reason !== 'lifetime' && !(reason === 'capacity' && byPlace)) continue;
    const gap = t.reuseGapOf(o);
    if (gap === null) continue;
    const lastUse = t.timeOf(o) - gap;
    const flush = late.find((f) => lastUse <= f.low && t.timeOf(o) >= f.time);
    if (flush === undefined) continue;
    verdicts.set(o, 'flush', `last used ${formatDuration(gap)} earlier, ${FLUSH_DETAIL} ${isoTime(flush.low)} and ${isoTime(flush.time)}`);
  }
}

/** Flushes the key names showed (findFlushes' keysReplacedAt): hard evidence, which unconfirmedFlushes never drops. */
const FOUND_BY_KEY_NAMES = new WeakSet<object>();

/**
 * The flushes (found before the limits were fitted) that the refusals a limit does not explain
 * fail to show. A flush was found by the refusals whose span crosses its moment, and a busy limit
 * refuses long spans anyway: with those counted, a few short ones refused at the usual rate of
 * backends without a shared cache made up a restart (simulated: two backends with caches of their
 * own behind a random balancer and a 300 s idle timeout; 8 refusals within the timeout, at a 50 %
 * base rate, and 16 past it read as "the cache was emptied"). Here only the offers within the
 * idle timeout and lifetime fitted count, both across the moment and for the usual rate, and a
 * flush they do not show beyond chance is returned, to be searched again without it. A flush carried in (--state) or
 * shown by the ticket key names stands.
 */
export function unconfirmedFlushes(t: SessionTable, known: Int32Array, flushes: CachePolicy['flushes'],
  limits: Pick<CachePolicy, 'idleTimeout' | 'lifetime'>, verdicts: Verdicts, carried: readonly { low: number; time: number }[]): CachePolicy['flushes'] {
  const { idleTimeout, lifetime } = limits;
  if (flushes.length === 0 || (idleTimeout.seconds === null && lifetime.seconds === null)) return [];
  // Not the cache size: a size fitted wrong (a 300 s timeout read as a cache of 31, churn growing
  // with time) made a real restart's 71 refusals "past the limit", and the restart was dropped.
  /** Whether a fitted time limit may have refused it: its idle time or age past what the limit was seen to accept. */
  const pastALimit = (o: number): boolean => {
    for (const [estimate, value] of [[idleTimeout, t.reuseGapOf(o)], [lifetime, t.ageOf(o)]] as const) {
      if (value !== null && limitShownFor(t, estimate, o) && value > (estimate.low ?? estimate.seconds!)) return true;
    }
    return false;
  };
  const crossing = flushes.map(() => ({ refused: 0, accepted: 0 }));
  let usualRefused = 0;
  let usualOffers = 0;
  for (const o of known) {
    const gap = t.reuseGapOf(o);
    if (gap === null || pastALimit(o)) continue;
    const accepted = t.isAccepted(o);
    // A refusal another cause explained (an abort's purge, another address, a ticket key the
    // server dropped or rotated: reason flush, but no moment's) shows nothing here.
    if (!accepted && verdicts.has(o) && (verdicts.reasonOf(o) !== 'flush' || !verdicts.detailOf(o).includes(FLUSH_DETAIL))) continue;
    const lastUse = t.timeOf(o) - gap;
    const k = flushes.findIndex((f) => lastUse <= f.low && t.timeOf(o) >= f.time);
    if (k < 0) {
      usualOffers++;
      if (!accepted) usualRefused++;
    } else if (accepted) crossing[k]!.accepted++;
    else crossing[k]!.refused++;
  }
  const usualRate = Math.max(0.01, (usualRefused + 1) / (usualOffers + 2));
  return flushes.filter((f, k) => {
    if (FOUND_BY_KEY_NAMES.has(f) || carried.some((c) => c.time === f.time && c.low === f.low)) return false;
    const { refused, accepted } = crossing[k]!;
    return binomialTail(refused, refused + accepted, usualRate) > FLUSH_SIGNIFICANCE;
  });
}

/** How unlikely at the usual refusal rate a flush's refusals in a row must be (many moments are tried). */
const FLUSH_SIGNIFICANCE = 1e-4;

/** A moment just after a last use (capture clocks count microseconds at best). */
const JUST_AFTER = 1e-6;

/** How long after the last refusal of a key change the new key's first ticket may come (the refusing handshake seals it, a little later). */
const NEW_KEY_SLACK = 5;

/** What the detail of a refusal a flush explains says (the cache emptied between two moments). */
const FLUSH_DETAIL = 'before the cache was emptied between';

/** Offers outside a flush's moment, at its rejections' churn, needed to judge a cache size by them. */
const MIN_EVIDENCE_OUTSIDE_FLUSH = 5;
/** Refused this often at other moments, offers are refused whatever their idle time, age and churn: other backends'. */
const STEADY_REFUSAL_RATE = 0.3;
/** Offers below a flush's smallest churn needed to say that the refusals do not grow with churn. */
const MIN_EVIDENCE_BELOW_FLUSH = 20;
/** Refused this often at other moments from the same churn up, a flush's refusals are a cache size's. */
const FLUSH_LIKE_CAPACITY = 0.6;
