// scanClientHello (the hot path's one-pass ClientHello reader) against parseClientHello, the
// reference: the same facts and fingerprint key whenever the scan answers, and no answer
// wherever the parser finds the hello malformed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClientHello, parseServerHello } from '../../parser/tls/hello.js';
import { fingerprintKey, scanClientHello, scanServerHello } from '../../parser/tls/hello-scan.js';
import { clientHelloFacts, serverHelloFacts } from '../../parser/session/tls-connection.js';
import { clientHelloBody, concat, ext, extension, fill, HRR_RANDOM, serverHelloBody, u16be, vec } from './bytes.js';

const CAPTURE_DIR = fileURLToPath(new URL('../../fixtures/captures/', import.meta.url));

const FULL_EXTENSIONS = [
  extension(0x0a0a, []),
  ext.serverName('www.example.org'),
  ext.alpn(['h2', 'http/1.1']),
  ext.supportedVersionsClient([0x3a3a, 0x0304, 0x0303]),
  ext.supportedGroups([0x001d, 0x0017]),
  ext.signatureAlgorithms([0x0403, 0x0804]),
  ext.ecPointFormats([0]),
  ext.sessionTicket(fill(200, 0x5e)),
  ext.pskKeyExchangeModes([1]),
  ext.keyShareClient([0x001d]),
  ext.earlyData(),
  ext.extendedMasterSecret(),
  ext.renegotiationInfo(),
  ext.preSharedKeyClient([fill(40, 0xab), fill(3, 0xcd)]),
];

/** What the scan must agree on: the parsed hello's facts (fingerprint aside) and its key. */
function reference(body: Uint8Array): { facts: Record<string, unknown>; key: number } | null {
  const parsed = parseClientHello(body, 0, body.length);
  if (!parsed.ok) return null;
  const { fingerprint: _fingerprint, ...facts } = clientHelloFacts(parsed.value);
  return { facts, key: fingerprintKey(parsed.value) };
}

/** `check` on copies of `seed` cut short and with up to four bytes changed (fast-check property). */
function checkMutations(seed: Uint8Array, check: (body: Uint8Array) => void, randomSeed: number, numRuns = 3000): void {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.nat(seed.length),
    (flips, cut) => {
      const body = seed.slice(0, Math.max(cut, 1));
      for (const [at, value] of flips) if (at < body.length) body[at] = value;
      check(body);
    },
  ), { numRuns, seed: randomSeed });
}

function expectAgreement(body: Uint8Array): void {
  const scan = scanClientHello(body, 0, body.length);
  const ref = reference(body);
  if (ref === null) {
    expect(scan, 'the parser fails: the scan must not answer').toBeNull();
    return;
  }
  if (scan === null) return; // left to the parser: allowed (the caller parses it)
  const { fingerprintKey: key, ...facts } = scan;
  expect(facts).toEqual(ref.facts);
  expect(key).toBe(ref.key);
}

