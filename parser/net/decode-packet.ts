// Link layer → IPv4/IPv6 → TCP (and UDP, only counted), as one pure function over a frame's bytes.
// Fills a caller-owned TcpPacket (reused for every frame: no per-packet allocation).
// Tunnels are opened on the way (VXLAN, Geneve, GRE with ERSPAN, MPLS, IP in IP): a farm's traffic
// is often captured from a mirror that delivers it encapsulated (cloud traffic mirroring in VXLAN,
// switch port mirrors in ERSPAN, load balancers that tunnel to their backends in IP in IP or GRE),
// and what matters is the connection inside.

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export class TcpPacket {
  ipVersion: 4 | 6 = 4;
  // Addresses and payload are kept as (buffer, offset) into the frame: no view is
  // allocated per packet. The getters build views for callers that want them.
  sourceBytes: Uint8Array = EMPTY;
  sourceOffset = 0;
  destinationBytes: Uint8Array = EMPTY;
  destinationOffset = 0;
  /** 4 (IPv4) or 16 (IPv6). */
  addressLength = 4;
  sourcePort = 0;
  destinationPort = 0;
  sequence = 0;
  acknowledgment = 0;
  flags = 0;
  payloadBytes: Uint8Array = EMPTY;
  payloadStart = 0;
  payloadEnd = 0;
  /** TCP payload bytes that were on the wire but not captured (snaplen). */
  missingPayload = 0;
  /** Encapsulation bits (ENCAPSULATION_*) of the tunnels this packet was found in; 0 for none. */
  encapsulation = 0;
  /** Tunnels opened for this packet (a tunnel in a tunnel counts twice). */
  tunnels = 0;
  // A fragment (DecodeResult.Fragment): what reassembly needs (ip-fragments.ts). Addresses and the
  // fragment's data (payloadBytes, payloadStart, payloadEnd) are set as for a whole packet.
  /** Start of the IP header and end of what every fragment repeats (IPv4: the header; IPv6: up to the fragment header). */
  fragmentHeaderStart = 0;
  fragmentHeaderEnd = 0;
  /** IPv6: where the Next Header field that named the fragment header is (reassembled, it names `fragmentProtocol`); -1 for IPv4. */
  fragmentNextHeaderAt = -1;
  fragmentProtocol = 0;
  fragmentId = 0;
  /** Offset of the fragment's data in the datagram's payload, in bytes. */
  fragmentOffset = 0;
  fragmentMore = false;
  /** Data bytes of the fragment on the wire (more than captured when snaplen cut it). */
  fragmentLength = 0;

  get source(): Uint8Array {
    return this.sourceBytes.subarray(this.sourceOffset, this.sourceOffset + this.addressLength);
  }
  set source(address: Uint8Array) {
    this.sourceBytes = address;
    this.sourceOffset = 0;
    this.addressLength = address.length;
  }
  get destination(): Uint8Array {
    return this.destinationBytes.subarray(this.destinationOffset, this.destinationOffset + this.addressLength);
  }
  set destination(address: Uint8Array) {
    this.destinationBytes = address;
    this.destinationOffset = 0;
  }
  get payload(): Uint8Array {
    return this.payloadBytes.subarray(this.payloadStart, this.payloadEnd);
  }
  set payload(bytes: Uint8Array) {
    this.payloadBytes = bytes;
    this.payloadStart = 0;
    this.payloadEnd = bytes.length;
  }
  get payloadLength(): number {
    return this.payloadEnd - this.payloadStart;
  }
}

const EMPTY = new Uint8Array(0);

export const enum DecodeResult {
  Tcp = 0,
  NotTcp = 1,
  /** An IP fragment: not reassembled (recorded as an anomaly by the caller). */
  Fragment = 2,
  /** Headers cut short by snaplen before the TCP header ended. */
  Truncated = 3,
  Malformed = 4,
  UnsupportedLink = 5,
  /** A UDP datagram (ports and payload filled in; addresses too). */
  Udp = 6,
}

/** TcpPacket.encapsulation bits: which tunnels a packet came out of. */
export const ENCAPSULATION_VXLAN = 1;
export const ENCAPSULATION_GENEVE = 2;
export const ENCAPSULATION_GRE = 4;
export const ENCAPSULATION_ERSPAN = 8;
export const ENCAPSULATION_MPLS = 16;
export const ENCAPSULATION_IP_IN_IP = 32;
/** Names of the bits, in bit order (the capture summary's `encapsulated` keys). */
export const ENCAPSULATION_NAMES = ['vxlan', 'geneve', 'gre', 'erspan', 'mpls', 'ipInIp'] as const;

