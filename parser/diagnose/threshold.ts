// Estimating a cache limit from accepted and rejected offers: the boundary between
// the largest value the server still accepted and the smallest it rejected.

export interface Sample {
  x: number;
  accepted: boolean;
}

export interface Estimate {
  /** Best single value (a round number inside [low, high] when there is one); null when not shown. */
  seconds: number | null;
  /** The traffic proves the limit is at least this (largest accepted value). */
  low: number | null;
  /** ... and at most this (smallest rejected value above low); null when never reached. */
  high: number | null;
  confidence: number;
  /** Rejections above the boundary: the evidence count. */
  rejectedAbove: number;
  acceptedBelow: number;
  /** Accepted above or rejected below the boundary, i.e. not explained by it. */
  exceptions: number;
  /**
   * Set when the group's session IDs and tickets were fitted apart (fitLimitsByKind): the kind this
   * limit was found for ('session-ids': the server's cache; 'tickets': TLS 1.2 tickets and TLS 1.3
   * PSKs). Absent when they were fitted together.
   */
  appliesTo?: 'session-ids' | 'tickets';
}

/** Accepting beyond a limit contradicts it far more than a rejection below it (other causes exist). */
const ACCEPTED_ABOVE_WEIGHT = 20;
const MIN_EVIDENCE = 3;
/**
 * How far past a limit a server with a coarse clock still accepts, as a share of the limit (at
 * least one unit: a second, a session). OpenSSL keeps session times in whole seconds: real nginx
 * with a 4 s timeout accepted up to ~5 s idle.
 */
const COARSE_MARGIN = 0.25;


export function estimateLimit(samples: Sample[], niceValues: readonly number[] = NICE_SECONDS): Estimate {
  let acceptedCount = 0;
  for (const s of samples) if (s.accepted) acceptedCount++;
  const accepted = new Float64Array(acceptedCount);
  const rejected = new Float64Array(samples.length - acceptedCount);
  let ai = 0;
  let ri = 0;
  for (const s of samples) {
    if (s.accepted) accepted[ai++] = s.x;
    else rejected[ri++] = s.x;
  }
  return estimateLimitOf(accepted, rejected, niceValues);
}

export interface LimitOptions {
  /**
   * The values are whole numbers (a count of sessions): the best value is picked from low to
   * high - 1, since high itself was rejected. (Times are continuous: any value below high.)
   */
  wholeNumbers?: boolean;
  /**
   * The fit only rules another explanation out (partitioned-cache.ts: a time limit that explains a
   * band of refusals better than a cache in parts): no test of chance against the refusals below
   * the edge. Made stricter there, it let the band win over a true idle timeout.
   */
  rulingOut?: boolean;
}

/**
 * The same from the accepted and the rejected values as typed arrays (a million offers make a
 * million sample objects otherwise). Sorts them in place.
 */
export function estimateLimitOf(accepted: Float64Array, rejected: Float64Array, niceValues: readonly number[] = NICE_SECONDS, options: LimitOptions = {}): Estimate {
  // Two natively sorted arrays (no comparator, no objects): the sweep merges them.
  accepted.sort();
  rejected.sort();
  const strict = fitLimit(accepted, rejected, niceValues, ACCEPTED_ABOVE_WEIGHT, options);
  if (strict.seconds !== null) return strict;
  // Servers whose clock has coarse resolution (OpenSSL keeps session times in whole seconds)
  // accept a little past the limit now and then: a boundary with a few acceptances beyond it,
  // at lower confidence, is still the limit.
  const tolerant = fitLimit(accepted, rejected, niceValues, 1, options);
  // Such acceptances sit just past the edge. More of them far past it than were accepted below it
  // are a steady accept rate, not a limit: behind 8 backends without a shared cache (1 in 8
  // accepted, whatever the idle time) the few offers below a second happened to be accepted, and
  // "an idle timeout of 1 s" took all 4,053 refusals from the balancer, the hundreds accepted far
  // beyond it counted as exceptions. A few far ones beside many below (a handful of tickets among
  // a cache's session IDs, fitted together) still leave the limit.
  if (tolerant.seconds !== null && !options.rulingOut && tolerant.high !== null) {
    const near = tolerant.high + Math.max(1, COARSE_MARGIN * tolerant.high);
    let far = 0;
    for (let i = accepted.length - 1; i >= 0 && accepted[i]! > near; i--) far++;
    if (far > tolerant.acceptedBelow) return strict;
  }
  if (tolerant.seconds !== null && tolerant.exceptions <= Math.max(1, 0.2 * tolerant.rejectedAbove)) {
    return { ...tolerant, confidence: round2(tolerant.confidence * 0.8) };
  }
  return strict;
}

/**
 * Sweep a boundary through the merged values (after each distinct value):
 * cost = weight × accepted above + rejected below; the cheapest boundary wins.
 */
