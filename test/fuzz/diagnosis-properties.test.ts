import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diagnose } from '../../parser/diagnose/diagnose.js';
import type { Diagnosis, ServerSummary } from '../../parser/diagnose/types.js';
import { offerTime } from '../../parser/session/session-table.js';
import { wiresharkFilter } from '../../parser/session/tls-connection.js';
import type { ConnectionRecord, HandshakeState, Resumption } from '../../parser/report/types.js';

// The diagnosis on arbitrary connection records: a few servers, clients and sessions in any
// mix of versions, outcomes, aborts and times (what a damaged or unusual capture can produce).
// It must never throw, explain every refused offer exactly once, and keep its counts whole.

const hex = (n: number) => n.toString(16).padStart(64, '0');

const recordArb = fc.record({
  server: fc.integer({ min: 0, max: 2 }),
  sni: fc.constantFrom(null, 'a.test', 'b.test'),
  client: fc.integer({ min: 0, max: 4 }),
  start: fc.double({ min: 0, max: 900, noNaN: true }),
  helloDelay: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: null }),
  version: fc.constantFrom('TLS 1.2', 'TLS 1.3', null),
  offerKind: fc.constantFrom('none', 'session-id', 'ticket', 'psk'),
  offered: fc.integer({ min: 0, max: 6 }),
  outcome: fc.constantFrom<Resumption>('not-offered', 'accepted', 'rejected', 'unanswered'),
  handshake: fc.constantFrom<HandshakeState>('complete', 'aborted', 'incomplete'),
  issuesId: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
  issuesTicket: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
  abortBy: fc.constantFrom('client', 'server') as fc.Arbitrary<'client' | 'server'>,
  stack: fc.constantFrom('t13d1516h2_aaa_bbb', 't12d0909h1_ccc_ddd', null),
});

function toRecord(r: typeof recordArb extends fc.Arbitrary<infer T> ? T : never, index: number): ConnectionRecord {
  const offers = r.offerKind !== 'none' && r.outcome !== 'not-offered';
  const accepted = offers && r.outcome === 'accepted';
  const established = r.handshake === 'complete';
  const clientHelloTime = r.helloDelay === null ? null : r.start + r.helloDelay;
  const serverHelloTime = clientHelloTime !== null && r.outcome !== 'unanswered' && r.version !== null ? clientHelloTime + 0.001 : null;
  const client = { ip: `10.0.0.${r.client}`, port: 40000 + index };
  const server = { ip: `192.0.2.${r.server}`, port: 443 };
  return {
    id: index + 1, client, server, startTime: r.start, clientHelloTime, serverHelloTime, endTime: r.start + 3,
    sni: r.sni, alpn: null, version: serverHelloTime === null ? null : r.version, cipher: null,
    offer: {
      sessionId: offers && r.offerKind === 'session-id' ? hex(100 + r.offered) : null,
      ticket: offers && r.offerKind === 'ticket',
      psk: offers && r.offerKind === 'psk',
    },
    serverSessionId: serverHelloTime === null ? null : accepted && r.offerKind === 'session-id' ? hex(100 + r.offered) : r.issuesId === null ? null : hex(100 + r.issuesId),
    resumption: offers ? r.outcome : 'not-offered',
    resumedBy: accepted && established ? (r.offerKind as 'session-id' | 'ticket' | 'psk') : null,
    resumed: accepted && established, established, handshake: r.handshake,
    abort: r.handshake === 'aborted' ? { by: r.abortBy, how: 'rst', stage: 'after-server-hello', time: r.start + 3, frame: 2, file: 'x.pcap' } : null,
    history: 'Hh', anomalies: [], clientHelloVersion: 'TLS 1.2', helloRetry: false,
    ticketIssued: r.issuesTicket !== null && established, ticketLifetimeHint: r.issuesTicket === null ? null : 300,
    issuedTicket: r.issuesTicket !== null && established && r.version !== 'TLS 1.3' ? hex(200 + r.issuesTicket) : null,
    offeredTicket: offers && r.offerKind === 'ticket' ? hex(200 + r.offered) : null,
    offeredPskIdentity: offers && r.offerKind === 'psk' ? hex(300 + r.offered) : null,
    certificateSeen: !accepted, alerts: [], clientFingerprint: r.stack, file: 'x.pcap', firstFrame: index + 1,
    packets: 10, handshakeBytes: accepted ? 600 : 4000, fullHandshakeOnlyBytes: accepted ? 0 : 3400, wiresharkFilter: wiresharkFilter(client, server),
  };
}

/** Every refused offer has one reason, counted once in its group. */
function checkReasons(d: Diagnosis, connections: ConnectionRecord[]): void {
  const counted = new Map<string, number>();
  for (const s of d.servers as ServerSummary[]) {
    for (const [reason, n] of Object.entries(s.reasons)) counted.set(reason, (counted.get(reason) ?? 0) + (n ?? 0));
    if (s.cachePolicy.keepsNoSessions.detected) expect(s.accepted).toBe(0);
    if ((s.reasons['not-kept'] ?? 0) > 0) expect(s.cachePolicy.keepsNoSessions.detected).toBe(true);
    expect(s.accepted + s.rejected).toBe(s.offers);
  }
  const byReason = new Map<string, number>();
  for (const c of connections) {
    if (c.resumption === 'rejected') expect(c.reason, `connection ${c.id}`).toEqual(expect.any(String));
    if (c.reason) byReason.set(c.reason, (byReason.get(c.reason) ?? 0) + 1);
  }
  expect(Object.fromEntries(byReason)).toEqual(Object.fromEntries(counted));
  for (const f of d.findings) {
    expect(f.title.length).toBeGreaterThan(0);
    expect(f.detail).not.toMatch(/undefined|NaN/);
  }
}

describe('diagnosis on arbitrary connection records', () => {
  it('--state: records cut in two at any moment, the second part carried on from the first, know each session as the whole does', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 80, size: 'max' }), fc.double({ min: 0, max: 1, noNaN: true }), (raw, at) => {
        const connections = raw.map(toRecord);
        diagnose(connections);
        const facts = (c: ConnectionRecord) => (c.session === null ? null : { ...c.session, issuedBy: null, abortedBy: null });
        const whole = new Map(connections.map((c) => [c.id, facts(c)]));
        const times = connections.map(offerTime).sort((a, b) => a - b);
        const cut = times[Math.floor(at * (times.length - 1))]!;
        const first = connections.filter((c) => offerTime(c) < cut);
        const second = connections.filter((c) => offerTime(c) >= cut);
        const carried = diagnose(first, { carryOut: true }).carriedOut!;
        const later = diagnose(second, { carriedIn: carried });
        for (const c of second) expect(facts(c), `connection ${c.id}`).toEqual(whole.get(c.id));
        checkReasons(later, second);
      }),
      { numRuns: 300, seed: 20261136 },
    );
  });

  it('never throws; every refused offer gets one reason, counted once in its group; not-kept only where nothing was accepted', () => {
    fc.assert(
      // Half the runs: one server that refuses every offer (a server that keeps nothing).
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 80, size: 'max' }), fc.boolean(), (raw, refusing) => {
        const connections = raw.map((r) => (refusing ? { ...r, server: 2, sni: null, outcome: r.outcome === 'accepted' ? 'rejected' as const : r.outcome } : r)).map(toRecord);
        checkReasons(diagnose(connections), connections);
      }),
      { numRuns: 300, seed: 20261126 },
    );
  });
});
