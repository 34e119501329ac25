// Which UDP payloads count as TLS over UDP (parser/net/udp-tls.ts): QUIC long headers (RFC 8999
// §5.1, RFC 9000 §17.2, RFC 9369) and DTLS records (RFC 6347 §4.1), and what must not count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyUdpPayload, UdpTls } from '../../parser/net/udp-tls.js';
import { concat, fill, u16be, u32be } from './bytes.js';

const classify = (bytes: Uint8Array) => classifyUdpPayload(bytes, 0, bytes.length);

/** A QUIC long-header packet: first byte, version, the two connection IDs, then the rest. */
function longHeader(first: number, version: number, destination: Uint8Array, source: Uint8Array, rest = fill(1200)): Uint8Array {
  return concat([first], u32be(version), [destination.length], destination, [source.length], source, rest);
}

/** A DTLS record header (type, version, epoch, 48-bit sequence, length) and its fragment. */
function dtlsRecord(type: number, minor: number, fragment: Uint8Array): Uint8Array {
  return concat([type, 254, minor], u16be(0), fill(6), u16be(fragment.length), fragment);
}

describe('classifyUdpPayload', () => {
  it('QUIC v1 and v2 Initial, Handshake, 0-RTT and Retry packets, and draft versions', () => {
    for (const first of [0xc0, 0xc3, 0xd1, 0xe2, 0xf0]) expect(classify(longHeader(first, 1, fill(8, 1), fill(0)))).toBe(UdpTls.QuicHandshake);
    expect(classify(longHeader(0xd0, 0x6b3343cf, fill(20, 2), fill(20, 3)))).toBe(UdpTls.QuicHandshake);
    expect(classify(longHeader(0xc0, 0xff00001d, fill(8, 1), fill(8, 1)))).toBe(UdpTls.QuicHandshake);
    // A server's Handshake packet can be short; the connection IDs must fit.
    expect(classify(longHeader(0xe0, 1, fill(4), fill(4), fill(0)))).toBe(UdpTls.QuicHandshake);
  });

  it('not QUIC: short headers, unknown versions, connection IDs over 20 bytes or past the end, RTP, DNS', () => {
    expect(classify(concat([0x40], fill(40, 7)))).toBe(UdpTls.None); // short header: nothing to check it by
    expect(classify(longHeader(0xc0, 0, fill(8), fill(8)))).toBe(UdpTls.None); // version negotiation
    expect(classify(longHeader(0xc0, 0x1a2a3a4a, fill(8), fill(8)))).toBe(UdpTls.None); // a greased version
    expect(classify(longHeader(0x80, 1, fill(8), fill(8)))).toBe(UdpTls.None); // fixed bit 0
    expect(classify(longHeader(0xc0, 1, fill(21), fill(8)))).toBe(UdpTls.None);
    expect(classify(longHeader(0xc0, 1, fill(8), fill(21)))).toBe(UdpTls.None);
    expect(classify(longHeader(0xc0, 1, fill(8), fill(8), fill(0)).subarray(0, 20))).toBe(UdpTls.None); // source ID cut
    expect(classify(concat([0x80, 0x60], u16be(1234), u32be(160), u32be(0xdeadbeef), fill(160)))).toBe(UdpTls.None); // RTP v2
    expect(classify(concat(u16be(0xc0de), u16be(0x0100), u16be(1), u16be(0), u16be(0), u16be(0), fill(20)))).toBe(UdpTls.None); // DNS query
    expect(classify(fill(6, 0xc0))).toBe(UdpTls.None);
  });

  it('DTLS 1.0 and 1.2 records (DTLS 1.3 hellos use the 1.2 form); not a record whose length runs past the datagram', () => {
    expect(classify(dtlsRecord(22, 253, fill(60, 1)))).toBe(UdpTls.Dtls);
    expect(classify(dtlsRecord(22, 255, fill(60, 1)))).toBe(UdpTls.Dtls);
    expect(classify(dtlsRecord(23, 253, fill(30)))).toBe(UdpTls.Dtls);
    expect(classify(dtlsRecord(22, 253, fill(60, 1)).subarray(0, 50))).toBe(UdpTls.None);
    expect(classify(dtlsRecord(22, 3, fill(60, 1)))).toBe(UdpTls.None); // TLS's version, not DTLS's
    expect(classify(dtlsRecord(30, 253, fill(60, 1)))).toBe(UdpTls.None);
  });

  it('reads only bytes[start, end)', () => {
    const datagram = longHeader(0xc0, 1, fill(8, 1), fill(8, 1), fill(0));
    const inFrame = concat(fill(30, 0xaa), datagram, fill(30, 0xbb));
    expect(classifyUdpPayload(inFrame, 30, 30 + datagram.length)).toBe(UdpTls.QuicHandshake);
    expect(classifyUdpPayload(inFrame, 30, 30 + datagram.length - 1)).toBe(UdpTls.None);
  });

  it('any bytes: an answer from bytes[start, end) alone, whatever surrounds them (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (inner, before, after) => {
      const framed = concat(before, inner, after);
      expect(classifyUdpPayload(framed, before.length, before.length + inner.length)).toBe(classify(inner));
    }), { numRuns: 3000, seed: 21 });
  });

  it('every well-formed QUIC v1/v2 long header counts, with any connection IDs up to 20 bytes (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 63 }), fc.constantFrom(1, 0x6b3343cf), fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 30 }),
      (low, version, destination, source, rest) => {
        expect(classify(longHeader(0xc0 | low, version, destination, source, rest))).toBe(UdpTls.QuicHandshake);
      },
    ), { numRuns: 2000, seed: 22 });
  });
});
