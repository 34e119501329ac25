// Link layer → IP → TCP decoding (https://www.tcpdump.org/linktypes.html,
// RFC 791 IPv4, RFC 8200 IPv6, RFC 9293 TCP, RFC 1661 PPP, IEEE 802.1Q/802.1ad).
import { describe, expect, it } from 'vitest';
import {
  decodeFrame, DecodeResult, ENCAPSULATION_ERSPAN, ENCAPSULATION_GENEVE, ENCAPSULATION_GRE, ENCAPSULATION_IP_IN_IP, ENCAPSULATION_MPLS,
  ENCAPSULATION_VXLAN, formatAddress, TCP_ACK, TCP_PSH, TcpPacket,
} from '../../parser/net/decode-packet.js';
import {
  ascii, concat, erspan2, erspan3, ethernet, fill, fromHex, geneve, gre, ipv4, ipv6, ipv6FragmentHeader, ipv6OptionsHeader, mpls, tcp, u16be, u32be,
  udp, V6_A, V6_B, vxlan,
} from './bytes.js';

const PAYLOAD = ascii('hello, tls');
const SEGMENT = tcp({ sourcePort: 51000, destinationPort: 443, sequence: 0x89abcdef, acknowledgment: 0x01020304, flags: TCP_ACK | TCP_PSH, payload: PAYLOAD });

function decode(linkType: number, data: Uint8Array, originalLength = data.length): { result: DecodeResult; packet: TcpPacket } {
  const packet = new TcpPacket();
  const result = decodeFrame(linkType, data, originalLength, packet);
  return { result, packet };
}

function expectSegment(linkType: number, data: Uint8Array, ipVersion: 4 | 6 = 4): TcpPacket {
  const { result, packet } = decode(linkType, data);
  expect(result).toBe(DecodeResult.Tcp);
  expect(packet.ipVersion).toBe(ipVersion);
  expect(packet.sourcePort).toBe(51000);
  expect(packet.destinationPort).toBe(443);
  expect(packet.sequence).toBe(0x89abcdef);
  expect(packet.acknowledgment).toBe(0x01020304);
  expect(packet.flags).toBe(TCP_ACK | TCP_PSH);
  expect(Buffer.from(packet.payload).toString()).toBe('hello, tls');
  expect(packet.missingPayload).toBe(0);
  expect(formatAddress(packet.source)).toBe(ipVersion === 4 ? '10.0.0.1' : '2001:db8::1');
  expect(formatAddress(packet.destination)).toBe(ipVersion === 4 ? '10.0.0.2' : '2001:db8::2');
  return packet;
}

const V4 = ipv4(SEGMENT);
const V6 = ipv6(SEGMENT);

