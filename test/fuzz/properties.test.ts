// The short run of the fuzz properties (the long run: `npm run fuzz`, test/tools/fuzz.ts).
// Fixed seeds, so a failure here reproduces; the long run explores new seeds.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCapture, captureSpecArb, chunked, type CaptureSpec } from './captures.js';
import { analyze, checkArbitraryInput, checkTruncationKeepsPrefix, checkWellFormed, fingerprint } from './properties.js';
import { TARGETS } from './targets.js';
import { twoConnections } from './regression-fixtures.js';

const RUNS: Record<string, number> = {
  'mutated-capture': 150, 'arbitrary-bytes': 200, 'intact-capture': 60, truncation: 100,
  'order-independence': 60, 'tls-stream': 300, 'hello-parsers': 500, reassembler: 60,
};
const CAPTURES = fileURLToPath(new URL('../../fixtures/captures/', import.meta.url));

describe('fuzz properties (short run)', () => {
  for (const target of TARGETS) {
    it(target.name, async () => {
      await fc.assert(fc.asyncProperty(target.arbitrary, async (value) => { await target.check(value); }), { numRuns: RUNS[target.name] ?? 50, seed: 42, endOnFailure: true });
    });
  }

  it('truncation at every byte of a small capture keeps every complete frame before the cut', () => {
    for (const format of ['pcap', 'pcapng'] as const) {
      const spec: CaptureSpec = { ...twoConnections(format), connections: [twoConnections(format).connections[1]!] };
      const length = buildCapture(spec).bytes.length;
      for (let cut = 0; cut <= length; cut++) checkTruncationKeepsPrefix(spec, cut);
    }
  });

  it('real fixtures: truncation at every record boundary (and inside every record) keeps the prefix', () => {
    for (const name of readdirSync(CAPTURES).filter((n) => /\.pcap(ng)?$/.test(n))) {
      const bytes = new Uint8Array(readFileSync(join(CAPTURES, name)));
      const boundaries = recordBoundaries(bytes);
      boundaries.forEach((at, i) => {
        for (const cut of [at, at + 7]) {
          if (cut > bytes.length) continue;
          const r = analyze([bytes.subarray(0, cut)], name);
          checkWellFormed(r, cut);
          const complete = boundaries.filter((b, j) => j > 0 && b <= cut).length - (name.endsWith('ng') ? 2 : 0); // pcapng: SHB + IDB
          expect(r.captures[0]!.packets, `${name} cut at ${cut}`).toBe(Math.max(0, complete));
          const malformed = r.captures[0]!.anomalies.filter((a) => a.kind === 'malformed');
          expect(malformed, `${name} cut at ${cut}`).toEqual([]);
          if (cut !== at && i < boundaries.length - 1) {
            expect(r.captures[0]!.anomalies.some((a) => a.kind === 'truncated' && a.offset === at), `${name} cut at ${cut}`).toBe(true);
          }
        }
      });
    }
  });

  it('real fixtures: the same result in any chunking', () => {
    fc.assert(fc.property(fc.constantFrom(...readdirSync(CAPTURES).filter((n) => /\.pcap(ng)?$/.test(n))), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }), (name, sizes) => {
      checkArbitraryInput(new Uint8Array(readFileSync(join(CAPTURES, name))), sizes);
    }), { numRuns: 40, seed: 7 });
  });

  it('real fixtures mutated past their file header: no throw, well-formed anomalies, the same result in any chunking', () => {
    // Real stacks' bytes (Chromium's extensions, HelloRetryRequests, 0-RTT, alerts) reach parser
    // branches the generated captures do not; the long run did 343,588 of these without a crash.
    const names = readdirSync(CAPTURES).filter((n) => /\.pcap(ng)?$/.test(n));
    const edit = fc.record({
      kind: fc.constantFrom('flip', 'set', 'zero', 'cut', 'repeat'),
      at: fc.nat(), bit: fc.nat({ max: 7 }), value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), length: fc.integer({ min: 1, max: 200 }),
    });
    fc.assert(fc.property(fc.constantFrom(...names), fc.array(edit, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 5 }), (name, edits, sizes) => {
      let bytes = new Uint8Array(readFileSync(join(CAPTURES, name)));
      for (const e of edits) {
        const at = 24 + (e.at % Math.max(1, bytes.length - 24));
        if (e.kind === 'flip') bytes[at]! ^= 1 << e.bit;
        else if (e.kind === 'set') bytes[at] = e.value;
        else if (e.kind === 'zero') bytes.fill(0, at, at + e.length);
        else if (e.kind === 'cut') bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + e.length)]);
        else bytes = Uint8Array.from([...bytes.subarray(0, at + e.length), ...bytes.subarray(at)]);
      }
      checkArbitraryInput(bytes, sizes);
    }), { numRuns: 150, seed: 11 });
  });

  it('memory follows the bytes present, not the length fields', () => {
    const cases: [string, Uint8Array][] = [
      // pcap record claiming 2 GB (implausible) and, with a 2^32-1 snaplen, 16 MiB (plausible, waited for).
      ['pcap 2 GB record', pcapWithRecordClaim(0xffffffff, 65535)],
      ['pcap 16 MiB record', pcapWithRecordClaim(16 * 1024 * 1024, 0xffffffff)],
      // pcapng block claiming 64 MiB (the limit), and an EPB whose captured length claims 2 GB.
      ['pcapng 64 MiB block', pcapngWithBlockClaim(64 * 1024 * 1024, false)],
      ['pcapng EPB 2 GB packet', pcapngWithBlockClaim(0x7fffffff, true)],
    ];
    for (const [what, bytes] of cases) {
      const before = process.memoryUsage().arrayBuffers;
      let peak = 0;
      const r = analyze(chunked(bytes, [64]), 'claim.pcap');
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      checkWellFormed(r, bytes.length);
      expect(peak, what).toBeLessThan(8 * 1024 * 1024);
      expect(r.captures[0]!.anomalies.length, what).toBeGreaterThan(0);
    }
  });

  it('generated captures: whole and chunked results are identical, intact and mutated', () => {
    fc.assert(fc.property(captureSpecArb, fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 }), (spec, sizes) => {
      const bytes = buildCapture(spec).bytes;
      expect(fingerprint(analyze(chunked(bytes, sizes)))).toBe(fingerprint(analyze([bytes])));
    }), { numRuns: 30, seed: 3 });
  });
});

