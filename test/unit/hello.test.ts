// Hello parsers: ClientHello (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2), ServerHello
// (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3), extensions (RFC 6066 §3, RFC 7301 §3.1,
// RFC 5077 §3.2, RFC 8446 §4.2, RFC 7627, RFC 5746), NewSessionTicket (RFC 5077 §3.3).
import { describe, expect, it } from 'vitest';
import {
  isGrease, parseClientHello, parseNewSessionTicket12, parseServerHello, versionName, type ClientHello, type ServerHello,
} from '../../parser/tls/hello.js';
import {
  ascii, clientHelloBody, concat, ext, extension, fill, HRR_RANDOM, serverHelloBody, u16be, u32be, vec,
} from './bytes.js';

function ch(body: Uint8Array): ClientHello {
  const r = parseClientHello(body, 0, body.length);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
function sh(body: Uint8Array): ServerHello {
  const r = parseServerHello(body, 0, body.length);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const FULL_EXTENSIONS = [
  extension(0x0a0a, []), // GREASE first, as Chrome does (RFC 8701)
  ext.serverName('www.example.org'),
  ext.alpn(['h2', 'http/1.1']),
  ext.supportedVersionsClient([0x3a3a, 0x0304, 0x0303]),
  ext.supportedGroups([0x001d, 0x0017, 0x0018]),
  ext.signatureAlgorithms([0x0403, 0x0804, 0x0401]),
  ext.ecPointFormats([0]),
  ext.sessionTicket(new Uint8Array(0)),
  ext.pskKeyExchangeModes([1]),
  ext.keyShareClient([0x001d, 0x0017]),
  ext.earlyData(),
  ext.extendedMasterSecret(),
  ext.renegotiationInfo(),
  ext.preSharedKeyClient([fill(40, 0xab), fill(3, 0xcd)]), // must be last (RFC 8446 §4.2.11)
];

describe('parseClientHello', () => {
  it('reads every extension it knows', () => {
    const body = clientHelloBody({ sessionId: fill(32, 0x77), cipherSuites: [0x2a2a, 0x1301, 0x1302, 0xc02f], extensions: FULL_EXTENSIONS });
    const hello = ch(body);
    expect(hello.legacyVersion).toBe(0x0303);
    expect(hello.sessionId).toBe('77'.repeat(32));
    expect(hello.cipherSuites).toEqual([0x2a2a, 0x1301, 0x1302, 0xc02f]);
    expect(hello.compressionMethods).toEqual([0]);
    expect(hello.extensions).toEqual([0x0a0a, 0, 16, 43, 10, 13, 11, 35, 45, 51, 42, 23, 0xff01, 41]);
    expect(hello.serverName).toBe('www.example.org');
    expect(hello.alpn).toEqual(['h2', 'http/1.1']);
    expect(hello.supportedVersions).toEqual([0x3a3a, 0x0304, 0x0303]);
    expect(hello.supportedGroups).toEqual([0x001d, 0x0017, 0x0018]);
    expect(hello.signatureAlgorithms).toEqual([0x0403, 0x0804, 0x0401]);
    expect(hello.ecPointFormats).toEqual([0]);
    expect(hello.sessionTicketLength).toBe(0);
    expect(hello.sessionTicketPrefix).toBe('');
    // Identities are hex, shortened to 32 bytes.
    expect(hello.pskIdentities).toEqual(['ab'.repeat(32), 'cdcdcd']);
    expect(hello.pskKeyExchangeModes).toEqual([1]);
    expect(hello.keyShareGroups).toEqual([0x001d, 0x0017]);
    expect(hello.earlyData).toBe(true);
    expect(hello.extendedMasterSecret).toBe(true);
    expect(hello.renegotiationInfo).toBe(true);
    expect(hello.sslv2Compatible).toBe(false);
  });

  it('a non-empty session ticket gives its length and a 32-byte prefix', () => {
    const ticket = Uint8Array.from({ length: 180 }, (_, i) => i);
    const hello = ch(clientHelloBody({ extensions: [ext.sessionTicket(ticket)] }));
    expect(hello.sessionTicketLength).toBe(180);
    expect(hello.sessionTicketPrefix).toBe(Buffer.from(ticket.subarray(0, 32)).toString('hex'));
  });

  it('without extensions: defaults (no ticket extension is -1, not 0)', () => {
    const hello = ch(clientHelloBody({ extensions: null }));
    expect(hello.extensions).toEqual([]);
    expect(hello.serverName).toBeNull();
    expect(hello.sessionTicketLength).toBe(-1);
    expect(hello.earlyData).toBe(false);
    expect(hello.sessionId).toBe('');
  });

  it('respects the start/end window (body inside a larger buffer)', () => {
    const body = clientHelloBody({ extensions: [ext.serverName('a.example')] });
    const buffer = concat(fill(7, 0xee), body, fill(9, 0xee));
    const r = parseClientHello(buffer, 7, 7 + body.length);
    expect(r.ok && r.value.serverName).toBe('a.example');
  });

  it('the first host_name wins; an empty server_name extension (server echo form) is fine', () => {
    const two = extension(0, vec(2, concat([0], vec(2, ascii('one.example')), [0], vec(2, ascii('two.example')))));
    expect(ch(clientHelloBody({ extensions: [two] })).serverName).toBe('one.example');
    expect(ch(clientHelloBody({ extensions: [extension(0, [])] })).serverName).toBeNull();
  });

  describe('malformed input gives {ok:false} with a message, never a throw', () => {
    const good = clientHelloBody({ sessionId: fill(32, 1), extensions: FULL_EXTENSIONS });

    it('every truncation of a valid ClientHello', () => {
      let failures = 0;
      for (let end = 0; end < good.length; end++) {
        const r = parseClientHello(good, 0, end);
        // Cut exactly after the compression methods, a hello without extensions is valid.
        if (!r.ok) {
          failures++;
          expect(r.error).toMatch(/^ClientHello: .+/);
        }
      }
      expect(failures).toBeGreaterThan(good.length - 5);
    });

    it('session_id longer than 32', () => {
      const body = concat(u16be(0x0303), fill(32), [33], fill(33), u16be(2), u16be(0x1301), [1, 0]);
      const r = parseClientHello(body, 0, body.length);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain('session_id length 33');
    });

    it('cipher_suites length overruns the message', () => {
      const body = concat(u16be(0x0303), fill(32), [0], u16be(0x1000), u16be(0x1301));
      const r = parseClientHello(body, 0, body.length);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain('cipher_suites');
    });

    it('an extension length overruns the extensions block', () => {
      const body = clientHelloBody({ extensions: [concat(u16be(0), u16be(500), fill(4))] });
      const r = parseClientHello(body, 0, body.length);
      expect(r.ok).toBe(false);
    });

    it('an SNI list length overruns its extension', () => {
      const body = clientHelloBody({ extensions: [extension(0, concat(u16be(200), [0], u16be(3), ascii('abc')))] });
      const r = parseClientHello(body, 0, body.length);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain('server_name_list');
    });

    it('an ALPN name length overruns the list', () => {
      const body = clientHelloBody({ extensions: [extension(16, vec(2, concat([10], ascii('h2'))))] });
      expect(parseClientHello(body, 0, body.length).ok).toBe(false);
    });

    it('a PSK identity overruns the identities', () => {
      const body = clientHelloBody({ extensions: [extension(41, concat(u16be(6), u16be(50), fill(4)))] });
      expect(parseClientHello(body, 0, body.length).ok).toBe(false);
    });

    it('a key share overruns client_shares', () => {
      const body = clientHelloBody({ extensions: [extension(51, vec(2, concat(u16be(0x1d), u16be(99), fill(4))))] });
      expect(parseClientHello(body, 0, body.length).ok).toBe(false);
    });

    it('the extensions block overruns the message', () => {
      const body = concat(clientHelloBody({ extensions: null }), u16be(40), fill(4));
      expect(parseClientHello(body, 0, body.length).ok).toBe(false);
    });

    it('random bytes never throw', () => {
      let seed = 42;
      for (let trial = 0; trial < 300; trial++) {
        const body = good.slice();
        for (let k = 0; k < 4; k++) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          body[seed % body.length] = seed >>> 8;
        }
        expect(() => parseClientHello(body, 0, body.length)).not.toThrow();
        expect(() => parseServerHello(body, 0, body.length)).not.toThrow();
      }
    });
  });
});

describe('parseServerHello', () => {
  it('TLS 1.2 ServerHello with session id, ALPN, EMS and an empty session ticket extension', () => {
    const hello = sh(serverHelloBody({
      sessionId: fill(32, 0x44), cipherSuite: 0xc02f,
      extensions: [ext.alpn(['h2']), ext.extendedMasterSecret(), ext.sessionTicket(new Uint8Array(0)), ext.renegotiationInfo()],
    }));
    expect(hello.legacyVersion).toBe(0x0303);
    expect(hello.sessionId).toBe('44'.repeat(32));
    expect(hello.cipherSuite).toBe(0xc02f);
    expect(hello.compressionMethod).toBe(0);
    expect(hello.alpn).toBe('h2');
    expect(hello.extendedMasterSecret).toBe(true);
    expect(hello.sessionTicketExtension).toBe(true);
    expect(hello.helloRetryRequest).toBe(false);
    expect(hello.selectedVersion).toBe(0);
    expect(hello.pskAccepted).toBe(false);
    expect(hello.extensions).toEqual([16, 23, 35, 0xff01]);
  });

  it('TLS 1.3 ServerHello: supported_versions, key_share, pre_shared_key', () => {
    const hello = sh(serverHelloBody({
      sessionId: fill(32, 0x99), cipherSuite: 0x1301,
      extensions: [ext.supportedVersionsServer(0x0304), ext.keyShareServer(0x001d), ext.preSharedKeyServer(0)],
    }));
    expect(hello.selectedVersion).toBe(0x0304);
    expect(hello.keyShareGroup).toBe(0x001d);
    expect(hello.pskAccepted).toBe(true);
    expect(hello.helloRetryRequest).toBe(false);
  });

  it('detects the HelloRetryRequest random (RFC 8446 §4.1.3)', () => {
    // HRR key_share carries only the selected group (§4.2.8).
    const hrr = sh(serverHelloBody({ random: HRR_RANDOM, cipherSuite: 0x1301, extensions: [ext.supportedVersionsServer(0x0304), extension(51, u16be(0x0017))] }));
    expect(hrr.helloRetryRequest).toBe(true);
    expect(hrr.keyShareGroup).toBe(0x0017);
    // One bit different: an ordinary ServerHello.
    const random = HRR_RANDOM.slice();
    random[31] ^= 1;
    expect(sh(serverHelloBody({ random })).helloRetryRequest).toBe(false);
    // The TLS 1.2/1.1 downgrade sentinels are not HRR either.
    expect(sh(serverHelloBody({ random: concat(fill(24), ascii('DOWNGRD'), [1]) })).helloRetryRequest).toBe(false);
  });

  it('no extensions block (TLS 1.0 style)', () => {
    const hello = sh(serverHelloBody({ version: 0x0301, extensions: null }));
    expect(hello.legacyVersion).toBe(0x0301);
    expect(hello.extensions).toEqual([]);
  });

  it('truncations give {ok:false}, never a throw', () => {
    const good = serverHelloBody({ sessionId: fill(32, 1), extensions: [ext.supportedVersionsServer(0x0304), ext.keyShareServer(0x1d)] });
    for (let end = 0; end < good.length; end++) {
      const r = parseServerHello(good, 0, end);
      // Cut right after compression_method: a valid hello without extensions. (The
      // parser also tolerates one stray byte there: it reads extensions only when
      // at least the 2-byte length is present.)
      const afterCompression = 2 + 32 + 1 + 32 + 2 + 1;
      expect(r.ok).toBe(end === afterCompression || end === afterCompression + 1);
      if (!r.ok) expect(r.error).toMatch(/^ServerHello: /);
    }
  });

  it('an empty supported_versions in a ServerHello is malformed', () => {
    const r = parseServerHello(...whole(serverHelloBody({ extensions: [extension(43, [])] })));
    expect(r.ok).toBe(false);
  });
});

describe('parseNewSessionTicket12', () => {
  it('reads the lifetime hint and ticket', () => {
    const ticket = fill(100, 0x5e);
    const body = concat(u32be(7200), vec(2, ticket));
    const r = parseNewSessionTicket12(body, 0, body.length);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.lifetimeHint).toBe(7200);
    expect(r.value.ticketPrefix).toBe('5e'.repeat(32));
    expect(r.value.ticketLength).toBe(100);
  });

  it('an overlong ticket length is malformed', () => {
    const body = concat(u32be(1), u16be(50), fill(10));
    expect(parseNewSessionTicket12(body, 0, body.length).ok).toBe(false);
  });
});

describe('isGrease and versionName', () => {
  it('isGrease matches exactly the 16 RFC 8701 values', () => {
    const grease = [];
    for (let v = 0; v < 0x10000; v++) if (isGrease(v)) grease.push(v);
    expect(grease).toEqual(Array.from({ length: 16 }, (_, i) => ((i << 4) | 0x0a) * 0x101));
    expect(isGrease(0x0a1a)).toBe(false);
    expect(isGrease(0x1301)).toBe(false);
  });

  it('versionName', () => {
    expect(versionName(0x0300)).toBe('SSL 3.0');
    expect(versionName(0x0301)).toBe('TLS 1.0');
    expect(versionName(0x0302)).toBe('TLS 1.1');
    expect(versionName(0x0303)).toBe('TLS 1.2');
    expect(versionName(0x0304)).toBe('TLS 1.3');
    expect(versionName(0x0002)).toBe('SSL 2.0');
    expect(versionName(0x7f17)).toBe('TLS 1.3 (draft 23)');
    expect(versionName(0)).toBeNull();
    expect(versionName(0xfefd)).toBe('0xfefd');
  });
});

function whole(b: Uint8Array): [Uint8Array, number, number] {
  return [b, 0, b.length];
}