describe('decodeFrame: link layers', () => {
  it('Ethernet II (LINKTYPE 1) IPv4 and IPv6', () => {
    expectSegment(1, ethernet(0x0800, V4));
    expectSegment(1, ethernet(0x86dd, V6), 6);
  });

  it('a single 802.1Q tag', () => {
    expectSegment(1, ethernet(0x0800, V4, [{ tpid: 0x8100, vid: 42 }]));
  });

  it('QinQ: 802.1ad S-tag (0x88a8) then C-tag (0x8100)', () => {
    expectSegment(1, ethernet(0x86dd, V6, [{ tpid: 0x88a8, vid: 100 }, { tpid: 0x8100, vid: 42 }]), 6);
  });

  it('a VLAN tag cut short is truncated, not misread', () => {
    const frame = concat(fill(12), u16be(0x8100), [0, 42]);
    expect(decode(1, frame).result).toBe(DecodeResult.Truncated);
  });

  it('a non-IP EtherType (ARP) is not TCP', () => {
    expect(decode(1, ethernet(0x0806, fill(28))).result).toBe(DecodeResult.NotTcp);
  });

  it('Linux cooked capture v1 (LINKTYPE 113): protocol at offset 14', () => {
    // packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
    const sll = (proto: number) => concat(u16be(0), u16be(1), u16be(6), [2, 0, 0, 0, 0, 0x0a, 0, 0], u16be(proto));
    expectSegment(113, concat(sll(0x0800), V4));
    expectSegment(113, concat(sll(0x86dd), V6), 6);
  });

  it('Linux cooked capture v2 (LINKTYPE 276): protocol at offset 0, 20-byte header', () => {
    // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) address(8)
    const sll2 = (proto: number) => concat(u16be(proto), u16be(0), u32be(3), u16be(1), [4, 6], [2, 0, 0, 0, 0, 0x0b, 0, 0]);
    expectSegment(276, concat(sll2(0x0800), V4));
    expectSegment(276, concat(sll2(0x86dd), V6), 6);
    expect(decode(276, sll2(0x0800).subarray(0, 19)).result).toBe(DecodeResult.Truncated);
  });

  it('raw IP (LINKTYPE 101, 12, 14): the version nibble decides', () => {
    for (const lt of [101, 12, 14]) {
      expectSegment(lt, V4);
      expectSegment(lt, V6, 6);
    }
  });

  it('LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229)', () => {
    expectSegment(228, V4);
    expectSegment(229, V6, 6);
    // 228 is IPv4 only: an IPv6 packet there is malformed.
    expect(decode(228, V6).result).toBe(DecodeResult.Malformed);
  });

  it('BSD NULL (LINKTYPE 0): host byte order family, 2 = IPv4, 30 = macOS IPv6', () => {
    expectSegment(0, concat([2, 0, 0, 0], V4));
    expectSegment(0, concat([30, 0, 0, 0], V6), 6);
    // Written by a big-endian host.
    expectSegment(0, concat([0, 0, 0, 2], V4));
    expectSegment(0, concat([0, 0, 0, 24], V6), 6);
    expect(decode(0, concat([7, 0, 0, 0], V4)).result).toBe(DecodeResult.NotTcp);
  });

  it('OpenBSD LOOP (LINKTYPE 108): family in network byte order', () => {
    expectSegment(108, concat([0, 0, 0, 2], V4));
    expectSegment(108, concat([0, 0, 0, 24], V6), 6);
    expect(decode(108, concat([2, 0, 0, 0], V4)).result).toBe(DecodeResult.NotTcp);
  });

  it('PPP (LINKTYPE 9) with and without the 0xff 0x03 address/control', () => {
    expectSegment(9, concat([0xff, 0x03], u16be(0x0021), V4));
    expectSegment(9, concat(u16be(0x0021), V4));
    expectSegment(9, concat([0xff, 0x03], u16be(0x0057), V6), 6);
    // Protocol-field compression (RFC 1661 §6.5): one byte 0x21.
    expectSegment(9, concat([0x21], V4));
    expect(decode(9, concat(u16be(0xc021), fill(20))).result).toBe(DecodeResult.NotTcp); // LCP
  });

  it('PPPoE session (EtherType 0x8864) carrying PPP IPv4', () => {
    const pppoe = concat([0x11, 0x00], u16be(0x1234), u16be(2 + V4.length), u16be(0x0021));
    expectSegment(1, ethernet(0x8864, concat(pppoe, V4)));
  });

  it('an unknown link type is reported as unsupported', () => {
    expect(decode(147, V4).result).toBe(DecodeResult.UnsupportedLink);
  });
});

