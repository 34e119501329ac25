/**
 * tshark as an independent oracle for the analyzer's per-connection facts.
 *
 * `tsharkConnectionFacts(file)` runs `tshark -r FILE -T pdml` once (PDML is
 * used rather than `-T fields`/`-T json` because it keeps the message tree,
 * so several handshake messages in one frame never get mixed up, and it
 * carries the `showname` text that holds the cipher-suite name) and reduces
 * the dissection to one {@link TsharkConnection} per TCP stream.
 *
 * Only plaintext handshake data can be seen: TLS 1.3 EncryptedExtensions
 * (ALPN), certificates and NewSessionTickets are encrypted and therefore not
 * reported for TLS 1.3 connections.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';

/** One end of a TCP connection. */
export interface TsharkEndpoint {
  /** Textual address as tshark prints it: "127.0.0.1", "::1". */
  ip: string;
  port: number;
}

/** How a resumption was achieved (see {@link TsharkConnection.resumedBy}). */
export type ResumedBy = 'session-id' | 'ticket' | 'psk';

/** Facts tshark reports about one TCP connection (one `tcp.stream`). */
export interface TsharkConnection {
  /** tshark's `tcp.stream` index (0-based, in order of first packet). */
  tcpStream: number;
  /**
   * The side that sent the SYN (without ACK); when the capture starts after
   * the SYN, the sender of the first ClientHello; else the receiver of the
   * SYN+ACK; else the source of the first packet seen.
   */
  client: TsharkEndpoint;
  /** The other side. */
  server: TsharkEndpoint;
  /** server_name (SNI) host name of the first ClientHello that has one. */
  sni: string | null;
  /** Number of ClientHello messages (2 after a HelloRetryRequest). */
  clientHelloCount: number;
  /**
   * Number of handshake messages of type server_hello (2) as on the wire,
   * INCLUDING a HelloRetryRequest (which is a ServerHello with the special
   * random value). A HRR connection that completes has 2.
   */
  serverHelloCount: number;
  /** Frame numbers (1-based, as tshark's frame.number) of the ClientHellos. */
  clientHelloFrames: number[];
  /** Frame numbers of the ServerHellos, HelloRetryRequest included. */
  serverHelloFrames: number[];
  /** The server sent a HelloRetryRequest. */
  helloRetry: boolean;
  /**
   * legacy_session_id of the last ClientHello: lower-case hex without
   * separators; null when empty or all zero. Note that a TLS 1.3-capable
   * client in middlebox-compatibility mode sends a random 32-byte value here
   * that is not a resumption offer (see {@link resumptionOffered}).
   */
  offeredSessionId: string | null;
  /** The last ClientHello has a non-empty session_ticket (35) extension. */
  ticketOffered: boolean;
  /** The last ClientHello has a pre_shared_key (41) extension. */
  pskOffered: boolean;
  /** The last ClientHello's supported_versions (43) lists TLS 1.3 (0x0304). */
  clientOffersTls13: boolean;
  /**
   * The client offered to resume: pskOffered || ticketOffered || a session ID
   * that counts: from a client that offers TLS 1.3 a session ID alone is the
   * middlebox-compat random value, not an offer, unless the server answered
   * below TLS 1.3 (then it may be a cached TLS 1.2 session's, and the server
   * takes it as an offer either way).
   */
  resumptionOffered: boolean;
  /** session_id of the (non-HRR) ServerHello; same format as offeredSessionId. */
  serverSessionId: string | null;
  /**
   * Negotiated version of the (non-HRR) ServerHello: "TLS 1.3" etc., from its
   * supported_versions extension when present, else its legacy version;
   * unknown values as "0x%04x". null without a ServerHello.
   */
  version: string | null;
  /** IANA name of the chosen cipher suite, e.g. "TLS_AES_256_GCM_SHA384". */
  cipher: string | null;
  /** Numeric id of the chosen cipher suite, e.g. 0x1302. */
  cipherId: number | null;
  /**
   * ALPN protocol chosen by the server, from the ServerHello (TLS <= 1.2
   * only: in TLS 1.3 it is in the encrypted EncryptedExtensions, so null).
   */
  alpn: string | null;
  /** The (non-HRR) ServerHello has a pre_shared_key (41) extension. */
  pskAccepted: boolean;
  /** The server sent a plaintext NewSessionTicket (TLS <= 1.2 only). */
  ticketIssued: boolean;
  /** The server sent a plaintext Certificate message (TLS <= 1.2 only). */
  serverCertificateSeen: boolean;
  /**
   * TLS <= 1.2 abbreviated handshake shape: the server sent ChangeCipherSpec
   * after its ServerHello with no Certificate in between.
   */
  abbreviatedHandshake: boolean;
  /**
   * The server accepted a resumption. TLS 1.3: the ServerHello has
   * pre_shared_key. TLS <= 1.2: the offered non-empty session ID equals the
   * server's, OR {@link abbreviatedHandshake}. Says nothing about whether the
   * handshake then completed (see rstBy).
   */
  resumed: boolean;
  /**
   * How the resumption happened, null when not resumed: "psk" for TLS 1.3;
   * for TLS <= 1.2 "ticket" when the client offered a ticket (RFC 5077: the
   * echoed session ID is then client-chosen), else "session-id".
   */
  resumedBy: ResumedBy | null;
  /** Who sent the first TCP RST of the connection, null if none. */
  rstBy: 'client' | 'server' | null;
  /**
   * The client gave up after the ServerHello, before anything that could be its Finished: 'clear'
   * when its next record was a fatal alert tshark reads (tls.alert_message.level 2); 'encrypted'
   * when it was a TLS 1.3 application_data record of an alert's length (19 or 11 bytes, RFC 8446
   * §5.2: 2 bytes, the content type, the tag) and no other followed; null otherwise.
   */
  clientGaveUp: 'clear' | 'encrypted' | null;
  /**
   * The server refused the client's Finished flight (its certificate, most often): a fatal alert of
   * the server's after the client's Finished, 'encrypted' when tshark decrypted it (TLS 1.3, RFC 8446
   * §5.2), 'clear' when it was not (TLS 1.2 before the server's ChangeCipherSpec). Known only when
   * tshark has the session keys (`keylog`): the client's Finished is encrypted; null otherwise.
   */
  serverRefused: 'clear' | 'encrypted' | null;
  /**
   * What resuming would have saved a full handshake: TLS 1.0–1.2 the bytes of the messages only a
   * full handshake sends (Certificate, CertificateStatus, ServerKeyExchange, CertificateRequest,
   * ServerHelloDone, ClientKeyExchange, CertificateVerify, by tls.handshake.length plus their
   * 4-byte headers); TLS 1.3 the lengths of the server's encrypted records from its ServerHello's
   * frame to the client's first encrypted record, less the bare Finished record of the suite's
   * hash and tag (53, 69 for SHA-384, 45 for AES-CCM-8). 0 when resumed; null without a ServerHello.
   */
  fullHandshakeOnlyBytes: number | null;
}

const HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

const VERSION_NAMES: Record<number, string> = {
  0x0300: 'SSL 3.0',
  0x0301: 'TLS 1.0',
  0x0302: 'TLS 1.1',
  0x0303: 'TLS 1.2',
  0x0304: 'TLS 1.3',
};

/** Frames tshark has to show us; everything else is irrelevant. */
const DISPLAY_FILTER =
  'tls.handshake.type || tls.record.content_type == 20 || tcp.flags.reset == 1 || tcp.flags.syn == 1 || tls.alert_message.level == 2 || tls.record.opaque_type == 23';

let availableCache: boolean | undefined;

/** True when a working `tshark` is on PATH. */
export function tsharkAvailable(): boolean {
  if (availableCache === undefined) {
    try {
      execFileSync('tshark', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
      availableCache = true;
    } catch {
      availableCache = false;
    }
  }
  return availableCache;
}

/** First line of `tshark --version`, e.g. "TShark (Wireshark) 4.0.17 (...)". */
export function tsharkVersion(): string {
  return execFileSync('tshark', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')[0]!
    .trim();
}

// ---------------------------------------------------------------- PDML

interface PdmlNode {
  tag: 'packet' | 'proto' | 'field';
  name: string;
  show: string | undefined;
  showname: string | undefined;
  value: string | undefined;
  children: PdmlNode[];
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

function unescapeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

function parseAttrs(src: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([\w.:-]+)="([^"]*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src)) !== null) attrs.set(m[1]!, unescapeXml(m[2]!));
  return attrs;
}

