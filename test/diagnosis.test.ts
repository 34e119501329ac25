import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeChunks, simulateAndAnalyze, simulateConfigAndAnalyze } from './support/pipeline.js';
import { Analysis } from '../parser/analysis.js';
import { simulateFarm, type FarmConfigInput, type ServiceConfigInput } from '../fixtures/simulator/farm.js';
import { presetConfig } from '../fixtures/simulator/presets.js';
import { compareWithTruth } from './tools/compare-truth.js';
import { sweepTwoServiceFarm } from './tools/sweep.js';
import { diagnose, diagnosisShare } from '../parser/diagnose/diagnose.js';
import { buildFindings } from '../parser/diagnose/findings.js';
import { KEY_SWITCH_DETAIL } from '../parser/diagnose/ticket-rotation.js';
import type { DiagnosisProgress, ServerSummary } from '../parser/diagnose/types.js';
import type { PresetName } from '../fixtures/simulator/presets.js';
import type { ConnectionRecord } from '../parser/report/types.js';
import { DUMMY_CERTIFICATE_DER, Tls13RecordSize } from '../fixtures/simulator/tls-bytes.js';

/** The simulator's TLS 1.2 messages only a full handshake sends, headers included (see tls-bytes.ts). */
const TLS12_FULL_ONLY = (4 + 3 + 3 + DUMMY_CERTIFICATE_DER.length) + (4 + 1 + 2 + 1 + 32 + 2 + 2 + 256) + 4 + (4 + 1 + 32);
/** Its TLS 1.3 server flight but the EncryptedExtensions and Finished records, which a resumption sends too. */
const TLS13_FULL_ONLY = Tls13RecordSize.certificate + Tls13RecordSize.certificateVerify;

// The farm simulator writes captures whose cache policy and per-connection reasons are
// known; the analysis must find them from the packets alone.

function run(preset: PresetName) {
  const result = simulateAndAnalyze(preset);
  const comparison = compareWithTruth(result.document, result.truth);
  const servers = result.document.servers as ServerSummary[];
  return { ...result, comparison, servers, server: servers[0]! };
}

