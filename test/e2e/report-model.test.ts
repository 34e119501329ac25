// The shared view model (parser/report/report-model.ts): totals equal the JSON, the connection list
// is capped with failures kept first, and an inferred limit lies on a histogram bin edge.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReportModel } from '../../parser/report/report-model.js';
import { EMPTY_FILTER, matchesFilter } from '../../app/renderer/src/data/connection-query.js';
import type { Diagnosis } from '../../parser/diagnose/types.js';
import type { AnalysisDocument, ConnectionRecord } from '../../parser/report/types.js';
import { CLI, ROOT, simulate, tempDir } from './support.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A simulated farm analysed by the CLI (its --json document) and the report model built from it. */
async function modelOf(preset: string, connectionCap: number): Promise<{ doc: AnalysisDocument & Diagnosis; model: ReturnType<typeof buildReportModel> }> {
  const dir = tempDir(`model-${preset}`);
  try {
    const capture = join(dir.path, `${preset}.pcap`);
    await simulate(capture, ['--preset', preset, '--quiet']);
    execFileSync('node', [CLI, 'analyze', capture, '--json', join(dir.path, `${preset}.json`), '-q']);
    const doc = JSON.parse(readFileSync(join(dir.path, `${preset}.json`), 'utf8')) as AnalysisDocument & Diagnosis;
    const model = buildReportModel({
      tool: doc.tool, captures: doc.captures, connections: doc.connections, diagnosis: doc, files: [], analysedAt: '2026-01-01T00:00:00Z', connectionCap,
    });
    return { doc, model };
  } finally {
    dir.remove();
  }
}

/** The report model of a bundled real capture, through the CLI's JSON. */
function modelOfCapture(name: string) {
  const dir = tempDir(`model-${name}`);
  try {
    const out = join(dir.path, 'doc.json');
    execFileSync('node', [CLI, 'analyze', join(ROOT, 'fixtures', 'captures', name), '--json', out, '-q']);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as AnalysisDocument & Diagnosis;
    return { doc, model: buildReportModel({ tool: doc.tool, captures: doc.captures, connections: doc.connections, diagnosis: doc, files: [], analysedAt: '2026-01-01T00:00:00Z', connectionCap: 100 }) };
  } finally {
    dir.remove();
  }
}

