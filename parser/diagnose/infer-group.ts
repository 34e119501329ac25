import type { ServerGroup, SessionTable } from '../session/session-table.js';
import { claimForLateFlushes, findFlushes, returnExpiredToLimits } from './flushes.js';
import { explainUnknownSessions } from './issued-before-capture.js';
import { explainKeepsNoSessions } from './keeps-no-sessions.js';
import { firstLimitInTime, fitLimitsBehindBalancer, fitLimitsByKind } from './limits.js';
import { select } from './offer-lists.js';
import { inferPurgeOnAbort } from './purge-on-abort.js';
import { inferCrossAddressSharing, inferSharedCache } from './shared-cache.js';
import { explainUnusedTicketKeys, summarizeTickets } from './ticket-keys.js';
import { explainRetiredTicketKeys } from './ticket-rotation.js';
import type { CachePolicy } from './types.js';
import type { Verdicts } from './verdicts.js';

// One group's cache policy: the estimators in the order of how certain their evidence is, each
// rejection given the first cause that explains it (an estimator passes over the refusals an
// earlier one explained).

/** Infer one group's cache policy from its offers (rows of `table`); records a verdict for each rejection it explains. */
export function inferGroup(table: SessionTable, group: ServerGroup, offers: Int32Array, verdicts: Verdicts): Omit<CachePolicy, 'issuesNoSessions' | 'tls13TicketsUnseen'> {
  const t = table;
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
  // 4. Flushes: a moment after which every older session is rejected.
  const flushes = findFlushes(t, select(known, (o) => t.isAccepted(o) || !verdicts.has(o)), verdicts, group.carriedFlushes);
  // 5. Time and size limits, fitted on what is not yet explained.
  // 5b. A limit the balancer's steady refusals hid from the fit (backends without a shared cache).
  const { idleTimeout, lifetime, capacity } = fitLimitsBehindBalancer(t, known, verdicts, fitLimitsByKind(t, offers, known, rejected, verdicts));
  // 5c. Refusals past two limits: the one that took the session first. Sessions a flush took
  // that had expired before it: the limit's.
  firstLimitInTime(t, offers, rejected, { idleTimeout, lifetime, capacity }, verdicts);
  returnExpiredToLimits(t, offers, rejected, flushes, { idleTimeout, lifetime, capacity }, verdicts);
  // 6. What is left, refused at a steady rate: backends without a shared cache.
  const sharedCache = inferSharedCache(t, known, crossAddress, verdicts);
  // 6b. Flushes again, among the refusals nothing else explained: a limit refusing many offers
  // hid them in step 4 (the usual refusal rate there counts the limit's refusals).
  const later = findFlushes(t, select(known, (o) => t.isAccepted(o) || !verdicts.has(o)), verdicts, []);
  if (later.length > 0) {
    // The limits took the refusals of sessions the flush emptied out too: the flush's, unless
    // they had expired before it.
    claimForLateFlushes(t, rejected, later, verdicts);
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
