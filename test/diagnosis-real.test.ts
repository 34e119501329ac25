import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { diagnose } from '../parser/diagnose/diagnose.js';
import { decodeSessionState, encodeSessionState } from '../parser/session/session-state.js';
import type { ClientsSummary, ServerSummary, SessionView } from '../parser/diagnose/types.js';
import { analyzeChunks } from './support/pipeline.js';
import { withoutStartOfConnection } from './support/pcap-edit.js';
import { FIXTURE_FACTS } from './support/fixture-facts.js';
import type { ConnectionRecord } from '../parser/report/types.js';

// The diagnosis on captures recorded from real TLS stacks with a known configuration
// (fixtures/captures/PROVENANCE.md says how each was recorded).

/** The largest captured length of a little-endian microsecond pcap's records (libpcap file format). */
function largestFrame(name: string): number {
  const bytes = readFileSync(fileURLToPath(new URL(`../fixtures/captures/${name}`, import.meta.url)));
  let largest = 0;
  for (let at = 24; at + 16 <= bytes.length; at += 16 + bytes.readUInt32LE(at + 8)) largest = Math.max(largest, bytes.readUInt32LE(at + 8));
  return largest;
}

function analyze(name: string) {
  const bytes = readFileSync(fileURLToPath(new URL(`../fixtures/captures/${name}`, import.meta.url)));
  const result = analyzeChunks(name, [bytes]);
  return { ...result, server: (result.document.servers as ServerSummary[])[0]! };
}

