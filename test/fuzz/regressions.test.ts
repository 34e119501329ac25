// Every bug the fuzz found, as a test on its fixture (fixtures/regressions/, one README line
// each). UPDATE_REGRESSIONS=1 rewrites the fixtures from test/fuzz/regression-fixtures.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StreamReassembler } from '../../parser/tcp/stream-reassembler.js';
import { TlsStream, type TlsStreamListener } from '../../parser/tls/tls-stream.js';
import { parseClientHello } from '../../parser/tls/hello.js';
import { clientHelloRecord, ext } from '../unit/bytes.js';
import { analyze, checkWellFormed } from './properties.js';
import { REGRESSION_FIXTURES } from './regression-fixtures.js';

const DIR = fileURLToPath(new URL('../../fixtures/regressions/', import.meta.url));

function fixture(name: string): Uint8Array {
  const f = REGRESSION_FIXTURES.find((x) => x.file === name)!;
  const built = f.bytes();
  if (process.env.UPDATE_REGRESSIONS) writeFileSync(join(DIR, name), built);
  const stored = new Uint8Array(readFileSync(join(DIR, name)));
  // The fixture is what its recipe builds (provenance), byte for byte.
  expect(Buffer.from(stored).equals(Buffer.from(built))).toBe(true);
  return stored;
}