describe('report model', () => {
  it('a capped list keeps every connection whose client forgot its session, as it keeps refusals and aborts', async () => {
    // 623 connections, 88 of them forgetting, none rejected: a cap of 200 keeps the 88 first.
    const { doc, model } = await modelOf('client-forgets', 200);
    const forgot = doc.connections.filter((c) => c.reason === 'client-forgot').map((c) => c.id);
    expect(forgot.length).toBeGreaterThan(50);
    expect(doc.connections.length).toBeGreaterThan(400);
    const kept = new Set(model.connections.rows.map((c) => c.id));
    expect(model.connections.rows).toHaveLength(200);
    expect(forgot.filter((id) => !kept.has(id))).toEqual([]);
    expect(model.connections.selection).toBe('every rejected and aborted connection and every client that forgot its session, then the others in time order');
  }, 30_000);

  it('the churn chart counts newer sessions: a FIFO cache of 9 is the edge at 9, accepted left of it, evicted from it on', () => {
    // Real nginx, ssl_session_cache of one 4 KiB page (fixtures/captures/PROVENANCE.md).
    const { doc, model } = modelOfCapture('nginx-fifo-cache.pcap');
    const churn = model.histograms.find((h) => h.group !== '')!.churn;
    expect(churn.binWidth).toBe(1);
    const size = doc.servers[0]!.cachePolicy.capacity.entries!;
    expect(churn.references.map((r) => r.value)).toEqual([size]);
    const edge = churn.bins.findIndex((b) => b.start === size);
    expect(churn.bins.slice(0, edge).every((b) => b.rejected === 0)).toBe(true);
    expect(churn.bins.slice(edge).every((b) => b.accepted === 0)).toBe(true);
    expect(churn.bins[edge - 1]!.accepted).toBeGreaterThan(0);
    expect(churn.bins[edge]!.rejected).toBeGreaterThan(0);
    // An offer right after its issue, no newer session: the first bar.
    const timeout = modelOfCapture('nginx-session-timeout.pcap').model.histograms.find((h) => h.group !== '')!.churn;
    expect(timeout.bins[0]!.accepted + timeout.bins[0]!.rejected).toBe(timeout.samples);
  });

  it('an LRU cache\'s size is drawn on the chart of sessions used since, where its edge is clean, not on the churn chart', () => {
    // Real Java (SunJSSE) with a cache of ten (fixtures/captures/PROVENANCE.md): a session resumed
    // often outlives more than ten newer ones, so on the churn chart accepted offers stood right of
    // the "inferred capacity 10" line.
    const { doc, model } = modelOfCapture('java-lru-cache.pcap');
    const set = model.histograms.find((h) => h.group !== '')!;
    const capacity = doc.servers[0]!.cachePolicy.capacity;
    expect(capacity).toMatchObject({ entries: 10, eviction: 'lru' });
    expect(set.churn.references).toEqual([]);
    expect(set.churn.bins.some((b) => b.start >= 10 && b.accepted > 0)).toBe(true);
    const usedSince = set.usedSince;
    expect(usedSince.references.map((r) => r.value)).toEqual([10]);
    const edge = usedSince.bins.findIndex((b) => b.start === 10);
    expect(usedSince.bins.slice(0, edge).every((b) => b.rejected === 0)).toBe(true);
    expect(usedSince.bins.slice(edge).every((b) => b.accepted === 0)).toBe(true);
    expect(usedSince.bins.slice(edge).some((b) => b.rejected > 0)).toBe(true);
    // Each offer's usedSince in the JSON is what the chart places.
    const offers = doc.connections.filter((c) => (c.resumption === 'accepted' || c.resumption === 'rejected') && (c.session as { usedSince?: number | null } | null)?.usedSince != null);
    expect(offers.length).toBe(usedSince.samples);
  });

  it('leaves the TLS 1.3 random session IDs out of the resumption rate, and counts them', () => {
    // Real Chromium against a TLS 1.2 nginx (fixtures/captures/chromium-nginx-new-visitor.pcap).
    const dir = tempDir('model-visitor');
    try {
      const out = join(dir.path, 'visitor.json');
      execFileSync('node', [CLI, 'analyze', join(ROOT, 'fixtures', 'captures', 'chromium-nginx-new-visitor.pcap'), '--json', out, '-q']);
      const doc = JSON.parse(readFileSync(out, 'utf8')) as AnalysisDocument & Diagnosis;
      const model = buildReportModel({ tool: doc.tool, captures: doc.captures, connections: doc.connections, diagnosis: doc, files: [], analysedAt: '2026-01-01T00:00:00Z', connectionCap: 100 });
      expect(model.overview.totals).toMatchObject({ offers: 9, accepted: 3, rejected: 6 });
      expect(model.overview.compatibilityIds).toBe(2);
      expect(model.overview.resumptionRate).toBeCloseTo(3 / 7, 12);
      // A document from before the count (no tls13CompatibilityIds): the rate of all answered offers.
      const older = { ...doc, servers: doc.servers.map(({ tls13CompatibilityIds: _, ...rest }) => rest) } as unknown as Diagnosis;
      const olderModel = buildReportModel({ tool: doc.tool, captures: doc.captures, connections: doc.connections, diagnosis: older, files: [], analysedAt: '2026-01-01T00:00:00Z', connectionCap: 100 });
      expect(olderModel.overview.compatibilityIds).toBe(0);
      expect(olderModel.overview.resumptionRate).toBeCloseTo(3 / 9, 12);
    } finally {
      dir.remove();
    }
  });

  it('caps the connection list (failures first), keeps totals and puts the idle timeout on a bin edge', async () => {
    const { doc, model } = await modelOf('idle-timeout', 150);
    const failed = (c: ConnectionRecord) => c.resumption === 'rejected' || c.handshake === 'aborted';
    expect(model.overview.totals.connections).toBe(doc.connections.length);
    expect(model.connections.total).toBe(doc.connections.length);
    expect(model.connections.rows).toHaveLength(150);
    const failures = doc.connections.filter(failed).length;
    expect(model.connections.rows.filter(failed)).toHaveLength(Math.min(150, failures));
    const rows = model.connections.rows.map((c) => c.startTime);
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
    const reuse = model.histograms.find((h) => h.group === 'www.idle.test:443')!.reuseGap;
    const line = reuse.references[0]!;
    expect(line.value).toBe(300);
    const edge = reuse.bins.findIndex((b) => b.start === 300);
    expect(edge).toBeGreaterThan(0);
    // The cliff: nothing rejected left of the line, nothing accepted right of it.
    expect(reuse.bins.slice(0, edge).every((b) => b.rejected === 0)).toBe(true);
    expect(reuse.bins.slice(edge).every((b) => b.accepted === 0)).toBe(true);
    const timelineTotal = model.timeline.buckets.reduce((s, b) => s + b.full + b.resumed + b.rejected + b.aborted + b.incomplete, 0);
    expect(timelineTotal).toBe(doc.connections.length);
  }, 30_000);

  it('ranks the clients table as a plain per-address count does, with the sequences of the first clients', async () => {
    const { doc, model } = await modelOf('mixed', 0);
    // Reference: an object per address, as obvious as it gets.
    const byIp = new Map<string, { ip: string; connections: number; offers: number; accepted: number; rejected: number; aborted: number; servers: Set<string>; crossServerOffers: number; list: ConnectionRecord[] }>();
    for (const c of doc.connections) {
      const e = byIp.get(c.client.ip) ?? { ip: c.client.ip, connections: 0, offers: 0, accepted: 0, rejected: 0, aborted: 0, servers: new Set<string>(), crossServerOffers: 0, list: [] };
      byIp.set(c.client.ip, e);
      e.connections++;
      if (c.resumption !== 'not-offered') e.offers++;
      if (c.resumption === 'accepted') e.accepted++;
      if (c.resumption === 'rejected') e.rejected++;
      if (c.handshake === 'aborted') e.aborted++;
      const session = c.session as { role?: string; crossAddress?: boolean } | null;
      if (session?.role === 'offer' && session.crossAddress) e.crossServerOffers++;
      e.servers.add(`${c.server.ip}:${c.server.port}`);
      e.list.push(c);
    }
    const expected = [...byIp.values()].sort((a, b) => b.rejected - a.rejected || b.crossServerOffers - a.crossServerOffers || b.connections - a.connections || (a.ip < b.ip ? -1 : 1));
    expect(byIp.size).toBeGreaterThan(20);
    expect(expected.some((e) => e.crossServerOffers > 0 && e.servers.size > 1)).toBe(true);
    expect(model.clients).toEqual(expected.slice(0, 1000).map(({ servers, list: _list, ...row }) => ({ ...row, servers: servers.size })));
    const sequences = Object.keys(model.clientSequences);
    expect(sequences).toEqual(expected.slice(0, 100).map((e) => e.ip));
    for (const e of expected.slice(0, 100)) expect(model.clientSequences[e.ip]).toHaveLength(e.list.length);
  }, 60_000);
});

