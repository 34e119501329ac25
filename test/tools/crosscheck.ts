// Compares resumescope with tshark, field by field, on every capture in a folder:
//   npm run crosscheck -- <folder or files…>
// Prints each disagreement; exits 1 when a field disagrees, 0 otherwise. Connections
// that only one side sees are listed too (tshark does not dissect TLS behind some
// proxies, and only TLS-over-TCP is in scope here).
import { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import { analyzeFiles, resolveInputs } from '../../app/node/analyze-files.js';
import type { ConnectionRecord } from '../../parser/report/types.js';
import { tsharkAvailable, tsharkConnectionFacts, tsharkTlsOverUdp, type TsharkConnection } from '../support/tshark.js';

export interface Disagreement {
  file: string;
  connection: string;
  field: string;
  ours: unknown;
  tshark: unknown;
}

export interface CrosscheckResult {
  file: string;
  connections: number;
  tsharkConnections: number;
  compared: number;
  /** Connections whose fullHandshakeOnlyBytes was compared (resumescope knew it: the handshake seen whole). */
  bytesCompared: number;
  disagreements: Disagreement[];
  onlyOurs: string[];
  onlyTshark: string[];
}

const endpointKey = (a: { ip: string; port: number }, b: { ip: string; port: number }) => `${a.ip}:${a.port} -> ${b.ip}:${b.port}`;

/** The fields both tools report, as tshark states them. */
function comparable(c: ConnectionRecord): Record<string, unknown> {
  return {
    sni: c.sni,
    version: c.version,
    cipher: c.cipher,
    offeredSessionId: c.offer.sessionId,
    ticketOffered: c.offer.ticket,
    pskOffered: c.offer.psk,
    serverSessionId: c.serverSessionId,
    helloRetry: c.helloRetry,
    resumedBy: c.resumption === 'accepted' ? c.resumedBy : null,
    alpn: c.alpn,
    fullHandshakeOnlyBytes: c.fullHandshakeOnlyBytes,
  };
}

function tsharkComparable(t: TsharkConnection): Record<string, unknown> {
  return {
    sni: t.sni,
    version: t.version,
    cipher: t.cipher,
    offeredSessionId: t.offeredSessionId,
    ticketOffered: t.ticketOffered,
    pskOffered: t.pskOffered,
    serverSessionId: t.serverSessionId,
    helloRetry: t.helloRetry,
    resumedBy: t.resumed ? t.resumedBy : null,
    alpn: t.alpn,
    fullHandshakeOnlyBytes: t.fullHandshakeOnlyBytes,
  };
}

export async function crosscheckFile(file: string): Promise<CrosscheckResult> {
  const ours: ConnectionRecord[] = [];
  const analysis = await analyzeFiles([{ path: file, size: (await fs.stat(file)).size }], { onConnection: (c) => ours.push(c) });
  // tshark counts a TCP stream as TLS when it holds a ClientHello: compare the same set.
  const withHello = ours.filter((c) => c.clientHelloTime !== null);
  // tshark is told which ports carry TLS (where resumescope found it by content); what it reads there is its own.
  const theirs = tsharkConnectionFacts(file, { tlsPorts: ours.map((c) => c.server.port) }).filter((t) => t.clientHelloCount > 0);
  const result: CrosscheckResult = { file, connections: withHello.length, tsharkConnections: theirs.length, compared: 0, bytesCompared: 0, disagreements: [], onlyOurs: [], onlyTshark: [] };
  const pool = new Map<string, ConnectionRecord[]>();
  for (const c of withHello) {
    const key = endpointKey(c.client, c.server);
    (pool.get(key) ?? pool.set(key, []).get(key)!).push(c);
  }
  for (const t of theirs) {
    const key = endpointKey(t.client, t.server);
    const candidates = pool.get(key) ?? [];
    const c = candidates.shift();
    if (!c) {
      result.onlyTshark.push(`tcp.stream ${t.tcpStream} ${key}`);
      continue;
    }
    result.compared++;
    const a = comparable(c);
    const b = tsharkComparable(t);
    for (const field of Object.keys(b)) {
      // Known only of a handshake the capture showed complete and whole (tshark's reduction does not tell).
      if (field === 'fullHandshakeOnlyBytes' && a[field] === null) continue;
      if (field === 'fullHandshakeOnlyBytes') result.bytesCompared++;
      if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) {
        result.disagreements.push({ file, connection: `tcp.stream ${t.tcpStream} ${key} (ours: id ${c.id})`, field, ours: a[field], tshark: b[field] });
      }
    }
  }
  for (const rest of pool.values()) for (const c of rest) result.onlyOurs.push(`id ${c.id} ${endpointKey(c.client, c.server)}`);
  // TLS over UDP is only counted: the counts, per file.
  const oursOverUdp = analysis.captures[0]?.tlsOverUdp;
  const theirsOverUdp = tsharkTlsOverUdp(file);
  for (const field of ['quicHandshakeDatagrams', 'dtlsDatagrams'] as const) {
    if (oursOverUdp?.[field] !== theirsOverUdp[field]) {
      result.disagreements.push({ file, connection: 'the capture (TLS over UDP)', field: `tlsOverUdp.${field}`, ours: oursOverUdp?.[field], tshark: theirsOverUdp[field] });
    }
  }
  return result;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    process.stderr.write('usage: npm run crosscheck -- <capture folder or files…>\n');
    return 2;
  }
  if (!tsharkAvailable()) {
    process.stderr.write('crosscheck: tshark is not installed (Debian package "tshark")\n');
    return 2;
  }
  const { files, problems } = await resolveInputs(argv);
  for (const p of problems) process.stderr.write(`crosscheck: ${p.path}: ${p.reason}\n`);
  let disagreements = 0;
  let compared = 0;
  for (const f of files) {
    let r: CrosscheckResult;
    try {
      r = await crosscheckFile(f.path);
    } catch (e) {
      process.stdout.write(`${basename(f.path)}: could not compare: ${e instanceof Error ? e.message : String(e)}\n`);
      continue;
    }
    compared += r.compared;
    disagreements += r.disagreements.length;
    const status = r.disagreements.length === 0 ? 'agree' : `${r.disagreements.length} disagreements`;
    process.stdout.write(`${basename(f.path)}: ${r.compared} connections compared (ours ${r.connections}, tshark ${r.tsharkConnections}): ${status}\n`);
    for (const d of r.disagreements) process.stdout.write(`  ${d.connection}: ${d.field}: ours ${JSON.stringify(d.ours)}, tshark ${JSON.stringify(d.tshark)}\n`);
    for (const o of r.onlyOurs) process.stdout.write(`  only resumescope sees a ClientHello in ${o}\n`);
    for (const o of r.onlyTshark) process.stdout.write(`  only tshark sees a ClientHello in ${o}\n`);
  }
  process.stdout.write(`crosscheck: ${files.length} files, ${compared} connections compared, ${disagreements} field disagreements\n`);
  return disagreements > 0 ? 1 : 0;
}

if (process.argv[1]?.endsWith('crosscheck.js')) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { console.error(e); process.exitCode = 2; });
}
