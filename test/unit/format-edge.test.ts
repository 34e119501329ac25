// The reuse-gap charts' bin edges (app/renderer/src/data/format.ts formatEdge): each edge's label
// says its value at the bins' resolution, so no two edges read alike and a limit line, drawn at
// its edge's label, lands on its own bar.
import { describe, expect, it } from 'vitest';
import { formatDuration, formatEdge } from '../../app/renderer/src/data/format.js';
import { binStartingAt, histogram, Samples } from '../../parser/report/report-model.js';

describe('bin edges as durations', () => {
  it('say the fraction where the bins are finer than formatDuration rounds to', () => {
    // Real HAProxy with a 10 s lifetime: bars of 500 ms had read "10s, 11s, 11s, 12s, 12s".
    expect([10, 10.5, 11, 11.5, 12].map((x) => formatEdge(x, 0.5))).toEqual(['10s', '10.5s', '11s', '11.5s', '12s']);
    expect(formatEdge(62.5, 2.5)).toBe('1m02.5s');
    expect(formatEdge(3630, 30)).toBe('1h00m30s');
    expect(formatEdge(1.25, 0.25)).toBe('1.25s');
    expect(formatEdge(0.0125, 0.0025)).toBe('12.5ms');
  });

  it('are formatDuration\'s text where the bins are no finer than it', () => {
    expect(formatEdge(0, 0.5)).toBe('0');
    expect(formatEdge(9.5, 0.5)).toBe(formatDuration(9.5));
    expect(formatEdge(300, 30)).toBe('5m00s');
    expect(formatEdge(7200, 600)).toBe('2h00m');
    expect(formatEdge(0.25, 0.05)).toBe('250ms');
  });

  it('never read alike on one axis (60 bins of any width from a millisecond to an hour)', () => {
    for (const width of [0.001, 0.0025, 0.01, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 15, 30, 45, 60, 90, 120, 150, 300, 600, 900, 1800, 3600]) {
      const labels = Array.from({ length: 60 }, (_, k) => formatEdge(k * width, width));
      expect(new Set(labels).size, `bins of ${width} s: ${labels.join(' ')}`).toBe(labels.length);
    }
  });
});

describe('a limit on a bin edge (parser/report/report-model.ts)', () => {
  /** A chart of accepted offers up to `top` and refused ones past `limit`, with the limit's line. */
  function chartOf(limit: number, top: number) {
    const samples = new Samples();
    for (let x = 0; x <= top; x += top / 400) samples.push(x, x < limit);
    return histogram('reuseGap', samples, [{ value: limit, label: `inferred idle timeout ${limit}`, group: 'g', confidence: 1 }]);
  }

  it('puts fractional limits on an edge and finds the bar the line is drawn at', () => {
    // 1.2 % 0.1 is 0.0999… in floating point: the limit stayed off the edges and its line undrawn.
    for (const limit of [0.3, 1.2, 7.4, 2.35, 12.5, 0.015]) {
      const chart = chartOf(limit, limit * 1.5);
      const bar = binStartingAt(chart, limit);
      expect(bar, `limit ${limit}: bars of ${chart.binWidth}`).toBeGreaterThan(0);
      expect(chart.bins[bar]!.start).toBe(limit);
      // A clean step at the line: accepted left of it, refused from it on.
      expect(chart.bins.slice(0, bar).every((b) => b.rejected === 0)).toBe(true);
      expect(chart.bins.slice(bar).every((b) => b.accepted === 0)).toBe(true);
    }
  });

  it('writes edges to the microsecond, not 0.30000000000000004', () => {
    const chart = chartOf(1.2, 2);
    for (const b of chart.bins) expect(String(b.start)).toMatch(/^\d+(\.\d{1,6})?$/);
  });
});
