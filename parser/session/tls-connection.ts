import type { Abort, AbortStage, Anomaly, ConnectionRecord, Endpoint, Offer, ResumedBy, Resumption } from '../report/types.js';
import { CLIENT_RANDOM_HASH } from '../report/types.js';
import { CIPHER_SUITE_NAMES } from '../tls/cipher-suites.js';
import {
  HELLO_RETRY_RANDOM, isGrease, parseClientHello, parseNewSessionTicket12, parseServerHello, parseSslv2ClientHello,
  versionName, type ClientHello, type ServerHello,
} from '../tls/hello.js';
import {
  CONTENT_APPLICATION_DATA, CONTENT_HANDSHAKE, HS_CERTIFICATE, HS_CLIENT_HELLO, HS_CLIENT_KEY_EXCHANGE, HS_NEW_SESSION_TICKET,
  HS_SERVER_HELLO, HS_SERVER_KEY_EXCHANGE, TlsStream, type TlsStreamListener,
} from '../tls/tls-stream.js';
import { clientRandomHash, fingerprintKey, scanClientHello, scanServerHello, type ClientHelloScan, type ServerHelloScan } from '../tls/hello-scan.js';

/** Zeek ssl_history letters per handshake type (scripts/base/protocols/ssl/main.zeek). */
const HISTORY_LETTER: Record<number, string> = {
  0: 'h', 1: 'c', 2: 's', 3: 'v', 4: 't', 5: 'e', 6: 'j', 8: 'o', 11: 'x', 12: 'k', 13: 'r', 14: 'n',
  15: 'y', 16: 'g', 20: 'f', 21: 'w', 22: 'u', 23: 'a', 24: 'p', 254: 'm',
};
const MAX_HISTORY = 100;
/** A TLS 1.3 alert record: alert (2) + content type (1) + AEAD tag (16, or 8 for AES-CCM-8). */
const TLS13_ALERT_RECORD = 19;
const TLS13_ALERT_RECORD_CCM8 = 11;
/**
 * How soon after the client's Finished a TLS 1.3 server's alert-sized record is its refusal (see
 * onServerReply): at least a second, or three times the hello's round trip where that is longer.
 * An idle timeout's close_notify (the same 19 bytes) comes later.
 */
const REFUSAL_WINDOW_MIN = 1;
const REFUSAL_WINDOW_ROUND_TRIPS = 3;
/**
 * The longest TLS 1.2 Finished record: CBC with HMAC-SHA384 (RFC 5246 §6.2.3.2: a 16-byte IV, then
 * the 4-byte header, 12 bytes of verify_data and a 48-byte MAC padded to 80). A second ClientHello,
 * after a HelloRetryRequest, is at least 104 bytes (RFC 8446 §4.1.2: a random, supported_versions,
 * a key share of at least 32 bytes and, with it, supported_groups, §9.2), so a record of the
 * client's no longer than this is no hello.
 */
const MAX_TLS12_FINISHED_RECORD = 96;

/**
 * A TLS 1.3 Finished alone in its record (RFC 8446 §4.4.4, §5.2): the header and verify_data of the
 * hash's length, the content type and the AEAD tag: SHA-256 with a 16-byte tag 53, with AES-CCM-8's
 * 8-byte tag 45, SHA-384 69. A client whose flight begins so sent no Certificate: no CertificateRequest
 * came, so the server has no certificate of its to refuse (see onServerReply).
 */
function isBareFinishedRecord(length: number): boolean {
  return length === 53 || length === 45 || length === 69;
}

/**
 * The largest first record of a TLS 1.3 server flight taken for its EncryptedExtensions alone (see
 * fullHandshakeOnlyBytes): its extensions (ALPN, server_name, supported_groups, early_data, a
 * record size limit) take tens of bytes; a record that also carries a certificate, hundreds or more.
 */
const MAX_ENCRYPTED_EXTENSIONS_RECORD = 512;

/** The bare Finished record (isBareFinishedRecord) of a TLS 1.3 cipher suite: its hash and tag decide. */
function bareFinishedRecordOf(cipherSuite: number): number {
  // TLS_AES_256_GCM_SHA384 (SHA-384), TLS_AES_128_CCM_8_SHA256 (an 8-byte tag); the rest SHA-256, 16 (RFC 8446 §B.4).
  return cipherSuite === 0x1302 ? 69 : cipherSuite === 0x1305 ? 45 : 53;
}

/**
 * Handshake messages of TLS 1.0–1.2 that only a full handshake sends: an abbreviated one (RFC 5246
 * §7.3, Figure 2) goes from the ServerHello to the ChangeCipherSpec. Certificate, ServerKeyExchange,
 * CertificateRequest, ServerHelloDone, CertificateVerify, ClientKeyExchange (§7.4), CertificateStatus
 * (RFC 6066 §8).
 */
const FULL_HANDSHAKE_ONLY = new Set([11, 12, 13, 14, 15, 16, 22]);

/** An encrypted record of a TLS 1.3 alert's length (TLS13_ALERT_RECORD): no Finished is this short. */
function isAlertSized(length: number): boolean {
  return length === TLS13_ALERT_RECORD || length === TLS13_ALERT_RECORD_CCM8;
}

/**
 * Whether a cut ServerHello's kept bytes (legacy_version, then the random) begin the random of a
 * HelloRetryRequest (RFC 8446 §4.1.3); null when fewer than four bytes of the random were kept.
 */
function retryRandomPrefix(prefix: Uint8Array): boolean | null {
  const kept = Math.min(prefix.length - 2, HELLO_RETRY_RANDOM.length);
  if (kept < 4) return null;
  for (let i = 0; i < kept; i++) if (prefix[2 + i] !== HELLO_RETRY_RANDOM[i]) return false;
  return true;
}
/** Letters a history code holds: 6 bits each (letter index, side), exact in a double up to 8. */
const HISTORY_CODED = 8;
/** Every letter addHistory is given: the handshake types', then z (an unknown type), i (ChangeCipherSpec), l (alert). */
const HISTORY_CODES = Object.values(HISTORY_LETTER).join('') + 'zil';
/** 1 + position in HISTORY_CODES by character code (0: not a history letter). */
const HISTORY_CODE_OF = Uint8Array.from({ length: 128 }, (_, code) => HISTORY_CODES.indexOf(String.fromCharCode(code)) + 1);
/** 64^i: the weight of the i-th letter in a history code. */
const HISTORY_WEIGHTS = Float64Array.from({ length: HISTORY_CODED }, (_, i) => 64 ** i);
/** History texts by code and client side (bounded: beyond it, texts are built as before). */
const historyTexts = new Map<number, string>();
const HISTORY_TEXTS_KEPT = 4096;
const MAX_ANOMALIES = 20;

