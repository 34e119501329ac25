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
  // Servers sharing keys but switching one after another (a script run server by server) seal
  // under both keys for a while: the successor then begins well inside the key's time in use, and
  // stays in use long after it (see switchingSuccessor). The handover is then at least the time
  // both were in use.
  const successorOf = new Map<KeyFacts, number>();
  const handoverOf = new Map<KeyFacts, number>();
  const switchOf = new Map<KeyFacts, KeySwitch>();
  // The group's last ticket sealed or opened: where the capture ends for its keys.
  let lastUse = -Infinity;
  for (const key of keys.values()) lastUse = Math.max(lastUse, group.ticketKeyLastIssue.get(key.name) ?? key.first, key.lastAccepted);
  for (const key of keys.values()) {
    const sealedUntil = group.ticketKeyLastIssue.get(key.name) ?? key.first;
    let handover = Math.max(KEY_HANDOVER, Math.min(KEY_HANDOVER_SHARE * (sealedUntil - key.first), MAX_KEY_HANDOVER));
    const from = Math.max(key.first, sealedUntil - handover);
    let next = firstIssues.find((time) => time > from);
    // In use until its last ticket sealed or opened, whichever came later: a capture sees only some
    // of the tickets, and a server still on the key opens its tickets after the last one seen sealed.
    const inUseUntil = Math.max(sealedUntil, key.lastAccepted);
    const switching = switchingSuccessor(t, key, sealedUntil, inUseUntil, ordered, group, lastUse);
    if (switching !== null && (next === undefined || switching.first <= next)) {
      next = switching.first;
      handover = Math.max(handover, inUseUntil - next + KEY_HANDOVER);
      const switchFrom = Math.max(next, key.first);
      if (inUseUntil - switchFrom > KEY_HANDOVER) switchOf.set(key, { successor: switching, from: switchFrom, until: inUseUntil });
    }
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
  // Keys replaced at one moment only are a restart, however many: backends with keys of their own,
  // each given a new one when the farm restarts (simulated, three backends restarted once, 20
  // minutes into the capture: "replaces its keys about every 20m03s", the time from the capture's
  // start). Again and again is what a rotation is; the flushes say when keys changed once.
  if (moments.length < 2) return null;
  let keysOpen = 1;
  for (const [key, next] of successorOf) {
    let past = 0;
    const openUntil = key.lastAccepted - handoverOf.get(key)!;
    for (const moment of moments) if (moment >= next - KEY_HANDOVER && moment <= openUntil) past++;
    keysOpen = Math.max(keysOpen, 1 + past);
  }
  // How often: the median time between moments.
  const gaps: number[] = [];
  for (let i = 1; i < moments.length; i++) gaps.push(moments[i]! - moments[i - 1]!);
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
  // While the servers switched, a server already on the new key refused the old one's tickets and
  // one not yet on it refused the new one's, each accepted elsewhere meanwhile (simulated: two
  // servers switching 60 s apart left 27–31 % of the rotation's refusals unexplained; four, 60 s
  // apart each, 63–79 % unexplained or given to a lifetime, an idle timeout or a cache of 62 made up of them).
  let spread = 0;
  for (const [key, window] of switchOf) {
    spread = Math.max(spread, window.until - window.from);
    const between = `${isoTime(window.from)} and ${isoTime(window.until)}`;
    const oldKey = `under the ticket key named ${offeredKeyNameHex(t.connectionOf(key.offers[0]!))}, ${KEY_SWITCH_DETAIL} ${group.key} switched from it to the next key (between ${between}, some sealed under the new key and no longer opened this one)`;
    const newKey = `under the ticket key named ${offeredKeyNameHex(t.connectionOf(window.successor.offers[0]!))}, new at ${isoTime(window.from)}, ${KEY_SWITCH_DETAIL} ${group.key} switched to it (until ${isoTime(window.until)} some still sealed under the previous key and could not open this one)`;
    for (const [facts, detail] of [[key, oldKey], [window.successor, newKey]] as const) {
      for (const o of facts.offers) {
        const time = t.timeOf(o);
        if (t.isAccepted(o) || verdicts.has(o) || time < window.from || time > window.until + KEY_HANDOVER) continue;
        verdicts.set(o, 'flush', detail);
        explained++;
      }
    }
  }
  return { keys: ordered.length, keysReplaced: retired.length, every, keysOpen, refused: explained, switchSpread: spread };
}

