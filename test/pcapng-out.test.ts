import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeChunks } from './support/pipeline.js';

// --pcapng-out writes the failed connections' packets with the diagnosis as packet
// comments: read back by our reader and by tshark.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'resumescope.js');
let work: string;
let capture: string;
let analysis: { connections: { id: number; handshake: string; resumption: string; reason?: string | null; packets: number }[] };

function tsharkComments(file: string): string[] {
  return execFileSync('tshark', ['-r', file, '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim().split('\n').filter((l) => l.length > 0);
}

function tsharkPacketCount(file: string): number {
  return execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').length;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'resumescope-pcapng-'));
  capture = join(work, 'purge.pcap');
  execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'purge-on-abort', '--out', capture]);
  const json = join(work, 'purge.json');
  execFileSync(process.execPath, [BIN, 'analyze', capture, '--json', json, '-q']);
  analysis = JSON.parse(readFileSync(json, 'utf8'));
});

describe('--pcapng-out', () => {
  it('keeps exactly the failed and aborted connections, one comment each, readable by tshark and by us', () => {
    const out = join(work, 'failed.pcapng');
    const r = spawnSync(process.execPath, [BIN, 'analyze', capture, '--pcapng-out', out], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const failed = analysis.connections.filter((c) => c.handshake === 'aborted' || c.resumption === 'rejected' || c.reason === 'client-forgot');
    expect(failed.length).toBeGreaterThan(40);
    const comments = tsharkComments(out);
    expect(comments).toHaveLength(failed.length);
    expect(new Set(comments.map((c) => /connection (\d+):/.exec(c)![1]))).toEqual(new Set(failed.map((c) => String(c.id))));
    expect(comments.some((c) => /resumption rejected: connection \d+ offered this session and was aborted/.test(c))).toBe(true);
    expect(comments.some((c) => /handshake aborted by client RST after-server-hello/.test(c))).toBe(true);
    // An aborted handshake was no full handshake, whatever it offered (the comment said so).
    const abortedIds = new Set(failed.filter((c) => c.handshake === 'aborted').map((c) => String(c.id)));
    const abortedComments = comments.filter((c) => abortedIds.has(/connection (\d+):/.exec(c)![1]!));
    expect(abortedComments.length).toBeGreaterThan(0);
    expect(abortedComments.filter((c) => c.includes('full handshake'))).toEqual([]);
    const expectedPackets = failed.reduce((sum, c) => sum + c.packets, 0);
    expect(tsharkPacketCount(out)).toBe(expectedPackets);
    // Our own reader sees the same connections, with the same outcomes.
    const again = analyzeChunks('failed.pcapng', [readFileSync(out)]);
    expect(again.connections).toHaveLength(failed.length);
    expect(again.connections.filter((c) => c.handshake === 'aborted')).toHaveLength(failed.filter((c) => c.handshake === 'aborted').length);
  });

  it('--pcapng-filter chooses connections (aborted only; by server; all)', () => {
    const aborted = join(work, 'aborted.pcapng');
    expect(spawnSync(process.execPath, [BIN, 'analyze', capture, '-q', '--pcapng-out', aborted, '--pcapng-filter', 'aborted']).status).toBe(0);
    expect(tsharkComments(aborted)).toHaveLength(analysis.connections.filter((c) => c.handshake === 'aborted').length);
    const all = join(work, 'all.pcapng');
    expect(spawnSync(process.execPath, [BIN, 'analyze', capture, '-q', '--pcapng-out', all, '--pcapng-filter', 'all']).status).toBe(0);
    expect(tsharkComments(all)).toHaveLength(analysis.connections.length);
    const none = join(work, 'none.pcapng');
    expect(spawnSync(process.execPath, [BIN, 'analyze', capture, '-q', '--pcapng-out', none, '--pcapng-filter', 'server=192.0.2.250:443']).status).toBe(0);
    expect(analyzeChunks('none.pcapng', [readFileSync(none)]).document.captures[0]!.packets).toBe(0);
  });

  it('keeps every packet\'s time as the capture wrote it: nanoseconds from a nanosecond pcap, microseconds from pcapng, per tshark', () => {
    const captures = ['tls12-nanosecond.pcap', 'tls12-ticket-resume.pcapng'].map((f) => join(ROOT, 'fixtures', 'captures', f));
    const out = join(work, 'times.pcapng');
    expect(spawnSync(process.execPath, [BIN, 'analyze', ...captures, '-q', '--pcapng-out', out, '--pcapng-filter', 'all']).status).toBe(0);
    const times = (file: string) => execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    const written = times(out).sort();
    expect(written).toEqual(captures.flatMap(times).sort());
    // Nanoseconds that a microsecond clock would round (…794680347 became …794680000).
    expect(written.some((t) => !/000$/.test(t))).toBe(true);
  });

  it('a connection whose packets came in IP fragments is written with every fragment (a fragmented VXLAN capture)', () => {
    const fragmented = join(ROOT, 'fixtures', 'captures', 'vxlan-fragmented.pcap');
    const out = join(work, 'fragmented.pcapng');
    expect(spawnSync(process.execPath, [BIN, 'analyze', fragmented, '-q', '--pcapng-out', out, '--pcapng-filter', 'all']).status).toBe(0);
    const fragmentsIn = (file: string) => execFileSync('tshark', ['-r', file, '-Y', 'ip.flags.mf == 1 || ip.frag_offset > 0', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim().split('\n').filter((l) => l.length > 0).length;
    expect(fragmentsIn(fragmented)).toBeGreaterThanOrEqual(2);
    expect(fragmentsIn(out)).toBe(fragmentsIn(fragmented));
    // Read back, the export is the same three handshakes, the first with the certificate its fragments carried.
    const again = analyzeChunks('fragmented.pcapng', [readFileSync(out)]);
    expect(again.connections.map((c) => [c.resumption, c.handshake, c.certificateSeen])).toEqual([
      ['not-offered', 'complete', true], ['accepted', 'complete', false], ['accepted', 'complete', false],
    ]);
    expect(again.document.captures[0]!.anomalies).toEqual([]);
  });

  it('a bad filter is a usage error', () => {
    const r = spawnSync(process.execPath, [BIN, 'analyze', capture, '--pcapng-out', join(work, 'x.pcapng'), '--pcapng-filter', 'nonsense'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--pcapng-filter: unknown filter "nonsense"/);
  });
});
