// One direction of a TLS conversation: finds where TLS starts in the byte stream,
// splits it into records (RFC 5246 §6.2.1, RFC 8446 §5.1) and plaintext handshake
// records into messages (RFC 5246 §7.4; a message may span records and a record
// may hold several messages: TCP segments and TLS records are orthogonal).

import { MAX_PROXY_HEADER, parseProxyHeader } from '../net/proxy-protocol.js';
import type { Endpoint } from '../report/types.js';

export const CONTENT_CHANGE_CIPHER_SPEC = 20;
export const CONTENT_ALERT = 21;
export const CONTENT_HANDSHAKE = 22;
export const CONTENT_APPLICATION_DATA = 23;
export const CONTENT_HEARTBEAT = 24;

export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_NEW_SESSION_TICKET = 4;
export const HS_CERTIFICATE = 11;
export const HS_SERVER_KEY_EXCHANGE = 12;
export const HS_SERVER_HELLO_DONE = 14;
export const HS_CLIENT_KEY_EXCHANGE = 16;
export const HS_FINISHED = 20;

/** RFC 8446 §5.1: 2^14 plus expansion; RFC 5246 §6.2.3 allows 2^14 + 2048 for ciphertext. */
const MAX_RECORD_LENGTH = 16384 + 2048 + 256;
/** How far into a stream we look for the first TLS record (proxies: HTTP CONNECT, SOCKS, STARTTLS). */
const MAX_DETECT_BYTES = 16384;
/** Hello and ticket messages are kept whole to parse them; bigger ones (certificates) are skipped. */
const MAX_BUFFERED_MESSAGE = 1 << 18;

export interface TlsStreamListener {
  /**
   * A whole handshake message. Its body is bytes[bodyStart, bodyEnd) for the messages read (hellos,
   * tickets); the others come without their body (an empty range), `length` still their length
   * as the message header states it (RFC 5246 §7.4), the header's 4 bytes not included.
   */
  onHandshakeMessage(side: 0 | 1, type: number, bytes: Uint8Array, bodyStart: number, bodyEnd: number, time: number, frame: number, length: number): void;
  onSslv2ClientHello(side: 0 | 1, bytes: Uint8Array, start: number, end: number, time: number, frame: number): void;
  onChangeCipherSpec(side: 0 | 1, time: number, frame: number): void;
  onAlert(side: 0 | 1, level: number, description: number, time: number, frame: number): void;
  /** A record this side sent after it started encrypting (Finished, application data, encrypted alerts). */
  onEncryptedRecord(side: 0 | 1, contentType: number, time: number, frame: number, length: number): void;
  /**
   * A PROXY protocol header opened this direction's stream (see proxy-protocol.ts): `source` is the
   * client the sender (a load balancer) spoke for, null where it named none; `local` when the
   * balancer spoke for itself (LOCAL, v1 UNKNOWN: its health checks).
   */
  onProxyHeader?(side: 0 | 1, source: Endpoint | null, frame: number, local: boolean): void;
  /**
   * A handshake message whose header was read but whose body the capture cut (snaplen): it was
   * sent, though what it says is lost but for `prefix`, the body's first bytes the capture kept
   * (hellos and tickets only; empty otherwise). Optional: only the connection needs it.
   */
  onHandshakeMessageCut?(side: 0 | 1, type: number, prefix: Uint8Array, frame: number): void;
  /** A clear alert record whose level or description the snap length cut: who gave up why is not known. */
  onAlertCut?(side: 0 | 1): void;
  /** kind 'truncated': the bytes were on the wire but the capture cut them (snaplen), not an error. */
  onStreamTrouble(side: 0 | 1, kind: 'gap' | 'malformed' | 'truncated', code: string, message: string, frame: number): void;
}

const enum Mode {
  Detect,
  RecordHeader,
  RecordBody,
  NotTls,
  Lost,
  /**
   * The capture's snap length cut record headers away: each segment's first bytes were captured,
   * so the framing is picked up again at the next segment that starts with a record header.
   */
  Resync,
}

