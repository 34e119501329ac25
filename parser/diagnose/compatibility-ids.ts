import type { ConnectionRecord } from '../report/types.js';
import type { ServerSummary } from './types.js';

/**
 * A client that also offers TLS 1.3 fills the ClientHello's session ID with 32 random bytes
 * (RFC 8446 §4.1.2, Appendix D.4) whether or not it resumes; a server that answers with TLS 1.2
 * sees an unknown session ID. Real Chromium against a TLS 1.2-only nginx: its first connection
 * looks like a refused offer. Told apart by the TLS stack (the fingerprint's "t13": TLS 1.3
 * among its versions), the negotiated version and the ID's length; no ticket or PSK offered.
 */
export function looksLikeCompatibilityId(c: ConnectionRecord): boolean {
  return c.offer.sessionId !== null && c.offer.sessionId.length === 64 && !c.offer.ticket && !c.offer.psk &&
    c.version !== 'TLS 1.3' && (c.clientFingerprint?.startsWith('t13') ?? false);
}

/** Rejected offers of all groups that were most likely TLS 1.3 random session IDs (0 for a document from before the count). */
export function compatibilityIdsOf(servers: readonly Pick<ServerSummary, 'tls13CompatibilityIds'>[]): number {
  let n = 0;
  for (const s of servers) n += s.tls13CompatibilityIds ?? 0;
  return n;
}

export const COMPATIBILITY_ID_NOTE = '; the client also offers TLS 1.3, which fills the session ID with 32 random bytes (RFC 8446 §4.1.2): most likely no resumption attempt at all';