describe('decodeFrame: IPv4', () => {
  it('skips IPv4 options (IHL > 5)', () => {
    // Record Route (7), length 11, pointer 4, two empty slots; pads to 12 bytes → IHL 8.
    const options = Uint8Array.of(7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0);
    const packet = ipv4(SEGMENT, { options });
    expect(packet[0]! & 0x0f).toBe(8);
    expectSegment(101, packet);
  });

  it('a fragment (MF set, or a non-zero offset) is a Fragment, with what reassembly needs', () => {
    const first = decode(101, ipv4(SEGMENT, { flagsAndOffset: 0x2000 }));
    expect(first.result).toBe(DecodeResult.Fragment);
    expect(first.packet).toMatchObject({ fragmentHeaderStart: 0, fragmentHeaderEnd: 20, fragmentNextHeaderAt: -1, fragmentProtocol: 6, fragmentId: 0x1234, fragmentOffset: 0, fragmentMore: true, fragmentLength: SEGMENT.length, payloadStart: 20, payloadEnd: 20 + SEGMENT.length });
    const later = decode(101, ipv4(SEGMENT, { flagsAndOffset: 0x0010 }));
    expect(later.result).toBe(DecodeResult.Fragment);
    expect(later.packet).toMatchObject({ fragmentOffset: 128, fragmentMore: false });
    // DF alone is not a fragment.
    expect(decode(101, ipv4(SEGMENT, { flagsAndOffset: 0x4000 })).result).toBe(DecodeResult.Tcp);
  });

  it('UDP (RFC 768): ports and payload, for the count of TLS over UDP; never a TCP segment', () => {
    const datagram = concat(u16be(50000), u16be(443), u16be(8 + 5), u16be(0), ascii('quic?'));
    for (const [linkType, frame] of [[101, ipv4(datagram, { protocol: 17 })], [1, ethernet(0x86dd, ipv6(datagram, { nextHeader: 17 }))]] as const) {
      const { result, packet } = decode(linkType, frame);
      expect(result).toBe(DecodeResult.Udp);
      expect([packet.sourcePort, packet.destinationPort]).toEqual([50000, 443]);
      expect(Buffer.from(packet.payload).toString()).toBe('quic?');
    }
    // The UDP length bounds the payload (Ethernet padding after it is not payload).
    const padded = decode(1, concat(ethernet(0x0800, ipv4(concat(u16be(1), u16be(2), u16be(9), u16be(0), [0x41]), { protocol: 17 })), fill(20, 0xee)));
    expect(Buffer.from(padded.packet.payload).toString()).toBe('A');
    // A UDP fragment is reassembled (it may carry a tunnel); a header cut short is not followed and not reported.
    expect(decode(101, ipv4(datagram, { protocol: 17, flagsAndOffset: 0x2000 })).result).toBe(DecodeResult.Fragment);
    expect(decode(101, ipv4(datagram.subarray(0, 6), { protocol: 17 })).result).toBe(DecodeResult.NotTcp);
    // Other protocols stay what they were.
    expect(decode(101, ipv4(fill(8), { protocol: 1 })).result).toBe(DecodeResult.NotTcp);
  });

  it('Ethernet padding after a short IPv4 packet is not payload', () => {
    const bare = tcp({ flags: TCP_ACK }); // 20-byte TCP, 40-byte IP, 54-byte frame
    const frame = concat(ethernet(0x0800, ipv4(bare)), fill(6, 0xee)); // padded to 60
    const { result, packet } = decode(1, frame);
    expect(result).toBe(DecodeResult.Tcp);
    expect(packet.payload.length).toBe(0);
    expect(packet.missingPayload).toBe(0);

    const small = tcp({ payload: Uint8Array.of(1, 2) });
    const padded = decode(1, concat(ethernet(0x0800, ipv4(small)), fill(4, 0xee)));
    expect([...padded.packet.payload]).toEqual([1, 2]);
  });

  it('a snaplen cut inside the TCP payload gives missingPayload', () => {
    const big = tcp({ payload: fill(1000, 0x42) });
    const frame = ethernet(0x0800, ipv4(big));
    const captured = frame.subarray(0, 14 + 20 + 20 + 100);
    const { result, packet } = decode(1, captured, frame.length);
    expect(result).toBe(DecodeResult.Tcp);
    expect(packet.payload.length).toBe(100);
    expect(packet.missingPayload).toBe(900);
  });

  it('a snaplen cut inside the TCP header is Truncated', () => {
    const frame = ethernet(0x0800, ipv4(SEGMENT));
    expect(decode(1, frame.subarray(0, 14 + 20 + 10), frame.length).result).toBe(DecodeResult.Truncated);
    expect(decode(1, frame.subarray(0, 14 + 10), frame.length).result).toBe(DecodeResult.Truncated);
  });

  it('a header shorter than 20 bytes on the wire is Malformed, not Truncated', () => {
    expect(decode(101, ipv4(SEGMENT).subarray(0, 12)).result).toBe(DecodeResult.Malformed);
  });

  it('IHL < 5 or a total length below the header is Malformed', () => {
    const bad = ipv4(SEGMENT);
    bad[0] = 0x44;
    expect(decode(101, bad).result).toBe(DecodeResult.Malformed);
    expect(decode(101, ipv4(SEGMENT, { totalLength: 12 })).result).toBe(DecodeResult.Malformed);
  });

  it('a TCP data offset beyond the IP packet is Malformed', () => {
    const seg = tcp();
    seg[12] = 0xf0; // 60-byte header in a 20-byte segment
    expect(decode(101, ipv4(seg)).result).toBe(DecodeResult.Malformed);
  });

  it('TCP options are skipped to find the payload', () => {
    const seg = tcp({ payload: PAYLOAD, options: Uint8Array.of(2, 4, 0x05, 0xb4, 1, 1, 4, 2) });
    const { packet } = decode(101, ipv4(seg));
    expect(Buffer.from(packet.payload).toString()).toBe('hello, tls');
  });

  it('total length 0 (TSO) falls back to the captured length', () => {
    const { result, packet } = decode(101, ipv4(SEGMENT, { totalLength: 0 }));
    expect(result).toBe(DecodeResult.Tcp);
    expect(Buffer.from(packet.payload).toString()).toBe('hello, tls');
  });
});

