// The charts' axis labels (app/renderer/src/data/format.ts): the reuse-gap charts' bin edges and the
// timeline's bars each say their value at the bars' resolution, so no two read alike and a line
// (a limit, a flush), drawn at its bar's label, lands on its own bar.
import { describe, expect, it } from 'vitest';
import { clockLabels, formatDuration, formatEdge } from '../../app/renderer/src/data/format.js';
import { binStartingAt, histogram, histogramBinOf, Samples } from '../../parser/report/report-model.js';

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

  it('counts a value on an edge in the bar that starts there (0.3 / 0.1 is 2.9999999999999996)', () => {
    expect([0.3, 0.7, 1.2].map((x) => histogramBinOf(x, 0.1, 100))).toEqual([3, 7, 12]);
    expect(histogramBinOf(0.6, 0.2, 100)).toBe(3);
    expect(histogramBinOf(0.299999, 0.1, 100)).toBe(2);
    expect(histogramBinOf(1e6, 0.1, 1e8)).toBe(1e7);
  });

  it('writes edges to the microsecond, not 0.30000000000000004', () => {
    const chart = chartOf(1.2, 2);
    for (const b of chart.bins) expect(String(b.start)).toMatch(/^\d+(\.\d{1,6})?$/);
  });
});

describe('the timeline\'s bar labels', () => {
  const start = Date.UTC(2026, 10, 28, 6, 0, 0) / 1000;
  it('carry the date where the bars run over more than one day', () => {
    // Two days in bars of an hour had read "13:00" twice, and a flush line drawn there was lost.
    const hours = Array.from({ length: 48 }, (_, k) => start + 3600 * k);
    const labels = clockLabels(hours, 3600);
    expect(labels[0]).toBe('11-28 06:00');
    expect(labels[24]).toBe('11-29 06:00');
    expect(new Set(labels).size).toBe(labels.length);
    // Bars of 30 s across midnight keep their seconds.
    const halfMinutes = Array.from({ length: 120 }, (_, k) => Date.UTC(2026, 10, 28, 23, 30, 0) / 1000 + 30 * k);
    const short = clockLabels(halfMinutes, 30);
    expect(short[0]).toBe('11-28 23:30:00');
    expect(new Set(short).size).toBe(short.length);
  });

  it('are the time alone within one day', () => {
    expect(clockLabels([start, start + 60, start + 120], 60)).toEqual(['06:00', '06:01', '06:02']);
    expect(clockLabels([start, start + 0.5], 0.5)).toEqual(['06:00:00.000', '06:00:00.500']);
    expect(clockLabels([start, start + 86400], 86400)).toEqual(['2026-11-28', '2026-11-29']);
  });
});
