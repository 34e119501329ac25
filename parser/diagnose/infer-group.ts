import type { ServerGroup, SessionTable } from '../session/session-table.js';
import { claimForLateFlushes, findFlushes, returnExpiredToLimits, unconfirmedFlushes } from './flushes.js';
import { explainUnknownSessions } from './issued-before-capture.js';
import { explainKeepsNoSessions } from './keeps-no-sessions.js';
import { firstLimitInTime, fitLimitsBehindBalancer, fitLimitsByKind, widenLimitsBehindBalancer } from './limits.js';
import { select } from './offer-lists.js';
import { inferPurgeOnAbort, purgesFreePlaces } from './purge-on-abort.js';
import { inferCrossAddressSharing, inferSharedCache, steadyRateDetail } from './shared-cache.js';
import { explainUnusedTicketKeys, summarizeTickets } from './ticket-keys.js';
import { explainRetiredTicketKeys } from './ticket-rotation.js';
import { explainVersionChanges } from './version-change.js';
import type { CachePolicy } from './types.js';
import type { Verdicts } from './verdicts.js';

// One group's cache policy: the estimators in the order of how certain their evidence is, each
// rejection given the first cause that explains it (an estimator passes over the refusals an
// earlier one explained).

/**
 * Steps 4–5c: flushes (a moment after which every older session is rejected), then the time and
 * size limits fitted on what is not yet explained (5), a limit the balancer's steady refusals hid
 * (5b), and each refusal past two limits given to the one that took the session first, sessions a
 * flush took that had expired before it to the limit (5c). `vetoed`: moments not to take for flushes.
 */
function flushesAndLimits(t: SessionTable, group: ServerGroup, offers: Int32Array, known: Int32Array, rejected: Int32Array, verdicts: Verdicts,
  vetoed: readonly { low: number; time: number }[]): Pick<CachePolicy, 'flushes' | 'idleTimeout' | 'lifetime' | 'capacity'> {
  const flushes = findFlushes(t, select(known, (o) => t.isAccepted(o) || !verdicts.has(o)), verdicts, group.carriedFlushes, vetoed);
  const { idleTimeout, lifetime, capacity } = fitLimitsBehindBalancer(t, known, verdicts, fitLimitsByKind(t, offers, known, rejected, verdicts));
  firstLimitInTime(t, offers, rejected, { idleTimeout, lifetime, capacity }, verdicts);
  returnExpiredToLimits(t, offers, rejected, flushes, { idleTimeout, lifetime, capacity }, verdicts);
  return { flushes, idleTimeout, lifetime, capacity };
}

/** Infer one group's cache policy from its offers (rows of `table`); records a verdict for each rejection it explains. */
export function inferGroup(table: SessionTable, group: ServerGroup, allOffers: Int32Array, verdicts: Verdicts): Omit<CachePolicy, 'issuesNoSessions' | 'tls13TicketsUnseen'> {
  const t = table;
  // Until step 3 says otherwise (a diagnosis run again starts from the plain churn).
  group.purgesOnAbort = false;
  // 0. Offers the negotiated version cannot resume (hard evidence): set apart before anything reads the cache from them.
  const offers = explainVersionChanges(t, allOffers, verdicts);
  const rejected = select(offers, (o) => !t.isAccepted(o));
  const known = select(offers, (o) => t.isKnown(o));
  // 1. A server that keeps no session: it accepted none of its own sessions (hard evidence).
  const keepsNoSessions = explainKeepsNoSessions(t, offers, known, rejected, verdicts);
  // 1b. Tickets sealed under a key the group no longer uses (hard evidence, before any inference).
  const rejectedUnusedKey = explainUnusedTicketKeys(t, group, rejected, verdicts);
  // 1c. Keys replaced again and again, tickets under replaced ones refused however young (key names).
  const rotation = explainRetiredTicketKeys(t, group, offers, verdicts);
  // 2. Offers to another address than the issuer's, refused beyond chance: no shared cache.
  const crossAddress = inferCrossAddressSharing(t, known, verdicts);
  // 3. Sessions an aborted handshake offered, refused far above the base rate.
  const purgeOnAbort = inferPurgeOnAbort(t, offers, known, verdicts);
  // Where the sessions it purged held no place in its cache from then on, the churn the limits read leaves them out.
  group.purgesOnAbort = purgeOnAbort.detected && purgesFreePlaces(t, known, verdicts);
  // 4.–5c., once more without the flushes the limits did not confirm (unconfirmedFlushes): their
  // refusals are explained again from step 4, by the limits, other backends or nothing.
  const explainedBefore = new Set(select(rejected, (o) => verdicts.has(o)));
  let fit = flushesAndLimits(t, group, offers, known, rejected, verdicts, []);
  const vetoed = unconfirmedFlushes(t, known, fit.flushes, fit, verdicts, group.carriedFlushes);
  if (vetoed.length > 0) {
    for (const o of rejected) if (!explainedBefore.has(o)) verdicts.clear(o);
    fit = flushesAndLimits(t, group, offers, known, rejected, verdicts, vetoed);
  }
  const { flushes } = fit;
  let { idleTimeout, lifetime, capacity } = fit;
  // 6. What is left, refused at a steady rate: backends without a shared cache.
  const sharedCache = inferSharedCache(t, known, crossAddress, verdicts);
  // 6a. A limit fitted beside that steady rate: its first refusals past the edge may be the balancer's.
  if (sharedCache.sameBackendShare !== null && sharedCache.backends !== null) {
    const share = sharedCache.sameBackendShare, backends = sharedCache.backends;
    const limits = { idleTimeout, lifetime, capacity };
    widenLimitsBehindBalancer(t, known, rejected, limits, share, verdicts, (o) => steadyRateDetail(t, o, share, backends));
    ({ idleTimeout, lifetime, capacity } = limits);
  }
  // 6b. Flushes again, among the refusals nothing else explained: a limit refusing many offers
  // hid them in step 4 (the usual refusal rate there counts the limit's refusals).
  const later = findFlushes(t, select(known, (o) => t.isAccepted(o) || !verdicts.has(o)), verdicts, []);
  if (later.length > 0) {
    // The limits took the refusals of sessions the flush emptied out too: the flush's, unless
    // they had expired before it.
    claimForLateFlushes(t, rejected, later, capacity, verdicts);
    flushes.push(...later);
    flushes.sort((a, b) => a.time - b.time);
    returnExpiredToLimits(t, offers, rejected, flushes, { idleTimeout, lifetime, capacity }, verdicts);
  }
  // 7. Sessions never seen issued or used, or issued before the capture: a limit or flush explains
  // them only when even their shortest possible idle time or age passes it.
  explainUnknownSessions(t, rejected, flushes, idleTimeout, lifetime, capacity, verdicts);
  for (const o of rejected) if (!verdicts.has(o)) verdicts.set(o, 'unexplained', 'no cache limit, event or backend change inferred from the traffic explains this rejection');
  return {
    idleTimeout,
    lifetime,
    capacity,
    purgeOnAbort,
    sharedCache,
    flushes,
    tickets: { ...summarizeTickets(t, group, offers, rejectedUnusedKey), rotation },
    keepsNoSessions,
  };
}