/** Tunnels inside tunnels deeper than this are refused as malformed: a crafted frame cannot recurse without end. */
const MAX_ENCAPSULATIONS = 8;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const ETHERTYPE_PPPOE_SESSION = 0x8864;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_MPLS_MULTICAST = 0x8848;
/** Transparent Ethernet bridging: an Ethernet frame inside GRE or Geneve. */
const ETHERTYPE_BRIDGED_ETHERNET = 0x6558;
const ETHERTYPE_ERSPAN_2 = 0x88be;
const ETHERTYPE_ERSPAN_3 = 0x22eb;
/** UDP ports of VXLAN: IANA's (RFC 7348 §5), and Linux's default, still used by flannel. */
const VXLAN_PORT = 4789;
const VXLAN_LINUX_PORT = 8472;
/** RFC 8926 §3.3. */
const GENEVE_PORT = 6081;
const IP_PROTOCOL_IPV4 = 4;
const IP_PROTOCOL_TCP = 6;
const IP_PROTOCOL_UDP = 17;
const IP_PROTOCOL_IPV6 = 41;
const IP_PROTOCOL_GRE = 47;

/** Decode one frame of the given LINKTYPE into `out`. */
export function decodeFrame(linkType: number, data: Uint8Array, originalLength: number, out: TcpPacket): DecodeResult {
  return decodeFrameAt(linkType, data, 0, data.length, originalLength, out);
}

/** Same, for a frame at bytes[start, end) (a capture reader's buffer, without a view per frame). */
export function decodeFrameAt(linkType: number, bytes: Uint8Array, start: number, end: number, originalLength: number, out: TcpPacket): DecodeResult {
  const missing = originalLength - (end - start);
  const data = bytes;
  const length = end;
  out.encapsulation = 0;
  out.tunnels = 0;
  switch (linkType) {
    case 1: // Ethernet II (IEEE 802.3), with 802.1Q / 802.1ad tags
      return decodeEthernet(data, start, length, missing, out);
    case 0: // BSD loopback: 4-byte address family in the capturing host's byte order
    case 108: { // OpenBSD loopback: same, network byte order
      if (length < start + 4) return DecodeResult.Truncated;
      const family = linkType === 108 ? readU32BE(data, start) : data[start] !== 0 ? data[start]! | (data[start + 1]! << 8) : readU32BE(data, start);
      if (family === 2) return decodeIPv4(data, start + 4, length, missing, out);
      // AF_INET6 differs per OS: 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
      if (family === 10 || family === 24 || family === 28 || family === 30) return decodeIPv6(data, start + 4, length, missing, out);
      return DecodeResult.NotTcp;
    }
    case 12:
    case 14:
    case 101: // raw IP: version nibble decides
      return decodeRawIp(data, start, length, missing, out);
    case 228:
      return decodeIPv4(data, start, length, missing, out);
    case 229:
      return decodeIPv6(data, start, length, missing, out);
    case 113: { // Linux cooked capture v1: protocol type at offset 14
      if (length < start + 16) return DecodeResult.Truncated;
      return decodeEtherType(readU16(data, start + 14), data, start + 16, length, missing, out);
    }
    case 276: { // Linux cooked capture v2: protocol type at offset 0, header 20 bytes
      if (length < start + 20) return DecodeResult.Truncated;
      return decodeEtherType(readU16(data, start), data, start + 20, length, missing, out);
    }
    case 9: // PPP (RFC 1661): optional address/control 0xff 0x03, then protocol
    case 50: {
      let pos = start;
      if (length >= pos + 2 && data[pos] === 0xff && data[pos + 1] === 0x03) pos += 2;
      return decodePpp(data, pos, length, missing, out);
    }
    default:
      return DecodeResult.UnsupportedLink;
  }
}

function decodeEthernet(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (length < pos + 14) return DecodeResult.Truncated;
  return decodeEtherType(readU16(data, pos + 12), data, pos + 14, length, missing, out);
}

