import type { SessionKind, SessionTable } from '../session/session-table.js';
import { formatDuration } from './format.js';
import { count, select } from './offer-lists.js';
import { round2 } from './threshold.js';
import type { CachePolicy } from './types.js';
import type { Verdicts } from './verdicts.js';

/** Refused offers of sessions a group issued (to the issuing address) before "keeps no sessions" is said. */
export const MIN_OFFERS_NOT_KEPT = 3;

/**
 * A server that keeps no session: it accepted none, though its own sessions came back to the
 * address that issued them. No limit or event can be measured without an acceptance, and each
 * would be a guess; this is what the traffic shows (real nginx with its default
 * `ssl_session_cache none`: a session ID in every ServerHello, none kept; nginx-cache-none.pcap).
 */
export function explainKeepsNoSessions(t: SessionTable, offers: Int32Array, known: Int32Array, rejected: Int32Array, verdicts: Verdicts): CachePolicy['keepsNoSessions'] {
  const keepsNoSessions = inferKeepsNoSessions(t, offers, known);
  if (keepsNoSessions.detected) {
    const soonest = formatDuration(keepsNoSessions.soonest!);
    for (const o of rejected) {
      const gap = t.reuseGapOf(o);
      verdicts.set(o, 'not-kept', `${gap === null ? 'issued before the capture' : `offered ${formatDuration(gap)} after its last use`}; the server accepted none of the ${offers.length} offers, the soonest ${soonest} after the session was issued: it keeps no sessions`);
    }
  }
  return keepsNoSessions;
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