describe('decodeFrame: IPv6', () => {
  it('walks hop-by-hop and destination options headers to TCP', () => {
    const packet = ipv6(concat(ipv6OptionsHeader(60, 1), ipv6OptionsHeader(6, 2), SEGMENT), { nextHeader: 0 });
    expectSegment(229, packet, 6);
  });

  it('a fragment header gives Fragment, with the Next Header field that names it', () => {
    const plain = decode(229, ipv6(concat(ipv6FragmentHeader(6, 0, true), SEGMENT), { nextHeader: 44 }));
    expect(plain.result).toBe(DecodeResult.Fragment);
    expect(plain.packet).toMatchObject({ fragmentHeaderStart: 0, fragmentHeaderEnd: 40, fragmentNextHeaderAt: 6, fragmentProtocol: 6, fragmentId: 0xdeadbeef, fragmentOffset: 0, fragmentMore: true, fragmentLength: SEGMENT.length });
    const afterOptions = decode(229, ipv6(concat(ipv6OptionsHeader(44, 1), ipv6FragmentHeader(6, 100, false), SEGMENT), { nextHeader: 0 }));
    expect(afterOptions.result).toBe(DecodeResult.Fragment);
    expect(afterOptions.packet).toMatchObject({ fragmentHeaderEnd: 48, fragmentNextHeaderAt: 40, fragmentOffset: 800, fragmentMore: false });
  });

  it('ICMPv6 and No Next Header are not TCP', () => {
    expect(decode(229, ipv6(fill(8), { nextHeader: 58 })).result).toBe(DecodeResult.NotTcp);
    expect(decode(229, ipv6(new Uint8Array(0), { nextHeader: 59 })).result).toBe(DecodeResult.NotTcp);
  });

  it('an extension header running past the payload length is Malformed', () => {
    const hdr = ipv6OptionsHeader(6, 1);
    hdr[1] = 200; // (200+1)*8 bytes
    expect(decode(229, ipv6(concat(hdr, SEGMENT), { nextHeader: 0 })).result).toBe(DecodeResult.Malformed);
  });

  it('Ethernet padding after a short IPv6 packet is not payload', () => {
    const small = tcp({ payload: Uint8Array.of(9) });
    const { packet } = decode(1, concat(ethernet(0x86dd, ipv6(small)), fill(8, 0xee)));
    expect([...packet.payload]).toEqual([9]);
  });

  it('a snaplen cut inside the payload gives missingPayload', () => {
    const frame = ipv6(tcp({ payload: fill(500, 1) }));
    const { result, packet } = decode(229, frame.subarray(0, 40 + 20 + 60), frame.length);
    expect(result).toBe(DecodeResult.Tcp);
    expect(packet.payload.length).toBe(60);
    expect(packet.missingPayload).toBe(440);
  });
});