describe('diagnosis on simulated farms with a known policy', () => {
  it('idle timeout: infers 300 s and calls every rejection idle-timeout', () => {
    const { comparison, server, diagnosis } = run('idle-timeout');
    expect(comparison.unmatched).toBe(0);
    expect(comparison.outcomeAgreement).toBe(1);
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.98);
    const idle = server.cachePolicy.idleTimeout;
    expect(idle.seconds).toBe(300);
    expect(idle.low!).toBeLessThanOrEqual(300);
    expect(idle.high!).toBeGreaterThan(300);
    expect(idle.high! - idle.low!).toBeLessThan(30);
    expect(idle.confidence).toBeGreaterThan(0.8);
    // The capture is shorter than the 10 h lifetime: not shown, only a lower bound.
    expect(server.cachePolicy.lifetime.seconds).toBeNull();
    expect(server.cachePolicy.lifetime.low).toBeGreaterThan(600);
    expect(server.cachePolicy.capacity.entries).toBeNull();
    expect(diagnosis.findings[0]!.code).toBe('idle-timeout');
    expect(diagnosis.findings[0]!.title).toContain('5m00s');
  });

  it('FIFO capacity: infers the cache size from churn at rejection', () => {
    const { comparison, server, truth } = run('fifo-capacity');
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.98);
    const size = truth.services[0]!.policy.capacity!;
    expect(server.cachePolicy.capacity.entries).not.toBeNull();
    expect(Math.abs(server.cachePolicy.capacity.entries! - size) / size).toBeLessThanOrEqual(0.05);
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
  });

  it('a cache split into parts (Apache shmcb): the size within 15 %, its band around it, every eviction the cache size\'s', () => {
    // 160 entries in 8 parts of 20, each evicting its own earliest issued (CachePolicy.parts).
    const { comparison, server, truth } = run('partitioned-capacity');
    expect(truth.services[0]!.policy.parts).toBe(8);
    expect(comparison.unmatched).toBe(0);
    expect(comparison.outcomeAgreement).toBe(1);
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.98);
    const capacity = server.cachePolicy.capacity;
    expect(capacity.eviction).toBe('partitioned');
    expect(Math.abs(capacity.entries! - 160) / 160).toBeLessThanOrEqual(0.15);
    expect(capacity.low!).toBeLessThan(160);
    expect(capacity.high!).toBeGreaterThan(160);
    expect(Object.keys(server.reasons)).toEqual(['capacity']);
    expect(server.cachePolicy.flushes).toEqual([]);
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    expect(server.cachePolicy.lifetime.seconds).toBeNull();
    // One FIFO cache of the same kind of farm keeps its sharp edge.
    expect(run('fifo-capacity').server.cachePolicy.capacity.eviction).toBe('fifo');
  });

  it('a cache in parts emptied once: the flush and the cache size, though a few sessions outlived the band', () => {
    // 8 parts of 20: a session whose part had room survives far above the rest, so no FIFO edge
    // fits; an LRU size was taken before, with 162 of the refusals "unexplained".
    const { document, truth } = simulateConfigAndAnalyze({
      seed: 1, startTime: 1_700_000_000, duration: 2400,
      services: [{ sni: 'www.fc.test', flushes: [1200], policy: { idleTimeout: null, lifetime: null, capacity: 160, purgeOnAbort: false, parts: 8 } }],
      clients: { count: 200, meanGap: 300, minGap: 10, longGapShare: 0, firstConnectionSpread: 400 },
    });
    const server = (document.servers as ServerSummary[])[0]!;
    expect(server.cachePolicy.flushes).toHaveLength(1);
    expect(server.cachePolicy.capacity.eviction).toBe('partitioned');
    expect(Math.abs(server.cachePolicy.capacity.entries! - 160) / 160).toBeLessThanOrEqual(0.15);
    expect(Object.keys(server.reasons).sort()).toEqual(['capacity', 'flush']);
    expect(compareWithTruth(document, truth).reasonAgreement).toBeGreaterThanOrEqual(0.85);
  });

  it('an idle timeout below a FIFO cache\'s edge is the timeout\'s, not a cache in parts', () => {
    // Idle refusals grow with churn too: ranked as a cache in parts, they were all put down to it.
    const { document } = simulateConfigAndAnalyze({
      seed: 11, startTime: 1_700_000_000, duration: 3600,
      services: [{ sni: 'www.idlecap.test', policy: { idleTimeout: 300, lifetime: null, capacity: 150, purgeOnAbort: false } }],
      clients: { count: 200, meanGap: 300, minGap: 10, longGapShare: 0, firstConnectionSpread: 400 },
    });
    const server = (document.servers as ServerSummary[])[0]!;
    expect(server.cachePolicy.idleTimeout.seconds).toBe(300);
    expect(server.cachePolicy.capacity.entries).toBe(150);
    expect(server.cachePolicy.capacity.eviction).toBe('fifo');
    expect(server.reasons['idle-timeout']!).toBeGreaterThan(500);
  });

  it('LRU capacity: infers the cache size from the sessions used since, and that the least recently used goes first', () => {
    const { comparison, server, truth, connections } = run('lru-capacity');
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.98);
    const size = truth.services[0]!.policy.capacity!;
    const capacity = server.cachePolicy.capacity;
    expect(capacity.eviction).toBe('lru');
    expect(capacity.entries).not.toBeNull();
    expect(Math.abs(capacity.entries! - size) / size).toBeLessThanOrEqual(0.05);
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    // Sessions kept although more than the cache's size were issued since: a FIFO cache would have dropped them.
    const keptOld = connections.filter((c) => c.resumed && ((c.session as { churn: number | null }).churn ?? 0) > size);
    expect(keptOld.length).toBeGreaterThan(10);
    const rejected = connections.filter((c) => c.reason === 'capacity');
    expect(rejected.length).toBeGreaterThan(10);
    for (const c of rejected) expect(c.reasonDetail).toMatch(/other sessions were used since its last use \(inferred cache size \d+, least recently used evicted first\)/);
    // The FIFO farm stays FIFO.
    expect(run('fifo-capacity').server.cachePolicy.capacity.eviction).toBe('fifo');
  });

  it('purge on abort: client RSTs after the ServerHello, later offers of that session rejected', () => {
    const { comparison, server, connections, diagnosis } = run('purge-on-abort');
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.98);
    expect(diagnosis.findings.find((f) => f.code === 'purge-on-abort')!.title).toBe(`${server.group} drops a session when a handshake using it is reset`);
    expect(server.cachePolicy.purgeOnAbort.detected).toBe(true);
    expect(server.cachePolicy.purgeOnAbort.confidence).toBeGreaterThan(0.5);
    const aborted = connections.filter((c) => c.handshake === 'aborted');
    expect(aborted.length).toBeGreaterThan(10);
    for (const c of aborted) expect(c.abort).toMatchObject({ by: 'client', how: 'rst', stage: 'after-server-hello' });
    const purged = connections.filter((c) => c.reason === 'purged-after-abort');
    // Each purged rejection names the aborted connection that touched its session.
    for (const c of purged) expect(aborted.map((a) => a.id)).toContain((c.session as { abortedBy: number }).abortedBy);
  });

  it('a FIFO cache that purges on abort: the purged sessions free their places, so its size is read without them', () => {
    // Three backends sharing a cache of 50 behind a balancer; 5 % of handshakes reset by the client.
    const result = simulateConfigAndAnalyze({
      seed: 8, duration: 3600,
      services: [{ sni: 'www.purgecap.test', resumption: 'session-id', backends: 3, captureAt: 'vip', balancing: 'round-robin', sharedCache: true,
        policy: { idleTimeout: 1800, lifetime: 36000, capacity: 50, purgeOnAbort: true } }],
      clients: { count: 200, meanGap: 150, minGap: 2, longGapShare: 0.2, longGap: [200, 2000], abortShare: 0.05, forgetShare: 0.05, firstConnectionSpread: 300,
        stacks: ['modern-a', 'modern-b', 'legacy'] },
    });
    const server = (result.document.servers as ServerSummary[])[0]!;
    const comparison = compareWithTruth(result.document, result.truth);
    // Every session an aborted handshake had resumed was refused next (42 of 42), though a full cache
    // refuses 63 % of the other offers: before, that base rate hid the purges (a difference of 40
    // points was asked for), which then read as the cache's refusals and the cache as 53.
    expect(server.cachePolicy.purgeOnAbort).toMatchObject({ detected: true, offersAfterAbort: 42, rejectedAfterAbort: 42 });
    expect(server.cachePolicy.capacity).toMatchObject({ entries: 50, eviction: 'fifo' });
    const truthPurged = result.truth.connections.filter((c) => c.reason === 'purged-after-abort').length;
    expect(comparison.confusion['purged-after-abort']).toEqual({ 'purged-after-abort': truthPurged });
    // Before: 46 refusals "unexplained" (churn 51–53, in a cache read as 53); now at most one.
    expect(server.reasons.unexplained ?? 0).toBeLessThanOrEqual(1);
    expect(comparison.reasonAgreement).toBeGreaterThan(0.99);
    // The refusals' details say that the churn leaves out the purged sessions.
    const connections = result.document.connections as ConnectionRecord[];
    const kept = connections.filter((c) => c.reason === 'capacity' && /were issued since and kept \(\d+ more (was|were) dropped after aborted handshakes\)/.test(c.reasonDetail ?? ''));
    expect(kept.length).toBeGreaterThan(100);
    // And the churn the JSON shows is the one read: no resumed session beyond the cache's 50, where
    // counting the purged ones (the simulator's own count) puts some past it.
    const resumed = connections.filter((c) => c.resumed && (c.session as { churn: number | null } | null)?.churn != null);
    expect(Math.max(...resumed.map((c) => (c.session as { churn: number }).churn))).toBe(50);
    expect(resumed.some((c) => result.truth.connections[c.id - 1]!.churn! + 1 > 50)).toBe(true);
  });

  it('an LRU cache that purges on abort: the purged sessions leave the list, so its size is read without them', () => {
    // One server whose cache of 60 drops the least recently used session (Java's) and a session
    // whose handshake a client reset (8 % of them), which frees its place.
    const result = simulateConfigAndAnalyze({
      seed: 7, duration: 3600,
      services: [{ sni: 'www.lru.test', policy: { idleTimeout: null, lifetime: null, capacity: 60, purgeOnAbort: true, eviction: 'lru' } }],
      clients: { count: 200, meanGap: 120, minGap: 2, longGapShare: 0.3, longGap: [200, 1500], abortShare: 0.08, forgetShare: 0, firstConnectionSpread: 300,
        stacks: ['modern-a', 'modern-b', 'legacy'] },
    });
    const server = (result.document.servers as ServerSummary[])[0]!;
    const comparison = compareWithTruth(result.document, result.truth);
    // Every one of the 90 sessions offered after an abort refused, where half of the others were:
    // as sure as can be (the difference of the two rates had read as 0.50).
    expect(server.cachePolicy.purgeOnAbort).toMatchObject({ detected: true, offersAfterAbort: 90, rejectedAfterAbort: 90 });
    expect(server.cachePolicy.purgeOnAbort.confidence).toBeGreaterThanOrEqual(0.99);
    // Counting the purged sessions in each place: a cache of 66, and 37 of its refusals "unexplained".
    expect(server.cachePolicy.capacity).toMatchObject({ entries: 60, eviction: 'lru' });
    expect(server.reasons.unexplained ?? 0).toBeLessThanOrEqual(2);
    const truthPurged = result.truth.connections.filter((c) => c.reason === 'purged-after-abort').length;
    expect(comparison.confusion['purged-after-abort']).toEqual({ 'purged-after-abort': truthPurged });
    expect(comparison.reasonAgreement).toBeGreaterThan(0.99);
    const connections = result.document.connections as ConnectionRecord[];
    const kept = connections.filter((c) => c.reason === 'capacity' && /other sessions were used since its last use and kept \(\d+ more (was|were) dropped after aborted handshakes\)/.test(c.reasonDetail ?? ''));
    expect(kept.length).toBeGreaterThan(100);
  });

  it('an LRU cache emptied once: the sessions it had evicted before are the cache\'s, and its first filling is no flush', () => {
    // Two servers sharing an LRU cache of 50, restarted after 20 minutes (farm 3:4 of `sweep.js --lru`).
    const result = simulateConfigAndAnalyze({
      seed: 5, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'psk', backends: 2, captureAt: 'vip', balancing: 'round-robin', sharedCache: true,
        policy: { idleTimeout: null, lifetime: 36000, capacity: 50, purgeOnAbort: true, eviction: 'lru' }, flushes: [1200] }],
      clients: { count: 200, meanGap: 60, minGap: 2, longGapShare: 0.2, longGap: [200, 2000], abortShare: 0, forgetShare: 0, firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] },
    });
    const server = (result.document.servers as ServerSummary[])[0]!;
    expect(server.cachePolicy.capacity).toMatchObject({ entries: 50, eviction: 'lru' });
    // The moment the cache first filled (every session used before it refused after it) was taken
    // for a second flush: only the place by last use sets those refusals apart, as churn does for FIFO.
    expect(server.cachePolicy.flushes).toHaveLength(1);
    expect(Math.abs(server.cachePolicy.flushes[0]!.time - (result.truth.startTime + 1200))).toBeLessThan(10);
    // Sessions the cache had pushed out before the restart: 212 were the flush's, then 86, now at most
    // 30 (every session issued between a session's last use and the restart went in ahead of it).
    const comparison = compareWithTruth(result.document, result.truth);
    expect(comparison.confusion.capacity?.flush ?? 0).toBeLessThanOrEqual(30);
    const connections = result.document.connections as ConnectionRecord[];
    expect(connections.some((c) => c.reason === 'capacity' && /or more other sessions had been used since its last use before the cache was emptied at .* least recently used evicted first\): it was gone before/.test(c.reasonDetail ?? ''))).toBe(true);
  });

  it('a busy LRU cache restarted: found by the moment after its refusals\' last uses, though sessions issued since were resumed before the first refusal', () => {
    // Farm 1:5 of `sweep.js --lru`. Most sessions from before the restart had been pushed out anyway;
    // the five it took were last used 21–96 s before it and refused 16–103 s after, each refusal's
    // moment crossed by a session issued after the restart and resumed: "5 rejections fit no cause".
    const result = simulateConfigAndAnalyze({
      seed: 6, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'psk', backends: 1, captureAt: 'backends', balancing: 'round-robin', sharedCache: true,
        policy: { idleTimeout: null, lifetime: 36000, capacity: 50, purgeOnAbort: false, eviction: 'lru' }, flushes: [1200] }],
      clients: { count: 200, meanGap: 400, minGap: 2, longGapShare: 0.4, longGap: [200, 2000], abortShare: 0.05, forgetShare: 0, firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] },
    });
    const server = (result.document.servers as ServerSummary[])[0]!;
    expect(server.cachePolicy.capacity).toMatchObject({ entries: 50, eviction: 'lru' });
    expect(server.cachePolicy.flushes).toHaveLength(1);
    const restart = result.truth.startTime + 1200;
    expect(server.cachePolicy.flushes[0]!.low).toBeLessThanOrEqual(restart);
    expect(server.cachePolicy.flushes[0]!.time).toBeGreaterThanOrEqual(restart);
    expect(server.reasons['unexplained'] ?? 0).toBe(0);
  });

  it('an idle timeout and an LRU cache at once: both found, not a cache evicting in parts', () => {
    // Each limit alone leaves the other's refusals as ~40 exceptions; a band of churn, which has none
    // by its nature, took them all (farm 5:9 of `sweep.js --lru`: "a cache of 61 in parts", no timeout).
    const result = simulateConfigAndAnalyze({
      seed: 10, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'psk', backends: 2, captureAt: 'vip', balancing: 'source-ip', sharedCache: true,
        policy: { idleTimeout: 300, lifetime: 3600, capacity: 50, purgeOnAbort: false, eviction: 'lru' } }],
      clients: { count: 80, meanGap: 60, minGap: 2, longGapShare: 0.2, longGap: [200, 2000], abortShare: 0, forgetShare: 0, firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] },
    });
    const policy = (result.document.servers as ServerSummary[])[0]!.cachePolicy;
    expect(policy.idleTimeout.seconds).toBe(300);
    expect(policy.capacity).toMatchObject({ entries: 50, eviction: 'lru' });
    const server = (result.document.servers as ServerSummary[])[0]!;
    expect(server.reasons.unexplained ?? 0).toBe(0);
  });

  it('load balancer without a shared cache: ~3 backends behind one VIP', () => {
    const { comparison, server, truth } = run('lb-no-shared-cache');
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.95);
    expect(server.cachePolicy.sharedCache.shared).toBe(false);
    expect(server.cachePolicy.sharedCache.backends).toBe(truth.services[0]!.backends);
  });

  it('flush: finds the moment the cache was emptied', () => {
    const { comparison, server, truth } = run('flush');
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.95);
    const flushes = server.cachePolicy.flushes;
    expect(flushes).toHaveLength(truth.services[0]!.flushTimes.length);
    const trueTime = truth.services[0]!.flushTimes[0]!;
    expect(flushes[0]!.low).toBeLessThanOrEqual(trueTime + 0.001);
    expect(flushes[0]!.time).toBeGreaterThanOrEqual(trueTime);
    expect(flushes[0]!.time - trueTime).toBeLessThan(120);
    expect(server.cachePolicy.lifetime.seconds).toBeNull();
  });

  it('a flush explains the refusals of sessions issued before the capture, from the flush on', () => {
    // Ten minutes of traffic before the capture: clients come back with sessions never seen issued.
    // Before the flush nothing tells why such a session is refused; from it on, the flush does
    // (the session was issued before the capture, so before the flush).
    const { document, truth } = simulateConfigAndAnalyze({
      ...presetConfig('flush', 1, 2), warmup: 600,
      clients: { count: 100, meanGap: 60, minGap: 2, longGapShare: 0.3, longGap: [500, 900] },
    });
    const server = (document.servers as ServerSummary[])[0]!;
    expect(server.cachePolicy.flushes).toHaveLength(1);
    const flushTime = server.cachePolicy.flushes[0]!.time;
    const neverSeen = document.connections.filter((c) => c.reasonDetail?.startsWith('issued before the capture'));
    expect(neverSeen.length).toBeGreaterThanOrEqual(8);
    for (const c of neverSeen) {
      expect(c.reason).toBe('flush');
      expect(c.startTime).toBeGreaterThanOrEqual(flushTime);
    }
    const comparison = compareWithTruth(document, truth);
    expect(comparison.confusion.flush?.flush).toBe(truth.totals.byReason.flush);
    expect(comparison.confusion.flush?.['issued-before-capture'] ?? 0).toBe(0);
  });

  it('clients that forget: full handshakes although the session was still good', () => {
    const { comparison, diagnosis, truth } = run('client-forgets');
    expect(comparison.confusion['client-forgot']?.['client-forgot'] ?? 0).toBe(truth.totals.byReason['client-forgot']);
    expect(diagnosis.clients.forgot).toBe(truth.totals.byReason['client-forgot']);
    expect(diagnosis.findings.some((f) => f.code === 'client-forgets')).toBe(true);
  });

  it('segments the capture lost in a few handshakes: the handshake still used or issued its session, the policy stands', () => {
    // The capture drops one segment of every 30th handshake: the client's CCS/Finished of an
    // abbreviated one, its ClientKeyExchange of a full one (nobody aborted; the bytes are missing).
    // Left out of the session's history, a lost use stretched the next offer's idle time (a 300 s
    // timeout was discarded for "a cache of 22", critical) and a lost issue shrank the FIFO churn.
    for (const preset of ['idle-timeout', 'fifo-capacity'] as const) {
      const chunks: Uint8Array[] = [];
      const truth = simulateFarm(presetConfig(preset, 1, 1), (chunk) => chunks.push(chunk.slice()));
      const { bytes, dropped } = dropClientSegments(concatBytes(chunks), 30);
      expect(dropped).toBeGreaterThan(10);
      const { diagnosis } = analyzeChunks(`${preset}-lossy.pcap`, [bytes]);
      const server = diagnosis.servers[0]!;
      const truthRejected = truth.totals.byOutcome.rejected;
      if (preset === 'idle-timeout') {
        expect(server.cachePolicy.idleTimeout.seconds).toBe(300);
        expect(server.cachePolicy.capacity.entries).toBeNull();
        expect(server.reasons['idle-timeout']!).toBeGreaterThanOrEqual(0.95 * truthRejected);
      } else {
        expect(server.cachePolicy.capacity.entries).toBe(100);
        expect(server.cachePolicy.capacity.eviction).toBe('fifo');
        expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
        expect(server.reasons['capacity']!).toBeGreaterThanOrEqual(0.95 * truthRejected);
      }
    }
  });

  it('an idle timeout and a lifetime together are both found, not taken for a cache in parts', () => {
    // Each time limit alone leaves the other's refusals as exceptions; the cache-in-parts model
    // (no exceptions) had won: "holds only about 47 sessions", critical, confidence 0.9.
    for (const seed of [1, 2]) {
      const result = simulateConfigAndAnalyze({ seed, duration: 7200, services: [{ sni: 'www.li.test', policy: { idleTimeout: 600, lifetime: 1800, capacity: null, purgeOnAbort: false } }],
        clients: { count: 40, meanGap: 120, minGap: 5, longGapShare: 0.25, longGap: [300, 1200], firstConnectionSpread: 300 } });
      const policy = result.diagnosis.servers[0]!.cachePolicy;
      expect(policy.capacity.entries).toBeNull();
      expect(Math.abs(policy.idleTimeout.seconds! - 600)).toBeLessThanOrEqual(10);
      expect(policy.lifetime.seconds).toBe(1800);
      expect(compareWithTruth(result.document, result.truth).reasonAgreement).toBeGreaterThanOrEqual(0.85);
    }
  });

  it('a small cache and an idle timeout: each what-if counts only what the other limit would not refuse anyway', () => {
    // TLS 1.3 PSK, a cache of 60 and a 300 s idle timeout: "capacity=240" had claimed 491
    // resumptions, 361 of them idle past the timeout; the what-ifs summed to every refusal, and
    // the idle timeout (17 % of offers in truth) was a warning for the 47 refusals it was given.
    const result = simulateConfigAndAnalyze(PSK_CACHE_AND_IDLE);
    const server = result.diagnosis.servers[0]!;
    expect(server.cachePolicy.capacity.entries).toBe(60);
    expect(server.cachePolicy.idleTimeout.seconds).toBe(300);
    const capacityWhatIf = result.diagnosis.whatIf.find((w) => w.scenario === 'capacity=240')!;
    const byCapacity = result.connections.filter((c) => c.reason === 'capacity');
    const idleToo = byCapacity.filter((c) => (c.session as { reuseGap: number | null }).reuseGap! > 300).length;
    expect(idleToo).toBeGreaterThan(100);
    expect(capacityWhatIf.fullHandshakesAvoided).toBeLessThanOrEqual(byCapacity.length - idleToo);
    const idleFinding = result.diagnosis.findings.find((f) => f.code === 'idle-timeout')!;
    expect(idleFinding.severity).toBe('critical');
    expect(idleFinding.detail).toContain(`${idleToo.toLocaleString('en-US')} more offers were refused for another limit and past this one as well`);
  });

  it('backends without a shared cache behind a VIP, with an idle timeout: both found, the savings of a shared cache not inflated', () => {
    // Two in three offers are refused by the wrong backend at any idle time, so the fit saw no
    // edge and the balancer took every refusal: "idle timeout not reached", 4–5 backends, and a
    // shared cache said to save 367 where at most 209 were within the timeout.
    for (const seed of [1, 2, 3]) {
      const result = simulateConfigAndAnalyze({ seed, duration: 3600,
        services: [{ sni: 'www.lbi.test', backends: 3, captureAt: 'vip', balancing: 'random', sharedCache: false, policy: { idleTimeout: 300, lifetime: 36000, capacity: null, purgeOnAbort: false } }],
        clients: { count: 40, meanGap: 150, minGap: 5, longGapShare: 0.35, longGap: [200, 1000], firstConnectionSpread: 300 } });
      const server = result.diagnosis.servers[0]!;
      const idle = server.cachePolicy.idleTimeout;
      expect(idle.seconds).toBeGreaterThanOrEqual(280);
      expect(idle.seconds).toBeLessThanOrEqual(300);
      expect(server.cachePolicy.sharedCache.shared).toBe(false);
      expect(server.cachePolicy.sharedCache.backends).toBe(3);
      // A shared cache saves at most the wrong backend's refusals within the timeout.
      const truth = result.truth.connections;
      const withinTimeout = truth.filter((c) => c.reason === 'other-backend' && c.reuseGap !== null && c.reuseGap <= 300).length;
      const saved = result.diagnosis.whatIf.find((w) => w.scenario === 'shared-cache')!.fullHandshakesAvoided;
      expect(saved).toBeLessThanOrEqual(withinTimeout);
      expect(saved).toBeGreaterThan(0.9 * withinTimeout);
      // The wrong backend's refusals within the timeout are the balancer's, no exception to the timeout.
      expect(result.diagnosis.findings.find((f) => f.code === 'idle-timeout')!.detail).not.toContain('not sharp');
      // So are those between the longest idle time accepted and the timeout inferred: none is
      // "idle 4m58s > inferred idle timeout 5m00s".
      for (const c of result.connections.filter((x) => x.reason === 'idle-timeout')) expect((c.session as { reuseGap: number }).reuseGap).toBeGreaterThanOrEqual(idle.seconds!);
    }
  });

  it('backends with small caches of their own behind a VIP: a cache size over the group, no time limit made up', () => {
    for (const seed of [1, 3, 4]) {
      const result = simulateConfigAndAnalyze({ seed, duration: 2400,
        services: [{ sni: 'www.lbcap.test', backends: 2, captureAt: 'vip', balancing: 'random', sharedCache: false, policy: { idleTimeout: null, lifetime: null, capacity: 50, purgeOnAbort: false } }],
        clients: { count: 120, meanGap: 400, minGap: 10, longGapShare: 0, firstConnectionSpread: 400 } });
      const policy = result.diagnosis.servers[0]!.cachePolicy;
      expect(policy.idleTimeout.seconds).toBeNull();
      expect(policy.lifetime.seconds).toBeNull();
      expect(policy.capacity.entries).toBeGreaterThanOrEqual(90);
      expect(policy.capacity.entries).toBeLessThanOrEqual(125);
      expect(policy.sharedCache.backends).toBe(2);
      expect(result.diagnosis.findings.find((f) => f.code === 'capacity')!.detail).toContain('each backend\'s own cache holds about');
    }
  });

  it('backends with LRU caches of their own behind a VIP, under steady load: a cache size by place in the list, no idle timeout', () => {
    // Farm 1:6 of `sweep.js --lru`. Under steady load the time since a session's last use follows
    // its place in an LRU list, so both mark the cache's edge; only idle time, age and churn were
    // tried behind a balancer, and the capture read "sessions are dropped after 2m45s idle". The
    // place parts refusals by the session's own backend from acceptances with 54 misfits, idle time
    // with 86.
    const result = simulateConfigAndAnalyze({ seed: 7, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'session-id', backends: 2, captureAt: 'vip', balancing: 'random', sharedCache: false,
        policy: { idleTimeout: 1800, lifetime: 7200, capacity: 50, purgeOnAbort: false, eviction: 'lru' } }],
      clients: { count: 80, meanGap: 60, minGap: 2, longGapShare: 0, longGap: [200, 2000], abortShare: 0.05, forgetShare: 0.05, firstConnectionSpread: 300, stacks: ['legacy'] } });
    const policy = result.diagnosis.servers[0]!.cachePolicy;
    expect(policy.idleTimeout.seconds).toBeNull();
    expect(policy.lifetime.seconds).toBeNull();
    expect(policy.capacity.eviction).toBe('lru');
    // The group's list: two backends' worth.
    expect(policy.capacity.entries).toBeGreaterThanOrEqual(90);
    expect(policy.capacity.entries).toBeLessThanOrEqual(125);
    expect(policy.sharedCache.backends).toBe(2);
    const finding = result.diagnosis.findings.find((f) => f.code === 'capacity')!;
    expect(finding.detail).toContain('least recently used evicted first');
    expect(finding.detail).toMatch(/each backend's own cache holds about (4[5-9]|5\d|6[0-2])\b/);
    expect(result.diagnosis.findings.some((f) => f.code === 'idle-timeout')).toBe(false);
  });

  it('backends without a shared cache and no limit: the balancer\'s refusals make no time limit or cache size', () => {
    for (const seed of [1, 2, 3, 4]) {
      const result = simulateAndAnalyze('lb-no-shared-cache', 1, seed);
      const policy = result.diagnosis.servers[0]!.cachePolicy;
      expect([policy.idleTimeout.seconds, policy.lifetime.seconds, policy.capacity.entries]).toEqual([null, null, null]);
    }
    // Six backends, round-robin: 35 refusals past the oldest session accepted had made "sessions
    // expire after 12m39s" (critical), a chance of 0.0017 taken for a limit.
    const six = simulateConfigAndAnalyze({ seed: 1, duration: 1800,
      services: [{ sni: 'www.nolim.test', backends: 6, captureAt: 'vip', balancing: 'round-robin', sharedCache: false, policy: { idleTimeout: null, lifetime: null, capacity: null, purgeOnAbort: false } }],
      clients: { count: 60, meanGap: 200, minGap: 5, longGapShare: 0.3, longGap: [200, 1000], firstConnectionSpread: 300 } });
    const policy = six.diagnosis.servers[0]!.cachePolicy;
    expect([policy.idleTimeout.seconds, policy.lifetime.seconds, policy.capacity.entries]).toEqual([null, null, null]);
    expect(six.diagnosis.servers[0]!.reasons).toEqual({ 'other-backend': six.truth.totals.byReason['other-backend'] });
  });

  it('eight backends at random, no limit: a steady 1-in-8 accept rate is no "idle timeout of 1 s" with exceptions', () => {
    // The few offers below a second happened to be accepted; the tolerant fit took the offers
    // accepted far past that edge for a coarse clock's exceptions, and all 4,053 refusals went to
    // "dropped after 1s idle" with no word of the balancer.
    const farm = balancerWithoutLimit(3, 1200, 8, { count: 200, meanGap: 20, minGap: 1, longGapShare: 0.1, longGap: [100, 600] });
    expect(farm.diagnosis.servers[0]!.cachePolicy.sharedCache.backends).toBe(8);
    expect(farm.diagnosis.findings.map((f) => `${f.severity}:${f.code}`)).toEqual(['critical:no-shared-cache']);
  });

  it('two backends at random, no limit: the last few offers refused in a row are no time limit', () => {
    // Half the offers refused whatever their idle time or age: the last six refused made "an idle
    // timeout of 15 min" and "a lifetime of 22 min" (info), a chance of 1 in 64 at the best edge.
    balancerWithoutLimit(5, 1800, 2, { count: 60, meanGap: 60, minGap: 2, longGapShare: 0.2, longGap: [200, 1000] });
  });

  it('backends without a shared cache inferred at low confidence: a warning that says so, not critical', () => {
    // A capture of 19 offers of one server had "critical: backends do not share a session cache
    // (about 2 backends)" at confidence 0.33: limits were held down so, this finding was not.
    const farm = simulateAndAnalyze('lb-no-shared-cache', 1, 1);
    const servers = farm.diagnosis.servers.map((s) => ({ ...s, cachePolicy: { ...s.cachePolicy, sharedCache: { ...s.cachePolicy.sharedCache, confidence: 0.33 } } }));
    const none = () => null;
    const group = servers[0]!.group;
    const { findings } = buildFindings(servers, farm.diagnosis.clients, farm.connections, { groupKey: () => group, reuseGap: none, age: none, churn: none, recency: none, abortOf: none, sessionVersion: none, crossAddress: () => false });
    const backend = findings.find((f) => f.code === 'no-shared-cache')!;
    expect(backend.severity).toBe('warning');
    expect(backend.detail).toMatch(/The inference is uncertain \(confidence 0\.33/);
    const sure = buildFindings(farm.diagnosis.servers, farm.diagnosis.clients, farm.connections, { groupKey: () => group, reuseGap: none, age: none, churn: none, recency: none, abortOf: none, sessionVersion: none, crossAddress: () => false });
    expect(sure.findings.find((f) => f.code === 'no-shared-cache')!.severity).toBe('critical');
  });

  it('backends each with ticket keys of their own, rotated together every 5 minutes: one rotation, every 5 minutes, the newest key open', () => {
    // Taking a key's successor as the next key first issued at all (a sibling backend's), the keys
    // were replaced "every 3.5s" with "2 newest keys" open; asking a replaced key to seal nothing
    // after that sibling's first ticket lost the rotation, and a lifetime and a cache were made up.
    const { farm, server, rotation } = fiveMinuteRotation({ backends: 2, captureAt: 'backends', balancing: 'round-robin', sharedCache: false });
    expect(rotation.keysOpen).toBe(1);
    expect([server.cachePolicy.idleTimeout.seconds, server.cachePolicy.lifetime.seconds, server.cachePolicy.capacity.entries]).toEqual([null, null, null]);
    expect(farm.diagnosis.findings.map((f) => `${f.severity}:${f.code}`).sort()).toEqual(['critical:no-shared-cache', 'critical:ticket-key-rotation']);
    // Every refusal the truth gives the rotation is the rotation's (more are: a refusal by the
    // other backend under a replaced key cannot be told from one).
    const rotated = farm.truth.totals.byReason['ticket-key-rotated']!;
    expect(server.reasons.flush).toBeGreaterThanOrEqual(rotated);
    expect((server.reasons.flush ?? 0) + (server.reasons['other-backend'] ?? 0)).toBe(server.rejected);
  });

  it('two critical findings: the one with more connections comes first, counted whole, though both list 50', () => {
    // Ranked by the 50 connections each lists, they tied and the first one built led the summary
    // and the app's "Main finding": the backends' 342 refusals before the rotation's 801.
    const farm = threeBackendsRotatingOwnKeys();
    const { findings } = farm.diagnosis;
    expect(findings.map((f) => `${f.severity}:${f.code}`)).toEqual(['critical:ticket-key-rotation', 'critical:no-shared-cache']);
    const [rotation, backends] = findings as [typeof findings[0], typeof findings[0]];
    expect(backends.evidenceCount).toBe(farm.connections.filter((c) => c.reason === 'other-backend').length);
    expect(rotation.evidenceCount).toBe(farm.connections.filter((c) => c.reason === 'flush').length);
    expect(backends.evidenceCount).toBeGreaterThan(50);
    expect(rotation.evidenceCount).toBeGreaterThan(backends.evidenceCount);
    expect([rotation.evidence.length, backends.evidence.length]).toEqual([50, 50]);
  });

  it('what would have helped behind a balancer whose backends rotate keys of their own: keeping replaced keys helps only where a ticket reached its own backend', () => {
    // Counted whole, keeping the replaced keys claimed all 801 refusals under replaced keys, and
    // ranked above sharing the keys; the truth: 291 of them reached the backend that had sealed
    // the ticket, the others one that never held its key.
    const farm = threeBackendsRotatingOwnKeys();
    const server = farm.diagnosis.servers[0]!;
    expect(server.cachePolicy.sharedCache).toMatchObject({ shared: false, backends: 3 });
    const share = server.cachePolicy.sharedCache.sameBackendShare!;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.4);
    const atOwnBackend = farm.truth.connections.filter((c) => c.reason === 'ticket-key-rotated').length;
    const keep = farm.diagnosis.whatIf.find((w) => w.scenario === 'keep-replaced-ticket-keys')!;
    expect(Math.abs(keep.fullHandshakesAvoided - atOwnBackend) / atOwnBackend).toBeLessThan(0.2);
    expect(keep.description).toBe(`replaced ticket keys kept for opening tickets (only for the offers that reach the backend holding their session, about ${Math.round(share * 100)} %)`);
    // Both changes together resume every refusal; sharing alone the backends' own.
    expect(farm.diagnosis.whatIf.map((w) => [w.scenario, w.fullHandshakesAvoided])).toEqual([
      ['keep-replaced-ticket-keys+shared-cache', server.rejected],
      ['shared-cache', server.reasons['other-backend']],
      ['keep-replaced-ticket-keys', keep.fullHandshakesAvoided],
    ]);
    expect(farm.diagnosis.whatIf[0]!.description).toBe('replaced ticket keys kept for opening tickets, and the same session ticket keys on all backends');
    // The rotation's finding says so too.
    const rotation = farm.diagnosis.findings.find((f) => f.code === 'ticket-key-rotation')!;
    expect(rotation.detail).toContain(`The backends behind www.sweep.test:443 also keep keys of their own: kept replaced keys would open only the tickets that reach the backend that sealed them (about ${keep.fullHandshakesAvoided} of the ${rotation.evidenceCount}); with the same keys on every backend as well, all of them.`);
  });

  it('what would have helped with backends at addresses of their own and an idle timeout: a longer timeout alone leaves out the offers to the other address, together with a shared cache it gets them', () => {
    const farm = simulateConfigAndAnalyze({ seed: 7, duration: 3600,
      clients: { count: 80, meanGap: 200, minGap: 2, longGapShare: 0.4, longGap: [320, 900], stacks: ['modern-a', 'modern-b'] },
      services: [{ sni: 'www.pair.test', resumption: 'session-id', backends: 2, captureAt: 'backends', balancing: 'random', sharedCache: false,
        policy: { idleTimeout: 300, lifetime: 36000, capacity: null, purgeOnAbort: false } }] });
    const server = farm.diagnosis.servers[0]!;
    expect(server.cachePolicy.idleTimeout.seconds).toBe(300);
    expect(server.cachePolicy.sharedCache).toMatchObject({ shared: false, backends: 2, sameBackendShare: null });
    const longer = farm.diagnosis.whatIf.find((w) => w.scenario === 'idle-timeout=1800')!;
    const both = farm.diagnosis.whatIf.find((w) => w.scenario === 'idle-timeout=1800+shared-cache')!;
    const sharing = farm.diagnosis.whatIf.find((w) => w.scenario === 'shared-cache')!;
    // From the simulator's truth: refusals at the issuing backend for idle time, and the other
    // backend's refusals of sessions idle less than 30 minutes.
    const truth = farm.truth.connections;
    const idleAtOwn = truth.filter((c) => c.reason === 'idle-timeout' && c.reuseGap! <= 1800).length;
    const elsewhereWithin = truth.filter((c) => c.reason === 'other-backend' && c.reuseGap! <= 1800).length;
    expect(longer.fullHandshakesAvoided).toBe(idleAtOwn);
    expect(both.fullHandshakesAvoided).toBe(idleAtOwn + elsewhereWithin);
    expect(both.fullHandshakesAvoided).toBeGreaterThan(longer.fullHandshakesAvoided + sharing.fullHandshakesAvoided);
    expect(both.description).toBe('idle timeout 30m00s instead of 5m00s, and one session cache shared by all backends');
  });

  it('an idle timeout behind a balancer over three backends with caches of their own: the finding and the what-if count the same offers that reached their own backend, near the truth', () => {
    // Sweep farm 6:24. The idle timeout's refusals include offers that went to another backend
    // (the simulator's truth calls those the backend's): a longer timeout resumes neither.
    const farm = simulateConfigAndAnalyze({ seed: 25, duration: 3600,
      clients: { count: 200, meanGap: 150, minGap: 2, longGapShare: 0.4, longGap: [200, 2000], abortShare: 0, forgetShare: 0, firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] },
      services: [{ sni: 'www.sweep.test', resumption: 'psk', backends: 3, captureAt: 'vip', balancing: 'round-robin', sharedCache: false,
        policy: { idleTimeout: 300, lifetime: 7200, capacity: null, purgeOnAbort: false } }] });
    const server = farm.diagnosis.servers[0]!;
    expect(server.cachePolicy.idleTimeout.seconds).toBe(300);
    // Long-idle sessions cross some moment with no acceptance by chance: no restart.
    expect(server.cachePolicy.flushes).toEqual([]);
    const longer = farm.diagnosis.whatIf.find((w) => w.scenario === 'idle-timeout=1800')!;
    const truth = farm.truth.connections.filter((c) => c.reason === 'idle-timeout' && c.reuseGap! <= 1800).length;
    expect(Math.abs(longer.fullHandshakesAvoided - truth) / truth).toBeLessThan(0.2);
    const finding = farm.diagnosis.findings.find((f) => f.code === 'idle-timeout')!;
    expect(finding.detail).toContain(`raising the idle timeout to 30m00s would have resumed about ${longer.fullHandshakesAvoided} of them (those that reached the backend holding their session; the others went to a backend that did not have it)`);
    // Counted whole, the timeout's every refusal within 30 minutes: three times the truth.
    expect(server.reasons['idle-timeout']!).toBeGreaterThan(2.5 * truth);
  });

  it('a restart behind three backends without a shared cache: found, though two in three offers are refused at any moment', () => {
    // Sweep farm 2:33. Every backend emptied at 20 minutes: the 200 sessions from before it all came
    // back refused, where 67 % were refused at other moments. That rate was read as a cache split
    // into parts (refused as often from the restart's smallest churn up: 67 %, but as often below
    // it), and the balancer took every refusal: "no shared cache", no restart.
    const farm = simulateConfigAndAnalyze({ seed: 34, duration: 3600,
      clients: { count: 200, meanGap: 60, minGap: 2, longGapShare: 0, longGap: [200, 2000], abortShare: 0, forgetShare: 0, firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] },
      services: [{ sni: 'www.sweep.test', resumption: 'psk', backends: 3, captureAt: 'vip', balancing: 'round-robin', sharedCache: false,
        policy: { idleTimeout: 1800, lifetime: 36000, capacity: null, purgeOnAbort: false }, flushes: [1200] }] });
    const policy = farm.diagnosis.servers[0]!.cachePolicy;
    expect(policy.sharedCache.shared).toBe(false);
    expect(policy.sharedCache.backends).toBe(3);
    expect([policy.idleTimeout.seconds, policy.lifetime.seconds, policy.capacity.entries]).toEqual([null, null, null]);
    expect(policy.flushes).toHaveLength(1);
    const restart = farm.truth.startTime + 1200;
    const flush = policy.flushes[0]!;
    expect(flush.low).toBeLessThanOrEqual(restart);
    expect(flush.time).toBeGreaterThanOrEqual(restart);
    expect(flush.time - flush.low).toBeLessThan(10);
    // The restart's refusals that reached the backend holding their session, in the truth, and no
    // restart would have resumed about as many (the others went to a backend without it).
    const flushed = farm.truth.totals.byReason['flush']!;
    const noFlush = farm.diagnosis.whatIf.find((w) => w.scenario === 'no-flush')!;
    expect(Math.abs(noFlush.fullHandshakesAvoided - flushed) / flushed).toBeLessThan(0.3);
  });

  it('three backends with ticket keys of their own, restarted once: a key change at that moment, no rotation', () => {
    // Farm 5:20 of `sweep.js`. The restart replaced three keys at once, enough for "replaces its
    // keys about every 20m03s" (critical), timed from the capture's start to the restart.
    const farm = simulateConfigAndAnalyze({ seed: 21, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'ticket', backends: 3, captureAt: 'vip', balancing: 'random', sharedCache: false, ticketKeyRotationSkew: 30,
        policy: { idleTimeout: 300, lifetime: 36000, capacity: 1000, purgeOnAbort: false }, flushes: [1200] }],
      clients: { count: 200, meanGap: 400, minGap: 2, longGapShare: 0.4, longGap: [200, 2000], abortShare: 0, forgetShare: 0.05, firstConnectionSpread: 300, stacks: ['legacy'] } });
    const policy = farm.diagnosis.servers[0]!.cachePolicy;
    expect(policy.tickets.rotation).toBeNull();
    expect(policy.flushes).toHaveLength(1);
    const restart = farm.truth.startTime + 1200;
    expect(policy.flushes[0]!.low).toBeLessThanOrEqual(restart);
    expect(policy.flushes[0]!.time).toBeGreaterThanOrEqual(restart);
    expect(farm.diagnosis.findings.map((f) => f.code)).not.toContain('ticket-key-rotation');
    expect(farm.diagnosis.findings.find((f) => f.code === 'flush')!.title).toMatch(/^The session ticket keys of www\.sweep\.test:443 changed between /);
  });

  it('ticket keys replaced every 5 minutes, the two newest opening tickets (nginx with two key files): keys open 2', () => {
    const { farm, server, rotation } = fiveMinuteRotation({ backends: 1, captureAt: 'vip', sharedCache: true, ticketKeysOpen: 2 },
      { count: 60, meanGap: 120, minGap: 2, longGapShare: 0.4, longGap: [400, 1200], stacks: ['modern-a', 'modern-b'] });
    expect(rotation.keysOpen).toBe(2);
    // The older key is still opened after its successor began, but refused nowhere meanwhile: no switch.
    expect(rotation.switchSpread).toBe(0);
    expect(server.reasons).toEqual({ flush: farm.truth.totals.byReason['ticket-key-rotated'] });
  });

  it('two servers sharing ticket keys switch to each new key 60 s apart: one rotation every 5 minutes, the newest key open, no limit made up', () => {
    // Taking a replaced key to seal on for a tenth of its use (30 s), the key after next was its
    // successor: a lifetime of ~350 s and an LRU cache of ~75 were made of the refusals between.
    // The session's start said "keys open 3" (the old key open 60 s longer on the second server).
    const { farm, server, rotation } = fiveMinuteRotation({ backends: 2, captureAt: 'vip', balancing: 'random', sharedCache: true, ticketKeyRotationSkew: 60 });
    expect(rotation.keysOpen).toBe(1);
    expect([server.cachePolicy.idleTimeout.seconds, server.cachePolicy.lifetime.seconds, server.cachePolicy.capacity.entries]).toEqual([null, null, null]);
    // Within the minute both keys were in use, one server refused the old key's tickets and the
    // other the new key's: those were "unexplained" (190 of 653) before the switch was looked for.
    expect(server.reasons).toEqual({ flush: farm.truth.totals.byReason['ticket-key-rotated'] });
    expect(rotation.switchSpread).toBeGreaterThan(30);
    expect(rotation.switchSpread).toBeLessThan(90);
    const whileSwitching = farm.connections.filter((c) => c.reasonDetail?.includes(KEY_SWITCH_DETAIL));
    expect(whileSwitching.length).toBeGreaterThan(100);
    expect(whileSwitching.every((c) => c.resumption === 'rejected' && (c.offer.ticket || c.offer.psk))).toBe(true);
    const finding = farm.diagnosis.findings.find((f) => f.code === 'ticket-key-rotation')!;
    expect(finding.detail).toContain(`${server.rejected.toLocaleString('en-US')} of ${server.offers.toLocaleString('en-US')} offers were tickets sealed under a key it had replaced or, while its servers switched, not yet taken everywhere`);
    expect(finding.detail).toContain(`${whileSwitching.length.toLocaleString('en-US')} of them came while its servers switched from one key to the next one after another`);
    expect(finding.detail).toContain('Give every server the new key for opening first');
  });

  it('four servers sharing ticket keys, each switching 60 s after the one before: every refusal the rotation\'s, no limit made up', () => {
    // Three minutes of every five with two keys in use: 63–79 % of the rotation's refusals had been
    // left unexplained or put down to a lifetime of ~450 s, an idle timeout or a cache of 62.
    for (const seed of [1, 2]) {
      const farm = simulateConfigAndAnalyze({ seed, duration: 3600, clients: { count: 60, meanGap: 90, minGap: 2, longGapShare: 0, stacks: ['modern-a', 'modern-b'] },
        services: [{ sni: 'www.rotation.test', resumption: 'ticket', ticketKeyRotation: 300, ticketLifetimeHint: 7200, policy: { idleTimeout: null, lifetime: 7200, capacity: null, purgeOnAbort: false },
          backends: 4, captureAt: 'vip', balancing: 'random', sharedCache: true, ticketKeyRotationSkew: 60 }] });
      const server = farm.diagnosis.servers[0]!;
      const rotation = server.cachePolicy.tickets.rotation!;
      expect(rotation.keysOpen).toBe(1);
      expect(rotation.every).toBeGreaterThan(290);
      expect(rotation.every).toBeLessThan(310);
      expect(rotation.switchSpread).toBeGreaterThan(120);
      expect(rotation.switchSpread).toBeLessThan(240);
      expect([server.cachePolicy.idleTimeout.seconds, server.cachePolicy.lifetime.seconds, server.cachePolicy.capacity.entries]).toEqual([null, null, null]);
      expect(server.reasons).toEqual({ flush: farm.truth.totals.byReason['ticket-key-rotated'] });
    }
  });

  it('four servers sharing ticket keys 90 s apart each, two keys in use 4.5 minutes of every 5: most refusals the rotation\'s', () => {
    // The successor is judged opened everywhere once the old key is out of use, up to the next
    // key's beginning: judged as long again as the two keys were in use together, that look ran
    // into the next switch, and 48–68 % of the refusals were left unexplained (a fifth explained before any of it).
    const farm = simulateConfigAndAnalyze({ seed: 3, duration: 3600, clients: { count: 60, meanGap: 90, minGap: 2, longGapShare: 0, stacks: ['modern-a', 'modern-b'] },
      services: [{ sni: 'www.rotation.test', resumption: 'ticket', ticketKeyRotation: 300, ticketLifetimeHint: 7200, policy: { idleTimeout: null, lifetime: 7200, capacity: null, purgeOnAbort: false },
        backends: 4, captureAt: 'vip', balancing: 'random', sharedCache: true, ticketKeyRotationSkew: 90 }] });
    const server = farm.diagnosis.servers[0]!;
    expect(server.cachePolicy.tickets.rotation!.switchSpread).toBeGreaterThan(180);
    expect(server.reasons.flush! / farm.truth.totals.byReason['ticket-key-rotated']!).toBeGreaterThan(0.85);
  });

  it('backends each with ticket keys of their own, switching a minute apart: no switch of shared keys is made up', () => {
    // Another backend's next key began while a key was in use and outlived it: taken for a switch
    // of shared keys, the 1,151 refusals given to other backends became the rotation's or unexplained.
    const farm = simulateConfigAndAnalyze({ seed: 1, duration: 3600, clients: { count: 60, meanGap: 90, minGap: 2, longGapShare: 0, stacks: ['modern-a', 'modern-b'] },
      services: [{ sni: 'www.rotation.test', resumption: 'ticket', ticketKeyRotation: 300, ticketLifetimeHint: 7200, policy: { idleTimeout: null, lifetime: 7200, capacity: null, purgeOnAbort: false },
        backends: 3, captureAt: 'vip', balancing: 'random', sharedCache: false, ticketKeyRotationSkew: 60 }] });
    const server = farm.diagnosis.servers[0]!;
    expect(server.cachePolicy.tickets.rotation?.switchSpread ?? 0).toBe(0);
    expect(farm.connections.some((c) => c.reasonDetail?.includes(KEY_SWITCH_DETAIL))).toBe(false);
    expect(server.reasons['other-backend']).toBeGreaterThan(0.6 * farm.truth.totals.byReason['other-backend']!);
  });

  it('backends each with ticket keys of their own: keys in use side by side are no rotation', () => {
    // Each key went on sealing tickets after the next one's first: with 4-8 backends the keys were
    // "replaced every 1.7s", and 11-90 of the balancer's refusals a rotation's (a warning).
    for (const backends of [4, 8]) {
      const farm = simulateConfigAndAnalyze({ seed: 3, duration: 1800,
        services: [{ sni: 'www.tickets.test', resumption: 'ticket', backends, captureAt: 'vip', balancing: 'random', sharedCache: false, policy: { idleTimeout: null, lifetime: null, capacity: null, purgeOnAbort: false } }],
        clients: { count: 40, meanGap: 60, minGap: 2, longGapShare: 0, stacks: ['modern-a', 'modern-b'] } });
      const server = farm.diagnosis.servers[0]!;
      expect(server.cachePolicy.tickets.rotation).toBeNull();
      expect(server.reasons).toEqual({ 'other-backend': farm.truth.totals.byReason['other-backend'] });
      expect(farm.diagnosis.findings.map((f) => `${f.severity}:${f.code}`)).toEqual(['critical:no-shared-cache']);
    }
  });

  it('a session cache with a 5-minute idle timeout and tickets kept 2 hours on one server: each kind fitted apart', () => {
    // Pooled, tickets accepted after 17 minutes idle contradicted the cache's timeout: every
    // session-ID refusal was "unexplained".
    const policy = (idleTimeout: number | null, lifetime: number) => ({ idleTimeout, lifetime, capacity: null, purgeOnAbort: false });
    for (const seed of [1, 2]) {
      const result = simulateConfigAndAnalyze({ seed, duration: 3600,
        services: [
          { sni: 'www.both.test', backendAddresses: ['172.16.9.10'], policy: policy(300, 36000), clientShare: 1 },
          { sni: 'www.both.test', backendAddresses: ['172.16.9.10'], resumption: 'ticket', ticketLifetimeHint: 7200, policy: policy(null, 7200), clientShare: 1, clients: { stacks: ['modern-a', 'modern-b'] } },
        ],
        clients: { count: 60, meanGap: 150, minGap: 5, longGapShare: 0.35, longGap: [200, 1000], firstConnectionSpread: 300 } });
      const server = result.diagnosis.servers[0]!;
      expect(server.cachePolicy.idleTimeout.seconds).toBe(300);
      expect(server.cachePolicy.idleTimeout.appliesTo).toBe('session-ids');
      expect(server.reasons).toEqual({ 'idle-timeout': result.truth.totals.byReason['idle-timeout'] });
      expect(result.diagnosis.findings.find((f) => f.code === 'idle-timeout')!.detail).toContain('Found for session IDs');
    }
  });

  it('a restart after 20 minutes on a TLS 1.3 server with a 5-minute idle timeout: sessions expired before it are the timeout\'s, not the restart\'s', () => {
    // The flush took every session last used before it, also those idle 8 to 19 minutes that had
    // expired long before: 132 idle-timeout refusals and 200 "sessions lost" were the restart's.
    const result = simulateConfigAndAnalyze({ seed: 20, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'psk', policy: { idleTimeout: 300, lifetime: 3600, capacity: null, purgeOnAbort: false }, flushes: [1200] }],
      clients: { count: 200, meanGap: 60, minGap: 2, longGapShare: 0.2, longGap: [200, 2000], firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] } });
    const server = result.diagnosis.servers[0]!;
    expect(server.reasons).toEqual({ flush: result.truth.totals.byReason.flush, 'idle-timeout': result.truth.totals.byReason['idle-timeout'] });
    expect(compareWithTruth(result.document, result.truth).reasonAgreement).toBe(1);
    const [flush] = server.cachePolicy.flushes;
    expect(flush!.time - 1_700_000_000).toBeGreaterThan(1199);
    expect(flush!.time - 1_700_000_000).toBeLessThan(1210);
    expect(flush!.sessionsLost).toBe(result.truth.totals.byReason.flush);
    const expired = result.connections.filter((c) => c.reason === 'idle-timeout' && (c.reasonDetail ?? '').includes('it had expired before the cache was emptied'));
    expect(expired.length).toBeGreaterThan(100);
    expect(expired.every((c) => (c.session as { reuseGap: number }).reuseGap > 300)).toBe(true);
  });

  it('a restart of two servers sharing a cache of 50: sessions pushed out before it are the cache\'s, not the restart\'s', () => {
    // 150 sessions already evicted by 50 newer ones when the servers restarted were the restart's.
    const result = simulateConfigAndAnalyze({ seed: 5, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'psk', backends: 2, captureAt: 'vip', balancing: 'round-robin', sharedCache: true, policy: { idleTimeout: null, lifetime: 36000, capacity: 50, purgeOnAbort: true }, flushes: [1200] }],
      clients: { count: 200, meanGap: 60, minGap: 2, longGapShare: 0.2, longGap: [200, 2000], firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] } });
    const server = result.diagnosis.servers[0]!;
    const truth = result.truth.totals.byReason;
    expect(server.cachePolicy.capacity.entries).toBe(50);
    expect(Math.abs(server.reasons.flush! - truth.flush!)).toBeLessThanOrEqual(2);
    expect(Math.abs(server.reasons.capacity! - truth.capacity!)).toBeLessThanOrEqual(2);
    expect(Math.abs(server.cachePolicy.flushes[0]!.sessionsLost - truth.flush!)).toBeLessThanOrEqual(2);
    expect(result.connections.filter((c) => (c.reasonDetail ?? '').includes('it was gone before')).length).toBeGreaterThan(100);
  });

  it('an idle timeout of 5 minutes and a cache of 50 at once: each refusal the limit that took the session first', () => {
    // The limit fitted first (the cache) took every refusal past both: 78 sessions idle past the
    // timeout long before 50 newer ones came were the cache's.
    const result = simulateConfigAndAnalyze({ seed: 10, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'psk', backends: 2, captureAt: 'vip', balancing: 'source-ip', sharedCache: true, policy: { idleTimeout: 300, lifetime: 3600, capacity: 50, purgeOnAbort: false } }],
      clients: { count: 80, meanGap: 60, minGap: 2, longGapShare: 0.2, longGap: [200, 2000], firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] } });
    const server = result.diagnosis.servers[0]!;
    const truth = result.truth.totals.byReason;
    expect([server.cachePolicy.idleTimeout.seconds, server.cachePolicy.capacity.entries]).toEqual([300, 50]);
    expect(Math.abs(server.reasons['idle-timeout']! - truth['idle-timeout']!)).toBeLessThanOrEqual(2);
    expect(Math.abs(server.reasons.capacity! - truth.capacity!)).toBeLessThanOrEqual(2);
    expect(compareWithTruth(result.document, result.truth).reasonAgreement).toBeGreaterThan(0.98);
  });

  it('a client that dropped its session and then reset a handshake has no session: its next connection without an offer is no second forgetting', () => {
    // Still holding the dropped session, every later connection without an offer was "client
    // forgot" again: 615 for the truth's 594, each one right after a reset handshake.
    const result = simulateConfigAndAnalyze({ seed: 33, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'session-id', captureAt: 'backends', policy: { idleTimeout: 1800, lifetime: 3600, capacity: null, purgeOnAbort: false } }],
      clients: { count: 200, meanGap: 60, minGap: 2, longGapShare: 0, longGap: [200, 2000], abortShare: 0.05, forgetShare: 0.05, firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b', 'legacy'] } });
    const comparison = compareWithTruth(result.document, result.truth);
    expect(comparison.confusion.none?.['client-forgot'] ?? 0).toBe(0);
    expect(result.diagnosis.servers[0]!.reasons['client-forgot']).toBe(result.truth.totals.byReason['client-forgot']);
  });

  it('two backends with caches of their own and a 5-minute idle timeout: refusals past the timeout make up no restart', () => {
    // Spans crossing a moment were all refused: most past the timeout, the few within it at the 50 %
    // of a random balancer. Counted together they read as "the cache was emptied" (one flush of 24
    // refusals in the first farm, two of 13 and 16 in the second); within the timeout they show nothing.
    for (const [set, index] of [[1, 24], [1, 35]] as const) {
      const result = simulateConfigAndAnalyze(sweepTwoServiceFarm(set, index));
      const balanced = result.diagnosis.servers.find((s) => s.cachePolicy.idleTimeout.seconds !== null && s.cachePolicy.sharedCache.shared === false)!;
      expect(Math.abs(balanced.cachePolicy.idleTimeout.seconds! - 300), `${set}:${index}`).toBeLessThanOrEqual(10);
      expect(result.diagnosis.servers.flatMap((s) => s.cachePolicy.flushes), `${set}:${index}`).toEqual([]);
      expect(result.connections.filter((c) => c.reason === 'flush'), `${set}:${index}`).toEqual([]);
    }
  });

  it('a restart hidden by a busy idle timeout is found among the refusals the timeout leaves', () => {
    // Half the offers refused for idle time made the restart's few refusals within the timeout
    // look like the usual rate: no flush was found, and they stayed "unexplained".
    const result = simulateConfigAndAnalyze({ seed: 18, duration: 3600,
      services: [{ sni: 'www.sweep.test', resumption: 'psk', policy: { idleTimeout: 300, lifetime: 3600, capacity: null, purgeOnAbort: true }, flushes: [1200] }],
      clients: { count: 200, meanGap: 400, minGap: 2, longGapShare: 0.4, longGap: [200, 2000], abortShare: 0.05, forgetShare: 0.05, firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b'] } });
    const server = result.diagnosis.servers[0]!;
    expect(server.cachePolicy.idleTimeout.seconds).toBe(300);
    expect(server.cachePolicy.flushes).toHaveLength(1);
    const flush = server.cachePolicy.flushes[0]!;
    expect(flush.low - 1_700_000_000).toBeLessThanOrEqual(1200);
    expect(flush.time - 1_700_000_000).toBeGreaterThanOrEqual(1200);
    const flushed = result.connections.filter((c) => c.reason === 'flush');
    const truthOf = new Map(result.truth.connections.map((t) => [`${t.clientIp}:${t.clientPort}@${t.startTime.toFixed(3)}`, t.reason]));
    expect(flushed.length).toBeGreaterThan(5);
    const flushedTruly = flushed.filter((c) => truthOf.get(`${c.client.ip}:${c.client.port}@${c.startTime.toFixed(3)}`) === 'flush').length;
    expect(flushedTruly / flushed.length).toBeGreaterThan(0.9);
    // Found only after the timeout had taken its refusals, the restart still claims the sessions
    // alive when it came: 47 of its 56 had stayed "idle-timeout" (9 sessions lost).
    const comparison = compareWithTruth(result.document, result.truth);
    expect(comparison.confusion.flush?.['idle-timeout'] ?? 0).toBeLessThanOrEqual(2);
    expect(Math.abs(flush.sessionsLost - result.truth.totals.byReason.flush!)).toBeLessThanOrEqual(2);
  });

  it('purge on abort with an idle timeout: an abort whose own offer was refused purged nothing', () => {
    // Seed 2 had 14 idle-timeout refusals put down to aborts whose offers had been refused for
    // idle time already: the session was gone before the abort.
    const result = simulateConfigAndAnalyze({ seed: 2, duration: 3600,
      services: [{ sni: 'www.ip.test', policy: { idleTimeout: 300, lifetime: 36000, capacity: null, purgeOnAbort: true } }],
      clients: { count: 40, meanGap: 150, minGap: 5, longGapShare: 0.35, longGap: [200, 1000], firstConnectionSpread: 300, abortShare: 0.05 } });
    const { diagnosis, truth } = result;
    const comparison = compareWithTruth(result.document, truth);
    const server = diagnosis.servers[0]!;
    expect(server.reasons['purged-after-abort']).toBe(truth.totals.byReason['purged-after-abort']);
    expect(server.reasons['idle-timeout']).toBe(truth.totals.byReason['idle-timeout']);
    expect(comparison.reasonAgreement).toBe(1);
    // Keeping sessions on abort saves only those not idle past the timeout as well.
    const idle = server.cachePolicy.idleTimeout.seconds!;
    const purged = result.connections.filter((c) => c.reason === 'purged-after-abort');
    const withinTimeout = purged.filter((c) => (c.session as { reuseGap: number | null }).reuseGap! <= idle).length;
    expect(withinTimeout).toBeGreaterThan(0);
    expect(withinTimeout).toBeLessThan(purged.length);
    expect(diagnosis.whatIf.find((w) => w.scenario === 'no-purge-on-abort')?.fullHandshakesAvoided).toBe(withinTimeout);
  });

  it('backends without a shared cache behind source-IP balancing look like one cache: every refusal is the idle timeout\'s', () => {
    // The simulator's source-IP hash was negative for half the addresses: it crashed here before.
    const result = simulateConfigAndAnalyze({ seed: 1, duration: 3600,
      services: [{ sni: 'www.sticky.test', backends: 3, captureAt: 'vip', balancing: 'source-ip', sharedCache: false, policy: { idleTimeout: 300, lifetime: 36000, capacity: null, purgeOnAbort: false } }],
      clients: { count: 40, meanGap: 150, minGap: 5, longGapShare: 0.35, longGap: [200, 1000], firstConnectionSpread: 300 } });
    const comparison = compareWithTruth(result.document, result.truth);
    const server = result.diagnosis.servers[0]!;
    expect(server.cachePolicy.idleTimeout.seconds).toBe(300);
    expect(server.cachePolicy.sharedCache.shared).not.toBe(false);
    expect(comparison.reasonAgreement).toBe(1);
  });

  it('NAT with an idle timeout: an older session another client offers keeps the timeout as its reason', () => {
    for (const seed of [1, 2]) {
      const { diagnosis, truth } = simulateConfigAndAnalyze({ seed, duration: 3600, services: [{ sni: 'www.nat.test', policy: { idleTimeout: 300, lifetime: 36000, capacity: null, purgeOnAbort: false } }],
        clients: { count: 120, perAddress: 5, meanGap: 150, minGap: 5, longGapShare: 0.35, longGap: [200, 1000], firstConnectionSpread: 300 } });
      const server = diagnosis.servers[0]!;
      expect(server.reasons['idle-timeout']).toBe(truth.totals.byReason['idle-timeout']);
      expect(diagnosis.findings.filter((f) => f.severity === 'critical').map((f) => f.code)).toEqual(['idle-timeout']);
    }
  });

  it('a ticket-key rotation\'s refusals are replayed once, by keep-replaced-ticket-keys, not again by no-flush', () => {
    const { diagnosis } = simulateConfigAndAnalyze({ ...presetConfig('ticket-rotation', 1, 1), duration: 10_800 }, 'rotation-3h.pcap');
    const rejected = diagnosis.servers.reduce((n, s) => n + s.rejected, 0);
    const rotation = diagnosis.whatIf.find((w) => w.scenario === 'keep-replaced-ticket-keys');
    expect(rotation).toBeDefined();
    const avoided = diagnosis.whatIf.filter((w) => w.scenario === 'keep-replaced-ticket-keys' || w.scenario === 'no-flush').reduce((n, w) => n + w.fullHandshakesAvoided, 0);
    expect(avoided).toBeLessThanOrEqual(rejected);
  });

  it('ServerHellos the capture lost in a few full handshakes: still counted as issued, the FIFO cache\'s size stands', () => {
    const chunks: Uint8Array[] = [];
    simulateFarm(presetConfig('fifo-capacity', 1, 1), (chunk) => chunks.push(chunk.slice()));
    const { bytes, dropped } = dropSegments(concatBytes(chunks), 20, (toServer, payload) => !toServer && payload[0] === 22 && payload[5] === 2);
    expect(dropped).toBeGreaterThan(10);
    const { diagnosis } = analyzeChunks('fifo-lost-server-hellos.pcap', [bytes]);
    const capacity = diagnosis.servers[0]!.cachePolicy.capacity;
    expect(capacity.eviction).toBe('fifo');
    expect(capacity.entries!).toBeGreaterThanOrEqual(98);
    expect(capacity.entries!).toBeLessThanOrEqual(100);
  });

  it('a FIFO cache sliced 5 minutes into a farm an hour old: sessions from before the capture are the cache\'s, no idle timeout made up', () => {
    // Capacity 100, no time limit. Churn of a session issued before the capture is unknown; left
    // open, its refusals went to the idle fit (idle time grows with churn): "dropped after 1m49s
    // idle" at confidence 0.91, critical, and 16 "unexplained".
    const policy = { idleTimeout: null, lifetime: null, capacity: 100, purgeOnAbort: false };
    for (const seed of [1, 2]) {
      const { diagnosis, connections, truth } = simulateConfigAndAnalyze({ seed, duration: 300, warmup: 3300, services: [{ sni: 'www.s5cap.test', policy }], clients: { count: 200, meanGap: 120, minGap: 10, longGapShare: 0 } });
      const server = diagnosis.servers[0]!;
      expect(server.cachePolicy.capacity.entries).toBe(100);
      expect(server.cachePolicy.capacity.eviction).toBe('fifo');
      expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
      expect(server.cachePolicy.lifetime.seconds).toBeNull();
      expect(diagnosis.findings.map((f) => f.code).filter((c) => c !== 'capacity' && c !== 'issued-before-capture')).toEqual([]);
      // Every refusal is the cache's; those of sessions issued before the capture, once more than
      // 100 sessions were issued since it began; before that, only "issued before the capture".
      expect(Object.keys(server.reasons).sort()).toEqual(['capacity', 'issued-before-capture']);
      expect(server.reasons['capacity']! + server.reasons['issued-before-capture']!).toBe(truth.totals.byReason['capacity']);
      expect(server.reasons['issued-before-capture']!).toBeLessThanOrEqual(101);
      const early = connections.filter((c) => c.reason === 'capacity' && (c.reasonDetail ?? '').startsWith('issued before the capture'));
      expect(early.length).toBeGreaterThan(50);
    }
  });

  it('several clients behind one address (NAT) in a short capture: their first visits are no critical forgetting', () => {
    // Five clients per address, each keeping its own session, none forgetting; ten minutes, so that
    // many an address's earlier client never comes back to show it was another one.
    const policy = { idleTimeout: 3600, lifetime: 36000, capacity: null, purgeOnAbort: false };
    for (const seed of [5, 6]) {
      const { diagnosis, truth } = simulateConfigAndAnalyze({ seed, duration: 600, services: [{ sni: 'nat.test', policy }], clients: { count: 300, perAddress: 5, meanGap: 400, minGap: 133, longGapShare: 0.2, firstConnectionSpread: 600 } });
      expect(truth.totals.byReason['client-forgot'] ?? 0).toBe(0);
      const shared = diagnosis.clients.sharedAddresses;
      expect(shared.several).toBeGreaterThanOrEqual(3);
      expect(shared.several).toBeGreaterThan(0.02 * shared.seen);
      const forgets = diagnosis.findings.find((f) => f.code === 'client-forgets');
      // The network cannot tell these from forgetting: said, but not as critical, and why.
      expect(forgets?.severity).toBe('warning');
      expect(forgets?.detail).toContain('several clients behind one address');
      expect(forgets?.title).toContain('or share their addresses with other clients');
      expect(diagnosis.findings.filter((f) => f.severity === 'critical')).toEqual([]);
    }
    // The same clients one per address, forgetting 15 % of the time: critical, nobody found several.
    const { diagnosis } = simulateConfigAndAnalyze({ seed: 5, duration: 600, services: [{ sni: 'forget.test', policy }], clients: { count: 100, meanGap: 60, minGap: 2, longGapShare: 0, forgetShare: 0.15 } });
    expect(diagnosis.clients.sharedAddresses.several).toBe(0);
    expect(diagnosis.findings.find((f) => f.code === 'client-forgets')?.severity).toBe('critical');
  });

  it('each connection with a reason is counted once, under that reason, in its group', () => {
    for (const preset of ['client-forgets', 'mixed', 'tls13-psk'] as const) {
      const { connections, servers } = run(preset);
      const counted: Record<string, number> = {};
      for (const s of servers) for (const [reason, n] of Object.entries(s.reasons)) counted[reason] = (counted[reason] ?? 0) + n!;
      const given: Record<string, number> = {};
      for (const c of connections) if (c.reason) given[c.reason] = (given[c.reason] ?? 0) + 1;
      expect(counted, preset).toEqual(given);
    }
  });

  it('ticket-key rotation: tickets rejected after each rotation moment', () => {
    const { comparison, server, truth } = run('ticket-rotation');
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.95);
    expect(server.cachePolicy.tickets.offers).toBeGreaterThan(100);
    expect(server.cachePolicy.flushes.length).toBe(truth.services[0]!.ticketKeyRotationTimes.length);
  });

  it('ticket keys replaced every 10 minutes for 3 hours, newest key only: a rotation, not a lifetime (by key name)', () => {
    // The ticket-rotation farm, six times as long: a key replaced 17 times, tickets kept 2 h otherwise.
    const config = presetConfig('ticket-rotation', 1, 1);
    const result = simulateConfigAndAnalyze({ ...config, duration: 10_800 }, 'rotation-3h.pcap');
    const comparison = compareWithTruth(result.document, result.truth);
    const server = (result.document.servers as ServerSummary[])[0]!;
    const truth = result.truth.services[0]!;
    expect(truth.ticketKeyRotationTimes.length).toBe(17);
    const rotation = server.cachePolicy.tickets.rotation!;
    expect(rotation).not.toBeNull();
    expect(rotation.keysOpen).toBe(1);
    expect(rotation.every).toBeGreaterThan(590);
    expect(rotation.every).toBeLessThan(640);
    expect(rotation.keysReplaced).toBeGreaterThanOrEqual(15);
    // Every refusal the rotation caused is said so; no lifetime or cache size is made of them.
    const rotated = result.truth.connections.filter((c) => c.reason === 'ticket-key-rotated').length;
    expect(rotated).toBeGreaterThan(50);
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.95);
    expect(server.cachePolicy.lifetime.seconds).toBeNull();
    expect(server.cachePolicy.capacity.entries).toBeNull();
    const finding = result.diagnosis.findings.find((f) => f.code === 'ticket-key-rotation')!;
    expect(finding.title).toMatch(/^www\.ticket\.test:443 replaces its session ticket keys about every 10m\d\ds and refuses tickets under the replaced ones$/);
    expect(finding.detail).toContain('it opened tickets under its newest key only, so a ticket lives at most 10m');
    expect(finding.detail).toContain('less than the 2h00m its lifetime hint promises');
    expect(result.diagnosis.whatIf.find((w) => w.scenario === 'keep-replaced-ticket-keys')!.fullHandshakesAvoided).toBe(rotation.refused);
    // One restart (a single key change, nginx-ticket-key-rotation.pcap) stays a moment's flush: see diagnosis-real.
  });

  it('a farm half way through a TLS 1.3 rollout (one backend TLS 1.2 only): every version change found, the idle timeout still inferred', () => {
    let compatibilityAdvice = 0;
    // Version changes whose session was idle past the timeout as well: no TLS version would have saved them.
    let pastTimeout = 0;
    for (const seed of [1, 2, 3]) {
      const result = simulateAndAnalyze('version-mix', 1, seed);
      const comparison = compareWithTruth(result.document, result.truth);
      const server = (result.document.servers as ServerSummary[])[0]!;
      const truth = result.truth;
      const changes = truth.connections.filter((c) => c.reason === 'version-change');
      expect(changes.length, `seed ${seed}`).toBeGreaterThan(50);
      // Both ways, and the TLS 1.2 session IDs in TLS 1.3 handshakes (no offer by TLS 1.3's rules) among them.
      expect(changes.some((c) => c.outcome === 'full')).toBe(true);
      expect(comparison.unmatched).toBe(0);
      expect(comparison.outcomeAgreement, `seed ${seed}`).toBe(1);
      expect(comparison.confusion['version-change'], `seed ${seed}`).toEqual({ 'version-change': changes.length });
      expect(comparison.reasonAgreement, `seed ${seed}`).toBe(1);
      // Left out of the estimators: the 600 s idle timeout from the other refusals alone, no cache size, nothing against sharing.
      expect(server.cachePolicy.idleTimeout.seconds).toBe(600);
      expect(server.cachePolicy.capacity.entries).toBeNull();
      const finding = result.diagnosis.findings.find((f) => f.code === 'version-change')!;
      expect(finding.title).toBe(`${changes.length} sessions offered to www.rollout.test:443 were refused for a change of TLS version, both ways`);
      const tls12Answers = changes.filter((c) => c.version === 'TLS 1.2').length;
      expect(finding.detail).toContain(`Of this group's servers some speak TLS 1.3 and some do not`);
      expect(finding.detail).toContain(`The TLS 1.2 answers came from ${truth.services[0]!.backendAddresses[3]} (${tls12Answers}), of the group's 4 addresses.`);
      expect(result.diagnosis.findings.map((f) => f.code)).not.toContain('unexplained');
      // Every backend speaking TLS 1.3 (the cache is shared) would have resumed each of them not idle past the timeout.
      const resumable = changes.filter((c) => c.reuseGap !== null && c.reuseGap <= 600);
      const wouldResume = resumable.length;
      pastTimeout += changes.length - wouldResume;
      const sameVersions = result.diagnosis.whatIf.find((w) => w.scenario === 'same-tls-versions');
      expect(sameVersions?.fullHandshakesAvoided, `seed ${seed}`).toBe(wouldResume);
      // Each avoided handshake saves what the simulator wrote for a full one only: TLS 1.2 its
      // Certificate, ServerKeyExchange, ServerHelloDone and ClientKeyExchange; TLS 1.3 the server's
      // Certificate and CertificateVerify records (the EncryptedExtensions and Finished stay).
      const savedBy = (version: string | null) => (version === 'TLS 1.3' ? TLS13_FULL_ONLY : TLS12_FULL_ONLY);
      expect(sameVersions?.bytesSaved, `seed ${seed}`).toBe(resumable.reduce((sum, c) => sum + savedBy(c.version), 0));
      // The TLS 1.3 clients' random IDs the TLS 1.2 backend looked up: the advice names that backend,
      // not "enable TLS 1.3" on a group that speaks it.
      const compatibility = result.diagnosis.findings.find((f) => f.code === 'tls13-compatibility-id');
      if (compatibility !== undefined) {
        expect(compatibility.detail).toContain(`www.rollout.test:443 answers other connections with TLS 1.3 already: enabling it on the server that answered these (${truth.services[0]!.backendAddresses[3]}) would make them TLS 1.3 handshakes.`);
        compatibilityAdvice++;
      }
    }
    expect(compatibilityAdvice).toBeGreaterThan(0);
    expect(pastTimeout).toBeGreaterThan(0);
  });

  it('the same rollout where the backends do not share their cache: no TLS version alone would have resumed a session another backend issued', () => {
    const config = presetConfig('version-mix', 1, 1);
    const result = simulateConfigAndAnalyze({ ...config, services: [{ ...config.services![0]!, sharedCache: false }] });
    const server = (result.document.servers as ServerSummary[])[0]!;
    expect(server.cachePolicy.sharedCache.shared).toBe(false);
    // Every version change crossed backends (the TLS 1.2 one issues what the others cannot take, and back).
    const changes = result.truth.connections.filter((c) => c.reason === 'version-change');
    expect(changes.length).toBeGreaterThan(20);
    expect(result.diagnosis.findings.some((f) => f.code === 'version-change')).toBe(true);
    expect(result.diagnosis.whatIf.map((w) => w.scenario)).not.toContain('same-tls-versions');
  });

  it('TLS 1.3 random IDs at several servers, one of which speaks TLS 1.3 elsewhere: the finding says which', () => {
    // The rollout farm beside real Chromium against a TLS 1.2-only nginx (chromium-nginx-resume.pcap).
    const farm = simulateAndAnalyze('version-mix', 1, 1).connections;
    const nginx = analyzeChunks('chromium-nginx-resume.pcap', [readFileSync(new URL('../fixtures/captures/chromium-nginx-resume.pcap', import.meta.url))]).connections;
    const both = [...farm, ...nginx].map((c, i) => ({ ...structuredClone(c), id: i + 1, reason: null, reasonDetail: undefined, session: null }) as ConnectionRecord);
    const finding = diagnose(both).findings.find((f) => f.code === 'tls13-compatibility-id')!;
    expect(finding.title).toMatch(/^\d+ connections to 2 servers carried/);
    expect(finding.detail).toMatch(/Enabling TLS 1\.3 on these servers \(.*\) would make them TLS 1\.3 handshakes; www\.rollout\.test:443 answers other connections with TLS 1\.3 already: some of its servers do not speak it\.$/);
  });

  it('TLS 1.3 PSK: idle timeout inferred from PSK offers', () => {
    const { comparison, server, truth } = run('tls13-psk');
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.95);
    expect(server.cachePolicy.idleTimeout.seconds).toBe(truth.services[0]!.policy.idleTimeout);
  });

  it('behind a PROXY-protocol balancer (captured at the backends): one TLS stack\'s clients told apart by the header', () => {
    const { comparison, server, truth, connections, diagnosis } = run('proxy-protocol');
    // On the wire every connection comes from the balancer.
    const wireClients = new Set(connections.map((c) => c.client.ip));
    const clients = new Set(truth.connections.map((c) => c.clientIp));
    expect(wireClients.size).toBe(1);
    expect(clients.has([...wireClients][0]!)).toBe(false);
    expect(comparison.unmatched).toBe(0);
    expect(comparison.outcomeAgreement).toBe(1);
    expect(comparison.reasonAgreement).toBeGreaterThanOrEqual(0.95);
    expect(comparison.confusion['client-forgot']?.['client-forgot'] ?? 0).toBeGreaterThanOrEqual(5);
    expect(server.cachePolicy.idleTimeout.seconds).toBe(600);
    expect(diagnosis.clients.clients).toBe(clients.size);
    // Each TLS 1.3 resumption is linked to a session of its own client (by the balancer's address
    // alone, each identity's first offer would be taken for the latest session of any client).
    const byId = new Map(connections.map((c) => [c.id, c]));
    let linked = 0;
    for (const c of connections) {
      const session = c.session as { role: string; issuedBy: number | null } | null;
      if (!c.resumed || session?.issuedBy == null) continue;
      expect(byId.get(session.issuedBy)!.proxiedClient!.ip).toBe(c.proxiedClient!.ip);
      linked++;
    }
    expect(linked).toBeGreaterThan(100);
  });

  it('mixed farm: each service gets its own problem', () => {
    const { comparison, servers } = run('mixed');
    expect(comparison.outcomeAgreement).toBe(1);
    const by = (sni: string) => servers.find((s) => s.sni === sni)!.cachePolicy;
    expect(by('shop.mixed.test').idleTimeout.seconds).toBe(300);
    expect(by('api.mixed.test').sharedCache.shared).toBe(false);
    expect(by('login.mixed.test').purgeOnAbort.detected).toBe(true);
    expect(by('cdn.mixed.test').flushes.length).toBeGreaterThan(0);
    // A client's fingerprint must not change when it offers a PSK: forgetful TLS 1.3 clients are found.
    expect(comparison.confusion['client-forgot']?.['client-forgot'] ?? 0).toBeGreaterThanOrEqual(5);
    // Sessions issued before the capture cannot all be explained: most reasons still agree. Those
    // refused after a flush, or sealed under a ticket key the service no longer uses, are told
    // (the cdn's key rotated five seconds before the capture began; tickets unknown to the farm):
    // every flush, rotation and unknown key agrees.
    expect(comparison.confusion.flush?.['issued-before-capture'] ?? 0).toBe(0);
    expect(comparison.confusion.flush?.flush).toBeGreaterThanOrEqual(28);
    expect(comparison.reasonAgreement).toBeGreaterThan(0.85);
  });
});

