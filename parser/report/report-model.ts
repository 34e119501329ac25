// The aggregated view model shared by the app and the HTML report: overview totals, timeline
// buckets, accepted-vs-rejected histograms with the inferred limits, servers, client sequences and
// a capped connection list. Pure and portable (no Node, no DOM): the CLI builds it for --report,
// the browser worker builds it for the app and for File › Export. Charts draw these buckets, never
// raw connections, so a million connections draw as fast as a hundred.

import type { ClientsSummary, Diagnosis, ServerSummary } from '../diagnose/types.js';
import { abortEnding, type AbortEnding } from './abort-ending.js';
import { compatibilityIdsOf } from '../diagnose/compatibility-ids.js';
import { formatDuration } from '../diagnose/format.js';
import { numberClients } from '../diagnose/track-sessions.js';
import type { Finding, WhatIf } from '../diagnose/findings.js';
import { GroupKeys, groupKeyOf } from '../session/session-table.js';
import { addToTotals, emptyTotals, resumptionRate, type Totals } from './document.js';
import { clientAddress, type AbortStage, type CaptureSummary, type ConnectionRecord } from './types.js';

export const REPORT_MODEL_VERSION = 1;

/** The outcome vocabulary of docs/domain.md, one per connection. */
export type Outcome = 'full' | 'resumed' | 'rejected' | 'aborted' | 'incomplete';
export const OUTCOMES: readonly Outcome[] = ['resumed', 'rejected', 'full', 'aborted', 'incomplete'];

export function outcomeOf(c: ConnectionRecord): Outcome {
  if (c.handshake === 'aborted') return 'aborted';
  if (c.handshake === 'incomplete') return 'incomplete';
  if (c.resumption === 'accepted') return 'resumed';
  if (c.resumption === 'rejected') return 'rejected';
  if (c.resumption === 'not-offered') return 'full';
  return 'incomplete';
}

/** One analysed file as the report lists it (hash and size of the bytes on disk). */
export interface AnalysedFile {
  name: string;
  size: number;
  /** Hex SHA-256 of the file's bytes; null when it could not be computed. */
  sha256: string | null;
  /** The app computes hashes after showing the results: set while that is under way. */
  hashPending?: boolean;
  /**
   * Read merged by packet time with other files that hold the same connections (a file per
   * direction of a tap: parser/merged-reading.ts); absent when read on its own.
   */
  readMerged?: boolean;
}

export interface AbortBreakdown {
  stage: AbortStage;
  by: 'client' | 'server';
  /** The close, or 'alert' when a fatal alert ended the handshake (abortEnding). */
  how: AbortEnding;
  count: number;
}

export interface Overview {
  totals: Totals;
  /**
   * accepted ÷ answered offers, leaving out the TLS 1.3 random session IDs (compatibilityIds);
   * null without such offers.
   */
  resumptionRate: number | null;
  /** Rejected offers that were most likely a TLS 1.3 client's random session ID (ServerSummary.tls13CompatibilityIds). */
  compatibilityIds: number;
  outcomes: Record<Outcome, number>;
  aborts: AbortBreakdown[];
  /** Why offers failed (diagnosis reasons), most frequent first. */
  reasons: { reason: string; count: number }[];
  firstTime: number | null;
  lastTime: number | null;
  packets: number;
  bytes: number;
  anomalies: number;
  /** Distinct sessions followed and offers made (diagnosis); sessions carried in from a --state file (null: none used; absent in older documents). */
  sessions: { distinct: number; offers: number; carriedIn?: number | null };
}

export interface TimelineBucket {
  /** Epoch seconds of the bucket start. */
  start: number;
  full: number;
  resumed: number;
  rejected: number;
  aborted: number;
  incomplete: number;
}

export interface Timeline {
  bucketSeconds: number;
  buckets: TimelineBucket[];
  flushes: { time: number; group: string; sessionsLost: number }[];
}

export type HistogramMetric = 'reuseGap' | 'age' | 'churn' | 'usedSince';

export interface HistogramBin {
  start: number;
  /** Exclusive end; null for the last, open-ended bin ("≥ start"). */
  end: number | null;
  accepted: number;
  rejected: number;
}