describe('scanClientHello', () => {
  it('reads the facts of a hello with every extension the parser knows', () => {
    const body = clientHelloBody({ sessionId: fill(32, 0x77), cipherSuites: [0x2a2a, 0x1301, 0xc02f], extensions: FULL_EXTENSIONS });
    const scan = scanClientHello(body, 0, body.length)!;
    expect(scan).not.toBeNull();
    expect(scan).toMatchObject({
      legacyVersion: 0x0303, sessionId: '77'.repeat(32), serverName: 'www.example.org', offeredTicket: '5e'.repeat(32),
      offeredPskIdentity: 'ab'.repeat(32), supports13: true,
    });
    expectAgreement(body);
  });

  it('a hello without extensions, an empty ticket extension, no SNI', () => {
    for (const extensions of [null, [], [ext.sessionTicket(new Uint8Array(0))], [ext.alpn([])], [ext.supportedVersionsClient([0x0303])]]) {
      const body = clientHelloBody({ extensions });
      const scan = scanClientHello(body, 0, body.length);
      expect(scan, JSON.stringify(extensions)).not.toBeNull();
      expect(scan!.serverName).toBeNull();
      expect(scan!.offeredTicket).toBeNull();
      expect(scan!.supports13).toBe(false);
      expectAgreement(body);
    }
  });

  it('the key separates what the fingerprint depends on and ignores what it does not', () => {
    const key = (o: Parameters<typeof clientHelloBody>[0]) => {
      const body = clientHelloBody(o);
      return scanClientHello(body, 0, body.length)!.fingerprintKey;
    };
    const base = key({ extensions: FULL_EXTENSIONS });
    expect(key({ extensions: FULL_EXTENSIONS, sessionId: fill(32, 1) })).toBe(base); // session ID: not an input
    expect(key({ extensions: FULL_EXTENSIONS, cipherSuites: [0x1301] })).not.toBe(base);
    expect(key({ extensions: FULL_EXTENSIONS.filter((_, i) => i !== 6) })).not.toBe(base); // ec_point_formats gone
    expect(key({ extensions: [ext.alpn(['http/1.1', 'h2']), ...FULL_EXTENSIONS.filter((_, i) => i !== 2)] })).not.toBe(base);
    expect(key({ extensions: FULL_EXTENSIONS.map((e, i) => (i === 5 ? ext.signatureAlgorithms([0x0804, 0x0403]) : e)) })).not.toBe(base);
    // One TLS stack, one key: what Chromium changes on every connection does not count.
    expect(key({ extensions: FULL_EXTENSIONS.slice(1) })).toBe(base); // a GREASE extension (RFC 8701)
    expect(key({ extensions: [...FULL_EXTENSIONS].reverse() })).toBe(base); // extension order
    expect(key({ extensions: FULL_EXTENSIONS.map((e, i) => (i === 0 ? extension(0x5a5a, []) : e)) })).toBe(base);
    expect(key({ extensions: FULL_EXTENSIONS.map((e, i) => (i === 5 ? ext.signatureAlgorithms([0x7a7a, 0x0403, 0x0804]) : e)) })).toBe(base);
    expect(key({ extensions: FULL_EXTENSIONS.map((e, i) => (i === 3 ? ext.supportedVersionsClient([0x8a8a, 0x0304, 0x0303]) : e)) })).toBe(base);
    expect(key({ extensions: FULL_EXTENSIONS.filter((_, i) => i !== 10) })).toBe(base); // early_data comes and goes
    expect(key({ extensions: FULL_EXTENSIONS, cipherSuites: [0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b] })).toBe(key({ extensions: FULL_EXTENSIONS, cipherSuites: [0x1303, 0x1302, 0xc02b, 0x1301] }));
  });

  it('leaves to the parser a repeated extension of those it keeps', () => {
    for (const extensions of [
      [ext.serverName('a.test'), ext.serverName('b.test')],
      [ext.sessionTicket(fill(4, 1)), ext.sessionTicket(fill(4, 2))],
    ]) {
      const body = clientHelloBody({ extensions });
      expect(scanClientHello(body, 0, body.length)).toBeNull();
      expect(parseClientHello(body, 0, body.length).ok).toBe(true);
    }
  });

  it('reads a name longer than one String.fromCharCode call takes', () => {
    const name = 'x'.repeat(20_000) + '.test';
    const body = clientHelloBody({ extensions: [ext.serverName(name)] });
    expect(scanClientHello(body, 0, body.length)!.serverName).toBe(name);
    expectAgreement(body);
  });

  it('no answer for each malformation the parser rejects', () => {
    const cases: Uint8Array[] = [
      clientHelloBody({ sessionId: fill(33, 1) }), // session_id over 32 bytes
      clientHelloBody().subarray(0, 20), // cut in the random
      concat(u16be(0x0303), fill(32, 0), [0], u16be(10), [0x13, 0x01]), // cipher_suites past the end
      clientHelloBody({ extensions: [extension(0, [0])] }), // server_name list length cut
      clientHelloBody({ extensions: [extension(0, vec(2, concat([0], u16be(50), [0x61])))] }), // host_name past its list
      clientHelloBody({ extensions: [extension(16, [])] }), // ALPN without its list length
      clientHelloBody({ extensions: [extension(16, vec(2, [5, 0x68]))] }), // ALPN name past its list
      clientHelloBody({ extensions: [extension(43, [6, 3, 4])] }), // supported_versions past its extension
      clientHelloBody({ extensions: [extension(10, [0])] }), // supported_groups without its length
      clientHelloBody({ extensions: [extension(13, vec(2, [4, 3]).subarray(0, 3))] }), // signature_algorithms cut
      clientHelloBody({ extensions: [extension(11, [3, 0])] }), // ec_point_formats past its extension
      clientHelloBody({ extensions: [extension(45, [])] }), // psk_key_exchange_modes empty
      clientHelloBody({ extensions: [extension(41, vec(2, concat(vec(2, fill(4, 1)), [0, 0])))] }), // PSK identity without its age
      clientHelloBody({ extensions: [extension(51, vec(2, concat(u16be(0x1d), u16be(32), fill(8, 0))))] }), // key share past its list
      concat(clientHelloBody({ extensions: null }), u16be(40), extension(0, [])), // extensions length past the end
    ];
    for (const body of cases) {
      expect(parseClientHello(body, 0, body.length).ok, Buffer.from(body).toString('hex')).toBe(false);
      expect(scanClientHello(body, 0, body.length), Buffer.from(body).toString('hex')).toBeNull();
    }
  });

  it('agrees with the parser on mutated and cut hellos (property)', () => {
    const seed = clientHelloBody({ sessionId: fill(32, 0x11), cipherSuites: [0x2a2a, 0x1301, 0x1302, 0xc02f], extensions: FULL_EXTENSIONS });
    checkMutations(seed, expectAgreement, 11);
  });

  it('agrees with the parser on generated hellos (property)', () => {
    const extensionArb = fc.oneof(
      fc.domain().map((d) => ext.serverName(d)),
      fc.array(fc.string({ minLength: 0, maxLength: 8 }), { maxLength: 3 }).map((names) => ext.alpn(names)),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 5 }).map((v) => ext.supportedVersionsClient(v)),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 5 }).map((v) => ext.signatureAlgorithms(v)),
      fc.uint8Array({ maxLength: 60 }).map((t) => ext.sessionTicket(t)),
      fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 3 }).map((ids) => ext.preSharedKeyClient(ids)),
      fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 12 })).map(([type, data]) => extension(type, data)),
    );
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 32 }), fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 }), fc.array(extensionArb, { maxLength: 10 }),
      (sessionId, cipherSuites, extensions) => {
        expectAgreement(clientHelloBody({ sessionId, cipherSuites, extensions }));
      },
    ), { numRuns: 2000, seed: 5 });
  });
});

