// Whole TCP conversations through FlowTable → TlsConnection → ConnectionRecord.
// Handshake flows: RFC 5246 §7.3 (full), §7.3 Figure 2 (abbreviated, session ID),
// RFC 5077 §3.1-3.4 (tickets), RFC 8446 §2.2 (PSK), §4.1.4 (HelloRetryRequest),
// Appendix D.4 (middlebox compatibility). History letters: Zeek ssl_history.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Analysis } from '../../parser/analysis.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TcpPacket } from '../../parser/net/decode-packet.js';
import type { ConnectionRecord, ConnectionSink } from '../../parser/report/types.js';
import { FlowTable } from '../../parser/tcp/flow-table.js';
import { TlsConnection } from '../../parser/session/tls-connection.js';
import {
  ascii, ccsRecord, clientHelloRecord, concat, CT, encryptedRecord, ethernet, ext, fill, handshake, HRR_RANDOM, HS, ipv4, pcapFile,
  serverHelloBody, tcp, tlsRecord, u32be, vec,
} from './bytes.js';

const CLIENT = { ip: [10, 0, 0, 1], port: 51000 };
const SERVER = { ip: [10, 0, 0, 2], port: 443 };

/** One TCP conversation fed packet by packet into a FlowTable. Side 0 = client. */
class Conversation {
  readonly seq: [number, number];
  time: number;
  frame = 0;
  readonly clientIp: number[];
  readonly serverIp: number[];
  /**
   * As tcpdump -s: at most this many payload bytes of each packet kept (client's, server's), the
   * rest counted missing; null: whole. (Headers of different lengths leave each side its own share.)
   */
  snap: [number, number] | null = null;
  constructor(
    readonly table: FlowTable,
    opts: { clientIsn?: number; serverIsn?: number; time?: number; clientPort?: number; clientIp?: number[]; serverIp?: number[] } = {},
    readonly clientPort = opts.clientPort ?? CLIENT.port,
  ) {
    this.seq = [opts.clientIsn ?? 1_000_000, opts.serverIsn ?? 3_000_000_000];
    this.time = opts.time ?? 1_700_000_000;
    this.clientIp = opts.clientIp ?? CLIENT.ip;
    this.serverIp = opts.serverIp ?? SERVER.ip;
  }

  packet(from: 0 | 1, flags: number, payload: Uint8Array = new Uint8Array(0), opts: { seq?: number; ack?: number; advance?: boolean } = {}): void {
    const p = new TcpPacket();
    p.ipVersion = 4;
    p.source = Uint8Array.from(from === 0 ? this.clientIp : this.serverIp);
    p.destination = Uint8Array.from(from === 0 ? this.serverIp : this.clientIp);
    p.sourcePort = from === 0 ? this.clientPort : SERVER.port;
    p.destinationPort = from === 0 ? SERVER.port : this.clientPort;
    p.sequence = opts.seq ?? this.seq[from];
    p.acknowledgment = opts.ack ?? this.seq[from === 0 ? 1 : 0];
    p.flags = flags;
    const keep = this.snap === null ? payload.length : this.snap[from];
    p.payload = payload.length > keep ? payload.subarray(0, keep) : payload;
    p.missingPayload = payload.length - p.payload.length;
    if (opts.advance !== false) {
      let length = payload.length;
      if (flags & (TCP_SYN | TCP_FIN)) length += 1;
      this.seq[from] = (this.seq[from] + length) >>> 0;
    }
    this.time += 0.001;
    this.table.onPacket(p, this.time, ++this.frame, 'test.pcap');
  }

  open(): this {
    this.packet(0, TCP_SYN, undefined, { ack: 0 });
    this.packet(1, TCP_SYN | TCP_ACK);
    this.packet(0, TCP_ACK);
    return this;
  }
  client(...records: Uint8Array[]): this {
    this.packet(0, TCP_PSH | TCP_ACK, concat(...records));
    return this;
  }
  server(...records: Uint8Array[]): this {
    this.packet(1, TCP_PSH | TCP_ACK, concat(...records));
    return this;
  }
  ackFrom(side: 0 | 1): this {
    this.packet(side, TCP_ACK);
    return this;
  }
  fin(side: 0 | 1): this {
    this.packet(side, TCP_FIN | TCP_ACK);
    return this;
  }
  rst(side: 0 | 1): this {
    this.packet(side, TCP_RST | TCP_ACK);
    return this;
  }
}

function newTable(): { table: FlowTable; records: ConnectionRecord[] } {
  const records: ConnectionRecord[] = [];
  return { table: new FlowTable((r) => records.push(r)), records };
}

function only(records: ConnectionRecord[]): ConnectionRecord {
  expect(records).toHaveLength(1);
  return records[0]!;
}

// ---- TLS flights ----

const SID_A = fill(32, 0xa1);
const SID_B = fill(32, 0xb2);
const hs = (...messages: Uint8Array[]) => tlsRecord(CT.handshake, concat(...messages));
const serverHello = (o: Parameters<typeof serverHelloBody>[0]) => handshake(HS.serverHello, serverHelloBody(o));
const certificate = handshake(HS.certificate, vec(3, vec(3, fill(200, 0x30))));
const serverKeyExchange = handshake(HS.serverKeyExchange, fill(100, 0x4b));
const serverHelloDone = handshake(HS.serverHelloDone, []);
const clientKeyExchange = handshake(HS.clientKeyExchange, vec(1, fill(32, 0x6b)));
const newSessionTicket = handshake(HS.newSessionTicket, concat(u32be(7200), vec(2, fill(120, 0x7e))));
/** A TLS 1.2 Finished after CCS: an encrypted handshake record. */
const finished12 = () => encryptedRecord(CT.handshake, 40);
const appData = () => encryptedRecord(CT.applicationData, 60);

function tls12Full(c: Conversation, o: { clientSessionId?: Uint8Array; serverSessionId?: Uint8Array; ticket?: Uint8Array; issueTicket?: boolean } = {}): void {
  c.client(clientHelloRecord({ sessionId: o.clientSessionId, extensions: [ext.serverName('full.example'), ext.sessionTicket(o.ticket ?? new Uint8Array(0)), ext.alpn(['h2', 'http/1.1'])] }));
  c.server(hs(serverHello({ sessionId: o.serverSessionId ?? SID_B, cipherSuite: 0xc02f, extensions: [ext.alpn(['h2']), ext.sessionTicket(new Uint8Array(0))] }), certificate, serverKeyExchange, serverHelloDone));
  c.client(hs(clientKeyExchange), ccsRecord(), finished12());
  c.server(...(o.issueTicket ? [hs(newSessionTicket)] : []), ccsRecord(), finished12());
  c.client(appData());
}

function tls13Client(o: { sessionId?: Uint8Array; psk?: boolean } = {}): Uint8Array {
  const extensions = [
    ext.serverName('tls13.example'), ext.supportedVersionsClient([0x0304, 0x0303]), ext.supportedGroups([0x001d, 0x0017]),
    ext.keyShareClient([0x001d]), ext.pskKeyExchangeModes([1]),
  ];
  if (o.psk) extensions.push(ext.preSharedKeyClient([fill(64, 0x91)]));
  return clientHelloRecord({ sessionId: o.sessionId ?? fill(32, 0x13), cipherSuites: [0x1301, 0x1302], extensions });
}

function tls13Server(o: { sessionId?: Uint8Array; psk?: boolean } = {}): Uint8Array {
  const extensions = [ext.supportedVersionsServer(0x0304), ext.keyShareServer(0x001d)];
  if (o.psk) extensions.push(ext.preSharedKeyServer(0));
  return hs(serverHello({ sessionId: o.sessionId ?? fill(32, 0x13), cipherSuite: 0x1301, extensions }));
}