export interface ReferenceLine {
  /** Where the line is drawn, in the metric's unit (a bin edge). */
  value: number;
  label: string;
  group: string;
  confidence: number;
}

export interface Histogram {
  metric: HistogramMetric;
  unit: 'seconds' | 'sessions';
  binWidth: number;
  bins: HistogramBin[];
  references: ReferenceLine[];
  samples: number;
}

export interface HistogramSet {
  /** '' for all server groups together. */
  group: string;
  reuseGap: Histogram;
  age: Histogram;
  churn: Histogram;
  /** Other sessions used since the offered one's last use: where an LRU cache's edge shows. */
  usedSince: Histogram;
}

export interface ClientRow {
  ip: string;
  connections: number;
  offers: number;
  accepted: number;
  rejected: number;
  aborted: number;
  /** Distinct server addresses the client reached. */
  servers: number;
  /** Connections that offered a session issued by another server address (stickiness broke). */
  crossServerOffers: number;
}

export interface ClientStep {
  id: number;
  time: number;
  server: string;
  group: string;
  sni: string | null;
  outcome: Outcome;
  reason: string | null;
  /** Short form of the offered session (ID, ticket or PSK identity), null when nothing was offered. */
  offered: string | null;
  offeredKind: 'session-id' | 'ticket' | 'psk' | null;
  /** Short form of the session the connection ended up with (issued or resumed). */
  session: string | null;
  /** The offered session was issued by another server address than this one. */
  crossServer: boolean;
  /** Server address differs from the previous step of this client. */
  serverChanged: boolean;
}

export interface ConnectionList {
  total: number;
  cap: number;
  /** Which connections were kept when capped. */
  selection: string;
  rows: ConnectionRecord[];
}

export interface ReportModel {
  modelVersion: number;
  tool: { name: string; version: string };
  /** ISO time of the analysis. */
  analysedAt: string;
  files: AnalysedFile[];
  captures: CaptureSummary[];
  overview: Overview;
  findings: Finding[];
  whatIf: WhatIf[];
  servers: ServerSummary[];
  clientsSummary: ClientsSummary;
  timeline: Timeline;
  histograms: HistogramSet[];
  clients: ClientRow[];
  /** Sequences of the most telling clients (others are computed on demand by buildClientSequence). */
  clientSequences: Record<string, ClientStep[]>;
  connections: ConnectionList;
}

export interface ReportModelInput {
  tool: { name: string; version: string };
  captures: CaptureSummary[];
  /** Connections after diagnose() (reason and session set). */
  connections: ConnectionRecord[];
  diagnosis: Pick<Diagnosis, 'servers' | 'clients' | 'findings' | 'whatIf' | 'sessions'>;
  files: AnalysedFile[];
  analysedAt: string;
  /** Connection records embedded in the model (0 in the app: its table queries the worker). */
  connectionCap: number;
}

export const DEFAULT_REPORT_CONNECTION_CAP = 20_000;
const MAX_HISTOGRAM_GROUPS = 20;
const MAX_CLIENT_ROWS = 1000;
const MAX_CLIENT_SEQUENCES = 100;
const MAX_SEQUENCE_STEPS = 300;
const TARGET_TIMELINE_BUCKETS = 120;
const TARGET_HISTOGRAM_BINS = 40;
const MAX_HISTOGRAM_BINS = 90;

export function buildReportModel(input: ReportModelInput): ReportModel {
  const { connections, diagnosis } = input;
  return {
    modelVersion: REPORT_MODEL_VERSION,
    tool: input.tool,
    analysedAt: input.analysedAt,
    files: input.files,
    captures: input.captures,
    overview: buildOverview(input.captures, connections, diagnosis.sessions, compatibilityIdsOf(diagnosis.servers)),
    findings: diagnosis.findings,
    whatIf: diagnosis.whatIf,
    servers: diagnosis.servers,
    clientsSummary: diagnosis.clients,
    timeline: buildTimeline(connections, diagnosis.servers),
    histograms: buildHistograms(connections, diagnosis.servers),
    ...buildClients(connections),
    connections: capConnections(connections, input.connectionCap),
  };
}