function decodeEtherType(etherType: number, data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  // Peel any number of VLAN tags (802.1Q, QinQ): each is TCI(2) + next EtherType(2).
  for (let tags = 0; etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ || etherType === ETHERTYPE_QINQ_OLD; tags++) {
    if (tags > 8) return DecodeResult.Malformed;
    if (length < pos + 4) return DecodeResult.Truncated;
    etherType = readU16(data, pos + 2);
    pos += 4;
  }
  if (etherType === ETHERTYPE_IPV4) return decodeIPv4(data, pos, length, missing, out);
  if (etherType === ETHERTYPE_IPV6) return decodeIPv6(data, pos, length, missing, out);
  if (etherType === ETHERTYPE_PPPOE_SESSION) {
    if (length < pos + 6) return DecodeResult.Truncated;
    return decodePpp(data, pos + 6, length, missing, out);
  }
  if (etherType === ETHERTYPE_MPLS || etherType === ETHERTYPE_MPLS_MULTICAST) return decodeMpls(data, pos, length, missing, out);
  return DecodeResult.NotTcp;
}

/** Counts a tunnel opened for this packet; false when there are too many to be real. */
function enterTunnel(out: TcpPacket, kind: number): boolean {
  out.encapsulation |= kind;
  return ++out.tunnels <= MAX_ENCAPSULATIONS;
}

/**
 * RFC 3032 §2.1: label stack entries of 4 bytes, the last with the bottom-of-stack bit. What follows
 * carries no type: IP by its version nibble, or a pseudowire control word (first nibble 0, RFC 4385
 * §3) before an Ethernet frame. An Ethernet pseudowire without a control word cannot be told apart.
 */
function decodeMpls(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (!enterTunnel(out, ENCAPSULATION_MPLS)) return DecodeResult.Malformed;
  for (let labels = 0; ; labels++) {
    if (labels >= 16) return DecodeResult.Malformed;
    if (length < pos + 4) return DecodeResult.Truncated;
    const bottom = (data[pos + 2]! & 1) !== 0;
    pos += 4;
    if (bottom) break;
  }
  if (length <= pos) return DecodeResult.Truncated;
  const nibble = data[pos]! >> 4;
  if (nibble === 4) return decodeIPv4(data, pos, length, missing, out);
  if (nibble === 6) return decodeIPv6(data, pos, length, missing, out);
  if (nibble === 0) return decodeEthernet(data, pos + 4, length, missing, out);
  return DecodeResult.NotTcp;
}

/**
 * GRE (RFC 2784 §2, with RFC 2890's key and sequence number): checksum, key and sequence fields are
 * there when their flags are set. Inside: IP, Ethernet (transparent bridging, NVGRE), MPLS, or a
 * mirrored frame of ERSPAN type I (no header of its own), II (8 bytes) or III (12, plus 8 when its
 * O flag is set), as Cisco's draft-foschiano-erspan-03 §4 lays them out.
 */
function decodeGre(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (!enterTunnel(out, ENCAPSULATION_GRE)) return DecodeResult.Malformed;
  if (length < pos + 4) return DecodeResult.Truncated;
  const flags = readU16(data, pos);
  const protocol = readU16(data, pos + 2);
  // Version 1 is PPTP's enhanced GRE (RFC 2637), routing (RFC 1701's R bit) long obsolete: not followed.
  if ((flags & 0x0007) !== 0 || (flags & 0x4000) !== 0) return DecodeResult.NotTcp;
  const hasSequence = (flags & 0x1000) !== 0;
  pos += 4 + ((flags & 0x8000) !== 0 ? 4 : 0) + ((flags & 0x2000) !== 0 ? 4 : 0) + (hasSequence ? 4 : 0);
  switch (protocol) {
    case ETHERTYPE_ERSPAN_2:
      out.encapsulation |= ENCAPSULATION_ERSPAN;
      // Type I has no sequence number and no header; type II has both.
      return decodeEthernet(data, hasSequence ? pos + 8 : pos, length, missing, out);
    case ETHERTYPE_ERSPAN_3: {
      out.encapsulation |= ENCAPSULATION_ERSPAN;
      if (length < pos + 12) return DecodeResult.Truncated;
      const word = readU16(data, pos + 10);
      const frameType = (word >> 10) & 0x1f; // 0: Ethernet, 2: IP
      const next = pos + 12 + ((word & 1) !== 0 ? 8 : 0);
      if (frameType === 0) return decodeEthernet(data, next, length, missing, out);
      if (frameType === 2) return decodeRawIp(data, next, length, missing, out);
      return DecodeResult.NotTcp;
    }
    case ETHERTYPE_BRIDGED_ETHERNET:
      return decodeEthernet(data, pos, length, missing, out);
    default:
      return decodeEtherType(protocol, data, pos, length, missing, out);
  }
}