function fitLimit(accepted: Float64Array, rejected: Float64Array, niceValues: readonly number[], acceptedAboveWeight: number, options: LimitOptions): Estimate {
  const maxAccepted = accepted.length > 0 ? accepted[accepted.length - 1]! : null;
  const none: Estimate = { seconds: null, low: maxAccepted, high: null, confidence: 0, rejectedAbove: 0, acceptedBelow: accepted.length, exceptions: 0 };
  const total = accepted.length + rejected.length;
  if (total === 0) return none;
  let ai = 0; // accepted values at or below the boundary
  let ri = 0; // rejected values at or below the boundary
  let bestCost = acceptedAboveWeight * accepted.length;
  let bestA = 0;
  let bestR = 0;
  while (ai < accepted.length || ri < rejected.length) {
    // The next distinct value, and everything equal to it, goes below the boundary.
    const next = ri >= rejected.length || (ai < accepted.length && accepted[ai]! <= rejected[ri]!) ? accepted[ai]! : rejected[ri]!;
    while (ai < accepted.length && accepted[ai] === next) ai++;
    while (ri < rejected.length && rejected[ri] === next) ri++;
    const cost = acceptedAboveWeight * (accepted.length - ai) + ri;
    if (cost < bestCost) {
      bestCost = cost;
      bestA = ai;
      bestR = ri;
    }
  }
  const acceptedBelowCount = bestA;
  const rejectedBelowCount = bestR;
  const rejectedAboveCount = rejected.length - bestR;
  const acceptedAboveCount = accepted.length - bestA;
  if (rejectedAboveCount < MIN_EVIDENCE || acceptedBelowCount === 0) return none;
  const low = accepted[bestA - 1]!;
  const high = rejected[bestR]!;
  const aboveCount = rejectedAboveCount + acceptedAboveCount;
  const belowCount = acceptedBelowCount + rejectedBelowCount;
  // A limit makes the rejection rate jump: above it nearly all, below it few.
  const rateAbove = rejectedAboveCount / aboveCount;
  const rateBelow = rejectedBelowCount / Math.max(1, belowCount);
  if (rateAbove < 0.8 || rateAbove - rateBelow < 0.5) return none;
  // Where offers are refused below the edge too (other causes not yet told apart: backends without
  // a shared cache), the refusals above it must be more than that rate gives by chance. Two
  // backends behind a VIP (half refused, whatever the idle time) had the last six offers refused
  // and made "an idle timeout of 15 min" and "a lifetime of 22 min" (a chance of 1 in 64, found
  // by taking the best of every edge).
  // A rate from a few refusals says little (a capture of 19 offers, 2 refused below a true idle
  // timeout and 3 past it, had lost the timeout): the test asks for MIN_REFUSALS_FOR_RATE of them.
  if (!options.rulingOut && rejectedBelowCount >= MIN_REFUSALS_FOR_RATE && chanceOfAtLeast(rejectedAboveCount, aboveCount, rateBelow) > MAX_CHANCE_ABOVE) return none;
  const support = (1 - Math.exp(-rejectedAboveCount / 4)) * (1 - Math.exp(-acceptedBelowCount / 4));
  const confidence = round2(support * rateAbove * (1 - rateBelow) * (acceptedAboveCount === 0 ? 1 : 0.7));
  return {
    // The limit is at least `low` (accepted) and below `high` (rejected there): for whole numbers at most high - 1.
    seconds: pickValue(low, options.wholeNumbers ? high - 1 : high, niceValues),
    low, high, confidence,
    rejectedAbove: rejectedAboveCount,
    acceptedBelow: acceptedBelowCount,
    exceptions: acceptedAboveCount + rejectedBelowCount,
  };
}

/** The largest chance that the refusals above an edge come from the rate below it (see fitLimit). */
const MAX_CHANCE_ABOVE = 1e-3;
/** Refusals below an edge before their rate is held against those above it (see fitLimit). */
const MIN_REFUSALS_FOR_RATE = 5;

/**
 * An upper bound of P(X ≥ k), X ~ Binomial(n, p): exp(−n·D(k/n ‖ p)) (Chernoff, with D the
 * Kullback-Leibler divergence of two Bernoulli distributions), 1 for k/n ≤ p. Constant time:
 * the exact sum (statistics.ts binomialTail) takes a logarithm per offer, and every limit fitted
 * asks it over all the group's offers. Being a bound, it errs towards no limit.
 */
export function chanceOfAtLeast(k: number, n: number, p: number): number {
  if (n <= 0 || k <= 0) return 1;
  const q = k / n;
  if (q <= p) return 1;
  if (p <= 0) return 0;
  const divergence = q * Math.log(q / p) + (q < 1 ? (1 - q) * Math.log((1 - q) / (1 - p)) : 0);
  return Math.exp(-n * divergence);
}

/** Common cache settings: a value the traffic allows is more likely one of these. */
export const NICE_SECONDS = [
  30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600, 7200, 10800, 14400, 18000, 21600, 28800,
  36000, 43200, 64800, 86400, 172800, 604800,
];

export function pickValue(low: number, high: number, nice: readonly number[] = NICE_SECONDS): number {
  const inside = nice.filter((v) => v >= low && v <= high);
  if (inside.length > 0) {
    // Several round values fit: the one nearest the middle of the interval.
    const middle = (low + high) / 2;
    return inside.reduce((best, v) => (Math.abs(v - middle) < Math.abs(best - middle) ? v : best));
  }
  // The roundest value inside: whole seconds (or sessions) where one fits, else tenths, hundredths,
  // thousandths. The multiple of a step nearest the middle is inside whenever any multiple is.
  // Rounding the middle to whole seconds alone left the interval when it was narrower than a
  // second: real nginx, accepted after 1.17 s and refused after 1.20 s idle, got "1.0s".
  const middle = (low + high) / 2;
  for (const step of ROUND_STEPS) {
    const value = Math.round(middle / step) * step;
    const exact = Number(value.toFixed(3));
    if (exact >= low && exact <= high) return exact;
  }
  return middle;
}

const ROUND_STEPS = [1, 0.1, 0.01, 0.001];

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Largest value (a loop: spreading a large array into Math.max overflows the stack). */
export function maxOf(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! > m) m = values[i]!;
  return m;
}
