import type { SessionTable } from '../session/session-table.js';
import { COMPATIBILITY_ID_NOTE, looksLikeCompatibilityId } from './compatibility-ids.js';
import { formatDuration, isoTime } from './format.js';
import type { Estimate } from './threshold.js';
import { KEY_IN_USE_NOTE, offeredKeyInUse } from './ticket-keys.js';
import type { CachePolicy } from './types.js';
import type { Verdicts } from './verdicts.js';

/**
 * Sessions never seen before: idle at least since the capture began. When even that
 * lower bound passes an inferred limit, the limit explains it; otherwise nothing can. Not for
 * the random session ID of a TLS 1.3 client (looksLikeCompatibilityId): most likely no session
 * at all, whose "age" says nothing about a limit. Real Chromium, a new visitor 14 s into a
 * capture of nginx's 2 s timeout: its first connection was put down to the idle timeout
 * (chromium-nginx-new-visitor.pcap). A flush found in this capture came after such a session was
 * issued, so it explains any offer of it from the flush on: in the simulator's mixed farm, 10–14
 * of a flushed service's refusals were "issued before the capture" for want of this. With a
 * state carried in, "the capture" is the series of files from the first (observedSince): such a
 * session was not seen in any of them, and a flush an earlier file found counts too. (A state
 * without that time, versions 1 and 2, leaves this file's start: a carried flush then may have
 * come before the session's issue in an earlier file.)
 */
export function explainUnknownSessions(t: SessionTable, rejected: Int32Array, flushes: CachePolicy['flushes'], idleTimeout: Estimate, lifetime: Estimate, capacity: CachePolicy['capacity'], verdicts: Verdicts): void {
  const flushesInCapture = flushes.filter((f) => f.low >= t.observedSince);
  const beforeCapture = t.observedSince < t.captureStart ? 'issued before the first capture of the series (the state carried in)' : 'issued before the capture';
  for (const o of rejected) {
    if (verdicts.has(o)) continue;
    if (t.isKnown(o)) {
      // Seen used, but issued before the capture: its idle time is known (the limits took what
      // it explains); its age and place in a FIFO queue are not. Where the group has a lifetime
      // or a cache size, either may have refused it: not "unexplained" (simulated FIFO cache of
      // 100, 5-minute slice of a farm an hour old: 9 such refusals were).
      if (t.ageOf(o) !== null) continue;
      const since = t.sinceCaptureStartOf(o);
      if (since !== null && lifetime.high !== null && lifetime.seconds !== null && since > lifetime.high) {
        verdicts.set(o, 'lifetime', `${beforeCapture}, so at least ${formatDuration(since)} old > inferred lifetime ${formatDuration(lifetime.seconds)}`);
      } else if (lifetime.seconds !== null || capacity.entries !== null) {
        verdicts.set(o, 'issued-before-capture', `${beforeCapture} and used since: how old it was, and how many sessions were issued after it, is not known`);
      }
      continue;
    }
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
}