function buildOverview(captures: CaptureSummary[], connections: ConnectionRecord[], sessions: Overview['sessions'], compatibilityIds: number): Overview {
  const totals = emptyTotals();
  const outcomes: Record<Outcome, number> = { full: 0, resumed: 0, rejected: 0, aborted: 0, incomplete: 0 };
  const aborts = new Map<string, AbortBreakdown>();
  const reasons = new Map<string, number>();
  for (const c of connections) {
    addToTotals(totals, c);
    outcomes[outcomeOf(c)]++;
    if (c.abort) {
      const how = abortEnding(c)!;
      const key = `${c.abort.stage}|${c.abort.by}|${how}`;
      const entry = aborts.get(key);
      if (entry) entry.count++;
      else aborts.set(key, { stage: c.abort.stage, by: c.abort.by, how, count: 1 });
    }
    if (c.reason) reasons.set(c.reason, (reasons.get(c.reason) ?? 0) + 1);
  }
  const times = captures.flatMap((c) => [c.firstTime, c.lastTime]).filter((t): t is number => t !== null);
  return {
    totals,
    // Of the offers the capture shows answered: an offer without a ServerHello (a cut or one-way
    // capture) says nothing about the cache, nor does a TLS 1.3 client's random session ID.
    resumptionRate: resumptionRate(totals.accepted, totals.rejected, compatibilityIds),
    compatibilityIds,
    outcomes,
    aborts: [...aborts.values()].sort((a, b) => b.count - a.count),
    reasons: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
    // Loops, not Math.min(...times): spreading a million values overflows the stack.
    firstTime: times.length > 0 ? times.reduce((a, b) => (b < a ? b : a)) : null,
    lastTime: times.length > 0 ? times.reduce((a, b) => (b > a ? b : a)) : null,
    packets: captures.reduce((s, c) => s + c.packets, 0),
    bytes: captures.reduce((s, c) => s + c.bytes, 0),
    anomalies: captures.reduce((s, c) => s + c.anomalies.length, 0) + connections.reduce((s, c) => s + c.anomalies.length, 0),
    sessions,
  };
}

// Bucket widths people read without arithmetic.
const TIME_STEPS = [
  // Below a second for short captures (a browser's page load, a test run): one bar per second hid them.
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
];
const COUNT_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000, 200000, 500000, 1000000];

function buildTimeline(connections: ConnectionRecord[], servers: ServerSummary[]): Timeline {
  const flushes = servers.flatMap((s) => s.cachePolicy.flushes.map((f) => ({ time: f.time, group: s.group, sessionsLost: f.sessionsLost })));
  if (connections.length === 0) return { bucketSeconds: 60, buckets: [], flushes };
  let first = Infinity;
  let last = -Infinity;
  for (const c of connections) {
    if (c.startTime < first) first = c.startTime;
    if (c.startTime > last) last = c.startTime;
  }
  const span = Math.max(1, last - first);
  const bucketSeconds = TIME_STEPS.find((s) => span / s <= TARGET_TIMELINE_BUCKETS) ?? Math.ceil(span / TARGET_TIMELINE_BUCKETS);
  const origin = Math.floor(first / bucketSeconds) * bucketSeconds;
  const count = Math.floor((last - origin) / bucketSeconds) + 1;
  const buckets: TimelineBucket[] = [];
  for (let i = 0; i < count; i++) buckets.push({ start: origin + i * bucketSeconds, full: 0, resumed: 0, rejected: 0, aborted: 0, incomplete: 0 });
  for (const c of connections) buckets[Math.floor((c.startTime - origin) / bucketSeconds)]![outcomeOf(c)]++;
  return { bucketSeconds, buckets, flushes };
}

/** The offer-side facts the diagnosis attached to a connection (offerView and issueView in diagnose/track-sessions.ts). */
interface OfferView {
  role: 'offer' | 'issue';
  kind: 'session-id' | 'ticket' | 'psk';
  reuseGap: number | null;
  age: number | null;
  churn: number | null;
  usedSince: number | null;
  crossAddress: boolean;
  issuer: string | null;
}

function sessionOf(c: ConnectionRecord): OfferView | null {
  const s = c.session as OfferView | null | undefined;
  return s && typeof s === 'object' && (s.role === 'offer' || s.role === 'issue') ? s : null;
}