export class TlsStream {
  private mode = Mode.Detect;
  private detectBuffer: Uint8Array | null = null;
  private detectedBytes = 0;
  /** Partial record header (5 bytes) as a number: 40 bits fit a double exactly, no typed array per stream. */
  private headerValue = 0;
  private headerFill = 0;
  private recordType = 0;
  private recordRemaining = 0;
  /** The current record's length (its header's). */
  private recordLength = 0;
  /** A clear alert's level byte, while its description has not come yet (-1: none waits). */
  private alertLevel = -1;
  private recordDamaged = false;
  /** This side has switched to encrypted records (after its CCS, or TLS 1.3 server after ServerHello). */
  encrypting = false;
  sawTls = false;

  // Handshake message assembly across records.
  /** Partial handshake message header (4 bytes) as a number. */
  private messageHeaderValue = 0;
  private messageHeaderFill = 0;
  private messageType = -1;
  private messageRemaining = 0;
  private messageBuffer: Uint8Array | null = null;
  private messageFill = 0;
  private messageDamaged = false;

  /** The other direction: once it is TLS, this one may start with any record (mid-stream capture). */
  peer: TlsStream | null = null;
  /** The detect buffer starts at the first byte this direction delivered. */
  private bufferAtStreamStart = true;
  /** A gap hit a plaintext handshake record: message framing resumes at the next record. */
  private handshakeFramingLost = false;
  /** Kind of the last gap: a message it damaged is reported with the same kind. */
  private gapKind: 'gap' | 'truncated' = 'gap';
  /** The stream's first bytes were checked for a PROXY protocol header (once, at its start). */
  private proxyChecked = false;
  /** Records whose header was read (a snap-length-cut stream's records can be counted, not read). */
  recordsStarted = 0;
  /** Bytes this direction carried, captured or not (a gap's bytes count: they were sent). */
  bytesSeen = 0;
  /**
   * The snap length cut record headers away (see Mode.Resync), or a handshake message's header
   * within a record: records or messages may have gone by unseen.
   */
  recordsMissed = false;

  constructor(
    readonly side: 0 | 1,
    private readonly listener: TlsStreamListener,
  ) {}

  get isTls(): boolean {
    return this.mode !== Mode.NotTls && this.mode !== Mode.Detect;
  }

  get gaveUp(): boolean {
    return this.mode === Mode.NotTls || this.mode === Mode.Lost;
  }

  /** The next bytes of this direction: bytes[start, end) (the whole array by default). */
  push(bytes: Uint8Array, time: number, frame: number, start = 0, end = bytes.length): void {
    let pos = start;
    this.bytesSeen += end - start;
    if (this.mode === Mode.Resync) {
      // A segment's first captured bytes: a record header here picks the framing up again. A
      // segment that starts inside a record (one spanning segments) waits for the next.
      if (end - pos < 5 || !looksLikeTlsRecord(bytes, pos)) return;
      this.mode = Mode.RecordHeader;
    }
    if (this.mode === Mode.Detect) {
      pos = this.detect(bytes, start, end, time, frame);
      if (pos < 0) return;
    }
    while (pos < end) {
      switch (this.mode) {
        case Mode.RecordHeader: {
          while (this.headerFill < 5 && pos < end) {
            this.headerValue = this.headerValue * 256 + bytes[pos++]!;
            this.headerFill++;
          }
          if (this.headerFill === 5) this.startRecord(time, frame);
          break;
        }
        case Mode.RecordBody: {
          const take = Math.min(this.recordRemaining, end - pos);
          this.recordBody(bytes, pos, pos + take, time, frame);
          pos += take;
          this.recordRemaining -= take;
          if (this.recordRemaining === 0) this.endRecord(time, frame);
          break;
        }
        default:
          return;
      }
    }
  }