type Side = 0 | 1;

/** The frame being processed (shared by all connections of a flow table, updated per packet). */
export interface PacketPosition {
  file: string;
  frame: number;
  offset: number;
}

const NO_POSITION: PacketPosition = { file: '', frame: -1, offset: -1 };

/**
 * The TLS view of one TCP connection: both directions' TLS streams and the facts
 * they produce, turned into one ConnectionRecord by toRecord().
 */
export class TlsConnection implements TlsStreamListener {
  readonly streams: [TlsStream, TlsStream];
  /** Which side (0 = first sender of the TCP connection) is the TLS client; -1 while unknown. */
  clientSide: -1 | 0 | 1 = -1;
  synSide: -1 | 0 | 1 = -1;

  /** The facts of the answered ClientHello (see ClientHelloFacts); null before one was parsed. */
  clientHello: ClientHelloFacts | null = null;
  clientHelloCount = 0;
  clientHelloTime: number | null = null;
  /** clientRandomHash of the first ClientHello (a HelloRetryRequest's second one repeats its random); 0 before one. */
  clientRandomHash = 0;
  /** The facts of the first ServerHello (not a HelloRetryRequest) that a record needs. */
  serverHello: ServerHelloFacts | null = null;
  serverHelloTime: number | null = null;
  helloRetry = false;
  tls13 = false;
  certificateSeen = false;
  serverKeyExchangeSeen = false;
  clientKeyExchangeSeen = false;
  /** TLS 1.0–1.2: bytes of the FULL_HANDSHAKE_ONLY messages, both sides, their 4-byte headers included. */
  private fullHandshakeOnlyMessageBytes = 0;
  /**
   * TLS 1.3: bytes of the server's encrypted records between its ServerHello and the client's
   * Finished (as their headers state them: content, type and tag), its flight.
   */
  private serverFlightBytes = 0;
  /** TLS 1.3: how many records that flight has, and the length of its first (-1 before it). */
  private serverFlightRecords = 0;
  private serverFlightFirstRecord = -1;
  // Per-side pairs as fields, not arrays (see TcpFlow).
  /** Time of each side's first ChangeCipherSpec, -1 before it. */
  private ccsTime0 = -1;
  private ccsTime1 = -1;
  /** Encrypted records each side sent after the ServerHello. */
  private encryptedRecords0 = 0;
  private encryptedRecords1 = 0;
  clientFinished = false;
  established = false;
  /** The server's ChangeCipherSpec came straight after its ServerHello (abbreviated handshake). */
  abbreviated = false;
  ticketIssued = false;
  ticketLifetimeHint: number | null = null;
  issuedTicket: string | null = null;
  /** Alerts seen in clear, null while there are none (most connections: no list of their own). */
  private alerts: ConnectionRecord['alerts'] | null = null;
  private history = '';
  private historySides = '';
  /** The first HISTORY_CODED letters and sides as a number (see historyString). */
  private historyCode = 0;
  /** Null while there are none, like the alerts. */
  private anomalies: Anomaly[] | null = null;
  /**
   * The capture lost bytes of this connection (snaplen, a missing segment, a direction never captured) before the handshake was
   * seen established: how it went on is unknown, so a close is no abort (the handshake may have
   * completed where the capture could not see it).
   */
  handshakeBytesLost = false;
  /**
   * The capture's snap length cut bytes of the handshake (they were sent; no segment is missing).
   * Each segment's first bytes and every RST and FIN are still seen: some aborts stay certain
   * (abortSeenDespiteCut) and application data still shows the handshake completed.
   */
  handshakeBytesCut = false;
  /** A ClientHello / ServerHello went by, its body cut by the snap length (onHandshakeMessageCut). */
  clientHelloCut = false;
  serverHelloCut = false;
  /**
   * The cut ServerHello kept too little of its random to tell it from a HelloRetryRequest (RFC
   * 8446 §4.1.3: the same message type, a fixed random): nothing is claimed from what follows it.
   */
  private serverHelloMaybeRetry = false;
  /** A clear alert the snap length cut (onAlertCut): which side gave up first is not known. */
  private alertCut = false;
  /** Under a snap length: each side's Finished, or what only follows it, went by (see cutHandshakeData). */
  private clientFinishedUnderCut = false;
  private serverFinishedUnderCut = false;
  /** The client sent a clear handshake message after its ClientHello: a full TLS 1.2 handshake's flight. */
  private clientFullFlightSeen = false;
  /** Under a snap length, the client's records before its Finished were all read (none went by unseen). */
  private clientFlightWhole = false;
  /** Set when the handshake is over (established) or hopeless: the owner may stop reassembling. */
  done = false;
  /**
   * TLS 1.3: the handshake looks established and the server's first record after the client's
   * Finished is still to come (see onServerReply); the time it was established, -1 otherwise.
   */
  private awaitingServerReplySince = -1;
  /** TLS 1.3: that first record was alert-sized and came at once: its time (see refusedByServer), else -1. */
  private serverAlertTime = -1;
  /** A close came after the handshake looked established (see refusedByServer). */
  private closedAfterEstablished = false;
  /** The length of the client's first encrypted record after the ServerHello (read or cut), -1 before it. */
  private clientFirstEncryptedLength = -1;
  /** The client a PROXY protocol header named, and the side that sent it (-1: none came). */
  private proxied: Endpoint | null = null;
  private proxiedSide: -1 | Side = -1;
  private proxiedLocal = false;

  constructor(
    private readonly fileName: string,
    /** Where the packet being processed starts in its file: anomalies raised now carry it. */
    private readonly position: PacketPosition = NO_POSITION,
  ) {
    this.streams = [new TlsStream(0, this), new TlsStream(1, this)];
    this.streams[0].peer = this.streams[1];
    this.streams[1].peer = this.streams[0];
  }

