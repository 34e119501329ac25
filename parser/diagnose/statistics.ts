// The two significance tests the estimators share.

/**
 * Whether outcomes in time order come in far fewer runs than a random order would give
 * (Wald-Wolfowitz runs test, one-sided, z < -3.09: p < 0.1 %); see outcomesClustered in shared-cache.ts.
 */
export function fewerRunsThanRandom(n: number, acceptedAt: (i: number) => boolean): boolean {
  let accepted = 0;
  let runs = 0;
  let previous = false;
  for (let i = 0; i < n; i++) {
    const a = acceptedAt(i);
    if (a) accepted++;
    if (i === 0 || a !== previous) runs++;
    previous = a;
  }
  const rejected = n - accepted;
  if (accepted === 0 || rejected === 0 || n < 3) return false;
  const mean = 1 + (2 * accepted * rejected) / n;
  const variance = (2 * accepted * rejected * (2 * accepted * rejected - n)) / (n * n * (n - 1));
  return variance > 0 && (runs - mean) / Math.sqrt(variance) < MAX_RUNS_Z;
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n || p <= 0) return 0;
  if (p >= 1) return 1;
  // Each term's logarithm, from log P(X = 0) = n·log(1 − p) on: (1 − p)^n itself underflows to 0
  // for n in the thousands, and every tail came out 0 ("significant").
  const step = Math.log(p) - Math.log(1 - p);
  let logTerm = n * Math.log(1 - p);
  let total = 0;
  for (let i = 0; i <= n; i++) {
    if (i >= k) {
      const term = Math.exp(logTerm);
      total += term;
      // Past the mode the terms only shrink: stop once they no longer count.
      if (i > n * p && term < total * 1e-17) break;
    }
    logTerm += Math.log((n - i) / (i + 1)) + step;
  }
  return Math.min(1, total);
}

/**
 * A block of refusals (a flush, a backend down) is far from random: real nginx's restart gave 3
 * runs where ~12 were due. p < 1 % (z −2.33) also caught a balancer's own mild clustering: 3
 * simulated backends behind a VIP with an idle timeout came out at z −2.37 once the timeout's
 * refusals were set apart, and the backends went unnamed.
 */
const MAX_RUNS_Z = -3.09;