  /**
   * Bytes missing from the stream. Inside a record body the framing survives; across record
   * boundaries it is picked up again at a later segment's start when the snap length cut them
   * (Mode.Resync), and lost when a segment is missing. `time` is the segment's whose bytes are
   * missing: a record the gap ends is told at that time.
   */
  gap(length: number, frame: number, cause: 'lost' | 'snaplen' = 'lost', time = 0): void {
    if (cause === 'snaplen' && this.mode === Mode.RecordBody && this.recordType === CONTENT_ALERT && !this.encrypting && this.recordLength === 2) this.listener.onAlertCut?.(this.side);
    // Bytes cut by snaplen were sent; the trouble they cause is a capture cut short
    // ('truncated', not an error), not data missing from the stream ('gap'). Before, a
    // snaplen-cut capture showed 'gap' anomalies next to the 'truncated' ones.
    const kind = cause === 'snaplen' ? 'truncated' : 'gap';
    this.gapKind = kind;
    this.bytesSeen += length;
    if (this.mode === Mode.Resync) {
      if (cause === 'lost') this.mode = Mode.Lost;
      return;
    }
    if (this.mode === Mode.Detect) {
      // Nothing decided yet: keep looking after the hole (the ClientHello may follow).
      this.detectBuffer = null;
      this.bufferAtStreamStart = false;
      return;
    }
    if (this.mode === Mode.RecordBody && length <= this.recordRemaining) {
      this.recordDamaged = true;
      this.recordRemaining -= length;
      this.listener.onStreamTrouble(this.side, kind, 'tcp-gap-in-record', `${length} bytes missing inside a TLS record`, frame);
      // Cut past the message being read, or before its type: a whole message went by unseen.
      const messageHidden = this.messageType < 0 || length > this.messageRemaining;
      if (cause === 'snaplen' && this.recordType === CONTENT_HANDSHAKE && !this.encrypting && !this.handshakeFramingLost && messageHidden) this.recordsMissed = true;
      if (this.recordType === CONTENT_HANDSHAKE && !this.encrypting) {
        // Where the lost bytes fell among this record's messages is unknown: give up the
        // message being assembled and pick the framing up again at the next record.
        this.abandonMessage(frame);
        this.handshakeFramingLost = true;
      }
      if (this.recordRemaining === 0) this.endRecord(time, frame);
      return;
    }
    if (this.mode === Mode.RecordHeader || this.mode === Mode.RecordBody) {
      if (cause === 'snaplen') {
        // The message being assembled was sent: which one it was still counts (abandonMessage).
        if (this.mode === Mode.RecordBody && this.recordType === CONTENT_HANDSHAKE && !this.encrypting && !this.handshakeFramingLost) this.abandonMessage(frame);
        // The record's header was read, so it was sent: an encrypted one (a Finished) still counts.
        if (this.mode === Mode.RecordBody && (this.encrypting || this.recordType === CONTENT_APPLICATION_DATA)) this.listener.onEncryptedRecord(this.side, this.recordType, time, frame, this.recordLength);
        // Cut by the snap length: the lost bytes end where their segment ends, and the next
        // segment's first bytes were captured (see Mode.Resync).
        this.resetMessage();
        this.listener.onStreamTrouble(this.side, kind, 'tcp-gap-lost-sync', `${length} bytes not captured across TLS record boundaries; records are read again from the next segment that starts with one`, frame);
        this.mode = Mode.Resync;
        this.recordsMissed = true;
        this.headerFill = 0;
        this.headerValue = 0;
        return;
      }
      this.listener.onStreamTrouble(this.side, kind, 'tcp-gap-lost-sync', `${length} bytes missing across TLS record boundaries; stopped parsing this direction`, frame);
      this.mode = Mode.Lost;
    }
  }