describe('diagnosis on real stacks', () => {
  it('a connection whose ClientHello the capture lacks: its offer is unknown, and its abbreviated handshake used a session, never issued one', () => {
    // Real nginx, sessions resumed by ID every 0.9 s; the capture starts after the third ClientHello.
    const path = fileURLToPath(new URL('../fixtures/captures/nginx-session-timeout.pcap', import.meta.url));
    const { connections } = analyzeChunks('cut.pcap', [withoutStartOfConnection(path, 3)]);
    const [first, second, third, fourth] = connections;
    expect(third!.anomalies.map((a) => a.code)).toContain('no-client-hello');
    expect(third!).toMatchObject({ resumption: 'unknown', resumedBy: null, handshake: 'complete', certificateSeen: false, history: 'siI' });
    // The server's abbreviated handshake resumed the first connection's session: not an issue by the third.
    expect(third!.serverSessionId).toBe(first!.serverSessionId);
    expect(third!.session).toBeNull();
    // Its use counts: the fourth connection comes 0.9 s after it, not 1.9 s after the second.
    expect(fourth!.session).toMatchObject({ role: 'offer', known: true, issuedBy: first!.id });
    const gap = (fourth!.session as SessionView).reuseGap!;
    expect(gap).toBeCloseTo(fourth!.clientHelloTime! - third!.serverHelloTime!, 2);
    expect(gap).toBeLessThan(fourth!.clientHelloTime! - second!.clientHelloTime! - 0.5);
    // A full handshake (the server sent its Certificate) whose ClientHello is missing still issued its session.
    const { connections: late } = analyzeChunks('late.pcap', [withoutStartOfConnection(path, 1)]);
    expect(late[0]!).toMatchObject({ resumption: 'unknown', certificateSeen: true, session: { role: 'issue' } });
    expect(late[1]!.session).toMatchObject({ known: true, issuedBy: late[0]!.id });
  });

  it('TLS 1.3 without its ClientHello: the ServerHello\'s pre_shared_key still says the PSK was taken, the full handshake still gave a session', () => {
    // Real nginx, TLS 1.3 tickets resumed four times; the capture starts after the second ClientHello.
    const path = fileURLToPath(new URL('../fixtures/captures/nginx-tls13-ticket-reuse.pcap', import.meta.url));
    const { connections } = analyzeChunks('cut13.pcap', [withoutStartOfConnection(path, 2)]);
    expect(connections[1]!).toMatchObject({ resumption: 'unknown', resumedBy: 'psk', version: 'TLS 1.3' });
    // RFC 8446 §4.2.11: without pre_shared_key in the ServerHello the handshake was a full one.
    const { connections: first } = analyzeChunks('cut13-first.pcap', [withoutStartOfConnection(path, 1)]);
    expect(first[0]!).toMatchObject({ resumption: 'unknown', resumedBy: null, version: 'TLS 1.3', session: { role: 'issue' } });
  });

  it('Postfix with STARTTLS: TLS found after the SMTP dialogue, sessions resumed from its cache, refused once after a restart', () => {
    const { server, connections } = analyze('postfix-starttls-session-cache.pcap');
    expect(connections.map((c) => c.resumption)).toEqual(['not-offered', 'accepted', 'accepted', 'rejected', 'accepted']);
    // Each ClientHello comes after the server's "220 Ready to start TLS", well after the TCP handshake.
    const path = fileURLToPath(new URL('../fixtures/captures/postfix-starttls-session-cache.pcap', import.meta.url));
    const starttls = execFileSync('tshark', ['-n', '-r', path, '-d', 'tcp.port==44361,smtp', '-Y', 'smtp.response.code == 220 && frame contains "Ready to start TLS"', '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8' })
      .trim().split('\n').map(Number);
    expect(starttls).toHaveLength(5);
    connections.forEach((c, i) => {
      expect(c.clientHelloTime!).toBeGreaterThan(starttls[i]!);
      expect(c.anomalies).toEqual([]);
      expect(c.history.startsWith('Cs')).toBe(true);
    });
    // The restart emptied the cache: the session resumed twice is refused, the next one resumes.
    expect(connections[3]!.session).toMatchObject({ known: true, issuedBy: connections[0]!.id });
    expect(connections[4]!.session).toMatchObject({ known: true, issuedBy: connections[3]!.id });
    // One refusal proves no limit or flush.
    expect(connections[3]!.reason).toBe('unexplained');
    expect(server.cachePolicy.flushes).toEqual([]);
  });

  it('nginx ssl_session_timeout 4s: an absolute lifetime of ~4 s, not an idle timeout', () => {
    const { server, connections, diagnosis } = analyze('nginx-session-timeout.pcap');
    const lifetime = server.cachePolicy.lifetime;
    // OpenSSL keeps session times in whole seconds: the effective limit is 3-4 s.
    expect(lifetime.seconds).not.toBeNull();
    expect(lifetime.seconds!).toBeGreaterThanOrEqual(2.5);
    expect(lifetime.seconds!).toBeLessThanOrEqual(4.5);
    expect(lifetime.low!).toBeLessThan(4);
    // Every offer came 0.9 s after the session's last use: no idle timeout is shown.
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected.length).toBeGreaterThanOrEqual(3);
    for (const c of rejected) expect(c.reason).toBe('lifetime');
    expect(server.cachePolicy.sharedCache.backends).toBeNull();
    // The finding states the bounds the estimate rests on, and that an accepted offer lies beyond
    // them (the whole-second clock), instead of a lower bound that read as a second limit.
    const finding = diagnosis.findings.find((f) => f.code === 'lifetime')!;
    const d = (x: number) => `${x.toFixed(1)}s`;
    expect(finding.detail).toContain(`(accepted up to ${d(lifetime.low!)} after the issue, rejected from ${d(lifetime.high!)})`);
    expect(lifetime.exceptions).toBe(1);
    expect(finding.detail).toContain('one offer does not fit that boundary (accepted beyond it or refused within it), so the limit is not sharp');
    // 4 of 17 offers refused would be critical, but an estimate this uncertain is a lead: a warning that says so.
    expect(lifetime.confidence).toBeLessThan(0.5);
    expect(finding.severity).toBe('warning');
    expect(finding.detail).toContain(`The estimate is uncertain (confidence ${lifetime.confidence.toFixed(2)}:`);
  });

  it('OpenSSL keeps a session after a client resets its resumed handshake (no purge on abort)', () => {
    const { server, connections } = analyze('tls12-rst-after-server-hello.pcap');
    const [, aborted, after] = connections;
    expect(aborted!.abort).toMatchObject({ by: 'client', how: 'rst', stage: 'after-server-hello' });
    expect(aborted!.resumption).toBe('accepted');
    expect(after!.resumption).toBe('accepted');
    expect((after!.session as { abortedBy: number }).abortedBy).toBe(aborted!.id);
    expect(server.cachePolicy.purgeOnAbort.detected).toBe(false);
  });

  it('nginx ssl_session_cache builtin:10: a capacity of 9 sessions, not a time limit; 16 clients behind one address forget nothing', () => {
    const { server, connections, document } = analyze('nginx-cache-capacity.pcap');
    const capacity = server.cachePolicy.capacity;
    // OpenSSL 3.0 counts a new session before it evicts: a cache of 10 keeps 9. Resumed at a place
    // in the queue (churn: sessions issued from it on, itself included) up to 9, refused from 10.
    expect(capacity.low).toBe(9);
    expect(capacity.high).toBe(10);
    expect(capacity.entries).toBe(9);
    // Every session was used only when issued: its place by last use is its churn, and the capture
    // cannot tell FIFO from LRU (OpenSSL's cache is FIFO; java-lru-cache.pcap tells them apart).
    expect(capacity.eviction).toBe('unknown');
    for (const c of connections) {
      const churn = (c.session as { churn: number | null } | null)?.churn ?? null;
      if (c.resumption === 'accepted' && churn !== null) expect(churn).toBeLessThanOrEqual(9);
      if (c.resumption === 'rejected') expect(churn).toBeGreaterThanOrEqual(10);
    }
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    expect(server.cachePolicy.lifetime.seconds).toBeNull();
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected).toHaveLength(7);
    for (const c of rejected) expect(c.reason).toBe('capacity');
    // Session 7 (the first refused): sessions 8-16 came after it.
    expect(rejected[0]!.reasonDetail).toBe('9 newer sessions were issued since (inferred cache size 9)');
    // Each connection is counted under one reason only.
    expect(server.reasons).toEqual({ capacity: 7 });
    const finding = (document.findings as { code: string; detail: string }[]).find((f) => f.code === 'capacity')!;
    expect(finding.detail).toContain('7 of 21 offers were rejected after 9 or more newer sessions had been issued');
    // A cache four times as large (36) holds a session up to 36th place in the queue: all seven.
    expect(finding.detail).toContain('a cache of 36 entries would have resumed 7 of them');
    // One address and TLS stack, but it resumed sessions other than its latest: several clients,
    // so offering nothing (a new client) is no forgetting.
    expect(connections.filter((c) => c.reason === 'client-forgot')).toHaveLength(0);
    expect((document.clients as { forgot: number }).forgot).toBe(0);
  });

  it('nginx restarted (its builtin cache emptied): one flush at the restart, not a shared-cache problem', () => {
    const { server, connections } = analyze('nginx-cache-flush.pcap');
    const flushes = server.cachePolicy.flushes;
    expect(flushes).toHaveLength(1);
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected).toHaveLength(8);
    for (const c of rejected) expect(c.reason).toBe('flush');
    // Between the last acceptance before the restart and the first refusal after it.
    const firstRefusal = Math.min(...rejected.map((c) => c.clientHelloTime!));
    const lastBefore = Math.max(...connections.filter((c) => c.resumption === 'accepted' && c.clientHelloTime! < firstRefusal).map((c) => c.clientHelloTime!));
    expect(flushes[0]!.time).toBe(firstRefusal);
    expect(flushes[0]!.low).toBeGreaterThanOrEqual(lastBefore);
    expect(flushes[0]!.sessionsLost).toBe(8);
    expect(server.cachePolicy.sharedCache.backends).toBeNull();
    expect(server.reasons).toEqual({ flush: 8 });
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    expect(server.cachePolicy.capacity.entries).toBeNull();
  });

  it('nginx TLS 1.3 with a 4 s timeout: resumptions renew the tickets, so one session lives on while it is used', () => {
    const { server, connections } = analyze('nginx-tls13-idle.pcap');
    const resumed = connections.filter((c) => c.resumption === 'accepted');
    expect(resumed.length).toBe(12);
    for (const c of resumed) expect(c.resumedBy).toBe('psk');
    const views = resumed.map((c) => c.session as { age: number; reuseGap: number; issuedBy: number });
    // One chain, one session: resumed 9 s after its issue, each time within 3 s of the last use.
    expect(Math.max(...views.map((v) => v.age))).toBeGreaterThan(9);
    expect(Math.max(...views.map((v) => v.reuseGap))).toBeLessThan(3.5);
    expect(server.cachePolicy.lifetime.seconds).toBeNull();
    expect(server.cachePolicy.lifetime.low!).toBeGreaterThan(9);
    expect(server.cachePolicy.idleTimeout.low!).toBeGreaterThan(3);
    // A single refusal (after 5.5 s) proves no limit; the client's own expiry is no forgetting.
    const [refused] = connections.filter((c) => c.resumption === 'rejected');
    expect((refused!.session as { reuseGap: number }).reuseGap).toBeGreaterThan(5.5);
    expect(refused!.reason).toBe('unexplained');
    expect(connections.filter((c) => c.reason === 'client-forgot')).toHaveLength(0);
  });

  it('Chromium against a TLS 1.2 nginx: one fingerprint, ticket resumptions, its TLS 1.3 compatibility ID not blamed on the cache', () => {
    const { connections, diagnosis } = analyze('chromium-nginx-resume.pcap');
    expect(connections.map((c) => c.resumption)).toEqual(['rejected', 'accepted', 'accepted']);
    expect(connections.slice(1).map((c) => c.resumedBy)).toEqual(['ticket', 'ticket']);
    // GREASE and Chromium's shuffled extension order must not split one browser into three clients.
    expect(new Set(connections.map((c) => c.clientFingerprint)).size).toBe(1);
    expect(connections[0]!.clientFingerprint).toMatch(/^t13d/);
    const [first] = connections;
    expect(first!.offer.sessionId).toHaveLength(64);
    expect(first!.reason).toBe('issued-before-capture');
    expect(first!.reasonDetail).toContain('RFC 8446 §4.1.2');
    // Said once, as what it is: no finding about the session cache.
    expect(diagnosis.findings.map((f) => [f.code, f.severity, f.evidence])).toEqual([['tls13-compatibility-id', 'info', [first!.id]]]);
    // A server that never answers TLS 1.3: enabling it there is the way out.
    expect(diagnosis.findings[0]!.detail).toMatch(/Enabling TLS 1\.3 on \S+ would make them TLS 1\.3 handshakes\.$/);
  });

  it('Chromium with TLS 1.3: one fingerprint over shuffled extensions and GREASE (signature algorithms too), PSK resumptions of one session', () => {
    const { connections } = analyze('chromium-nginx-tls13.pcap');
    expect(connections.map((c) => [c.version, c.resumption, c.resumedBy])).toEqual([
      ['TLS 1.3', 'not-offered', null], ['TLS 1.3', 'accepted', 'psk'], ['TLS 1.3', 'accepted', 'psk'],
    ]);
    expect(new Set(connections.map((c) => c.clientFingerprint)).size).toBe(1);
    const views = connections.map((c) => c.session as { role: string; issuedBy: number });
    expect(views.map((v) => v.role)).toEqual(['issue', 'offer', 'offer']);
    expect(views.map((v) => v.issuedBy)).toEqual([connections[0]!.id, connections[0]!.id, connections[0]!.id]);
  });

  it('Chromium after a HelloRetryRequest: resumed by PSK, the same browser fingerprint as without the retry', () => {
    const retried = analyze('chromium-nginx-hrr.pcap').connections;
    const plain = analyze('chromium-nginx-tls13.pcap').connections;
    expect(retried.map((c) => [c.helloRetry, c.resumption, c.resumedBy])).toEqual([
      [true, 'not-offered', null], [true, 'accepted', 'psk'], [true, 'accepted', 'psk'],
    ]);
    expect(retried.every((c) => c.anomalies.length === 0 && c.handshake === 'complete')).toBe(true);
    expect(new Set([...retried, ...plain].map((c) => c.clientFingerprint)).size).toBe(1);
  });

  it('nginx restarted with a new session ticket key: one flush, every old ticket refused within its lifetime hint', () => {
    const { server, connections, diagnosis } = analyze('nginx-ticket-key-rotation.pcap');
    // Only tickets were refused: the finding names the keys, not a cache.
    const flush = diagnosis.findings.find((f) => f.code === 'flush')!;
    expect(flush.title).toMatch(/^The session ticket keys of resumescope\.test:44323 changed between \d{4}-\d\d-\d\dT[\d:.]+Z and [\d:.]+Z$/);
    expect(flush.detail).toContain('ssl_session_ticket_key');
    expect(flush.detail).toContain('8 sessions lost');
    // Session IDs refused after nginx's restart: a cache emptied.
    const cache = analyze('nginx-cache-flush.pcap').diagnosis.findings.find((f) => f.code === 'flush')!;
    expect(cache.title).toMatch(/^The session cache of resumescope\.test:44318 was emptied between \d{4}-\d\d-\d\dT[\d:.]+Z and [\d:.]+Z$/);
    expect(cache.detail).toContain('a `shared` cache across reloads');
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected).toHaveLength(8);
    for (const c of rejected) {
      expect(c.offer.ticket).toBe(true);
      expect(c.reason).toBe('flush');
    }
    expect(server.cachePolicy.flushes).toHaveLength(1);
    expect(server.cachePolicy.flushes[0]!.time).toBe(Math.min(...rejected.map((c) => c.clientHelloTime!)));
    // The finding says which sessions: issued by the moment's lower bound, offered from its upper
    // one on (it read "every ticket issued before <upper> (and after <lower>)", as if only tickets
    // issued between the two had been refused).
    const { low, time } = server.cachePolicy.flushes[0]!;
    const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
    expect(flush.detail).toContain(`Every ticket issued by ${iso(low)} and offered from ${iso(time)} on was refused: 8 sessions lost.`);
    for (const c of rejected) expect(c.clientHelloTime! - (c.session as { age: number }).age).toBeLessThanOrEqual(low);
    expect(server.cachePolicy.tickets).toMatchObject({ offers: 24, accepted: 16, rejected: 8, lifetimeHint: 600, rejectedWithinHint: 8 });
    expect(connections.filter((c) => c.resumption === 'accepted').every((c) => c.resumedBy === 'ticket')).toBe(true);
  });

  it('s_server restarted with a new ticket key a second before the capture ends: a key change by the key names, not a 1-second idle timeout', () => {
    // Nothing resumed after the restart, so each refusal was idle longer than every acceptance and
    // read as "[critical] Sessions are dropped after 1.0s idle".
    const { server, connections, diagnosis } = analyze('tls12-ticket-key-restart-at-end.pcap');
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected).toHaveLength(6);
    expect(rejected.every((c) => c.reason === 'flush')).toBe(true);
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    expect(server.cachePolicy.flushes).toHaveLength(1);
    expect(server.cachePolicy.flushes[0]!.sessionsLost).toBe(6);
    expect(server.cachePolicy.tickets.keyNames).toBe(2);
    expect(diagnosis.findings.map((f) => f.code)).not.toContain('idle-timeout');
    expect(diagnosis.findings.find((f) => f.code === 'flush')!.title).toMatch(/^The session ticket keys of resumescope\.test:44367 changed between /);
    // The refused tickets name the first key, the tickets the refusing handshakes issued the second.
    const firstKey = (hex: string | null) => (hex ?? '').slice(0, 32);
    const oldKeys = new Set(rejected.map((c) => firstKey(c.offeredTicket)));
    const newKeys = new Set(rejected.map((c) => firstKey(c.issuedTicket ?? null)));
    expect(oldKeys.size).toBe(1);
    expect(newKeys.size).toBe(1);
    expect([...oldKeys][0]).not.toBe([...newKeys][0]);
  });

  it('OpenSSL purges a session when the client aborts its resumption with a fatal alert: abort by the client, purge detected', () => {
    const { server, connections, diagnosis } = analyze('tls12-alert-purge.pcap');
    // The handshakes ended with the client's fatal alert, not a reset: the finding says which.
    expect(diagnosis.findings.find((f) => f.code === 'purge-on-abort')!.title).toBe('resumescope.test:44324 drops a session when a handshake using it is ended with a fatal alert');
    const aborted = connections.filter((c) => c.handshake === 'aborted');
    expect(aborted).toHaveLength(4);
    for (const c of aborted) {
      // The server closed first, answering the alert; the client ended the handshake.
      expect(c.abort).toMatchObject({ by: 'client', how: 'fin', stage: 'after-server-hello' });
      expect(c.alerts).toEqual([expect.objectContaining({ by: 'client', level: 2, description: 40 })]);
      expect(c.resumption).toBe('accepted');
      expect(c.resumed).toBe(false);
    }
    const purge = server.cachePolicy.purgeOnAbort;
    expect(purge.detected).toBe(true);
    expect(purge.evidence).toEqual(aborted.map((c) => c.id));
    const refused = connections.filter((c) => c.resumption === 'rejected');
    expect(refused.map((c) => c.reason)).toEqual(['purged-after-abort', 'purged-after-abort', 'purged-after-abort', 'purged-after-abort']);
    expect(refused.map((c) => (c.session as { abortedBy: number }).abortedBy)).toEqual(aborted.map((c) => c.id));
  });

  it('Chromium over Ethernet-sized segments: each ClientHello in two TCP segments, the same facts as in one', () => {
    const split = analyze('chromium-nginx-mtu1500.pcap').connections;
    const whole = analyze('chromium-nginx-tls13.pcap').connections;
    const facts = (c: ConnectionRecord) => [c.version, c.resumption, c.resumedBy, c.sni, c.clientFingerprint, c.handshake, c.anomalies.length];
    expect(split.map(facts)).toEqual(whole.map(facts));
    // No frame beyond Ethernet's 1514 bytes, while Chromium's ClientHello alone is ~1.9 KB (one 1.9 KB
    // segment in chromium-nginx-tls13.pcap): every hello was reassembled from two segments.
    expect(largestFrame('chromium-nginx-mtu1500.pcap')).toBeLessThanOrEqual(1514);
    expect(largestFrame('chromium-nginx-tls13.pcap')).toBeGreaterThan(1900);
  });

  it('TLS 1.3 early data: the client\'s 0-RTT records before the ServerHello are no anomaly', () => {
    const { connections } = analyze('nginx-tls13-early-data.pcap');
    expect(connections.map((c) => [c.resumption, c.resumedBy, c.handshake, c.history])).toEqual([
      ['not-offered', null, 'complete', 'CsiI'],
      // Client hello, client encrypted (0-RTT), server hello, server encrypted.
      ['accepted', 'psk', 'complete', 'CIsi'],
      ['accepted', 'psk', 'complete', 'CIsi'],
    ]);
    expect(connections.flatMap((c) => c.anomalies)).toEqual([]);
  });

  it('two addresses of one name: caches of their own are found by the cross-address refusals, a shared one by the acceptances', () => {
    const own = analyze('nginx-two-addresses-own-caches.pcap');
    expect(own.server.cachePolicy.sharedCache).toMatchObject({ shared: false, backends: 2, crossAddressOffers: 11, crossAddressRejected: 11 });
    const refused = own.connections.filter((c) => c.resumption === 'rejected');
    expect(refused).toHaveLength(11);
    for (const c of refused) {
      expect(c.reason).toBe('other-backend');
      expect(c.reasonDetail).toMatch(/^issued by 127\.0\.0\.[23]:44327 \(connection \d+\), offered to 127\.0\.0\.[23]:44327, which does not share its cache$/);
    }
    const shared = analyze('nginx-two-addresses-shared-cache.pcap');
    expect(shared.server.cachePolicy.sharedCache).toMatchObject({ shared: true, crossAddressOffers: 6, crossAddressRejected: 0 });
    expect(shared.connections.filter((c) => c.resumption === 'accepted')).toHaveLength(11);
    expect(shared.server.reasons).toEqual({});
  });

  it('Chromium by session ID to a TLS 1.2 server: its compatibility ID first, then the real cached ID, resumed', () => {
    const { connections, diagnosis } = analyze('chromium-nginx-session-id.pcap');
    expect(connections.map((c) => [c.resumption, c.resumedBy])).toEqual([['rejected', null], ['accepted', 'session-id'], ['accepted', 'session-id']]);
    // The ID it resumes is the one the first connection got, not another random value.
    expect(connections[1]!.offer.sessionId).toBe(connections[0]!.serverSessionId);
    expect(diagnosis.findings.map((f) => [f.code, f.evidence])).toEqual([['tls13-compatibility-id', [connections[0]!.id]]]);
  });

  it('every Chromium capture shows one browser: one fingerprint over TLS 1.2, 1.3, retries and segmentation', () => {
    const names = ['resume', 'tls13', 'hrr', 'mtu1500', 'session-id'].map((n) => `chromium-nginx-${n}.pcap`);
    const fingerprints = new Set(names.flatMap((name) => analyze(name).connections.map((c) => c.clientFingerprint)));
    expect(fingerprints.size).toBe(1);
  });

  it('TLS 1.3, two TLS stacks on one address: each chain follows its own session', () => {
    const { connections } = analyze('nginx-tls13-two-stacks.pcap');
    const [a, b] = connections;
    expect(a!.clientFingerprint).not.toBe(b!.clientFingerprint);
    const previous = new Map([[a!.clientFingerprint, a!], [b!.clientFingerprint, b!]]);
    for (const c of connections.slice(2)) {
      const own = c.clientFingerprint === a!.clientFingerprint ? a! : b!;
      const view = c.session as { issuedBy: number; reuseGap: number };
      expect([c.resumption, c.resumedBy, view.issuedBy]).toEqual(['accepted', 'psk', own.id]);
      // Idle since its own chain's previous connection, not since the other chain's.
      expect(view.reuseGap).toBeCloseTo(c.clientHelloTime! - previous.get(c.clientFingerprint)!.clientHelloTime!, 6);
      previous.set(c.clientFingerprint, c);
    }
  });

  it('nginx with two workers and the builtin cache: two backends behind one address, and the finding says where to look', () => {
    const { server, connections, diagnosis } = analyze('nginx-two-workers-builtin-cache.pcap');
    expect(server.cachePolicy.sharedCache).toMatchObject({ shared: false, backends: 2 });
    const refused = connections.filter((c) => c.resumption === 'rejected');
    expect(refused.length).toBe(10);
    expect(server.reasons).toEqual({ 'other-backend': 10 });
    const finding = diagnosis.findings.find((f) => f.code === 'no-shared-cache')!;
    expect(finding.detail).toContain('All went to one address (127.0.0.1:44331)');
    expect(finding.detail).toContain('ssl_session_cache builtin');
    expect(finding.detail).toContain('(1 client)');
  });

  it('one client that forgets its valid session now and then: client-forgot, 20 % of its reconnections', () => {
    const { connections, diagnosis, document } = analyze('tls12-client-forgets.pcap');
    const forgot = connections.filter((c) => c.reason === 'client-forgot');
    expect(forgot.map((c) => connections.indexOf(c))).toEqual([4, 8, 12]);
    for (const c of forgot) {
      expect(c.resumption).toBe('not-offered');
      expect(c.reasonDetail).toMatch(/^the client held a session last used \d+ms earlier \(the server accepts gaps up to 1\.5s\) but offered nothing$/);
    }
    expect((document.clients as ClientsSummary)).toMatchObject({ clients: 1, reconnections: 15, forgot: 3, forgetShare: 0.2 });
    expect(diagnosis.findings.map((f) => f.code)).toEqual(['client-forgets']);
    expect(diagnosis.findings[0]!.severity).toBe('critical');
    // The first eight connections alone: one forgetful reconnection of seven, a share over 10 % but
    // one connection is no pattern (a browser's separate cache partition looks like it once).
    const firstEight = connections.slice(0, 8).map((c) => ({ ...c, reason: null, session: null }));
    const alone = diagnose(firstEight);
    expect(firstEight.filter((c) => c.reason === 'client-forgot')).toHaveLength(1);
    expect(alone.findings.find((f) => f.code === 'client-forgets')!.severity).toBe('warning');
  });

  it('Chromium, a page of six images from a server 50 ms away: the images opened while tickets were in flight did not forget', () => {
    const { connections, diagnosis, document } = analyze('chromium-nginx-parallel-rtt.pcap');
    expect(connections.map((c) => c.resumption)).toEqual(['not-offered', 'accepted', 'accepted', 'accepted', 'not-offered', 'not-offered', 'not-offered', 'not-offered']);
    // One ticket per connection: a new PSK identity each time.
    const identities = connections.map((c) => c.offeredPskIdentity).filter((x) => x !== null);
    expect(new Set(identities).size).toBe(3);
    // The four full handshakes began before the last resumption's ServerHello plus a round trip:
    // the client held no unused ticket.
    const lastResumed = connections[3]!;
    const roundTrip = lastResumed.serverHelloTime! - lastResumed.clientHelloTime!;
    expect(roundTrip).toBeGreaterThan(0.045);
    for (const c of connections.slice(4)) expect(c.clientHelloTime!).toBeLessThan(lastResumed.serverHelloTime! + roundTrip);
    expect(connections.filter((c) => c.reason === 'client-forgot')).toEqual([]);
    expect(diagnosis.findings.map((f) => f.code)).not.toContain('client-forgets');
    expect((document.clients as ClientsSummary)).toMatchObject({ clients: 1, reconnections: 7, forgot: 0 });
  });

  it('the same page load captured at the server: the round trip is read from SYN to ClientHello, and still no one forgot', () => {
    const { connections } = analyze('chromium-nginx-parallel-rtt-server.pcap');
    expect(connections.map((c) => c.resumption)).toEqual(['not-offered', 'accepted', 'accepted', 'accepted', 'not-offered', 'not-offered', 'not-offered', 'not-offered']);
    // At the server the ServerHello follows the ClientHello within a millisecond; the client is 25+ ms away.
    for (const c of connections) {
      expect(c.serverHelloTime! - c.clientHelloTime!).toBeLessThan(0.005);
      expect(c.clientHelloTime! - c.startTime).toBeGreaterThan(0.02);
    }
    expect(connections.filter((c) => c.reason === 'client-forgot')).toEqual([]);
    // A server that answers the four image connections side by side, 3-5 ms after the fifth
    // connection's ServerHello: ServerHello − ClientHello alone (a client-side round trip) would
    // take the fifth's new session as already delivered to the client.
    const fifth = connections[4]!;
    const parallel = connections.map((c, i) => {
      if (i < 5) return { ...c, reason: null, session: null };
      const shift = fifth.serverHelloTime! + 0.002 + i * 0.001 - c.clientHelloTime!;
      return { ...c, reason: null, session: null, startTime: c.startTime + shift, clientHelloTime: c.clientHelloTime! + shift, serverHelloTime: c.serverHelloTime! + shift, endTime: c.endTime + shift };
    });
    diagnose(parallel);
    expect(parallel.filter((c) => c.reason === 'client-forgot')).toEqual([]);
  });

  it('Chromium 50 ms away, four pages through a load balancer without a shared cache: about two backends, no forgetting', () => {
    const { server, connections, document } = analyze('chromium-lb-no-shared-cache.pcap');
    // Each refusal gave the browser a new session: six changes of its session. (Before sessions
    // counted as held only once delivered, its resuming the older session on a connection opened
    // while the new one was on its way made it "several clients", and the count stopped at 2.)
    expect(server.cachePolicy.sharedCache).toMatchObject({ shared: false, backends: 2, sessionChanges: 6, clientsWithSessionChanges: 1 });
    expect(server.reasons).toEqual({ 'other-backend': 6, 'issued-before-capture': 1 });
    // The browser offers one TLS 1.2 session on several connections at once (no ticket is used up),
    // and switches to a new one only once it has arrived.
    const offers = connections.map((c) => c.offer.sessionId?.slice(0, 8));
    expect(new Set(offers.slice(2, 8)).size).toBe(1);
    expect(connections.filter((c) => c.reason === 'client-forgot')).toEqual([]);
    expect((document.clients as ClientsSummary)).toMatchObject({ clients: 1, reconnections: 15, forgot: 0 });
    expect((document.clients as ClientsSummary).stacks[0]).toMatchObject({ offered: 15, neverOffers: false });
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    expect(server.cachePolicy.capacity.entries).toBeNull();
  });

  it('the same with session tickets: the backends do not share ticket keys, and the finding says which keys to share', () => {
    const { server, connections, diagnosis } = analyze('chromium-lb-tickets.pcap');
    expect(server.cachePolicy.sharedCache).toMatchObject({ shared: false, backends: 2 });
    const refused = connections.filter((c) => c.reason === 'other-backend');
    expect(refused).toHaveLength(5);
    for (const c of refused) expect(c.offer.ticket).toBe(true);
    const finding = diagnosis.findings.find((f) => f.code === 'no-shared-cache')!;
    expect(finding.title).toBe(`Backends of ${server.group} do not share session ticket keys (about 2 backends)`);
    expect(finding.detail).toContain('ssl_session_ticket_key');
    expect(finding.detail).not.toContain('ssl_session_cache builtin'); // the cache is off: not the cause
    expect(diagnosis.whatIf.find((w) => w.scenario === 'shared-cache')).toMatchObject({ fullHandshakesAvoided: 5, description: 'the same session ticket keys on all backends' });
    // By session ID (chromium-lb-no-shared-cache.pcap) it stays a cache that is not shared.
    const byId = analyze('chromium-lb-no-shared-cache.pcap').diagnosis.findings.find((f) => f.code === 'no-shared-cache')!;
    expect(byId.title).toMatch(/do not share a session cache \(about 2 backends\)$/);
  });

  it('the same with TLS 1.3: seven offers are too few to name the backends; the finding says so, and no one forgot', () => {
    const { server, connections, diagnosis } = analyze('chromium-lb-tls13.pcap');
    expect(server.offers).toBe(7);
    expect(server.reasons).toEqual({ unexplained: 3 });
    expect(server.cachePolicy.sharedCache.backends).toBeNull();
    const finding = diagnosis.findings.find((f) => f.code === 'unexplained')!;
    expect(finding.detail).toContain('With 7 offers, too few to tell a pattern: backends without a shared cache or shared ticket keys show as a steady share of refusals over at least 12 offers');
    // Eight image connections opened in two bursts while the tickets were on their way.
    expect(connections.filter((c) => c.resumption === 'not-offered')).toHaveLength(9);
    expect(connections.filter((c) => c.reason === 'client-forgot')).toEqual([]);
  });

  it('Chromium against ssl_session_timeout 2s, each session refused as long idle as it is old: the finding says a lifetime fits as well', () => {
    const { server, connections, diagnosis } = analyze('chromium-nginx-timeout.pcap');
    expect(server.reasons).toEqual({ 'idle-timeout': 3, 'issued-before-capture': 1 });
    for (const c of connections.filter((x) => x.reason === 'idle-timeout')) {
      const s = c.session as { age: number; reuseGap: number };
      expect(s.age).toBeGreaterThan(4); // older than every accepted session (~1.2 s) …
      expect(s.reuseGap).toBeGreaterThan(3); // … and as long idle
    }
    const idle = diagnosis.findings.find((f) => f.code === 'idle-timeout')!;
    expect(idle.detail).toContain('A lifetime fits them as well');
    // Where the capture separates them (offers every 0.9 s, ages growing) no such doubt is voiced.
    const separated = analyze('nginx-session-timeout.pcap').diagnosis.findings;
    expect(separated.map((f) => f.code)).toContain('lifetime');
    expect(separated.every((f) => !f.detail.includes('fits them as well'))).toBe(true);
  });

  it('a new visitor 14 s into a capture of a 2 s timeout: its TLS 1.3 random session ID is not put down to the timeout, nor counted in the rate', () => {
    const { server, connections, diagnosis } = analyze('chromium-nginx-new-visitor.pcap');
    // The new browser context's first ClientHello (tshark: tcp.stream 7) carries a session ID never
    // issued, from a stack offering TLS 1.3 (supported_versions 0x0304), answered with TLS 1.2.
    const visitor = connections[7]!;
    expect(visitor.clientFingerprint).toMatch(/^t13/);
    expect(visitor.resumption).toBe('rejected');
    expect(visitor.startTime - connections[0]!.startTime).toBeGreaterThan(12);
    expect(server.cachePolicy.idleTimeout.seconds).not.toBeNull();
    expect(visitor.reason).toBe('issued-before-capture');
    expect(visitor.reasonDetail).toContain('most likely no resumption attempt at all');
    // The known sessions' refusals stay the timeout's; the two first visits are counted apart.
    expect(server.reasons).toEqual({ 'idle-timeout': 4, 'issued-before-capture': 2 });
    expect(server.tls13CompatibilityIds).toBe(2);
    expect(diagnosis.findings.find((f) => f.code === 'tls13-compatibility-id')!.evidence).toEqual([connections[0]!.id, visitor.id]);
    // A session ID from before the capture by a stack without TLS 1.3 still meets the timeout.
    const twelveOnly = connections.map((c) => ({ ...c, reason: null, session: null, ...(c.id === visitor.id ? { clientFingerprint: c.clientFingerprint!.replace(/^t13/, 't12') } : {}) }));
    const without = diagnose(twelveOnly);
    expect(twelveOnly[7]!.reason).toBe('idle-timeout');
    expect(without.servers[0]!.tls13CompatibilityIds).toBe(1);
  });

  // nginx restarted with a new ssl_session_ticket_key, and a new gnutls-serv (a random key at each
  // start): both begin their tickets with the key's name, as RFC 5077 §4 recommends.
  it.each([
    ['nginx-ticket-key-before-capture.pcap', 44364, 8],
    ['gnutls-ticket-key-before-capture.pcap', 44365, 6],
  ] as const)('%s: a ticket key replaced before the capture; the old tickets are told by their key name, not "issued before the capture"', (file, port, old) => {
    const { server, connections, diagnosis } = analyze(file);
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected).toHaveLength(old);
    // tshark: the ticket each client offered (stream 4 on) and the tickets the server issued in the capture.
    const path = fileURLToPath(new URL(`../fixtures/captures/${file}`, import.meta.url));
    const fields = (filter: string, field: string) => execFileSync('tshark', ['-n', '-r', path, '-d', `tcp.port==${port},tls`, '-Y', filter, '-T', 'fields', '-e', field], { encoding: 'utf8' })
      .trim().split('\n').map((hex) => hex.split(',')[0]!.replace(/:/g, '').slice(0, 32));
    const issuedNames = new Set(fields('tls.handshake.type == 4', 'tls.handshake.session_ticket'));
    // tshark 4.0 names no field for the ClientHello's ticket: the SessionTicket extension's data is
    // its only undissected one (an empty one, a new client asking for a ticket, prints "<MISSING>").
    const offeredNames = fields('tls.handshake.type == 1', 'tls.handshake.extension.data').filter((hex) => /^[0-9a-f]{32}$/.test(hex));
    expect(offeredNames).toHaveLength(connections.length - 4);
    expect(issuedNames.size).toBe(1);
    const oldNames = offeredNames.filter((name) => !issuedNames.has(name));
    expect(oldNames).toHaveLength(old);
    for (const c of rejected) {
      expect(c.session).toMatchObject({ known: false });
      expect(c.reason).toBe('flush');
      expect(c.reasonDetail).toContain(`under the ticket key named ${oldNames[0]}`);
    }
    expect(server.reasons).toEqual({ flush: old });
    expect(server.cachePolicy.tickets).toMatchObject({ keyNames: 1, rejectedUnusedKey: old });
    expect(server.cachePolicy.flushes).toEqual([]);
    expect(diagnosis.findings.map((f) => [f.code, f.evidence])).toEqual([['old-ticket-key', rejected.map((c) => c.id)]]);
    expect(diagnosis.findings[0]!.detail).toContain(oldNames[0]!);
    // A server whose tickets begin with random bytes (a format without key names) says nothing of keys:
    // the same refusals stay "issued before the capture".
    const randomFirstBytes = (hex: string | null, i: number) => (hex === null ? null : (i.toString(16).padStart(2, '0').repeat(16) + hex.slice(32)));
    const unnamed = connections.map((c, i) => ({ ...c, reason: null, session: null, issuedTicket: randomFirstBytes(c.issuedTicket, i), offeredTicket: randomFirstBytes(c.offeredTicket, 100 + i) }));
    const without = diagnose(unnamed);
    expect(without.servers[0]!.reasons).toEqual({ 'issued-before-capture': old });
    expect(without.servers[0]!.cachePolicy.tickets).toMatchObject({ keyNames: null, rejectedUnusedKey: 0 });
    expect(without.findings[0]!.detail).not.toContain('key');
    // The old tickets under the key in use instead: the server could open them, so the key is not
    // why; still "issued before the capture", with a word on what is left (too old).
    const newName = [...issuedNames][0]!;
    const underKeyInUse = connections.map((c) => ({ ...c, reason: null, session: null, offeredTicket: c.offeredTicket?.startsWith(oldNames[0]!) ? newName + c.offeredTicket.slice(32) : c.offeredTicket }));
    const inUse = diagnose(underKeyInUse);
    expect(inUse.servers[0]!.reasons).toEqual({ 'issued-before-capture': old });
    expect(inUse.servers[0]!.cachePolicy.tickets).toMatchObject({ keyNames: 1, rejectedUnusedKey: 0 });
    for (const c of underKeyInUse.filter((x) => x.resumption === 'rejected')) {
      expect(c.reasonDetail).toBe('the offered ticket was never seen issued or used in the capture; it is sealed under a key the server still uses, so the key is not why: most likely it was older than the server\'s ticket lifetime');
    }
    expect(without.findings.map((f) => f.code)).toEqual(['issued-before-capture']);
  });

  it('the same in TLS 1.3: the tickets travel encrypted, so the key names are read from the PSK identities offered', () => {
    const file = 'nginx-tls13-ticket-key-before-capture.pcap';
    const { server, connections, diagnosis } = analyze(file);
    const path = fileURLToPath(new URL(`../fixtures/captures/${file}`, import.meta.url));
    const identities = execFileSync('tshark', ['-n', '-r', path, '-d', 'tcp.port==44366,tls', '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-e', 'tls.handshake.extensions.psk.identity.identity'], { encoding: 'utf8' })
      .split('\n').slice(0, connections.length).map((hex) => hex.replace(/:/g, '').slice(0, 32));
    // Four new clients offer nothing; eight identities under the old key; twelve under the new one.
    expect(identities.slice(0, 4)).toEqual(['', '', '', '']);
    const oldName = identities[4]!;
    expect(new Set(identities.slice(4, 12))).toEqual(new Set([oldName]));
    expect(new Set(identities.slice(12)).size).toBe(1);
    expect(identities[12]).not.toBe(oldName);
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected.map((c) => c.id)).toEqual(connections.slice(4, 12).map((c) => c.id));
    // Each old identity is linked to its client's latest session (the issue of a TLS 1.3 ticket is
    // unseen); its key name still tells: before, these eight were "unexplained".
    for (const c of rejected) {
      expect(c.reason).toBe('flush');
      expect(c.reasonDetail).toContain(`sealed under the ticket key named ${oldName}`);
    }
    expect(server.reasons).toEqual({ flush: 8 });
    // Twelve identities accepted, each the first time, all under one key.
    expect(server.cachePolicy.tickets).toMatchObject({ keyNames: 1, rejectedUnusedKey: 8 });
    expect(diagnosis.findings.map((f) => [f.code, f.evidence])).toEqual([['old-ticket-key', rejected.map((c) => c.id)]]);
    // Identities with random first bytes name no keys: nothing is said of keys.
    const unnamed = connections.map((c, i) => ({ ...c, reason: null, session: null, offeredPskIdentity: c.offeredPskIdentity === null ? null : i.toString(16).padStart(2, '0').repeat(16) + c.offeredPskIdentity.slice(32) }));
    const without = diagnose(unnamed);
    expect(without.servers[0]!.reasons.flush).toBeUndefined();
    expect(without.findings.some((f) => f.code === 'old-ticket-key')).toBe(false);
  });

  it('TLS 1.3 random session IDs at several servers: one finding naming them, not one per server', () => {
    // HAProxy's health checks (no SNI: a group of their own, by address) and the clients behind it
    // (resumescope.test) both offer TLS 1.3 to a TLS 1.2 backend, each group's first connections
    // with a random session ID.
    const { connections, diagnosis } = analyze('haproxy-proxy-protocol-checks.pcap');
    const random = connections.filter((c) => c.reason === 'issued-before-capture' && c.reasonDetail?.includes('most likely no resumption attempt'));
    const groups = new Set(random.map((c) => c.sni ?? c.server.ip));
    expect(groups.size).toBe(2);
    const found = diagnosis.findings.filter((f) => f.code === 'tls13-compatibility-id');
    expect(found).toHaveLength(1);
    expect(found[0]!.group).toBeNull();
    expect(found[0]!.title).toBe(`${random.length} connections to 2 servers carried the random session ID of TLS 1.3's compatibility mode, not a resumption`);
    expect(found[0]!.evidence).toEqual(random.map((c) => c.id));
    for (const server of diagnosis.servers) expect(found[0]!.detail).toContain(server.group);
    expect(found[0]!.detail).not.toContain('already');
  });

  it('nginx with its default ssl_session_cache none: it keeps no sessions, said as such and not "unexplained"', () => {
    const { server, connections, diagnosis } = analyze('nginx-cache-none.pcap');
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected).toHaveLength(13);
    for (const c of rejected) {
      expect(c.reason).toBe('not-kept');
      expect(c.reasonDetail).toMatch(/the server accepted none of the 13 offers, the soonest 2\d\dms after the session was issued/);
    }
    const keeps = server.cachePolicy.keepsNoSessions;
    expect(keeps).toMatchObject({ detected: true, offers: 13, kind: 'session-id' });
    expect(keeps.soonest!).toBeGreaterThan(0.15);
    expect(keeps.soonest!).toBeLessThan(0.5);
    expect(keeps.confidence).toBeGreaterThan(0.9);
    expect(server.reasons).toEqual({ 'not-kept': 13 });
    expect(diagnosis.findings.map((f) => [f.code, f.severity])).toEqual([['keeps-no-sessions', 'critical']]);
    expect(diagnosis.findings[0]!.detail).toContain('ssl_session_cache none');
    expect(diagnosis.whatIf).toEqual([expect.objectContaining({ scenario: 'keep-sessions', fullHandshakesAvoided: 13 })]);
    // Nothing was resumed, so no resumed handshake to measure by: each refused one's own certificate
    // and key exchange (1,175 bytes, as tshark counts them) is what keeping sessions saves. Before: 0 bytes.
    expect(rejected.map((c) => c.fullHandshakeOnlyBytes)).toEqual(rejected.map(() => 1175));
    expect(diagnosis.whatIf[0]!.bytesSaved).toBe(13 * 1175);
  });

  it('HAProxy\'s cache purges on a fatal alert but keeps each session\'s turn: the churn counts the purged sessions', () => {
    const { server, connections } = analyze('haproxy-purge-fifo-cache.pcap');
    expect(server.cachePolicy.purgeOnAbort).toMatchObject({ detected: true, offersAfterAbort: 4, rejectedAfterAbort: 4 });
    expect(connections.filter((c) => c.reason === 'purged-after-abort')).toHaveLength(4);
    // A: resumed after 9 newer issues, 4 of them purged, refused after the tenth. Read without the
    // purges (as a simulated OpenSSL cache needs) A would be resumed at 6 and refused at 7 while an
    // older kept session was resumed at 7: the purges freed no place here, so they stay counted.
    const a = connections.filter((c) => c.offer.sessionId !== null && c.offer.sessionId === connections[0]!.serverSessionId);
    expect(a.map((c) => [c.resumption, (c.session as { churn: number }).churn])).toEqual([['accepted', 10], ['rejected', 11]]);
    const kept = connections.slice(-6);
    expect(kept.every((c) => c.resumption === 'accepted')).toBe(true);
    expect(Math.max(...kept.map((c) => (c.session as { churn: number }).churn))).toBe(10);
  });

  it('a fresh server (fresh ticket keys) per connection: it accepts none of the tickets it issues', () => {
    const { server, connections, diagnosis } = analyze('tls12-tickets-never-accepted.pcap');
    expect(connections.filter((c) => c.reason === 'not-kept')).toHaveLength(5);
    expect(connections.slice(1).every((c) => c.offer.ticket && c.ticketIssued)).toBe(true);
    expect(server.cachePolicy.keepsNoSessions).toMatchObject({ detected: true, offers: 5, kind: 'ticket' });
    const finding = diagnosis.findings.find((f) => f.code === 'keeps-no-sessions')!;
    expect(finding.title).toBe(`${server.group} accepts none of the session tickets it issues`);
    expect(finding.detail).toContain('ssl_session_ticket_key');
  });

  it('nginx ssl_session_cache off: it gives clients nothing to resume with (empty session IDs, no ticket)', () => {
    const { server, connections, diagnosis } = analyze('nginx-cache-off.pcap');
    expect(connections.every((c) => c.established && c.resumption === 'not-offered' && c.serverSessionId === null && !c.ticketIssued)).toBe(true);
    expect(server.cachePolicy.issuesNoSessions).toEqual({ detected: true, fullHandshakes: 4 });
    expect(server.cachePolicy.keepsNoSessions.detected).toBe(false);
    expect(server.sessionsIssued).toBe(0);
    const finding = diagnosis.findings.find((f) => f.code === 'issues-no-sessions')!;
    expect(finding).toMatchObject({ severity: 'warning', title: `${server.group} gives clients nothing to resume with`, evidence: connections.map((c) => c.id) });
    expect(finding.detail).toContain('ssl_session_cache off');
    // The client is not at fault: it had nothing to offer.
    expect(diagnosis.findings.map((f) => f.code)).toEqual(['issues-no-sessions']);
    // Said only where no full handshake below TLS 1.3 issued anything, on every recorded capture.
    const said: string[] = [];
    for (const name of Object.keys(FIXTURE_FACTS)) {
      for (const s of analyze(name).document.servers as ServerSummary[]) if (s.cachePolicy.issuesNoSessions.detected) said.push(name);
    }
    expect(said).toEqual(['nginx-cache-off.pcap']);
  });

  it('nginx TLS 1.3 with tickets off: tickets still sent, none kept; the finding names stateful tickets and the cache', () => {
    const { server, connections, diagnosis } = analyze('nginx-tls13-tickets-off.pcap');
    expect(connections.slice(1).every((c) => c.offer.psk && c.reason === 'not-kept')).toBe(true);
    expect(server.cachePolicy.keepsNoSessions).toMatchObject({ detected: true, offers: 5, kind: 'psk' });
    const finding = diagnosis.findings.find((f) => f.code === 'keeps-no-sessions')!;
    expect(finding.title).toBe(`${server.group} accepts none of the TLS 1.3 tickets it issues`);
    expect(finding.detail).toContain('`ssl_session_tickets off`');
    // TLS 1.2 tickets are self-contained: their finding does not talk of a cache reference.
    expect(analyze('tls12-tickets-never-accepted.pcap').diagnosis.findings[0]!.detail).not.toContain('reference into');
  });

  it('a TLS 1.3 server that sends no tickets: the client is not said to never offer; the capture cannot show the tickets, and says so', () => {
    const { server, diagnosis, document } = analyze('tls13-no-tickets.pcap');
    expect((document.clients as ClientsSummary).stacks[0]).toMatchObject({ connections: 4, reconnections: 3, offered: 0, neverOffers: false });
    expect(server.cachePolicy.tls13TicketsUnseen).toEqual({ detected: true, reconnections: 3 });
    expect(diagnosis.findings.map((f) => [f.code, f.severity])).toEqual([['tls13-tickets-unseen', 'info']]);
    expect(diagnosis.findings[0]!.detail).toContain('RFC 8446 §4.6.1');
    // Said of no other recorded capture (their TLS 1.3 clients offer tickets, or there are none).
    const said: string[] = [];
    for (const name of Object.keys(FIXTURE_FACTS)) {
      for (const s of analyze(name).document.servers as ServerSummary[]) if (s.cachePolicy.tls13TicketsUnseen.detected) said.push(name);
    }
    expect(said).toEqual(['tls13-no-tickets.pcap']);
  });

  it('one TLS 1.3 ticket offered four times (nginx stateful tickets): every offer is the first connection\'s session', () => {
    const { connections, diagnosis } = analyze('nginx-tls13-ticket-reuse.pcap');
    const [first, ...reuses] = connections;
    const identity = reuses[0]!.offeredPskIdentity;
    expect(identity).not.toBeNull();
    let lastUse = first!.clientHelloTime!;
    for (const c of reuses) {
      expect(c).toMatchObject({ resumed: true, resumedBy: 'psk', offeredPskIdentity: identity, reason: null });
      const s = c.session as { issuedBy: number; age: number; reuseGap: number; known: boolean };
      expect(s).toMatchObject({ known: true, issuedBy: first!.id });
      // To the microsecond, as the capture's times: not the doubles' difference (1.9140839576721191).
      const micros = (seconds: number) => Math.round(seconds * 1e6) / 1e6;
      expect(s.age).toBe(micros(c.clientHelloTime! - first!.clientHelloTime!));
      // Each resumption is a use: the next offer's gap runs from it, not from the issue.
      expect(s.reuseGap).toBe(micros(c.clientHelloTime! - lastUse));
      expect(s.reuseGap).toBeGreaterThan(0);
      expect(String(s.age).split('.')[1]?.length ?? 0).toBeLessThanOrEqual(6);
      lastUse = c.clientHelloTime!;
    }
    expect(diagnosis.findings).toEqual([]);
  });

  it('"keeps no sessions" is said only where nothing was accepted: never on the recorded captures that resume', () => {
    const said: string[] = [];
    for (const name of Object.keys(FIXTURE_FACTS)) {
      const { document } = analyze(name);
      for (const s of document.servers as ServerSummary[]) {
        if (s.cachePolicy.keepsNoSessions.detected) said.push(name);
        if (s.accepted > 0) expect(s.reasons['not-kept'], name).toBeUndefined();
      }
    }
    expect(said.sort()).toEqual(['nginx-cache-none.pcap', 'nginx-tls13-tickets-off.pcap', 'tls12-tickets-never-accepted.pcap']);
    // Fewer than three of its own sessions refused at home: too little to say (one restart, a first visit).
    expect(analyze('tls12-rejected-after-restart.pcap').server.cachePolicy.keepsNoSessions.detected).toBe(false);
    // The same refusals, each at another address than the one that issued the session (the
    // connections alternate between two): that is backends without a shared cache, not a server
    // that keeps nothing, since no session came back to its issuer.
    const { connections } = analyze('nginx-cache-none.pcap');
    const alternating = connections.map((c, i) => ({ ...c, server: { ip: i % 2 === 0 ? c.server.ip : '127.0.0.2', port: c.server.port }, reason: null, reasonDetail: undefined, session: null }));
    const elsewhere = diagnose(alternating);
    const policy = elsewhere.servers[0]!.cachePolicy;
    expect(policy.keepsNoSessions.detected).toBe(false);
    expect(policy.sharedCache).toMatchObject({ shared: false, crossAddressOffers: 13, crossAddressRejected: 13 });
    expect(alternating.filter((c) => c.reason === 'other-backend')).toHaveLength(13);
  });

  it('a Java (JSSE) server with an LRU session cache of 10: a size limit with LRU eviction, not an idle timeout or FIFO', () => {
    const { server, connections, diagnosis } = analyze('java-lru-cache.pcap');
    expect(server.cachePolicy.capacity).toMatchObject({ entries: 10, eviction: 'lru', exceptions: 0 });
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected).toHaveLength(3);
    for (const c of rejected) expect(c.reason).toBe('capacity');
    // What sets LRU apart here: a long idle time accepted, a short one refused, and a session kept
    // with more than ten issued after it.
    const view = (c: ConnectionRecord) => c.session as { reuseGap: number; churn: number };
    const accepted = connections.filter((c) => c.resumed);
    expect(Math.max(...accepted.map((c) => view(c).reuseGap))).toBeGreaterThan(4);
    expect(Math.min(...rejected.map((c) => view(c).reuseGap))).toBeLessThan(2);
    expect(Math.max(...accepted.map((c) => view(c).churn))).toBeGreaterThan(10);
    expect(diagnosis.findings[0]!.detail).toContain('least recently used evicted first');
  });

  it('the same clients against OpenSSL\'s own cache of ten (nginx builtin:10): FIFO, where the Java server was LRU', () => {
    const { server, connections } = analyze('nginx-fifo-cache.pcap');
    expect(server.cachePolicy.capacity).toMatchObject({ entries: 9, eviction: 'fifo', exceptions: 0 });
    // A, resumed a moment before, is refused once ten sessions were issued after it: no LRU cache does that.
    const view = (c: ConnectionRecord) => c.session as { reuseGap: number; churn: number; issuedBy: number };
    const a = connections[0]!;
    // (s_client keeps offering its saved A: refused at each of its last three offers.)
    const refusedA = connections.filter((c) => c.resumption === 'rejected' && view(c).issuedBy === a.id);
    expect(refusedA).toHaveLength(3);
    expect(view(refusedA[0]!).churn).toBeGreaterThan(9);
    expect(view(refusedA[0]!).reuseGap).toBeLessThan(1);
    for (const c of connections.filter((x) => x.resumption === 'rejected')) expect(c.reason).toBe('capacity');
  });

  it('the same clients against HAProxy\'s session cache of ten: FIFO, and ten kept (OpenSSL keeps nine)', () => {
    const { server, connections } = analyze('haproxy-fifo-cache.pcap');
    expect(server.cachePolicy.capacity).toMatchObject({ entries: 10, low: 10, high: 11, eviction: 'fifo', exceptions: 0 });
    for (const c of connections.filter((x) => x.resumption === 'rejected')) expect(c.reason).toBe('capacity');
  });

  it('a client that never offers its session: said once it held sessions, not for connections opened before any was issued', () => {
    const { connections, diagnosis, document } = analyze('tls12-never-offers.pcap');
    expect(connections.every((c) => c.resumption === 'not-offered' && c.established)).toBe(true);
    const stack = (document.clients as ClientsSummary).stacks[0]!;
    expect(stack).toMatchObject({ clients: 1, connections: 8, reconnections: 7, offered: 0, forgot: 0, neverOffers: true });
    expect(diagnosis.findings.map((f) => f.code)).toEqual(['client-never-offers']);
    // The first four alone, opened together before any handshake was done (a browser's first
    // visit, or hellos whose handshakes never complete): three reconnections, but nothing to offer.
    const firstFour = connections.slice(0, 4).map((c) => ({ ...c, reason: null, session: null }));
    expect(Math.max(...firstFour.map((c) => c.clientHelloTime!))).toBeLessThan(Math.min(...firstFour.map((c) => c.serverHelloTime!)));
    const alone = diagnose(firstFour);
    expect(alone.clients.stacks[0]).toMatchObject({ reconnections: 3, offered: 0, neverOffers: false });
    expect(alone.findings.map((f) => f.code)).not.toContain('client-never-offers');
  });

  it('nginx stream proxy, random over two backends with caches of their own: about two backends, no time or size limit', () => {
    const { server, connections } = analyze('nginx-lb-no-shared-cache.pcap');
    const shared = server.cachePolicy.sharedCache;
    expect(shared.shared).toBe(false);
    expect(shared.backends).toBe(2);
    const rejected = connections.filter((c) => c.resumption === 'rejected');
    expect(rejected).toHaveLength(12);
    for (const c of rejected) expect(c.reason).toBe('other-backend');
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    expect(server.cachePolicy.lifetime.seconds).toBeNull();
    expect(server.cachePolicy.capacity.entries).toBeNull();
    // The one client always offers what it got last: no forgetting, whatever the backend did.
    expect(connections.filter((c) => c.reason === 'client-forgot')).toHaveLength(0);
  });
});

