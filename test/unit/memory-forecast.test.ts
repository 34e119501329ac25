import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { forecastPeak, MemoryForecast, readMemory, type MemoryReading } from '../../app/cli/memory-forecast.js';
import { main, type CliIo } from '../../app/cli/main.js';

// While a capture is read, the memory taken so far says what the whole will take: a capture too
// large for the machine must be told early (with the way out: parts and --state), not end hours
// in for want of memory; a capture that fits must hear nothing.

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const reading = (resident: number, available: number): MemoryReading => ({ resident, available });

describe('forecastPeak', () => {
  it('carries the rate since the reference reading on to the end of the input, the diagnosis\'s share on top', () => {
    // 100 MiB held after 1 GiB, 300 MiB after 2 GiB of 10: 200 MiB a GiB, 1.9 GiB at the end of the reading.
    expect(forecastPeak({ bytes: 1 * GiB, resident: 100 * MiB }, 2 * GiB, 10 * GiB, 300 * MiB)).toBe((300 * MiB + 200 * MiB * 8) * 1.5);
    // All read: what is held, times the share.
    expect(forecastPeak({ bytes: 1 * GiB, resident: 100 * MiB }, 10 * GiB, 10 * GiB, 700 * MiB)).toBe(700 * MiB * 1.5);
    // Memory given back since the reference: no negative rate.
    expect(forecastPeak({ bytes: 1 * GiB, resident: 400 * MiB }, 2 * GiB, 10 * GiB, 300 * MiB)).toBe(300 * MiB * 1.5);
  });

  it('says nothing over too short a stretch of input, nor for a pipe of unknown size', () => {
    expect(forecastPeak({ bytes: 64 * MiB, resident: 100 * MiB }, 100 * MiB, 1 * GiB, 900 * MiB)).toBeNull(); // 36 MiB
    expect(forecastPeak({ bytes: 1 * GiB, resident: 100 * MiB }, 1 * GiB + 200 * MiB, 10 * GiB, 900 * MiB)).toBeNull(); // < 3 %
    expect(forecastPeak({ bytes: 64 * MiB, resident: 100 * MiB }, 1 * GiB, 0, 900 * MiB)).toBeNull();
  });
});

describe('MemoryForecast', () => {
  it('warns once, when the forecast passes what is available, and names the way out', () => {
    let reads = 0;
    const residents = [100 * MiB, 400 * MiB, 800 * MiB];
    const forecast = new MemoryForecast(() => reading(residents[reads++]!, 4 * GiB));
    // The reference at 1 GiB of 10 (after the first 2 %), then 300 MiB more by 2 GiB: ~4.1 GiB at the peak.
    expect(forecast.check(1 * GiB, 10 * GiB)).toBeNull();
    const warning = forecast.check(2 * GiB, 10 * GiB);
    expect(warning).toMatch(/about 4\.1 GiB of memory at its peak \(400 MiB after 20 % of the input\), more than the 4\.0 GiB/);
    expect(warning).toContain('editcap -i 3600');
    expect(warning).toContain('--state FILE');
    expect(forecast.check(3 * GiB, 10 * GiB)).toBeNull();
    expect(reads).toBe(2);
  });

  it('keeps quiet while the forecast fits, and reads the memory only every 16 MiB of input, from 64 MiB on', () => {
    let reads = 0;
    const forecast = new MemoryForecast(() => { reads++; return reading(100 * MiB + reads * MiB, 8 * GiB); });
    for (let done = 0; done <= 1 * GiB; done += MiB) expect(forecast.check(done, 1 * GiB)).toBeNull();
    expect(reads).toBe((1024 - 64) / 16 + 1);
  });

  it('says nothing for an input of unknown size (a pipe)', () => {
    let reads = 0;
    const forecast = new MemoryForecast(() => { reads++; return reading(GiB, MiB); });
    for (let done = 0; done <= 1 * GiB; done += 16 * MiB) expect(forecast.check(done, 0)).toBeNull();
    expect(reads).toBe(0);
  });

  it('reads this process\'s memory: resident within what it can hold', () => {
    const now = readMemory();
    expect(now.resident).toBeGreaterThan(10 * MiB);
    expect(now.available).toBeGreaterThan(now.resident);
  });
});

describe('analyze, on a capture that will not fit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'resumescope-memory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const analyse = async (capture: string, available: number) => {
    const err: string[] = [];
    let resident = 100 * MiB;
    // Each reading finds 40 MiB more taken than the last: a capture that grows as it is read.
    const io: CliIo = {
      stdout: () => {}, stderr: (t) => void err.push(t), stderrIsTty: false,
      memory: () => reading((resident += 40 * MiB) - 40 * MiB, available),
    };
    const code = await main(['analyze', capture, '-q', '--json', join(dir, 'out.json')], io);
    return { code, stderr: err.join('') };
  };

  it('warns while reading, once, and still analyses it whole', async () => {
    const capture = join(dir, 'farm.pcap');
    const simulator = fileURLToPath(new URL('../../dist/fixtures/simulator/cli.js', import.meta.url));
    execFileSync('node', [simulator, '--preset', 'bench', '--scale', '160', '--quiet', '--out', capture]);
    // Enough for a reference after the first 64 MiB and a rate over the next 64 MiB.
    expect(statSync(capture).size).toBeGreaterThan(140 * MiB);

    const tight = await analyse(capture, 150 * MiB);
    expect(tight.code).toBe(0);
    expect(tight.stderr.match(/resumescope: warning: at this rate the analysis needs about/g)).toHaveLength(1);
    expect(statSync(join(dir, 'out.json')).size).toBeGreaterThan(1_000_000);

    const roomy = await analyse(capture, 64 * GiB);
    expect(roomy.code).toBe(0);
    expect(roomy.stderr).not.toContain('warning');
  }, 120_000);
});
