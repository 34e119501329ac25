// TLS record framing (RFC 5246 §6.2.1, RFC 8446 §5.1) and handshake message
// assembly (RFC 5246 §7.4: messages may span records, records may hold several).
import { describe, expect, it } from 'vitest';
import { parseClientHello, parseSslv2ClientHello } from '../../parser/tls/hello.js';
import { TlsStream, type TlsStreamListener } from '../../parser/tls/tls-stream.js';
import {
  ascii, bytewise, ccsRecord, clientHelloBody, clientHelloRecord, concat, CT, encryptedRecord, ext, fill, handshake, HS,
  serverHelloRecord, splitAt, tlsRecord, u16be,
} from './bytes.js';

type Ev =
  | { ev: 'hs'; type: number; body: string; frame: number }
  | { ev: 'v2'; body: string }
  | { ev: 'ccs' }
  | { ev: 'alert'; level: number; description: number }
  | { ev: 'enc'; type: number }
  | { ev: 'cut'; type: number }
  | { ev: 'trouble'; kind: string; code: string };

function recorder(): { listener: TlsStreamListener; events: Ev[] } {
  const events: Ev[] = [];
  const listener: TlsStreamListener = {
    onHandshakeMessage: (_s, type, bytes, start, end, _t, frame) => events.push({ ev: 'hs', type, body: Buffer.from(bytes.subarray(start, end)).toString('hex'), frame }),
    onSslv2ClientHello: (_s, bytes, start, end) => events.push({ ev: 'v2', body: Buffer.from(bytes.subarray(start, end)).toString('hex') }),
    onChangeCipherSpec: () => events.push({ ev: 'ccs' }),
    onAlert: (_s, level, description) => events.push({ ev: 'alert', level, description }),
    onEncryptedRecord: (_s, type) => events.push({ ev: 'enc', type }),
    onHandshakeMessageCut: (_s, type) => events.push({ ev: 'cut', type }),
    onStreamTrouble: (_s, kind, code) => events.push({ ev: 'trouble', kind, code }),
  };
  return { listener, events };
}

function run(chunks: Uint8Array[]): { stream: TlsStream; events: Ev[] } {
  const { listener, events } = recorder();
  const stream = new TlsStream(0, listener);
  chunks.forEach((c, i) => stream.push(c, i, i + 1));
  return { stream, events };
}

const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');
const CH_BODY = clientHelloBody({ sessionId: fill(32, 0x33), extensions: [ext.serverName('example.com'), ext.alpn(['h2'])] });
const CH_RECORD = tlsRecord(CT.handshake, handshake(HS.clientHello, CH_BODY), 0x0301);