describe('certificate refusals named in the aborted-handshakes finding', () => {
  const detailOf = (name: string) => {
    const { document } = analyze(name);
    const finding = (document.findings as { code: string; detail: string }[]).find((f) => f.code === 'aborted-handshakes');
    expect(finding).toBeDefined();
    return finding!.detail;
  };

  it('a server requiring a client certificate from its CA (OpenSSL s_server -Verify): three refusals by the server', () => {
    const detail = detailOf('tls13-server-rejects-client-certificate.pcap');
    expect(detail).toContain('3 were refused by the server with a fatal alert after the client\'s Finished');
    expect(detail).not.toContain('refused by the client');
  });

  it('HAProxy\'s verify required (mutual TLS at a load balancer): three refusals by the server', () => {
    expect(detailOf('haproxy-verify-required.pcap')).toContain('3 were refused by the server with a fatal alert after the client\'s Finished');
  });

  it('Chromium refusing the server\'s certificate: two refusals by the client', () => {
    const detail = detailOf('chromium-rejects-certificate.pcap');
    expect(detail).toContain('2 were refused by the client with a fatal alert after the ServerHello');
    expect(detail).not.toContain('refused by the server');
  });
});

describe('a session the negotiated version cannot resume (tls-version-change.pcap)', () => {
  it('a TLS 1.2 ticket in a TLS 1.3 handshake and a TLS 1.3 PSK in a TLS 1.2 one: version-change, left out of the cache policy', () => {
    const { connections, server, document } = analyze('tls-version-change.pcap');
    expect(connections.map((c) => [c.version, c.resumption, c.reason])).toEqual([
      ['TLS 1.2', 'not-offered', null],
      ['TLS 1.2', 'accepted', null],
      ['TLS 1.3', 'rejected', 'version-change'],
      ['TLS 1.3', 'accepted', null],
      ['TLS 1.2', 'rejected', 'version-change'],
      ['TLS 1.2', 'not-offered', null],
      // Its TLS 1.2 session's ID in the legacy session ID: no offer by TLS 1.3's rules, still that session.
      ['TLS 1.3', 'not-offered', 'version-change'],
      ['TLS 1.0', 'not-offered', null],
      ['TLS 1.0', 'accepted', null],
      // The TLS 1.0 session offered where TLS 1.2 is negotiated.
      ['TLS 1.2', 'rejected', 'version-change'],
    ]);
    expect(connections[9]!.reasonDetail).toBe('a TLS 1.0 session offered in a handshake the server took to TLS 1.2: a server resumes a session only under the version it was made with');
    expect(connections[6]!.offer.sessionId).toBe(connections[5]!.serverSessionId);
    // Before: "unexplained", the three offers.
    expect(server.reasons).toEqual({ 'version-change': 4 });
    // One address, its connections by negotiated version.
    expect(server.addresses).toEqual([{ address: '127.0.0.1:44371', connections: 10, versions: { 'TLS 1.2': 5, 'TLS 1.3': 3, 'TLS 1.0': 2 } }]);
    expect(connections[2]!.reasonDetail).toContain('TLS 1.2 session ticket offered in a handshake the server took to TLS 1.3');
    expect(connections[4]!.reasonDetail).toContain('TLS 1.3 session (PSK) offered in a handshake the server answered with TLS 1.2');
    // Both ways behind one address: servers that speak TLS 1.3 and one that does not.
    const findings = (document.findings as { code: string; severity: string; title: string; evidence: number[] }[]).filter((f) => f.code === 'version-change');
    expect(findings.map((f) => [f.severity, f.title, f.evidence])).toEqual([
      ['critical', '3 sessions offered to resumescope.test:44371 were refused for a change of TLS version, both ways', [3, 5, 7]],
      ['info', '1 session offered to resumescope.test:44371 was refused: made under another TLS version than the handshake\'s', [10]],
    ]);
    // One way each: the first four connections (TLS 1.3 came into use), and the fourth and fifth (a server without it).
    const oneWay = (from: number, to: number) => {
      const part = connections.slice(from, to).map((c, i) => ({ ...structuredClone(c), id: i + 1, reason: null, reasonDetail: undefined, session: null }));
      return diagnose(part as ConnectionRecord[]).findings.filter((f) => f.code === 'version-change').map((f) => [f.severity, f.title]);
    };
    expect(oneWay(0, 4)).toEqual([['info', '1 TLS 1.2 session offered to resumescope.test:44371 was refused: the handshake went to TLS 1.3']]);
    expect(oneWay(3, 5)).toEqual([['critical', '1 TLS 1.3 session offered to resumescope.test:44371 was refused: it answered with TLS 1.2']]);
    // Captured at the backends: the one that answered TLS 1.2 is named (the restarted server as another address).
    const backends = connections.map((c, i) => ({ ...structuredClone(c), reason: null, reasonDetail: undefined, session: null, server: { ...c.server, ip: i === 4 ? '127.0.0.2' : c.server.ip } }));
    const detail = diagnose(backends as ConnectionRecord[]).findings.find((f) => f.code === 'version-change')!.detail;
    expect(detail).toContain('The TLS 1.2 answers came from 127.0.0.2 (1), of the group\'s 2 addresses.');
    expect(findings[0]!.code).toBe('version-change');
    expect((document.findings as { code: string }[]).some((f) => f.code === 'unexplained')).toBe(false);
  });
});