/**
 * VXLAN (RFC 7348 §5): 8 bytes, the I flag set for a valid network identifier, then an Ethernet
 * frame. Without that header (too short, no I flag) it is no tunnel: NotTcp, and nothing entered.
 */
function decodeVxlan(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (length < pos + 8 || (data[pos]! & 0x08) === 0) return DecodeResult.NotTcp;
  if (!enterTunnel(out, ENCAPSULATION_VXLAN)) return DecodeResult.Malformed;
  return decodeEthernet(data, pos + 8, length, missing, out);
}

/** Geneve (RFC 8926 §3.4): 8 bytes and options of Opt Len 4-byte words, then what Protocol Type names; as VXLAN without its header. */
function decodeGeneve(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (length < pos + 8 || data[pos]! >> 6 !== 0) return DecodeResult.NotTcp; // version 0 only
  if (!enterTunnel(out, ENCAPSULATION_GENEVE)) return DecodeResult.Malformed;
  const protocol = readU16(data, pos + 2);
  const next = pos + 8 + (data[pos]! & 0x3f) * 4;
  return protocol === ETHERTYPE_BRIDGED_ETHERNET ? decodeEthernet(data, next, length, missing, out) : decodeEtherType(protocol, data, next, length, missing, out);
}

/**
 * What an IP header carries, when it is another header inside (IP in IP, RFC 2003; IPv6 in IPv4,
 * RFC 4213 §3.5; GRE): decoded within the outer datagram's end (`end`, which may lie past the
 * captured `length` when snaplen cut the frame).
 */
function decodeIpPayload(protocol: number, data: Uint8Array, pos: number, length: number, end: number, out: TcpPacket): DecodeResult {
  const innerLength = Math.min(length, end);
  const innerMissing = end - innerLength;
  if (protocol === IP_PROTOCOL_GRE) return decodeGre(data, pos, innerLength, innerMissing, out);
  if (!enterTunnel(out, ENCAPSULATION_IP_IN_IP)) return DecodeResult.Malformed;
  return protocol === IP_PROTOCOL_IPV4 ? decodeIPv4(data, pos, innerLength, innerMissing, out) : decodeIPv6(data, pos, innerLength, innerMissing, out);
}

function isTunnelProtocol(protocol: number): boolean {
  return protocol === IP_PROTOCOL_IPV4 || protocol === IP_PROTOCOL_IPV6 || protocol === IP_PROTOCOL_GRE;
}

function decodePpp(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (length < pos + 1) return DecodeResult.Truncated;
  // Protocol field may be compressed to one byte (RFC 1661 §6.5) when its low bit is set.
  let protocol: number;
  if (data[pos]! & 1) {
    protocol = data[pos]!;
    pos += 1;
  } else {
    if (length < pos + 2) return DecodeResult.Truncated;
    protocol = readU16(data, pos);
    pos += 2;
  }
  if (protocol === 0x0021) return decodeIPv4(data, pos, length, missing, out);
  if (protocol === 0x0057) return decodeIPv6(data, pos, length, missing, out);
  return DecodeResult.NotTcp;
}

function decodeRawIp(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (length <= pos) return DecodeResult.Truncated;
  const version = data[pos]! >> 4;
  if (version === 4) return decodeIPv4(data, pos, length, missing, out);
  if (version === 6) return decodeIPv6(data, pos, length, missing, out);
  return DecodeResult.NotTcp;
}

