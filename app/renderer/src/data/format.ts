// Formatting shared by every view. Times are UTC: captures come from other machines and time zones.
import { formatDuration } from '../../../../parser/diagnose/format.js';
import { onEdge } from '../../../../parser/report/report-model.js';

export { formatDuration };

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

export function formatClock(epochSeconds: number, bucketSeconds: number, withDate = false): string {
  const iso = isoOrNull(epochSeconds);
  if (iso === null) return String(epochSeconds);
  if (bucketSeconds >= 86400) return iso.slice(0, 10);
  const date = withDate ? `${iso.slice(5, 10)} ` : '';
  if (bucketSeconds >= 60) return date + iso.slice(11, 16);
  if (bucketSeconds >= 1) return date + iso.slice(11, 19);
  return date + iso.slice(11, 23);
}

/**
 * The timeline's bar labels: formatClock of each bar's start, with the date (month-day) where the
 * bars run over more than one UTC day. A capture of two days in bars of an hour read "13:00" twice,
 * and the chart, whose flush lines are drawn at a bar's label, lost them among the repeats.
 */
export function clockLabels(starts: readonly number[], bucketSeconds: number): string[] {
  const day = (t: number) => isoOrNull(t)?.slice(0, 10) ?? '';
  const withDate = starts.length > 1 && bucketSeconds < 86400 && day(starts[0]!) !== day(starts[starts.length - 1]!);
  return starts.map((t) => formatClock(t, bucketSeconds, withDate));
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

/**
 * Bin edges as durations; the first edge is plain zero ("0ms" reads like a measurement).
 * formatDuration rounds to what a reader needs of one value (tenths below 10 s, whole seconds below
 * an hour, minutes above), but edges finer than that must say their fraction: bars of 500 ms past
 * 10 s were labelled "10s, 11s, 11s, 12s, 12s", and the limit line at 10 s, drawn at its edge's
 * label, was lost among the repeated ones.
 */
export function formatEdge(seconds: number, binWidth: number): string {
  if (seconds === 0) return '0';
  const shown = seconds < 1 ? 0.001 : seconds < 10 ? 0.1 : seconds < 3600 ? 1 : 60;
  return binWidth >= shown && onEdge(binWidth, shown) ? formatDuration(seconds) : exactDuration(seconds);
}

/** A duration with every component it has, to the millisecond: "10.5s", "1m02.5s", "1h02m30s". */
function exactDuration(seconds: number): string {
  const text = (s: number) => String(Math.round(s * 1000) / 1000);
  const padded = (s: number) => `${s < 10 ? '0' : ''}${text(s)}`;
  if (seconds < 1) return `${text(seconds * 1000)}ms`;
  if (seconds < 60) return `${text(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${padded(seconds - 60 * minutes)}s`;
  const rest = seconds - 3600 * Math.floor(minutes / 60);
  const s = rest - 60 * Math.floor(rest / 60);
  return `${Math.floor(minutes / 60)}h${String(Math.floor(rest / 60)).padStart(2, '0')}m${s > 0.0005 ? `${padded(s)}s` : ''}`;
}