/** Calls `onPacket` for every <packet> of a PDML document, in order. */
function parsePdml(xml: string, onPacket: (packet: PdmlNode) => void): void {
  const re = /<(\/?)(packet|proto|field)\b((?:\s+[\w.:-]+="[^"]*")*)\s*(\/?)>/g;
  const stack: PdmlNode[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml)) !== null) {
    const closing = m[1] === '/';
    const tag = m[2] as PdmlNode['tag'];
    if (closing) {
      const node = stack.pop();
      if (node === undefined || node.tag !== tag) throw new Error(`malformed PDML near offset ${m.index}`);
      if (tag === 'packet') onPacket(node);
      continue;
    }
    const attrs = parseAttrs(m[3] ?? '');
    const node: PdmlNode = {
      tag,
      name: attrs.get('name') ?? '',
      show: attrs.get('show'),
      showname: attrs.get('showname'),
      value: attrs.get('value'),
      children: [],
    };
    stack[stack.length - 1]?.children.push(node);
    if (m[4] !== '/') stack.push(node);
    else if (tag === 'packet') onPacket(node);
  }
  if (stack.length !== 0) throw new Error('truncated PDML');
}

/** First descendant (depth-first, document order) named `name`. */
function find(node: PdmlNode, name: string): PdmlNode | undefined {
  for (const c of node.children) {
    if (c.name === name) return c;
    const d = find(c, name);
    if (d) return d;
  }
  return undefined;
}

/** All descendants named `name`, document order. */
function findAll(node: PdmlNode, name: string, out: PdmlNode[] = []): PdmlNode[] {
  for (const c of node.children) {
    if (c.name === name) out.push(c);
    findAll(c, name, out);
  }
  return out;
}

function child(node: PdmlNode, name: string): PdmlNode | undefined {
  return node.children.find((c) => c.name === name);
}

// ---------------------------------------------------------------- reduction

interface Endpoint {
  ip: string;
  port: number;
}

const sameEndpoint = (a: Endpoint, b: Endpoint): boolean => a.ip === b.ip && a.port === b.port;

interface Extension {
  type: number;
  len: number;
  node: PdmlNode;
}

/** Extensions of a ClientHello/ServerHello handshake node. */
function extensionsOf(hs: PdmlNode): Extension[] {
  const exts: Extension[] = [];
  const visit = (n: PdmlNode): void => {
    for (const c of n.children) {
      const t = child(c, 'tls.handshake.extension.type');
      if (t !== undefined) {
        const len = child(c, 'tls.handshake.extension.len');
        exts.push({ type: Number(t.show), len: Number(len?.show ?? 0), node: c });
      } else if (c.name === '') {
        visit(c);
      }
    }
  };
  visit(hs);
  return exts;
}

/** Hex of a bytes field's `value`, lower case; null when absent, empty or all zero. */
function idHex(node: PdmlNode | undefined): string | null {
  const v = (node?.value ?? node?.show ?? '').replace(/:/g, '').toLowerCase();
  if (v === '' || /^0+$/.test(v)) return null;
  return v;
}

function parseNum(s: string | undefined): number {
  if (s === undefined) return NaN;
  return s.startsWith('0x') ? parseInt(s.slice(2), 16) : Number(s);
}

type EventKind = 'syn' | 'synack' | 'rst' | 'ch' | 'sh' | 'cert' | 'nst' | 'ccs' | 'fatal' | 'data' | 'finished' | 'full-only';