// RFC 791 §3.1
function decodeIPv4(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (length < pos + 20) return length + missing >= pos + 20 ? DecodeResult.Truncated : DecodeResult.Malformed;
  const versionAndLength = data[pos]!;
  if (versionAndLength >> 4 !== 4) return DecodeResult.Malformed;
  const headerLength = (versionAndLength & 0x0f) * 4;
  if (headerLength < 20) return DecodeResult.Malformed;
  const totalLength = readU16(data, pos + 2);
  const flagsAndOffset = readU16(data, pos + 6);
  const protocol = data[pos + 9]!;
  if (protocol !== IP_PROTOCOL_TCP && protocol !== IP_PROTOCOL_UDP && !isTunnelProtocol(protocol)) return DecodeResult.NotTcp;
  // More-fragments set or a non-zero offset: a fragment, not reassembled here (UDP: not followed;
  // a tunnel's fragment may hold a TCP segment).
  out.ipVersion = 4;
  out.sourceBytes = data;
  out.sourceOffset = pos + 12;
  out.destinationBytes = data;
  out.destinationOffset = pos + 16;
  out.addressLength = 4;
  // More-fragments set or a non-zero offset: a fragment, for reassembly (RFC 791 §3.2).
  if ((flagsAndOffset & 0x2000) !== 0 || (flagsAndOffset & 0x1fff) !== 0) {
    if (totalLength < headerLength) return DecodeResult.Malformed;
    if (length < pos + headerLength) return DecodeResult.Truncated;
    out.fragmentHeaderStart = pos;
    out.fragmentHeaderEnd = pos + headerLength;
    out.fragmentNextHeaderAt = -1;
    out.fragmentProtocol = protocol;
    out.fragmentId = readU16(data, pos + 4);
    out.fragmentOffset = (flagsAndOffset & 0x1fff) * 8;
    out.fragmentMore = (flagsAndOffset & 0x2000) !== 0;
    out.fragmentLength = totalLength - headerLength;
    out.payloadBytes = data;
    out.payloadStart = pos + headerLength;
    out.payloadEnd = Math.min(length, pos + totalLength);
    return DecodeResult.Fragment;
  }
  // TSO captures show total length 0; fall back to what is there.
  const end = totalLength === 0 ? length + missing : pos + totalLength;
  if (totalLength !== 0 && totalLength < headerLength) return protocol === IP_PROTOCOL_UDP ? DecodeResult.NotTcp : DecodeResult.Malformed;
  if (protocol === IP_PROTOCOL_TCP) return decodeTcp(data, pos + headerLength, length, end, out);
  if (protocol === IP_PROTOCOL_UDP) return decodeUdp(data, pos + headerLength, length, end, out);
  return decodeIpPayload(protocol, data, pos + headerLength, length, end, out);
}

// RFC 8200 §3, §4 (extension headers)
function decodeIPv6(data: Uint8Array, pos: number, length: number, missing: number, out: TcpPacket): DecodeResult {
  if (length < pos + 40) return length + missing >= pos + 40 ? DecodeResult.Truncated : DecodeResult.Malformed;
  if (data[pos]! >> 4 !== 6) return DecodeResult.Malformed;
  const payloadLength = readU16(data, pos + 4);
  let nextHeader = data[pos + 6]!;
  out.ipVersion = 6;
  out.sourceBytes = data;
  out.sourceOffset = pos + 8;
  out.destinationBytes = data;
  out.destinationOffset = pos + 24;
  out.addressLength = 16;
  const end = payloadLength === 0 ? length + missing : pos + 40 + payloadLength; // 0: jumbogram or TSO
  const start = pos;
  // Where the Next Header field naming the current header is (a fragment header's is rewritten by reassembly).
  let nextHeaderAt = pos + 6;
  pos += 40;
  for (let hops = 0; hops < 16; hops++) {
    switch (nextHeader) {
      case 6:
        return decodeTcp(data, pos, length, end, out);
      case 17:
        return decodeUdp(data, pos, length, end, out);
      case IP_PROTOCOL_IPV4:
      case IP_PROTOCOL_IPV6:
      case IP_PROTOCOL_GRE:
        return decodeIpPayload(nextHeader, data, pos, length, end, out);
      case 0: // hop-by-hop
      case 43: // routing
      case 60: // destination options
      case 135: // mobility
        if (length < pos + 2) return DecodeResult.Truncated;
        nextHeader = data[pos]!;
        nextHeaderAt = pos;
        pos += (data[pos + 1]! + 1) * 8;
        break;
      case 51: // authentication header: length in 4-octet units minus 2 (RFC 4302 §2.2)
        if (length < pos + 2) return DecodeResult.Truncated;
        nextHeader = data[pos]!;
        nextHeaderAt = pos;
        pos += (data[pos + 1]! + 2) * 4;
        break;
      case 44: { // fragment header (RFC 8200 §4.5): next header, reserved, offset and M flag, identification
        if (length < pos + 8 || payloadLength === 0) return length < pos + 8 ? DecodeResult.Truncated : DecodeResult.Malformed;
        const offsetAndMore = readU16(data, pos + 2);
        out.fragmentHeaderStart = start;
        out.fragmentHeaderEnd = pos;
        out.fragmentNextHeaderAt = nextHeaderAt;
        out.fragmentProtocol = data[pos]!;
        out.fragmentId = readU32BE(data, pos + 4);
        out.fragmentOffset = offsetAndMore & 0xfff8;
        out.fragmentMore = (offsetAndMore & 1) !== 0;
        out.fragmentLength = end - (pos + 8);
        out.payloadBytes = data;
        out.payloadStart = pos + 8;
        out.payloadEnd = Math.min(length, end);
        return end < pos + 8 ? DecodeResult.Malformed : DecodeResult.Fragment;
      }
      default:
        return DecodeResult.NotTcp;
    }
    if (pos > end) return DecodeResult.Malformed;
  }
  return DecodeResult.Malformed;
}

