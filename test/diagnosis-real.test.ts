import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ServerSummary } from '../parser/diagnose/diagnose.js';
import { analyzeChunks } from './support/pipeline.js';

// The diagnosis on captures recorded from real TLS stacks with a known configuration
// (fixtures/captures/PROVENANCE.md says how each was recorded).

function analyze(name: string) {
  const bytes = readFileSync(fileURLToPath(new URL(`../fixtures/captures/${name}`, import.meta.url)));
  const result = analyzeChunks(name, [bytes]);
  return { ...result, server: (result.document.servers as ServerSummary[])[0]! };
}

describe('diagnosis on real stacks', () => {
  it('nginx ssl_session_timeout 4s: an absolute lifetime of ~4 s, not an idle timeout', () => {
    const { server, connections } = analyze('nginx-session-timeout.pcap');
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
});