interface StreamEvent {
  kind: EventKind;
  frame: number;
  src: Endpoint;
  dst: Endpoint;
  hs?: PdmlNode;
  /** 'data': the record's length; 'full-only': the message's, its 4-byte header included. */
  length?: number;
  /** 'fatal': the alert came in an encrypted TLS 1.3 record (tshark decrypted it with the session keys). */
  encrypted?: boolean;
}

interface StreamAcc {
  tcpStream: number;
  events: StreamEvent[];
}

function versionName(v: number): string {
  return VERSION_NAMES[v] ?? `0x${v.toString(16).padStart(4, '0')}`;
}

function reduceStream(acc: StreamAcc): TsharkConnection {
  const ev = acc.events;
  const first = ev[0]!;
  const syn = ev.find((e) => e.kind === 'syn');
  const firstCh = ev.find((e) => e.kind === 'ch');
  const synack = ev.find((e) => e.kind === 'synack');
  let client: Endpoint;
  let server: Endpoint;
  if (syn) [client, server] = [syn.src, syn.dst];
  else if (firstCh) [client, server] = [firstCh.src, firstCh.dst];
  else if (synack) [client, server] = [synack.dst, synack.src];
  else [client, server] = [first.src, first.dst];
  const fromClient = (e: StreamEvent): boolean => sameEndpoint(e.src, client);

  const chs = ev.filter((e) => e.kind === 'ch' && fromClient(e));
  const shs = ev.filter((e) => e.kind === 'sh' && !fromClient(e));

  const conn: TsharkConnection = {
    tcpStream: acc.tcpStream,
    client: { ...client },
    server: { ...server },
    sni: null,
    clientHelloCount: chs.length,
    serverHelloCount: shs.length,
    clientHelloFrames: chs.map((e) => e.frame),
    serverHelloFrames: shs.map((e) => e.frame),
    helloRetry: false,
    offeredSessionId: null,
    ticketOffered: false,
    pskOffered: false,
    clientOffersTls13: false,
    resumptionOffered: false,
    serverSessionId: null,
    version: null,
    cipher: null,
    cipherId: null,
    alpn: null,
    pskAccepted: false,
    ticketIssued: false,
    serverCertificateSeen: false,
    abbreviatedHandshake: false,
    resumed: false,
    resumedBy: null,
    rstBy: null,
    clientGaveUp: null,
    serverRefused: null,
    fullHandshakeOnlyBytes: null,
  };

  for (const ch of chs) {
    const name = find(ch.hs!, 'tls.handshake.extensions_server_name');
    if (name?.show) {
      conn.sni = name.show;
      break;
    }
  }
  const lastCh = chs[chs.length - 1];
  if (lastCh) {
    const hs = lastCh.hs!;
    conn.offeredSessionId = idHex(child(hs, 'tls.handshake.session_id'));
    for (const ext of extensionsOf(hs)) {
      if (ext.type === 35 && ext.len > 0) conn.ticketOffered = true;
      if (ext.type === 41) conn.pskOffered = true;
      if (ext.type === 43) {
        conn.clientOffersTls13 = findAll(ext.node, 'tls.handshake.extensions.supported_version').some(
          (n) => parseNum(n.show) === 0x0304,
        );
      }
    }
  }

  // The real ServerHello: the first one whose random is not the HRR value.
  let serverHello: StreamEvent | undefined;
  for (const sh of shs) {
    const random = idHex(child(sh.hs!, 'tls.handshake.random'));
    if (random === HRR_RANDOM) {
      conn.helloRetry = true;
    } else if (serverHello === undefined) {
      serverHello = sh;
    }
  }
  if (serverHello) {
    const hs = serverHello.hs!;
    conn.serverSessionId = idHex(child(hs, 'tls.handshake.session_id'));
    let version = parseNum(child(hs, 'tls.handshake.version')?.show);
    for (const ext of extensionsOf(hs)) {
      if (ext.type === 43) {
        const sv = find(ext.node, 'tls.handshake.extensions.supported_version');
        if (sv) version = parseNum(sv.show);
      }
      if (ext.type === 41) conn.pskAccepted = true;
      if (ext.type === 16) conn.alpn = find(ext.node, 'tls.handshake.extensions_alpn_str')?.show ?? null;
    }
    conn.version = Number.isNaN(version) ? null : versionName(version);
    const cs = child(hs, 'tls.handshake.ciphersuite');
    if (cs) {
      conn.cipherId = parseNum(cs.show);
      const m = /^Cipher Suite:\s*(.*?)\s*\(0x[0-9a-fA-F]+\)\s*$/.exec(cs.showname ?? '');
      conn.cipher = m?.[1] || null;
    }

    // Server messages after the real ServerHello, in order.
    const after = ev.slice(ev.indexOf(serverHello) + 1).filter((e) => !fromClient(e));
    conn.ticketIssued = after.some((e) => e.kind === 'nst');
    conn.serverCertificateSeen = after.some((e) => e.kind === 'cert');
    if (conn.version !== 'TLS 1.3') {
      for (const e of after) {
        if (e.kind === 'cert' || e.kind === 'sh') break;
        if (e.kind === 'ccs') {
          conn.abbreviatedHandshake = true;
          break;
        }
      }
    }

    if (conn.version === 'TLS 1.3') {
      conn.resumed = conn.pskAccepted;
      if (conn.resumed) conn.resumedBy = 'psk';
    } else {
      conn.resumed =
        (conn.offeredSessionId !== null && conn.offeredSessionId === conn.serverSessionId) ||
        conn.abbreviatedHandshake;
      if (conn.resumed) conn.resumedBy = conn.ticketOffered ? 'ticket' : 'session-id';
    }
  }
  if (serverHello !== undefined) {
    if (conn.resumed) conn.fullHandshakeOnlyBytes = 0;
    else if (conn.version !== 'TLS 1.3') {
      conn.fullHandshakeOnlyBytes = ev.filter((e) => e.kind === 'full-only' && e.frame >= serverHello.frame).reduce((sum, e) => sum + e.length!, 0);
    } else {
      const clientData = ev.find((e) => e.kind === 'data' && fromClient(e) && e.frame > serverHello.frame);
      const flight = ev.filter((e) => e.kind === 'data' && !fromClient(e) && e.frame >= serverHello.frame && (clientData === undefined || e.frame < clientData.frame));
      const finished = conn.cipherId === 0x1302 ? 69 : conn.cipherId === 0x1305 ? 45 : 53;
      // The EncryptedExtensions, a resumption's too: the flight's first record where each message has one.
      const encryptedExtensions = flight.length >= 3 && flight[0]!.length! <= 512 ? flight[0]!.length! : 0;
      conn.fullHandshakeOnlyBytes = Math.max(0, flight.reduce((sum, e) => sum + e.length!, 0) - encryptedExtensions - finished);
    }
  }
  // A session ID alone from a client that offers TLS 1.3 is its compatibility value unless a server
  // answered below TLS 1.3: RFC 8446 §4.1.2 has such a client send a cached TLS 1.2 session's ID,
  // and a TLS 1.2 server takes any ID as one (Chromium against a TLS 1.2 nginx).
  const sessionIdCounts = conn.offeredSessionId !== null && (conn.version === null ? !conn.clientOffersTls13 : conn.version !== 'TLS 1.3');
  conn.resumptionOffered = conn.pskOffered || conn.ticketOffered || sessionIdCounts;

  const rst = ev.find((e) => e.kind === 'rst');
  if (rst) conn.rstBy = fromClient(rst) ? 'client' : 'server';
  const lastSh = shs[shs.length - 1];
  if (lastSh !== undefined) {
    const after = ev.filter((e) => fromClient(e) && e.frame >= lastSh.frame && (e.kind === 'fatal' || e.kind === 'data'));
    if (after[0]?.kind === 'fatal') conn.clientGaveUp = 'clear';
    else if (after.length === 1 && (after[0]!.length === 19 || after[0]!.length === 11)) conn.clientGaveUp = 'encrypted';
  }
  const clientFinished = ev.find((e) => e.kind === 'finished' && fromClient(e));
  if (clientFinished !== undefined) {
    const refusal = ev.find((e) => e.kind === 'fatal' && !fromClient(e) && e.frame >= clientFinished.frame);
    if (refusal !== undefined) conn.serverRefused = refusal.encrypted ? 'encrypted' : 'clear';
  }
  return conn;
}