describe('diagnosis progress', () => {
  it('reports its steps in order (sessions, each group\'s policy, clients) and the same answer as without a listener', () => {
    const { connections, diagnosis } = run('mixed');
    const steps: DiagnosisProgress[] = [];
    const again = diagnose(connections, { onProgress: (p) => steps.push({ ...p }) });
    const groups = diagnosis.servers.length;
    expect(groups).toBeGreaterThan(2);
    expect(steps[0]).toEqual({ step: 'sessions tracked', done: connections.length, total: connections.length });
    expect(steps.slice(1, 1 + groups)).toEqual(Array.from({ length: groups }, (_, i) => ({ step: 'cache policy inferred', done: i + 1, total: groups })));
    expect(steps.slice(1 + groups).map((p) => p.step)).toEqual(['clients summarized']);
    // The share shown on progress bars only moves forward, within 0-1.
    const shares = [{ step: 'tracking sessions', done: 0, total: connections.length } as const, ...steps].map(diagnosisShare);
    shares.forEach((share, i) => {
      expect(share).toBeGreaterThanOrEqual(i === 0 ? 0 : shares[i - 1]!);
      expect(share).toBeLessThanOrEqual(1);
    });
    expect(JSON.parse(JSON.stringify(again))).toEqual(JSON.parse(JSON.stringify(diagnosis)));
  });
});