  get sawTls(): boolean {
    return this.clientHello !== null || this.serverHello !== null;
  }

  anomaly(a: Anomaly): void {
    if (a.offset === undefined && this.position.offset >= 0 && a.frame === this.position.frame && a.file === this.position.file) a.offset = this.position.offset;
    this.anomalies ??= [];
    if (this.anomalies.length < MAX_ANOMALIES) this.anomalies.push(a);
  }

  private addHistory(side: Side, letter: string): void {
    if (this.history.length >= MAX_HISTORY) return;
    // A letter outside the code's list makes the code NaN: that history is never looked up.
    const length = this.history.length;
    if (length < HISTORY_CODED) {
      const code = HISTORY_CODE_OF[letter.charCodeAt(0)] ?? 0;
      this.historyCode += code === 0 ? NaN : ((code - 1) * 2 + side + 1) * HISTORY_WEIGHTS[length]!;
    }
    this.history += letter;
    this.historySides += side;
  }

  private ccsTimeOf(side: Side): number {
    return side === 0 ? this.ccsTime0 : this.ccsTime1;
  }

  private isClient(side: Side): boolean {
    return this.clientSide === side;
  }

  // ---- TlsStreamListener ----

  onProxyHeader(side: Side, source: Endpoint | null, _frame: number, local: boolean): void {
    this.proxied = source;
    this.proxiedSide = side;
    this.proxiedLocal = local;
  }

  onHandshakeMessage(side: Side, type: number, bytes: Uint8Array, start: number, end: number, time: number, frame: number, length: number): void {
    if (type === HS_CLIENT_HELLO) {
      if (this.clientRandomHash === 0) this.clientRandomHash = clientRandomHash(bytes, start, end);
      // Most hellos: one scan, and the fingerprint of a TLS stack seen before. The rest (a new
      // stack, anything the scan leaves alone, malformed ones) are parsed in full.
      const scan = scanClientHello(bytes, start, end);
      const fingerprint = scan === null ? undefined : fingerprintCache.get(scan.fingerprintKey);
      if (scan !== null && fingerprint !== undefined) {
        this.addClientHelloFacts(side, time, {
          legacyVersion: scan.legacyVersion, sessionId: scan.sessionId, serverName: scan.serverName, offeredTicket: scan.offeredTicket,
          offeredPskIdentity: scan.offeredPskIdentity, supports13: scan.supports13, fingerprint,
        });
        return;
      }
      this.addClientHello(side, parseClientHello(bytes, start, end), time, frame);
      return;
    }
    if (type === HS_SERVER_HELLO) {
      if (this.clientSide < 0) this.clientSide = side === 0 ? 1 : 0;
      // Only what the record needs is kept (see ClientHelloFacts): the scan reads just that;
      // what it leaves alone (malformed, a repeated extension) is parsed in full.
      let hello: ServerHelloFacts | null = scanServerHello(bytes, start, end);
      if (hello === null) {
        const parsed = parseServerHello(bytes, start, end);
        if (!parsed.ok) {
          this.malformed(parsed.error, frame);
          this.addHistory(side, 's');
          return;
        }
        hello = serverHelloFacts(parsed.value);
      }
      this.addHistory(side, hello.helloRetryRequest ? 'j' : 's');
      if (hello.helloRetryRequest) {
        this.helloRetry = true;
        return;
      }
      if (this.serverHello !== null) return; // renegotiation: the first handshake decides
      this.serverHello = hello;
      this.serverHelloTime = time;
      this.tls13 = hello.selectedVersion === 0x0304 || (hello.selectedVersion >> 8) === 0x7f;
      // RFC 8446 §2: everything the server sends after its ServerHello is encrypted.
      if (this.tls13) this.streams[side].encrypting = true;
      return;
    }
    this.addHistory(side, HISTORY_LETTER[type] ?? 'z');
    const fromServer = this.clientSide >= 0 && !this.isClient(side);
    if (!fromServer) this.clientFullFlightSeen = true;
    // Only the first handshake's are read: a renegotiation's come encrypted.
    if (FULL_HANDSHAKE_ONLY.has(type)) this.fullHandshakeOnlyMessageBytes += 4 + length;
    switch (type) {
      case HS_CERTIFICATE:
        if (fromServer) this.certificateSeen = true;
        break;
      case HS_SERVER_KEY_EXCHANGE:
        if (fromServer) this.serverKeyExchangeSeen = true;
        break;
      case HS_CLIENT_KEY_EXCHANGE:
        if (!fromServer) this.clientKeyExchangeSeen = true;
        break;
      case HS_NEW_SESSION_TICKET: {
        if (!fromServer) break;
        this.ticketIssued = true;
        this.cutTicketMessage(side);
        const ticket = parseNewSessionTicket12(bytes, start, end);
        if (ticket.ok && this.ticketLifetimeHint === null) {
          this.ticketLifetimeHint = ticket.value.lifetimeHint;
          this.issuedTicket = ticket.value.ticketPrefix || null;
        } else if (!ticket.ok) this.malformed(ticket.error, frame);
        break;
      }
      default:
        break;
    }
  }

  onAlertCut(_side: Side): void {
    this.alertCut = true;
  }