/**
 * Chart samples as two growing typed arrays (value, accepted): a farm's million offers give up to
 * six million samples (three metrics, all groups and their own group), and as { x, accepted }
 * objects with boxed values they were ~500 MB of heap for the HTML report of a 2-million-
 * connection capture (9 bytes a sample here). Doubling arrays rather than the session table's
 * columns: those start at 64 K-entry blocks, ~1.7 MB for each of hundreds of small groups.
 */
export class Samples {
  values = new Float64Array(64);
  accepted = new Uint8Array(64);
  length = 0;

  push(x: number, accepted: boolean): void {
    if (this.length === this.values.length) {
      const values = new Float64Array(this.length * 2);
      values.set(this.values);
      this.values = values;
      const flags = new Uint8Array(this.length * 2);
      flags.set(this.accepted);
      this.accepted = flags;
    }
    this.values[this.length] = x;
    this.accepted[this.length++] = accepted ? 1 : 0;
  }
}

function buildHistograms(connections: ConnectionRecord[], servers: ServerSummary[]): HistogramSet[] {
  type MetricSamples = Record<HistogramMetric, Samples>;
  const empty = (): MetricSamples => ({ reuseGap: new Samples(), age: new Samples(), churn: new Samples(), usedSince: new Samples() });
  const all = empty();
  const byGroup = new Map<string, MetricSamples>();
  const groupKeys = new GroupKeys((c) => groupKeyOf(c).key);
  for (const c of connections) {
    if (c.resumption !== 'accepted' && c.resumption !== 'rejected') continue;
    const s = sessionOf(c);
    if (!s || s.role !== 'offer') continue;
    const accepted = c.resumption === 'accepted';
    const key = groupKeys.of(c);
    let g = byGroup.get(key);
    if (!g) byGroup.set(key, (g = empty()));
    for (const metric of ['reuseGap', 'age', 'churn', 'usedSince'] as const) {
      const x = offerMetric(c, metric);
      if (x === null) continue;
      all[metric].push(x, accepted);
      g[metric].push(x, accepted);
    }
  }
  const serverByGroup = new Map(servers.map((s) => [s.group, s]));
  const referencesFor = (metric: HistogramMetric, groups: ServerSummary[]): ReferenceLine[] => {
    const out: ReferenceLine[] = [];
    for (const s of groups) {
      const p = s.cachePolicy;
      const estimate = metric === 'reuseGap' ? p.idleTimeout : metric === 'age' ? p.lifetime : p.capacity;
      if (estimate.seconds === null) continue;
      // A cache's size on the measure its eviction reads: churn for the earliest issued first (or
      // in parts), the sessions used since for the least recently used; both where either fits.
      // (An LRU cache's line on the churn chart stood left of accepted offers, a wrong-looking edge.)
      const eviction = p.capacity.eviction;
      if (metric === 'churn' && eviction === 'lru') continue;
      if (metric === 'usedSince' && eviction !== 'lru' && eviction !== 'unknown') continue;
      const what = metric === 'reuseGap' ? `idle timeout ${formatDuration(estimate.seconds)}`
        : metric === 'age' ? `lifetime ${formatDuration(estimate.seconds)}`
        : `capacity ${Math.round(estimate.seconds).toLocaleString('en-US')}`;
      out.push({ value: estimate.seconds, label: `inferred ${what}`, group: s.group, confidence: estimate.confidence });
    }
    return out;
  };
  const setFor = (group: string, samples: MetricSamples, groups: ServerSummary[]): HistogramSet => ({
    group,
    reuseGap: histogram('reuseGap', samples.reuseGap, referencesFor('reuseGap', groups)),
    age: histogram('age', samples.age, referencesFor('age', groups)),
    churn: histogram('churn', samples.churn, referencesFor('churn', groups)),
    usedSince: histogram('usedSince', samples.usedSince, referencesFor('usedSince', groups)),
  });
  const sets: HistogramSet[] = [setFor('', all, servers)];
  const ranked = [...byGroup].sort((a, b) => b[1].reuseGap.length + b[1].churn.length - (a[1].reuseGap.length + a[1].churn.length));
  for (const [key, samples] of ranked.slice(0, MAX_HISTOGRAM_GROUPS)) {
    const server = serverByGroup.get(key);
    sets.push(setFor(key, samples, server ? [server] : []));
  }
  return sets;
}

