import { describe, expect, it } from 'vitest';
import { argsForCapture, captureNames, defaultEachJobs } from '../../app/cli/each.js';
import { parseArgs, type AnalyzeArgs } from '../../app/cli/args.js';
import { captureName } from '../../app/node/analyze-files.js';
import { analyzeToText } from '../../app/node/each-worker.js';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `analyze --each`: how a capture's outputs are named and how many analyses run at once.

describe('--each', () => {
  it('names a capture by its file name without the capture extension', () => {
    expect(captureName('/data/farm/edge-01.pcap')).toBe('edge-01');
    expect(captureName('edge-01.pcapng')).toBe('edge-01');
    expect(captureName('rotated.pcap0003.gz')).toBe('rotated');
    expect(captureName('x.CAP')).toBe('x');
    // Not a capture extension: the whole name (the output path still tells them apart).
    expect(captureName('dump.trace')).toBe('dump.trace');
    expect(captureName('.pcap')).toBe('.pcap');
  });

  it('names captures of one file name by as many of their folders as tell them apart', () => {
    expect(captureNames(['a.pcap', 'b.pcapng.gz'])).toEqual(['a', 'b']);
    // A folder per host: host1_dump, host2_dump; the others keep their short names.
    expect(captureNames(['/cap/host1/dump.pcap', '/cap/host2/dump.pcap', '/cap/host2/other.pcap'])).toEqual(['host1_dump', 'host2_dump', 'other']);
    // Two levels when one is not enough; a capture in the current folder keeps its name.
    expect(captureNames(['d1/eu/dump.pcap', 'd2/eu/dump.pcap', 'dump.pcap'])).toEqual(['d1_eu_dump', 'd2_eu_dump', 'dump']);
    // Only names that cannot be told apart are refused.
    expect(() => captureNames(['h1/dump.pcap', 'h1_dump.pcap', 'h2/dump.pcap'])).toThrow(/h1\/dump\.pcap and h1_dump\.pcap would both be "h1_dump"/);
  });

  it('gives every capture its own outputs, one input and no nested parallelism', () => {
    const args = parseArgs(['analyze', '--each', 'a.pcap', 'b.pcap.gz', '--json', 'out/{name}.json', '--report', 'r/{name}-{name}.html', '--pcapng-out', 'p/{name}.pcapng', '--pcapng-filter', 'aborted']) as AnalyzeArgs;
    expect(args.each).toBe(true);
    const b = argsForCapture(args, { path: 'b.pcap.gz', size: 10 });
    expect(b).toMatchObject({ inputs: ['b.pcap.gz'], json: 'out/b.json', report: 'r/b-b.html', ndjson: null, pcapngOut: 'p/b.pcapng', pcapngFilter: 'aborted', each: false, jobs: 1, progress: 'never' });
  });

  it('runs one analysis per core, fewer when the memory available would not hold them', () => {
    const files = (size: number) => [{ path: 'a.pcap', size }, { path: 'b.pcap', size: 1 }];
    const GiB = 2 ** 30;
    expect(defaultEachJobs(files(1e9), 8, 64 * GiB)).toBe(8);
    // 4 GB captures peak near 1.1 GiB each: 3 GiB available hold two of them.
    expect(defaultEachJobs(files(4e9), 8, 3 * GiB)).toBe(2);
    // Never none: one analysis runs whatever the memory.
    expect(defaultEachJobs(files(40e9), 8, 1 * GiB)).toBe(1);
  });

  it('an analysis reports the bytes it has read, growing to the whole file, for the batch progress bar', async () => {
    const file = fileURLToPath(new URL('../../fixtures/captures/chromium-nginx-mtu1500.pcap', import.meta.url));
    const args = argsForCapture(parseArgs(['analyze', '--each', file]) as AnalyzeArgs, { path: file, size: statSync(file).size });
    const seen: number[] = [];
    const result = await analyzeToText(args, (bytes) => seen.push(bytes));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^resumescope \S+: 1 capture file/);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(statSync(file).size);
  });
});