describe('a TLS 1.3 rollout half done behind a load balancer (haproxy-tls13-rollout.pcap: HAProxy round robin over a TLS 1.3 and a TLS 1.2-only s_server)', () => {
  it('each move between the kinds is a version change, the TLS 1.2 backend named, its versions per address, the compatibility ID\'s advice naming it', () => {
    const { connections, server, document } = analyze('haproxy-tls13-rollout.pcap');
    expect(connections.map((c) => [c.server.ip, c.version, c.resumption, c.reason])).toEqual([
      ['127.0.0.2', 'TLS 1.3', 'not-offered', null],
      ['127.0.0.3', 'TLS 1.2', 'rejected', 'version-change'],
      ['127.0.0.2', 'TLS 1.3', 'rejected', 'version-change'],
      ['127.0.0.3', 'TLS 1.2', 'rejected', 'version-change'],
      ['127.0.0.2', 'TLS 1.3', 'not-offered', null],
      ['127.0.0.3', 'TLS 1.2', 'rejected', 'issued-before-capture'],
      ['127.0.0.2', 'TLS 1.3', 'accepted', null],
      ['127.0.0.3', 'TLS 1.2', 'accepted', null],
    ]);
    expect(server.addresses).toEqual([
      { address: '127.0.0.2:44374', connections: 4, versions: { 'TLS 1.3': 4 } },
      { address: '127.0.0.3:44374', connections: 4, versions: { 'TLS 1.2': 4 } },
    ]);
    const findings = document.findings as { code: string; title: string; detail: string }[];
    const change = findings.find((f) => f.code === 'version-change')!;
    expect(change.title).toBe('3 sessions offered to resumescope.test:44374 were refused for a change of TLS version, both ways');
    expect(change.detail).toContain('Of this group\'s servers some speak TLS 1.3 and some do not');
    expect(change.detail).toContain('The TLS 1.2 answers came from 127.0.0.3 (2), of the group\'s 2 addresses.');
    const compatibility = findings.find((f) => f.code === 'tls13-compatibility-id')!;
    expect(compatibility.detail).toContain('resumescope.test:44374 answers other connections with TLS 1.3 already: enabling it on the server that answered these (127.0.0.3) would make them TLS 1.3 handshakes.');
    // Every offer that crossed the two also changed version: whether they share their keys cannot be told (these two do not).
    expect((document.whatIf as { scenario: string; description: string; fullHandshakesAvoided: number }[]).map((w) => [w.scenario, w.description, w.fullHandshakesAvoided])).toEqual([
      ['same-tls-versions', 'every server of the group speaking TLS 1.3 (and sharing its session cache or ticket keys, which this capture cannot tell)', 3],
    ]);
  });
});