// RFC 9293 §3.1
function decodeTcp(data: Uint8Array, pos: number, length: number, ipEnd: number, out: TcpPacket): DecodeResult {
  if (length < pos + 20) return ipEnd >= pos + 20 ? DecodeResult.Truncated : DecodeResult.Malformed;
  const headerLength = (data[pos + 12]! >> 4) * 4;
  if (headerLength < 20 || pos + headerLength > ipEnd) return DecodeResult.Malformed;
  if (length < pos + headerLength) return DecodeResult.Truncated;
  out.sourcePort = readU16(data, pos);
  out.destinationPort = readU16(data, pos + 2);
  out.sequence = readU32BE(data, pos + 4);
  out.acknowledgment = readU32BE(data, pos + 8);
  out.flags = data[pos + 13]!;
  const payloadStart = pos + headerLength;
  // Ethernet padding may follow the IP datagram: never read past the IP length.
  const capturedEnd = Math.min(ipEnd, length);
  out.payloadBytes = data;
  out.payloadStart = payloadStart;
  out.payloadEnd = Math.max(payloadStart, capturedEnd);
  out.missingPayload = Math.max(0, ipEnd - Math.max(capturedEnd, payloadStart));
  return DecodeResult.Tcp;
}

/**
 * RFC 768: ports and the payload's range, for the count of TLS over UDP (see udp-tls.ts). UDP is
 * not followed, so a cut or damaged header is no anomaly: the datagram is just not counted.
 */
function decodeUdp(data: Uint8Array, pos: number, length: number, ipEnd: number, out: TcpPacket): DecodeResult {
  if (length < pos + 8 || ipEnd < pos + 8) return DecodeResult.NotTcp;
  const udpLength = readU16(data, pos + 4);
  // A length of 0: an IPv6 jumbogram's (RFC 2675 §4); otherwise never past the IP datagram.
  const end = Math.min(udpLength >= 8 ? pos + udpLength : ipEnd, ipEnd, length);
  const destinationPort = readU16(data, pos + 2);
  if (destinationPort === VXLAN_PORT || destinationPort === VXLAN_LINUX_PORT || destinationPort === GENEVE_PORT) {
    // The tunnel's frame ends with the UDP datagram (past the captured bytes when snaplen cut it).
    const datagramEnd = udpLength >= 8 ? Math.min(pos + udpLength, ipEnd) : ipEnd;
    const innerLength = Math.min(length, datagramEnd);
    const tunnelsBefore = out.tunnels;
    const inner = destinationPort === GENEVE_PORT
      ? decodeGeneve(data, pos + 8, innerLength, datagramEnd - innerLength, out)
      : decodeVxlan(data, pos + 8, innerLength, datagramEnd - innerLength, out);
    if (out.tunnels > tunnelsBefore) return inner;
    // No tunnel header there: an ordinary datagram to that port.
  }
  out.sourcePort = readU16(data, pos);
  out.destinationPort = destinationPort;
  out.payloadBytes = data;
  out.payloadStart = pos + 8;
  out.payloadEnd = Math.max(pos + 8, end);
  out.missingPayload = 0;
  return DecodeResult.Udp;
}

function readU16(data: Uint8Array, pos: number): number {
  return (data[pos]! << 8) | data[pos + 1]!;
}

function readU32BE(data: Uint8Array, pos: number): number {
  return ((data[pos]! << 24) | (data[pos + 1]! << 16) | (data[pos + 2]! << 8) | data[pos + 3]!) >>> 0;
}

/** Text form of an IPv4 or IPv6 address (RFC 5952 compression for IPv6). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run of zero groups (length ≥ 2) becomes "::" (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}
