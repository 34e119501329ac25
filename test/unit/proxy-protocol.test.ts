// The PROXY protocol header (HAProxy's specification, haproxy.org/download/2.6/doc/proxy-protocol.txt:
// §2.1 version 1, a text line; §2.2 version 2, binary) before the TLS of a load balancer's connection.
import { describe, expect, it } from 'vitest';
import { MAX_PROXY_HEADER, parseProxyHeader } from '../../parser/net/proxy-protocol.js';
import { TlsStream, type TlsStreamListener } from '../../parser/tls/tls-stream.js';
import type { Endpoint } from '../../parser/report/types.js';
import { ascii, clientHelloBody, concat, CT, ext, fill, fromHex, handshake, HS, splitAt, tlsRecord, u16be } from './bytes.js';

const SIGNATURE = fromHex('0d0a0d0a000d0a515549540a');

/** §2.2: version 2, `command` (0 LOCAL, 1 PROXY), family and transport, addresses (+ TLVs). */
function v2(command: number, familyTransport: number, body: Uint8Array): Uint8Array {
  return concat(SIGNATURE, [0x20 | command, familyTransport], u16be(body.length), body);
}
const V2_TCP4 = v2(1, 0x11, concat([192, 0, 2, 7], [198, 51, 100, 1], u16be(56324), u16be(443)));
const V2_TCP6 = v2(1, 0x21, concat(fromHex('20010db8000000000000000000000007'), fromHex('20010db8000000000000000000000001'), u16be(40000), u16be(443)));

describe('parseProxyHeader', () => {
  it('version 1 (§2.1): TCP4 and TCP6 lines give the client; IPv6 written as every address is (RFC 5952)', () => {
    const line = ascii('PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n');
    expect(parseProxyHeader(concat(line, [0x16]), 0, line.length + 1)).toEqual({ kind: 'header', version: 1, end: line.length, source: { ip: '192.0.2.7', port: 56324 }, local: false });
    const six = ascii('PROXY TCP6 2001:0DB8:0:0::7 2001:db8::1 40000 443\r\n');
    expect(parseProxyHeader(six, 0, six.length)).toEqual({ kind: 'header', version: 1, end: six.length, source: { ip: '2001:db8::7', port: 40000 }, local: false });
  });

  it('version 1: UNKNOWN names no client, but is a header to read past', () => {
    const line = ascii('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n');
    // §2.1: UNKNOWN is what a proxy sends for its own connections (health checks).
    expect(parseProxyHeader(line, 0, line.length)).toEqual({ kind: 'header', version: 1, end: line.length, source: null, local: true });
  });

  it('version 1: a line that is not the protocol\'s is no header', () => {
    for (const text of ['PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n', 'PROXY TCP4 192.0.2.300 198.51.100.1 1 2\r\n', 'PROXY TCP4 192.0.2.7 198.51.100.1 99999 443\r\n',
      'PROXY TCP6 1::2::3 ::1 1 2\r\n', 'PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n', 'GET / HTTP/1.1\r\n', `PROXY ${'x'.repeat(120)}\r\n`]) {
      const bytes = ascii(text);
      expect(parseProxyHeader(bytes, 0, bytes.length).kind, text).toBe('none');
    }
  });

  it('version 2 (§2.2): IPv4 and IPv6 over TCP give the client; TLVs after the addresses are skipped', () => {
    expect(parseProxyHeader(V2_TCP4, 0, V2_TCP4.length)).toEqual({ kind: 'header', version: 2, end: 28, source: { ip: '192.0.2.7', port: 56324 }, local: false });
    expect(parseProxyHeader(V2_TCP6, 0, V2_TCP6.length)).toEqual({ kind: 'header', version: 2, end: 52, source: { ip: '2001:db8::7', port: 40000 }, local: false });
    // PP2_TYPE_AUTHORITY (0x02) "example.com" after the IPv4 addresses.
    const withTlv = v2(1, 0x11, concat([192, 0, 2, 7], [198, 51, 100, 1], u16be(56324), u16be(443), [0x02], u16be(11), ascii('example.com')));
    expect(parseProxyHeader(withTlv, 0, withTlv.length)).toEqual({ kind: 'header', version: 2, end: withTlv.length, source: { ip: '192.0.2.7', port: 56324 }, local: false });
  });

  it('version 2: LOCAL (a health check), UDP and UNIX name no TCP client', () => {
    // Only LOCAL is the balancer's own connection; UDP and UNIX clients are clients of another kind.
    for (const [header, local] of [[v2(0, 0x00, new Uint8Array(0)), true], [v2(1, 0x12, concat(fill(12, 1))), false], [v2(1, 0x31, fill(216, 0x61)), false]] as const) {
      const r = parseProxyHeader(header, 0, header.length);
      expect(r).toEqual({ kind: 'header', version: 2, end: header.length, source: null, local });
    }
  });

  it('a header cut anywhere asks for more bytes; other first bytes are no header', () => {
    for (const header of [V2_TCP4, ascii('PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n')]) {
      for (let cut = 1; cut < header.length; cut++) expect(parseProxyHeader(header, 0, cut).kind, `cut at ${cut}`).toBe('incomplete');
    }
    expect(parseProxyHeader(ascii('PRIX'), 0, 4).kind).toBe('none');
    expect(parseProxyHeader(Uint8Array.of(0x16, 3, 1), 0, 3).kind).toBe('none');
    expect(parseProxyHeader(concat(SIGNATURE.subarray(0, 5), [0x99]), 0, 6).kind).toBe('none');
  });

  it('version 2 with another version nibble, or longer than followed, is no header', () => {
    const wrongVersion = Uint8Array.from(V2_TCP4);
    wrongVersion[12] = 0x11;
    expect(parseProxyHeader(wrongVersion, 0, wrongVersion.length).kind).toBe('none');
    const huge = concat(SIGNATURE, [0x21, 0x11], u16be(MAX_PROXY_HEADER));
    expect(parseProxyHeader(huge, 0, huge.length).kind).toBe('none');
  });
});

