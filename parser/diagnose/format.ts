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

export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** "between 2023-11-14T09:03:47.333Z and 09:03:48.478Z": the date once when both fall on it. */
export function isoBetween(low: number, high: number): string {
  const from = isoTime(low);
  const to = isoTime(high);
  return `between ${from} and ${from.slice(0, 11) === to.slice(0, 11) ? to.slice(11) : to}`;
}