describe('several captures of the same hour (two taps, two hosts)', () => {
  it('memory follows the open connections, not all connections of the later files; nothing is lost', () => {
    const farms = [1, 2, 3].map((seed) => {
      const chunks: Uint8Array[] = [];
      simulateFarm(presetConfig('mixed', 1, seed), (chunk) => chunks.push(chunk.slice()));
      return chunks;
    });
    const alone = farms.map((chunks, i) => analyzeChunks(`tap${i}.pcap`, chunks).connections.length);
    let records = 0;
    const analysis = new Analysis(() => { records++; });
    const liveAfter: number[] = [];
    for (const [i, chunks] of farms.entries()) {
      const ingest = analysis.openFile(`tap${i}.pcap`);
      for (const chunk of chunks) ingest.push(chunk);
      ingest.finish();
      liveAfter.push(analysis.liveFlows);
    }
    analysis.finish();
    // Each file ends with a few connections still open; closed ones were finished file by file
    // (before the fix, every connection of the second and third files waited for the end).
    for (const live of liveAfter) expect(live).toBeLessThan(Math.min(...alone) / 10);
    expect(records).toBe(alone.reduce((a, b) => a + b, 0));
  });

  it('the same within one file: two captures appended (mergecap -a) restart the clock where time steps back', () => {
    const [first, second] = [4, 5].map((seed) => {
      const chunks: Uint8Array[] = [];
      simulateFarm(presetConfig('mixed', 1, seed), (chunk) => chunks.push(chunk.slice()));
      return concatBytes(chunks);
    });
    const alone = [first!, second!].map((bytes, i) => analyzeChunks(`part${i}.pcap`, [bytes]).connections.length);
    // The second capture's packet records after the first's (its 24-byte pcap header left out).
    const appended = concatBytes([first!, second!.subarray(24)]);
    let records = 0;
    let mostLive = 0;
    const analysis = new Analysis(() => { records++; });
    const ingest = analysis.openFile('appended.pcap');
    const step = 1 << 16;
    for (let at = 0; at < appended.length; at += step) {
      ingest.push(appended.subarray(at, at + step));
      if (at > first!.length) mostLive = Math.max(mostLive, analysis.liveFlows);
    }
    ingest.finish();
    analysis.finish();
    expect(mostLive).toBeLessThan(alone[1]! / 10);
    expect(records).toBe(alone[0]! + alone[1]!);
  });
});

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Drops the client's ChangeCipherSpec (abbreviated handshake) or ClientKeyExchange (full one)
 * segment of every `every`-th connection that sends one, from a little-endian Ethernet/IPv4 pcap.
 */