  /**
   * A handshake message the snap length cut: which one it was is all that is known. A hello still
   * says which side is the client and how far the handshake went (its time fields stay null: they
   * say a hello was read, and the diagnosis reads them so); the server's certificate or key
   * exchange still says the handshake was a full one.
   */
  onHandshakeMessageCut(side: Side, type: number, prefix: Uint8Array, _frame: number): void {
    if (type === HS_CLIENT_HELLO) {
      if (this.clientSide < 0) this.clientSide = side;
      this.addHistory(side, 'c');
      this.clientHelloCut = true;
      return;
    }
    if (type === HS_SERVER_HELLO) {
      if (this.clientSide < 0) this.clientSide = side === 0 ? 1 : 0;
      const retry = retryRandomPrefix(prefix);
      if (retry === true) {
        // A HelloRetryRequest: the client's next hello (after a compatibility ChangeCipherSpec) is
        // in clear, and the handshake is not answered yet.
        this.addHistory(side, 'j');
        this.helloRetry = true;
        return;
      }
      this.addHistory(side, 's');
      if (this.serverHello === null && !this.serverHelloCut && retry === null) this.serverHelloMaybeRetry = true;
      this.serverHelloCut = true;
      return;
    }
    this.addHistory(side, HISTORY_LETTER[type] ?? 'z');
    const fromServer = this.clientSide >= 0 && !this.isClient(side);
    if (!fromServer) this.clientFullFlightSeen = true;
    if (type === HS_NEW_SESSION_TICKET) this.cutTicketMessage(side);
    if (fromServer && type === HS_CERTIFICATE) this.certificateSeen = true;
    else if (fromServer && type === HS_SERVER_KEY_EXCHANGE) this.serverKeyExchangeSeen = true;
    else if (!fromServer && type === HS_CLIENT_KEY_EXCHANGE) this.clientKeyExchangeSeen = true;
  }

  onSslv2ClientHello(side: Side, bytes: Uint8Array, start: number, end: number, time: number, frame: number): void {
    this.addClientHello(side, parseSslv2ClientHello(bytes, start, end), time, frame);
  }

  private addClientHello(side: Side, parsed: ReturnType<typeof parseClientHello>, time: number, frame: number): void {
    if (!parsed.ok) {
      if (this.clientSide < 0) this.clientSide = side;
      this.addHistory(side, 'c');
      this.malformed(parsed.error, frame);
      return;
    }
    this.addClientHelloFacts(side, time, clientHelloFacts(parsed.value));
  }

  /** A well-formed ClientHello; its facts are taken only if it is the one answered. */
  private addClientHelloFacts(side: Side, time: number, facts: ClientHelloFacts): void {
    if (this.clientSide < 0) this.clientSide = side;
    this.addHistory(side, 'c');
    this.clientHelloCount++;
    // After a HelloRetryRequest the second ClientHello is the one answered (RFC 8446 §4.1.4).
    if (this.serverHello === null) {
      this.clientHello = facts;
      if (this.clientHelloTime === null) this.clientHelloTime = time;
    }
  }

  onChangeCipherSpec(side: Side, time: number, _frame: number): void {
    this.addHistory(side, 'i');
    if (this.ccsTimeOf(side) >= 0) return;
    if (side === 0) this.ccsTime0 = time;
    else this.ccsTime1 = time;
    // A CCS before the ServerHello (after a HelloRetryRequest) or in TLS 1.3 is the
    // middlebox-compatibility one (RFC 8446 Appendix D.4): no change of state.
    if (this.tls13 || this.serverHello === null) {
      // A snap length cut the ServerHello: whichever the version, what follows a ChangeCipherSpec
      // is encrypted (TLS 1.3's compatibility one comes just before the encrypted flight, RFC 8446
      // Appendix D.4), but for a second ClientHello after a HelloRetryRequest, which the cut hides too.
      if (this.serverHello === null && this.serverHelloCut) this.streams[side].encrypting = true;
      return;
    }
    this.streams[side].encrypting = true;
    // Where the snap length hid records, a certificate may have gone by unseen.
    if (!this.isClient(side) && this.serverHello !== null && !this.certificateSeen && !this.serverKeyExchangeSeen && !this.streams[side].recordsMissed) {
      this.abbreviated = true;
    }
  }

  onAlert(side: Side, level: number, description: number, time: number, _frame: number): void {
    this.addHistory(side, 'l');
    this.alerts ??= [];
    if (this.alerts.length < 8) this.alerts.push({ by: this.isClient(side) ? 'client' : 'server', level, description, time });
  }

  onEncryptedRecord(side: Side, contentType: number, time: number, _frame: number, length: number): void {
    if (this.awaitingServerReplySince >= 0) {
      this.onServerReply(side, contentType, time, length);
      return;
    }
    if (this.isEncryptedClientAlert(side, contentType, length)) {
      // Not its Finished: the client gave up (a certificate it does not trust, most often).
      this.addHistory(side, 'l');
      this.alerts ??= [];
      if (this.alerts.length < 8) this.alerts.push({ by: 'client', level: 2, description: null, time });
      return;
    }
    if (this.serverHelloMaybeRetry && this.isClient(side) && (contentType === CONTENT_APPLICATION_DATA || length <= MAX_TLS12_FINISHED_RECORD)) {
      // After a HelloRetryRequest the client has no keys: its next record is its second ClientHello,
      // in clear (RFC 8446 §4.1.4). An encrypted record (TLS 1.3's outer type 23), or one too short
      // for a hello, follows a real ServerHello: the cut one was no retry.
      this.serverHelloMaybeRetry = false;
    }
    if (this.clientFirstEncryptedLength < 0 && this.isClient(side) && (this.serverHello !== null || this.serverHelloCut)) this.clientFirstEncryptedLength = length;
    if (this.handshakeBytesCut && (this.serverHello !== null || this.serverHelloCut)) this.cutHandshakeData(side, contentType, time, length);
    if (this.serverHello === null) return; // 0-RTT early data or a mid-stream start
    if (side === 0) this.encryptedRecords0++;
    else this.encryptedRecords1++;
    const client = this.isClient(side);
    // RFC 8446 §5.2: encrypted records are all application_data outside; the ServerHello's own
    // record, which ended after the stream began encrypting, is not one of them.
    if (this.tls13 && !client && !this.clientFinished && contentType === CONTENT_APPLICATION_DATA) {
      this.serverFlightBytes += length;
      if (this.serverFlightRecords++ === 0) this.serverFlightFirstRecord = length;
    }
    if (this.tls13) {
      // The client's first encrypted record after the ServerHello is its Finished (RFC 8446 §4.4.4).
      if (client && (contentType === CONTENT_APPLICATION_DATA || contentType === 22)) this.clientFinished = true;
    } else if (client && this.ccsTimeOf(side) >= 0) {
      this.clientFinished = true;
    }
    const serverSide: Side = this.clientSide === 0 ? 1 : 0;
    const serverRecords = serverSide === 0 ? this.encryptedRecords0 : this.encryptedRecords1;
    const serverDone = this.tls13 ? serverRecords > 0 : this.ccsTimeOf(serverSide) >= 0 && serverRecords > 0;
    if (this.clientFinished && serverDone && !this.established) {
      this.established = true;
      this.followForRefusal(this.tls13, time);
    }
  }

