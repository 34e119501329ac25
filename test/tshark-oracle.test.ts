/**
 * Proves that the recorded captures in fixtures/captures/ are what
 * PROVENANCE.md and test/support/fixture-facts.ts say they are, using tshark
 * (an independent TLS dissector) as the oracle.
 *
 * tshark (Debian package "tshark") is required: `npm test` installs it.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsharkAvailable, tsharkConnectionFacts, type TsharkConnection } from './support/tshark.js';
import {
  FIXTURE_FACTS,
  FIXTURE_FILES,
  FIXTURE_SNI,
  outcomeLabel,
  type ExpectedConnection,
  type ExpectedFile,
} from './support/fixture-facts.js';

const CAPTURES = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));
const PROVENANCE = join(CAPTURES, 'PROVENANCE.md');
// Small enough to read in a review and keep in git; the diagnosis scenarios (30-37 connections,
// each full handshake with its certificate) need ~85 KB.
const MAX_FIXTURE_BYTES = 96 * 1024;
const files = Object.keys(FIXTURE_FACTS);

// tshark is the oracle: `npm test` (test/run-all.sh) installs it, so its absence is a failure.
const haveTshark = tsharkAvailable();

/** `### name` sections of PROVENANCE.md → section text. */
function provenanceSections(): Map<string, string> {
  const text = readFileSync(PROVENANCE, 'utf8');
  const sections = new Map<string, string>();
  const parts = text.split(/^### +/m).slice(1);
  for (const part of parts) {
    const nl = part.indexOf('\n');
    const title = part.slice(0, nl).trim().replace(/`/g, '');
    sections.set(title, part.slice(nl + 1));
  }
  return sections;
}

/** Rows `| 0 | TLS 1.2 | outcome |` of a section's connection table. */
function provenanceRows(section: string): { stream: number; version: string; outcome: string }[] {
  const rows: { stream: number; version: string; outcome: string }[] = [];
  for (const line of section.split('\n')) {
    const m = /^\|\s*(\d+)\s*\|\s*(TLS 1\.\d)\s*\|\s*([^|]+?)\s*\|/.exec(line);
    if (m) rows.push({ stream: Number(m[1]), version: m[2]!, outcome: m[3]! });
  }
  return rows;
}

/** Capture format and link type read from the file header. */
function captureHeader(path: string): { format: ExpectedFile['format']; linkType: number } {
  const b = readFileSync(path);
  const magicLE = b.readUInt32LE(0);
  const magicBE = b.readUInt32BE(0);
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    return { format: magicLE === 0xa1b23c4d ? 'pcap-ns' : 'pcap', linkType: b.readUInt32LE(20) & 0x0fffffff };
  }
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) {
    return { format: magicBE === 0xa1b23c4d ? 'pcap-ns' : 'pcap', linkType: b.readUInt32BE(20) & 0x0fffffff };
  }
  if (magicLE === 0x0a0d0d0a) {
    const le = b.readUInt32LE(8) === 0x1a2b3c4d;
    const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u16 = (o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    let off = u32(4); // skip the Section Header Block
    while (off + 12 <= b.length) {
      if (u32(off) === 1) return { format: 'pcapng', linkType: u16(off + 8) };
      off += u32(off + 4);
    }
    throw new Error(`${path}: pcapng without Interface Description Block`);
  }
  throw new Error(`${path}: unknown capture format`);
}

describe('fixtures/captures inventory', () => {
  it('every capture file is listed in fixture-facts and PROVENANCE.md, and vice versa', () => {
    const onDisk = readdirSync(CAPTURES)
      .filter((f) => /\.(pcap|pcapng)$/.test(f))
      .sort();
    expect(onDisk).toEqual([...files].sort());
    expect(Object.keys(FIXTURE_FILES).sort()).toEqual([...files].sort());
    const sections = provenanceSections();
    for (const f of files) expect(sections.has(f), `PROVENANCE.md has a "### ${f}" section`).toBe(true);
    // Session keys (an NSS key log) sit beside the capture they decrypt, and its section says so.
    for (const keys of readdirSync(CAPTURES).filter((f) => f.endsWith('.keys'))) {
      const capture = files.find((f) => f.replace(/\.pcap(ng)?$/, '.keys') === keys);
      expect(capture, `${keys} belongs to a capture`).toBeDefined();
      expect(sections.get(capture!)).toContain(keys);
      expect(readFileSync(join(CAPTURES, keys), 'utf8')).toMatch(/^(CLIENT_RANDOM|CLIENT_HANDSHAKE_TRAFFIC_SECRET) [0-9a-f]{64} [0-9a-f]+$/m);
    }
  });

  for (const file of files) {
    it(`${file}: header, size and PROVENANCE.md table match fixture-facts`, () => {
      const path = join(CAPTURES, file);
      expect(statSync(path).size).toBeLessThan(MAX_FIXTURE_BYTES);
      const want = FIXTURE_FILES[file]!;
      expect(captureHeader(path)).toEqual({ format: want.format, linkType: want.linkType });

      const section = provenanceSections().get(file)!;
      const rows = provenanceRows(section);
      const facts = FIXTURE_FACTS[file]!;
      expect(rows.map((r) => r.stream)).toEqual(facts.map((_, i) => i));
      expect(rows.map((r) => `${r.version}: ${r.outcome}`)).toEqual(
        facts.map((c) => `${c.version}: ${outcomeLabel(c)}`),
      );
    });
  }
});

/**
 * The fields of a tshark connection that an ExpectedConnection pins down
 * (`want` only to map a RST to 'either' where the table allows both sides).
 */
function observed(c: TsharkConnection, want: ExpectedConnection | undefined): ExpectedConnection {
  const o: ExpectedConnection = {
    resumed: c.resumed,
    version: c.version as ExpectedConnection['version'],
    offered: c.resumptionOffered,
  };
  if (c.resumedBy) o.resumedBy = c.resumedBy;
  if (c.helloRetry) o.helloRetry = true;
  if (c.rstBy) o.rstBy = want?.rstBy === 'either' ? 'either' : c.rstBy;
  if (c.clientGaveUp) o.clientGaveUp = c.clientGaveUp;
  if (c.serverRefused) o.serverRefused = c.serverRefused;
  // A health check is known by its missing SNI (its PROXY LOCAL header: the crosscheck holds it to tshark's proxy.v2.cmd).
  if (want?.healthCheck && c.sni === null) o.healthCheck = true;
  return o;
}

describe('tshark oracle: fixtures are what they claim', () => {
  for (const file of files) {
    it(`${file}`, () => {
      const path = join(CAPTURES, file);
      const want = FIXTURE_FACTS[file]!;
      const meta = FIXTURE_FILES[file]!;
      // Each fixture's server port is decoded as TLS (tshark's heuristic misses some handshakes there).
      // A fixture recorded with its session keys kept is decrypted: what the encrypted records hide shows.
      const keylog = path.replace(/\.pcap(ng)?$/, '.keys');
      const conns = tsharkConnectionFacts(path, { tlsPorts: [meta.serverPort], ...(existsSync(keylog) ? { keylog } : {}) });

      // Outcome of every connection, in TCP stream order.
      expect(conns.map((c, i) => observed(c, want[i]))).toEqual(want);
      expect(conns.map((c) => c.tcpStream)).toEqual(want.map((_, i) => i));

      for (const [i, c] of conns.entries()) {
        const w = want[i]!;
        const where = `${file} stream ${c.tcpStream}`;
        expect(c.sni, where).toBe(w.healthCheck ? null : FIXTURE_SNI);
        expect(c.server.port, where).toBe(meta.serverPort);
        expect(c.client.port, where).not.toBe(meta.serverPort);
        const addresses = meta.serverAddresses ?? [meta.ipVersion === 6 ? '::1' : '127.0.0.1'];
        expect(c.server.ip, where).toBe(addresses[i % addresses.length]);
        expect(c.clientHelloCount, where).toBe(w.helloRetry ? 2 : 1);
        expect(c.serverHelloCount, where).toBe(w.helloRetry ? 2 : 1);
        expect(c.cipher, where).toMatch(/^TLS_[A-Z0-9_]+$/);
        expect(c.cipherId, where).not.toBeNull();

        if (c.version === 'TLS 1.3') {
          // Resumption in TLS 1.3 is only ever by PSK; the legacy session ID
          // is the middlebox-compat echo and says nothing.
          expect(c.pskAccepted, where).toBe(w.resumed);
          expect(c.abbreviatedHandshake, where).toBe(false);
          expect(c.serverSessionId, where).toBe(c.offeredSessionId);
        } else {
          // TLS 1.2: both resumption signals agree with each other.
          expect(c.abbreviatedHandshake, where).toBe(w.resumed);
          expect(c.serverCertificateSeen, where).toBe(!w.resumed);
          if (w.resumed) expect(c.serverSessionId, where).toBe(c.offeredSessionId);
          else if (c.offeredSessionId !== null) expect(c.serverSessionId, where).not.toBe(c.offeredSessionId);
          if (w.resumedBy === 'ticket') expect(c.ticketOffered, where).toBe(true);
          if (w.resumedBy === 'session-id') expect(c.ticketOffered, where).toBe(false);
        }
      }
    });
  }

  it('scenario details', () => {
    const f = (name: string): TsharkConnection[] => tsharkConnectionFacts(join(CAPTURES, name), { tlsPorts: [FIXTURE_FILES[name]!.serverPort] });
    // ALPN is visible in a TLS 1.2 ServerHello.
    expect(f('tls12-full.pcap')[0]!.alpn).toBe('http/1.1');
    expect(f('nginx-curl-resume.pcap').map((c) => c.alpn)).toEqual(['http/1.1', 'http/1.1', 'http/1.1']);
    // With tickets enabled the TLS 1.2 server issues a NewSessionTicket and,
    // in OpenSSL, an empty session ID; without, no ticket and a session ID.
    const [t0, t1] = f('tls12-ticket-resume.pcapng');
    expect(t0!.ticketIssued).toBe(true);
    expect(t0!.serverSessionId).toBeNull();
    expect(t1!.ticketOffered).toBe(true);
    const sid = f('tls12-session-id-resume.pcap');
    expect(sid.every((c) => !c.ticketIssued)).toBe(true);
    expect(new Set(sid.map((c) => c.serverSessionId)).size).toBe(1);
    // After the restart the old session ID is offered and a new one issued.
    const [r0, r1] = f('tls12-rejected-after-restart.pcap');
    expect(r1!.offeredSessionId).toBe(r0!.serverSessionId);
    expect(r1!.serverSessionId).not.toBe(r0!.serverSessionId);
    // The RST-aborted connection and the one after it offer the same session.
    const rst = f('tls12-rst-after-server-hello.pcap');
    expect(rst[1]!.offeredSessionId).toBe(rst[0]!.serverSessionId);
    expect(rst[2]!.offeredSessionId).toBe(rst[0]!.serverSessionId);
    // TLS 1.3 PSK offer.
    const [p0, p1] = f('tls13-psk-resume.pcap');
    expect(p0!.pskOffered).toBe(false);
    expect(p1!.pskOffered).toBe(true);
    expect(p1!.clientOffersTls13).toBe(true);
  });
});

describe('tshark availability', () => {
  it('tshark is installed (the Debian package "tshark")', () => {
    expect(haveTshark).toBe(true);
  });
});
