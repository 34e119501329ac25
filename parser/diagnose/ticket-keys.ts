import type { ConnectionRecord } from '../report/types.js';
import type { SessionTable } from '../session/session-table.js';

// Ticket key names (RFC 5077 §4): a ticket or PSK identity sealed under a key the server no longer uses.

/** What the detail of a refused ticket sealed under a key the server did not use says (findings tell them by it). */
export const OLD_TICKET_KEY_DETAIL = 'sealed under the ticket key named';

/**
 * A ticket (or PSK identity) whose key name (RFC 5077 §4) is none of those the group was seen to
 * issue or accept, where the group's tickets name their keys (a ticket seen issued always names
 * one of them; an identity linked to its client's latest session may not): sealed under a key
 * the server has dropped (rotated, replaced at a restart) or never had (another server's). Real
 * nginx restarted with a new ssl_session_ticket_key before the capture began
 * (nginx-ticket-key-before-capture.pcap): the old tickets were "issued before the capture".
 */
export function sealedByUnusedKey(t: SessionTable, o: number): boolean {
  return offeredKeyInUse(t, o) === false;
}

/**
 * Whether the key an offered ticket or PSK identity names is one the group uses; null when that
 * says nothing (a session ID, a group whose tickets name no keys). A refused ticket under a key in
 * use could be opened, so the key is not why: a stateless ticket is refused so when too old.
 */
export function offeredKeyInUse(t: SessionTable, o: number): boolean | null {
  if (t.kindOf(o) === 'session-id') return null;
  const group = t.groupOf(o);
  const name = t.offeredTicketKeyNameOf(o);
  return name === null || !group.namesTicketKeys() ? null : group.ticketKeyNames.has(name);
}

export const KEY_IN_USE_NOTE = '; it is sealed under a key the server still uses, so the key is not why: most likely it was older than the server\'s ticket lifetime';

/** The key name of the ticket or PSK identity a connection offered, as hex (its first 16 bytes). */
export function offeredKeyNameHex(c: ConnectionRecord): string {
  return ((c.offer.ticket ? c.offeredTicket : null) ?? c.offeredPskIdentity ?? '').slice(0, 32);
}