  /**
   * The handshake was just seen established at `time`. A TLS 1.3 server checks the client's flight
   * (its certificate) after sending its own Finished: where one may have been refused, the server's
   * next record is awaited (see onServerReply); else nothing more is learnt, the streams are let go.
   */
  private followForRefusal(mayBeTls13: boolean, time: number): void {
    if (mayBeTls13 && time >= 0 && this.clientSentCertificate()) this.awaitingServerReplySince = time;
    else this.done = true;
  }

  /**
   * A record after a TLS 1.3 handshake looked established, while the server's first one after the
   * client's Finished is awaited. A server that refuses the client's flight (a certificate from an
   * unknown CA, none where one is required) sends a fatal alert and closes (RFC 8446 §4.4.2.4:
   * "certificate_required", "unknown_ca" ...): encrypted, so known by its length alone (19 bytes, 11
   * with AES-CCM-8), where a server that took the flight sends NewSessionTickets or data. It is kept
   * only when it came at once (REFUSAL_WINDOW_MIN): an idle timeout's close_notify has the same
   * length. A close_notify of the client's, or a server's record after the client's, is no refusal.
   */
  private onServerReply(side: Side, contentType: number, time: number, length: number): void {
    const alertSized = contentType === CONTENT_APPLICATION_DATA && isAlertSized(length);
    if (this.isClient(side)) {
      // The rest of the client's flight, or its data: its own alert (closing first) ends the wait,
      // and so does the window's end (no later record is a refusal: a long upload is not followed).
      if (alertSized || time - this.awaitingServerReplySince > this.refusalWindow()) this.stopAwaitingServerReply();
      return;
    }
    if (alertSized && time - this.awaitingServerReplySince <= this.refusalWindow()) this.serverAlertTime = time;
    this.stopAwaitingServerReply();
  }

  /**
   * The client's flight after the server's may hold a Certificate (asked for by a CertificateRequest,
   * encrypted in TLS 1.3): it does not begin with a bare Finished. Only then can the server refuse
   * it; a 19-byte record after a bare Finished is a close_notify (a server shutting down at once).
   */
  private clientSentCertificate(): boolean {
    return !isBareFinishedRecord(this.clientFirstEncryptedLength);
  }

  private stopAwaitingServerReply(): void {
    this.awaitingServerReplySince = -1;
    this.done = true;
  }

  /** See REFUSAL_WINDOW_MIN: the hello's round trip as the capture saw it, where both hellos were. */
  private refusalWindow(): number {
    const helloRoundTrip = this.clientHelloTime !== null && this.serverHelloTime !== null ? this.serverHelloTime - this.clientHelloTime : 0;
    return Math.max(REFUSAL_WINDOW_MIN, REFUSAL_WINDOW_ROUND_TRIPS * helloRoundTrip);
  }

  /**
   * The connection's first close (RST or FIN, either side) at `time`: whether it ends a TLS 1.3
   * handshake the server refused (its alert-sized record at once after the client's Finished, this
   * close at once after that). Then the handshake was never established: its alert is listed
   * (description unknown) and the close aborts it after the client's Finished, by the server.
   */
  refusedByServer(time: number): boolean {
    // Only the first close counts: a server's alert after the client closed answers that close.
    if (this.closedAfterEstablished) return false;
    this.closedAfterEstablished = true;
    if (this.awaitingServerReplySince >= 0) this.stopAwaitingServerReply();
    if (this.serverAlertTime < 0 || time - this.serverAlertTime > this.refusalWindow()) return false;
    this.established = false;
    const serverSide: Side = this.clientSide === 0 ? 1 : 0;
    this.addHistory(serverSide, 'l');
    this.alerts ??= [];
    if (this.alerts.length < 8) this.alerts.push({ by: 'server', level: 2, description: null, time: this.serverAlertTime });
    this.serverAlertTime = -1;
    return true;
  }

  /**
   * A TLS 1.3 client's alert after the ServerHello, before its Finished: encrypted (RFC 8446 §5.2,
   * §6), so known by its length alone: a 2-byte alert, its content type and a 16-byte AEAD tag are
   * 19 bytes (11 with AES-CCM-8's 8-byte tag), shorter than any Finished (at least 45) and unlike
   * EndOfEarlyData (21, or 13). Read as the client's Finished, a Chromium that refused the server's
   * certificate (its alert, then FIN) made a "complete" handshake. Also when the snap length cut the
   * ServerHello, whose version is then unknown: a TLS 1.2 Finished is never 11 or 19 bytes.
   */
  private isEncryptedClientAlert(side: Side, contentType: number, length: number): boolean {
    if (contentType !== CONTENT_APPLICATION_DATA || this.clientFinished || !this.isClient(side)) return false;
    if (!this.tls13 && !(this.serverHello === null && this.serverHelloCut)) return false;
    return isAlertSized(length);
  }

  /**
   * An encrypted record under a snap length, after the ServerHello, when the cut may have hidden
   * the Finished messages. The client's says it finished: its encrypted handshake record after its
   * ChangeCipherSpec is the Finished (RFC 5246 §7.4.9), it sends no application data before it, and
   * in TLS 1.3 its first record after the ServerHello is its Finished (RFC 8446 §4.4.4). The
   * server's application data after that says the server took the Finished and went on (in TLS
   * 1.3 the server's own handshake comes before the client's Finished, as application_data too).
   */
  private cutHandshakeData(side: Side, contentType: number, time: number, length: number): void {
    if (this.established) return;
    if (this.isClient(side)) {
      if (!this.clientFinishedUnderCut) this.clientFlightWhole = !this.streams[side].recordsMissed;
      this.clientFinishedUnderCut = true;
    } else if (contentType === CONTENT_HANDSHAKE || (contentType === CONTENT_APPLICATION_DATA && this.clientFinishedUnderCut && !isAlertSized(length))) {
      // (A TLS 1.3 alert's 19 or 11 bytes are no Finished, nor anything that only follows one: a
      // server refusing the client's flight sends just that, see onServerReply.)
      // An encrypted handshake record after the server's ChangeCipherSpec is its TLS 1.2 Finished.
      this.serverFinishedUnderCut = true;
    }
    this.settleCutHandshake(time);
  }