describe('TLS connection records', () => {
  it('TLS 1.2 full handshake', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    tls12Full(c, { issueTicket: true });
    c.fin(0).fin(1).ackFrom(0);
    table.finishAll();
    const r = only(records);
    expect(r.client).toEqual({ ip: '10.0.0.1', port: 51000 });
    expect(r.server).toEqual({ ip: '10.0.0.2', port: 443 });
    expect(r.sni).toBe('full.example');
    expect(r.alpn).toBe('h2');
    expect(r.version).toBe('TLS 1.2');
    expect(r.cipher).toBe('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    // Client letters upper case, server lower; encrypted Finished messages are invisible.
    expect(r.history).toBe('CsxknGIti');
    expect(r.offer).toEqual({ sessionId: null, ticket: false, psk: false });
    expect(r.resumption).toBe('not-offered');
    expect(r.resumedBy).toBeNull();
    expect(r.resumed).toBe(false);
    expect(r.established).toBe(true);
    expect(r.handshake).toBe('complete');
    expect(r.abort).toBeNull();
    expect(r.serverSessionId).toBe('b2'.repeat(32));
    expect(r.certificateSeen).toBe(true);
    expect(r.ticketIssued).toBe(true);
    expect(r.ticketLifetimeHint).toBe(7200);
    expect(r.issuedTicket).toBe('7e'.repeat(32));
    expect(r.helloRetry).toBe(false);
    expect(r.clientHelloVersion).toBe('TLS 1.2');
    expect(r.firstFrame).toBe(1);
    expect(r.packets).toBe(c.frame);
    expect(r.anomalies).toEqual([]);
    expect(r.wiresharkFilter).toBe('ip.addr==10.0.0.1 && tcp.port==51000 && ip.addr==10.0.0.2 && tcp.port==443');
    expect(r.clientHelloTime).not.toBeNull();
    expect(r.serverHelloTime! > r.clientHelloTime!).toBe(true);
  });

  it('TLS 1.2 session-ID resumption: the server echoes the ID (abbreviated handshake)', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ sessionId: SID_A, extensions: [ext.serverName('resume.example')] }));
    c.server(hs(serverHello({ sessionId: SID_A })), ccsRecord(), finished12());
    c.client(ccsRecord(), finished12(), appData());
    table.finishAll();
    const r = only(records);
    expect(r.offer).toEqual({ sessionId: 'a1'.repeat(32), ticket: false, psk: false });
    expect(r.resumption).toBe('accepted');
    expect(r.resumedBy).toBe('session-id');
    expect(r.resumed).toBe(true);
    expect(r.established).toBe(true);
    expect(r.certificateSeen).toBe(false);
    expect(r.history).toBe('CsiI');
  });

  it('TLS 1.2: an offered session ID that is not echoed is rejected (full handshake follows)', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    tls12Full(c, { clientSessionId: SID_A, serverSessionId: SID_B });
    table.finishAll();
    const r = only(records);
    expect(r.offer.sessionId).toBe('a1'.repeat(32));
    expect(r.resumption).toBe('rejected');
    expect(r.resumedBy).toBeNull();
    expect(r.resumed).toBe(false);
    expect(r.established).toBe(true);
  });

  it('an all-zero session ID is no offer', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    tls12Full(c, { clientSessionId: fill(32, 0) });
    table.finishAll();
    const r = only(records);
    expect(r.offer.sessionId).toBeNull();
    expect(r.resumption).toBe('not-offered');
  });

  it('TLS 1.2 ticket offered and accepted: ServerHello, CCS, no Certificate', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    const ticket = Uint8Array.from({ length: 160 }, (_, i) => i);
    c.client(clientHelloRecord({ sessionId: new Uint8Array(0), extensions: [ext.serverName('ticket.example'), ext.sessionTicket(ticket)] }));
    c.server(hs(serverHello({ sessionId: new Uint8Array(0), extensions: [ext.sessionTicket(new Uint8Array(0))] })), ccsRecord(), finished12());
    c.client(ccsRecord(), finished12());
    c.server(appData());
    table.finishAll();
    const r = only(records);
    expect(r.offer).toEqual({ sessionId: null, ticket: true, psk: false });
    expect(r.offeredTicket).toBe(Buffer.from(ticket.subarray(0, 32)).toString('hex'));
    expect(r.resumption).toBe('accepted');
    expect(r.resumedBy).toBe('ticket');
    expect(r.resumed).toBe(true);
    expect(r.handshake).toBe('complete');
  });

  it('TLS 1.2 ticket offered with a session ID, server echoes it and resumes: by ticket (RFC 5077 §3.4)', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ sessionId: SID_A, extensions: [ext.sessionTicket(fill(100, 0x77))] }));
    c.server(hs(serverHello({ sessionId: SID_A })), ccsRecord(), finished12());
    c.client(ccsRecord(), finished12());
    table.finishAll();
    const r = only(records);
    expect(r.resumedBy).toBe('ticket');
    expect(r.resumed).toBe(true);
  });

  it('TLS 1.2 ticket offered but a full handshake follows: rejected', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    tls12Full(c, { ticket: fill(100, 0x77), issueTicket: true });
    table.finishAll();
    const r = only(records);
    expect(r.offer.ticket).toBe(true);
    expect(r.resumption).toBe('rejected');
    expect(r.resumed).toBe(false);
  });

  it('TLS 1.3 with pre_shared_key in the ServerHello: resumed by PSK', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(tls13Client({ psk: true }));
    c.server(tls13Server({ psk: true }), ccsRecord(), appData(), appData());
    c.client(ccsRecord(), appData());
    c.server(appData());
    table.finishAll();
    const r = only(records);
    expect(r.version).toBe('TLS 1.3');
    expect(r.cipher).toBe('TLS_AES_128_GCM_SHA256');
    expect(r.offer.psk).toBe(true);
    expect(r.offeredPskIdentity).toBe('91'.repeat(32));
    expect(r.resumption).toBe('accepted');
    expect(r.resumedBy).toBe('psk');
    expect(r.resumed).toBe(true);
    expect(r.established).toBe(true);
    expect(r.history).toBe('CsiI');
  });

  it('TLS 1.3 PSK offered but not taken: rejected', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(tls13Client({ psk: true }));
    c.server(tls13Server({ psk: false }), ccsRecord(), appData(), appData());
    c.client(ccsRecord(), appData());
    table.finishAll();
    const r = only(records);
    expect(r.resumption).toBe('rejected');
    expect(r.resumed).toBe(false);
    expect(r.established).toBe(true);
  });

  it('TLS 1.3 echoing the legacy session ID without PSK is no resumption (RFC 8446 Appendix D.4)', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    const sid = fill(32, 0x5c);
    c.client(tls13Client({ sessionId: sid }));
    c.server(tls13Server({ sessionId: sid }), ccsRecord(), appData(), appData());
    c.client(ccsRecord(), appData());
    table.finishAll();
    const r = only(records);
    expect(r.offer).toEqual({ sessionId: '5c'.repeat(32), ticket: false, psk: false });
    expect(r.serverSessionId).toBe('5c'.repeat(32));
    expect(r.resumption).toBe('not-offered');
    expect(r.resumedBy).toBeNull();
    expect(r.resumed).toBe(false);
    expect(r.established).toBe(true);
  });

  it('HelloRetryRequest: helloRetry set, "j" in the history, the second ClientHello counts', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(tls13Client());
    c.server(hs(serverHello({ random: HRR_RANDOM, sessionId: fill(32, 0x13), cipherSuite: 0x1301, extensions: [ext.supportedVersionsServer(0x0304), tlsKeyShareHrr(0x0017)] })), ccsRecord());
    const second = clientHelloRecord({
      sessionId: fill(32, 0x13), cipherSuites: [0x1301],
      extensions: [ext.serverName('second.example'), ext.supportedVersionsClient([0x0304]), ext.keyShareClient([0x0017])],
    });
    c.client(ccsRecord(), second);
    c.server(tls13Server(), appData(), appData());
    c.client(appData());
    table.finishAll();
    const r = only(records);
    expect(r.helloRetry).toBe(true);
    expect(r.history).toContain('j');
    expect(r.history).toBe('CjiICs');
    expect(r.sni).toBe('second.example');
    expect(r.version).toBe('TLS 1.3');
    expect(r.established).toBe(true);
    expect(r.resumption).toBe('not-offered');
  });

  it('client RST right after the ServerHello: aborted after-server-hello', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ extensions: [ext.serverName('rst.example')] }));
    c.server(hs(serverHello({ sessionId: SID_B }), certificate, serverHelloDone));
    c.rst(0);
    const rstFrame = c.frame;
    const rstTime = c.time;
    table.finishAll();
    const r = only(records);
    expect(r.established).toBe(false);
    expect(r.handshake).toBe('aborted');
    expect(r.abort).toEqual({ by: 'client', how: 'rst', stage: 'after-server-hello', time: rstTime, frame: rstFrame, file: 'test.pcap' });
    expect(r.resumption).toBe('not-offered');
  });

  it('a ClientHello cut short by the client\'s RST: what it offered is unknown, not "nothing"', () => {
    // The first 60 bytes of a ClientHello record (its session ID and extensions never came).
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ sessionId: SID_A, extensions: [ext.serverName('cut.example')] }).subarray(0, 60));
    c.rst(0);
    table.finishAll();
    const r = only(records);
    expect(r.handshake).toBe('aborted');
    expect(r.abort).toMatchObject({ by: 'client', how: 'rst' });
    expect(r.clientHelloTime).toBeNull();
    expect(r.resumption).toBe('unknown');
  });

  it('server FIN right after the ClientHello: aborted after-client-hello by the server', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ sessionId: SID_A }));
    c.fin(1);
    table.finishAll();
    const r = only(records);
    expect(r.abort).toMatchObject({ by: 'server', how: 'fin', stage: 'after-client-hello' });
    expect(r.resumption).toBe('unanswered');
  });

  it('accepted offer but a RST before the client Finished: resumed false', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ sessionId: SID_A }));
    c.server(hs(serverHello({ sessionId: SID_A })), ccsRecord(), finished12());
    c.rst(0);
    table.finishAll();
    const r = only(records);
    expect(r.resumption).toBe('accepted');
    expect(r.resumedBy).toBe('session-id');
    expect(r.resumed).toBe(false);
    expect(r.established).toBe(false);
    expect(r.handshake).toBe('aborted');
    expect(r.abort).toMatchObject({ by: 'client', how: 'rst', stage: 'after-server-hello' });
  });

  it('a capture that ends mid-handshake is incomplete, with no abort', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ sessionId: SID_A }));
    c.server(hs(serverHello({ sessionId: SID_B }), certificate));
    table.finishAll();
    const r = only(records);
    expect(r.handshake).toBe('incomplete');
    expect(r.abort).toBeNull();
    expect(r.established).toBe(false);
    expect(r.resumption).toBe('rejected');
  });

  it('a ClientHello without any answer: unanswered', () => {
    const { table, records } = newTable();
    new Conversation(table).open().client(clientHelloRecord({ extensions: [ext.sessionTicket(fill(50, 1))] }));
    table.finishAll();
    const r = only(records);
    expect(r.resumption).toBe('unanswered');
    expect(r.version).toBeNull();
    expect(r.handshake).toBe('incomplete');
  });

  it('port reuse: a second SYN with a new ISN after FIN gives two records', () => {
    const { table, records } = newTable();
    const first = new Conversation(table, { clientIsn: 5000, serverIsn: 9000 }).open();
    tls12Full(first, { issueTicket: true });
    first.fin(0).fin(1).ackFrom(0);
    const second = new Conversation(table, { clientIsn: 777_777, serverIsn: 888_888, time: first.time + 1 });
    second.frame = first.frame;
    second.open();
    second.client(clientHelloRecord({ sessionId: SID_A, extensions: [ext.serverName('again.example')] }));
    second.server(hs(serverHello({ sessionId: SID_A })), ccsRecord(), finished12());
    second.client(ccsRecord(), finished12());
    table.finishAll();
    expect(records).toHaveLength(2);
    expect(records.map((r) => r.id)).toEqual([1, 2]);
    expect(records[0]!.sni).toBe('full.example');
    expect(records[0]!.resumption).toBe('not-offered');
    expect(records[1]!.sni).toBe('again.example');
    expect(records[1]!.resumedBy).toBe('session-id');
    expect(records[1]!.firstFrame).toBe(first.frame + 1);
    expect(records[0]!.packets + records[1]!.packets).toBe(second.frame);
  });

  it('a retransmitted SYN (same ISN) is not a new connection', () => {
    const { table, records } = newTable();
    const c = new Conversation(table, { clientIsn: 42 });
    c.packet(0, TCP_SYN, undefined, { ack: 0 });
    c.packet(0, TCP_SYN, undefined, { ack: 0, seq: 42, advance: false });
    c.packet(1, TCP_SYN | TCP_ACK);
    c.packet(0, TCP_ACK);
    tls12Full(c);
    table.finishAll();
    expect(only(records).established).toBe(true);
  });

  it('a connection captured mid-stream whose only TLS is a ServerHello', () => {
    const { table, records } = newTable();
    const c = new Conversation(table);
    // No SYN, no ClientHello: the capture starts with the server's ServerHello flight.
    c.server(hs(serverHello({ sessionId: SID_B, cipherSuite: 0xc030 }), certificate, serverHelloDone));
    c.ackFrom(0);
    table.finishAll();
    const r = only(records);
    // The ServerHello's sender is the server, even though it sent the first packet.
    expect(r.client).toEqual({ ip: '10.0.0.1', port: 51000 });
    expect(r.server).toEqual({ ip: '10.0.0.2', port: 443 });
    expect(r.version).toBe('TLS 1.2');
    expect(r.cipher).toBe('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
    expect(r.serverSessionId).toBe('b2'.repeat(32));
    expect(r.sni).toBeNull();
    expect(r.clientHelloTime).toBeNull();
    expect(r.offer).toEqual({ sessionId: null, ticket: false, psk: false });
    // Whether the lost ClientHello offered a session cannot be told: not "nothing offered".
    expect(r.resumption).toBe('unknown');
    expect(r.anomalies.map((a) => a.code)).toEqual(['no-client-hello']);
    expect(r.history).toBe('sxn');
    expect(r.handshake).toBe('incomplete');
  });

  it('mid-stream: the client flight after a captured ServerHello (CKE, CCS, Finished) is parsed too', () => {
    // The client's stream starts with a well-formed handshake record (ClientKeyExchange)
    // at byte 0, in a connection whose peer already spoke TLS: it is TLS as well.
    const { table, records } = newTable();
    const c = new Conversation(table);
    c.server(hs(serverHello({ sessionId: SID_B, cipherSuite: 0xc030 }), certificate, serverHelloDone));
    c.client(hs(clientKeyExchange), ccsRecord(), finished12());
    c.server(ccsRecord(), finished12());
    table.finishAll();
    const r = only(records);
    expect(r.history).toBe('sxnGIi');
    expect(r.established).toBe(true);
    expect(r.handshake).toBe('complete');
  });

  it('the ClientHello split over several out-of-order TCP segments is reassembled', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    const chRecord = clientHelloRecord({ sessionId: SID_A, extensions: [ext.serverName('split.example')] });
    const base = c.seq[0];
    c.packet(0, TCP_PSH | TCP_ACK, chRecord.subarray(50), { seq: base + 50, advance: false });
    c.packet(0, TCP_ACK, chRecord.subarray(0, 50), { seq: base, advance: false });
    c.seq[0] = base + chRecord.length;
    c.server(hs(serverHello({ sessionId: SID_A })), ccsRecord(), finished12());
    c.client(ccsRecord(), finished12());
    table.finishAll();
    const r = only(records);
    expect(r.sni).toBe('split.example');
    expect(r.resumed).toBe(true);
  });

  it('a connection without any TLS produces no record', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    c.server(ascii('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    c.fin(0).fin(1);
    table.finishAll();
    expect(records).toEqual([]);
  });

  it('a ClientHello after a segment lost from a one-way capture still gives a record', () => {
    // One-way capture (asymmetric routing): the server's packets, hence its ACKs,
    // are not in the capture. The client's first data segment (a PROXY protocol
    // v1 line) was lost, so the ClientHello waits in the reassembler until the
    // end of the capture, when flush() delivers it after an explicit gap.
    const { table, records } = newTable();
    const c = new Conversation(table);
    c.packet(0, TCP_SYN, undefined, { ack: 0 });
    const proxyLine = ascii('PROXY TCP4 192.0.2.1 192.0.2.2 5555 443\r\n');
    c.seq[0] += proxyLine.length; // sent, not captured
    c.client(clientHelloRecord({ extensions: [ext.serverName('oneway.example')] }));
    table.finishAll();
    const r = only(records);
    expect(r.sni).toBe('oneway.example');
    expect(r.handshake).toBe('incomplete');
    expect(r.anomalies.map((a) => a.code)).toContain('tcp-gap');
  });

  it('a connection whose ClientHello does not parse still gives a record with the anomaly', () => {
    // The hello's session_id length says 40 (> 32, RFC 5246 §7.4.1.2): malformed.
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    const bad = tlsRecord(CT.handshake, handshake(HS.clientHello, concat([3, 3], fill(32), [40], fill(40), [0, 2, 0x13, 0x01, 1, 0])), 0x0301);
    c.client(bad);
    c.rst(1);
    table.finishAll();
    const r = only(records);
    expect(r.anomalies.map((a) => a.code)).toContain('tls-malformed-hello');
    expect(r.history).toBe('C');
    expect(r.abort).toMatchObject({ by: 'server', how: 'rst' });
  });
});

