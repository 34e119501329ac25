// Filtering and sorting the connection table. Pure: it runs in the analysis worker over every
// connection (the app) and on the main thread over the report's capped list.
import { groupKeyOf } from '../../../../parser/session/session-table.js';
import { histogramBinOf, offerMetric, outcomeOf, type HistogramMetric, type Outcome } from '../../../../parser/report/report-model.js';
import { clientAddress, type ConnectionRecord } from '../../../../parser/report/types.js';
import { looksLikeCompatibilityId } from '../../../../parser/diagnose/compatibility-ids.js';

export interface ConnectionFilter {
  outcome: Outcome | '';
  reason: string;
  /** Server group key ("sni:port" or "ip:port"), '' for any. */
  server: string;
  /** Case-insensitive substring of the SNI. */
  sni: string;
  /** Substring of "client ip:port". */
  client: string;
  timeFrom: number | null;
  timeTo: number | null;
  /** Only these connection ids (from a finding's evidence), empty for any. */
  ids: number[];
  /** Only the offers in one bar of a reuse-gap, age or churn chart (its own binning), null for any. */
  offers: OfferBar | null;
}

export interface OfferBar {
  metric: HistogramMetric;
  binWidth: number;
  bin: number;
  binCount: number;
  /** What the filter bar shows: "reuse gap 5m00s – 10m00s". */
  text: string;
}

export const EMPTY_FILTER: ConnectionFilter = { outcome: '', reason: '', server: '', sni: '', client: '', timeFrom: null, timeTo: null, ids: [], offers: null };

export type SortKey = 'time' | 'client' | 'server' | 'sni' | 'outcome' | 'reason' | 'version' | 'duration' | 'id';
export interface ConnectionSort {
  key: SortKey;
  descending: boolean;
}

/** What one table row shows: small, so a page of rows crosses the worker boundary cheaply. */
export interface ConnectionRow {
  id: number;
  startTime: number;
  client: string;
  server: string;
  sni: string | null;
  outcome: Outcome;
  reason: string | null;
  version: string | null;
  resumedBy: string | null;
  duration: number;
  history: string;
  /**
   * A refusal of a TLS 1.3 client's random session ID (looksLikeCompatibilityId): most likely no
   * offer at all. The findings and the headline leave these out; the table says so on the row.
   */
  randomSessionId: boolean;
}

/** Behind a load balancer that sent a PROXY header: the client it named, then the balancer's end; or the balancer's own connection. */
function clientText(c: ConnectionRecord): string {
  const tcp = `${c.client.ip}:${c.client.port}`;
  if (c.proxyHeader === 'local') return `${tcp} (balancer's own)`;
  return c.proxiedClient ? `${c.proxiedClient.ip}:${c.proxiedClient.port} via ${tcp}` : tcp;
}

export function rowOf(c: ConnectionRecord): ConnectionRow {
  return {
    id: c.id,
    startTime: c.startTime,
    client: clientText(c),
    server: `${c.server.ip}:${c.server.port}`,
    sni: c.sni,
    outcome: outcomeOf(c),
    reason: c.reason ?? null,
    version: c.version,
    resumedBy: c.resumedBy,
    duration: c.endTime - c.startTime,
    history: c.history,
    randomSessionId: c.reason === 'issued-before-capture' && looksLikeCompatibilityId(c),
  };
}

export function matchesFilter(c: ConnectionRecord, f: ConnectionFilter, ids: Set<number> | null): boolean {
  if (ids !== null && !ids.has(c.id)) return false;
  if (f.outcome !== '' && outcomeOf(c) !== f.outcome) return false;
  if (f.reason !== '' && (c.reason ?? '') !== f.reason) return false;
  if (f.timeFrom !== null && c.startTime < f.timeFrom) return false;
  if (f.timeTo !== null && c.startTime >= f.timeTo) return false;
  if (f.server !== '' && groupKeyOf(c).key !== f.server && `${c.server.ip}:${c.server.port}` !== f.server) return false;
  if (f.sni !== '' && !(c.sni ?? '').toLowerCase().includes(f.sni.toLowerCase())) return false;
  if (f.client !== '' && !clientText(c).includes(f.client.trim())) return false;
  if (f.offers !== null) {
    // A chart's group only: a group keyed by address (no SNI) would also take the same address's
    // offers with an SNI, binned on another chart.
    if (f.server !== '' && groupKeyOf(c).key !== f.server) return false;
    const x = offerMetric(c, f.offers.metric);
    if (x === null || histogramBinOf(x, f.offers.binWidth, f.offers.binCount) !== f.offers.bin) return false;
  }
  return true;
}

const OUTCOME_ORDER: Record<Outcome, number> = { rejected: 0, aborted: 1, incomplete: 2, full: 3, resumed: 4 };

function comparator(key: SortKey): (a: ConnectionRecord, b: ConnectionRecord) => number {
  const text = (get: (c: ConnectionRecord) => string) => (a: ConnectionRecord, b: ConnectionRecord) => {
    const x = get(a);
    const y = get(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
  switch (key) {
    case 'time': return (a, b) => a.startTime - b.startTime;
    case 'id': return (a, b) => a.id - b.id;
    case 'duration': return (a, b) => a.endTime - a.startTime - (b.endTime - b.startTime);
    case 'outcome': return (a, b) => OUTCOME_ORDER[outcomeOf(a)] - OUTCOME_ORDER[outcomeOf(b)];
    case 'client': return (a, b) => compareAddress(clientAddress(a), clientAddress(b)) || compareAddress(a.client.ip, b.client.ip) || a.client.port - b.client.port;
    case 'server': return (a, b) => compareAddress(a.server.ip, b.server.ip) || a.server.port - b.server.port;
    case 'sni': return text((c) => c.sni ?? '');
    case 'reason': return text((c) => c.reason ?? '');
    case 'version': return text((c) => c.version ?? '');
  }
}

/** Numeric order for dotted IPv4 addresses ("10.0.0.9" before "10.0.0.10"), text order otherwise. */
function compareAddress(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length === 4 && pb.length === 4) {
    for (let i = 0; i < 4; i++) {
      const d = Number(pa[i]) - Number(pb[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Indices into `connections` of the rows that pass the filter, in sort order (ties by time, then id). */
export function queryConnections(connections: readonly ConnectionRecord[], filter: ConnectionFilter, sort: ConnectionSort): Int32Array {
  const ids = filter.ids.length > 0 ? new Set(filter.ids) : null;
  const matching: number[] = [];
  for (let i = 0; i < connections.length; i++) if (matchesFilter(connections[i]!, filter, ids)) matching.push(i);
  const primary = comparator(sort.key);
  const sign = sort.descending ? -1 : 1;
  matching.sort((i, j) => {
    const a = connections[i]!;
    const b = connections[j]!;
    return sign * primary(a, b) || a.startTime - b.startTime || a.id - b.id;
  });
  return Int32Array.from(matching);
}
