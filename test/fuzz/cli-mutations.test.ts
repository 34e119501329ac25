// Mutated real captures through the real CLI (`node bin/resumescope.js analyze f --json out`):
// never a crash or a stack trace, exit 0/1 (2 only for not-a-capture), bounded time and
// memory, anomalies in the JSON with file and offset; and the four kinds of trouble
// (snaplen cut, lost segment, garbage, internal error) reported differently.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandom } from '../unit/bytes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'resumescope.js');
const HOOKS = join(ROOT, 'test', 'fuzz', 'cli-hooks');
const SMALL = join(ROOT, 'fixtures', 'captures', 'tls12-full.pcap');
const SMALL_NG = join(ROOT, 'fixtures', 'captures', 'tls12-ticket-resume.pcapng');
/** Per run; these files are a few KB (node start-up is most of it). */
const TIME_LIMIT_MS = 20_000;
/** Peak RSS per run, KiB: node itself is ~60 MB; a 2 GB length field must not show. */
const RSS_LIMIT_KIB = 400 * 1024;
const STACK = /\n\s+at /;
let work: string;

interface CliRun { code: number | null; stdout: string; stderr: string; ms: number; rssKiB: number; doc: any }

function cli(files: string[], env: Record<string, string> = {}, hooks: string[] = []): CliRun {
  const json = join(work, `out-${Math.random().toString(36).slice(2)}.json`);
  const rusage = join(work, `rusage-${Math.random().toString(36).slice(2)}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [...['rusage.mjs', ...hooks].flatMap((h) => ['--import', join(HOOKS, h)]), BIN, 'analyze', ...files, '--json', json, '-q', '--no-progress'], {
    encoding: 'utf8', timeout: TIME_LIMIT_MS, env: { ...process.env, ...env, RESUMESCOPE_RUSAGE_OUT: rusage, RESUMESCOPE_DEBUG: '' },
  });
  const ms = Date.now() - started;
  return {
    code: r.status, stdout: r.stdout, stderr: r.stderr, ms,
    rssKiB: existsSync(rusage) ? Number(readFileSync(rusage, 'utf8')) : -1,
    doc: existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : null,
  };
}

/** No crash, no stack trace, bounded; every capture anomaly names its file and offset. */
function expectSane(r: CliRun, what: string, allowNotACapture = false): void {
  expect(r.code, `${what}: killed (timeout ${TIME_LIMIT_MS} ms?) ${r.stderr}`).not.toBeNull();
  expect(allowNotACapture ? [0, 1, 2] : [0, 1], `${what}: exit ${r.code} ${r.stderr}`).toContain(r.code);
  expect(r.stderr, what).not.toMatch(STACK);
  expect(r.rssKiB, what).toBeGreaterThan(0);
  expect(r.rssKiB, what).toBeLessThan(RSS_LIMIT_KIB);
  if (r.code === 2) {
    expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
    return;
  }
  expect(r.doc, what).not.toBeNull();
  for (const c of r.doc.captures) {
    for (const a of c.anomalies) {
      expect(['truncated', 'gap', 'malformed', 'internal', 'clock'], what).toContain(a.kind);
      expect(a.code && a.message && a.file, `${what}: ${JSON.stringify(a)}`).toBeTruthy();
      if (a.code !== 'more-anomalies' && a.code !== 'read-error') expect(typeof a.offset, `${what}: ${JSON.stringify(a)}`).toBe('number');
    }
  }
  for (const c of r.doc.connections) for (const a of c.anomalies) expect(a.kind && a.code && a.message && a.file, what).toBeTruthy();
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

function pcapRecords(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let pos = 24; pos + 16 <= bytes.length; pos += 16 + view.getUint32(pos + 8, true)) out.push(pos);
  return out;
}

function pcapngBlocks(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let pos = 0; pos + 12 <= bytes.length; pos += view.getUint32(pos + 4, true)) out.push(pos);
  return out;
}

function withU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value, true);
  return out;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'resumescope-fuzz-cli-'));
  if (!existsSync(join(ROOT, 'dist', 'app', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
});

describe('CLI on mutated real captures', () => {
  const small = () => new Uint8Array(readFileSync(SMALL));
  const smallNg = () => new Uint8Array(readFileSync(SMALL_NG));

  it('truncation at every record boundary (and inside every record) of a small capture', () => {
    const bytes = small();
    const records = pcapRecords(bytes);
    const files: { path: string; complete: number; cutRecord: number }[] = [];
    records.forEach((at, i) => {
      files.push({ path: write(`cut-${at}.pcap`, bytes.subarray(0, at)), complete: i, cutRecord: -1 });
      files.push({ path: write(`cut-${at + 9}.pcap`, bytes.subarray(0, at + 9)), complete: i, cutRecord: at });
    });
    // One run over all cuts (several files are one analysis; each keeps its own summary).
    const r = cli(files.map((f) => f.path));
    expectSane(r, 'truncations');
    for (const f of files) {
      const summary = r.doc.captures.find((c: any) => c.file === f.path);
      if (f.complete === 0 && f.cutRecord >= 0) {
        // Cut inside its first record: not one packet to read, refused as too short (one line naming it).
        expect(summary.packets, f.path).toBe(0);
        expect(summary.error, f.path).toMatch(/^too short to be a capture: it ends inside its first packet record, before any packet/);
        expect(r.stderr).toContain(`${f.path}: too short to be a capture`);
        continue;
      }
      expect(summary.packets, f.path).toBe(f.complete);
      expect(summary.anomalies.filter((a: any) => a.kind === 'malformed'), f.path).toEqual([]);
      if (f.cutRecord >= 0) expect(summary.anomalies).toContainEqual(expect.objectContaining({ kind: 'truncated', code: 'file-cut-short', file: f.path, offset: f.cutRecord }));
    }
  });

  it('bit flips, spliced garbage and inflated length fields', () => {
    const pcap = small();
    const ng = smallNg();
    const records = pcapRecords(pcap);
    const blocks = pcapngBlocks(ng);
    const cases: [string, Uint8Array][] = [];
    for (let k = 0; k < 6; k++) {
      const flipped = pcap.slice();
      for (let j = 0; j < 1 + k * 3; j++) flipped[(k * 7919 + j * 104729) % flipped.length]! ^= 1 << ((k + j) % 8);
      cases.push([`flip-${k}.pcap`, flipped]);
      const ngFlipped = ng.slice();
      ngFlipped[(k * 6007 + 300) % ng.length]! ^= 1 << (k % 8);
      cases.push([`flip-${k}.pcapng`, ngFlipped]);
    }
    cases.push(['garbage-middle.pcap', Uint8Array.from([...pcap.subarray(0, records[5]!), ...pseudoRandom(333, 5), ...pcap.subarray(records[5]!)])]);
    cases.push(['garbage-middle.pcapng', Uint8Array.from([...ng.subarray(0, blocks[4]!), ...pseudoRandom(200, 6), ...ng.subarray(blocks[4]!)])]);
    for (const claim of [0xffffffff, 0x80000000, 64 * 1024 * 1024, 262144]) {
      cases.push([`caplen-${claim}.pcap`, withU32(pcap, records[3]! + 8, claim)]);
      cases.push([`both-lengths-${claim}.pcap`, withU32(withU32(pcap, records[3]! + 8, claim), records[3]! + 12, claim)]);
      cases.push([`blocklen-${claim}.pcapng`, withU32(ng, blocks[3]! + 4, claim)]);
    }
    cases.push(['snaplen-4g.pcap', withU32(withU32(withU32(pcap, 16, 0xffffffff), records[2]! + 8, 16 * 1024 * 1024), records[2]! + 12, 16 * 1024 * 1024)]);
    for (const [name, bytes] of cases) {
      const r = cli([write(name, bytes)]);
      expectSane(r, name, true);
      if (r.code === 2) expect(r.stderr, name).toMatch(new RegExp(`^resumescope: .*${name.replace('.', '\\.')}: `));
      if (r.code !== 2 && name !== 'garbage-middle.pcap' && !name.startsWith('flip')) {
        // The damage is reported where it is.
        expect(r.doc.captures[0].anomalies.length, name).toBeGreaterThan(0);
      }
    }
  });

  it('not a capture: exit 2 with one line naming the file and the reason', () => {
    const files = [write('empty.pcap', new Uint8Array(0)), write('text.pcap', new TextEncoder().encode('hello, world\n')), write('random.pcap', pseudoRandom(4096, 3))];
    for (const f of files) {
      const r = cli([f]);
      expectSane(r, f, true);
      expect(r.code, f).toBe(2);
      expect(r.stderr, f).toMatch(new RegExp(`^resumescope: ${f.replace(/[.]/g, '\\.')}: .+\n$`));
    }
    // Good and bad together: the good one is analysed, exit 1.
    const mixed = cli([SMALL, files[1]!]);
    expectSane(mixed, 'mixed');
    expect(mixed.code).toBe(1);
    expect(mixed.doc.connections.length).toBeGreaterThan(0);
  });
});

describe('the four kinds of trouble are reported differently', () => {
  it('a capture cut by snaplen: truncated anomalies only (not errors), exit 0', () => {
    const bytes = new Uint8Array(readFileSync(SMALL));
    const parts: Uint8Array[] = [withU32(bytes.subarray(0, 24), 16, 100)];
    for (const at of pcapRecords(bytes)) {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const length = view.getUint32(at + 8, true);
      const keep = Math.min(length, 100);
      parts.push(withU32(bytes.subarray(at, at + 16 + keep), 8, keep));
    }
    const r = cli([write('snaplen-100.pcap', Uint8Array.from(parts.flatMap((p) => [...p])))]);
    expectSane(r, 'snaplen');
    expect(r.code).toBe(0);
    const kinds = new Set([...r.doc.captures[0].anomalies, ...r.doc.connections.flatMap((c: any) => c.anomalies)].map((a: any) => a.kind));
    expect([...kinds]).toEqual(['truncated']);
  });

  it('a lost segment: a gap', () => {
    const bytes = new Uint8Array(readFileSync(SMALL));
    const records = pcapRecords(bytes);
    // Frame 6 of tls12-full.pcap is the server's Certificate flight (a data segment).
    const r = cli([write('lost-segment.pcap', Uint8Array.from([...bytes.subarray(0, records[5]!), ...bytes.subarray(records[6]!)]))]);
    expectSane(r, 'lost segment');
    const anomalies = r.doc.connections.flatMap((c: any) => c.anomalies);
    expect(anomalies.some((a: any) => a.kind === 'gap')).toBe(true);
    expect(anomalies.some((a: any) => a.kind === 'malformed' || a.kind === 'truncated')).toBe(false);
  });

  it('garbage: malformed, with file and offset', () => {
    const bytes = new Uint8Array(readFileSync(SMALL));
    const at = pcapRecords(bytes)[4]!;
    const name = 'garbage.pcap';
    const r = cli([write(name, Uint8Array.from([...bytes.subarray(0, at), ...new Uint8Array(64).fill(0xff), ...bytes.subarray(at)]))]);
    expectSane(r, 'garbage');
    expect(r.code).toBe(0);
    expect(r.doc.captures[0].anomalies).toContainEqual(expect.objectContaining({ kind: 'malformed', code: 'pcap-bad-record', file: join(work, name), offset: at }));
    expect(r.doc.captures[0].packets).toBe(pcapRecords(bytes).length);
  });

  it('an internal error after reading: "internal error … please report", no stack trace', () => {
    const r = cli([SMALL], { RESUMESCOPE_INJECT: 'finish' }, ['throw-in-parser.mjs']);
    expect(r.stderr).toMatch(/internal error/);
    expect(r.stderr).toMatch(/[Pp]lease report/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.code).not.toBeNull();
  });

  it('an internal error while reading a file: reported as internal (not as damage of the capture), no stack trace', () => {
    // Today analyzeFiles() catches it and files it as a 'malformed' 'read-error' anomaly of
    // the capture (or as "could not be read"): a bug looks like a broken capture. Wanted:
    // kind 'internal', a message that asks for the capture, and the CLI saying so on stderr.
    const r = cli([SMALL], { RESUMESCOPE_INJECT: 'packet' }, ['throw-in-parser.mjs']);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).toMatch(/internal error/);
    expect(r.stderr).toMatch(/[Pp]lease report/);
    const anomalies = r.doc?.captures?.[0]?.anomalies ?? [];
    expect(anomalies.some((a: any) => a.kind === 'malformed' && a.code === 'read-error')).toBe(false);
  });
});
