import type { ConnectionRecord } from './types.js';

// The flat CSV table of connections, shared by the CLI (--csv) and the app (Export CSV).

/** Flat CSV columns: dotted names are the JSON paths of the same values. */
export const CSV_COLUMNS: [string, (c: ConnectionRecord) => unknown][] = [
  ['id', (c) => c.id],
  ['client.ip', (c) => c.client.ip],
  ['client.port', (c) => c.client.port],
  ['server.ip', (c) => c.server.ip],
  ['server.port', (c) => c.server.port],
  ['startTime', (c) => c.startTime],
  ['clientHelloTime', (c) => c.clientHelloTime],
  ['serverHelloTime', (c) => c.serverHelloTime],
  ['endTime', (c) => c.endTime],
  ['sni', (c) => c.sni],
  ['alpn', (c) => c.alpn],
  ['version', (c) => c.version],
  ['cipher', (c) => c.cipher],
  ['offer.sessionId', (c) => c.offer.sessionId],
  ['offer.ticket', (c) => c.offer.ticket],
  ['offer.psk', (c) => c.offer.psk],
  ['serverSessionId', (c) => c.serverSessionId],
  ['resumption', (c) => c.resumption],
  ['resumedBy', (c) => c.resumedBy],
  ['resumed', (c) => c.resumed],
  ['established', (c) => c.established],
  ['handshake', (c) => c.handshake],
  ['abort.by', (c) => c.abort?.by],
  ['abort.how', (c) => c.abort?.how],
  ['abort.stage', (c) => c.abort?.stage],
  ['history', (c) => c.history],
  ['reason', (c) => c.reason],
  ['file', (c) => c.file],
  ['firstFrame', (c) => c.firstFrame],
  ['anomalies', (c) => c.anomalies.map((a) => a.code).join(' ')],
  // Added after the others: scripts that read columns by position keep working.
  ['proxiedClient.ip', (c) => c.proxiedClient?.ip],
  ['proxiedClient.port', (c) => c.proxiedClient?.port],
  ['proxyHeader', (c) => c.proxyHeader],
  // What the handshake cost beyond a resumption: a spreadsheet sums what the refusals cost.
  ['fullHandshakeOnlyBytes', (c) => c.fullHandshakeOnlyBytes],
  // The offered session's facts the limits are read from (empty for a connection that offered none
  // the analysis knew): a spreadsheet plots its own reuse-gap or churn chart of the refusals.
  ['session.reuseGap', (c) => offeredSessionFact(c, 'reuseGap')],
  ['session.age', (c) => offeredSessionFact(c, 'age')],
  ['session.churn', (c) => offeredSessionFact(c, 'churn')],
  ['session.usedSince', (c) => offeredSessionFact(c, 'usedSince')],
];

/** A number of the session view (diagnose/types.ts SessionView) of a connection that offered a session; undefined otherwise. */
function offeredSessionFact(c: ConnectionRecord, key: 'reuseGap' | 'age' | 'churn' | 'usedSince'): number | null | undefined {
  const session = c.session as Record<string, unknown> | null | undefined;
  if (session === null || typeof session !== 'object' || session.role !== 'offer') return undefined;
  const value = session[key];
  return typeof value === 'number' ? value : null;
}

export function csvHeader(): string {
  return CSV_COLUMNS.map(([name]) => name).join(',') + '\n';
}

export function csvRow(c: ConnectionRecord): string {
  return CSV_COLUMNS.map(([, get]) => csvField(get(c))).join(',') + '\n';
}

/** RFC 4180 quoting; text that a spreadsheet would run as a formula is neutralised. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

/** The whole table as one string (the app's export; the CLI streams rows instead). */
export function connectionsToCsv(connections: Iterable<ConnectionRecord>): string {
  let out = csvHeader();
  for (const c of connections) out += csvRow(c);
  return out;
}
