import { describe, expect, it } from 'vitest';
import { binomialTail } from '../../parser/diagnose/statistics.js';

// The significance tests of the diagnosis (purge on abort, flushes, a cache not shared across
// addresses) rest on this tail. Computed from (1 − p)^n directly, it underflowed to 0 for n in the
// thousands, and every large group's test came out "significant".

function exactTail(k: number, n: number, p: number): number {
  let total = 0;
  for (let i = k; i <= n; i++) {
    let choose = 1;
    for (let j = 1; j <= i; j++) choose = (choose * (n - i + j)) / j;
    total += choose * p ** i * (1 - p) ** (n - i);
  }
  return total;
}

describe('binomialTail', () => {
  it('equals the sum of the exact terms for small n', () => {
    for (const n of [1, 2, 5, 12, 30]) {
      for (const p of [0.01, 0.2, 0.5, 0.93]) {
        for (let k = 0; k <= n + 1; k++) expect(binomialTail(k, n, p)).toBeCloseTo(Math.min(1, exactTail(k, n, p)), 12);
      }
    }
  });

  it('stays right for thousands of trials', () => {
    // 787 of 1,304 at the same 60 % rate as the other offers: unremarkable, not 0.
    const usual = binomialTail(787, 1304, 0.6);
    expect(usual).toBeGreaterThan(0.2);
    expect(usual).toBeLessThan(0.6);
    // Every one of 1,000 at one in two: 2^-1000, tiny but not 0.
    expect(binomialTail(1000, 1000, 0.5) / 2 ** -1000).toBeCloseTo(1, 9);
    // The mean of a large binomial is about its median.
    expect(binomialTail(50_000, 100_000, 0.5)).toBeCloseTo(0.5, 2);
    expect(binomialTail(0, 10, 0.3)).toBe(1);
    expect(binomialTail(11, 10, 0.3)).toBe(0);
  });
});
