import type { ConnectionRecord } from '../report/types.js';
import type { ServerGroup, SessionTable } from '../session/session-table.js';
import { count, select } from './offer-lists.js';
import { maxOf } from './threshold.js';
import type { CachePolicy } from './types.js';
import type { Verdicts } from './verdicts.js';

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

/**
 * A ticket or PSK identity sealed under a key none of the group's tickets in the capture
 * name, where they name their keys (sealedByUnusedKey): the server no longer holds that key.
 * Hard evidence, so before any inference; also for a TLS 1.3 offer linked to its client's latest
 * session (its issue is unseen): real nginx restarted with a new key before the capture, each old
 * identity was linked so, and its refusal left "unexplained" (nginx-tls13-ticket-key-before-capture.pcap).
 * Returns how many refusals that explains.
 */
export function explainUnusedTicketKeys(t: SessionTable, group: ServerGroup, rejected: Int32Array, verdicts: Verdicts): number {
  let rejectedUnusedKey = 0;
  for (const o of rejected) {
    if (verdicts.has(o) || !sealedByUnusedKey(t, o)) continue;
    rejectedUnusedKey++;
    const names = group.ticketKeyNames.size;
    verdicts.set(o, 'flush', `${t.isKnown(o) ? '' : 'issued before the capture, '}${OLD_TICKET_KEY_DETAIL} ${offeredKeyNameHex(t.connectionOf(o))}, which ${group.key} never used in the capture (its tickets name ${names === 1 ? 'one key' : `${names} keys`}): a key it no longer holds`);
  }
  return rejectedUnusedKey;
}

/** The group's ticket offers: accepted, refused, refused within the longest lifetime hint, refused under a key it no longer uses. */
export function summarizeTickets(t: SessionTable, group: ServerGroup, offers: Int32Array, rejectedUnusedKey: number): CachePolicy['tickets'] {
  const ticketOffers = select(offers, (o) => t.kindOf(o) === 'ticket');
  const hints: number[] = [];
  for (const o of ticketOffers) {
    const hint = t.connectionOf(o).ticketLifetimeHint;
    if (hint !== null) hints.push(hint);
  }
  const longestHint = hints.length > 0 ? maxOf(hints) : null;
  const ticketsAccepted = count(ticketOffers, (o) => t.isAccepted(o));
  return {
  offers: ticketOffers.length,
  accepted: ticketsAccepted,
  rejected: ticketOffers.length - ticketsAccepted,
  lifetimeHint: longestHint,
  rejectedWithinHint: longestHint === null ? 0 : count(ticketOffers, (o) => { const age = t.ageOf(o); return !t.isAccepted(o) && age !== null && age < longestHint; }),
  keyNames: group.namesTicketKeys() ? group.ticketKeyNames.size : null,
  rejectedUnusedKey,
  };
}
