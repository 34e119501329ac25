import type { ServerGroup, SessionTable } from '../session/session-table.js';
import { formatDuration, isoTime } from './format.js';
import { offeredKeyNameHex } from './ticket-keys.js';
import type { TicketRotation } from './types.js';
import type { Verdicts } from './verdicts.js';

// Ticket keys replaced again and again (rotated every hour, every ten minutes) where the server
// opens tickets under its newest key(s) only: a ticket sealed under a replaced key is refused
// however young it is. By key name (RFC 5077 §4: a ticket begins with the 16-byte name of its key),
// the refusals go by key, not by age: once a key's tickets start being refused, none of them is
// accepted again, while tickets under the next key, issued before and after, are. Read as a
// lifetime, a 4-hour farm rotating every 10 minutes (tickets kept 2 hours) gave "sessions expire
// after 9m26s", a cache of 11 and 48 refusals without a cause.

/** What the detail of a refusal under a replaced key says (findings tell them by it). */
export const ROTATED_KEY_DETAIL = 'had replaced (it replaces its keys about every';

/** Keys seen replaced (each with refusals after its last acceptance) before a rotation is said: one or two are a restart (a flush). */
export const MIN_RETIRED_KEYS = 3;
/** Refusals under replaced keys, all together, before a rotation is said. */
export const MIN_ROTATION_REFUSALS = 5;
/**
 * How long after its successor's first ticket a replaced key may still seal tickets: handshakes
 * under way at the switch, workers of a server reloading one after another, servers of a farm
 * switching a minute apart. At least this many seconds, or this share of the key's own time in
 * use (a tenth lost a rotation every 5 minutes on two servers 60 s apart: the key after next was
 * taken for the successor, and a lifetime and a cache were made up of the refusals between).
 */
const KEY_HANDOVER = 5;
const KEY_HANDOVER_SHARE = 0.25;
/**
 * ... and at most this many seconds: servers switching keys by a script or a config push do so
 * within a minute or two. A key of a backend that only got no traffic for a while sealed nothing
 * for minutes, and a share alone took another backend's first key for its successor.
 */
const MAX_KEY_HANDOVER = 120;

interface KeyFacts {
  name: string;
  /** When the first ticket under it was issued, as far as the offers tell (earliest issue or offer). */
  first: number;
  /** Latest offer under it that was accepted (-Infinity: none). */
  lastAccepted: number;
  offers: number[];
}

/**
 * Explains the refused tickets and PSK identities sealed under keys the group has since replaced,
 * when it is seen doing so again and again (MIN_RETIRED_KEYS); returns what the rotation looks
 * like, or null.
 */
