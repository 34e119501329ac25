/**
 * The output contract (schemaVersion 1). Key names here are public: users' scripts
 * depend on them. docs/schema.json describes the same shape as a JSON Schema.
 */

export const SCHEMA_VERSION = 1;

/**
 * A record's hash of its ClientHello's random (see ConnectionRecord): a symbol key, so that no
 * JSON of a record carries it (JSON.stringify leaves symbol keys out), where a record is written
 * whole.
 */
export const CLIENT_RANDOM_HASH: unique symbol = Symbol('clientRandomHash');

export interface Endpoint {
  ip: string;
  port: number;
}

/** One of the four kinds of trouble, as Wireshark sorts them. */
export type AnomalyKind =
  | 'truncated' // capture cut short by snaplen: not an error
  | 'gap' // bytes missing from a TCP stream (lost or not captured)
  | 'malformed' // protocol data that does not parse
  | 'internal' // a bug in resumescope: please send the capture
  | 'clock'; // the capture's timestamps step back, or its clock is off against another file's

export interface Anomaly {
  kind: AnomalyKind;
  /** Short machine code, e.g. "tcp-gap", "tls-bad-record", "pcapng-bad-block". */
  code: string;
  message: string;
  file?: string;
  /** 1-based frame number within its file, when the trouble belongs to a frame. */
  frame?: number;
  /** Byte offset within the capture file. */
  offset?: number;
  /** Kind 'clock': how many seconds the capture clock stepped back at `frame`; code 'clock-offset': the seconds added to the file's packet times. */
  seconds?: number;
}

/**
 * 'unknown': the ClientHello was not captured or could not be read (the capture starts
 * mid-connection, holds the server's direction only, or cut the hello short), so whether it offered
 * a session cannot be told.
 */
export type Resumption = 'not-offered' | 'accepted' | 'rejected' | 'unanswered' | 'unknown';
export type ResumedBy = 'session-id' | 'ticket' | 'psk';
export type HandshakeState = 'complete' | 'aborted' | 'incomplete';
export type AbortStage =
  | 'before-client-hello'
  | 'after-client-hello'
  | 'after-server-hello'
  | 'after-client-finished';

export interface Abort {
  /** The side that ended the handshake: the sender of a fatal alert if one came first, else the first to close. */
  by: 'client' | 'server';
  how: 'rst' | 'fin';
  stage: AbortStage;
  time: number;
  /** Frame number (within `file`) of the RST or FIN that ended the handshake. */
  frame: number;
  file: string;
}

export interface Offer {
  /** Non-empty, non-zero legacy session ID offered by the client (hex), else null. */
  sessionId: string | null;
  /** A non-empty SessionTicket extension (RFC 5077) was offered. */
  ticket: boolean;
  /** A TLS 1.3 pre_shared_key extension (RFC 8446 §4.2.11) was offered. */
  psk: boolean;
}