function dropClientSegments(pcap: Uint8Array, every: number): { bytes: Uint8Array; dropped: number } {
  // RFC 5246 §6.2.1: content type 20 is ChangeCipherSpec; 22 with handshake type 16 a ClientKeyExchange.
  return dropSegments(pcap, every, (toServer, payload) => toServer && (payload[0] === 20 || (payload[0] === 22 && payload[5] === 16)));
}

/** Drops every `every`-th TCP segment `matches` (its direction, its payload) from a little-endian Ethernet/IPv4 pcap. */
function dropSegments(pcap: Uint8Array, every: number, matches: (toServer: boolean, payload: Uint8Array) => boolean): { bytes: Uint8Array; dropped: number } {
  const view = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  const kept: Uint8Array[] = [pcap.subarray(0, 24)];
  let seen = 0;
  let dropped = 0;
  for (let at = 24; at + 16 <= pcap.length;) {
    const length = view.getUint32(at + 8, true);
    const frame = pcap.subarray(at + 16, at + 16 + length);
    const ip = 14;
    const tcp = ip + (frame[ip]! & 0x0f) * 4;
    const payload = tcp + (frame[tcp + 12]! >> 4) * 4;
    const toServer = ((frame[tcp + 2]! << 8) | frame[tcp + 3]!) === 443;
    if (payload < frame.length && matches(toServer, frame.subarray(payload)) && ++seen % every === 0) dropped++;
    else kept.push(pcap.subarray(at, at + 16 + length));
    at += 16 + length;
  }
  return { bytes: concatBytes(kept), dropped };
}

