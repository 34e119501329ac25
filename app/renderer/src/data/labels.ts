// Plain words for the codes in connection records and the diagnosis: what a support engineer reads.
import type { Outcome } from '../../../../parser/report/report-model.js';

export const OUTCOME_LABEL: Record<Outcome, string> = {
  resumed: 'resumed',
  rejected: 'rejected',
  full: 'full (no offer)',
  aborted: 'aborted',
  incomplete: 'incomplete',
};

export const OUTCOME_HELP: Record<Outcome, string> = {
  resumed: 'the server accepted the offered session: abbreviated handshake',
  rejected: 'a session was offered but the server did a full handshake anyway',
  full: 'the client offered nothing: full handshake',
  aborted: 'the handshake never completed (RST or FIN before both Finished messages)',
  incomplete: 'the capture ends or misses data before the handshake finished',
};

export const REASON_LABEL: Record<string, string> = {
  'idle-timeout': 'idle timeout',
  lifetime: 'session lifetime',
  capacity: 'cache full (evicted)',
  'purged-after-abort': 'purged after an aborted handshake',
  'other-backend': 'other backend, no shared cache',
  flush: 'cache flushed or ticket key changed',
  'issued-before-capture': 'issued before the capture',
  unexplained: 'unexplained',
  // Not a refusal: the client offered nothing (or an older session) while it held a valid one.
  'client-forgot': 'client forgot its session (offered nothing or an older one)',
  'not-kept': 'server keeps no sessions',
  'version-change': 'another TLS version than the session\'s',
};

export function reasonLabel(reason: string | null | undefined): string {
  if (!reason) return '';
  return REASON_LABEL[reason] ?? reason;
}

export const STAGE_LABEL: Record<string, string> = {
  'before-client-hello': 'before the ClientHello',
  'after-client-hello': 'after the ClientHello',
  'after-server-hello': 'after the ServerHello',
  'after-client-finished': "after the client's Finished",
};

/** Zeek ssl_history letters (parser/session/tls-connection.ts), case = direction. */
export const HISTORY_MESSAGE: Record<string, string> = {
  h: 'HelloRequest', c: 'ClientHello', s: 'ServerHello', v: 'HelloVerifyRequest', t: 'NewSessionTicket',
  e: 'EndOfEarlyData', j: 'HelloRetryRequest', o: 'EncryptedExtensions', x: 'Certificate', k: 'ServerKeyExchange',
  r: 'CertificateRequest', n: 'ServerHelloDone', y: 'CertificateVerify', g: 'ClientKeyExchange', f: 'Finished',
  w: 'CertificateURL', u: 'CertificateStatus', a: 'SupplementalData', p: 'KeyUpdate', m: 'MessageHash',
  i: 'ChangeCipherSpec', l: 'Alert', z: 'unknown handshake message',
};

/** TLS alert descriptions (RFC 8446 §6, RFC 5246 §7.2; the IANA TLS Alerts registry). */
export const ALERT_DESCRIPTION: Record<number, string> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 21: 'decryption_failed', 22: 'record_overflow',
  30: 'decompression_failure', 40: 'handshake_failure', 41: 'no_certificate', 42: 'bad_certificate',
  43: 'unsupported_certificate', 44: 'certificate_revoked', 45: 'certificate_expired', 46: 'certificate_unknown',
  47: 'illegal_parameter', 48: 'unknown_ca', 49: 'access_denied', 50: 'decode_error', 51: 'decrypt_error',
  60: 'export_restriction', 70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error',
  86: 'inappropriate_fallback', 90: 'user_canceled', 100: 'no_renegotiation', 109: 'missing_extension',
  110: 'unsupported_extension', 111: 'certificate_unobtainable', 112: 'unrecognized_name',
  113: 'bad_certificate_status_response', 114: 'bad_certificate_hash_value', 115: 'unknown_psk_identity',
  116: 'certificate_required', 120: 'no_application_protocol',
};

/** "fatal alert unknown_ca (48)"; an encrypted one (description null) says what is known of it. */
export function alertText(alert: { level: number; description: number | null }): string {
  if (alert.description === null) return 'encrypted alert: its description is not readable; known by its length (an alert record of 19 bytes, 11 with AES-CCM-8) and its place in the handshake';
  const level = alert.level === 2 ? 'fatal' : alert.level === 1 ? 'warning' : `level ${alert.level}`;
  return `${level} alert ${ALERT_DESCRIPTION[alert.description] ?? 'unassigned'} (${alert.description})`;
}

export const SEVERITY_LABEL: Record<string, string> = { critical: 'Critical', warning: 'Warning', info: 'Info' };

/** A history's letters spelled out, each once, in their first order: "C ClientHello, s ServerHello, …". */
export function historyLegend(history: string): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const letter of history) {
    if (seen.has(letter)) continue;
    seen.add(letter);
    const meaning = HISTORY_MESSAGE[letter.toLowerCase()];
    if (meaning) parts.push(`${letter} ${meaning} from the ${letter === letter.toUpperCase() ? 'client' : 'server'}`);
  }
  return parts.join(', ');
}