describe('Flow table', () => {
  it('counts packets until 5 s after the close, then finishes the flow; a later packet starts no record', () => {
    const { table, records } = newTable();
    const a = new Conversation(table).open();
    tls12Full(a);
    a.fin(0).fin(1).ackFrom(0);
    a.time += 4; // 4 s after the close: still this connection's (a last ACK, a retransmitted FIN)
    a.ackFrom(0);
    // Another connection's packet 4.9 s after the close: the first one is still open.
    const b = new Conversation(table, { clientPort: 52000, time: a.time + 0.9 });
    b.packet(0, TCP_SYN, undefined, { ack: 0 });
    expect(records).toHaveLength(0);
    // Its next packets, from 5.5 s after the close on: the first one is finished before them.
    b.time = a.time + 1.5;
    b.packet(1, TCP_SYN | TCP_ACK);
    b.packet(0, TCP_ACK);
    const first = only(records);
    expect(first.packets).toBe(12);
    expect(first.handshake).toBe('complete');
    a.ackFrom(0); // after the flow was finished: a stray ACK, not a connection
    table.finishAll();
    expect(records).toHaveLength(1);
    expect(records[0]!.packets).toBe(12);
  });

  it('records a connection at its close once its handshake is over, and settles its packets and end time when it is finished', () => {
    const events: string[] = [];
    const made: ConnectionRecord[] = [];
    const sink: ConnectionSink = {
      record: (r) => {
        events.push(`record ${r.client.port} packets=${r.packets}`);
        made.push(structuredClone(r));
        return 100 + made.length;
      },
      settle: (handle, packets, endTime) => events.push(`settle ${handle} packets=${packets} end=${endTime.toFixed(3)}`),
    };
    const table = new FlowTable(sink);
    const a = new Conversation(table).open();
    tls12Full(a);
    a.fin(0).fin(1);
    const closeTime = a.time;
    // Sealed: recorded at the close, with what it has so far.
    expect(events).toEqual(['record 51000 packets=10']);
    a.ackFrom(0);
    a.time += 4;
    a.ackFrom(0); // late ACKs count
    const lastAck = a.time;
    // A connection that closes mid-handshake still waits for its data: recorded when finished.
    const b = new Conversation(table, { clientPort: 52000, time: a.time });
    b.open();
    b.client(clientHelloRecord({ extensions: [ext.serverName('waiting.example')] }));
    b.fin(0).fin(1);
    expect(events).toHaveLength(1);
    b.time = a.time + 1.5; // 5.5 s after a's close, 1.5 s after b's: a is finished before this packet
    b.ackFrom(0);
    expect(events).toEqual(['record 51000 packets=10', `settle 101 packets=12 end=${lastAck.toFixed(3)}`]);
    table.finishAll();
    expect(events.slice(2)).toEqual(['record 52000 packets=7', `settle 102 packets=7 end=${b.time.toFixed(3)}`]);
    expect(made[0]).toMatchObject({ handshake: 'complete', sni: 'full.example', resumption: 'not-offered', endTime: closeTime });
    expect(made[1]).toMatchObject({ handshake: 'aborted', sni: 'waiting.example' });
    expect(table.liveFlows).toBe(0);
  });

  it('gives a function the same records whether a connection was sealed at its close or not, each once its linger ended', () => {
    const { table, records } = newTable();
    const a = new Conversation(table).open();
    tls12Full(a);
    a.fin(1).fin(0).ackFrom(1);
    a.rst(1); // reset after the close: the linger runs from here
    const resetTime = a.time;
    expect(records).toHaveLength(0);
    a.time += 5.5;
    const other = new Conversation(table, { clientPort: 52000, time: a.time });
    other.packet(0, TCP_SYN, undefined, { ack: 0 });
    const r = only(records);
    expect(r).toMatchObject({ packets: 12, handshake: 'complete', abort: null, endTime: resetTime });
    // A SYN on a sealed, closed flow is a new connection on the same ports.
    const again = new Conversation(table, { time: a.time + 1 }).open();
    tls12Full(again);
    table.finishAll();
    // (The other connection, a SYN alone, has no record.)
    expect(records.map((x) => [x.client.port, x.packets])).toEqual([[51000, 12], [51000, 8]]);
  });

  it('numbers connections that start at the same time in the order they came, whatever the table\'s hash seed (at the end and when idle)', () => {
    // The buckets' order depends on a seed each table draws: 20 tables would show it (fuzz seed 21045110).
    for (let table = 0; table < 20; table++) {
      const { table: flows, records } = newTable();
      const ports = [45000, 41000, 47000, 43000];
      for (const port of ports) {
        const c = new Conversation(flows, { clientPort: port, time: 1_700_000_000 });
        c.frame = port;
        c.open();
        tls12Full(c);
      }
      if (table % 2 === 1) {
        // Idle for 10 minutes: the sweep finishes them (it runs after ≥ 4096 packets).
        const later = new Conversation(flows, { clientPort: 50000, time: 1_700_000_700 }).open();
        for (let i = 0; i < 4100; i++) later.ackFrom(0);
        expect(records.map((r) => r.client.port)).toEqual(ports);
      }
      flows.finishAll();
      expect(records.slice(0, 4).map((r) => [r.id, r.client.port])).toEqual(ports.map((port, i) => [i + 1, port]));
    }
  });

  it('a file that starts earlier than the last one ended restarts the clock: closed connections do not wait for the end of input', () => {
    const { table, records } = newTable();
    table.startFile();
    const late = new Conversation(table, { clientPort: 41000, time: 1_700_003_600 }).open(); // file 1: an hour later
    tls12Full(late);
    late.fin(0).fin(1);
    expect(records).toHaveLength(0); // lingering
    table.startFile();
    // File 2 covers the same hour from its start (another tap): the first packet finishes file 1's closed flow.
    const early = new Conversation(table, { clientPort: 42000, time: 1_700_000_000 }).open();
    expect(records.map((r) => r.client.port)).toEqual([41000]);
    tls12Full(early);
    early.fin(0).fin(1);
    // File 2's own closes linger on file 2's clock, 5 s, as in any file.
    const next = new Conversation(table, { clientPort: 43000, time: early.time + 4 });
    next.packet(0, TCP_SYN, undefined, { ack: 0 });
    expect(records).toHaveLength(1);
    next.time = early.time + 6;
    next.packet(1, TCP_SYN | TCP_ACK);
    expect(records.map((r) => r.client.port)).toEqual([41000, 42000]);
    expect(records.every((r) => r.handshake === 'complete')).toBe(true);
    // A file that goes on where the last one stopped keeps the clock (and the lingers).
    table.startFile();
    next.time += 1;
    next.packet(0, TCP_ACK);
    expect(records).toHaveLength(2);
    expect(table.liveFlows).toBe(1);
  });

  it('counts the linger from the last RST when a closed connection is reset again', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ extensions: [ext.serverName('reset.example')] }));
    c.rst(0);
    c.time += 3;
    c.rst(1); // 3 s later: the close moves
    const other = new Conversation(table, { clientPort: 52000, time: c.time + 3 }); // 6 s after the first RST
    other.packet(0, TCP_SYN, undefined, { ack: 0 });
    expect(records).toHaveLength(0);
    other.time = c.time + 5.5;
    other.packet(1, TCP_SYN | TCP_ACK);
    const r = only(records);
    expect(r.packets).toBe(6);
    expect(r.abort).toMatchObject({ by: 'client', how: 'rst', stage: 'after-client-hello' });
  });

  it('counts a connection reset before any payload as a TLS abort only towards a server that answered TLS', () => {
    const v6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), last];
    for (const [clientIp, serverIp, otherServer] of [
      [CLIENT.ip, SERVER.ip, [10, 0, 0, 3]],
      [v6(1), v6(2), v6(3)],
    ]) {
      const { table, records } = newTable();
      // Reset before the ClientHello, before the server is known to speak TLS: decided at the end.
      new Conversation(table, { clientPort: 40001, clientIp, serverIp, time: 1_700_000_000 }).open().rst(0);
      const tls = new Conversation(table, { clientPort: 40002, clientIp, serverIp, time: 1_700_000_001 }).open();
      tls12Full(tls);
      tls.fin(0).fin(1);
      // The same after the server answered TLS, and one towards a server that never did.
      new Conversation(table, { clientPort: 40003, clientIp, serverIp, time: 1_700_000_002 }).open().rst(0);
      new Conversation(table, { clientPort: 40004, clientIp, serverIp: otherServer, time: 1_700_000_003 }).open().rst(0);
      table.finishAll();
      const byPort = new Map(records.map((r) => [r.client.port, r]));
      expect([...byPort.keys()].sort()).toEqual([40001, 40002, 40003]);
      for (const port of [40001, 40003]) {
        expect(byPort.get(port)!.handshake).toBe('aborted');
        expect(byPort.get(port)!.abort).toMatchObject({ by: 'client', how: 'rst', stage: 'before-client-hello' });
      }
    }
  });

  it('keeps thousands of concurrent connections apart as its buckets grow', () => {
    const { table, records } = newTable();
    const count = 5000; // more than the table starts with (1,024 buckets): it grows three times
    const conversations = Array.from({ length: count }, (_, i) => new Conversation(table, { clientPort: 10000 + i, clientIsn: 1000 + i }));
    for (const c of conversations) c.open();
    for (const [i, c] of conversations.entries()) c.client(clientHelloRecord({ sessionId: fill(32, i % 251), extensions: [ext.serverName(`host${i}.example`)] }));
    for (const c of conversations) c.server(hs(serverHello({ sessionId: SID_B, cipherSuite: 0xc02f })));
    table.finishAll();
    expect(records).toHaveLength(count);
    const byPort = new Map(records.map((r) => [r.client.port, r]));
    for (let i = 0; i < count; i++) {
      const r = byPort.get(10000 + i)!;
      expect(r.sni).toBe(`host${i}.example`);
      expect(r.packets).toBe(5);
      expect(r.serverSessionId).toBe('b2'.repeat(32));
    }
  });
});