describe('the same rollout with Chromium (chromium-tls13-rollout.pcap)', () => {
  it('the browser moves its session between the kinds on every connection: each offer a version change, both ways', () => {
    const { connections, server, document } = analyze('chromium-tls13-rollout.pcap');
    expect(new Set(connections.map((c) => c.clientFingerprint)).size).toBe(1);
    expect(connections.map((c) => [c.server.ip, c.version, c.resumption, c.reason])).toEqual(connections.map((_, i) =>
      i % 2 === 0 ? ['127.0.0.2', 'TLS 1.3', i === 0 ? 'not-offered' : 'rejected', i === 0 ? null : 'version-change'] : ['127.0.0.3', 'TLS 1.2', 'rejected', 'version-change']));
    // BoringSSL offers its TLS 1.2 ticket in a TLS 1.3 ClientHello, and its PSK (beside the random compatibility ID) to TLS 1.2.
    for (const c of connections.slice(1)) expect([Boolean(c.offer.ticket), c.offer.psk]).toEqual(c.version === 'TLS 1.3' ? [true, false] : [false, true]);
    expect(server.addresses.map((a) => [a.address, a.versions])).toEqual([['127.0.0.2:44378', { 'TLS 1.3': 4 }], ['127.0.0.3:44378', { 'TLS 1.2': 4 }]]);
    const findings = document.findings as { code: string; title: string; detail: string }[];
    expect(findings.map((f) => f.code)).toEqual(['version-change']);
    expect(findings[0]!.title).toBe('7 sessions offered to resumescope.test:44378 were refused for a change of TLS version, both ways');
    expect(findings[0]!.detail).toContain('The TLS 1.2 answers came from 127.0.0.3 (4), of the group\'s 2 addresses.');
    // No handshake was resumed: the saving is each refused handshake's own, by version (TLS 1.2 its
    // certificate and key exchange messages, TLS 1.3 its server's encrypted flight but the Finished).
    // TLS 1.3: s_server's Certificate and CertificateVerify records (its EncryptedExtensions, 23
    // bytes, goes in a resumption too).
    expect(connections.map((c) => c.fullHandshakeOnlyBytes)).toEqual(connections.map((c) => (c.version === 'TLS 1.3' ? 1135 : 1175)));
    expect(document.whatIf).toEqual([expect.objectContaining({ scenario: 'same-tls-versions', fullHandshakesAvoided: 7, bytesSaved: 4 * 1175 + 3 * 1135 })]);
  });
});