const cache = new Map<string, { key: string; facts: TsharkConnection[] }>();

/**
 * Per-TCP-stream TLS facts of a pcap/pcapng file according to tshark, in
 * tcp.stream order. Streams appear when at least one of their packets is a
 * SYN, a RST, a ChangeCipherSpec, a plaintext handshake message, a clear fatal
 * alert or a TLS 1.3 encrypted record. Results
 * are cached per path (invalidated when size or mtime change).
 */
export function tsharkConnectionFacts(file: string, options: { tlsPorts?: readonly number[]; keylog?: string } = {}): TsharkConnection[] {
  const path = resolve(file);
  const st = statSync(path);
  // tshark finds TLS on other ports than its own by a heuristic that misses some (Chromium's
  // TLS 1.3 ClientHello on port 44321): these ports are decoded as TLS outright ("Decode As").
  const ports = [...new Set(options.tlsPorts ?? [])].sort((a, b) => a - b);
  const decodeAs = ports.flatMap((port) => ['-d', `tcp.port==${port},tls`]);
  // With the session keys (an NSS key log), tshark decrypts: encrypted alerts and Finished messages show.
  const keys = options.keylog === undefined ? [] : ['-o', `tls.keylog_file:${resolve(options.keylog)}`];
  const key = `${st.size}:${st.mtimeMs}:${ports.join(',')}:${options.keylog ?? ''}`;
  const hit = cache.get(path);
  if (hit && hit.key === key) return hit.facts.map((c) => structuredClone(c));

  const xml = execFileSync(
    'tshark',
    ['-n', '-r', path, ...decodeAs, ...keys, '-Y', DISPLAY_FILTER, '-T', 'pdml', '-J', 'ip ipv6 tcp tls'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
  );

  const streams = new Map<number, StreamAcc>();
  parsePdml(xml, (packet) => {
    let frame = NaN;
    let ipProto: PdmlNode | undefined;
    let tcp: PdmlNode | undefined;
    const tlsProtos: PdmlNode[] = [];
    for (const p of packet.children) {
      if (p.tag !== 'proto') continue;
      if (p.name === 'geninfo') frame = Number(child(p, 'num')?.show);
      else if ((p.name === 'ip' || p.name === 'ipv6') && tcp === undefined) ipProto = p;
      else if (p.name === 'tcp' && tcp === undefined) tcp = p;
      else if (p.name === 'tls' && tcp !== undefined) tlsProtos.push(p);
    }
    if (tcp === undefined || ipProto === undefined) return;
    const v4 = ipProto.name === 'ip';
    const srcIp = child(ipProto, v4 ? 'ip.src' : 'ipv6.src')?.show;
    const dstIp = child(ipProto, v4 ? 'ip.dst' : 'ipv6.dst')?.show;
    const streamNo = Number(child(tcp, 'tcp.stream')?.show);
    if (srcIp === undefined || dstIp === undefined || Number.isNaN(streamNo)) return;
    const src = { ip: srcIp, port: Number(child(tcp, 'tcp.srcport')?.show) };
    const dst = { ip: dstIp, port: Number(child(tcp, 'tcp.dstport')?.show) };
    let acc = streams.get(streamNo);
    if (!acc) {
      acc = { tcpStream: streamNo, events: [] };
      streams.set(streamNo, acc);
    }
    const push = (kind: EventKind, hs?: PdmlNode): void => {
      acc!.events.push(hs ? { kind, frame, src, dst, hs } : { kind, frame, src, dst });
    };
    const flag = (n: string): boolean => find(tcp!, n)?.show === '1';
    if (flag('tcp.flags.syn')) push(flag('tcp.flags.ack') ? 'synack' : 'syn');

    for (const tls of tlsProtos) {
      for (const record of findAll(tls, 'tls.record')) {
        const ct = Number(child(record, 'tls.record.content_type')?.show);
        if (ct === 20) {
          push('ccs');
          continue;
        }
        if (ct === 21 && find(record, 'tls.alert_message.level')?.show === '2') {
          acc.events.push({ kind: 'fatal', frame, src, dst, encrypted: child(record, 'tls.record.opaque_type') !== undefined });
        }
        // TLS 1.3's encrypted records carry their type as opaque_type (always 23).
        if (ct === 23 || child(record, 'tls.record.opaque_type')?.show === '23') acc.events.push({ kind: 'data', frame, src, dst, length: Number(child(record, 'tls.record.length')?.show) });
        if (ct !== 22) continue;
        for (const hs of record.children.filter((c) => c.name === 'tls.handshake')) {
          const type = Number(child(hs, 'tls.handshake.type')?.show);
          if (type === 1) push('ch', hs);
          else if (type === 2) push('sh', hs);
          else if (type === 4) push('nst', hs);
          else if (type === 11) push('cert', hs);
          else if (type === 20) push('finished', hs);
          // The messages only a full TLS 1.0–1.2 handshake sends (RFC 5246 §7.3), certificate included.
          if ([11, 12, 13, 14, 15, 16, 22].includes(type)) {
            acc.events.push({ kind: 'full-only', frame, src, dst, length: 4 + Number(child(hs, 'tls.handshake.length')?.show) });
          }
        }
      }
    }
    if (flag('tcp.flags.reset')) push('rst');
  });

  const facts = [...streams.values()]
    .filter((s) => s.events.length > 0)
    .sort((a, b) => a.tcpStream - b.tcpStream)
    .map(reduceStream);
  cache.set(path, { key, facts });
  return facts.map((c) => structuredClone(c));
}

/**
 * tshark's count of TLS over UDP in a file, to hold resumescope's `tlsOverUdp` to: frames with a
 * QUIC long header (`quic.header_form == 1`: a datagram's first packet is long whenever any is,
 * RFC 9000 §12.2) and frames tshark dissects as DTLS.
 */
export function tsharkTlsOverUdp(file: string): { quicHandshakeDatagrams: number; dtlsDatagrams: number } {
  const text = execFileSync('tshark', ['-n', '-r', resolve(file), '-Y', 'quic.header_form == 1 || dtls', '-T', 'fields', '-e', 'frame.protocols'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  const lines = text.split('\n').filter((l) => l.length > 0);
  return {
    quicHandshakeDatagrams: lines.filter((l) => /(^|:)quic(:|$)/.test(l)).length,
    dtlsDatagrams: lines.filter((l) => /(^|:)dtls(:|$)/.test(l)).length,
  };
}

/**
 * tshark's outcome of each TCP stream of a TLS 1.2 capture resumed by session ID, in stream order:
 * "F" no session ID offered, "S" the offered ID echoed (resumed), "R" another one (refused).
 * `port`: the server's, decoded as TLS whatever it is.
 */
export function tsharkSessionIdOutcomes(file: string, port: number): string {
  const out = execFileSync('tshark', ['-n', '-r', file, '-d', `tcp.port==${port},tls`, '-Y', 'tls.handshake.type == 1 || tls.handshake.type == 2',
    '-T', 'fields', '-e', 'tcp.stream', '-e', 'tls.handshake.type', '-e', 'tls.handshake.session_id'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const offered = new Map<number, string>();
  const outcome = new Map<number, string>();
  for (const line of out.trim().split('\n')) {
    const [stream, types, id = ''] = line.split('\t');
    if (types!.split(',')[0] === '1') offered.set(Number(stream), id);
    else outcome.set(Number(stream), offered.get(Number(stream)) === '' ? 'F' : offered.get(Number(stream)) === id ? 'S' : 'R');
  }
  return [...outcome.keys()].sort((a, b) => a - b).map((s) => outcome.get(s)).join('');
}

/** resumescope's outcome of a connection in tsharkSessionIdOutcomes's letters. */
export const sessionIdOutcomeLetter = (c: { resumption: string }): string => (c.resumption === 'accepted' ? 'S' : c.resumption === 'rejected' ? 'R' : 'F');
