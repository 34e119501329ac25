import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConnectionStore, snapshotBuffers, type StoredConnection } from '../../parser/report/connection-store.js';
import { ByteWriter } from '../../parser/report/byte-writer.js';
import { sessionKey, type HexField } from '../../parser/session/session-keys.js';
import { diagnose } from '../../parser/diagnose/diagnose.js';
import { numberConnections } from '../../parser/report/document.js';
import type { ConnectionRecord, ConnectionSink } from '../../parser/report/types.js';
import { CLIENT_RANDOM_HASH } from '../../parser/report/types.js';
import { Analysis } from '../../parser/analysis.js';
import { simulateFarm } from '../../fixtures/simulator/farm.js';
import { presetConfig } from '../../fixtures/simulator/presets.js';
import { analyzeChunks } from '../support/pipeline.js';

// The column store must give back every key of every record exactly: the diagnosis, the report
// and the pcapng export read stored rows as if they were the records.

const dir = fileURLToPath(new URL('../../fixtures/captures/', import.meta.url));
const realRecords = (): ConnectionRecord[] =>
  readdirSync(dir).filter((f) => /\.(pcap|pcapng)$/.test(f)).flatMap((f) => analyzeChunks(f, [readFileSync(dir + f)]).connections);

/** The JSON the output pass writes for a stored row (UTF-8 bytes, decoded). */
function jsonText(view: StoredConnection): string {
  const out = new ByteWriter(16);
  view.writeJson(out);
  return new TextDecoder('utf-8', { fatal: true }).decode(out.view());
}

function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

