// Durations and instants as the diagnosis's details, the findings and the UI write them.

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * An instant as ISO 8601 (UTC). A time a Date cannot hold (beyond ±8.64e12 s: a damaged or
 * made-up timestamp, a pcapng's 64-bit one) is written as its seconds since 1970: toISOString
 * threw on it, and a capture whose first frame was stamped 292,000 years ahead crashed the
 * reading of its clock step.
 */
export function isoTime(epochSeconds: number): string {
  const date = new Date(epochSeconds * 1000);
  return Number.isNaN(date.getTime()) ? `${epochSeconds} s after 1970` : date.toISOString().replace('.000Z', 'Z');
}

/** "between 2023-11-14T09:03:47.333Z and 09:03:48.478Z": the date once when both fall on it. */
export function isoBetween(low: number, high: number): string {
  const from = isoTime(low);
  const to = isoTime(high);
  return `between ${from} and ${from.slice(0, 11) === to.slice(0, 11) ? to.slice(11) : to}`;
}