describe('decodeFrame: tunnels (the connection inside is what is analysed)', () => {
  // The outer headers carry other addresses: the segment found must be the inner one.
  const OUTER = { source: [192, 0, 2, 1], destination: [192, 0, 2, 2] };
  const INNER_PACKET = ipv4(SEGMENT);
  const INNER_FRAME = ethernet(0x0800, INNER_PACKET);
  const overIpv4 = (protocol: number, payload: Uint8Array) => ethernet(0x0800, ipv4(payload, { ...OUTER, protocol }));

  function expectInner(frame: Uint8Array, bits: number, tunnels = 1, ipVersion: 4 | 6 = 4): TcpPacket {
    const packet = expectSegment(1, frame, ipVersion);
    expect(packet.encapsulation).toBe(bits);
    expect(packet.tunnels).toBe(tunnels);
    return packet;
  }

  it('VXLAN (RFC 7348) on UDP 4789, and on Linux\'s default port 8472', () => {
    expectInner(overIpv4(17, udp(vxlan(INNER_FRAME), { destinationPort: 4789 })), ENCAPSULATION_VXLAN);
    expectInner(overIpv4(17, udp(vxlan(INNER_FRAME), { destinationPort: 8472 })), ENCAPSULATION_VXLAN);
    // Over an IPv6 underlay, with a VLAN tag inside.
    expectInner(ethernet(0x86dd, ipv6(udp(vxlan(ethernet(0x0800, INNER_PACKET, [{ tpid: 0x8100, vid: 12 }])), { destinationPort: 4789 }), { nextHeader: 17 })), ENCAPSULATION_VXLAN);
  });

  it('a datagram to port 4789 without the VXLAN I flag, or too short for its header, stays an ordinary UDP datagram', () => {
    const { result, packet } = decode(1, overIpv4(17, udp(vxlan(INNER_FRAME, { flags: 0 }), { destinationPort: 4789 })));
    expect(result).toBe(DecodeResult.Udp);
    expect(packet.destinationPort).toBe(4789);
    expect(packet.encapsulation).toBe(0);
    expect(decode(1, overIpv4(17, udp(Uint8Array.of(8, 0, 0), { destinationPort: 4789 }))).result).toBe(DecodeResult.Udp);
  });

  it('Geneve (RFC 8926) with options, carrying Ethernet or IP', () => {
    expectInner(overIpv4(17, udp(geneve(INNER_FRAME, { options: fill(8, 0x11) }), { destinationPort: 6081 })), ENCAPSULATION_GENEVE);
    expectInner(overIpv4(17, udp(geneve(INNER_PACKET, { protocol: 0x0800 }), { destinationPort: 6081 })), ENCAPSULATION_GENEVE);
    // Only version 0 exists: another is no Geneve header.
    expect(decode(1, overIpv4(17, udp(geneve(INNER_FRAME, { version: 1 }), { destinationPort: 6081 }))).result).toBe(DecodeResult.Udp);
  });

  it('GRE (RFC 2784, 2890) carrying IP, or Ethernet (gretap), with checksum, key and sequence fields', () => {
    expectInner(overIpv4(47, gre(INNER_PACKET, { protocol: 0x0800 })), ENCAPSULATION_GRE);
    expectInner(overIpv4(47, gre(INNER_PACKET, { protocol: 0x0800, checksum: true, key: 7, sequence: 99 })), ENCAPSULATION_GRE);
    expectInner(overIpv4(47, gre(INNER_FRAME, { protocol: 0x6558, key: 1 })), ENCAPSULATION_GRE);
    expectInner(ethernet(0x86dd, ipv6(gre(ipv6(SEGMENT), { protocol: 0x86dd }), { nextHeader: 47 })), ENCAPSULATION_GRE, 1, 6);
    // PPTP's enhanced GRE (version 1) is not followed.
    expect(decode(1, overIpv4(47, gre(INNER_PACKET, { protocol: 0x0800, version: 1 }))).result).toBe(DecodeResult.NotTcp);
  });

  it('ERSPAN type I, II and III (with and without its subheader, Ethernet or IP frames) inside GRE', () => {
    const both = ENCAPSULATION_GRE | ENCAPSULATION_ERSPAN;
    expectInner(overIpv4(47, gre(INNER_FRAME, { protocol: 0x88be })), both);
    expectInner(overIpv4(47, gre(erspan2(INNER_FRAME), { protocol: 0x88be, sequence: 1 })), both);
    expectInner(overIpv4(47, gre(erspan3(INNER_FRAME), { protocol: 0x22eb, sequence: 1 })), both);
    expectInner(overIpv4(47, gre(erspan3(INNER_FRAME, { subheader: true }), { protocol: 0x22eb, sequence: 1 })), both);
    expectInner(overIpv4(47, gre(erspan3(INNER_PACKET, { frameType: 2 }), { protocol: 0x22eb, sequence: 1 })), both);
  });

  it('MPLS (RFC 3032): labels popped to the bottom of the stack; IP, or Ethernet after a control word', () => {
    expectInner(ethernet(0x8847, mpls(INNER_PACKET)), ENCAPSULATION_MPLS);
    expectInner(ethernet(0x8847, mpls(ipv6(SEGMENT), [16])), ENCAPSULATION_MPLS, 1, 6);
    expectInner(ethernet(0x8847, mpls(concat([0, 0, 0, 0], INNER_FRAME))), ENCAPSULATION_MPLS);
    // A stack that never reaches its bottom within the frame.
    const endless = concat(...Array.from({ length: 3 }, () => u32be(100 << 12)));
    expect(decode(1, ethernet(0x8847, endless)).result).toBe(DecodeResult.Truncated);
  });

  it('IP in IP (RFC 2003) and IPv6 in IPv4 (RFC 4213), as IPVS tunnels to its backends', () => {
    expectInner(overIpv4(4, INNER_PACKET), ENCAPSULATION_IP_IN_IP);
    expectInner(overIpv4(41, ipv6(SEGMENT)), ENCAPSULATION_IP_IN_IP, 1, 6);
    expectInner(ethernet(0x86dd, ipv6(INNER_PACKET, { nextHeader: 4 })), ENCAPSULATION_IP_IN_IP);
  });

  it('a tunnel in a tunnel: VXLAN carried in GRE', () => {
    const vxlanPacket = ipv4(udp(vxlan(INNER_FRAME), { destinationPort: 4789 }), { source: [198, 51, 100, 1], destination: [198, 51, 100, 2], protocol: 17 });
    expectInner(overIpv4(47, gre(vxlanPacket, { protocol: 0x0800 })), ENCAPSULATION_GRE | ENCAPSULATION_VXLAN, 2);
  });

  it('tunnels nested beyond reason are Malformed (no recursion without end)', () => {
    let packet = INNER_PACKET;
    for (let i = 0; i < 12; i++) packet = ipv4(packet, { protocol: 4 });
    expect(decode(101, packet).result).toBe(DecodeResult.Malformed);
    let gres = INNER_PACKET;
    for (let i = 0; i < 7; i++) gres = ipv4(gre(gres, { protocol: 0x0800 }), { protocol: 47 });
    expect(decode(101, gres).result).toBe(DecodeResult.Tcp);
  });

  it('a snaplen cut inside the inner payload is missing payload of the inner segment', () => {
    const frame = overIpv4(17, udp(vxlan(ethernet(0x0800, ipv4(tcp({ payload: fill(400, 3) })))), { destinationPort: 4789 }));
    const cut = frame.length - 300;
    const { result, packet } = decode(1, frame.subarray(0, cut), frame.length);
    expect(result).toBe(DecodeResult.Tcp);
    expect(packet.payload.length).toBe(100);
    expect(packet.missingPayload).toBe(300);
  });

  it('a cut inside the inner headers is Truncated; a fragment of a tunnel packet is a Fragment', () => {
    const frame = overIpv4(47, gre(INNER_PACKET, { protocol: 0x0800 }));
    expect(decode(1, frame.subarray(0, 14 + 20 + 4 + 30), frame.length).result).toBe(DecodeResult.Truncated);
    expect(decode(1, ethernet(0x0800, ipv4(gre(INNER_PACKET, { protocol: 0x0800 }), { protocol: 47, flagsAndOffset: 0x2000 }))).result).toBe(DecodeResult.Fragment);
  });

  it('a plain packet has no encapsulation, also after a tunnelled one (the packet object is reused)', () => {
    const packet = new TcpPacket();
    const tunnelled = overIpv4(4, INNER_PACKET);
    decodeFrame(1, tunnelled, tunnelled.length, packet);
    expect(packet.encapsulation).toBe(ENCAPSULATION_IP_IN_IP);
    expect(decodeFrame(1, INNER_FRAME, INNER_FRAME.length, packet)).toBe(DecodeResult.Tcp);
    expect(packet.encapsulation).toBe(0);
    expect(packet.tunnels).toBe(0);
  });
});