const PSK_CACHE_AND_IDLE = {
  seed: 1, duration: 3600,
  services: [{ sni: 'www.pci.test', resumption: 'psk' as const, policy: { idleTimeout: 300, lifetime: 7200, capacity: 60, purgeOnAbort: false } }],
  clients: { count: 100, meanGap: 150, minGap: 5, longGapShare: 0.3, longGap: [200, 900] as [number, number], firstConnectionSpread: 300, stacks: ['modern-a' as const, 'modern-b' as const] },
};

/**
 * Backends without a shared cache behind a VIP, balanced at random, with no limit at all: the
 * balancer's refusals must make no idle timeout, lifetime or cache size, and be its own.
 */
function balancerWithoutLimit(seed: number, duration: number, backends: number, clients: NonNullable<FarmConfigInput['clients']>) {
  const farm = simulateConfigAndAnalyze({ seed, duration, clients,
    services: [{ sni: 'www.nolimit.test', backends, captureAt: 'vip', balancing: 'random', sharedCache: false, policy: { idleTimeout: null, lifetime: null, capacity: null, purgeOnAbort: false } }] });
  const server = farm.diagnosis.servers[0]!;
  expect([server.cachePolicy.idleTimeout.seconds, server.cachePolicy.lifetime.seconds, server.cachePolicy.capacity.entries]).toEqual([null, null, null]);
  expect(server.reasons).toEqual({ 'other-backend': farm.truth.totals.byReason['other-backend'] });
  return farm;
}

