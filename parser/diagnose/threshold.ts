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
}

/** Accepting beyond a limit contradicts it far more than a rejection below it (other causes exist). */
const ACCEPTED_ABOVE_WEIGHT = 20;
const MIN_EVIDENCE = 3;


export function estimateLimit(samples: Sample[], niceValues: readonly number[] = NICE_SECONDS): Estimate {
  const strict = fitLimit(samples, niceValues, ACCEPTED_ABOVE_WEIGHT);
  if (strict.seconds !== null) return strict;
  // Servers whose clock has coarse resolution (OpenSSL keeps session times in whole seconds)
  // accept a little past the limit now and then: a boundary with a few acceptances beyond it,
  // at lower confidence, is still the limit.
  const tolerant = fitLimit(samples, niceValues, 1);
  if (tolerant.seconds !== null && tolerant.exceptions <= Math.max(1, 0.2 * tolerant.rejectedAbove)) {
    return { ...tolerant, confidence: round2(tolerant.confidence * 0.8) };
  }
  return strict;
}

function fitLimit(samples: Sample[], niceValues: readonly number[], acceptedAboveWeight: number): Estimate {
  const accepted = samples.filter((s) => s.accepted);
  const maxAccepted = accepted.length > 0 ? maxOf(accepted.map((s) => s.x)) : null;
  const none: Estimate = { seconds: null, low: maxAccepted, high: null, confidence: 0, rejectedAbove: 0, acceptedBelow: accepted.length, exceptions: 0 };
  if (samples.length === 0) return none;
  const sorted = [...samples].sort((a, b) => a.x - b.x);
  // Sweep the boundary after each sample: cost = weighted accepted-above + rejected-below.
  let acceptedAbove = accepted.length;
  let rejectedBelow = 0;
  let bestCost = acceptedAboveWeight * acceptedAbove;
  let bestIndex = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i]!.accepted) acceptedAbove--;
    else rejectedBelow++;
    // Only split between distinct values.
    if (i + 1 < sorted.length && sorted[i + 1]!.x === sorted[i]!.x) continue;
    const cost = acceptedAboveWeight * acceptedAbove + rejectedBelow;
    if (cost < bestCost) {
      bestCost = cost;
      bestIndex = i;
    }
  }
  const below = sorted.slice(0, bestIndex + 1);
  const above = sorted.slice(bestIndex + 1);
  const rejectedAboveList = above.filter((s) => !s.accepted);
  const acceptedBelowCount = below.filter((s) => s.accepted).length;
  if (rejectedAboveList.length < MIN_EVIDENCE || acceptedBelowCount === 0) return none;
  const acceptedAboveCount = above.length - rejectedAboveList.length;
  const rejectedBelowCount = below.length - acceptedBelowCount;
  const low = maxOf(below.filter((s) => s.accepted).map((s) => s.x));
  const high = minOf(rejectedAboveList.map((s) => s.x));
  // A limit makes the rejection rate jump: above it nearly all, below it few.
  const rateAbove = rejectedAboveList.length / above.length;
  const rateBelow = rejectedBelowCount / Math.max(1, below.length);
  if (rateAbove < 0.8 || rateAbove - rateBelow < 0.5) return none;
  const support = (1 - Math.exp(-rejectedAboveList.length / 4)) * (1 - Math.exp(-acceptedBelowCount / 4));
  const confidence = round2(support * rateAbove * (1 - rateBelow) * (acceptedAboveCount === 0 ? 1 : 0.7));
  return {
    seconds: pickValue(low, high, niceValues),
    low, high, confidence,
    rejectedAbove: rejectedAboveList.length,
    acceptedBelow: acceptedBelowCount,
    exceptions: acceptedAboveCount + rejectedBelowCount,
  };
}

/** Common cache settings: a value the traffic allows is more likely one of these. */
export const NICE_SECONDS = [
  30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600, 7200, 10800, 14400, 18000, 21600, 28800,
  36000, 43200, 64800, 86400, 172800, 604800,
];

function pickValue(low: number, high: number, nice: readonly number[]): number {
  const inside = nice.filter((v) => v >= low && v <= high);
  if (inside.length > 0) {
    // Several round values fit: the one nearest the middle of the interval.
    const middle = (low + high) / 2;
    return inside.reduce((best, v) => (Math.abs(v - middle) < Math.abs(best - middle) ? v : best));
  }
  return Math.round((low + high) / 2);
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Largest value (a loop: spreading a large array into Math.max overflows the stack). */
export function maxOf(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! > m) m = values[i]!;
  return m;
}

export function minOf(values: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! < m) m = values[i]!;
  return m;
}