describe('a version change across analyses (--state): the session\'s version is carried with it', () => {
  it('the capture cut after each connection, the first part carried into the second: every reason as the whole capture gives it', () => {
    const { connections } = analyze('tls-version-change.pcap');
    const whole = connections.map((c) => c.reason);
    expect(whole.filter((r) => r === 'version-change')).toHaveLength(4);
    const fresh = (part: ConnectionRecord[]) => part.map((c) => ({ ...structuredClone(c), reason: null, reasonDetail: undefined, session: null }) as ConnectionRecord);
    for (let cut = 1; cut < connections.length; cut++) {
      const first = fresh(connections.slice(0, cut));
      const second = fresh(connections.slice(cut));
      const carried = diagnose(first, { carryOut: true }).carriedOut!;
      diagnose(second, { carriedIn: carried });
      expect(second.map((c) => c.reason), `cut after connection ${cut}`).toEqual(whole.slice(cut));
    }
  });

  it('a carried session of unknown version (a state written before format version 5) takes the version it is resumed under', () => {
    const { connections } = analyze('tls-version-change.pcap');
    const fresh = (part: ConnectionRecord[]) => part.map((c) => ({ ...structuredClone(c), reason: null, reasonDetail: undefined, session: null }) as ConnectionRecord);
    // The TLS 1.0 session issued in the first part; resumed under TLS 1.0, then offered under TLS 1.2, in the second.
    const state = decodeSessionState(diagnose(fresh(connections.slice(0, 8)), { carryOut: true }).carriedOut!);
    const unknown = encodeSessionState({ ...state, sessions: { ...state.sessions, version: new Uint8Array(state.sessions.kind.length) } });
    const second = fresh(connections.slice(8));
    diagnose(second, { carriedIn: unknown });
    expect(second.map((c) => [c.version, c.resumption, c.reason])).toEqual([['TLS 1.0', 'accepted', null], ['TLS 1.2', 'rejected', 'version-change']]);
  });
});