/** Offsets of the file header end and every record / block (pcap and pcapng, either byte order). */
function recordBoundaries(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  if (bytes[0] === 0x0a && bytes[1] === 0x0d) {
    const le = view.getUint32(8, true) === 0x1a2b3c4d;
    for (let pos = 0; pos + 12 <= bytes.length; pos += view.getUint32(pos + 4, le)) out.push(pos);
    return out;
  }
  const le = view.getUint32(0, true) === 0xa1b2c3d4 || view.getUint32(0, true) === 0xa1b23c4d;
  for (let pos = 24; pos + 16 <= bytes.length; pos += 16 + view.getUint32(pos + 8, le)) out.push(pos);
  return out;
}

function pcapWithRecordClaim(claim: number, snaplen: number): Uint8Array {
  const spec = twoConnections('pcap');
  const b = buildCapture(spec);
  const out = b.bytes.slice();
  const view = new DataView(out.buffer);
  view.setUint32(16, snaplen, true);
  view.setUint32(b.boundaries[3]! + 8, claim, true);
  view.setUint32(b.boundaries[3]! + 12, claim, true);
  return out;
}

function pcapngWithBlockClaim(claim: number, packetLength: boolean): Uint8Array {
  const b = buildCapture(twoConnections('pcapng'));
  const out = b.bytes.slice();
  new DataView(out.buffer).setUint32(b.boundaries[4]! + (packetLength ? 20 : 4), claim, true);
  return out;
}
