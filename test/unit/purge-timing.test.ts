import { describe, expect, it } from 'vitest';
import { diagnose } from '../../parser/diagnose/diagnose.js';
import { wiresharkFilter } from '../../parser/session/tls-connection.js';
import type { ConnectionRecord } from '../../parser/report/types.js';

// A server purges a session when the handshake that used it fails, at the RST, FIN or fatal alert
// (OpenSSL removes it from the cache there), not at that handshake's ClientHello. A browser's
// parallel connection that offers the session in between still finds it: it came before any purge.

const SESSION = 'ab'.repeat(32);
const client = { ip: '10.0.0.1', port: 0 };
const server = { ip: '192.0.2.1', port: 443 };

/** A TLS 1.2 connection of the one client: offering SESSION at `hello` (or nothing), as `outcome` says. */
function connection(id: number, hello: number, outcome: 'full' | 'accepted' | 'rejected', abortAt: number | null = null): ConnectionRecord {
  const offers = outcome !== 'full';
  const accepted = outcome === 'accepted';
  const established = abortAt === null;
  const own = { ...client, port: 50000 + id };
  return {
    id, client: own, server, startTime: hello - 0.01, clientHelloTime: hello, serverHelloTime: hello + 0.001, endTime: abortAt ?? hello + 1,
    sni: 'www.example.test', alpn: null, version: 'TLS 1.2', cipher: null,
    offer: { sessionId: offers ? SESSION : null, ticket: false, psk: false },
    serverSessionId: outcome === 'rejected' ? 'cd'.repeat(32) : SESSION,
    resumption: offers ? (accepted ? 'accepted' : 'rejected') : 'not-offered',
    resumedBy: accepted && established ? 'session-id' : null, resumed: accepted && established, established,
    handshake: established ? 'complete' : 'aborted',
    abort: abortAt === null ? null : { by: 'client', how: 'rst', stage: 'after-server-hello', time: abortAt, frame: 2, file: 'x.pcap' },
    history: 'Hh', anomalies: [], clientHelloVersion: 'TLS 1.2', helloRetry: false, ticketIssued: false, ticketLifetimeHint: null,
    issuedTicket: null, offeredTicket: null, offeredPskIdentity: null, certificateSeen: !accepted, alerts: [], clientFingerprint: 't12d0909h1_ccc_ddd',
    file: 'x.pcap', firstFrame: id, packets: 10, handshakeBytes: 600, fullHandshakeOnlyBytes: accepted ? 0 : 3400, wiresharkFilter: wiresharkFilter(own, server),
  };
}

const abortedByOf = (c: ConnectionRecord) => (c.session as { abortedBy: number | null }).abortedBy;

describe('a purge after an aborted handshake is placed at its end', () => {
  it('an offer made while the aborting handshake was under way came before the purge; the next one after it', () => {
    const connections = [
      connection(1, 0, 'full'),
      // Resumed, then reset by the client after the ServerHello (the IE6/7 case): 0.5 s later.
      connection(2, 100, 'accepted', 100.5),
      // Opened beside it, 0.2 s after its ClientHello: the session was still in the cache.
      connection(3, 100.2, 'accepted'),
      // After the reset: purged.
      connection(4, 200, 'rejected'),
    ];
    diagnose(connections);
    expect(abortedByOf(connections[2]!)).toBeNull();
    // Marked at the ClientHello, the abort came before connection 3's use of the session, and so
    // was taken to be over by then: connection 4's refusal lost its aborted handshake.
    expect(abortedByOf(connections[3]!)).toBe(2);
  });

  it('an unknown session (issued before the capture) offered in between is not after the abort either', () => {
    const connections = [connection(2, 100, 'accepted', 100.5), connection(3, 100.2, 'accepted'), connection(4, 200, 'rejected')];
    diagnose(connections);
    expect(abortedByOf(connections[1]!)).toBeNull();
    expect(abortedByOf(connections[2]!)).toBe(2);
  });
});
