// The hot path's ClientHello reader: one pass over the body (after the 4-byte handshake header)
// that keeps only what a connection's record needs, without the lists parseClientHello builds
// (cipher suites, extensions, groups, signature algorithms: ~2 KB of objects per hello on the
// 1 GB bench, a quarter of everything the reading allocated). It applies the same bounds checks
// as parseClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2; extensions as in hello.ts) and gives
// up (null) wherever parseClientHello would fail or where the two could differ: the caller then
// runs parseClientHello, which also words the error. Tests hold the two to the same facts.

import {
  EXT_ALPN, EXT_EC_POINT_FORMATS, EXT_KEY_SHARE, EXT_PRE_SHARED_KEY, EXT_PSK_KEY_EXCHANGE_MODES,
  EXT_SERVER_NAME, EXT_SESSION_TICKET, EXT_SIGNATURE_ALGORITHMS, EXT_SUPPORTED_GROUPS, EXT_SUPPORTED_VERSIONS,
  HELLO_RETRY_RANDOM, isGrease, latin1Of, toHex, type ClientHello,
} from './hello.js';

/** The facts of a ClientHello that a connection keeps, and the key of its fingerprint's inputs. */
export interface ClientHelloScan {
  legacyVersion: number;
  /** Lower-case hex; "" when empty. */
  sessionId: string;
  serverName: string | null;
  /** Hex prefix (32 bytes) of a non-empty SessionTicket extension (RFC 5077 §3.2), else null. */
  offeredTicket: string | null;
  /** First PSK identity's hex prefix (RFC 8446 §4.2.11), else null. */
  offeredPskIdentity: string | null;
  /** supported_versions lists TLS 1.3 (RFC 8446 §4.2.1). */
  supports13: boolean;
  /** fingerprintKey(): equal for hellos whose fingerprints are equal (one per TLS stack). */
  fingerprintKey: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const feed = (hash: number, value: number) => Math.imul(hash ^ value, FNV_PRIME);
/** A value's share of an order-free sum (a multiset hash: the sum of well-mixed values). */
const mixed = (value: number) => {
  let h = Math.imul(value ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  return Math.imul(h, 0xc2b2ae35) ^ (h >>> 16);
};
/** Sums in a multiset hash (order does not matter). */
const addUnordered = (sum: number, value: number) => (sum + mixed(value)) | 0;
/** pre_shared_key, early_data and padding come and go between one stack's connections: not in its fingerprint. */
const isTransientExtension = (type: number) => type === 41 || type === 42 || type === 21;

/**
 * One number over everything the fingerprint depends on, and over nothing else, so that one TLS
 * stack has one key: the supported versions and the signature algorithms (in order), the cipher
 * suites and the extension types (as sets: the fingerprint sorts them, and Chromium shuffles its
 * extensions on every connection), whether a server name was sent and the first ALPN name; GREASE
 * values (RFC 8701, fresh on every connection) and the extensions that come and go left out. Each
 * list is hashed on its own (the scan meets them in wire order, the versions inside the
 * extensions) and the hashes are combined.
 */
function combineKey(legacyVersion: number, versions: number, ciphers: number, extensions: number, signatures: number, hasServerName: boolean, alpn: number): number {
  let key = feed(FNV_OFFSET, legacyVersion);
  key = feed(key, versions);
  key = feed(key, ciphers);
  key = feed(key, extensions);
  key = feed(key, signatures);
  key = feed(key, hasServerName ? 1 : 0);
  return feed(key, alpn);
}

/** The same key from a parsed hello (for the hellos the scan leaves to parseClientHello). */
export function fingerprintKey(ch: ClientHello): number {
  let versions = FNV_OFFSET, ciphers = FNV_OFFSET, extensions = FNV_OFFSET, signatures = FNV_OFFSET, alpn = FNV_OFFSET;
  for (const v of ch.supportedVersions) if (!isGrease(v)) versions = feed(versions, v);
  for (const v of ch.cipherSuites) if (!isGrease(v)) ciphers = addUnordered(ciphers, v);
  for (const v of ch.extensions) if (!isGrease(v) && !isTransientExtension(v)) extensions = addUnordered(extensions, v);
  for (const v of ch.signatureAlgorithms) if (!isGrease(v)) signatures = feed(signatures, v);
  const first = ch.alpn[0] ?? '';
  for (let i = 0; i < first.length; i++) alpn = feed(alpn, first.charCodeAt(i));
  return combineKey(ch.legacyVersion, versions, ciphers, extensions, signatures, ch.serverName !== null, alpn);
}

const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;

/** Bit per extension type whose value the scan keeps: a second one of them goes to parseClientHello. */
function keptBit(type: number): number {
  switch (type) {
    case EXT_SERVER_NAME: return 1;
    case EXT_ALPN: return 2;
    case EXT_SUPPORTED_VERSIONS: return 4;
    case EXT_SIGNATURE_ALGORITHMS: return 8;
    case EXT_SESSION_TICKET: return 16;
    case EXT_PRE_SHARED_KEY: return 32;
    default: return 0;
  }
}

/**
 * A 32-bit hash of a ClientHello body's random (bytes[start, end); RFC 5246 §7.4.1.2, RFC 8446
 * §4.1.2: 32 bytes after legacy_version, from a secure generator, new for every connection): the
 * same connection in two captures has the same, two connections have the same by chance only
 * (one in 2^32). Unsigned; 0 when the body is too short to hold one, never 0 otherwise.
 */
export function clientRandomHash(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 34) return 0;
  let hash = FNV_OFFSET;
  for (let at = start + 2; at < start + 34; at++) hash = feed(hash, bytes[at]!);
  return (hash >>> 0) || 1;
}

/**
 * Scan a ClientHello body bytes[start, end). Null when it is malformed or repeats an extension
 * whose value it keeps: parseClientHello decides those.
 */
export function scanClientHello(bytes: Uint8Array, start: number, end: number): ClientHelloScan | null {
  let at = start;
  if (end - at < 35) return null; // legacy_version, random, session_id length
  const legacyVersion = u16(bytes, at);
  at += 34;
  const sessionIdLength = bytes[at++]!;
  if (sessionIdLength > 32 || at + sessionIdLength > end) return null;
  const sessionId = toHex(bytes, at, at + sessionIdLength);
  at += sessionIdLength;
  if (end - at < 2) return null;
  const suitesEnd = at + 2 + u16(bytes, at);
  if (suitesEnd > end) return null;
  let ciphers = FNV_OFFSET;
  // An odd trailing byte is ignored, as parseClientHello's "remaining >= 2" loop does.
  for (at += 2; at + 2 <= suitesEnd; at += 2) {
    const suite = u16(bytes, at);
    if (!isGrease(suite)) ciphers = addUnordered(ciphers, suite);
  }
  at = suitesEnd;
  if (end - at < 1) return null;
  at += 1 + bytes[at]!; // compression_methods
  if (at > end) return null;

  let versions = FNV_OFFSET, extensions = FNV_OFFSET, signatures = FNV_OFFSET, alpn = FNV_OFFSET;
  let serverName: string | null = null;
  let offeredTicket: string | null = null;
  let offeredPskIdentity: string | null = null;
  let supports13 = false;
  let seen = 0;
  if (end - at >= 2) {
    const extensionsEnd = at + 2 + u16(bytes, at);
    if (extensionsEnd > end) return null;
    at += 2;
    while (extensionsEnd - at >= 4) {
      const type = u16(bytes, at);
      const dataStart = at + 4;
      const dataEnd = dataStart + u16(bytes, at + 2);
      if (dataEnd > extensionsEnd) return null;
      at = dataEnd;
      if (!isGrease(type) && !isTransientExtension(type)) extensions = addUnordered(extensions, type);
      const bit = keptBit(type);
      if ((seen & bit) !== 0) return null;
      seen |= bit;
      switch (type) {
        case EXT_SERVER_NAME: { // RFC 6066 §3
          if (dataEnd === dataStart) break;
          if (dataEnd - dataStart < 2) return null;
          const listEnd = dataStart + 2 + u16(bytes, dataStart);
          if (listEnd > dataEnd) return null;
          for (let p = dataStart + 2; listEnd - p >= 3; ) {
            const nameType = bytes[p]!;
            const nameEnd = p + 3 + u16(bytes, p + 1);
            if (nameEnd > listEnd) return null;
            if (nameType === 0 && serverName === null) serverName = latin1Of(bytes, p + 3, nameEnd);
            p = nameEnd;
          }
          break;
        }
        case EXT_ALPN: { // RFC 7301 §3.1: the first name goes into the fingerprint
          if (dataEnd - dataStart < 2) return null;
          const listEnd = dataStart + 2 + u16(bytes, dataStart);
          if (listEnd > dataEnd) return null;
          for (let p = dataStart + 2, first = true; p < listEnd; first = false) {
            const nameEnd = p + 1 + bytes[p]!;
            if (nameEnd > listEnd) return null;
            if (first) for (let i = p + 1; i < nameEnd; i++) alpn = feed(alpn, bytes[i]!);
            p = nameEnd;
          }
          break;
        }
        case EXT_SUPPORTED_VERSIONS: { // RFC 8446 §4.2.1: a u8-length list in the ClientHello
          if (dataEnd - dataStart < 1) return null;
          const listEnd = dataStart + 1 + bytes[dataStart]!;
          if (listEnd > dataEnd) return null;
          for (let p = dataStart + 1; p + 2 <= listEnd; p += 2) {
            const version = u16(bytes, p);
            if (!isGrease(version)) versions = feed(versions, version);
            if (version === 0x0304) supports13 = true;
          }
          break;
        }
        case EXT_SIGNATURE_ALGORITHMS: {
          if (dataEnd - dataStart < 2) return null;
          const listEnd = dataStart + 2 + u16(bytes, dataStart);
          if (listEnd > dataEnd) return null;
          for (let p = dataStart + 2; p + 2 <= listEnd; p += 2) {
            const algorithm = u16(bytes, p);
            if (!isGrease(algorithm)) signatures = feed(signatures, algorithm);
          }
          break;
        }
        case EXT_SUPPORTED_GROUPS: // checked only: parseClientHello fails on a list past its extension
          if (dataEnd - dataStart < 2 || dataStart + 2 + u16(bytes, dataStart) > dataEnd) return null;
          break;
        case EXT_EC_POINT_FORMATS:
        case EXT_PSK_KEY_EXCHANGE_MODES:
          if (dataEnd - dataStart < 1 || dataStart + 1 + bytes[dataStart]! > dataEnd) return null;
          break;
        case EXT_SESSION_TICKET: // RFC 5077 §3.2: the ticket itself, or empty to ask for one
          if (dataEnd > dataStart) offeredTicket = toHex(bytes, dataStart, Math.min(dataEnd, dataStart + 32));
          break;
        case EXT_PRE_SHARED_KEY: { // RFC 8446 §4.2.11 OfferedPsks: identities, then binders (not read)
          if (dataEnd - dataStart < 2) return null;
          const listEnd = dataStart + 2 + u16(bytes, dataStart);
          if (listEnd > dataEnd) return null;
          for (let p = dataStart + 2; listEnd - p >= 2; ) {
            const identityStart = p + 2;
            const identityEnd = identityStart + u16(bytes, p);
            if (identityEnd + 4 > listEnd) return null; // identity, then obfuscated_ticket_age
            if (offeredPskIdentity === null) offeredPskIdentity = toHex(bytes, identityStart, Math.min(identityEnd, identityStart + 32));
            p = identityEnd + 4;
          }
          break;
        }
        case EXT_KEY_SHARE: { // RFC 8446 §4.2.8 client_shares
          if (dataEnd - dataStart < 2) return null;
          const listEnd = dataStart + 2 + u16(bytes, dataStart);
          if (listEnd > dataEnd) return null;
          for (let p = dataStart + 2; listEnd - p >= 4; ) {
            const shareEnd = p + 4 + u16(bytes, p + 2);
            if (shareEnd > listEnd) return null;
            p = shareEnd;
          }
          break;
        }
        default:
          break;
      }
    }
  }
  return {
    legacyVersion, sessionId, serverName, offeredTicket, offeredPskIdentity, supports13,
    fingerprintKey: combineKey(legacyVersion, versions, ciphers, extensions, signatures, serverName !== null, alpn),
  };
}

/** The facts of a ServerHello that a connection keeps (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3). */
export interface ServerHelloScan {
  legacyVersion: number;
  /** The version from supported_versions (RFC 8446 §4.2.1), or 0. */
  selectedVersion: number;
  sessionId: string;
  cipherSuite: number;
  /** pre_shared_key present: the server accepted a PSK (RFC 8446 §4.2.11). */
  pskAccepted: boolean;
  alpn: string | null;
  helloRetryRequest: boolean;
}

/**
 * Scan a ServerHello body bytes[start, end), as parseServerHello reads it but without its
 * extension list and cursors. Null when malformed or when a kept extension repeats.
 */
export function scanServerHello(bytes: Uint8Array, start: number, end: number): ServerHelloScan | null {
  let at = start;
  if (end - at < 35) return null; // legacy_version, random, session_id length
  const legacyVersion = u16(bytes, at);
  let helloRetryRequest = true;
  for (let i = 0; i < 32; i++) {
    if (bytes[at + 2 + i] !== HELLO_RETRY_RANDOM[i]) {
      helloRetryRequest = false;
      break;
    }
  }
  at += 34;
  const sessionIdLength = bytes[at++]!;
  if (sessionIdLength > 32 || at + sessionIdLength + 3 > end) return null; // then cipher_suite, compression_method
  const sessionId = toHex(bytes, at, at + sessionIdLength);
  at += sessionIdLength;
  const cipherSuite = u16(bytes, at);
  at += 3;
  let selectedVersion = 0;
  let pskAccepted = false;
  let alpn: string | null = null;
  let seen = 0;
  if (end - at >= 2) {
    const extensionsEnd = at + 2 + u16(bytes, at);
    if (extensionsEnd > end) return null;
    at += 2;
    while (extensionsEnd - at >= 4) {
      const type = u16(bytes, at);
      const dataStart = at + 4;
      const dataEnd = dataStart + u16(bytes, at + 2);
      if (dataEnd > extensionsEnd) return null;
      at = dataEnd;
      switch (type) {
        case EXT_SUPPORTED_VERSIONS: // the selected_version
          if ((seen & 1) !== 0 || dataEnd - dataStart < 2) return null;
          seen |= 1;
          selectedVersion = u16(bytes, dataStart);
          break;
        case EXT_PRE_SHARED_KEY:
          pskAccepted = true;
          break;
        case EXT_ALPN: { // RFC 7301 §3.1: the list holds the one protocol selected
          if ((seen & 2) !== 0 || dataEnd - dataStart < 2) return null;
          seen |= 2;
          const listEnd = dataStart + 2 + u16(bytes, dataStart);
          if (listEnd > dataEnd) return null;
          for (let p = dataStart + 2; p < listEnd; ) {
            const nameEnd = p + 1 + bytes[p]!;
            if (nameEnd > listEnd) return null;
            if (alpn === null) alpn = latin1Of(bytes, p + 1, nameEnd);
            p = nameEnd;
          }
          break;
        }
        case EXT_KEY_SHARE: // the group: parseServerHello needs its two bytes
          if (dataEnd - dataStart < 2) return null;
          break;
        default:
          break;
      }
    }
  }
  return { legacyVersion, selectedVersion, sessionId, cipherSuite, pskAccepted, alpn, helloRetryRequest };
}
