import type { ConnectionRecord } from '../report/types.js';
import { round2 } from './threshold.js';
import { HOLDING_RECONNECTION } from './track-sessions.js';
import type { SharedAddresses } from './track-sessions.js';
import type { ClientStack, ClientsSummary } from './types.js';

/**
 * The clients (address and TLS stack) and how they came back: reconnections, offers, sessions
 * forgotten, per stack, in session order (`order`, `reconnection` from trackSessions).
 */
export function summarizeClients(connections: ConnectionRecord[], order: Uint32Array, clientNumbers: { numbers: Int32Array; count: number }, reconnection: Uint8Array, forgot: Set<number>, shared: SharedAddresses): ClientsSummary {
  // Distinct clients overall and per TLS stack: the (stack, client) pairs are counted by sorting
  // them as numbers (a set of addresses per stack was a second map entry per client).
  const stackNumbers = new Map<string, number>();
  const stacks: { fingerprint: string; clients: number; connections: number; reconnections: number; holding: number; offered: number; forgot: number }[] = [];
  const pairs = new Float64Array(order.length);
  let pairCount = 0;
  let reconnections = 0;
  for (let index = 0; index < order.length; index++) {
    const position = order[index]!;
    const c = connections[position]!;
    const client = clientNumbers.numbers[position]!;
    if (c.clientHelloTime === null) continue;
    const fingerprint = c.clientFingerprint ?? 'unknown';
    let stack = stackNumbers.get(fingerprint);
    if (stack === undefined) {
      stackNumbers.set(fingerprint, (stack = stacks.length));
      stacks.push({ fingerprint, clients: 0, connections: 0, reconnections: 0, holding: 0, offered: 0, forgot: 0 });
    }
    const s = stacks[stack]!;
    pairs[pairCount++] = stack * 2 ** 32 + client;
    s.connections++;
    if (reconnection[index] !== 0) {
      s.reconnections++;
      reconnections++;
      if (reconnection[index] === HOLDING_RECONNECTION) s.holding++;
      if (c.resumption !== 'not-offered' && c.resumption !== 'unknown') s.offered++;
      if (forgot.has(c.id)) s.forgot++;
    }
  }
  const clientCount = clientNumbers.count;
  const sorted = pairs.subarray(0, pairCount).sort();
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) stacks[Math.floor(sorted[i]! / 2 ** 32)]!.clients++;
  }
  const list: ClientStack[] = stacks.map((s) => ({
    fingerprint: s.fingerprint, clients: s.clients, connections: s.connections, reconnections: s.reconnections, offered: s.offered,
    forgot: s.forgot, forgetShare: s.reconnections > 0 ? round2(s.forgot / s.reconnections) : null,
    // Reconnections with a session in hand: parallel connections of a first visit, or hellos of
    // handshakes that never completed (no session issued), say nothing about offering.
    neverOffers: s.holding >= 3 && s.offered === 0,
  })).sort((a, b) => b.connections - a.connections);
  return { clients: clientCount, reconnections, forgot: forgot.size, forgetShare: reconnections > 0 ? round2(forgot.size / reconnections) : null, sharedAddresses: { seen: shared.clients, several: shared.several }, stacks: list };
}

/** Clients found to be several behind one address (count, and share of clients) that make forgetting uncertain. */
const MIN_SHARED_ADDRESSES = 3;
const SHARED_ADDRESS_SHARE = 0.02;

/**
 * The capture shows clients sharing addresses (NAT, a proxy) often enough that another client's
 * connection from such an address cannot be told from the address's client forgetting: simulated
 * NAT farms of 2–5 clients an address, 2–10 minutes, gave 20–160 false forgets with 7–35 % of
 * clients found several; farms without NAT had none found several.
 */
export function addressesLookShared(shared: SharedAddresses): boolean {
  return shared.several >= MIN_SHARED_ADDRESSES && shared.several >= SHARED_ADDRESS_SHARE * shared.clients;
}
