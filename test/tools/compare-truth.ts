// Compares an analysis with the simulator's ground truth: per-connection reasons and
// outcomes, and the inferred cache policy per service. Used by the simulator tests and
// by hand: node dist/test/tools/compare-truth.js capture.pcap [truth.json]
import { readFileSync } from 'node:fs';
import type { AnalysisDocument, ConnectionRecord } from '../../parser/report/types.js';
import type { GroundTruth, TruthConnection } from '../../fixtures/simulator/farm.js';

export interface TruthComparison {
  matched: number;
  unmatched: number;
  /** truth reason → our reason → count (reasons only for rejected/forgotten connections). */
  confusion: Record<string, Record<string, number>>;
  reasonAgreement: number;
  outcomeAgreement: number;
  /**
   * Of the refusals given another reason than the truth's, those refused by another backend whose
   * issuing backend would have refused them too, for the reason given (two causes at once: the
   * truth names the backend first).
   */
  secondCause: number;
}

/**
 * Our reason names for the truth's: tickets rotated out, or sealed under a key no server holds,
 * are refused for their ticket key, which the analysis calls a flush of the ticket keys.
 */
export function mapTruthReason(reason: string | null): string | null {
  return reason === 'ticket-key-rotated' || reason === 'ticket-key-unknown' ? 'flush' : reason;
}

export function compareWithTruth(doc: AnalysisDocument, truth: GroundTruth): TruthComparison {
  const key = (ip: string, port: number, sip: string, sport: number) => `${ip}:${port}>${sip}:${sport}`;
  const ours = new Map<string, ConnectionRecord[]>();
  for (const c of doc.connections) {
    // The truth names each connection's client; behind a PROXY-protocol balancer, so does the header.
    const client = c.proxiedClient ?? c.client;
    const k = key(client.ip, client.port, c.server.ip, c.server.port);
    (ours.get(k) ?? ours.set(k, []).get(k)!).push(c);
  }
  const confusion: Record<string, Record<string, number>> = {};
  let matched = 0, unmatched = 0, reasonOk = 0, reasonTotal = 0, outcomeOk = 0, secondCause = 0;
  for (const t of truth.connections) {
    const list = ours.get(key(t.clientIp, t.clientPort, t.serverIp, t.serverPort)) ?? [];
    const c = list.find((x) => Math.abs(x.startTime - t.startTime) < 0.001);
    if (!c) { unmatched++; continue; }
    matched++;
    if (outcomeOf(c) === t.outcome) outcomeOk++;
    const expected = mapTruthReason(t.reason);
    const got = c.reason ?? null;
    if (expected !== null || got !== null) {
      reasonTotal++;
      if (expected === got) reasonOk++;
      else if (t.reasonAtIssuer != null && mapTruthReason(t.reasonAtIssuer) === got) secondCause++;
      const row = (confusion[expected ?? 'none'] ??= {});
      row[got ?? 'none'] = (row[got ?? 'none'] ?? 0) + 1;
    }
  }
  return { matched, unmatched, confusion, reasonAgreement: reasonTotal === 0 ? 1 : reasonOk / reasonTotal, outcomeAgreement: matched === 0 ? 0 : outcomeOk / matched, secondCause };
}

export function outcomeOf(c: ConnectionRecord): TruthConnection['outcome'] {
  if (c.handshake === 'aborted') return 'aborted';
  if (c.resumption === 'accepted') return 'resumed';
  if (c.resumption === 'rejected') return 'rejected';
  return 'full';
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/dist\//, ''))) {
  const [docPath, truthPath] = process.argv.slice(2);
  const doc = JSON.parse(readFileSync(docPath!, 'utf8')) as AnalysisDocument;
  const truth = JSON.parse(readFileSync(truthPath!, 'utf8')) as GroundTruth;
  const r = compareWithTruth(doc, truth);
  console.log(JSON.stringify({ ...r, servers: (doc.servers as { group: string; cachePolicy: unknown }[]).map((s) => ({ group: s.group, policy: s.cachePolicy })), truthPolicies: truth.services.map((s) => ({ sni: s.sni, policy: s.policy, flushTimes: s.flushTimes, backends: s.backends, shared: s.sharedCache })) }, null, 1));
}