/** The scan and the parser on one ServerHello: the same facts, or no answer where the parser fails. */
function expectServerAgreement(body: Uint8Array): void {
  const scan = scanServerHello(body, 0, body.length);
  const parsed = parseServerHello(body, 0, body.length);
  if (!parsed.ok) {
    expect(scan, 'the parser fails: the scan must not answer').toBeNull();
    return;
  }
  if (scan !== null) expect(scan).toEqual(serverHelloFacts(parsed.value));
}

const SERVER_EXTENSIONS = [
  ext.supportedVersionsServer(0x0304), ext.keyShareServer(0x001d), ext.preSharedKeyServer(0), ext.alpn(['h2']),
  ext.sessionTicket(new Uint8Array(0)), ext.extendedMasterSecret(), extension(0xff01, [0]),
];

describe('scanServerHello', () => {
  it('reads a TLS 1.3 ServerHello, a TLS 1.2 one and a HelloRetryRequest', () => {
    const tls13 = serverHelloBody({ sessionId: fill(32, 9), cipherSuite: 0x1301, extensions: SERVER_EXTENSIONS });
    expect(scanServerHello(tls13, 0, tls13.length)).toEqual({
      legacyVersion: 0x0303, selectedVersion: 0x0304, sessionId: '09'.repeat(32), cipherSuite: 0x1301, pskAccepted: true, alpn: 'h2', helloRetryRequest: false,
    });
    const tls12 = serverHelloBody({ extensions: null });
    expect(scanServerHello(tls12, 0, tls12.length)).toMatchObject({ selectedVersion: 0, pskAccepted: false, alpn: null, sessionId: '' });
    const retry = serverHelloBody({ random: HRR_RANDOM, extensions: [ext.supportedVersionsServer(0x0304), extension(51, u16be(0x17))] });
    expect(scanServerHello(retry, 0, retry.length)!.helloRetryRequest).toBe(true);
    // RFC 7301 §3.1 allows the server one name; a list of two keeps the first, as the parser does.
    const twoNames = serverHelloBody({ extensions: [ext.alpn(['h2', 'http/1.1'])] });
    expect(scanServerHello(twoNames, 0, twoNames.length)!.alpn).toBe('h2');
    for (const body of [tls13, tls12, retry, twoNames]) expectServerAgreement(body);
  });

  it('no answer for each malformation the parser rejects; a repeated ALPN is left to the parser', () => {
    const cases = [
      serverHelloBody({ sessionId: fill(33, 1) }),
      serverHelloBody().subarray(0, 36),
      serverHelloBody({ extensions: [extension(43, [3])] }), // selected_version cut
      serverHelloBody({ extensions: [extension(51, [0])] }), // key share group cut
      serverHelloBody({ extensions: [extension(16, vec(2, [4, 0x68, 0x32]))] }), // ALPN name past its list
      concat(serverHelloBody({ extensions: null }), u16be(9), [0, 1]), // extensions past the end
    ];
    for (const body of cases) {
      expect(parseServerHello(body, 0, body.length).ok).toBe(false);
      expect(scanServerHello(body, 0, body.length)).toBeNull();
    }
    const twice = serverHelloBody({ extensions: [ext.alpn(['h2']), ext.alpn(['http/1.1'])] });
    expect(scanServerHello(twice, 0, twice.length)).toBeNull();
    expect(parseServerHello(twice, 0, twice.length).ok).toBe(true);
  });

  it('agrees with the parser on mutated and cut ServerHellos (property)', () => {
    const seed = serverHelloBody({ sessionId: fill(32, 3), cipherSuite: 0x1302, extensions: SERVER_EXTENSIONS });
    checkMutations(seed, expectServerAgreement, 13);
  });
});

