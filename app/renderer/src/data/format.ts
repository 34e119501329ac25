// Formatting shared by every view. Times are UTC: captures come from other machines and time zones.
export { formatDuration } from '../../../../parser/diagnose/format.js';

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatPercent(fraction: number | null, digits = 1): string {
  return fraction === null ? '—' : `${(fraction * 100).toFixed(digits)}%`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/**
 * ISO 8601 of a time, or null where a Date cannot hold it (beyond ±8.64e12 s: a damaged capture's
 * timestamp, which toISOString threw on, taking the page with it).
 */
function isoOrNull(epochSeconds: number): string | null {
  const date = new Date(epochSeconds * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** "2023-11-14 22:13:20.123" (UTC). */
export function formatTime(epochSeconds: number | null, withMillis = true): string {
  if (epochSeconds === null || !Number.isFinite(epochSeconds)) return '—';
  const iso = isoOrNull(epochSeconds);
  if (iso === null) return `${epochSeconds} s after 1970`;
  return iso.slice(0, 10) + ' ' + iso.slice(11, withMillis ? 23 : 19);
}

export function formatClock(epochSeconds: number, bucketSeconds: number): string {
  const iso = isoOrNull(epochSeconds);
  if (iso === null) return String(epochSeconds);
  if (bucketSeconds >= 86400) return iso.slice(0, 10);
  if (bucketSeconds >= 60) return iso.slice(11, 16);
  if (bucketSeconds >= 1) return iso.slice(11, 19);
  return iso.slice(11, 23);
}

/** Milliseconds between two epoch-second times, for the ladder. */
export function formatDelta(seconds: number): string {
  const ms = seconds * 1000;
  if (Math.abs(ms) < 1) return `${ms.toFixed(3)} ms`;
  if (Math.abs(ms) < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(3)} s`;
}

/** Parses "2023-11-14 22:13:20(.123)" or an ISO string as UTC; null when empty or invalid. */
export function parseTime(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const iso = trimmed.replace(' ', 'T');
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + 'Z');
  return Number.isNaN(ms) ? null : ms / 1000;
}
