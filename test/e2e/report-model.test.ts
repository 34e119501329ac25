// The shared view model (parser/report/report-model.ts): totals equal the JSON, the connection list
// is capped with failures kept first, and an inferred limit lies on a histogram bin edge.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReportModel } from '../../parser/report/report-model.js';
import type { Diagnosis } from '../../parser/diagnose/diagnose.js';
import type { AnalysisDocument, ConnectionRecord } from '../../parser/report/types.js';
import { CLI, simulate, tempDir } from './support.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

describe('report model', () => {
  it('caps the connection list (failures first), keeps totals and puts the idle timeout on a bin edge', async () => {
    const dir = tempDir('model');
    try {
      const capture = join(dir.path, 'idle.pcap');
      await simulate(capture, ['--preset', 'idle-timeout', '--quiet']);
      execFileSync('node', [CLI, 'analyze', capture, '--json', join(dir.path, 'idle.json'), '-q']);
      const doc = JSON.parse(readFileSync(join(dir.path, 'idle.json'), 'utf8')) as AnalysisDocument & Diagnosis;
      const failed = (c: ConnectionRecord) => c.resumption === 'rejected' || c.handshake === 'aborted';
      const model = buildReportModel({
        tool: doc.tool, captures: doc.captures, connections: doc.connections, diagnosis: doc, files: [], analysedAt: '2026-01-01T00:00:00Z', connectionCap: 150,
      });
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
    } finally {
      dir.remove();
    }
  }, 30_000);
});
