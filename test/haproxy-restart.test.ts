import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ServerSummary, SessionView } from '../parser/diagnose/types.js';
import type { ConnectionRecord } from '../parser/report/types.js';
import { analyzeChunks } from './support/pipeline.js';
import { sessionIdOutcomeLetter as letter, tsharkSessionIdOutcomes } from './support/tshark.js';
import { crosscheckFile } from './tools/crosscheck.js';

// Real HAProxy: three backends, each with a session cache of its own, behind a strict round robin,
// all three restarted once half way (fixtures/captures-large/README.md). The balancer refuses two
// offers in three at any moment; the restart refuses every session from before it.

const PATH = fileURLToPath(new URL('../fixtures/captures-large/haproxy-restart-own-caches.pcap.gz', import.meta.url));
const CONNECTIONS = 360;
/** The client waited after connection 180 (count / 2) while the backends restarted. */
const FIRST_AFTER_RESTART = 180;

function analyzeCapture() {
  const result = analyzeChunks('haproxy-restart-own-caches.pcap', [gunzipSync(readFileSync(PATH))]);
  const byTime = [...result.connections].sort((a, b) => a.startTime - b.startTime);
  return { ...result, byTime, server: (result.document.servers as ServerSummary[])[0]! };
}

describe('HAProxy backends with caches of their own behind a round robin, all restarted once (real capture)', () => {
  it('every connection\'s outcome is tshark\'s, and every field tshark also reports agrees', async () => {
    const { byTime } = analyzeCapture();
    const want = tsharkSessionIdOutcomes(PATH, 44385);
    expect(want).toHaveLength(CONNECTIONS);
    expect(byTime.map(letter).join('')).toBe(want);
    const check = await crosscheckFile(PATH);
    expect(check.compared).toBe(CONNECTIONS);
    expect(check.disagreements).toEqual([]);
  });

  it('the restart is found between the last connection before it and the first after, though two offers in three are refused at any moment', () => {
    // Before, the balancer's refusals made the restart's look like a cache split into parts (refused
    // 75 % from its smallest churn up, as often below), then like long-idle sessions crossing a
    // moment by chance; the balancer took every refusal, and "about 4 backends".
    const { byTime, server, diagnosis } = analyzeCapture();
    const policy = server.cachePolicy;
    expect(policy.sharedCache).toMatchObject({ shared: false, backends: 3 });
    expect([policy.idleTimeout.seconds, policy.lifetime.seconds, policy.capacity.entries]).toEqual([null, null, null]);
    expect(policy.flushes).toHaveLength(1);
    const flush = policy.flushes[0]!;
    const lastBefore = byTime[FIRST_AFTER_RESTART - 1]!;
    const firstAfter = byTime[FIRST_AFTER_RESTART]!;
    expect(flush.low).toBeGreaterThanOrEqual(lastBefore.clientHelloTime!);
    expect(flush.low).toBeLessThan(firstAfter.startTime);
    expect(flush.time).toBeGreaterThanOrEqual(firstAfter.clientHelloTime!);
    const finding = diagnosis.findings.find((f) => f.code === 'flush')!;
    expect(finding.title).toMatch(/^The session cache of resumescope\.test:44385 was emptied between /);

    // The balancer sent connection i to backend i % 3 (its log said so when recorded). Every offer
    // of a session from before the restart made after it was refused, at its own backend too.
    const index = new Map(byTime.map((c, i) => [c.id, i]));
    const sessionOf = (c: ConnectionRecord) => c.session as SessionView;
    const crossing = byTime.slice(FIRST_AFTER_RESTART).filter((c) => c.resumption !== 'not-offered' && index.get(sessionOf(c).issuedBy!)! < FIRST_AFTER_RESTART);
    expect(crossing.length).toBeGreaterThan(30);
    for (const c of crossing) {
      expect(c.resumption, `connection ${c.id}`).toBe('rejected');
      expect(c.reason, `connection ${c.id}`).toBe('flush');
    }
    // Every other refusal reached a backend that had not issued the session.
    const others = byTime.filter((c) => c.resumption === 'rejected' && !crossing.includes(c));
    for (const c of others) {
      expect(index.get(sessionOf(c).issuedBy!)! % 3, `connection ${c.id}`).not.toBe(index.get(c.id)! % 3);
      expect(c.reason, `connection ${c.id}`).toBe('other-backend');
    }
    // No restart would have resumed those that reached their own backend; about as many as the
    // balancer's share says.
    const atOwnBackend = crossing.filter((c) => index.get(sessionOf(c).issuedBy!)! % 3 === index.get(c.id)! % 3).length;
    const noFlush = diagnosis.whatIf.find((w) => w.scenario === 'no-flush')!;
    expect(Math.abs(noFlush.fullHandshakesAvoided - atOwnBackend)).toBeLessThanOrEqual(Math.max(3, 0.3 * atOwnBackend));
    expect(diagnosis.whatIf.find((w) => w.scenario === 'shared-cache')!.fullHandshakesAvoided).toBe(others.length);
  });
});