/** One record per TLS connection. */
export interface ConnectionRecord {
  id: number;
  client: Endpoint;
  server: Endpoint;
  /** Epoch seconds of the connection's first packet. */
  startTime: number;
  clientHelloTime: number | null;
  serverHelloTime: number | null;
  endTime: number;
  sni: string | null;
  /** Protocol chosen by the server (RFC 7301), else the client's first offer is not reported. */
  alpn: string | null;
  /** Negotiated version, e.g. "TLS 1.2"; null without a ServerHello. */
  version: string | null;
  /** IANA cipher suite name, or "0xC02F" when unknown. */
  cipher: string | null;
  offer: Offer;
  serverSessionId: string | null;
  resumption: Resumption;
  resumedBy: ResumedBy | null;
  resumed: boolean;
  established: boolean;
  handshake: HandshakeState;
  abort: Abort | null;
  /** Zeek ssl_history letters: client upper case, server lower case. */
  history: string;
  anomalies: Anomaly[];
  /** Details beyond the contract, useful for fingerprints and drill-down. */
  clientHelloVersion: string | null;
  helloRetry: boolean;
  ticketIssued: boolean;
  /** Lifetime hint of the first NewSessionTicket (seconds), when visible in clear (TLS <= 1.2). */
  ticketLifetimeHint: number | null;
  /** Hex of the ticket the server issued in clear (TLS <= 1.2), shortened to 64 hex digits. */
  issuedTicket: string | null;
  /** Hex of the ticket the client offered (shortened to 64 hex digits). */
  offeredTicket: string | null;
  /** First TLS 1.3 PSK identity offered (hex, shortened to 64 hex digits). */
  offeredPskIdentity: string | null;
  certificateSeen: boolean;
  /**
   * Alerts seen: in clear, or a TLS 1.3 client's encrypted one before its Finished, or a TLS 1.3
   * server's refusing the client's Finished flight (TlsConnection.refusedByServer), known by its
   * length: `description` null (not readable), `level` 2 (a refusal is fatal, RFC 8446 §6.2).
   */
  alerts: { by: 'client' | 'server'; level: number; description: number | null; time: number }[];
  /** JA4-style client fingerprint (part a + sorted cipher and extension hashes, unhashed prefix). */
  clientFingerprint: string | null;
  file: string;
  /** Frame number (in `file`) of the connection's first packet. */
  firstFrame: number;
  packets: number;
  /** TCP payload bytes of both directions up to the end of the handshake. */
  handshakeBytes: number;
  /**
   * The bytes of this handshake that only a full handshake sends, what resuming would have saved:
   * TLS 1.0–1.2 the messages an abbreviated handshake leaves out (RFC 5246 §7.3: Certificate,
   * CertificateStatus, ServerKeyExchange, CertificateRequest, ServerHelloDone, ClientKeyExchange,
   * CertificateVerify, each with its 4-byte header); TLS 1.3 the server's encrypted flight before
   * the client's Finished less a Finished record (its certificate, CertificateVerify and
   * EncryptedExtensions; the client's own certificate is not counted). 0 for a resumed handshake;
   * null where the capture did not show the handshake complete and whole.
   */
  fullHandshakeOnlyBytes: number | null;
  /** Wireshark display filter that isolates this connection. */
  wiresharkFilter: string;
  /**
   * The client a PROXY protocol header (HAProxy's v1 or v2) at the start of the connection named: a
   * load balancer passing TCP on to this server (HAProxy send-proxy, AWS NLB) says whom it serves,
   * and the diagnosis tells clients apart by this address. Null without one (or when it named no
   * TCP client); absent in records made before it existed.
   */
  proxiedClient?: Endpoint | null;
  /**
   * What a PROXY protocol header at the start of the connection said: "client" (it named the TCP
   * client above), "local" (the balancer's own connection: LOCAL, v1 UNKNOWN — its health checks),
   * "other" (a client of another kind: a UNIX socket, UDP, unspecified); null without a header.
   * Absent in records made before it existed.
   */
  proxyHeader?: ProxyHeaderKind | null;
  /**
   * Not part of the output: a 32-bit hash of the ClientHello's random (clientRandomHash in
   * hello-scan.ts), 0 or absent without one. The same connection held by two captures
   * (overlapping, on two clocks) has the same; see sharedPastHeads.
   */
  [CLIENT_RANDOM_HASH]?: number;
  // Filled by the diagnosis stage (issue 4); null until then.
  reason?: string | null;
  /** Plain-words evidence for `reason`. */
  reasonDetail?: string;
  session?: unknown;
}

export interface CaptureSummary {
  file: string;
  format: 'pcap' | 'pcap-ns' | 'pcapng' | 'unknown';
  compressed: boolean;
  linkTypes: string[];
  packets: number;
  bytes: number;
  firstTime: number | null;
  lastTime: number | null;
  anomalies: Anomaly[];
  /**
   * TLS over UDP, counted but not followed (resumescope reads TLS over TCP): datagrams that begin
   * with a QUIC long-header packet (the handshake: Initial, 0-RTT, Handshake, Retry; RFC 9000
   * §17.2) and datagrams that begin with a DTLS record (RFC 6347 §4.1).
   */
  tlsOverUdp: { quicHandshakeDatagrams: number; dtlsDatagrams: number };
  /**
   * Packets (TCP or UDP) found inside each kind of tunnel and analysed as the packets inside: a
   * mirror that delivers traffic in VXLAN or ERSPAN, a load balancer that tunnels to its backends.
   * A packet in two tunnels counts under both. Absent in documents written before it existed.
   */
  encapsulated?: EncapsulationCounts;
  /**
   * TCP packets of this file that another file read merged with it held too (two captures of one
   * link that overlap in time, see sharedPastHeads): analysed once, from the file they came first
   * in. Present only when there were any; they are in `packets`, not in any connection's.
   */
  copiesDropped?: number;
  /** Set when the file could not be read at all. */
  error?: string;
}

/**
 * The address a connection's client is known by: the one a load balancer's PROXY header named
 * (proxiedClient), else the TCP client's. Behind such a balancer every TCP client is the balancer.
 */
export type ProxyHeaderKind = 'client' | 'local' | 'other';

export function clientAddress(c: Pick<ConnectionRecord, 'client' | 'proxiedClient'>): string {
  return c.proxiedClient?.ip ?? c.client.ip;
}

export interface EncapsulationCounts {
  vxlan: number;
  geneve: number;
  /** GRE, including the GRE that carries ERSPAN. */
  gre: number;
  erspan: number;
  mpls: number;
  ipInIp: number;
}

export interface AnalysisDocument {
  schemaVersion: number;
  tool: { name: 'resumescope'; version: string };
  captures: CaptureSummary[];
  connections: ConnectionRecord[];
  [extra: string]: unknown;
}

/**
 * Where the records of connections go. A connection is recorded when it is finished, or at its
 * close when nothing later can change its record but its packet count and end time (see
 * FlowTable.seal in parser/tcp); either way `settle` follows once, when it is finished, with those two.
 */
export interface ConnectionSink {
  /** A connection's record, final but for `packets` and `endTime`; the number returned (≥ 0) names it to `settle`. */
  record(record: ConnectionRecord): number;
  /** The connection recorded as `handle` is finished: its final packet count and end time. */
  settle(handle: number, packets: number, endTime: number): void;
}