/**
 * The hellos real stacks sent in the recorded captures (Chromium, curl, OpenSSL s_client, Node,
 * nginx, OpenSSL s_server): each whole handshake message that sits in one TLS record (RFC 8446
 * §5.1) found in the capture's bytes. Their extension sets (GREASE, ECH, padding, compressed
 * certificates, PSK with binders) are what the crafted seeds above only approximate.
 */
function realHelloBodies(type: 1 | 2, sources = new Map<string, Set<string>>()): Map<string, Uint8Array> {
  const bodies = new Map<string, Uint8Array>();
  for (const name of readdirSync(CAPTURE_DIR).filter((f) => /\.pcap(ng)?$/.test(f)).sort()) {
    const bytes = new Uint8Array(readFileSync(join(CAPTURE_DIR, name)));
    for (let at = 0; at + 9 < bytes.length; at++) {
      if (bytes[at] !== 0x16 || bytes[at + 1] !== 0x03 || bytes[at + 2]! > 0x04 || bytes[at + 5] !== type) continue;
      const recordLength = (bytes[at + 3]! << 8) | bytes[at + 4]!;
      const messageLength = (bytes[at + 6]! << 16) | (bytes[at + 7]! << 8) | bytes[at + 8]!;
      if (messageLength + 4 > recordLength || at + 9 + messageLength > bytes.length) continue;
      const body = bytes.slice(at + 9, at + 9 + messageLength);
      const parsed = type === 1 ? parseClientHello(body, 0, body.length) : parseServerHello(body, 0, body.length);
      if (!parsed.ok) continue; // the pattern matched inside other data
      // One seed per shape, from the first capture that has it: a ClientHello by what its
      // fingerprint reads (one per stack), a ServerHello by its length (version, suite, extensions).
      const shape = type === 1 ? fingerprintKey((parsed as ReturnType<typeof parseClientHello> & { ok: true }).value) : body.length;
      if (!bodies.has(String(shape))) bodies.set(String(shape), body);
      const from = sources.get(String(shape)) ?? new Set<string>();
      sources.set(String(shape), from.add(name));
    }
  }
  return bodies;
}

describe('scan and parser on the hellos of real TLS stacks', () => {
  const clientSources = new Map<string, Set<string>>();
  const clientHellos = realHelloBodies(1, clientSources);
  const serverHellos = realHelloBodies(2);

  it('finds hellos of each stack recorded (Chromium, curl, s_client, Node; nginx and s_server)', () => {
    expect(clientHellos.size).toBeGreaterThanOrEqual(8);
    expect(serverHellos.size).toBeGreaterThanOrEqual(12);
    const captures = new Set([...clientSources.values()].flatMap((names) => [...names]));
    // Chromium, curl, s_client offering TLS 1.3, Node.
    for (const capture of ['chromium-nginx-hrr.pcap', 'nginx-curl-resume.pcap', 'nginx-tls13-early-data.pcap', 'tls12-alert-purge.pcap']) {
      expect([...captures], capture).toContain(capture);
    }
  });

  it('the scan answers for every one, with the parser\'s facts', () => {
    for (const [where, body] of clientHellos) {
      expect(scanClientHello(body, 0, body.length), where).not.toBeNull();
      expectAgreement(body);
    }
    for (const [where, body] of serverHellos) {
      expect(scanServerHello(body, 0, body.length), where).not.toBeNull();
      expectServerAgreement(body);
    }
  });

  it('agrees with the parser on them mutated and cut (property)', () => {
    let seed = 101;
    for (const body of clientHellos.values()) checkMutations(body, expectAgreement, seed++, 1000);
    for (const body of serverHellos.values()) checkMutations(body, expectServerAgreement, seed++, 500);
  });
});
