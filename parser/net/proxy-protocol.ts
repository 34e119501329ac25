// The PROXY protocol header (HAProxy's specification, versions 1 and 2: haproxy.org/download/2.6/
// doc/proxy-protocol.txt): a load balancer that passes TCP on to a backend (HAProxy `send-proxy`,
// AWS Network Load Balancer, nginx `proxy_protocol on`) first sends the address of the client it
// serves. Captured at the backend, every connection comes from the balancer's address: the header
// is what tells the clients apart. Pure function over the first bytes of the client's stream.

import type { Endpoint } from '../report/types.js';
import { formatAddress } from './decode-packet.js';
import { ipv4Bytes, ipv6Bytes } from './address-text.js';

export type ProxyHeader =
  /** The bytes do not start a PROXY header. */
  | { kind: 'none' }
  /** They may: more bytes are needed to tell (a header is at most MAX_PROXY_HEADER bytes). */
  | { kind: 'incomplete' }
  /**
   * A whole header ending at `end`. `source` is null where it names no TCP client: a LOCAL
   * command (a health check), UNKNOWN or another family (UNIX sockets).
   */
  | { kind: 'header'; version: 1 | 2; end: number; source: Endpoint | null; local: boolean };

// The answers without a header are shared: every connection's two streams ask once.
const NONE: ProxyHeader = Object.freeze({ kind: 'none' });
const INCOMPLETE: ProxyHeader = Object.freeze({ kind: 'incomplete' });

/** The longest header followed: a v1 line is at most 107 bytes (§2.1); a v2 one, with its TLVs, is bounded here. */
export const MAX_PROXY_HEADER = 1024;

/** §2.2: the v2 signature, "\r\n\r\n\0\r\nQUIT\n". */
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
/** §2.1: "PROXY " starts a v1 line. */
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20];
const V1_MAX_LENGTH = 107;

/** The PROXY header at data[from, to), if the bytes there start one. */
export function parseProxyHeader(data: Uint8Array, from: number, to: number): ProxyHeader {
  const available = to - from;
  if (available <= 0) return INCOMPLETE;
  if (data[from] === V2_SIGNATURE[0]) return parseV2(data, from, to);
  if (data[from] === V1_PREFIX[0]) return parseV1(data, from, to);
  return NONE;
}

function startsWith(data: Uint8Array, from: number, to: number, prefix: number[]): boolean | null {
  for (let i = 0; i < prefix.length; i++) {
    if (from + i >= to) return null; // so far so good, but cut
    if (data[from + i] !== prefix[i]) return false;
  }
  return true;
}

// §2.2: signature(12), version and command(1), family and transport(1), length(2), addresses, TLVs.
function parseV2(data: Uint8Array, from: number, to: number): ProxyHeader {
  const signature = startsWith(data, from, to, V2_SIGNATURE);
  if (signature === false) return NONE;
  if (signature === null || to - from < 16) return INCOMPLETE;
  const versionCommand = data[from + 12]!;
  if (versionCommand >> 4 !== 2) return NONE;
  const command = versionCommand & 0x0f;
  const family = data[from + 13]! >> 4;
  const transport = data[from + 13]! & 0x0f;
  const length = (data[from + 14]! << 8) | data[from + 15]!;
  const end = from + 16 + length;
  if (16 + length > MAX_PROXY_HEADER) return NONE;
  if (end > to) return INCOMPLETE;
  // LOCAL (0): the balancer speaking for itself (its health checks, §2.2); PROXY (1) over TCP (STREAM) names a client.
  if (command !== 1 || transport !== 1) return { kind: 'header', version: 2, end, source: null, local: command === 0 };
  if (family === 1 && length >= 12) {
    return { kind: 'header', version: 2, end, source: { ip: formatAddress(data.subarray(from + 16, from + 20)), port: (data[from + 24]! << 8) | data[from + 25]! }, local: false };
  }
  if (family === 2 && length >= 36) {
    return { kind: 'header', version: 2, end, source: { ip: formatAddress(data.subarray(from + 16, from + 32)), port: (data[from + 48]! << 8) | data[from + 49]! }, local: false };
  }
  return { kind: 'header', version: 2, end, source: null, local: false };
}

// §2.1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" (or TCP6, or UNKNOWN and anything).
function parseV1(data: Uint8Array, from: number, to: number): ProxyHeader {
  const prefix = startsWith(data, from, to, V1_PREFIX);
  if (prefix === false) return NONE;
  if (prefix === null) return INCOMPLETE;
  let lineEnd = -1;
  for (let i = from + V1_PREFIX.length; i + 1 < Math.min(to, from + V1_MAX_LENGTH); i++) {
    if (data[i] === 0x0d && data[i + 1] === 0x0a) {
      lineEnd = i;
      break;
    }
    if (data[i]! < 0x20 || data[i]! > 0x7e) return NONE;
  }
  if (lineEnd < 0) return to - from < V1_MAX_LENGTH ? INCOMPLETE : NONE;
  const end = lineEnd + 2;
  let line = '';
  for (let i = from; i < lineEnd; i++) line += String.fromCharCode(data[i]!);
  const fields = line.split(' ');
  // §2.1: UNKNOWN is sent "for health checks" and other connections the proxy opens for itself.
  if (fields[1] === 'UNKNOWN') return { kind: 'header', version: 1, end, source: null, local: true };
  if (fields.length !== 6 || (fields[1] !== 'TCP4' && fields[1] !== 'TCP6')) return NONE;
  const address = fields[1] === 'TCP4' ? ipv4Bytes(fields[2]!) : ipv6Bytes(fields[2]!);
  const port = Number(fields[4]);
  if (address === null || !/^\d{1,5}$/.test(fields[4]!) || port > 65535) return NONE;
  // Written as every other address is (RFC 5952 for IPv6), whatever form the line used.
  return { kind: 'header', version: 1, end, source: { ip: formatAddress(address), port }, local: false };
}