/** Packets a Conversation makes, kept to be fed to a table in another order (see replay). */
function recorded(): { recorder: FlowTable; packets: { packet: TcpPacket; time: number }[] } {
  const packets: { packet: TcpPacket; time: number }[] = [];
  const recorder = { onPacket: (packet: TcpPacket, time: number) => { packets.push({ packet, time }); } } as unknown as FlowTable;
  return { recorder, packets };
}

/** Feeds packets in the given order, frames numbered as they come, times as given. */
function replay(packets: { packet: TcpPacket; time: number }[]): ConnectionRecord[] {
  const { table, records } = newTable();
  packets.forEach(({ packet, time }, i) => table.onPacket(packet, time, i + 1, 'test.pcap'));
  table.finishAll();
  return records;
}

/** The client's packets written `skew` seconds late and merged by time, as mergecap does with one capture per direction. */
function clientLate(packets: { packet: TcpPacket; time: number }[], skew: number): { packet: TcpPacket; time: number }[] {
  return packets.map(({ packet, time }) => ({ packet, time: packet.sourcePort === SERVER.port ? time : time + skew })).sort((a, b) => a.time - b.time);
}

const outcomeOf = (r: ConnectionRecord) => ({ handshake: r.handshake, resumption: r.resumption, history: r.history, abort: r.abort && r.abort.stage, anomalies: r.anomalies.map((a) => a.message), sni: r.sni });