/**
 * Where an answered offer sits on a reuse-gap, age or churn chart; null for a connection the
 * chart leaves out (no answered offer, or a session whose value is unknown).
 */
export function offerMetric(c: ConnectionRecord, metric: HistogramMetric): number | null {
  if (c.resumption !== 'accepted' && c.resumption !== 'rejected') return null;
  const s = sessionOf(c);
  if (!s || s.role !== 'offer') return null;
  const value = s[metric];
  if (value === null || !Number.isFinite(value)) return null;
  // Churn is a session's place in its group's issue order, itself included (1: no newer one);
  // the chart counts the newer sessions, so that a cache of M is the edge at M: every offer left
  // of it accepted, every one from it on evicted ("after M or more newer sessions"). usedSince
  // counts the others already: an LRU cache of M evicted it once M others were used since.
  return metric === 'churn' ? value - 1 : value;
}

/**
 * Whether `value` is a whole number of `width`s. Not `value % width === 0`: in binary floating point
 * 1.2 % 0.1 is 0.0999…, so a limit of 1.2 s was never put on a bin edge of 0.1 s bars, and its
 * line, drawn at the bar that starts at it (12 × 0.1 = 1.2000000000000002), was not drawn.
 */
export function onEdge(value: number, width: number): boolean {
  const steps = value / width;
  return Math.abs(steps - Math.round(steps)) < 1e-9 * Math.max(1, steps);
}

/** The bar of histogram `h` that starts at `value` (a limit's line is drawn there), -1 for none. */
export function binStartingAt(h: Histogram, value: number): number {
  return onEdge(value, h.binWidth) ? h.bins.findIndex((b) => Math.abs(b.start - value) < h.binWidth * 1e-6) : -1;
}

/**
 * The bar of a chart of `binCount` bars `binWidth` wide that a value falls in (the last one is open).
 * A value on an edge belongs to the bar that starts there: 0.3 / 0.1 is 2.9999999999999996 in
 * floating point, which put an offer idle 0.3 s under the bar labelled 0.2s (the division's error,
 * ~1e-16 of it, is far below the nudge; a real value is never within it of an edge unless on it).
 */
export function histogramBinOf(x: number, binWidth: number, binCount: number): number {
  return Math.min(binCount - 1, Math.max(0, Math.floor(x / binWidth + 1e-9)));
}

export function histogram(metric: HistogramMetric, samples: Samples, references: ReferenceLine[]): Histogram {
  const unit = metric === 'churn' || metric === 'usedSince' ? 'sessions' : 'seconds';
  const steps = unit === 'seconds' ? TIME_STEPS : COUNT_STEPS;
  if (samples.length === 0) return { metric, unit, binWidth: steps[0]!, bins: [], references, samples: 0 };
  // A typed array sorts numerically without a comparator call per comparison (a farm's offers
  // are ~10^5 samples per chart: the comparator sort was a third of building the model).
  const xs = samples.values.slice(0, samples.length);
  xs.sort();
  // The 99th percentile, so one straggler does not squash the chart; the rest goes to an open bin.
  const p99 = xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;
  const refMax = references.reduce((m, r) => Math.max(m, r.value), 0);
  // At least a second, or ten sessions: not less for times, whose steps go down to a millisecond
  // (a load balancer's offers all within 28 ms were one bar of a one-second axis).
  const top = Math.max(p99, refMax * 1.6, unit === 'seconds' ? 0.01 : 10);
  let binWidth = steps.find((s) => top / s <= TARGET_HISTOGRAM_BINS) ?? Math.ceil(top / TARGET_HISTOGRAM_BINS);
  // Put every inferred limit on a bin edge, so the cliff is a clean step between two bars.
  while (references.some((r) => !onEdge(r.value, binWidth))) {
    const smaller = [...steps].reverse().find((s) => s < binWidth && references.every((r) => onEdge(r.value, s)) && top / s <= MAX_HISTOGRAM_BINS);
    if (smaller === undefined) break;
    binWidth = smaller;
  }
  const binCount = Math.min(MAX_HISTOGRAM_BINS, Math.floor(top / binWidth) + 1);
  const bins: HistogramBin[] = [];
  // Edges to the microsecond: i × 0.1 is 0.30000000000000004 for i = 3, which labels and filters show.
  const edge = (i: number) => Math.round(i * binWidth * 1e6) / 1e6;
  for (let i = 0; i < binCount; i++) bins.push({ start: edge(i), end: i === binCount - 1 ? null : edge(i + 1), accepted: 0, rejected: 0 });
  for (let i = 0; i < samples.length; i++) {
    const bin = bins[histogramBinOf(samples.values[i]!, binWidth, binCount)]!;
    if (samples.accepted[i] === 1) bin.accepted++;
    else bin.rejected++;
  }
  return { metric, unit, binWidth, bins, references, samples: samples.length };
}