  /**
   * Under a snap length: whether what went by completes the handshake. Both Finished messages; or
   * the server's after a full TLS 1.2 flight of the client's, which it answers only once it has the
   * client's Finished (RFC 5246 §7.3); or the client's after a flight with no clear message before
   * it (an abbreviated TLS 1.2 handshake, or TLS 1.3), which comes after the server's Finished.
   */
  private settleCutHandshake(time: number): void {
    if (this.serverHelloMaybeRetry) return;
    const complete = this.serverFinishedUnderCut
      ? this.clientFinishedUnderCut || this.clientFullFlightSeen
      : this.clientFinishedUnderCut && this.clientFlightWhole && !this.clientFullFlightSeen;
    if (!complete || this.established) return;
    this.clientFinished = true;
    this.established = true;
    // The cut leaves each segment's first record header, enough to see a refusal's alert-sized
    // record; its stage then rests on Finished messages the cut hid: such a handshake stays incomplete.
    this.followForRefusal(this.tls13 || (this.serverHello === null && this.serverHelloCut), time);
  }

  /** A TLS 1.2 NewSessionTicket is sent with the server's Finished, after the client's (RFC 5077 §3.3). */
  private cutTicketMessage(side: Side): void {
    if (!this.handshakeBytesCut || this.tls13 || this.isClient(side) || (this.serverHello === null && !this.serverHelloCut)) return;
    this.serverFinishedUnderCut = true;
    this.settleCutHandshake(-1); // a TLS 1.2 handshake's: no refusal follows its NewSessionTicket
  }

  onStreamTrouble(_side: Side, kind: 'gap' | 'malformed' | 'truncated', code: string, message: string, frame: number): void {
    if (!this.established && kind === 'gap') this.handshakeBytesLost = true;
    if (!this.established && kind === 'truncated') this.handshakeBytesCut = true;
    this.anomaly({ kind, code, message, file: this.fileName, frame });
  }

  private malformed(message: string, frame: number): void {
    this.anomaly({ kind: 'malformed', code: 'tls-malformed-hello', message, file: this.fileName, frame });
  }

  // ---- record ----

  /** The stage a handshake stopped at, for an RST or FIN before it was established. */
  abortStage(): AbortStage {
    const serverHelloSeen = this.serverHello !== null || this.serverHelloCut;
    if (this.clientHello === null && this.clientHelloCount === 0 && !this.clientHelloCut && !serverHelloSeen) return 'before-client-hello';
    if (!serverHelloSeen) return 'after-client-hello';
    if (!this.clientFinished) return 'after-server-hello';
    return 'after-client-finished';
  }

  /**
   * Whether an abort's stage holds though the snap length cut the handshake: the RST or FIN and each
   * segment's first bytes were still captured. Before the ClientHello, the client sent no byte;
   * after it, the server sent none; after the ServerHello (read or cut), the client sent nothing
   * but the one record of its ClientHello, a ChangeCipherSpec and alerts, so it never finished. A
   * later stage rests on Finished messages, which the cut hides: that handshake stays incomplete,
   * its outcome unknown.
   */
  private abortSeenDespiteCut(abort: Abort, clientIndex: Side): boolean {
    // A fatal alert decides who ended the handshake (see attributed): one cut leaves that open.
    if (this.alertCut) return false;
    const client = this.streams[clientIndex];
    const server = this.streams[clientIndex === 0 ? 1 : 0];
    switch (abort.stage) {
      case 'before-client-hello':
        return client.bytesSeen === 0;
      case 'after-client-hello':
        return server.bytesSeen === 0;
      case 'after-server-hello': {
        if (this.serverHelloMaybeRetry) return false;
        // A clear alert is no Finished: the client said why it gave up instead (RFC 5246 §7.2.2).
        // Nor is a ChangeCipherSpec (TLS 1.3's comes before the encrypted flight, RFC 8446 Appendix D.4).
        const clientAlerts = this.alerts === null ? 0 : this.alerts.filter((a) => a.by === 'client').length;
        const clientChangeCipherSpec = this.ccsTimeOf(clientIndex) >= 0 ? 1 : 0;
        return client.recordsStarted === 1 + clientAlerts + clientChangeCipherSpec && !client.recordsMissed && !this.helloRetry;
      }
      default:
        return false;
    }
  }

  /**
   * The abort as the handshake saw it: a side that sent a fatal alert (RFC 5246 §7.2.2, RFC 8446
   * §6.2) ended the handshake, whoever then closed first (real OpenSSL: the server answers a client's
   * fatal alert with its own FIN before the client's). Without one, the first side to close.
   */
  private attributed(abort: Abort | null): Abort | null {
    if (abort === null || this.alerts === null) return abort;
    const fatal = this.alerts.find((a) => a.level === 2 && a.time <= abort.time);
    return fatal === undefined || fatal.by === abort.by ? abort : { ...abort, by: fatal.by };
  }

  historyString(): string {
    // Nearly every connection's history is short and one of a few: the same text object comes
    // back for the same letters, so the column store finds it in its pool by the hash the
    // string keeps, instead of flattening and hashing a fresh concatenation per connection.
    const coded = this.history.length <= HISTORY_CODED && this.clientSide !== -1 && !Number.isNaN(this.historyCode);
    const key = this.historyCode * 2 + this.clientSide;
    if (coded) {
      const known = historyTexts.get(key);
      if (known !== undefined) return known;
    }
    let out = '';
    for (let i = 0; i < this.history.length; i++) {
      const letter = this.history[i]!;
      const side = this.historySides.charCodeAt(i) - 48;
      out += side === this.clientSide ? letter.toUpperCase() : letter;
    }
    if (coded && historyTexts.size < HISTORY_TEXTS_KEPT) historyTexts.set(key, out);
    return out;
  }