describe('Flow table: the two directions written apart (each in order, not across)', () => {
  it('a server flight written before the client segments it acknowledges waits for them: the same record as in order', () => {
    const { recorder, packets } = recorded();
    const c = new Conversation(recorder).open();
    tls12Full(c);
    c.fin(1).fin(0).ackFrom(1);
    const inOrder = replay(packets);
    expect(inOrder[0]).toMatchObject({ handshake: 'complete', anomalies: [] });
    // 1.5 ms: every server packet comes before the client packet it answers, even the SYN/ACK before the SYN.
    for (const skew of [0.0005, 0.0015, 0.01, 0.5]) {
      const merged = replay(clientLate(packets, skew));
      expect(merged.map(outcomeOf)).toEqual(inOrder.map(outcomeOf));
    }
  });

  it('a SYN/ACK more than a second before its SYN still makes a connection of its own (no longer the same connection\'s reordering)', () => {
    const { recorder, packets } = recorded();
    const c = new Conversation(recorder).open();
    tls12Full(c);
    c.rst(1);
    expect(replay(clientLate(packets, 0.004))).toHaveLength(1);
    expect(replay(clientLate(packets, 1.5)).length).toBeGreaterThan(1);
  });

  it('bytes acknowledged and never captured still become a gap: when a later client segment shows them lost, a second on, or at the end', () => {
    const { recorder, packets } = recorded();
    const c = new Conversation(recorder).open();
    tls12Full(c); // … CKE/CCS/Finished (frame 6), server CCS/Finished (7), client application data (8)
    const lostAt = 5;
    expect(packets[lostAt]!.packet.payloadLength).toBeGreaterThan(0);
    const lost = packets.filter((_, i) => i !== lostAt);
    const gapOf = (records: ConnectionRecord[]) => {
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ handshake: 'incomplete', abort: null });
      return records[0]!.anomalies.map((a) => a.message);
    };
    const missing = `${packets[lostAt]!.packet.payloadLength} bytes missing from the client stream`;
    // The client's next segment came first: the gap is known then, reported at the server's ACK (frame 6 here).
    expect(gapOf(replay(lost))).toContain(missing);
    expect(replay(lost)[0]!.anomalies[0]!.frame).toBe(6);
    // Nothing of the client after it: the server's packets wait a second of capture time (another
    // connection's packet shows it), then their ACK declares the gap; or until the end.
    const noClientAfter = lost.slice(0, lostAt + 1);
    expect(gapOf(replay(noClientAfter))).toContain(missing);
    const { table, records } = newTable();
    noClientAfter.forEach(({ packet, time }, i) => table.onPacket(packet, time, i + 1, 'test.pcap'));
    const holding = table as unknown as { holdingFlows: unknown[] };
    expect(holding.holdingFlows).toHaveLength(1);
    const other = recorded();
    new Conversation(other.recorder, { clientPort: 52000, time: noClientAfter.at(-1)!.time + 1.5 }).open();
    table.onPacket(other.packets[0]!.packet, other.packets[0]!.time, 99, 'test.pcap');
    expect(holding.holdingFlows).toHaveLength(0);
    table.finishAll();
    expect(gapOf(records.filter((r) => r.client.port === CLIENT.port))).toContain(missing);
  });

  it('holds at most 64 packets of a flow: then they go on and the ACK declares the bytes lost', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(clientHelloRecord({ extensions: [ext.serverName('bound.example')] }));
    c.seq[0] += 300; // 300 client bytes the capture never holds
    const held = () => (table as unknown as { holdingFlows: { held: { packets: unknown[] } | null }[] }).holdingFlows[0]?.held?.packets.length ?? 0;
    let most = 0;
    for (let i = 0; i < 200; i++) {
      c.server(appData());
      most = Math.max(most, held());
    }
    expect(most).toBe(63); // the 64th makes them go on
    table.finishAll();
    expect(only(records).anomalies.map((a) => a.message)).toContain('300 bytes missing from the client stream');
  });
});

