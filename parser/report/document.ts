import { SCHEMA_VERSION, type AnalysisDocument, type CaptureSummary, type ConnectionRecord, type EncapsulationCounts } from './types.js';

export const TOOL_VERSION = '0.1.0';

/** Connections in the order a reader expects: by first packet, then id. */
export function sortConnections(connections: ConnectionRecord[]): ConnectionRecord[] {
  return connections.sort((a, b) => a.startTime - b.startTime || a.id - b.id);
}

export function buildDocument(captures: CaptureSummary[], connections: ConnectionRecord[], extra: Record<string, unknown> = {}): AnalysisDocument {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'resumescope', version: TOOL_VERSION },
    captures,
    connections: sortConnections(connections),
    ...extra,
  };
}

export interface Totals {
  connections: number;
  offers: number;
  accepted: number;
  rejected: number;
  unanswered: number;
  notOffered: number;
  /** Connections whose ClientHello was not captured or not readable (resumption "unknown"). */
  offerUnknown: number;
  /** Of offerUnknown: ClientHellos the snap length cut (seen sent, their offer not captured). */
  offerCut: number;
  resumed: number;
  complete: number;
  aborted: number;
  incomplete: number;
  abortedByStage: Record<string, number>;
  abortedBy: { client: number; server: number };
  byVersion: Record<string, number>;
  /** Handshakes not seen complete because the capture lost bytes: cut by the snap length, segments missing, a direction missing. */
  handshakesCut: { snaplen: number; missing: number; oneWay: number };
  /** Connections whose client a load balancer's PROXY protocol header named. */
  proxied: number;
  /** Connections a load balancer opened for itself, its PROXY header naming no client (LOCAL, v1 UNKNOWN: health checks). */
  balancerOwn: number;
}

export function emptyTotals(): Totals {
  return {
    connections: 0, offers: 0, accepted: 0, rejected: 0, unanswered: 0, notOffered: 0, offerUnknown: 0, offerCut: 0, resumed: 0,
    complete: 0, aborted: 0, incomplete: 0, abortedByStage: {}, abortedBy: { client: 0, server: 0 }, byVersion: {},
    handshakesCut: { snaplen: 0, missing: 0, oneWay: 0 },
    proxied: 0,
    balancerOwn: 0,
  };
}

/**
 * The resumption rate everywhere it is shown (CLI summary, app, report, servers table): accepted ÷
 * answered offers, without the TLS 1.3 random session IDs among the rejected (most likely no offer:
 * ServerSummary.tls13CompatibilityIds); null when no offer is left.
 */
export function resumptionRate(accepted: number, rejected: number, compatibilityIds = 0): number | null {
  const offers = accepted + rejected - compatibilityIds;
  return offers > 0 ? accepted / offers : null;
}

/** Running counts over connection records (streaming-friendly). */
export function addToTotals(t: Totals, c: ConnectionRecord): void {
  t.connections++;
  switch (c.resumption) {
    case 'accepted': t.offers++; t.accepted++; break;
    case 'rejected': t.offers++; t.rejected++; break;
    case 'unanswered': t.offers++; t.unanswered++; break;
    case 'unknown':
      t.offerUnknown++;
      // Cut by the snap length, not missing from the capture (whose ServerHello then says so).
      if (c.anomalies.some((a) => a.code === 'snaplen') && !c.anomalies.some((a) => a.code === 'no-client-hello')) t.offerCut++;
      break;
    default: t.notOffered++;
  }
  if (c.resumed) t.resumed++;
  if (c.handshake === 'complete') t.complete++;
  else if (c.handshake === 'aborted') t.aborted++;
  else {
    t.incomplete++;
    const anomalies = c.anomalies;
    if (anomalies.length > 0) {
      if (anomalies.some((a) => a.code === 'snaplen')) t.handshakesCut.snaplen++;
      else if (anomalies.some((a) => a.code === 'one-way')) t.handshakesCut.oneWay++;
      else if (anomalies.some((a) => a.code === 'tcp-gap')) t.handshakesCut.missing++;
    }
  }
  if (c.abort) {
    t.abortedByStage[c.abort.stage] = (t.abortedByStage[c.abort.stage] ?? 0) + 1;
    t.abortedBy[c.abort.by]++;
  }
  const v = c.version ?? 'unknown';
  t.byVersion[v] = (t.byVersion[v] ?? 0) + 1;
  if (c.proxiedClient) t.proxied++;
  else if (c.proxyHeader === 'local') t.balancerOwn++;
}

/**
 * Give connections their final ids: 1..N in order of first packet (then endpoints, then file
 * name and frame), so that ids do not depend on file order, packet order or how many threads
 * read the files. (Without the last two, connections alike in time and endpoints, as in two
 * copies of one capture, took the order in which the worker threads happened to finish.)
 */
export function numberConnections(connections: ConnectionRecord[]): ConnectionRecord[] {
  connections.sort((a, b) => a.startTime - b.startTime || compareText(a.client.ip, b.client.ip) || a.client.port - b.client.port ||
    compareText(a.server.ip, b.server.ip) || a.server.port - b.server.port || compareText(a.file, b.file) || a.firstFrame - b.firstFrame);
  connections.forEach((c, i) => {
    c.id = i + 1;
  });
  return connections;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How each kind of tunnel is named to a reader. */
const ENCAPSULATION_LABELS: Record<keyof EncapsulationCounts, string> = {
  vxlan: 'VXLAN', geneve: 'Geneve', gre: 'GRE', erspan: 'ERSPAN', mpls: 'MPLS', ipInIp: 'IP in IP',
};

/**
 * The tunnels the captures' packets were found in, in words ("1,204 packets in VXLAN, 12
 * packets in GRE"), or null for none: a mirror's capture whose connections all came out of VXLAN should
 * say so. `count` formats a number. Documents written before the count existed have none.
 */
export function describeEncapsulation(captures: CaptureSummary[], count: (n: number) => string): string | null {
  const totals = new Map<keyof EncapsulationCounts, number>();
  for (const c of captures) {
    if (!c.encapsulated) continue;
    for (const key of Object.keys(ENCAPSULATION_LABELS) as (keyof EncapsulationCounts)[]) totals.set(key, (totals.get(key) ?? 0) + c.encapsulated[key]);
  }
  const parts = [...totals].filter(([, n]) => n > 0).map(([key, n]) => `${count(n)} packet${n === 1 ? '' : 's'} in ${ENCAPSULATION_LABELS[key]}`);
  return parts.length === 0 ? null : parts.join(', ');
}