/**
 * The key's tickets offered between `from` and `until`, at least `minOffers` of them, were opened
 * wherever they went: servers sharing their keys. A key of one backend's own is refused by the
 * others all along (backends with keys of their own, switching a minute apart: each took another
 * backend's next key, begun while it was in use, for its successor, and their refusals by the
 * other backends became the rotation's).
 */
function openedEverywhere(t: SessionTable, key: KeyFacts, from: number, until: number, minOffers: number): boolean {
  let offers = 0;
  let refused = 0;
  for (const o of key.offers) {
    const time = t.timeOf(o);
    if (time < from || time >= until) continue;
    offers++;
    if (!t.isAccepted(o)) refused++;
  }
  return offers >= minOffers && refused <= MAX_REFUSED_SHARE_OUTSIDE_SWITCH * offers;
}

/** Offers of a successor seen after the switch, at least, to call it opened everywhere (see switchingSuccessor). */
const MIN_OFFERS_AFTER_SWITCH = 3;

/** Share of a key's offers refused, at most, outside a switch of servers that share their keys (see openedEverywhere). */
const MAX_REFUSED_SHARE_OUTSIDE_SWITCH = 0.25;

/** What the detail of a refusal while the servers switched keys says (findings tell them by it). */
export const KEY_SWITCH_DETAIL = 'refused while the servers of';

/** Servers switching from a key to its successor one after another: both in use from `from` to `until`. */
interface KeySwitch {
  successor: KeyFacts;
  from: number;
  until: number;
}

/**
 * The key that took over from `key` while it was still in use, where servers sharing keys switch
 * one after another: first issued before the key's last use; in use after that for more than half
 * its own time in use so far (keys in use side by side, each backend's own, stop together, or not
 * at all within the capture); and the two in use together, not one after the other: the key went
 * on sealing after the other's first ticket, or was refused then while still opened elsewhere (a
 * key only opened after its successor took over, as nginx's second key file, is refused nowhere
 * meanwhile). The earliest such; it may have begun before the key itself: at the capture's start
 * a server still on the previous key sealed under it after the others had switched. `lastUse`:
 * the group's last ticket sealed or opened. Null: none.
 */
function switchingSuccessor(t: SessionTable, key: KeyFacts, sealedUntil: number, inUseUntil: number, ordered: KeyFacts[], group: ServerGroup, lastUse: number): KeyFacts | null {
  for (const other of ordered) {
    // In the order of their first tickets: none after this one began before the key's last use.
    if (other.first >= inUseUntil) break;
    if (other === key) continue;
    const otherUntil = Math.max(group.ticketKeyLastIssue.get(other.name) ?? other.first, other.lastAccepted);
    // A key still in use when the capture ends has shown only part of its time: a quarter will do.
    const share = otherUntil >= lastUse - MAX_KEY_HANDOVER ? 0.25 : 0.5;
    if (otherUntil - inUseUntil <= share * (otherUntil - other.first)) continue;
    const together = sealedUntil > other.first + KEY_HANDOVER ||
      key.offers.some((o) => !t.isAccepted(o) && t.timeOf(o) > other.first && t.timeOf(o) < key.lastAccepted);
    // Servers sharing their keys open both everywhere but while switching: the key before the
    // other began, and the other once the key is out of use, until the next key begins (the next
    // switch: servers 90 s apart each, four of them, use two keys 4.5 minutes of every 5). That
    // second look must see a few offers: a backend's own next key begins as its last one ends.
    if (!together || !openedEverywhere(t, key, -Infinity, other.first, 0)) continue;
    // Both began before inUseUntil: the next key is the first to begin after it.
    const nextBegins = ordered.find((k) => k.first > inUseUntil)?.first ?? Infinity;
    if (openedEverywhere(t, other, inUseUntil, nextBegins, MIN_OFFERS_AFTER_SWITCH)) return other;
  }
  return null;
}