describe('Analysis over a crafted pcap', () => {
  it('Ethernet/IPv4 frames through the whole pipeline give the same record as FlowTable', () => {
    // Build the frames of a session-ID resumption and run them through Analysis.
    const frames: Uint8Array[] = [];
    const seq = [100, 5000];
    const send = (from: 0 | 1, flags: number, payload: Uint8Array = new Uint8Array(0)) => {
      const segment = tcp({
        sourcePort: from === 0 ? 51000 : 443, destinationPort: from === 0 ? 443 : 51000,
        sequence: seq[from]!, acknowledgment: flags & TCP_ACK ? seq[1 - from]! : 0, flags, payload,
      });
      frames.push(ethernet(0x0800, ipv4(segment, { source: from === 0 ? CLIENT.ip : SERVER.ip, destination: from === 0 ? SERVER.ip : CLIENT.ip })));
      seq[from]! += payload.length + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
    };
    send(0, TCP_SYN);
    send(1, TCP_SYN | TCP_ACK);
    send(0, TCP_ACK);
    send(0, TCP_PSH | TCP_ACK, clientHelloRecord({ sessionId: SID_A, extensions: [ext.serverName('pcap.example')] }));
    send(1, TCP_PSH | TCP_ACK, concat(hs(serverHello({ sessionId: SID_A })), ccsRecord(), finished12()));
    send(0, TCP_PSH | TCP_ACK, concat(ccsRecord(), finished12()));
    send(0, TCP_FIN | TCP_ACK);
    send(1, TCP_FIN | TCP_ACK);
    const file = pcapFile(frames.map((data, i) => ({ seconds: 1_700_000_000 + i, fraction: 250_000, data })));

    const records: ConnectionRecord[] = [];
    const analysis = new Analysis((r) => records.push(r));
    const ingest = analysis.openFile('crafted.pcap');
    for (let i = 0; i < file.length; i += 7) ingest.push(file.slice(i, i + 7));
    ingest.finish();
    analysis.finish();
    expect(analysis.captures[0]!.format).toBe('pcap');
    expect(analysis.captures[0]!.packets).toBe(frames.length);
    expect(analysis.captures[0]!.linkTypes).toEqual(['ETHERNET']);
    const r = only(records);
    expect(r.file).toBe('crafted.pcap');
    expect(r.sni).toBe('pcap.example');
    expect(r.resumedBy).toBe('session-id');
    expect(r.resumed).toBe(true);
    expect(r.startTime).toBe(1_700_000_000.25);
    expect(r.clientHelloTime).toBe(1_700_000_003.25);
  });
});

/** HelloRetryRequest key_share: only the selected group (RFC 8446 §4.2.8). */
function tlsKeyShareHrr(group: number): Uint8Array {
  return concat([0, 51, 0, 2], [(group >> 8) & 0xff, group & 0xff]);
}

describe('History text', () => {
  // Short histories come from a shared table keyed by a code of the letters, sides and the
  // client's side: the text must be what the letters spell whichever way it is built.
  const letterOf = (event: number) => (event === 0 ? 'i' : 'l');
  const spelled = (events: [number, 0 | 1][], clientSide: 0 | 1) =>
    events.map(([event, side]) => (side === clientSide ? letterOf(event).toUpperCase() : letterOf(event))).join('');

  it('is the letters, upper case on the client side, for short, long, repeated and mirrored histories', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.constantFrom<0 | 1>(0, 1)), { maxLength: 12 }),
      fc.constantFrom<0 | 1>(0, 1),
      (events, clientSide) => {
        const texts = [0, 1].map(() => {
          const tls = new TlsConnection('test.pcap');
          tls.clientSide = clientSide;
          for (const [event, side] of events) {
            if (event === 0) tls.onChangeCipherSpec(side, 1, 1);
            else tls.onAlert(side, 1, 0, 1, 1);
          }
          return tls.historyString();
        });
        expect(texts[0]).toBe(spelled(events, clientSide));
        expect(texts[1]).toBe(texts[0]);
      },
    ), { numRuns: 500 });
  });

  it('is spelled out while the client side is unknown, and right once it is known', () => {
    const tls = new TlsConnection('test.pcap');
    tls.onAlert(0, 2, 40, 1, 1);
    expect(tls.historyString()).toBe('l');
    tls.clientSide = 0;
    expect(tls.historyString()).toBe('L');
    tls.clientSide = 1;
    expect(tls.historyString()).toBe('l');
  });
});

/** A scenario run twice: whole, and each packet's payload cut to `snap` bytes (as tcpdump -s). */
function wholeAndCut(snap: number | [number, number], scenario: (c: Conversation) => void): { whole: ConnectionRecord; cut: ConnectionRecord } {
  const run = (cut: [number, number] | null) => {
    const { table, records } = newTable();
    const c = new Conversation(table);
    c.snap = cut;
    c.open();
    scenario(c);
    table.finishAll();
    return only(records);
  };
  return { whole: run(null), cut: run(typeof snap === 'number' ? [snap, snap] : snap) };
}

const tls13Flight = () => [ccsRecord(), encryptedRecord(CT.applicationData, 30), encryptedRecord(CT.applicationData, 800), encryptedRecord(CT.applicationData, 280), encryptedRecord(CT.applicationData, 53)];
const tls13Hrr = () => hs(serverHello({ random: HRR_RANDOM, sessionId: fill(32, 0x13), cipherSuite: 0x1301, extensions: [ext.supportedVersionsServer(0x0304), tlsKeyShareHrrGroup(0x0017)] }));
function tlsKeyShareHrrGroup(group: number): Uint8Array {
  return concat([0, 51, 0, 2], [group >> 8, group & 0xff]);
}

describe('a capture cut by a snap length knows less, never something else', () => {
  it('a HelloRetryRequest whose random the cut kept is no ServerHello: the server refusing the second ClientHello is no complete handshake', () => {
    const { whole, cut } = wholeAndCut(30, (c) => {
      c.client(tls13Client());
      c.server(tls13Hrr(), ccsRecord());
      c.client(ccsRecord(), tls13Client());
      c.server(tlsRecord(CT.alert, [2, 40]));
      c.fin(1).fin(0);
    });
    expect(whole).toMatchObject({ handshake: 'aborted', abort: { stage: 'after-client-hello', by: 'server' } });
    // Before: "complete" (the second ClientHello read as the client's Finished).
    expect(cut.handshake).not.toBe('complete');
    expect(cut.helloRetry).toBe(true);
    expect(cut.history).toMatch(/^Cj/);
  });

  it('a cut ServerHello with too little of its random kept claims nothing from what follows it', () => {
    // 5 + 4 + 2 + 3: the record and message headers, the version and three bytes of the random.
    // A HelloRetryRequest the client gives up on: read as a ServerHello, the RST would be "after the ServerHello".
    const { whole, cut } = wholeAndCut(14, (c) => {
      c.client(tls13Client());
      c.server(tls13Hrr(), ccsRecord());
      c.rst(0);
    });
    expect(whole).toMatchObject({ handshake: 'aborted', abort: { stage: 'after-client-hello', by: 'client' } });
    expect(cut.handshake).toBe('incomplete');
    expect(cut.abort).toBeNull();
  });

  it('... until the client sends an encrypted record, or one too short for a second ClientHello: that ServerHello was real', () => {
    // TLS 1.3 behind a HelloRetryRequest: the client's Finished (outer type 23) comes after the real ServerHello.
    const retried = wholeAndCut(14, (c) => {
      c.client(tls13Client());
      c.server(tls13Hrr(), ccsRecord());
      c.client(ccsRecord(), tls13Client());
      c.server(tls13Server(), ...tls13Flight());
      c.client(encryptedRecord(CT.applicationData, 53));
      c.server(encryptedRecord(CT.applicationData, 200));
      c.fin(0).fin(1);
    });
    expect(retried.whole.handshake).toBe('complete');
    // Before: incomplete (9 of 639 completed handshakes at -s 128: VXLAN headers leave 12 bytes a segment).
    expect(retried.cut.handshake).toBe('complete');
    // A TLS 1.2 session resumed: the client's Finished (40 bytes, type 22) is no ClientHello (104 bytes at least).
    const resumed12 = wholeAndCut(14, (c) => {
      c.client(clientHelloRecord({ sessionId: SID_A }));
      c.server(hs(serverHello({ sessionId: SID_A, cipherSuite: 0xc02f })), ccsRecord(), finished12());
      c.client(ccsRecord(), finished12());
      c.client(appData());
      c.fin(0).fin(1);
    });
    expect(resumed12.whole.handshake).toBe('complete');
    expect(resumed12.cut.handshake).toBe('complete');
  });

  it('an offer whose ServerHello the cut hid is unknown, not unanswered', () => {
    const { whole, cut } = wholeAndCut(60, (c) => {
      // The ClientHello in segments the snap length keeps whole; the ServerHello in one it cuts.
      const hello = clientHelloRecord({ sessionId: SID_A, extensions: [ext.serverName('cut.example')] });
      for (let at = 0; at < hello.length; at += 50) c.client(hello.subarray(at, Math.min(at + 50, hello.length)));
      c.server(hs(serverHello({ sessionId: SID_B, cipherSuite: 0xc02f }), certificate, serverHelloDone));
      c.client(hs(clientKeyExchange), ccsRecord(), finished12());
      c.server(ccsRecord(), finished12());
      c.fin(0).fin(1);
    });
    expect(whole.resumption).toBe('rejected');
    expect(cut.offer.sessionId).not.toBeNull();
    expect(cut.resumption).toBe('unknown');
  });

  it("a message whose header the cut hid inside a record: the client's Finished then says nothing about the server's", () => {
    // The client's flight in three segments; the first, its ClientKeyExchange, keeps 7 bytes (a
    // record header and part of the message's: more TCP options than its ClientHello's had). The
    // server then rejects the client's Finished.
    const run = (cut: boolean) => {
      const { table, records } = newTable();
      const c = new Conversation(table).open();
      c.snap = cut ? [60, 24] : null;
      c.client(clientHelloRecord({ sessionId: SID_A }));
      c.server(hs(serverHello({ sessionId: SID_B, cipherSuite: 0xc02f })), hs(certificate), hs(serverHelloDone));
      if (cut) c.snap = [7, 24];
      c.client(hs(clientKeyExchange));
      c.client(ccsRecord());
      c.client(finished12());
      c.server(tlsRecord(CT.alert, [2, 51]));
      c.fin(1).fin(0);
      table.finishAll();
      return only(records);
    };
    const whole = run(false);
    const cut = run(true);
    expect(whole).toMatchObject({ handshake: 'aborted', abort: { stage: 'after-client-finished', by: 'server' } });
    // Before: "complete", the Finished taken for an abbreviated handshake's, which follows the server's.
    expect(cut.handshake).not.toBe('complete');
  });
});

