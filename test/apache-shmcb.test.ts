import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { diagnose } from '../parser/diagnose/diagnose.js';
import type { ServerSummary } from '../parser/diagnose/types.js';
import type { ConnectionRecord } from '../parser/report/types.js';
import { analyzeChunks } from './support/pipeline.js';
import { sessionIdOutcomeLetter as letter, tsharkSessionIdOutcomes } from './support/tshark.js';
import { crosscheckFile } from './tools/crosscheck.js';

// Real Apache httpd 2.4 (mod_ssl) with an 8 KB shmcb session cache, 400 connections of returning
// visitors (fixtures/captures-large/README.md). shmcb splits its cache by session ID into parts,
// each evicting its own oldest, so sessions go by churn with no sharp edge. Before, the FIFO fit
// took the upper edge and left the band's refusals "unexplained"; with a bigger cache and more
// connections a moment crossed by many old sessions was also taken for a flush.

const PATH = fileURLToPath(new URL('../fixtures/captures-large/apache-shmcb-cache.pcap.gz', import.meta.url));

function analyzeApache() {
  const result = analyzeChunks('apache-shmcb-cache.pcap', [gunzipSync(readFileSync(PATH))]);
  return { ...result, server: (result.document.servers as ServerSummary[])[0]! };
}

describe('Apache httpd with a shmcb session cache too small (real capture)', () => {
  it('every connection\'s outcome is tshark\'s, and every field tshark also reports agrees', async () => {
    const { connections } = analyzeApache();
    const want = tsharkSessionIdOutcomes(PATH, 44363);
    expect(want).toHaveLength(400);
    expect(connections.map(letter).join('')).toBe(want);
    const check = await crosscheckFile(PATH);
    expect(check.compared).toBe(400);
    expect(check.disagreements).toEqual([]);
  });

  it('finds a cache evicting in parts: sessions go between two churns, every refusal is the cache size\'s, no flush', () => {
    const { server, connections, diagnosis } = analyzeApache();
    const capacity = server.cachePolicy.capacity;
    expect(capacity.eviction).toBe('partitioned');
    // No refusal below 22 newer sessions (churn), none accepted from 60 on; in between both.
    const offers = connections.filter((c) => c.resumption === 'accepted' || c.resumption === 'rejected');
    const churn = (c: ConnectionRecord) => (c.session as { churn: number }).churn;
    const refusedChurns = offers.filter((c) => c.resumption === 'rejected').map(churn);
    const acceptedChurns = offers.filter((c) => c.resumption === 'accepted').map(churn);
    expect(capacity.low).toBe(Math.min(...refusedChurns) - 1);
    expect(capacity.high).toBe(Math.max(...acceptedChurns) + 1);
    expect(capacity.entries!).toBeGreaterThan(capacity.low!);
    expect(capacity.entries!).toBeLessThan(capacity.high!);
    // Ever more refused as churn grows: the band's upper half refuses more than its lower half.
    const band = offers.filter((c) => churn(c) > capacity.low! && churn(c) < capacity.high!).sort((a, b) => churn(a) - churn(b));
    const refusedShare = (list: ConnectionRecord[]) => list.filter((c) => c.resumption === 'rejected').length / list.length;
    expect(refusedShare(band.slice(band.length / 2))).toBeGreaterThan(refusedShare(band.slice(0, band.length / 2)) + 0.2);
    expect(server.reasons).toEqual({ capacity: 108 });
    expect(server.cachePolicy.flushes).toEqual([]);
    expect(server.cachePolicy.lifetime.seconds).toBeNull();
    expect(server.cachePolicy.idleTimeout.seconds).toBeNull();
    const finding = diagnosis.findings.find((f) => f.code === 'capacity')!;
    expect(finding.severity).toBe('critical');
    expect(finding.detail).toContain(`Sessions went anywhere from ${capacity.low} to ${capacity.high! - 1} newer ones on`);
    expect(finding.detail).toContain('SSLSessionCache');
    expect(diagnosis.findings.map((f) => f.code)).toEqual(['capacity']);
  });

  it('OpenSSL\'s own FIFO cache (nginx builtin:10) keeps its sharp edge', () => {
    const bytes = readFileSync(fileURLToPath(new URL('../fixtures/captures/nginx-fifo-cache.pcap', import.meta.url)));
    const server = (analyzeChunks('nginx-fifo-cache.pcap', [bytes]).document.servers as ServerSummary[])[0]!;
    expect(server.cachePolicy.capacity.eviction).toBe('fifo');
  });

  it('any first part of it from 160 connections on: the same cache in parts, never a flush, a lifetime or "unexplained"', () => {
    // Before, the first 250 connections got a 3 s lifetime and 22 "unexplained" refusals.
    const { connections, server } = analyzeApache();
    for (const n of [160, 200, 250, 300, 350]) {
      const first = connections.slice(0, n).map((c) => ({ ...c, reason: null, session: null }));
      const part = diagnose(first).servers[0]!;
      expect(part.cachePolicy.capacity.eviction, `first ${n}`).toBe('partitioned');
      expect(part.cachePolicy.capacity.entries, `first ${n}`).toBe(server.cachePolicy.capacity.entries);
      expect(Object.keys(part.reasons), `first ${n}`).toEqual(['capacity']);
      expect(part.cachePolicy.flushes, `first ${n}`).toEqual([]);
    }
  });
});