  /**
   * Find the first TLS record in bytes[start, end); returns the offset in `bytes` where records
   * start, or -1 when the bytes were taken (kept to wait for more, or replayed from a joined copy).
   */
  private detect(bytes: Uint8Array, start: number, end: number, time: number, frame: number): number {
    this.detectedBytes += end - start;
    let data = bytes;
    let from = start;
    let to = end;
    const atStart = this.bufferAtStreamStart;
    if (this.detectBuffer !== null) {
      data = new Uint8Array(this.detectBuffer.length + end - start);
      data.set(this.detectBuffer, 0);
      data.set(bytes.subarray(start, end), this.detectBuffer.length);
      from = 0;
      to = data.length;
    }
    if (atStart && !this.proxyChecked) {
      // A load balancer's PROXY header comes before the TLS: read past it, keeping its client.
      const proxy = parseProxyHeader(data, from, to);
      if (proxy.kind === 'incomplete' && to - from < MAX_PROXY_HEADER && this.detectedBytes < MAX_DETECT_BYTES) {
        this.detectBuffer = data.slice(from, to);
        return -1;
      }
      this.proxyChecked = true;
      if (proxy.kind === 'header') {
        this.listener.onProxyHeader?.(this.side, proxy.source, frame, proxy.local);
        from = proxy.end;
      }
    }
    const peerIsTls = this.peer !== null && this.peer.isTls;
    // i + 6 <= to: the checks below read six bytes, all inside the range.
    for (let i = from; i + 6 <= to; i++) {
      const streamStart = atStart && i === from;
      let kind = looksLikeTlsStart(data, i, streamStart);
      // Mid-stream capture: the peer already spoke TLS, so a plausible record at this
      // direction's first byte is TLS too (e.g. the client's ClientKeyExchange flight).
      if (kind === 0 && streamStart && peerIsTls && looksLikeTlsRecord(data, i)) kind = 1;
      if (kind === 0) continue;
      this.detectBuffer = null;
      if (kind === 2) {
        // SSL 2.0 compatible ClientHello: 2-byte header with the high bit set (RFC 5246 Appendix E.2).
        const length = ((data[i]! & 0x7f) << 8) | data[i + 1]!;
        if (to - i - 2 < length) {
          // Split across segments: keep all of it (a v2 record is at most 32 KiB).
          this.detectBuffer = data.slice(i, to);
          return -1;
        }
        this.sawTls = true;
        this.listener.onSslv2ClientHello(this.side, data, i + 2, i + 2 + length, time, frame);
        this.mode = Mode.RecordHeader;
        this.replay(data, i + 2 + length, to, time, frame);
        return -1;
      }
      this.sawTls = true;
      this.mode = Mode.RecordHeader;
      if (data !== bytes) {
        this.replay(data, i, to, time, frame);
        return -1;
      }
      return i;
    }
    return this.keepDetecting(data, from, to);
  }

  private keepDetecting(data: Uint8Array, from: number, to: number): number {
    if (this.detectedBytes >= MAX_DETECT_BYTES) {
      this.mode = Mode.NotTls;
      this.detectBuffer = null;
      return -1;
    }
    // Keep only a short tail: a header may straddle chunks, and the count bounds the search.
    this.detectBuffer = data.slice(Math.max(from, to - 5), to);
    if (to - from > 5) this.bufferAtStreamStart = false;
    return -1;
  }

  private replay(data: Uint8Array, from: number, to: number, time: number, frame: number): void {
    if (from < to) this.push(data, time, frame, from, to);
  }


  private startRecord(time: number, frame: number): void {
    // RFC 5246 §6.2.1: type(1) version(2) length(2).
    const value = this.headerValue;
    const type = Math.floor(value / 4294967296);
    const version = Math.floor(value / 65536) % 65536;
    const length = value % 65536;
    this.headerValue = 0;
    this.headerFill = 0;
    if (type < CONTENT_CHANGE_CIPHER_SPEC || type > CONTENT_HEARTBEAT || version >> 8 !== 3 || length > MAX_RECORD_LENGTH) {
      this.listener.onStreamTrouble(this.side, 'malformed', 'tls-bad-record', `not a TLS record header (type ${type}, version 0x${version.toString(16)}, length ${length}); stopped parsing this direction`, frame);
      this.mode = Mode.Lost;
      return;
    }
    this.recordsStarted++;
    this.recordType = type;
    this.recordRemaining = length;
    this.recordLength = length;
    this.alertLevel = -1;
    this.recordDamaged = false;
    this.mode = Mode.RecordBody;
    if (length === 0) this.endRecord(time, frame);
  }