describe('a TLS 1.3 client that gives up after the ServerHello', () => {
  const run = (clientRecord: Uint8Array) => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(tls13Client());
    c.server(tls13Server(), ...tls13Flight());
    // Its alert is encrypted (RFC 8446 §5.2): 2 bytes, the content type and a 16-byte tag.
    c.client(ccsRecord(), clientRecord);
    c.fin(1).fin(0);
    table.finishAll();
    return only(records);
  };

  it('an encrypted alert (19 bytes) is no Finished: aborted by the client, the alert listed unread', () => {
    const r = run(encryptedRecord(CT.applicationData, 19));
    // Before: "complete" (Chromium refusing a certificate, chromium-rejects-certificate.pcap).
    expect(r).toMatchObject({ handshake: 'aborted', established: false, abort: { by: 'client', how: 'fin', stage: 'after-server-hello' } });
    expect(r.alerts).toEqual([{ by: 'client', level: 2, description: null, time: expect.any(Number) }]);
    expect(r.history).toBe('CsiIL');
  });

  it('a Finished (53 bytes) or EndOfEarlyData (21) is no alert', () => {
    expect(run(encryptedRecord(CT.applicationData, 53))).toMatchObject({ handshake: 'complete', alerts: [] });
    expect(run(encryptedRecord(CT.applicationData, 21))).toMatchObject({ handshake: 'complete', alerts: [] });
  });
});

describe('a TLS 1.3 server that refuses the client\'s Finished flight (its certificate)', () => {
  // The client's Certificate, CertificateVerify and Finished (OpenSSL: a record each), then as
  // tls13-server-rejects-client-certificate.pcap: the server's encrypted alert at once, then its FIN.
  const clientFlight = () => [ccsRecord(), encryptedRecord(CT.applicationData, 809), encryptedRecord(CT.applicationData, 281), encryptedRecord(CT.applicationData, 69)];
  const run = (after: (c: Conversation) => void, o: { flight?: Uint8Array[] } = {}) => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(tls13Client());
    c.server(tls13Server(), ...tls13Flight());
    c.client(...(o.flight ?? clientFlight()));
    after(c);
    table.finishAll();
    return only(records);
  };

  it('an alert-sized record (19 bytes, 11 with AES-CCM-8) at once, then the close: aborted by the server after the client\'s Finished', () => {
    for (const length of [19, 11]) {
      const r = run((c) => c.server(encryptedRecord(CT.applicationData, length)).fin(1).fin(0));
      // Before: "complete" (the client's first flight record was taken as its Finished, and that was all).
      expect(r).toMatchObject({ handshake: 'aborted', established: false, resumed: false, abort: { by: 'server', how: 'fin', stage: 'after-client-finished' } });
      expect(r.alerts).toEqual([{ by: 'server', level: 2, description: null, time: expect.any(Number) }]);
      expect(r.history).toBe('CsiIl');
    }
  });

  it('also when the client sent its request first and the server resets the connection', () => {
    const r = run((c) => c.client(encryptedRecord(CT.applicationData, 35)).server(encryptedRecord(CT.applicationData, 19)).rst(1));
    expect(r).toMatchObject({ handshake: 'aborted', abort: { by: 'server', how: 'rst', stage: 'after-client-finished' } });
  });

  it('a server that took the flight sends tickets or data first: complete, though it closes with close_notify', () => {
    const r = run((c) => c.server(encryptedRecord(CT.applicationData, 954)).server(encryptedRecord(CT.applicationData, 19)).fin(1).fin(0));
    expect(r).toMatchObject({ handshake: 'complete', established: true, abort: null, alerts: [] });
  });

  it('an idle timeout\'s close_notify (the same 19 bytes, seconds later) is no refusal', () => {
    const r = run((c) => {
      c.time += 5;
      c.server(encryptedRecord(CT.applicationData, 19)).fin(1).fin(0);
    });
    expect(r).toMatchObject({ handshake: 'complete', established: true, abort: null, alerts: [] });
  });

  it('nor a close that comes long after the alert-sized record (it was data)', () => {
    const r = run((c) => {
      c.server(encryptedRecord(CT.applicationData, 19));
      c.time += 30;
      c.fin(1).fin(0);
    });
    expect(r).toMatchObject({ handshake: 'complete', abort: null });
  });

  it('nor the server\'s answer to the client closing first (its close_notify, or its FIN)', () => {
    const afterClientAlert = run((c) => c.client(encryptedRecord(CT.applicationData, 19)).server(encryptedRecord(CT.applicationData, 19)).fin(0).fin(1));
    expect(afterClientAlert).toMatchObject({ handshake: 'complete', abort: null, alerts: [] });
    const afterClientFin = run((c) => c.fin(0).server(encryptedRecord(CT.applicationData, 19)).fin(1));
    expect(afterClientFin).toMatchObject({ handshake: 'complete', abort: null, alerts: [] });
  });

  it('nor a close_notify at once after a bare Finished: no certificate was asked for, none to refuse', () => {
    for (const finished of [53, 45, 69]) {
      // A server shutting down as the handshake ends (no tickets, no data): its close_notify is 19 bytes too.
      const r = run((c) => c.server(encryptedRecord(CT.applicationData, 19)).fin(1).fin(0), { flight: [ccsRecord(), encryptedRecord(CT.applicationData, finished)] });
      expect(r).toMatchObject({ handshake: 'complete', established: true, abort: null, alerts: [] });
    }
    // An empty Certificate (25 bytes: none where one is asked for) still can be refused.
    const none = run((c) => c.server(encryptedRecord(CT.applicationData, 19)).fin(1).fin(0), { flight: [ccsRecord(), encryptedRecord(CT.applicationData, 25), encryptedRecord(CT.applicationData, 53)] });
    expect(none).toMatchObject({ handshake: 'aborted', abort: { by: 'server', stage: 'after-client-finished' } });
  });

  it('nor an alert-sized record the capture ends after, with no close', () => {
    expect(run((c) => c.server(encryptedRecord(CT.applicationData, 19)))).toMatchObject({ handshake: 'complete', abort: null });
  });

  it('the window stretches with a slow path: three times the hello\'s round trip', () => {
    const slow = (wait: number) => {
      const { table, records } = newTable();
      const c = new Conversation(table).open();
      c.client(tls13Client());
      c.time += 0.6; // the ServerHello 0.6 s after the ClientHello (a capture at the client, a long path)
      c.server(tls13Server(), ...tls13Flight());
      c.client(...clientFlight());
      c.time += wait;
      c.server(encryptedRecord(CT.applicationData, 19)).fin(1).fin(0);
      table.finishAll();
      return only(records);
    };
    expect(slow(1.5).handshake).toBe('aborted');
    expect(slow(2.5).handshake).toBe('complete');
  });
});