describe('ConnectionStore', () => {
  it('gives back every recorded connection of the real captures, key for key', () => {
    const records = realRecords();
    expect(records.length).toBeGreaterThan(20);
    const store = new ConnectionStore();
    const views = records.map((r) => store.add(r));
    views.forEach((view, i) => {
      expect(plain(view)).toEqual(plain(records[i]));
      for (const key of Object.keys(records[i]!) as Exclude<keyof ConnectionRecord, symbol>[]) expect(view[key], key).toEqual(records[i]![key]);
      // The ClientHello random's hash (not part of the output: a symbol key) is kept too.
      expect(view[CLIENT_RANDOM_HASH]).toBe(records[i]![CLIENT_RANDOM_HASH]);
      if (records[i]!.clientHelloTime !== null) expect(view[CLIENT_RANDOM_HASH]).not.toBe(0);
      // The output pass writes the text straight from the columns: byte for byte what JSON.stringify gives.
      expect(jsonText(view)).toBe(JSON.stringify(view));
    });
  });

  it('as the analysis\'s sink, holds the records a function is given: connections recorded at their close are settled', () => {
    // Real captures and a simulated farm (its connections' last ACKs come after the close).
    const inputs: [string, Uint8Array[]][] = readdirSync(dir).filter((f) => /\.(pcap|pcapng)$/.test(f)).map((f) => [f, [readFileSync(dir + f)]]);
    const farm: Uint8Array[] = [];
    simulateFarm(presetConfig('mixed', 0.2, 7), (chunk) => void farm.push(chunk.slice()));
    inputs.push(['mixed.pcap', farm]);
    const analyse = (name: string, chunks: Uint8Array[], to: ConnectionSink | ((r: ConnectionRecord) => void)) => {
      const analysis = new Analysis(to);
      const ingest = analysis.openFile(name);
      for (const chunk of chunks) ingest.push(chunk);
      ingest.finish();
      analysis.finish();
    };
    let settledLater = 0;
    for (const [name, chunks] of inputs) {
      const given: ConnectionRecord[] = [];
      analyse(name, chunks, (r) => given.push(r));
      const store = new ConnectionStore();
      const packetsWhenRecorded = new Map<number, number>();
      analyse(name, chunks, {
        record: (r) => {
          const row = store.record(r);
          packetsWhenRecorded.set(row, r.packets);
          return row;
        },
        settle: (row, packets, endTime) => {
          expect(packetsWhenRecorded.has(row), `${name}: row ${row} settled once, after its record`).toBe(true);
          if (packetsWhenRecorded.get(row) !== packets) settledLater++;
          packetsWhenRecorded.delete(row);
          store.settle(row, packets, endTime);
        },
      });
      expect(packetsWhenRecorded.size, `${name}: every record settled`).toBe(0);
      // (Stored rows read reason and session as null before the diagnosis; records lack the keys.)
      const undiagnosed = (r: ConnectionRecord) => ({ reason: null, session: null, ...(plain(r) as object) });
      expect(numberConnections(store.views()).map(undiagnosed), name).toEqual(numberConnections(given).map(undiagnosed));
    }
    // The farm's sealed connections had packets after their record was made.
    expect(settledLater).toBeGreaterThan(100);
  });

  it('gives the session table the same keys from its bytes as from the hex text, odd values included', () => {
    const [base] = realRecords();
    const store = new ConnectionStore();
    const records: ConnectionRecord[] = [
      ...realRecords(),
      { ...base!, offer: { sessionId: 'ABCDEF', ticket: true, psk: true }, serverSessionId: 'abc', issuedTicket: 'f'.repeat(600), offeredTicket: '', offeredPskIdentity: '00' },
      { ...base!, offer: { sessionId: 'zz', ticket: false, psk: false }, serverSessionId: null, issuedTicket: null, offeredTicket: null, offeredPskIdentity: null },
    ];
    const fields: [HexField, (r: ConnectionRecord) => string | null][] = [
      ['offerSessionId', (r) => r.offer.sessionId], ['serverSessionId', (r) => r.serverSessionId], ['issuedTicket', (r) => r.issuedTicket],
      ['offeredTicket', (r) => r.offeredTicket], ['offeredPskIdentity', (r) => r.offeredPskIdentity],
    ];
    for (const record of records) {
      const view = store.add(record);
      expect([view.offersTicket, view.offersPsk]).toEqual([record.offer.ticket, record.offer.psk]);
      for (const [field, value] of fields) {
        for (const kind of ['session-id', 'ticket', 'psk'] as const) {
          const hex = value(record);
          expect(view.sessionKeyOf(field, kind), field).toBe(hex === null ? null : sessionKey(kind, hex));
        }
      }
    }
  });

  it('keeps values the columns cannot hold natively: uint32 hints, huge frame numbers, odd or upper-case hex, nulls', () => {
    const [base] = realRecords();
    const store = new ConnectionStore();
    const odd: ConnectionRecord = {
      ...base!, ticketLifetimeHint: 0xffffffff, firstFrame: 2 ** 40, offer: { sessionId: 'ABCDEF', ticket: true, psk: true },
      serverSessionId: 'abc', issuedTicket: 'f'.repeat(600), offeredTicket: '', offeredPskIdentity: '00',
      clientHelloTime: null, serverHelloTime: null, sni: null, alpn: null, version: null, cipher: null, clientFingerprint: null,
    };
    const view = store.add(odd);
    expect(plain(view)).toEqual(plain(odd));
    expect(jsonText(view)).toBe(JSON.stringify(view));
    // Ports share one Int32 and the frame number and hint are uint32 there: the edges of each
    // encoding, and values outside them (kept aside), come back as they went in.
    for (const numbers of [
      { client: { ip: '10.0.0.1', port: 65535 }, server: { ip: '10.0.0.2', port: 0 }, firstFrame: 0xffffffff, ticketLifetimeHint: 0 },
      { client: { ip: '10.0.0.1', port: 0 }, server: { ip: '10.0.0.2', port: 65535 }, firstFrame: 2 ** 31, ticketLifetimeHint: 2 ** 31 },
      { client: { ip: '10.0.0.1', port: 65536 }, server: { ip: '10.0.0.2', port: 443 }, firstFrame: 7, ticketLifetimeHint: null },
      { client: { ip: '10.0.0.1', port: 1 }, server: { ip: '10.0.0.2', port: 443 }, firstFrame: 1.5, ticketLifetimeHint: 2 ** 32 },
    ]) {
      const stored = store.add({ ...base!, ...numbers });
      expect([stored.client, stored.server, stored.firstFrame, stored.ticketLifetimeHint]).toEqual([numbers.client, numbers.server, numbers.firstFrame, numbers.ticketLifetimeHint]);
      expect(jsonText(stored)).toBe(JSON.stringify(stored));
    }
    // Text that needs escaping, and a session value of another shape.
    const hostile = store.add({ ...base!, sni: 'a"b\\c\u0001\u2028', history: '\ud800', reason: 'x"y', reasonDetail: 'tab\there', session: { custom: [1, null, 'q"'] } });
    // Addresses that need escaping or are not ASCII: the Wireshark filter is escaped as a whole.
    const oddAddress = store.add({ ...base!, client: { ip: 'fe80::1"%eth0', port: 1 }, server: { ip: 'h\u00e9te', port: 2 } });
    expect(jsonText(oddAddress)).toBe(JSON.stringify(oddAddress));
    expect(jsonText(hostile)).toBe(JSON.stringify(hostile));
    expect(JSON.parse(jsonText(hostile)).sni).toBe('a"b\\c\u0001\u2028');
    // Many values: blocks of rows and of hex bytes fill and roll over.
    const ids = Array.from({ length: 40_000 }, (_, i) => i.toString(16).padStart(64, '0'));
    const many = ids.map((sessionId, i) => store.add({ ...base!, id: i, offer: { sessionId, ticket: false, psk: false }, serverSessionId: sessionId }));
    expect(many[39_999]!.offer.sessionId).toBe(ids[39_999]);
    expect(many[12_345]!.serverSessionId).toBe(ids[12_345]);
    expect(many[16_384]!.id).toBe(16_384);
    expect(store.count).toBe(40_007);
  });

  it('stores what the diagnosis writes (reason, detail, session view) and the diagnosis gives the same answer on stored rows', () => {
    const records = realRecords();
    const store = new ConnectionStore();
    const stored = records.map((r) => store.add(structuredClone(r)));
    numberConnections(records);
    numberConnections(stored);
    const direct = diagnose(records);
    const fromStore = diagnose(stored);
    expect(plain(fromStore)).toEqual(plain(direct));
    const byId = new Map(records.map((r) => [r.id, r]));
    let withSession = 0;
    for (const view of stored) {
      const record = byId.get(view.id)!;
      expect(view.reason).toEqual(record.reason ?? null);
      expect(view.reasonDetail).toEqual(record.reasonDetail);
      expect(plain(view.session)).toEqual(plain(record.session ?? null));
      if (view.session !== null) withSession++;
      expect(jsonText(view)).toBe(JSON.stringify(view));
    }
    expect(withSession).toBeGreaterThan(10);
    // A session value of another shape is kept as it is.
    stored[0]!.session = { note: 'custom' };
    expect(stored[0]!.session).toEqual({ note: 'custom' });
    stored[0]!.session = null;
    expect(stored[0]!.session).toBeNull();
  });

  it('writes JSON.stringify\'s text whichever of the values written as one piece when null or empty are set', () => {
    // The writer joins the text around null or empty values (abort, anomalies, hint, tickets, PSK
    // identity, alerts, PROXY client, reason, a fresh session's facts) into one piece: each must still come out
    // right on its own and in any combination.
    const base = realRecords().find((r) => r.established && r.abort === null && r.alerts.length === 0)!;
    const variants: ((r: ConnectionRecord) => void)[] = [
      (r) => { r.abort = { by: 'client', how: 'rst', stage: 'after-server-hello', frame: 7, time: 1, file: 'f' }; },
      (r) => { r.anomalies = [{ kind: 'gap', code: 'tcp-gap', message: 'm', file: 'f', frame: 3 }]; },
      (r) => { r.ticketLifetimeHint = 7200; },
      (r) => { r.issuedTicket = 'ab'.repeat(16); },
      (r) => { r.offeredTicket = 'cd'.repeat(16); },
      (r) => { r.offeredPskIdentity = 'ef'.repeat(16); },
      (r) => { r.alerts = [{ by: 'server', level: 2, description: 40, time: 2 }]; },
      (r) => { r.helloRetry = !r.helloRetry; r.ticketIssued = !r.ticketIssued; r.certificateSeen = !r.certificateSeen; },
      (r) => { r.proxiedClient = { ip: '2001:db8::7', port: 56324 }; },
    ];
    const sessions: unknown[] = [
      null,
      { role: 'issue', kind: 'session-id', known: true, issuedBy: 1, issuedAt: 5, age: 0, reuseGap: null, churn: null, abortedBy: null, crossAddress: false, issuer: '10.0.0.1:443' },
      { role: 'issue', kind: 'ticket', known: true, issuedBy: 1, issuedAt: 5, age: 0, reuseGap: null, churn: null, abortedBy: null, crossAddress: true, issuer: null },
      { role: 'offer', kind: 'psk', known: true, issuedBy: 1, issuedAt: 5, age: 0, reuseGap: 0, churn: 0, abortedBy: null, crossAddress: false, issuer: 'x' },
      { role: 'offer', kind: 'psk', known: false, issuedBy: null, issuedAt: null, age: 1.5, reuseGap: null, churn: null, abortedBy: 9, crossAddress: false, issuer: null },
    ];
    const store = new ConnectionStore();
    let checked = 0;
    for (let mask = 0; mask < 1 << variants.length; mask++) {
      for (const [reason, detail] of [[null, undefined], ['flush', undefined], ['flush', 'why']] as const) {
        const record: ConnectionRecord = structuredClone(base);
        variants.forEach((apply, i) => { if (mask & (1 << i)) apply(record); });
        const view = store.add(record);
        view.reason = reason;
        view.reasonDetail = detail;
        view.session = sessions[checked % sessions.length];
        expect(jsonText(view)).toBe(JSON.stringify(view));
        checked++;
      }
    }
    expect(checked).toBe(3 << variants.length);
  });

  it('rebuilds a worker\'s store from its moved snapshot: strings, hex values, rare fields and diagnosis fields survive the transfer', () => {
    const records = realRecords();
    const worker = new ConnectionStore();
    const odd = { ...records[0]!, offer: { sessionId: 'XYZ', ticket: false, psk: false }, reason: 'flush', reasonDetail: 'd', session: { other: 1 }, firstFrame: 2 ** 40 };
    const all = [...records, odd];
    for (const r of all) worker.add(r);
    // As postMessage moves it: a structured clone with the typed arrays transferred.
    const snapshot = worker.snapshot();
    const moved = structuredClone(snapshot, { transfer: snapshotBuffers(snapshot) });
    const store = new ConnectionStore();
    store.append(moved);
    const views = store.views();
    expect(views).toHaveLength(all.length);
    all.forEach((r, i) => {
      expect(plain(views[i])).toEqual(plain(r));
      expect(jsonText(views[i]!)).toBe(JSON.stringify(views[i]));
    });
    // The store keeps working: new rows, strings and hex values land after the adopted ones.
    const after = store.add({ ...records[0]!, sni: 'new.example', offer: { sessionId: 'ab'.repeat(32), ticket: false, psk: false } });
    expect(after.sni).toBe('new.example');
    expect(after.offer.sessionId).toBe('ab'.repeat(32));
    expect(plain(views[0])).toEqual(plain(records[0]));
    expect(store.count).toBe(all.length + 1);
  });

  it('appends several workers\' snapshots after its own rows: one view class, pools and hex values translated', () => {
    const records = realRecords();
    const main = new ConnectionStore();
    const own = records.slice(0, 5).map((r) => main.add({ ...r, sni: 'main-only.example' }));
    const shared = 'cd'.repeat(32);
    const resumed = { ...records[1]!, offer: { sessionId: shared, ticket: false, psk: false }, serverSessionId: shared };
    const workers = [
      [...records, resumed, { ...records[0]!, offer: { sessionId: 'not hex', ticket: false, psk: false }, reason: 'flush' }],
      [{ ...records[2]!, sni: 'second-worker.example', issuedTicket: 'ef'.repeat(100), session: { other: 2 } }, ...records.slice(0, 3)],
    ];
    for (const rows of workers) {
      const worker = new ConnectionStore();
      for (const r of rows) worker.add(r);
      const snapshot = worker.snapshot();
      main.append(structuredClone(snapshot, { transfer: snapshotBuffers(snapshot) }));
    }
    expect(main.count).toBe(5 + workers[0]!.length + workers[1]!.length);
    const views = main.views();
    // Rows in order: the main store's own, then each worker's.
    const appended = [views.slice(5, 5 + workers[0]!.length), views.slice(5 + workers[0]!.length)];
    workers.forEach((rows, w) => rows.forEach((r, i) => {
      const view = appended[w]![i]!;
      expect(plain(view)).toEqual(plain(r));
      expect(jsonText(view)).toBe(JSON.stringify(view));
      // The diagnosis and the writer see one class of view, whichever worker a row came from.
      expect(Object.getPrototypeOf(view)).toBe(Object.getPrototypeOf(own[0]));
    }));
    own.forEach((view, i) => {
      expect(view.sni).toBe('main-only.example');
      expect(plain(views[i])).toEqual(plain(view));
    });
    // New rows after the appended ones still get their own values.
    expect(main.add({ ...records[0]!, offer: { sessionId: 'ab'.repeat(32), ticket: false, psk: false } }).offer.sessionId).toBe('ab'.repeat(32));
  });
});

describe('numberConnections', () => {
  it('orders connections alike in time and endpoints (copies of one capture) by file, then frame, whatever order they arrive in', () => {
    const base = realRecords()[0]!;
    const twins = [
      { ...base, file: 'copy-b.pcap', firstFrame: 1 },
      { ...base, file: 'copy-a.pcap', firstFrame: 9 },
      { ...base, file: 'copy-a.pcap', firstFrame: 1 },
    ];
    const expected = ['copy-a.pcap#1', 'copy-a.pcap#9', 'copy-b.pcap#1'];
    for (const arrival of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
      const numbered = numberConnections(arrival.map((i) => ({ ...twins[i]! })));
      expect(numbered.map((c) => `${c.file}#${c.firstFrame}`)).toEqual(expected);
      expect(numbered.map((c) => c.id)).toEqual([1, 2, 3]);
    }
  });
});