describe('formatAddress', () => {
  it('IPv4 dotted quad', () => {
    expect(formatAddress(Uint8Array.of(192, 0, 2, 255))).toBe('192.0.2.255');
  });

  it('RFC 5952 §4: lower case, no leading zeros, longest zero run compressed, first on a tie', () => {
    expect(formatAddress(fromHex('00000000000000000000000000000001'))).toBe('::1');
    expect(formatAddress(new Uint8Array(16))).toBe('::');
    expect(formatAddress(V6_A)).toBe('2001:db8::1');
    expect(formatAddress(V6_B)).toBe('2001:db8::2');
    // 1:0:0:1:0:0:0:1 → the 3-group run wins over the 2-group run.
    expect(formatAddress(fromHex('00010000000000010000000000000001'))).toBe('1:0:0:1::1');
    // Equal runs: the first is compressed (§4.2.3).
    expect(formatAddress(fromHex('20010db8000000000001000000000001'))).toBe('2001:db8::1:0:0:1');
    // A single zero group is not compressed (§4.2.2).
    expect(formatAddress(fromHex('20010db8000000010001000100010001'))).toBe('2001:db8:0:1:1:1:1:1');
    // Trailing run.
    expect(formatAddress(fromHex('fe800000000000000000000000000000'))).toBe('fe80::');
    expect(formatAddress(fromHex('20010DB8ABCD00120000000000000000'))).toBe('2001:db8:abcd:12::');
  });
});