describe('a TLS 1.3 server\'s refusal under a snap length', () => {
  // As tls13-server-rejects-client-certificate.pcap at -s 75: 9 bytes of each segment's payload.
  // The client's flight and the server's are each one segment (their Finished hidden); the client's
  // request and the server's alert each a segment of their own, their record headers kept.
  const scenario = (c: Conversation) => {
    c.client(tls13Client());
    c.server(tls13Server(), ...tls13Flight());
    c.client(ccsRecord(), encryptedRecord(CT.applicationData, 25), encryptedRecord(CT.applicationData, 69));
    c.client(encryptedRecord(CT.applicationData, 35));
    c.server(encryptedRecord(CT.applicationData, 19));
    c.fin(1).fin(0);
  };

  it('is never "complete": the alert-sized record is no Finished, nor what only follows one', () => {
    const { whole, cut } = wholeAndCut(9, scenario);
    expect(whole).toMatchObject({ handshake: 'aborted', abort: { by: 'server', stage: 'after-client-finished' } });
    // Taken for the server's Finished or what follows it, the alert made the handshake "complete".
    expect(cut.handshake).toBe('incomplete');
  });
});

describe('a TLS 1.3 connection is followed past the client\'s Finished only as long as a refusal could come', () => {
  it('a client that goes on sending past the window: the wait ends, the streams are let go', () => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    c.client(tls13Client());
    c.server(tls13Server(), ...tls13Flight());
    // Its Certificate, CertificateVerify and Finished: a flight the server may refuse.
    c.client(ccsRecord(), encryptedRecord(CT.applicationData, 809), encryptedRecord(CT.applicationData, 281), encryptedRecord(CT.applicationData, 69));
    // The one live flow, from the table's buckets (the resource bound is not in the record).
    type Flow = { reassemblers: { isActive: boolean }[] };
    const liveFlow = (): Flow => (table as unknown as { buckets: (Flow | null)[] }).buckets.find((f) => f !== null)!;
    // The server's first record after the Finished is still to come: both streams are read.
    expect(liveFlow().reassemblers.map((r) => r.isActive)).toEqual([true, true]);
    c.client(encryptedRecord(CT.applicationData, 1000));
    expect(liveFlow().reassemblers.map((r) => r.isActive)).toEqual([true, true]);
    c.time += 2;
    c.client(encryptedRecord(CT.applicationData, 1000)); // an upload, the server silent: past the window
    expect(liveFlow().reassemblers.map((r) => r.isActive)).toEqual([false, false]);
    c.server(encryptedRecord(CT.applicationData, 19)).fin(1).fin(0);
    table.finishAll();
    expect(only(records)).toMatchObject({ handshake: 'complete', abort: null });
  });
});

describe('what resuming would have saved a handshake (fullHandshakeOnlyBytes)', () => {
  const record = (scenario: (c: Conversation) => void) => {
    const { table, records } = newTable();
    const c = new Conversation(table).open();
    scenario(c);
    table.finishAll();
    return only(records);
  };

  it('TLS 1.2 full handshake: the certificate and key exchange messages with their headers, both sides (RFC 5246 §7.3)', () => {
    const r = record((c) => tls12Full(c, { issueTicket: true }));
    // Not the hellos, the ticket, the ChangeCipherSpecs or the Finished messages: a resumption sends those too.
    expect(r.fullHandshakeOnlyBytes).toBe(certificate.length + serverKeyExchange.length + serverHelloDone.length + clientKeyExchange.length);
    expect(r.fullHandshakeOnlyBytes).toBe(210 + 104 + 4 + 37);
  });

  it('TLS 1.2 with a client certificate: its Certificate and CertificateVerify count as well', () => {
    const clientCertificate = handshake(HS.certificate, vec(3, vec(3, fill(300, 0x31))));
    const certificateVerify = handshake(15, concat([4, 1], vec(2, fill(256, 0x76))));
    const r = record((c) => {
      c.client(clientHelloRecord({ extensions: [ext.serverName('mutual.example')] }));
      c.server(hs(serverHello({ sessionId: SID_B }), certificate, serverKeyExchange, handshake(13, concat(vec(1, [1]), vec(2, [4, 1]), vec(2, []))), serverHelloDone));
      c.client(hs(clientCertificate, clientKeyExchange, certificateVerify), ccsRecord(), finished12());
      c.server(ccsRecord(), finished12());
      c.client(appData());
    });
    expect(r.handshake).toBe('complete');
    expect(r.fullHandshakeOnlyBytes).toBe(certificate.length + serverKeyExchange.length + 4 + 1 + 1 + 2 + 2 + 2 + serverHelloDone.length
      + clientCertificate.length + clientKeyExchange.length + certificateVerify.length);
  });

  it('an abbreviated TLS 1.2 handshake saves nothing more: 0', () => {
    const r = record((c) => {
      c.client(clientHelloRecord({ sessionId: SID_A }));
      c.server(hs(serverHello({ sessionId: SID_A })), ccsRecord(), finished12());
      c.client(ccsRecord(), finished12(), appData());
    });
    expect(r.resumed).toBe(true);
    expect(r.fullHandshakeOnlyBytes).toBe(0);
  });

  it('TLS 1.3: the server\'s encrypted flight before the client\'s Finished, less its EncryptedExtensions and a Finished record of the suite (RFC 8446 §2.2)', () => {
    const r = record((c) => {
      c.client(tls13Client());
      c.server(tls13Server(), ...tls13Flight());
      c.client(ccsRecord(), encryptedRecord(CT.applicationData, 53));
      // Tickets and data after the client's Finished are no part of it.
      c.server(encryptedRecord(CT.applicationData, 250), appData());
    });
    expect(r.handshake).toBe('complete');
    // tls13Flight: EncryptedExtensions 30, Certificate 800, CertificateVerify 280, Finished 53, a
    // record each; a resumption sends the first and the last too. The ServerHello's own record is not counted.
    expect(r.fullHandshakeOnlyBytes).toBe(800 + 280);
  });

  it('TLS 1.3, a flight packed into fewer records (BoringSSL): its EncryptedExtensions cannot be told apart and stays counted', () => {
    const packed = record((c) => {
      c.client(tls13Client());
      c.server(tls13Server(), ccsRecord(), encryptedRecord(CT.applicationData, 30 + 800 + 280), encryptedRecord(CT.applicationData, 53));
      c.client(ccsRecord(), encryptedRecord(CT.applicationData, 53));
    });
    expect(packed.fullHandshakeOnlyBytes).toBe(30 + 800 + 280);
    // A first record too large for EncryptedExtensions alone (it carries the certificate too).
    const large = record((c) => {
      c.client(tls13Client());
      c.server(tls13Server(), ccsRecord(), encryptedRecord(CT.applicationData, 830), encryptedRecord(CT.applicationData, 280), encryptedRecord(CT.applicationData, 53));
      c.client(ccsRecord(), encryptedRecord(CT.applicationData, 53));
    });
    expect(large.fullHandshakeOnlyBytes).toBe(830 + 280);
  });

  it('TLS 1.3 with SHA-384 (TLS_AES_256_GCM_SHA384): its Finished record is 69 bytes', () => {
    const r = record((c) => {
      c.client(tls13Client());
      c.server(hs(serverHello({ sessionId: fill(32, 0x13), cipherSuite: 0x1302, extensions: [ext.supportedVersionsServer(0x0304), ext.keyShareServer(0x001d)] })),
        ccsRecord(), encryptedRecord(CT.applicationData, 1500), encryptedRecord(CT.applicationData, 69));
      c.client(ccsRecord(), encryptedRecord(CT.applicationData, 69));
    });
    expect(r.cipher).toBe('TLS_AES_256_GCM_SHA384');
    expect(r.fullHandshakeOnlyBytes).toBe(1500);
  });

  it('a TLS 1.3 PSK resumption: 0', () => {
    const r = record((c) => {
      c.client(tls13Client({ psk: true }));
      c.server(tls13Server({ psk: true }), ccsRecord(), appData(), appData());
      c.client(ccsRecord(), appData());
    });
    expect(r.resumed).toBe(true);
    expect(r.fullHandshakeOnlyBytes).toBe(0);
  });

  it('unknown (null) where the handshake was not seen whole: aborted, or cut by the snap length', () => {
    const aborted = record((c) => {
      c.client(clientHelloRecord({ extensions: [ext.serverName('abort.example')] }));
      c.server(hs(serverHello({ sessionId: SID_B }), certificate, serverKeyExchange, serverHelloDone));
      c.rst(0);
    });
    expect(aborted.handshake).toBe('aborted');
    expect(aborted.fullHandshakeOnlyBytes).toBeNull();
    const { whole, cut } = wholeAndCut(120, (c) => tls12Full(c));
    expect(whole.fullHandshakeOnlyBytes).toBe(355);
    expect(cut.handshake).toBe('complete');
    expect(cut.fullHandshakeOnlyBytes).toBeNull();
  });
});