  /**
   * What resuming would have saved this handshake: the bytes only a full handshake sends (see
   * ConnectionRecord.fullHandshakeOnlyBytes). 0 for a resumption; null where the capture did not
   * show the whole handshake (not seen complete, bytes cut or lost).
   */
  private fullHandshakeOnlyBytes(resumed: boolean): number | null {
    if (!this.established || this.serverHello === null || this.handshakeBytesLost || this.handshakeBytesCut) return null;
    if (resumed) return 0;
    if (!this.tls13) return this.fullHandshakeOnlyMessageBytes;
    // A PSK resumption's server flight is its EncryptedExtensions and Finished (RFC 8446 §2.2): the
    // rest is saved. The EncryptedExtensions is the flight's first message (§4.3.1); a stack that
    // writes each message in a record of its own (OpenSSL, GnuTLS, Go) shows it as a first record
    // of a few dozen bytes before the certificate's, and it is left out. One that packs its flight
    // into fewer records (BoringSSL) hides it, and its few bytes stay counted. Real s_server
    // (tls13-server-rejects-client-certificate.pcap, decrypted): EncryptedExtensions 23 bytes,
    // CertificateRequest 104, Certificate 854, CertificateVerify 281, Finished 69; resuming saves the
    // 1,239 in the middle, where 1,262 had been counted.
    const encryptedExtensions = this.serverFlightRecords >= 3 && this.serverFlightFirstRecord <= MAX_ENCRYPTED_EXTENSIONS_RECORD ? this.serverFlightFirstRecord : 0;
    return Math.max(0, this.serverFlightBytes - encryptedExtensions - bareFinishedRecordOf(this.serverHello.cipherSuite));
  }

  toRecord(base: {
    id: number; endpoints: [Endpoint, Endpoint]; startTime: number; endTime: number; firstFrame: number;
    packets: number; handshakeBytes: number; abort: Abort | null; endedCleanly: boolean;
    /** The endpoints are IPv6 addresses (the flow knows; asking the text reads it again). */
    ipv6?: boolean;
  }): ConnectionRecord {
    const clientIndex = this.clientSide === 1 ? 1 : this.clientSide === 0 ? 0 : this.synSide === 1 ? 1 : 0;
    const client = base.endpoints[clientIndex];
    const server = base.endpoints[clientIndex === 0 ? 1 : 0];
    const ch = this.clientHello;
    const sh = this.serverHello;

    const sessionId = ch && ch.sessionId.length > 0 && !isAllZeroHex(ch.sessionId) ? ch.sessionId : null;
    const offer: Offer = {
      sessionId,
      ticket: ch !== null && ch.offeredTicket !== null,
      psk: ch !== null && ch.offeredPskIdentity !== null,
    };
    // A TLS 1.3 client fills legacy_session_id with random bytes for middlebox
    // compatibility (RFC 8446 §4.1.2, Appendix D.4): that alone is no offer when 1.3 is
    // negotiated, or when a 1.3-capable client got no answer.
    const clientSupports13 = ch !== null && ch.supports13;
    const sessionIdCounts = offer.sessionId !== null && (sh === null ? !clientSupports13 : !this.tls13);
    const offered = sessionIdCounts || offer.ticket || offer.psk;

    // No readable ClientHello, yet the handshake went on (a ServerHello) or lost bytes: what the
    // client offered is unknown, not "nothing". Counted as no offer, a server-only capture's
    // abbreviated handshakes made sessions "issued" by the connections that resumed them.
    // So is a ClientHello begun and never finished (the client reset the connection or the capture
    // ended inside it): its offer sits in bytes that never came. A RST that cut one was "nothing offered".
    const helloUnread = ch === null && (sh !== null || this.handshakeBytesLost || this.handshakeBytesCut || this.streams[clientIndex].isTls);
    let resumption: Resumption = helloUnread ? 'unknown' : 'not-offered';
    // The offer is unknown, but a TLS 1.3 server that took a PSK says so in its ServerHello (RFC
    // 8446 §4.2.11): resumed, with whichever identity the client sent.
    let resumedBy: ResumedBy | null = helloUnread && sh !== null && this.tls13 && sh.pskAccepted ? 'psk' : null;
    if (offered) {
      // A ServerHello the snap length cut answered it, how is not known.
      if (sh === null) resumption = this.serverHelloCut ? 'unknown' : 'unanswered';
      else {
        if (this.tls13) {
          // RFC 8446 §2.2: only the server's pre_shared_key accepts; an echoed legacy ID does not.
          if (sh.pskAccepted && offer.psk) resumedBy = 'psk';
        } else {
          const echoed = offer.sessionId !== null && sh.sessionId === offer.sessionId;
          // RFC 5077 §3.4: an accepted ticket is followed by the abbreviated handshake.
          if (offer.ticket && (this.abbreviated || (echoed && !this.certificateSeen))) resumedBy = 'ticket';
          else if (echoed) resumedBy = 'session-id';
        }
        resumption = resumedBy !== null ? 'accepted' : 'rejected';
      }
    }

    const negotiated = sh ? (sh.selectedVersion !== 0 ? sh.selectedVersion : sh.legacyVersion) : 0;
    const anomalies = [...(this.anomalies ?? [])];
    if (ch === null && sh !== null) {
      anomalies.push({ kind: 'gap', code: 'no-client-hello', message: 'the ClientHello was not captured (the capture starts mid-connection or lost it)', file: this.fileName, frame: base.firstFrame });
    }
    const abortCertain = base.abort === null || !this.handshakeBytesCut || this.abortSeenDespiteCut(base.abort, clientIndex);
    const abort = this.established || this.handshakeBytesLost || !abortCertain ? null : this.attributed(base.abort);
    const handshake = this.established ? 'complete' : abort !== null ? 'aborted' : 'incomplete';
    return {
      id: base.id,
      client,
      server,
      startTime: base.startTime,
      clientHelloTime: this.clientHelloTime,
      serverHelloTime: this.serverHelloTime,
      endTime: base.endTime,
      sni: ch?.serverName ?? null,
      alpn: sh?.alpn ?? null,
      version: sh ? versionName(negotiated) : null,
      cipher: sh ? cipherName(sh.cipherSuite) : null,
      offer,
      serverSessionId: sh && sh.sessionId.length > 0 ? sh.sessionId : null,
      resumption,
      resumedBy,
      resumed: resumedBy !== null && this.established,
      established: this.established,
      handshake,
      abort,
      history: this.historyString(),
      anomalies,
      clientHelloVersion: ch ? versionName(ch.legacyVersion) : null,
      helloRetry: this.helloRetry,
      ticketIssued: this.ticketIssued,
      ticketLifetimeHint: this.ticketLifetimeHint,
      issuedTicket: this.issuedTicket,
      offeredTicket: ch ? ch.offeredTicket : null,
      offeredPskIdentity: ch ? ch.offeredPskIdentity : null,
      certificateSeen: this.certificateSeen,
      alerts: this.alerts ?? [],
      clientFingerprint: ch ? ch.fingerprint : null,
      file: this.fileName,
      firstFrame: base.firstFrame,
      packets: base.packets,
      handshakeBytes: base.handshakeBytes,
      fullHandshakeOnlyBytes: this.fullHandshakeOnlyBytes(resumedBy !== null),
      wiresharkFilter: wiresharkFilter(client, server, base.ipv6),
      // Only the TLS client's side speaks for a client (a balancer sends the header first).
      proxiedClient: this.proxiedSide === clientIndex ? this.proxied : null,
      proxyHeader: this.proxiedSide !== clientIndex ? null : this.proxied !== null ? 'client' : this.proxiedLocal ? 'local' : 'other',
      [CLIENT_RANDOM_HASH]: this.clientRandomHash,
    };
  }
}