describe('fuzz regressions', () => {
  it('every fixture has a README line', () => {
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const f of REGRESSION_FIXTURES) expect(readme).toContain(f.file);
  });

  it('pcapng: a block length with one flipped bit no longer swallows the rest of the file as "cut short"', () => {
    const f = REGRESSION_FIXTURES.find((x) => x.file === 'pcapng-block-length-bit-flip.pcapng')!;
    const r = analyze([fixture(f.file)], f.file);
    checkWellFormed(r, f.bytes().length);
    const summary = r.captures[0]!;
    // Only the damaged block is lost (it was 0 packets and a 'truncated' verdict before).
    expect(summary.packets).toBe(f.frames - 1);
    expect(summary.anomalies.map((a) => [a.kind, a.code, a.offset])).toEqual([['malformed', 'pcapng-bad-block', f.damageAt]]);
    expect(r.connections.length).toBe(2);
  });

  it('pcapng: a frame stamped beyond what a Date holds, then the clock as it was: a clock step, not a crash', () => {
    const f = REGRESSION_FIXTURES.find((x) => x.file === 'pcapng-timestamp-past-date-range.pcapng')!;
    const r = analyze([fixture(f.file)], f.file);
    checkWellFormed(r, f.bytes().length);
    const summary = r.captures[0]!;
    expect(summary.packets).toBe(f.frames);
    const step = summary.anomalies.find((a) => a.code === 'clock-step-back')!;
    expect(step.message).toMatch(/from 92233720\d+\.\d+ s after 1970 to 2023-11-14T/);
    expect(r.connections.length).toBe(2);
  });

  it('pcap: a record claiming more than the rest of the file, with sane records after it, is damage, not a cut', () => {
    const f = REGRESSION_FIXTURES.find((x) => x.file === 'pcap-record-length-past-end.pcap')!;
    const r = analyze([fixture(f.file)], f.file);
    const summary = r.captures[0]!;
    expect(summary.packets).toBe(f.frames - 1);
    expect(summary.anomalies[0]).toMatchObject({ kind: 'malformed', code: 'pcap-bad-record', offset: f.damageAt });
    expect(summary.anomalies.some((a) => a.kind === 'truncated')).toBe(false);
  });

  it('pcap: a short record length no longer chains false records through packet data', () => {
    const f = REGRESSION_FIXTURES.find((x) => x.file === 'pcap-short-record-length.pcap')!;
    const r = analyze([fixture(f.file)], f.file);
    const summary = r.captures[0]!;
    // Before: 7 of 72 frames read; false records with far-off times swallowed the rest.
    expect(summary.packets).toBeGreaterThanOrEqual(f.frames - 3);
    expect(summary.anomalies.some((a) => a.kind === 'malformed' && a.offset !== undefined)).toBe(true);
  });

  it('pcapng: a damaged first section header no longer loses every block after it', () => {
    const f = REGRESSION_FIXTURES.find((x) => x.file === 'pcapng-damaged-section-header.pcapng')!;
    const r = analyze([fixture(f.file)], f.file);
    const summary = r.captures[0]!;
    expect(summary.packets).toBe(f.frames);
    expect(summary.anomalies.map((a) => [a.kind, a.code, a.offset])).toEqual([['malformed', 'pcapng-bad-block', 0]]);
    expect(r.connections.length).toBe(2);
  });

  it('TLS: a ClientHello header claiming 256 KiB reserves memory for the bytes present, not the claim', () => {
    const f = REGRESSION_FIXTURES.find((x) => x.file === 'tls-many-huge-hello-claims.pcap')!;
    const bytes = fixture(f.file);
    // Held live until the end of the analysis: 3000 connections × 256 KiB = 786 MB before the fix.
    let peak = 0;
    const before = process.memoryUsage().arrayBuffers;
    const r = analyze([bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)], f.file);
    peak = process.memoryUsage().arrayBuffers - before;
    expect(r.captures[0]!.packets).toBe(3000);
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });

  it('TLS: a hello assembled from many records still parses (the buffer grows as bytes arrive)', () => {
    const record = clientHelloRecord({ extensions: [ext.serverName('grow.test'), ext.sessionTicket(new Uint8Array(3000).fill(7))] });
    // Re-frame the handshake message into 1-byte records.
    const message = record.subarray(5);
    const pieces: Uint8Array[] = [];
    for (const b of message) pieces.push(Uint8Array.from([22, 3, 3, 0, 1, b]));
    const hellos: string[] = [];
    const listener: TlsStreamListener = {
      onHandshakeMessage: (_s, type, bytes, start, end) => {
        const p = parseClientHello(bytes, start, end);
        if (type === 1 && p.ok) hellos.push(`${p.value.serverName} ${p.value.sessionTicketLength}`);
      },
      onSslv2ClientHello: () => {}, onChangeCipherSpec: () => {}, onAlert: () => {}, onEncryptedRecord: () => {}, onStreamTrouble: () => {},
    };
    const stream = new TlsStream(0, listener);
    for (const p of pieces) stream.push(p, 0, 1);
    expect(hellos).toEqual(['grow.test 3000']);
  });

  it('TCP: out-of-order data held behind a hole stays bounded on a one-way capture', () => {
    // Client → server only, segment #2 lost, no ACKs: everything after it waits for the hole.
    let delivered = 0;
    let gaps = 0;
    const r = new StreamReassembler({ onData: (_b, start, end) => { delivered += end - start; }, onGap: () => { gaps++; } });
    const internals = r as unknown as { pending: unknown[]; pendingBytes: number };
    let maxHeld = 0;
    for (let i = 0; i < 16000; i++) {
      if (i !== 1) r.onSegment(1000 + i * 1000, new Uint8Array(1000), 0, false, 0, i + 1);
      maxHeld = Math.max(maxHeld, internals.pendingBytes);
    }
    r.flush(0, 0);
    // Before: 16 MB held (every later segment). Now at most the 1 MiB / 512-segment limits.
    expect(maxHeld).toBeLessThanOrEqual(1 << 20);
    expect(internals.pending.length).toBe(0);
    expect(delivered).toBe(15999 * 1000);
    expect(gaps).toBe(1);
  });

  it('TLS: bytes cut by snaplen are reported as truncated, lost bytes as a gap', () => {
    const kinds: string[] = [];
    const listener: TlsStreamListener = {
      onHandshakeMessage: () => {}, onSslv2ClientHello: () => {}, onChangeCipherSpec: () => {}, onAlert: () => {}, onEncryptedRecord: () => {},
      onStreamTrouble: (_s, kind, code) => { kinds.push(`${kind}:${code}`); },
    };
    const record = clientHelloRecord({ extensions: [ext.serverName('cut.test')] });
    for (const cause of ['snaplen', 'lost'] as const) {
      const stream = new TlsStream(0, listener);
      stream.push(record.subarray(0, 40), 0, 1);
      stream.gap(record.length - 40, 1, cause);
      stream.push(record, 0, 2);
    }
    expect(kinds).toEqual([
      'truncated:tcp-gap-in-record', 'truncated:tls-message-incomplete',
      'gap:tcp-gap-in-record', 'gap:tls-message-incomplete',
    ]);
  });
});