/** Short, stable label of a session key: enough hex to tell sessions apart on screen. */
export function shortSession(hex: string | null): string | null {
  return hex === null ? null : hex.length > 12 ? hex.slice(0, 12) + '…' : hex;
}

function offeredOf(c: ConnectionRecord): { key: string | null; kind: ClientStep['offeredKind'] } {
  // A TLS 1.3 handshake's legacy session ID (RFC 8446 §4.1.2) is no offer: the record says so.
  if (c.resumption === 'not-offered' || c.resumption === 'unknown') return { key: null, kind: null };
  if (c.offer.psk) return { key: c.offeredPskIdentity, kind: 'psk' };
  if (c.offer.ticket) return { key: c.offeredTicket, kind: 'ticket' };
  if (c.offer.sessionId !== null) return { key: c.offer.sessionId, kind: 'session-id' };
  return { key: null, kind: null };
}

/** One client's connections in time order: which server, which session, what happened. */
export function buildClientSequence(connectionsOfClient: ConnectionRecord[]): ClientStep[] {
  const ordered = [...connectionsOfClient].sort((a, b) => a.startTime - b.startTime || a.id - b.id);
  const steps: ClientStep[] = [];
  let previousServer: string | null = null;
  for (const c of ordered.slice(0, MAX_SEQUENCE_STEPS)) {
    const server = `${c.server.ip}:${c.server.port}`;
    const offered = offeredOf(c);
    const resumedWith = c.resumed ? offered.key : null;
    // A TLS 1.3 server echoes the client's legacy session ID (RFC 8446 §4.1.3) and sends its tickets
    // encrypted: no session to show after a TLS 1.3 full handshake.
    const issued = c.issuedTicket ?? (c.resumed || c.version === 'TLS 1.3' ? null : c.serverSessionId);
    const s = sessionOf(c);
    steps.push({
      id: c.id,
      time: c.clientHelloTime ?? c.startTime,
      server,
      group: groupKeyOf(c).key,
      sni: c.sni,
      outcome: outcomeOf(c),
      reason: c.reason ?? null,
      offered: shortSession(offered.key),
      offeredKind: offered.kind,
      session: shortSession(resumedWith ?? issued),
      crossServer: s !== null && s.role === 'offer' && s.crossAddress,
      serverChanged: previousServer !== null && previousServer !== server,
    });
    previousServer = server;
  }
  return steps;
}

/**
 * The clients table and the step sequences of the clients worth looking at first. Counts are kept
 * in columns by client number (numberClients) and servers per client counted by sorting (client,
 * server) pairs: an object, a set and a list per client were ~250 MB of heap for the HTML report of
 * a capture with 580,000 clients. Rows and sequences are made for the clients shown only.
 */