describe("a chart bar's click lists exactly the offers the bar counts", () => {
  // Groups keyed by address (HAProxy's health checks carry no SNI) beside ones keyed by SNI on the
  // same address: the address's filter took the SNI group's offers too (a bar of 1 listed 3).
  for (const source of ['haproxy-proxy-protocol-checks.pcap', 'nginx-cache-capacity.pcap', 'nginx-two-addresses-own-caches.pcap']) {
    it(source, () => {
      const { doc, model } = modelOfCapture(source);
      let bars = 0;
      for (const set of model.histograms) {
        for (const histogram of [set.reuseGap, set.age, set.churn]) {
          histogram.bins.forEach((bin, index) => {
            const filter = { ...EMPTY_FILTER, server: set.group, offers: { metric: histogram.metric, binWidth: histogram.binWidth, bin: index, binCount: histogram.bins.length, text: '' } };
            const listed = doc.connections.filter((c) => matchesFilter(c, filter, null));
            expect(listed.filter((c) => c.resumption === 'accepted').length, `${set.group || 'all'} ${histogram.metric} bar ${index}`).toBe(bin.accepted);
            expect(listed.filter((c) => c.resumption === 'rejected').length, `${set.group || 'all'} ${histogram.metric} bar ${index}`).toBe(bin.rejected);
            expect(listed.length).toBe(bin.accepted + bin.rejected);
            bars++;
          });
        }
      }
      expect(bars).toBeGreaterThan(3);
    });
  }
});

describe('report model on a real browser capture (Chromium, TLS 1.3, a page of six images)', () => {
  const capture = join(import.meta.dirname, '..', '..', 'fixtures', 'captures', 'chromium-nginx-parallel-rtt.pcap');

  it('bars under a second for a capture under a second, and a TLS 1.3 legacy session ID is no offer and no session', async () => {
    const dir = tempDir('model-chromium');
    try {
      const json = join(dir.path, 'chromium.json');
      execFileSync('node', [CLI, 'analyze', capture, '--json', json, '-q']);
      const doc = JSON.parse(readFileSync(json, 'utf8')) as AnalysisDocument & Diagnosis;
      const model = buildReportModel({ tool: doc.tool, captures: doc.captures, connections: doc.connections, diagnosis: doc, files: [], analysedAt: '2026-01-01T00:00:00Z', connectionCap: 100 });
      // 0.62 s of capture: 10 ms bars (one per second put all eight handshakes in one bar).
      expect(model.timeline.bucketSeconds).toBe(0.01);
      const counted = model.timeline.buckets.reduce((sum, b) => sum + b.resumed + b.rejected + b.full + b.aborted + b.incomplete, 0);
      expect(counted).toBe(8);
      const steps = model.clientSequences['127.0.0.1']!;
      expect(steps.map((s) => s.offeredKind)).toEqual([null, 'psk', 'psk', 'psk', null, null, null, null]);
      for (const s of steps.filter((step) => step.outcome === 'full')) {
        expect(s.offered).toBeNull(); // Chromium's 32 random bytes (RFC 8446 §4.1.2) were shown as an offered session ID
        expect(s.session).toBeNull(); // and nginx's echo of them as the session after
      }
    } finally {
      dir.remove();
    }
  });
});
