// Pure parsers for the hello messages' bodies (after the 4-byte handshake header).
// ClientHello: RFC 5246 §7.4.1.2, RFC 8446 §4.1.2; ServerHello: RFC 5246 §7.4.1.3,
// RFC 8446 §4.1.3; extensions: RFC 6066, 7301, 5077, 8446 §4.2, 7627, 5746.

export const EXT_SERVER_NAME = 0;
export const EXT_SUPPORTED_GROUPS = 10;
export const EXT_EC_POINT_FORMATS = 11;
export const EXT_SIGNATURE_ALGORITHMS = 13;
export const EXT_ALPN = 16;
export const EXT_EXTENDED_MASTER_SECRET = 23;
export const EXT_SESSION_TICKET = 35;
export const EXT_PRE_SHARED_KEY = 41;
export const EXT_EARLY_DATA = 42;
export const EXT_SUPPORTED_VERSIONS = 43;
export const EXT_PSK_KEY_EXCHANGE_MODES = 45;
export const EXT_KEY_SHARE = 51;
export const EXT_RENEGOTIATION_INFO = 0xff01;

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
export const HELLO_RETRY_RANDOM = [
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

export interface ClientHello {
  legacyVersion: number;
  /** Lower-case hex; "" when empty. */
  sessionId: string;
  cipherSuites: number[];
  compressionMethods: number[];
  /** Extension types in wire order. */
  extensions: number[];
  serverName: string | null;
  alpn: string[];
  supportedVersions: number[];
  supportedGroups: number[];
  signatureAlgorithms: number[];
  ecPointFormats: number[];
  /** Length of the SessionTicket extension's data; -1 when the extension is absent. */
  sessionTicketLength: number;
  /** Hex of the first 32 bytes of the offered ticket, "" when none. */
  sessionTicketPrefix: string;
  /** TLS 1.3 PSK identities (hex, first 32 bytes each). */
  pskIdentities: string[];
  pskKeyExchangeModes: number[];
  keyShareGroups: number[];
  earlyData: boolean;
  extendedMasterSecret: boolean;
  renegotiationInfo: boolean;
  /** Sent in SSL 2.0 compatible form (RFC 5246 Appendix E.2). */
  sslv2Compatible: boolean;
}

export interface ServerHello {
  legacyVersion: number;
  sessionId: string;
  cipherSuite: number;
  compressionMethod: number;
  extensions: number[];
  helloRetryRequest: boolean;
  /** The version from supported_versions (RFC 8446 §4.2.1), or 0. */
  selectedVersion: number;
  /** pre_shared_key present: the server accepted a PSK (RFC 8446 §4.2.11). */
  pskAccepted: boolean;
  alpn: string | null;
  keyShareGroup: number;
  sessionTicketExtension: boolean;
  extendedMasterSecret: boolean;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

class Malformed extends Error {}

/** A bounds-checked cursor over a byte range; every read throws Malformed past the end. */
class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new Malformed(`${what} runs past the end of its message`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u24(what: string): number {
    this.need(3, what);
    const v = (this.bytes[this.pos]! << 16) | (this.bytes[this.pos + 1]! << 8) | this.bytes[this.pos + 2]!;
    this.pos += 3;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const b = this.bytes;
    const v = ((b[this.pos]! << 24) | (b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!) >>> 0;
    this.pos += 4;
    return v;
  }
  /** A sub-cursor over the next n bytes, advancing past them. */
  take(n: number, what: string): Cursor {
    this.need(n, what);
    const sub = new Cursor(this.bytes, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
}

/** Character codes of the lower-case hex digits 0-9a-f. */
export const HEX_DIGITS = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/** Value of a lower-case hex digit's character code (what toHex writes); -1 for anything else. */
export function hexDigitValue(code: number): number {
  return code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1;
}
const hexCodes: number[] = [];

/**
 * Lower-case hex of bytes[start, end). Built as one flat string: concatenating pairs would
 * leave a tree of small strings per ID, and millions of session IDs are kept.
 */
export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const n = end - start;
  if (n <= 0) return '';
  hexCodes.length = n * 2;
  for (let i = 0; i < n; i++) {
    const b = bytes[start + i]!;
    hexCodes[2 * i] = HEX_DIGITS[b >> 4]!;
    hexCodes[2 * i + 1] = HEX_DIGITS[b & 15]!;
  }
  return stringOfCodes(hexCodes);
}

/**
 * The text of these character codes, built flat in one call (a plain array of small integers:
 * apply() takes it far faster than a typed array). Long inputs go in slices: fromCharCode's
 * argument count is limited.
 */
export function stringOfCodes(codes: number[]): string {
  if (codes.length <= 8192) return String.fromCharCode.apply(null, codes);
  let out = '';
  for (let i = 0; i < codes.length; i += 8192) out += String.fromCharCode.apply(null, codes.slice(i, i + 8192));
  return out;
}

function hexOf(c: Cursor, max = Infinity): string {
  return toHex(c.bytes, c.pos, Math.min(c.end, c.pos + max));
}

function readU16List(c: Cursor, lengthBytes: 1 | 2, what: string): number[] {
  const length = lengthBytes === 1 ? c.u8(what) : c.u16(what);
  const list = c.take(length, what);
  const out: number[] = [];
  while (list.remaining >= 2) out.push(list.u16(what));
  return out;
}

function readU8List(c: Cursor, what: string): number[] {
  const list = c.take(c.u8(what), what);
  const out: number[] = [];
  while (list.remaining >= 1) out.push(list.u8(what));
  return out;
}

/**
 * The bytes as Latin-1 text, built flat: appending a character at a time left a chain of cons
 * strings per name (SNI) that lived as long as the connection and was flattened again by every
 * hash of it.
 */
function latin1(c: Cursor): string {
  return latin1Of(c.bytes, c.pos, c.end);
}

/** bytes[start, end) as Latin-1 text, built flat (see latin1). */
export function latin1Of(bytes: Uint8Array, start: number, end: number): string {
  latin1Codes.length = end - start;
  for (let i = start; i < end; i++) latin1Codes[i - start] = bytes[i]!;
  return stringOfCodes(latin1Codes);
}
const latin1Codes: number[] = [];

/** RFC 7301 §3.1 ProtocolNameList. */
function readAlpnList(c: Cursor): string[] {
  const list = c.take(c.u16('ALPN list length'), 'ALPN list');
  const out: string[] = [];
  while (list.remaining > 0) out.push(latin1(list.take(list.u8('ALPN name length'), 'ALPN name')));
  return out;
}

/** Parse a ClientHello body: `body` spans the message after its 4-byte header. */
export function parseClientHello(bytes: Uint8Array, start: number, end: number): ParseResult<ClientHello> {
  try {
    const c = new Cursor(bytes, start, end);
    const hello = emptyClientHello();
    hello.legacyVersion = c.u16('legacy_version');
    c.take(32, 'random');
    const sessionIdLength = c.u8('session_id length');
    if (sessionIdLength > 32) throw new Malformed(`session_id length ${sessionIdLength} > 32`);
    hello.sessionId = hexOf(c.take(sessionIdLength, 'session_id'));
    const suites = c.take(c.u16('cipher_suites length'), 'cipher_suites');
    while (suites.remaining >= 2) hello.cipherSuites.push(suites.u16('cipher suite'));
    hello.compressionMethods = readU8List(c, 'compression_methods');
    if (c.remaining >= 2) readClientExtensions(c.take(c.u16('extensions length'), 'extensions'), hello);
    return { ok: true, value: hello };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, error: `ClientHello: ${e.message}` };
    throw e;
  }
}

function emptyClientHello(): ClientHello {
  return {
    legacyVersion: 0, sessionId: '', cipherSuites: [], compressionMethods: [], extensions: [],
    serverName: null, alpn: [], supportedVersions: [], supportedGroups: [], signatureAlgorithms: [],
    ecPointFormats: [], sessionTicketLength: -1, sessionTicketPrefix: '', pskIdentities: [],
    pskKeyExchangeModes: [], keyShareGroups: [], earlyData: false, extendedMasterSecret: false,
    renegotiationInfo: false, sslv2Compatible: false,
  };
}

function readClientExtensions(c: Cursor, hello: ClientHello): void {
  while (c.remaining >= 4) {
    const type = c.u16('extension type');
    const data = c.take(c.u16('extension length'), `extension ${type}`);
    hello.extensions.push(type);
    switch (type) {
      case EXT_SERVER_NAME: { // RFC 6066 §3
        if (data.remaining === 0) break;
        const list = data.take(data.u16('server_name_list length'), 'server_name_list');
        while (list.remaining >= 3) {
          const nameType = list.u8('name_type');
          const name = list.take(list.u16('host_name length'), 'host_name');
          if (nameType === 0 && hello.serverName === null) hello.serverName = latin1(name);
        }
        break;
      }
      case EXT_ALPN:
        hello.alpn = readAlpnList(data);
        break;
      case EXT_SUPPORTED_VERSIONS: // RFC 8446 §4.2.1: a u8-length list in the ClientHello
        hello.supportedVersions = readU16List(data, 1, 'supported_versions');
        break;
      case EXT_SUPPORTED_GROUPS:
        hello.supportedGroups = readU16List(data, 2, 'supported_groups');
        break;
      case EXT_SIGNATURE_ALGORITHMS:
        hello.signatureAlgorithms = readU16List(data, 2, 'signature_algorithms');
        break;
      case EXT_EC_POINT_FORMATS:
        hello.ecPointFormats = readU8List(data, 'ec_point_formats');
        break;
      case EXT_SESSION_TICKET: // RFC 5077 §3.2: the ticket itself, or empty to ask for one
        hello.sessionTicketLength = data.remaining;
        hello.sessionTicketPrefix = hexOf(data, 32);
        break;
      case EXT_PRE_SHARED_KEY: { // RFC 8446 §4.2.11 OfferedPsks
        const identities = data.take(data.u16('identities length'), 'identities');
        while (identities.remaining >= 2) {
          const identity = identities.take(identities.u16('identity length'), 'identity');
          identities.u32('obfuscated_ticket_age');
          hello.pskIdentities.push(hexOf(identity, 32));
        }
        break;
      }
      case EXT_PSK_KEY_EXCHANGE_MODES:
        hello.pskKeyExchangeModes = readU8List(data, 'psk_key_exchange_modes');
        break;
      case EXT_KEY_SHARE: { // RFC 8446 §4.2.8 client_shares
        const shares = data.take(data.u16('client_shares length'), 'client_shares');
        while (shares.remaining >= 4) {
          hello.keyShareGroups.push(shares.u16('key share group'));
          shares.take(shares.u16('key_exchange length'), 'key_exchange');
        }
        break;
      }
      case EXT_EARLY_DATA:
        hello.earlyData = true;
        break;
      case EXT_EXTENDED_MASTER_SECRET:
        hello.extendedMasterSecret = true;
        break;
      case EXT_RENEGOTIATION_INFO:
        hello.renegotiationInfo = true;
        break;
      default:
        break;
    }
  }
}

/**
 * SSL 2.0 compatible ClientHello (RFC 5246 Appendix E.2, RFC 6101 Appendix E):
 * `start` points at msg_type (1) after the 2-byte record header.
 */
export function parseSslv2ClientHello(bytes: Uint8Array, start: number, end: number): ParseResult<ClientHello> {
  try {
    const c = new Cursor(bytes, start, end);
    if (c.u8('msg_type') !== 1) throw new Malformed('not a CLIENT-HELLO');
    const hello = emptyClientHello();
    hello.sslv2Compatible = true;
    hello.legacyVersion = c.u16('version');
    const specLength = c.u16('cipher_spec_length');
    const sessionIdLength = c.u16('session_id_length');
    c.u16('challenge_length');
    if (specLength % 3 !== 0) throw new Malformed('cipher_spec_length not a multiple of 3');
    const specs = c.take(specLength, 'cipher_specs');
    while (specs.remaining >= 3) {
      const kind = specs.u8('cipher kind');
      const suite = specs.u16('cipher suite');
      // V2 cipher kinds (first byte non-zero) have no TLS equivalent.
      if (kind === 0) hello.cipherSuites.push(suite);
    }
    hello.sessionId = hexOf(c.take(sessionIdLength, 'session_id'));
    return { ok: true, value: hello };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, error: `SSLv2 ClientHello: ${e.message}` };
    throw e;
  }
}

export function parseServerHello(bytes: Uint8Array, start: number, end: number): ParseResult<ServerHello> {
  try {
    const c = new Cursor(bytes, start, end);
    const hello: ServerHello = {
      legacyVersion: c.u16('legacy_version'), sessionId: '', cipherSuite: 0, compressionMethod: 0,
      extensions: [], helloRetryRequest: true, selectedVersion: 0, pskAccepted: false, alpn: null,
      keyShareGroup: 0, sessionTicketExtension: false, extendedMasterSecret: false,
    };
    const random = c.take(32, 'random');
    for (let i = 0; i < 32; i++) if (bytes[random.pos + i] !== HELLO_RETRY_RANDOM[i]) { hello.helloRetryRequest = false; break; }
    const sessionIdLength = c.u8('session_id length');
    if (sessionIdLength > 32) throw new Malformed(`session_id length ${sessionIdLength} > 32`);
    hello.sessionId = hexOf(c.take(sessionIdLength, 'session_id'));
    hello.cipherSuite = c.u16('cipher_suite');
    hello.compressionMethod = c.u8('compression_method');
    if (c.remaining >= 2) {
      const exts = c.take(c.u16('extensions length'), 'extensions');
      while (exts.remaining >= 4) {
        const type = exts.u16('extension type');
        const data = exts.take(exts.u16('extension length'), `extension ${type}`);
        hello.extensions.push(type);
        switch (type) {
          case EXT_SUPPORTED_VERSIONS:
            hello.selectedVersion = data.u16('selected_version');
            break;
          case EXT_PRE_SHARED_KEY:
            // A HelloRetryRequest never carries it; in a ServerHello it means the PSK was taken.
            hello.pskAccepted = true;
            break;
          case EXT_ALPN: {
            const names = readAlpnList(data);
            hello.alpn = names[0] ?? null;
            break;
          }
          case EXT_KEY_SHARE:
            hello.keyShareGroup = data.u16('key share group');
            break;
          case EXT_SESSION_TICKET:
            hello.sessionTicketExtension = true;
            break;
          case EXT_EXTENDED_MASTER_SECRET:
            hello.extendedMasterSecret = true;
            break;
          default:
            break;
        }
      }
    }
    return { ok: true, value: hello };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, error: `ServerHello: ${e.message}` };
    throw e;
  }
}

/** RFC 5077 §3.3 NewSessionTicket (TLS <= 1.2): lifetime hint and ticket. */
export function parseNewSessionTicket12(bytes: Uint8Array, start: number, end: number): ParseResult<{ lifetimeHint: number; ticketPrefix: string; ticketLength: number }> {
  try {
    const c = new Cursor(bytes, start, end);
    const lifetimeHint = c.u32('ticket_lifetime_hint');
    const ticket = c.take(c.u16('ticket length'), 'ticket');
    return { ok: true, value: { lifetimeHint, ticketPrefix: hexOf(ticket, 32), ticketLength: ticket.remaining } };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, error: `NewSessionTicket: ${e.message}` };
    throw e;
  }
}

/** RFC 8701: GREASE values are reserved noise; fingerprints ignore them. */
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && (value >> 8) === (value & 0xff);
}

export function versionName(version: number): string | null {
  switch (version) {
    case 0x0002: return 'SSL 2.0';
    case 0x0300: return 'SSL 3.0';
    case 0x0301: return 'TLS 1.0';
    case 0x0302: return 'TLS 1.1';
    case 0x0303: return 'TLS 1.2';
    case 0x0304: return 'TLS 1.3';
    default:
      if (version >> 8 === 0x7f) return `TLS 1.3 (draft ${version & 0xff})`;
      if (version === 0) return null;
      return `0x${version.toString(16).padStart(4, '0')}`;
  }
}