describe('a version change explains a session never seen issued as well', () => {
  it('the TLS 1.2 ticket issued before the capture, offered where TLS 1.3 is negotiated: version-change, not issued-before-capture', () => {
    // The capture from its third connection on: the TLS 1.2 ticket was issued before it began.
    const { connections } = analyze('tls-version-change.pcap');
    const later = connections.slice(2).map((c, i) => ({ ...structuredClone(c), id: i + 1, reason: null, reasonDetail: undefined, session: null }));
    diagnose(later as ConnectionRecord[]);
    expect(later.map((c) => c.reason)).toEqual(['version-change', null, 'version-change', null, 'version-change', null, null, 'version-change']);
    // A legacy session ID the capture never saw issued is as likely TLS 1.3's random one: no verdict.
    const withoutIssue = later.filter((_, i) => i !== 3).map((c, i) => ({ ...c, id: i + 1, reason: null, reasonDetail: undefined, session: null }));
    diagnose(withoutIssue as ConnectionRecord[]);
    expect(withoutIssue.map((c) => c.reason)).toEqual(['version-change', null, 'version-change', null, null, null, 'version-change']);
    // A session first seen resumed (issued before the capture) has that resumption's version: TLS 1.0.
    const lastTwo = connections.slice(8).map((c, i) => ({ ...structuredClone(c), id: i + 1, reason: null, reasonDetail: undefined, session: null }));
    diagnose(lastTwo as ConnectionRecord[]);
    expect(lastTwo.map((c) => c.reason)).toEqual([null, 'version-change']);
  });
});