/** Sweep farm 3:15: three backends behind one address, each with ticket keys of its own, replaced every 5 minutes. */
function threeBackendsRotatingOwnKeys() {
  return simulateConfigAndAnalyze({ seed: 16, duration: 3600,
    clients: { count: 200, meanGap: 150, minGap: 2, longGapShare: 0.4, longGap: [200, 2000], abortShare: 0, forgetShare: 0, firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b', 'legacy'] },
    services: [{ sni: 'www.sweep.test', resumption: 'ticket', backends: 3, captureAt: 'vip', balancing: 'round-robin', sharedCache: false,
      policy: { idleTimeout: 1800, lifetime: 36000, capacity: 1000, purgeOnAbort: true }, ticketKeyRotation: 300, ticketKeyRotationSkew: 0 }] });
}

/**
 * An hour of a ticket farm whose keys are replaced every 5 minutes (tickets otherwise kept 2 hours):
 * its group and the rotation found, asked to be every 5 minutes.
 */
function fiveMinuteRotation(service: ServiceConfigInput, clients: NonNullable<FarmConfigInput['clients']> = { count: 60, meanGap: 90, minGap: 2, longGapShare: 0, stacks: ['modern-a', 'modern-b'] }) {
  const farm = simulateConfigAndAnalyze({ seed: 1, duration: 3600, clients,
    services: [{ sni: 'www.rotation.test', resumption: 'ticket', ticketKeyRotation: 300, ticketLifetimeHint: 7200, policy: { idleTimeout: null, lifetime: 7200, capacity: null, purgeOnAbort: false }, ...service }] });
  const server = farm.diagnosis.servers[0]!;
  const rotation = server.cachePolicy.tickets.rotation!;
  expect(rotation.every).toBeGreaterThan(290);
  expect(rotation.every).toBeLessThan(310);
  return { farm, server, rotation };
}