/**
 * What a connection's record needs of its ClientHello: what scanClientHello reads, with the
 * fingerprint (clientHelloFacts takes the same from a parsed hello). Not the parsed hello's lists
 * (cipher suites, extensions, groups, signature algorithms...): kept until
 * the connection ended, they outlived two scavenges and were promoted to old space for every
 * connection (the 1 GB bench promoted ~3 KB per connection, and copying survivors was most of
 * the reading's garbage-collection time).
 */
export type ClientHelloFacts = Omit<ClientHelloScan, 'fingerprintKey'> & { fingerprint: string };

export type ServerHelloFacts = ServerHelloScan;

export function serverHelloFacts(hello: ServerHello): ServerHelloFacts {
  return {
    legacyVersion: hello.legacyVersion, selectedVersion: hello.selectedVersion, sessionId: hello.sessionId,
    cipherSuite: hello.cipherSuite, pskAccepted: hello.pskAccepted, alpn: hello.alpn, helloRetryRequest: hello.helloRetryRequest,
  };
}

export function clientHelloFacts(ch: ClientHello): ClientHelloFacts {
  return {
    legacyVersion: ch.legacyVersion,
    sessionId: ch.sessionId,
    serverName: ch.serverName,
    offeredTicket: ch.sessionTicketLength > 0 ? ch.sessionTicketPrefix : null,
    offeredPskIdentity: ch.pskIdentities.length > 0 ? ch.pskIdentities[0]! : null,
    supports13: ch.supportedVersions.includes(0x0304),
    fingerprint: clientFingerprint(ch),
  };
}

function isAllZeroHex(hex: string): boolean {
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return false;
  return true;
}

export function cipherName(suite: number): string {
  return CIPHER_SUITE_NAMES.get(suite) ?? `0x${suite.toString(16).padStart(4, '0').toUpperCase()}`;
}

export function wiresharkFilter(client: Endpoint, server: Endpoint, ipv6 = client.ip.includes(':')): string {
  const field = ipv6 ? 'ipv6.addr' : 'ip.addr';
  return `${field}==${client.ip} && tcp.port==${client.port} && ${field}==${server.ip} && tcp.port==${server.port}`;
}

/**
 * JA4-style fingerprint (FoxIO JA4 part a, then FNV-1a digests of the sorted
 * cipher and extension lists instead of truncated SHA-256): groups clients by TLS stack.
 * Unlike JA4 it ignores the resumption-dependent extensions, so it is not a JA4 value.
 */
/** Fingerprints repeat (one per TLS stack): memoised by a hash of everything they depend on. */
const fingerprintCache = new Map<number, string>();

export function clientFingerprint(ch: ClientHello): string {
  // The key scanClientHello computes too: hellos it scanned find the fingerprint parsed ones left.
  const key = fingerprintKey(ch);
  const cached = fingerprintCache.get(key);
  if (cached !== undefined) return cached;
  const computed = computeFingerprint(ch);
  if (fingerprintCache.size > 10000) fingerprintCache.clear();
  fingerprintCache.set(key, computed);
  return computed;
}

function computeFingerprint(ch: ClientHello): string {
  const versions = ch.supportedVersions.filter((v) => !isGrease(v));
  const top = versions.length > 0 ? Math.max(...versions) : ch.legacyVersion;
  const version = top === 0x0304 ? '13' : top === 0x0303 ? '12' : top === 0x0302 ? '11' : top === 0x0301 ? '10' : top === 0x0300 ? 's3' : '00';
  const ciphers = ch.cipherSuites.filter((c) => !isGrease(c));
  // One TLS stack must keep one fingerprint whether or not it resumes: leave out the
  // extensions that come and go between its own connections (pre_shared_key 41,
  // early_data 42, padding 21, whose presence depends on the hello's length).
  const extensions = ch.extensions.filter((e) => !isGrease(e) && e !== 41 && e !== 42 && e !== 21);
  const alpn = ch.alpn[0] ?? '';
  const alpnCode = alpn.length === 0 ? '00' : alpn[0]! + alpn[alpn.length - 1]!;
  const partA = `t${version}${ch.serverName !== null ? 'd' : 'i'}${String(Math.min(99, ciphers.length)).padStart(2, '0')}${String(Math.min(99, extensions.length)).padStart(2, '0')}${alpnCode}`;
  const sortedCiphers = [...ciphers].sort((a, b) => a - b).join(',');
  const sortedExtensions = extensions.filter((e) => e !== 0 && e !== 16).sort((a, b) => a - b).join(',');
  // Chromium puts a GREASE value among its signature algorithms too (a new one on each connection).
  const signatures = ch.signatureAlgorithms.filter((s) => !isGrease(s));
  return `${partA}_${fnv1a(sortedCiphers)}_${fnv1a(sortedExtensions + '_' + signatures.join(','))}`;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
