import { clientAddress, type ConnectionRecord } from '../report/types.js';
import { hexDigitValue } from '../tls/hello.js';
import type { ServerGroup, SessionKind } from './session-table.js';

// How the session table keys a session: its kind and its value's bytes, from a record's hex text
// or straight from the column store's bytes.

const KEY_PREFIX: Record<SessionKind, string> = { 'session-id': 's', ticket: 't', psk: 'p' };
const codes: number[] = [];

/**
 * The table key of a session: a kind letter, then the hex value's bytes as characters (half the
 * size of the hex text: a million sessions are keys of ~48 bytes instead of ~80). Values that are
 * not lower-case hex keep their text, after an upper-case letter, so the two forms never meet.
 */
export function sessionKey(kind: SessionKind, hex: string): string {
  const n = hex.length;
  if (n % 2 !== 0 || n > 2048) return KEY_PREFIX[kind].toUpperCase() + hex;
  let packed = true;
  codes.length = 1 + n / 2;
  codes[0] = KEY_PREFIX[kind].charCodeAt(0);
  for (let i = 0; packed && i < n; i += 2) {
    const high = hexDigitValue(hex.charCodeAt(i));
    const low = hexDigitValue(hex.charCodeAt(i + 1));
    if (high < 0 || low < 0) packed = false;
    codes[1 + i / 2] = (high << 4) | low;
  }
  return packed ? String.fromCharCode.apply(null, codes) : KEY_PREFIX[kind].toUpperCase() + hex;
}

/** sessionKey() of the hex text of bytes[start, end) (at most 1024 bytes), without the text. */
export function sessionKeyOfBytes(kind: SessionKind, bytes: Uint8Array, start: number, end: number): string {
  codes.length = 1 + end - start;
  codes[0] = KEY_PREFIX[kind].charCodeAt(0);
  for (let i = start; i < end; i++) codes[1 + i - start] = bytes[i]!;
  return String.fromCharCode.apply(null, codes);
}

/** The hex-valued fields of a record (the offered session ID is `offer.sessionId`). */
export type HexField = 'offerSessionId' | 'serverSessionId' | 'issuedTicket' | 'offeredTicket' | 'offeredPskIdentity';

/**
 * A record that gives its session keys straight from stored bytes (the column store): the
 * diagnosis of a farm capture asks for millions, and going through the hex text built a string
 * and parsed it back each time. Each key must equal sessionKey(kind, the field's value).
 */
export interface SessionKeySource {
  /** offer.ticket and offer.psk, without building the offer. */
  readonly offersTicket: boolean;
  readonly offersPsk: boolean;
  /** sessionKey(kind, value of `field`), or null when the field is null. */
  sessionKeyOf(field: HexField, kind: SessionKind): string | null;
}

function isKeySource(c: ConnectionRecord): c is ConnectionRecord & SessionKeySource {
  return typeof (c as Partial<SessionKeySource>).sessionKeyOf === 'function';
}

/** The table key of a hex field's value, or null when it has none. */
export function keyOf(c: ConnectionRecord, field: HexField, kind: SessionKind): string | null {
  if (isKeySource(c)) return c.sessionKeyOf(field, kind);
  const hex = field === 'offerSessionId' ? c.offer.sessionId : c[field];
  return hex === null ? null : sessionKey(kind, hex);
}

/**
 * TLS 1.3 PSK offers fall back to the client's latest session with the group. A client is an address
 * and a TLS stack (its fingerprint), as everywhere in the diagnosis: by address alone, two stacks
 * behind one NAT took each other's sessions (real nginx, two s_client stacks in turn).
 */
export function pskClientKey(c: ConnectionRecord, group: ServerGroup): string {
  // Upper-case 'C' and a separator no hex value contains: never equal to a sessionKey.
  return `C${clientAddress(c)}|${c.clientFingerprint ?? ''}|${group.key}`;
}

/** The table key an offer is looked up by: ticket first, then PSK identity, then session ID. */
export function offeredKey(c: ConnectionRecord): { kind: SessionKind; key: string | null } {
  const keyed = isKeySource(c);
  if (keyed ? c.offersTicket : c.offer.ticket) {
    const ticket = keyOf(c, 'offeredTicket', 'ticket');
    if (ticket !== null) return { kind: 'ticket', key: ticket };
  }
  if (keyed ? c.offersPsk : c.offer.psk) return { kind: 'psk', key: keyOf(c, 'offeredPskIdentity', 'psk') };
  return { kind: 'session-id', key: keyOf(c, 'offerSessionId', 'session-id') };
}
