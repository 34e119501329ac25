import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chanceOfAtLeast, estimateLimit, estimateLimitOf, type Sample } from '../../parser/diagnose/threshold.js';
import { binomialTail } from '../../parser/diagnose/statistics.js';

// A cache limit is bracketed by the largest value still accepted (low) and the smallest refused
// (high); `seconds` is the one value shown. It must lie inside the bracket: real nginx, accepted
// after 1.17 s and refused after 1.20 s idle, was told "1.0s" (the middle rounded to whole seconds).

/** Accepted at each of `accepted`, refused at each of `rejected`. */
function samples(accepted: number[], rejected: number[]): Sample[] {
  return [...accepted.map((x) => ({ x, accepted: true })), ...rejected.map((x) => ({ x, accepted: false }))];
}

describe('estimateLimit', () => {
  it('picks a common setting inside the bracket when one fits', () => {
    const e = estimateLimit(samples([100, 200, 250], [350, 400, 500]));
    expect([e.low, e.high, e.seconds]).toEqual([250, 350, 300]);
  });

  it('rounds to whole seconds when a whole second fits', () => {
    const e = estimateLimit(samples([1.15, 1.2], [3.1, 3.2, 3.3]));
    expect(e.seconds).toBe(2);
  });

  it('a bracket narrower than a second between two whole seconds: the roundest value inside it', () => {
    // chromium-nginx-new-visitor.pcap: accepted after 1.153, 1.163 and 1.174 s; refused after 1.199 s and ~3.2 s.
    const e = estimateLimit(samples([1.152562, 1.163213, 1.174077], [1.199275, 3.158996, 3.189125, 3.204783]));
    expect(e.low).toBe(1.174077);
    expect(e.high).toBe(1.199275);
    expect(e.seconds).toBe(1.19);
    expect(estimateLimit(samples([0.41, 0.42], [0.48, 0.9, 0.95])).seconds).toBe(0.45); // no tenth fits
    expect(estimateLimit(samples([0.0012], [0.0013, 0.002, 0.003])).seconds).toBeCloseTo(0.00125, 12); // none: the middle
  });

  it('a few acceptances just past the edge (a whole-second clock) are exceptions; spread far past it they are no limit', () => {
    const below = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 3.9, 1.2, 2.2];
    const refused = Array.from({ length: 20 }, (_, i) => 4.2 + i * 30);
    // Accepted once at 4.6 s past a 4 s limit: still the limit, at lower confidence.
    const coarse = estimateLimit(samples([...below, 4.6], refused));
    expect(coarse.seconds).not.toBeNull();
    expect(coarse.exceptions).toBe(1);
    // More acceptances far past it than below it: a steady accept rate, not a 4 s limit.
    const few = [0.5, 1, 1.5];
    const spread = estimateLimit(samples([...few, 125, 240, 540, 800], refused));
    expect(spread.seconds).toBeNull();
    // Fewer far ones than below (a few tickets fitted with a cache's session IDs): still the limit.
    expect(estimateLimit(samples([...below, 125, 540], refused)).seconds).not.toBeNull();
  });

  it('refusals above the edge no more than the rate below it gives by chance make no limit', () => {
    // Half refused below (two backends without a shared cache), the last six refused: 1 in 64.
    const accepted = Array.from({ length: 40 }, (_, i) => 10 + i * 20);
    const refusedBelow = Array.from({ length: 40 }, (_, i) => 15 + i * 20);
    expect(estimateLimit(samples(accepted, [...refusedBelow, 900, 950, 1000, 1100, 1200, 1300])).seconds).toBeNull();
    // Few refused below: the same six above are a limit.
    expect(estimateLimit(samples(accepted, [...refusedBelow.slice(0, 2), 900, 950, 1000, 1100, 1200, 1300])).seconds).not.toBeNull();
  });

  it('a fit that only rules a limit out, or a rate from fewer than five refusals, asks no chance', () => {
    const accepted = Array.from({ length: 40 }, (_, i) => 10 + i * 20);
    const refusedBelow = Array.from({ length: 40 }, (_, i) => 15 + i * 20);
    const above = [900, 950, 1000, 1100, 1200, 1300];
    expect(estimateLimitOf(Float64Array.from(accepted), Float64Array.from([...refusedBelow, ...above]), undefined, { rulingOut: true }).seconds).not.toBeNull();
    // 19 offers of a short capture: 2 refused below a true idle timeout, 3 past it.
    expect(estimateLimit(samples([100, 150, 200, 250, 300, 327, 40, 60, 80, 120, 140, 160, 180, 220], [90, 170, 972, 1000, 1100])).seconds).not.toBeNull();
  });

  it('chanceOfAtLeast bounds the binomial tail from above, and is exact where every trial counts', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 400 }), fc.double({ min: 0.001, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (n, p, share) => {
      const k = Math.max(1, Math.round(share * n));
      return chanceOfAtLeast(k, n, p) >= binomialTail(k, n, p) * (1 - 1e-9) - 1e-300;
    }));
    expect(chanceOfAtLeast(6, 6, 0.5)).toBeCloseTo(1 / 64, 12);
    expect(chanceOfAtLeast(3, 10, 0.5)).toBe(1);
  });

  it('whole numbers (a cache of N sessions): at most high - 1', () => {
    const e = estimateLimitOf(Float64Array.from([5, 8, 9]), Float64Array.from([10, 11, 12]), [], { wholeNumbers: true });
    expect([e.low, e.high, e.seconds]).toEqual([9, 10, 9]);
  });

  it('whatever the values, a shown limit lies inside its bracket', () => {
    fc.assert(fc.property(
      // Up to 20 s: brackets narrower than a second come often (they escaped it before).
      fc.array(fc.double({ min: 0.0001, max: 20, noNaN: true }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.double({ min: 0.0001, max: 20, noNaN: true }), { minLength: 3, maxLength: 20 }),
      (accepted, rejected) => {
        const e = estimateLimit(samples(accepted, rejected));
        if (e.seconds === null) return;
        expect(e.seconds).toBeGreaterThanOrEqual(e.low!);
        expect(e.seconds).toBeLessThanOrEqual(e.high!);
      },
    ), { numRuns: 500 });
  });
});