describe('TlsStream', () => {
  it('parses a ClientHello record delivered in one piece', () => {
    const { stream, events } = run([CH_RECORD]);
    expect(events).toEqual([{ ev: 'hs', type: 1, body: hx(CH_BODY), frame: 1 }]);
    expect(stream.isTls).toBe(true);
    expect(stream.sawTls).toBe(true);
    expect(stream.gaveUp).toBe(false);
  });

  it('reads ranges of larger buffers (frames) and nothing outside them, detection included', () => {
    const { listener, events } = recorder();
    const stream = new TlsStream(0, listener);
    const split = 9;
    // Bytes around each range look like TLS records: reading past a range would show.
    const noise = tlsRecord(CT.handshake, handshake(HS.serverHello, fill(40, 1)));
    const first = concat(noise, CH_RECORD.subarray(0, split), noise);
    stream.push(first, 0, 1, noise.length, noise.length + split);
    const second = concat(noise, noise, CH_RECORD.subarray(split), noise);
    stream.push(second, 1, 2, 2 * noise.length, 2 * noise.length + CH_RECORD.length - split);
    expect(events).toEqual([{ ev: 'hs', type: 1, body: hx(CH_BODY), frame: 2 }]);
    // A stream that starts with a few bytes before its first record, again from inside a buffer.
    const late = recorder();
    const other = new TlsStream(0, late.listener);
    const withPrefix = concat(ascii('CONNECT x:443\r\n\r\n'), CH_RECORD);
    const framed = concat(noise, withPrefix, noise);
    other.push(framed, 0, 1, noise.length, noise.length + withPrefix.length);
    expect(late.events).toEqual([{ ev: 'hs', type: 1, body: hx(CH_BODY), frame: 1 }]);
    // A range of plain text followed, outside it, by bytes that look like a record: still detecting.
    const plain = recorder();
    const third = new TlsStream(0, plain.listener);
    third.push(concat(ascii('hello, plain text here'), noise), 0, 1, 0, 22);
    expect(third.isTls).toBe(false);
    third.push(CH_RECORD, 1, 2);
    expect(plain.events).toEqual([{ ev: 'hs', type: 1, body: hx(CH_BODY), frame: 2 }]);
  });

  it('a record split across many pushes (one byte at a time) gives the same message', () => {
    const flight = concat(CH_RECORD, ccsRecord(), encryptedRecord(CT.handshake, 40));
    const { events } = run(bytewise(flight));
    const hs = events.filter((e) => e.ev === 'hs');
    expect(hs).toHaveLength(1);
    expect((hs[0] as { body: string }).body).toBe(hx(CH_BODY));
    // The message completes with its last byte: the frame of that byte.
    expect((hs[0] as { frame: number }).frame).toBe(CH_RECORD.length);
    expect(events.filter((e) => e.ev !== 'hs')).toEqual([{ ev: 'ccs' }]);
  });

  it('two handshake messages in one record', () => {
    const cert = handshake(HS.certificate, fill(300, 0x30));
    const done = handshake(HS.serverHelloDone, []);
    const sh = serverHelloRecord();
    const { events } = run([concat(sh, tlsRecord(CT.handshake, concat(cert, done)))]);
    expect(events.map((e) => (e.ev === 'hs' ? e.type : e.ev))).toEqual([2, 11, 14]);
    // Bodies of messages not needed (Certificate) are skipped, not buffered.
    expect((events[1] as { body: string }).body).toBe('');
  });

  it('one ClientHello spread across two records', () => {
    const message = handshake(HS.clientHello, CH_BODY);
    const records = concat(tlsRecord(CT.handshake, message.subarray(0, 40), 0x0301), tlsRecord(CT.handshake, message.subarray(40)));
    const { events } = run([records]);
    expect(events).toEqual([{ ev: 'hs', type: 1, body: hx(CH_BODY), frame: 1 }]);
    // Also when the message header itself is split between the records, once TLS was found.
    const after = run([concat(serverHelloRecord(), tlsRecord(CT.handshake, message.subarray(0, 2)), tlsRecord(CT.handshake, message.subarray(2)))]);
    expect(after.events.map((e) => (e.ev === 'hs' ? e.type : e.ev))).toEqual([2, 1]);
  });

  it('finds a ClientHello fragmented into tiny records (first record < 4 bytes, as DPI-evasion tools send)', () => {
    // RFC 8446 §5.1 / RFC 5246 §6.2.1: a handshake message may be split over any
    // number of non-empty records. Tools that dodge SNI filtering send 1-3 byte records.
    const message = handshake(HS.clientHello, CH_BODY);
    const records = concat(
      tlsRecord(CT.handshake, message.subarray(0, 2), 0x0301),
      tlsRecord(CT.handshake, message.subarray(2, 5)),
      tlsRecord(CT.handshake, message.subarray(5)),
    );
    const { events, stream } = run([records]);
    expect(stream.isTls).toBe(true);
    expect(events).toEqual([{ ev: 'hs', type: 1, body: hx(CH_BODY), frame: 1 }]);
  });

  it('finds TLS after an HTTP CONNECT response (not at byte 0)', () => {
    const proxy = ascii('HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\n');
    const { events, stream } = run([concat(proxy, serverHelloRecord())]);
    expect(events.map((e) => (e.ev === 'hs' ? e.type : e.ev))).toEqual([2]);
    expect(stream.isTls).toBe(true);
    // Also when the start of the record straddles pushes.
    const split = run(splitAt(concat(proxy, CH_RECORD), [proxy.length + 2, proxy.length + 4]));
    expect(split.events).toEqual([{ ev: 'hs', type: 1, body: hx(CH_BODY), frame: 3 }]);
  });

  it('finds TLS after a preamble delivered byte by byte', () => {
    const { events } = run(bytewise(concat(ascii('SSH?no\r\n'), CH_RECORD)));
    expect(events.filter((e) => e.ev === 'hs')).toHaveLength(1);
  });

  it('gives up on a stream with no TLS in the first 16 KiB', () => {
    const line = ascii('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
    const chunks: Uint8Array[] = [];
    for (let total = 0; total < 17000; total += line.length) chunks.push(line);
    const { stream, events } = run(chunks);
    expect(stream.gaveUp).toBe(true);
    expect(stream.isTls).toBe(false);
    expect(stream.sawTls).toBe(false);
    // A ClientHello after giving up is not looked at.
    stream.push(CH_RECORD, 0, 99);
    expect(events).toEqual([]);
  });

  it('does not give up before 16 KiB', () => {
    const { stream, events } = run([fill(16000, 0x41), CH_RECORD]);
    expect(stream.gaveUp).toBe(false);
    expect(events).toHaveLength(1);
  });

  describe('SSL 2.0 compatible ClientHello (RFC 5246 Appendix E.2)', () => {
    // msg_type 1, version 0x0301, cipher_spec_length 9, session_id_length 16, challenge_length 16
    const specs = concat([0x00, 0x00, 0x2f], [0x01, 0x00, 0x80] /* SSL2_RC4_128_WITH_MD5 */, [0x00, 0x00, 0x35]);
    const sessionId = fill(16, 0x5a);
    const challenge = fill(16, 0xc7);
    const body = concat([1], u16be(0x0301), u16be(specs.length), u16be(sessionId.length), u16be(challenge.length), specs, sessionId, challenge);
    const record = concat(u16be(0x8000 | body.length), body);

    it('is detected and parsed (session id, TLS cipher suites only)', () => {
      const { events, stream } = run([record]);
      expect(events).toEqual([{ ev: 'v2', body: hx(body) }]);
      expect(stream.isTls).toBe(true);
      const v2 = events[0] as { body: string };
      const bytes = Buffer.from(v2.body, 'hex');
      const parsed = parseSslv2ClientHello(bytes, 0, bytes.length);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.value.sslv2Compatible).toBe(true);
      expect(parsed.value.legacyVersion).toBe(0x0301);
      expect(parsed.value.cipherSuites).toEqual([0x002f, 0x0035]);
      expect(parsed.value.sessionId).toBe('5a'.repeat(16));
    });

    it('TLS records that follow it are parsed', () => {
      const { events } = run([concat(record, tlsRecord(CT.alert, [2, 40]))]);
      expect(events.map((e) => e.ev)).toEqual(['v2', 'alert']);
    });

    it('is parsed when its record spans two TCP segments', () => {
      const { events } = run(splitAt(record, [20]));
      expect(events).toEqual([{ ev: 'v2', body: hx(body) }]);
    });

    it('a cipher_spec_length that is not a multiple of 3 is rejected, not thrown', () => {
      const bad = concat([1], u16be(0x0301), u16be(4), u16be(0), u16be(16), fill(4), fill(16));
      const parsed = parseSslv2ClientHello(bad, 0, bad.length);
      expect(parsed.ok).toBe(false);
    });
  });

  it('a gap inside a record body keeps the record framing', () => {
    const { listener, events } = recorder();
    const stream = new TlsStream(1, listener);
    const app = encryptedRecord(CT.applicationData, 100);
    stream.push(serverHelloRecord(), 0, 1);
    stream.push(app.subarray(0, 30), 0, 2);
    stream.gap(50, 3); // bytes 30..79 of the application data record lost
    stream.push(app.subarray(80), 0, 4);
    stream.push(tlsRecord(CT.alert, [1, 0]), 0, 5);
    expect(events).toEqual([
      { ev: 'hs', type: 2, body: expect.any(String), frame: 1 },
      { ev: 'trouble', kind: 'gap', code: 'tcp-gap-in-record' },
      { ev: 'enc', type: 23 },
      { ev: 'alert', level: 1, description: 0 },
    ]);
    expect(stream.gaveUp).toBe(false);
  });

  it('a hello that lost bytes in a gap is reported incomplete, not parsed', () => {
    const { listener, events } = recorder();
    const stream = new TlsStream(0, listener);
    stream.push(CH_RECORD.subarray(0, 50), 0, 1);
    stream.gap(10, 2);
    stream.push(CH_RECORD.subarray(60), 0, 3);
    expect(events.map((e) => ('code' in e ? e.code : e.ev))).toEqual(['tcp-gap-in-record', 'tls-message-incomplete']);
  });

  it('after a gap inside a handshake message, the next record\'s messages are still framed', () => {
    // Server flight: ServerHello in one record (bytes lost inside it), then
    // Certificate + ServerHelloDone in the next. The hole is inside the ServerHello
    // message, so the handshake layer must skip it too and resume at the next record.
    const { listener, events } = recorder();
    const stream = new TlsStream(1, listener);
    const sh = serverHelloRecord({ sessionId: fill(32, 1) });
    stream.push(sh.subarray(0, 20), 0, 1);
    stream.gap(30, 2);
    stream.push(sh.subarray(50), 0, 3);
    stream.push(tlsRecord(CT.handshake, concat(handshake(HS.certificate, fill(64, 0x30)), handshake(HS.serverHelloDone, []))), 0, 4);
    expect(events.filter((e) => e.ev === 'hs').map((e) => (e as { type: number }).type)).toEqual([11, 14]);
    expect(events.filter((e) => e.ev === 'trouble').map((e) => (e as { code: string }).code)).toEqual(['tcp-gap-in-record', 'tls-message-incomplete']);
  });

  it('a gap across a record header stops parsing this direction', () => {
    const { listener, events } = recorder();
    const stream = new TlsStream(0, listener);
    stream.push(CH_RECORD, 0, 1);
    stream.push(ccsRecord().subarray(0, 3), 0, 2);
    stream.gap(10, 3);
    expect(stream.gaveUp).toBe(true);
    stream.push(tlsRecord(CT.alert, [2, 40]), 0, 4);
    expect(events.map((e) => ('code' in e ? `${e.kind}:${e.code}` : e.ev))).toEqual(['hs', 'gap:tcp-gap-lost-sync']);
  });

  it('a gap longer than the rest of the record loses sync', () => {
    const { listener, events } = recorder();
    const stream = new TlsStream(0, listener);
    stream.push(CH_RECORD.subarray(0, 30), 0, 1);
    stream.gap(CH_RECORD.length, 2);
    expect(stream.gaveUp).toBe(true);
    expect(events.map((e) => ('code' in e ? e.code : e.ev))).toEqual(['tcp-gap-lost-sync']);
  });

  describe("cut by the snap length (each segment's first bytes captured, the rest not)", () => {
    const SH_RECORD = serverHelloRecord({ sessionId: fill(32, 0x44) });
    const CERT_RECORD = tlsRecord(CT.handshake, handshake(HS.certificate, fill(900, 7)));
    const labels = (events: Ev[]) => events.map((e) => (e.ev === 'trouble' ? `${e.kind}:${e.code}` : e.ev === 'cut' || e.ev === 'enc' ? `${e.ev}:${e.type}` : e.ev));

    it('a hello cut inside its record is reported as sent, and the framing holds for the next segment', () => {
      const { listener, events } = recorder();
      const stream = new TlsStream(0, listener);
      stream.push(CH_RECORD.subarray(0, 30), 0, 1);
      stream.gap(CH_RECORD.length - 30, 1, 'snaplen');
      expect(stream.recordsMissed).toBe(false);
      stream.push(ccsRecord(), 0, 2);
      expect(labels(events)).toEqual(['truncated:tcp-gap-in-record', 'truncated:tls-message-incomplete', 'cut:1', 'ccs']);
      expect(stream.recordsStarted).toBe(2);
      expect(stream.bytesSeen).toBe(CH_RECORD.length + ccsRecord().length);
    });

    it('a cut across record boundaries waits for a segment that starts with a record, skipping one that does not', () => {
      const { listener, events } = recorder();
      const stream = new TlsStream(1, listener);
      const flight = concat(SH_RECORD, CERT_RECORD);
      stream.push(flight.subarray(0, 30), 0, 1);
      stream.gap(flight.length - 30, 1, 'snaplen');
      expect(stream.gaveUp).toBe(false);
      expect(stream.recordsMissed).toBe(true);
      // The next segment starts inside a record (its bytes do not look like a header): skipped.
      stream.push(fill(40, 0x99), 0, 2);
      // This one starts with a record: read again.
      stream.push(concat(ccsRecord(), tlsRecord(CT.alert, [2, 40])), 0, 3);
      expect(labels(events)).toEqual(['truncated:tls-message-incomplete', 'cut:2', 'truncated:tcp-gap-lost-sync', 'ccs', 'alert']);
    });

    it("an encrypted record whose header the cut left is counted as sent (a Finished)", () => {
      const { listener, events } = recorder();
      const stream = new TlsStream(0, listener);
      stream.push(CH_RECORD, 0, 1);
      stream.encrypting = true; // after its ChangeCipherSpec
      const flight = concat(encryptedRecord(CT.handshake, 40), encryptedRecord(CT.applicationData, 200));
      stream.push(flight.subarray(0, 20), 0, 2);
      stream.gap(flight.length - 20, 2, 'snaplen');
      expect(labels(events)).toEqual(['hs', 'enc:22', 'truncated:tcp-gap-lost-sync']);
    });

    it('a lost segment (not the snap length) still stops parsing, and reports no cut message', () => {
      const { listener, events } = recorder();
      const stream = new TlsStream(1, listener);
      const flight = concat(SH_RECORD, CERT_RECORD);
      stream.push(flight.subarray(0, 30), 0, 1);
      stream.gap(flight.length - 30, 1, 'lost');
      stream.push(ccsRecord(), 0, 2);
      expect(stream.gaveUp).toBe(true);
      expect(labels(events)).toEqual(['gap:tcp-gap-lost-sync']);
    });
  });

  it('a gap before TLS was found keeps looking', () => {
    const { listener, events } = recorder();
    const stream = new TlsStream(0, listener);
    stream.push(ascii('junk'), 0, 1);
    stream.gap(100, 2);
    stream.push(CH_RECORD, 0, 3);
    expect(events.map((e) => e.ev)).toEqual(['hs']);
  });

  it('a bad record header is a malformed trouble report and stops parsing', () => {
    const { stream, events } = run([concat(CH_RECORD, [0x99, 0x03, 0x03, 0x00, 0x05], fill(5), tlsRecord(CT.alert, [2, 40]))]);
    expect(events.map((e) => ('code' in e ? `${e.kind}:${e.code}` : e.ev))).toEqual(['hs', 'malformed:tls-bad-record']);
    expect(stream.gaveUp).toBe(true);
  });

  it('a record longer than 2^14 + 2048 + 256 is a bad record header', () => {
    const { events } = run([concat(CH_RECORD, [23, 3, 3], u16be(0x4a00))]);
    expect(events.map((e) => ('code' in e ? e.code : e.ev))).toEqual(['hs', 'tls-bad-record']);
  });

  it('after its CCS a side is encrypting: its handshake records are reported as encrypted', () => {
    const { listener, events } = recorder();
    const stream = new TlsStream(0, listener);
    stream.push(concat(CH_RECORD, ccsRecord()), 0, 1);
    stream.encrypting = true; // what the connection does on CCS in TLS 1.2
    stream.push(concat(encryptedRecord(CT.handshake, 40), encryptedRecord(CT.alert, 26), encryptedRecord(CT.applicationData, 10)), 0, 2);
    expect(events.map((e) => (e.ev === 'enc' ? `enc${e.type}` : e.ev))).toEqual(['hs', 'ccs', 'enc22', 'enc21', 'enc23']);
  });

  it('a clear alert gives level and description', () => {
    const { events } = run([concat(CH_RECORD, tlsRecord(CT.alert, [2, 70]))]);
    expect(events[1]).toEqual({ ev: 'alert', level: 2, description: 70 });
  });

  it('an alert record that cannot be clear (longer than two bytes, or a level other than 1 and 2) is no alert', () => {
    // The change of cipher was lost (snap length): an encrypted alert's first bytes are no level.
    const { events } = run([concat(CH_RECORD, tlsRecord(CT.alert, fill(26, 0xbf)), tlsRecord(CT.alert, [0xbf, 0xf3]), tlsRecord(CT.alert, [1, 0]))]);
    expect(events.filter((e) => e.ev === 'alert')).toEqual([{ ev: 'alert', level: 1, description: 0 }]);
    // The same two bytes split over two pushes are still one clear alert.
    const { listener, events: split } = recorder();
    const stream = new TlsStream(0, listener);
    const alert = tlsRecord(CT.alert, [2, 40]);
    stream.push(concat(CH_RECORD, alert.subarray(0, 6)), 0, 1);
    stream.push(alert.subarray(6), 0, 2);
    expect(split.filter((e) => e.ev === 'alert')).toEqual([{ ev: 'alert', level: 2, description: 40 }]);
  });

  it('sanity: the ClientHello body built here parses', () => {
    const parsed = parseClientHello(CH_BODY, 0, CH_BODY.length);
    expect(parsed.ok && parsed.value.serverName).toBe('example.com');
    expect(clientHelloRecord().length).toBeGreaterThan(40);
  });
});
