import type { SessionTable } from '../session/session-table.js';
import type { Verdicts } from './verdicts.js';

// Offers the negotiated protocol version cannot resume, whatever the cache holds. TLS 1.3 replaced
// session IDs and tickets with its PSK exchange (RFC 8446 §1.2, §2.2): its tickets are no RFC 5077
// tickets, and a TLS 1.2 server knows no pre_shared_key (RFC 8446 §4.2.11 is TLS 1.3's), so neither
// version resumes the other's sessions. So a farm that turns TLS 1.3 on refuses each client's TLS 1.2 session
// once, and one with backends that do not all speak TLS 1.3 refuses TLS 1.3 sessions at every visit
// to an older one. Neither is a cache's doing: taken for one, a server just upgraded "kept no
// sessions", or its refusals fitted a limit.

/** The verdict's detail, as the finding and the CSV show it. */
export const TLS12_SESSION_IN_TLS13 =
  'a TLS 1.2 session ticket offered in a handshake the server took to TLS 1.3, which resumes only its own sessions (PSK, RFC 8446 §2.2): TLS 1.3 came into use, at the server or the client, after the session was made';
export const TLS12_SESSION_ID_IN_TLS13 =
  'a TLS 1.2 session offered by its ID (in the legacy session ID, RFC 8446 §4.1.2) in a handshake the server took to TLS 1.3, which resumes only its own sessions (PSK, RFC 8446 §2.2); by TLS 1.3\'s rules that field is no offer, so the record says not-offered';
export const TLS13_SESSION_IN_TLS12 =
  'a TLS 1.3 session (PSK) offered in a handshake the server answered with TLS 1.2, which cannot resume it (RFC 8446 §4.2.11): this server, or the backend behind it, does not speak TLS 1.3';

/**
 * Which way the version changed under a refused offer, or null when the version allowed it (or is
 * not known): 'below-tls13' for a TLS 1.0–1.2 session the capture saw under another of those
 * versions (a server resumes a session only under the version it was made with: OpenSSL's
 * ssl_get_prev_session, as RFC 5246 §7.4.1.2 resumes "the specified session state").
 */
export function versionChangeOf(t: SessionTable, o: number): 'to-tls13' | 'to-tls12' | 'below-tls13' | null {
  if (t.isAccepted(o)) return null;
  const c = t.connectionOf(o);
  if (c.version === null) return null;
  const kind = t.kindOf(o);
  // A client that also offered a TLS 1.3 PSK made a TLS 1.3 resumption attempt: the cache refused that.
  if (kind === 'ticket' && c.version === 'TLS 1.3' && !c.offer.psk) return 'to-tls13';
  if (kind === 'psk' && c.version !== 'TLS 1.3') return 'to-tls12';
  const row = t.sessionRowOf(o);
  if (kind === 'psk' || c.version === 'TLS 1.3' || row < 0) return null;
  const made = t.versionOfSession(row);
  return made !== null && made !== 'TLS 1.3' && made !== c.version ? 'below-tls13' : null;
}

/** The verdict's detail for a TLS 1.0–1.2 session offered under another of those versions. */
export function otherVersionDetail(made: string, negotiated: string): string {
  return `a ${made} session offered in a handshake the server took to ${negotiated}: a server resumes a session only under the version it was made with`;
}

/**
 * Gives the refusals the version change explains their verdict, and returns the offers left for
 * the cache's estimators (an offer the version forbade says nothing about what the cache holds).
 */
export function explainVersionChanges(t: SessionTable, offers: Int32Array, verdicts: Verdicts): Int32Array {
  const left = new Int32Array(offers.length);
  let kept = 0;
  for (let i = 0; i < offers.length; i++) {
    const o = offers[i]!;
    const change = versionChangeOf(t, o);
    if (change === null) left[kept++] = o;
    else if (change === 'below-tls13') verdicts.set(o, 'version-change', otherVersionDetail(t.versionOfSession(t.sessionRowOf(o))!, t.connectionOf(o).version!));
    else verdicts.set(o, 'version-change', change === 'to-tls13' ? TLS12_SESSION_IN_TLS13 : TLS13_SESSION_IN_TLS12);
  }
  return kept === offers.length ? offers : left.slice(0, kept);
}
