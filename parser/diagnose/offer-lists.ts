import type { SessionTable } from '../session/session-table.js';

// Lists of offers (rows of a SessionTable) as typed arrays, and the passes the estimators make over them.

/** The answered offers of each group (by group index), as rows. */
export function offersByGroup(table: SessionTable): Int32Array[] {
  const answered = table.answeredOffers;
  const counts = new Int32Array(table.groups.size);
  for (let i = 0; i < answered.length; i++) counts[table.groupOf(answered.get(i)).index]!++;
  const lists = Array.from(counts, (n) => new Int32Array(n));
  counts.fill(0);
  for (let i = 0; i < answered.length; i++) {
    const o = answered.get(i);
    const g = table.groupOf(o).index;
    lists[g]![counts[g]!++] = o;
  }
  return lists;
}

/** The offers of `list` for which `keep` holds (in order). */
export function select(list: Int32Array, keep: (o: number) => boolean): Int32Array {
  const kept = new Int32Array(list.length);
  let n = 0;
  for (let i = 0; i < list.length; i++) if (keep(list[i]!)) kept[n++] = list[i]!;
  return n === list.length ? kept : kept.slice(0, n);
}

/** How many offers of `list` `keep` holds for (no list built to count). */
export function count(list: Int32Array, keep: (o: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) if (keep(list[i]!)) n++;
  return n;
}

/** Counts how many spans (start, end] contain a moment t: sorted starts and ends, two binary searches. */
export function spanIndex(offers: Int32Array, startOf: (o: number) => number, endOf: (o: number) => number): { containing(t: number): number } {
  const starts = valuesOf(offers, startOf).sort();
  const ends = valuesOf(offers, endOf).sort();
  // Spans with start < t, minus those that also ended before t (end < t).
  return { containing: (t: number) => lowerBound(starts, t) - lowerBound(ends, t) };
}

/** One number per offer, as a typed array (a plain loop: Float64Array.from with a mapping function is several times slower). */
export function valuesOf(offers: Int32Array, value: (o: number) => number): Float64Array {
  const values = new Float64Array(offers.length);
  for (let i = 0; i < offers.length; i++) values[i] = value(offers[i]!);
  return values;
}

/** Number of elements < t in a sorted array. */
export function lowerBound(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of `offers` (in time order) come at or before `time`. */
function offersUpTo(t: SessionTable, offers: Int32Array, time: number): number {
  let lo = 0, hi = offers.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t.timeOf(offers[mid]!) <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A count a group's offers carry (sessions issued so far, uses so far) as it stood at a moment: the
 * count the latest offer at or before it saw, a lower bound (0 before the first). `offers` in time order.
 */
export function soFarAt(t: SessionTable, offers: Int32Array, time: number, soFar: (o: number) => number): number {
  const before = offersUpTo(t, offers, time);
  return before === 0 ? 0 : soFar(offers[before - 1]!);
}

/**
 * The same count at the first offer after the moment: at least what it was then, an upper bound
 * (Infinity when no offer comes after).
 */
export function soFarAfter(t: SessionTable, offers: Int32Array, time: number, soFar: (o: number) => number): number {
  const before = offersUpTo(t, offers, time);
  return before === offers.length ? Infinity : soFar(offers[before]!);
}

/** The first 20 offers of a list, by `id` (a policy's evidence). */
export function firstIds(list: Int32Array, id: (o: number) => number): number[] {
  return Array.from(list.subarray(0, 20), id);
}