  private recordBody(bytes: Uint8Array, start: number, end: number, time: number, frame: number): void {
    switch (this.recordType) {
      case CONTENT_HANDSHAKE:
        if (!this.encrypting && !this.handshakeFramingLost) this.handshakeBytes(bytes, start, end, time, frame);
        return;
      case CONTENT_ALERT:
        // RFC 5246 §7.2: level(1) description(1), in clear only before encryption; one alert a
        // record (RFC 8446 §5.1). A longer record, or a level other than warning(1)/fatal(2), is an
        // encrypted alert whose change of cipher the capture lost (snap length): its bytes were read
        // as "level 191, description 243".
        if (this.encrypting || this.recordLength !== 2 || this.recordDamaged) return;
        // The two bytes may come in two segments: the level waits for its description.
        for (let i = start; i < end; i++) {
          if (this.alertLevel < 0) {
            this.alertLevel = bytes[i]!;
          } else {
            const level = this.alertLevel;
            this.alertLevel = -1;
            if (level === 1 || level === 2) this.listener.onAlert(this.side, level, bytes[i]!, time, frame);
          }
        }
        return;
      default:
        return;
    }
  }

  private endRecord(time: number, frame: number): void {
    const type = this.recordType;
    this.mode = Mode.RecordHeader;
    if (this.handshakeFramingLost) this.resetMessage();
    if (type === CONTENT_CHANGE_CIPHER_SPEC) {
      this.listener.onChangeCipherSpec(this.side, time, frame);
      return;
    }
    if (this.encrypting || type === CONTENT_APPLICATION_DATA) {
      this.listener.onEncryptedRecord(this.side, type, time, frame, this.recordLength);
    }
  }

  private handshakeBytes(bytes: Uint8Array, start: number, end: number, time: number, frame: number): void {
    let pos = start;
    while (pos < end) {
      if (this.messageType < 0) {
        while (this.messageHeaderFill < 4 && pos < end) {
          this.messageHeaderValue = this.messageHeaderValue * 256 + bytes[pos++]!;
          this.messageHeaderFill++;
        }
        if (this.messageHeaderFill < 4) return;
        // RFC 5246 §7.4: msg_type(1) length(3).
        this.messageType = Math.floor(this.messageHeaderValue / 16777216);
        this.messageRemaining = this.messageHeaderValue % 16777216;
        this.messageHeaderValue = 0;
        this.messageHeaderFill = 0;
        this.messageFill = 0;
        this.messageDamaged = this.recordDamaged;
        const wanted = this.wantsBody(this.messageType);
        if (wanted && !this.messageDamaged && this.messageRemaining > 0 && end - pos >= this.messageRemaining) {
          // The whole body is in this record chunk (the usual case): parse it in place, no copy.
          const bodyEnd = pos + this.messageRemaining;
          const type = this.messageType;
          this.messageType = -1;
          this.messageRemaining = 0;
          this.listener.onHandshakeMessage(this.side, type, bytes, pos, bodyEnd, time, frame, bodyEnd - pos);
          pos = bodyEnd;
          continue;
        }
        if (wanted && this.messageRemaining <= MAX_BUFFERED_MESSAGE) {
          // Sized for the bytes that arrive, not for the length the header claims: a
          // 9-byte record claiming a 256 KiB ClientHello used to reserve 256 KiB up front,
          // so a small capture of many such connections reserved gigabytes (fuzz regression).
          this.messageBuffer = NO_BYTES_YET;
        } else {
          if (wanted) this.listener.onStreamTrouble(this.side, 'malformed', 'tls-huge-message', `handshake message of type ${this.messageType} claims ${this.messageRemaining} bytes`, frame);
          this.messageBuffer = null;
        }
        if (this.messageRemaining === 0) this.endMessage(time, frame);
        continue;
      }
      const take = Math.min(this.messageRemaining, end - pos);
      if (this.messageBuffer !== null) {
        if (this.messageFill + take > this.messageBuffer.length) {
          // Grow geometrically, never beyond the message's own length.
          const grown = new Uint8Array(Math.min(this.messageFill + this.messageRemaining, Math.max(this.messageFill + take, this.messageBuffer.length * 2)));
          grown.set(this.messageBuffer.subarray(0, this.messageFill), 0);
          this.messageBuffer = grown;
        }
        this.messageBuffer.set(bytes.subarray(pos, pos + take), this.messageFill);
      }
      this.messageFill += take;
      this.messageRemaining -= take;
      pos += take;
      if (this.messageRemaining === 0) this.endMessage(time, frame);
    }
  }