function buildClients(connections: ConnectionRecord[]): { clients: ClientRow[]; clientSequences: Record<string, ClientStep[]> } {
  const { numbers, count } = numberClients(connections);
  const total = new Int32Array(count), offers = new Int32Array(count), accepted = new Int32Array(count);
  const rejected = new Int32Array(count), aborted = new Int32Array(count), crossServerOffers = new Int32Array(count);
  const firstConnection = new Int32Array(count).fill(-1);
  // Server addresses as numbers: no "ip:port" string per connection to hash.
  const serverIds = new Map<string, Map<number, number>>();
  let nextServerId = 0;
  const pairs = new Float64Array(connections.length);
  for (let i = 0; i < connections.length; i++) {
    const c = connections[i]!;
    const client = numbers[i]!;
    if (firstConnection[client] === -1) firstConnection[client] = i;
    total[client]!++;
    if (c.resumption !== 'not-offered' && c.resumption !== 'unknown') offers[client]!++;
    if (c.resumption === 'accepted') accepted[client]!++;
    if (c.resumption === 'rejected') rejected[client]!++;
    if (c.handshake === 'aborted') aborted[client]!++;
    const s = sessionOf(c);
    if (s && s.role === 'offer' && s.crossAddress) crossServerOffers[client]!++;
    const server = c.server;
    let byPort = serverIds.get(server.ip);
    if (byPort === undefined) serverIds.set(server.ip, (byPort = new Map()));
    let serverId = byPort.get(server.port);
    if (serverId === undefined) byPort.set(server.port, (serverId = nextServerId++));
    pairs[i] = client * 2 ** 32 + serverId;
  }
  const servers = new Int32Array(count);
  pairs.sort();
  for (let i = 0; i < pairs.length; i++) {
    if (i === 0 || pairs[i] !== pairs[i - 1]) servers[Math.floor(pairs[i]! / 2 ** 32)]!++;
  }
  const ips: string[] = Array.from(firstConnection, (i) => clientAddress(connections[i]!));
  // The clients worth looking at first: the most failed offers, then the most hops between servers.
  const ranked = Array.from({ length: count }, (_, client) => client).sort((a, b) =>
    rejected[b]! - rejected[a]! || crossServerOffers[b]! - crossServerOffers[a]! || total[b]! - total[a]! || (ips[a]! < ips[b]! ? -1 : 1));
  const rowOf = (client: number): ClientRow => ({
    ip: ips[client]!, connections: total[client]!, offers: offers[client]!, accepted: accepted[client]!, rejected: rejected[client]!,
    aborted: aborted[client]!, servers: servers[client]!, crossServerOffers: crossServerOffers[client]!,
  });
  // The connections of the clients whose sequence is shown, in the order they came.
  const shownSequences = ranked.slice(0, MAX_CLIENT_SEQUENCES);
  const lists = new Map<number, ConnectionRecord[]>(shownSequences.map((client) => [client, []]));
  for (let i = 0; i < connections.length; i++) lists.get(numbers[i]!)?.push(connections[i]!);
  const clientSequences: Record<string, ClientStep[]> = {};
  for (const client of shownSequences) clientSequences[ips[client]!] = buildClientSequence(lists.get(client)!);
  return { clients: ranked.slice(0, MAX_CLIENT_ROWS).map(rowOf), clientSequences };
}

function capConnections(connections: ConnectionRecord[], cap: number): ConnectionList {
  // The app's model embeds none (its table asks the worker): nothing to sort.
  if (cap === 0) return { total: connections.length, cap, selection: 'none', rows: [] };
  const byTime = (a: ConnectionRecord, b: ConnectionRecord) => a.startTime - b.startTime || a.id - b.id;
  if (connections.length <= cap) {
    return { total: connections.length, cap, selection: 'all connections', rows: [...connections].sort(byTime) };
  }
  // Failures are what the reader came for: keep them first, then fill with the rest in time order.
  // A client that forgot its session is one too (the overview counts it among the causes): left to
  // the time-ordered rest, a capped report listed a third of them under their reason.
  const isFailure = (c: ConnectionRecord) => c.resumption === 'rejected' || c.handshake === 'aborted' || c.reason === 'client-forgot';
  const failed = connections.filter(isFailure);
  const rest = connections.filter((c) => !isFailure(c));
  const rows = [...failed.sort(byTime).slice(0, cap), ...rest.sort(byTime).slice(0, Math.max(0, cap - failed.length))].sort(byTime);
  return {
    total: connections.length,
    cap,
    selection: failed.length >= cap ? 'the first rejected, aborted and forgetting connections' : 'every rejected and aborted connection and every client that forgot its session, then the others in time order',
    rows,
  };
}