describe('TlsStream after a PROXY header', () => {
  const CH_BODY = clientHelloBody({ extensions: [ext.serverName('example.com')] });
  const CH_RECORD = tlsRecord(CT.handshake, handshake(HS.clientHello, CH_BODY), 0x0301);

  function run(chunks: Uint8Array[]): { proxies: (Endpoint | null)[]; hellos: string[]; stream: TlsStream } {
    const proxies: (Endpoint | null)[] = [];
    const hellos: string[] = [];
    const listener: TlsStreamListener = {
      onHandshakeMessage: (_s, type, bytes, start, end) => { if (type === HS.clientHello) hellos.push(Buffer.from(bytes.subarray(start, end)).toString('hex')); },
      onSslv2ClientHello: () => {},
      onChangeCipherSpec: () => {},
      onAlert: () => {},
      onEncryptedRecord: () => {},
      onStreamTrouble: () => {},
      onProxyHeader: (_s, source) => proxies.push(source),
    };
    const stream = new TlsStream(0, listener);
    chunks.forEach((c, i) => stream.push(c, i, i + 1));
    return { proxies, hellos, stream };
  }
  const hello = Buffer.from(CH_BODY).toString('hex');

  it('in its own segment (as HAProxy sends it), then the ClientHello', () => {
    const r = run([V2_TCP4, CH_RECORD]);
    expect(r.proxies).toEqual([{ ip: '192.0.2.7', port: 56324 }]);
    expect(r.hellos).toEqual([hello]);
  });

  it('split anywhere across segments, header and hello in one stream', () => {
    for (const header of [V2_TCP4, V2_TCP6, ascii('PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n')]) {
      const whole = concat(header, CH_RECORD);
      for (let cut = 1; cut < whole.length; cut += 7) {
        const r = run(splitAt(whole, [cut]));
        expect(r.proxies.length, `cut at ${cut}`).toBe(1);
        expect(r.hellos, `cut at ${cut}`).toEqual([hello]);
      }
    }
  });

  it('only at the start of the stream: a PROXY line later in the stream is not one', () => {
    const r = run([ascii('hello\r\n'), ascii('PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n'), CH_RECORD]);
    expect(r.proxies).toEqual([]);
    expect(r.hellos).toEqual([hello]);
  });

  it('a stream of only a header ends without TLS and without trouble', () => {
    const r = run([V2_TCP4]);
    expect(r.proxies.length).toBe(1);
    expect(r.stream.isTls).toBe(false);
  });
});