export function explainRetiredTicketKeys(t: SessionTable, group: ServerGroup, offers: Int32Array, verdicts: Verdicts): TicketRotation | null {
  if (!group.namesTicketKeys()) return null;
  const keys = new Map<string, KeyFacts>();
  for (const o of offers) {
    if (t.kindOf(o) === 'session-id') continue;
    const name = t.offeredTicketKeyNameOf(o);
    if (name === null) continue;
    let key = keys.get(name);
    if (key === undefined) keys.set(name, (key = { name, first: Infinity, lastAccepted: -Infinity, offers: [] }));
    const time = t.timeOf(o);
    // When its first ticket was issued; for a key whose issue the capture did not show (carried in
    // from an earlier analysis), its first offer.
    key.first = Math.min(key.first, group.ticketKeyFirstIssue.get(name) ?? time);
    if (t.isAccepted(o)) key.lastAccepted = Math.max(key.lastAccepted, time);
    key.offers.push(o);
  }
  // The keys the capture saw issue tickets, in the order they came: the rotation's steps. (A key
  // from before the capture is replaced too, but when it began is unknown.)
  const ordered = [...keys.values()].filter((k) => group.ticketKeyFirstIssue.has(k.name)).sort((a, b) => a.first - b.first);
  if (ordered.length <= MIN_RETIRED_KEYS) return null;
  const firstIssues = ordered.map((k) => k.first);
  // A key is replaced by the keys that begin sealing tickets once it stops (bar handshakes under
  // way then, and servers switching a little apart): its successor is the first key first issued
  // after its own last ticket, less the handover. Keys in use side by side (backends behind a
  // balancer, each with keys of its own) seal on past each other's first tickets and replace none:
  // taken in the order of their first tickets, eight such keys had read as "replaced every 1.7s".
  // Each key's refusals after its successor's first ticket and its own last acceptance are the
  // rotation's.
  const successorOf = new Map<KeyFacts, number>();
  const handoverOf = new Map<KeyFacts, number>();
  for (const key of keys.values()) {
    const sealedUntil = group.ticketKeyLastIssue.get(key.name) ?? key.first;
    const handover = Math.max(KEY_HANDOVER, Math.min(KEY_HANDOVER_SHARE * (sealedUntil - key.first), MAX_KEY_HANDOVER));
    const from = Math.max(key.first, sealedUntil - handover);
    const next = firstIssues.find((time) => time > from);
    if (next === undefined) continue;
    successorOf.set(key, next);
    handoverOf.set(key, handover);
  }
  const retired: { key: KeyFacts; refused: number[] }[] = [];
  for (const [key, next] of successorOf) {
    const refused = key.offers.filter((o) => !t.isAccepted(o) && t.timeOf(o) > key.lastAccepted && t.timeOf(o) >= next);
    if (refused.length > 0) retired.push({ key, refused });
  }
  const refusals = retired.reduce((n, r) => n + r.refused.length, 0);
  if (retired.length < MIN_RETIRED_KEYS || refusals < MIN_ROTATION_REFUSALS) return null;
  // The moments keys were replaced at (successors within a handover of each other are one: the
  // backends of a farm switching together), and how many of them a key's tickets were still
  // opened past, beyond its handover (servers switching a minute apart open the old key that
  // much longer): keys open = 1 + the most moments past (1: the newest key only).
  const moments: number[] = [];
  for (const time of [...new Set(successorOf.values())].sort((a, b) => a - b)) {
    if (moments.length === 0 || time - moments[moments.length - 1]! > KEY_HANDOVER) moments.push(time);
  }
  let keysOpen = 1;
  for (const [key, next] of successorOf) {
    let past = 0;
    const openUntil = key.lastAccepted - handoverOf.get(key)!;
    for (const moment of moments) if (moment >= next - KEY_HANDOVER && moment <= openUntil) past++;
    keysOpen = Math.max(keysOpen, 1 + past);
  }
  // How often: the median time between moments; with one moment, a key's time in use before it.
  const gaps: number[] = [];
  for (let i = 1; i < moments.length; i++) gaps.push(moments[i]! - moments[i - 1]!);
  if (gaps.length === 0) for (const [key, next] of successorOf) if (group.ticketKeyFirstIssue.has(key.name)) gaps.push(next - key.first);
  if (gaps.length === 0) for (let i = 1; i < firstIssues.length; i++) gaps.push(firstIssues[i]! - firstIssues[i - 1]!);
  gaps.sort((a, b) => a - b);
  const every = gaps[Math.floor(gaps.length / 2)]!;
  let explained = 0;
  for (const { key, refused } of retired) {
    const detail = `under the ticket key named ${offeredKeyNameHex(t.connectionOf(refused[0]!))}, which ${group.key} ${ROTATED_KEY_DETAIL} ${formatDuration(every)} and opened tickets under its ${keysOpen === 1 ? 'newest key only' : `${keysOpen} newest keys`}); no ticket under it was accepted after ${key.lastAccepted === -Infinity ? 'it was issued' : isoTime(key.lastAccepted)}`;
    for (const o of refused) {
      if (verdicts.has(o)) continue;
      verdicts.set(o, 'flush', detail);
      explained++;
    }
  }
  return { keys: ordered.length, keysReplaced: retired.length, every, keysOpen, refused: explained };
}