  /** Drop the message being assembled; a hello or ticket that lost bytes is reported, not parsed. */
  private abandonMessage(frame: number): void {
    if (this.messageType >= 0 && this.wantsBody(this.messageType)) {
      this.listener.onStreamTrouble(this.side, this.gapKind, 'tls-message-incomplete', `handshake message of type ${this.messageType} lost bytes in a gap`, frame);
    }
    // Its header was read, so it was sent: the connection still learns which message it was.
    if (this.messageType >= 0 && this.gapKind === 'truncated') {
      const prefix = this.messageBuffer === null ? EMPTY : this.messageBuffer.subarray(0, this.messageFill);
      this.listener.onHandshakeMessageCut?.(this.side, this.messageType, prefix, frame);
    }
    this.resetMessage();
  }

  private resetMessage(): void {
    this.handshakeFramingLost = false;
    this.messageType = -1;
    this.messageHeaderFill = 0;
    this.messageHeaderValue = 0;
    this.messageBuffer = null;
  }

  private wantsBody(type: number): boolean {
    return type === HS_CLIENT_HELLO || type === HS_SERVER_HELLO || type === HS_NEW_SESSION_TICKET;
  }

  private endMessage(time: number, frame: number): void {
    const type = this.messageType;
    const buffer = this.messageBuffer === null ? EMPTY : this.messageBuffer.subarray(0, this.messageFill);
    const damaged = this.messageDamaged;
    this.messageType = -1;
    this.messageBuffer = null;
    if (damaged && this.wantsBody(type)) {
      this.listener.onStreamTrouble(this.side, this.gapKind, 'tls-message-incomplete', `handshake message of type ${type} lost bytes in a gap`, frame);
      return;
    }
    // messageFill counted every byte of the body, kept or not.
    this.listener.onHandshakeMessage(this.side, type, buffer, 0, buffer.length, time, frame, this.messageFill);
  }
}

const EMPTY = new Uint8Array(0);
/** A buffered message before its first byte: replaced (never written) when bytes arrive. */
const NO_BYTES_YET = new Uint8Array(0);

/**
 * 1: a TLS handshake record carrying a ClientHello or ServerHello starts at i;
 * 2: an SSL 2.0 compatible ClientHello starts at i (only at the stream's first byte); 0: neither.
 */
export function looksLikeTlsStart(data: Uint8Array, i: number, atStreamStart = i === 0): 0 | 1 | 2 {
  const b0 = data[i]!;
  if (b0 === CONTENT_HANDSHAKE) {
    if (data[i + 1] !== 3 || data[i + 2]! > 4) return 0;
    const length = (data[i + 3]! << 8) | data[i + 4]!;
    const messageType = data[i + 5];
    // RFC 8446 §5.1: a record may carry as little as one byte of a handshake message.
    return length >= 1 && length <= MAX_RECORD_LENGTH && (messageType === HS_CLIENT_HELLO || messageType === HS_SERVER_HELLO) ? 1 : 0;
  }
  // SSLv2 record: 2-byte length with high bit, msg_type 1, version 0x0002 or 0x03xx.
  if (atStreamStart && (b0 & 0x80) !== 0 && data[i + 2] === 1 && (data[i + 3] === 3 || (data[i + 3] === 0 && data[i + 4] === 2))) {
    const length = ((b0 & 0x7f) << 8) | data[i + 1]!;
    return length >= 9 ? 2 : 0;
  }
  return 0;
}

/** Any plausible TLS record header (RFC 5246 §6.2.1): type 20-23, version 3.x, sane length. */
export function looksLikeTlsRecord(data: Uint8Array, i: number): boolean {
  const type = data[i]!;
  const length = (data[i + 3]! << 8) | data[i + 4]!;
  return type >= CONTENT_CHANGE_CIPHER_SPEC && type <= CONTENT_APPLICATION_DATA && data[i + 1] === 3 && data[i + 2]! <= 4 && length >= 1 && length <= MAX_RECORD_LENGTH;
}
