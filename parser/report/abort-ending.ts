import type { ConnectionRecord } from './types.js';

/**
 * How an aborted handshake ended, in words a reader checks against the capture: a fatal alert
 * (RFC 5246 §7.2.2, RFC 8446 §6.2) sent at or before the close ended it, whoever then closed first
 * (OpenSSL answers a client's fatal alert with its own FIN before the client's); else the close
 * itself. The record's `abort.how` stays the close ("rst" | "fin"); shown as "client FIN", a
 * client's alert followed by the server's FIN read as if the client had closed first.
 */
export type AbortEnding = 'alert' | 'rst' | 'fin';

export function abortEnding(c: Pick<ConnectionRecord, 'abort' | 'alerts'>): AbortEnding | null {
  const abort = c.abort;
  if (abort === null) return null;
  for (const a of c.alerts) if (a.level === 2 && a.time <= abort.time) return 'alert';
  return abort.how;
}

/** "fatal alert", "RST", "FIN". */
export function abortEndingLabel(ending: AbortEnding): string {
  return ending === 'alert' ? 'fatal alert' : ending.toUpperCase();
}
