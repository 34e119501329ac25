// One capture file per direction of a tap (client → server in one, server → client in the other),
// given together: read merged by packet time, as mergecap (without -a) would join them. Review
// found every handshake "aborted" (simulated farm: 359 by the client; real nginx and curl: 3 by
// the server): the files were read one after the other.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisDocument, ConnectionRecord } from '../parser/report/types.js';
import { rewritePcapBytes, withClockDrift } from './support/pcap-edit.js';
import type { ServerSummary } from '../parser/diagnose/types.js';
import type { Finding } from '../parser/diagnose/findings.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'resumescope.js');
const work = mkdtempSync(join(tmpdir(), 'resumescope-directions-'));

function analyze(files: string[], extra: string[] = []): { document: AnalysisDocument; stdout: string; stderr: string; status: number | null } {
  const out = join(work, `out-${Math.random().toString(36).slice(2)}.json`);
  const r = spawnSync(process.execPath, [BIN, 'analyze', ...files, '--json', out, ...extra], { encoding: 'utf8', timeout: 120_000 });
  return { document: JSON.parse(readFileSync(out, 'utf8')) as AnalysisDocument, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** What a connection is, whichever file or frame it was read from. */
function outcomes(document: AnalysisDocument): string[] {
  return document.connections.map((c: ConnectionRecord) =>
    [c.client.ip, c.client.port, c.server.port, c.startTime.toFixed(6), c.packets, c.handshake, c.abort?.by ?? '', c.resumption, c.reason ?? '', c.version ?? '', c.history].join(' '));
}

let mixed: string | null = null;
/** A farm of several kinds of server (simulator preset mixed, 18 MB), made once. */
function mixedFarm(): string {
  if (mixed === null) {
    mixed = join(work, 'mixed.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'mixed', '--scale', '3', '--out', mixed, '--quiet']);
  }
  return mixed;
}

/** How many frames a capture holds (capinfos). */
function frameCount(path: string): number {
  return Number(execFileSync('capinfos', ['-c', '-M', '-T', '-r', path], { encoding: 'utf8' }).trim().split('\t')[1]);
}

/**
 * Two captures of the mixed farm that overlap by 40 % (its first 70 % of frames, and its last 70 %),
 * as pcap files `NAME-first.pcap` and `NAME-last.pcap`; `frames`: the farm's.
 */
function overlappingHalves(name: string): { frames: number; first: string; last: string } {
  const farm = mixedFarm();
  const frames = frameCount(farm);
  const first = join(work, `${name}-first.pcap`);
  const last = join(work, `${name}-last.pcap`);
  execFileSync('editcap', ['-F', 'pcap', '-r', farm, first, `1-${Math.floor(frames * 0.7)}`]);
  execFileSync('editcap', ['-F', 'pcap', '-r', farm, last, `${Math.floor(frames * 0.3)}-${frames}`]);
  return { frames, first, last };
}

/** Each packet of a capture as tshark reads it: time, ports, sequence number, payload length. */
function packetList(path: string): string[] {
  return execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw', '-e', 'tcp.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 })
    .trim().split('\n');
}

/** The capture split with tshark into the packets towards `serverPort` and those from it. */
function splitByDirection(path: string, serverPort: number, name: string): [string, string] {
  const toServer = join(work, `${name}-c2s.pcap`);
  const fromServer = join(work, `${name}-s2c.pcap`);
  execFileSync('tshark', ['-r', path, '-Y', `tcp.dstport == ${serverPort}`, '-F', 'pcap', '-w', toServer], { stdio: 'ignore' });
  execFileSync('tshark', ['-r', path, '-Y', `tcp.srcport == ${serverPort}`, '-F', 'pcap', '-w', fromServer], { stdio: 'ignore' });
  return [toServer, fromServer];
}

describe('capture files of the same traffic, given together (a file per direction, overlapping captures)', () => {
  const real = join(ROOT, 'fixtures', 'captures', 'nginx-cache-capacity.pcap');
  let farm = '';
  beforeAll(() => {
    farm = join(work, 'idle.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'idle-timeout', '--out', farm, '--quiet']);
  });

  it('real nginx (a session cache of ten): the same connections, outcomes and verdicts as the capture whole', () => {
    const whole = analyze([real]);
    const [toServer, fromServer] = splitByDirection(real, 44314, 'nginx');
    const report = join(work, 'nginx-split.html');
    const pcapng = join(work, 'nginx-split.pcapng');
    const split = analyze([fromServer, toServer], ['--report', report, '--pcapng-out', pcapng, '--pcapng-filter', 'all']);
    // --pcapng-out reads the files as the analysis did, merged by time: the packets of the capture
    // whole, in its order (before, one file after the other, and the CLI named reordercap).
    const wholePcapng = join(work, 'nginx-whole.pcapng');
    analyze([real], ['--pcapng-out', wholePcapng, '--pcapng-filter', 'all']);
    expect(split.stderr).not.toMatch(/reordercap/);
    expect(packetList(pcapng)).toEqual(packetList(wholePcapng));
    expect(packetList(pcapng).length).toBeGreaterThan(400);
    expect(outcomes(analyze([pcapng]).document)).toEqual(outcomes(whole.document));
    expect(split.status).toBe(0);
    expect(outcomes(split.document)).toEqual(outcomes(whole.document));
    // The report's files table notes it (its model is embedded as JSON: see app/report).
    expect(readFileSync(report, 'utf8').match(/\\?"readMerged\\?":true/g)).toHaveLength(2);
    expect(split.document.connections.filter((c) => c.handshake === 'aborted')).toHaveLength(0);
    const capacities = (document: AnalysisDocument) => (document.servers as ServerSummary[]).map((s) => s.cachePolicy.capacity);
    expect(capacities(split.document)).toEqual(capacities(whole.document));
    // --jobs reads a file per thread: files holding the same connections are read in one.
    const parallel = analyze([toServer, fromServer], ['--jobs', '2']);
    expect(parallel.stderr).toMatch(/hold the same connections: read together, merged by time, in one thread/);
    expect(outcomes(parallel.document)).toEqual(outcomes(whole.document));
  });

  it('one of the two gzip: its first megabyte is decompressed to see that they hold the same connections', () => {
    // Before, a gzip file was not probed: read after the other, 5 of real nginx's 37 connections
    // had "ClientHello not captured" and a cache flush was made up, without a word on why.
    const whole = analyze([real]);
    const [toServer, fromServer] = splitByDirection(real, 44314, 'nginx-gz');
    writeFileSync(`${toServer}.gz`, gzipSync(readFileSync(toServer)));
    const split = analyze([fromServer, `${toServer}.gz`]);
    expect(split.status).toBe(0);
    expect(split.stdout).toMatch(/2 of them holding the same connections: read merged by packet time/);
    expect(outcomes(split.document)).toEqual(outcomes(whole.document));
    // In order of their first packets: the client's SYN is in the gzip file.
    expect(split.document.captures.map((c) => [c.file.endsWith('.gz'), c.compressed])).toEqual([[true, true], [false, false]]);
  });

  it('one direction whole, the other rotated into parts: all read merged, as their first megabytes show one direction each', () => {
    // The later parts share no connection with the first megabyte of the other direction's file:
    // read apart from it, this farm's 1,196 connections came out as 1,203, 398 of them "aborted".
    const farm = mixedFarm();
    const [toServer, fromServer] = splitByDirection(farm, 443, 'mixed');
    const parts = join(work, 'mixed-parts');
    execFileSync('mkdir', ['-p', parts]);
    execFileSync('editcap', ['-i', '600', fromServer, join(parts, 's2c.pcap')]);
    const partFiles = readdirSync(parts).map((f) => join(parts, f));
    expect(partFiles.length).toBeGreaterThanOrEqual(3);
    const split = analyze([toServer, ...partFiles]);
    expect(split.stdout).toMatch(new RegExp(`${partFiles.length + 1} capture files \\(${partFiles.length + 1} of them holding the same connections: read merged by packet time\\)`));
    expect(outcomes(split.document)).toEqual(outcomes(analyze([farm]).document));
  });

  it('the server direction on a clock 1.5 s ahead (two capture hosts): moved onto the client file\'s clock, the outcomes of the capture whole', () => {
    // Read merged on the two clocks, every ServerHello came 1.5 s before its ClientHello; at 2 s
    // the simulated farm's 359 connections came out as 718, each half "one-way".
    const whole = analyze([real]);
    const [toServer, fromServer] = splitByDirection(real, 44314, 'nginx-skew');
    const ahead = join(work, 'nginx-skew-s2c-ahead.pcap');
    execFileSync('editcap', ['-t', '1.5', fromServer, ahead]);
    const pcapng = join(work, 'nginx-skew.pcapng');
    const split = analyze([toServer, ahead], ['--pcapng-out', pcapng, '--pcapng-filter', 'all']);
    expect(split.status).toBe(0);
    expect(outcomes(split.document)).toEqual(outcomes(whole.document));
    expect(split.document.connections.every((c) => c.serverHelloTime! > c.clientHelloTime!)).toBe(true);
    const moved = split.document.captures[1]!.anomalies.filter((a) => a.code === 'clock-offset');
    expect(moved).toHaveLength(1);
    // Loopback handshakes bound it to well under a millisecond.
    expect(Math.abs(moved[0]!.seconds! + 1.5)).toBeLessThan(0.001);
    expect(moved[0]!.message).toMatch(/clock reads 1\.5s ahead of .*nginx-skew-c2s\.pcap's, from \d+ TCP handshakes/);
    expect(split.stdout).toMatch(/capture clock {7}packet times moved onto one clock .*nginx-skew-s2c-ahead\.pcap −1\.5s/);
    // --pcapng-out writes the times as analysed: the packets of the capture whole, in time order.
    const exported = packetList(pcapng);
    expect(exported).toHaveLength(packetList(real).length);
    const times = exported.map((line) => Number(line.split('\t')[0]));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    // Split on one clock, nothing is moved.
    expect(analyze([toServer, fromServer]).document.captures.flatMap((c) => c.anomalies).filter((a) => a.kind === 'clock')).toEqual([]);
  });

  it('real TCP Fast Open (curl and nginx, data in each SYN) split by direction, the server 0.3 s ahead: its handshakes bound the clock', () => {
    // The SYN-ACK acknowledges the SYN's data (ISN + 1 + length): keyed by ISN + 1 only, no
    // handshake was paired, and the two clocks were read as one.
    const tfo = join(ROOT, 'fixtures', 'captures', 'nginx-curl-tcp-fast-open.pcap');
    const whole = analyze([tfo]);
    const [toServer, fromServer] = splitByDirection(tfo, 44356, 'tfo');
    const ahead = join(work, 'tfo-s2c-ahead.pcap');
    execFileSync('editcap', ['-t', '0.3', fromServer, ahead]);
    const split = analyze([toServer, ahead]);
    const moved = split.document.captures.find((c) => c.file === ahead)!.anomalies.find((a) => a.code === 'clock-offset')!;
    expect(moved.message).toMatch(/clock reads 300ms ahead of .*tfo-c2s\.pcap's, from \d+ TCP handshakes/);
    expect(Math.abs(moved.seconds! + 0.3)).toBeLessThan(0.001);
    expect(outcomes(split.document)).toEqual(outcomes(whole.document));
  });

  it('a farm split by direction, the server side 2 s behind and rotated into parts: the verdicts of the capture whole', () => {
    // The client's file is 2.4 MB: the later parts' first megabytes share no handshake with its
    // first, and take the shift of the part before them.
    const farm = mixedFarm();
    const [toServer, fromServer] = splitByDirection(farm, 443, 'farm-skew');
    const behind = join(work, 'farm-skew-s2c-behind.pcap');
    execFileSync('editcap', ['-t', '-2', fromServer, behind]);
    const parts = join(work, 'farm-skew-parts');
    execFileSync('mkdir', ['-p', parts]);
    execFileSync('editcap', ['-i', '600', behind, join(parts, 's2c.pcap')]);
    const partFiles = readdirSync(parts).map((f) => join(parts, f)).sort();
    expect(partFiles.length).toBeGreaterThanOrEqual(3);
    const whole = analyze([farm]);
    const split = analyze([toServer, ...partFiles]);
    expect(outcomes(split.document)).toEqual(outcomes(whole.document));
    const titles = (document: AnalysisDocument) => (document.findings as Finding[]).map((f) => f.title);
    expect(titles(split.document)).toEqual(titles(whole.document));
    const moved = split.document.captures.slice(1).map((c) => c.anomalies.find((a) => a.code === 'clock-offset'));
    expect(moved.every((a) => a !== undefined && Math.abs(a.seconds! - 2) < 0.01)).toBe(true);
    expect(moved.at(-1)!.message).toMatch(/is taken to read 2\.0s behind .*farm-skew-c2s\.pcap's, as .*s2c_0000\d_\d+\.pcap's, the earlier file of the same direction/);
  });

  it('direction files of two hosts that started a minute apart, the server\'s clock 3 s off: bounded by the whole files\' handshakes, read again on one clock', () => {
    // Their first megabytes share no handshake: read merged on the two clocks, 3 s ahead made 799
    // of 1,196 handshakes "aborted", 3 s behind 1,994 connections, without a word.
    const farm = mixedFarm();
    const [toServer, fromServer] = splitByDirection(farm, 443, 'farm-late');
    const frames = frameCount(toServer);
    const late = join(work, 'farm-late-c2s-from-third.pcap');
    execFileSync('editcap', ['-r', toServer, late, `${Math.floor(frames / 3)}-${frames}`]);
    const truth = analyze([late, fromServer]);
    expect(truth.stderr).not.toMatch(/read again/);
    for (const skew of ['3', '-3']) {
      const skewed = join(work, `farm-late-s2c${skew}.pcap`);
      execFileSync('editcap', ['-t', skew, fromServer, skewed]);
      const read = analyze([late, skewed]);
      expect(read.status).toBe(0);
      expect(read.stderr).toMatch(new RegExp(`farm-late-c2s-from-third\\.pcap and .*farm-late-s2c${skew}\\.pcap are on clocks 3\\.0s apart \\(\\d+ TCP handshakes split between them past their first megabytes\\): read again, on one clock`));
      const moved = read.document.captures.find((c) => c.file === skewed)!.anomalies.find((a) => a.code === 'clock-offset')!;
      expect(moved.seconds! + Number(skew)).toBeCloseTo(0, 1);
      const core = (document: AnalysisDocument) => document.connections.map((c: ConnectionRecord) =>
        [c.client.ip, c.client.port, c.packets, c.handshake, c.abort?.by ?? '', c.resumption, c.reason ?? '', c.version ?? '', c.history].join(' '));
      expect(core(read.document)).toEqual(core(truth.document));
      const titles = (document: AnalysisDocument) => (document.findings as Finding[]).map((f) => f.title);
      expect(titles(read.document)).toEqual(titles(truth.document));
    }
  });

  it('a simulated farm split by direction: what mergecap (without -a) of the two gives', () => {
    const [toServer, fromServer] = splitByDirection(farm, 443, 'farm');
    const merged = join(work, 'farm-merged.pcap');
    execFileSync('mergecap', ['-F', 'pcap', '-w', merged, toServer, fromServer]);
    const split = analyze([toServer, fromServer]);
    expect(split.stdout).toMatch(/2 capture files \(2 of them holding the same connections: read merged by packet time\)/);
    expect(split.stdout).toMatch(/handshake complete 359, aborted 0/);
    expect(outcomes(split.document)).toEqual(outcomes(analyze([merged]).document));
    expect(outcomes(split.document)).toEqual(outcomes(analyze([farm]).document));
  });

  it('two captures of the farm that overlap by 40 %, their first megabytes apart: found after the reading and read again merged', () => {
    // Read one after the other, the overlap's connections were counted twice: 1,673 for 1,196, a
    // made-up cache flush and 6 refusals that "fit no inferred cause", without a word.
    const farm = mixedFarm();
    const { frames, first, last } = overlappingHalves('mixed');
    const whole = analyze([farm]);
    for (const jobs of ['1', '2']) {
      const both = analyze([first, last], ['--jobs', jobs]);
      expect(both.status).toBe(0);
      expect(both.stderr).toMatch(/mixed-first\.pcap and .*mixed-last\.pcap hold the same connections past their first megabytes \(\d+ in both\): read again, merged by packet time/);
      expect(both.document.connections).toHaveLength(1196);
      expect(outcomes(both.document)).toEqual(outcomes(whole.document));
      const titles = (document: AnalysisDocument) => (document.findings as Finding[]).map((f) => f.title);
      expect(titles(both.document)).toEqual(titles(whole.document));
    }
    // One of them on stdin cannot be read again: said, and not lost (it was read a second time, empty).
    const piped = spawnSync(process.execPath, [BIN, 'analyze', first, '-', '--json', join(work, 'piped.json')], { input: readFileSync(last), encoding: 'utf8', timeout: 120_000 });
    expect(piped.status).toBe(0);
    expect(piped.stderr).toMatch(/mixed-first\.pcap and <stdin> hold the same connections .*a stream cannot be read again merged/);
    expect((JSON.parse(readFileSync(join(work, 'piped.json'), 'utf8')) as AnalysisDocument).connections.length).toBeGreaterThan(1196);
    // Captures one after the other (rotated), or of other traffic: nothing read again.
    const tail = join(work, 'mixed-tail.pcap');
    execFileSync('editcap', ['-r', farm, tail, `${Math.floor(frames * 0.7) + 1}-${frames}`]);
    expect(analyze([first, tail]).stderr).not.toMatch(/read again/);
    expect(analyze([first, real]).stderr).not.toMatch(/read again/);
  });

  it('the two overlapping captures on two clocks (the later 0.5 s ahead): brought onto one clock, each packet counted and exported once', () => {
    // Read again merged on the two clocks, 1,666 connections came out for 1,196 (each copy 0.5 s
    // after its original: after the connection's end), and with one clock the overlap's
    // connections counted their packets twice, and --pcapng-out wrote them twice.
    const farm = mixedFarm();
    const { frames, first, last } = overlappingHalves('mixed-clock');
    const lastOnItsClock = join(work, 'mixed-last-ahead.pcap');
    execFileSync('editcap', ['-t', '0.5', last, lastOnItsClock]);
    const whole = analyze([farm]);
    const pcapng = join(work, 'mixed-overlap.pcapng');
    const both = analyze([first, lastOnItsClock], ['--pcapng-out', pcapng, '--pcapng-filter', 'all']);
    expect(both.status).toBe(0);
    expect(both.stderr).toMatch(/mixed-last-ahead\.pcap: the file's clock reads 500ms ahead of .*mixed-clock-first\.pcap's, from \d+ connections both files hold/);
    expect(both.stdout).toMatch(/capture clock {7}packet times moved onto one clock .*mixed-last-ahead\.pcap −500ms/);
    expect(both.stdout).toMatch(/overlapping files {3}[\d,]+ TCP packets held by two files read merged/);
    expect(outcomes(both.document)).toEqual(outcomes(whole.document));
    const dropped = both.document.captures.reduce((n, c) => n + (c.copiesDropped ?? 0), 0);
    expect(both.document.captures.reduce((n, c) => n + c.packets, 0) - dropped).toBe(frames);
    // The export: the farm's packets, each once, on the first file's clock (as tshark lists them).
    const everything = join(work, 'mixed-everything.pcapng');
    analyze([farm], ['--pcapng-out', everything, '--pcapng-filter', 'all']);
    expect(packetList(pcapng)).toEqual(packetList(everything));
  });

  it('the two overlapping captures on clocks two hours apart (a host writing local time for UTC), read by workers: found by their ClientHello randoms', () => {
    // Matched by endpoints within 300 s, before the random was kept: read one after the other,
    // 1,673 connections for 1,196, and nothing said.
    const { frames, first, last } = overlappingHalves('mixed-hours');
    const lastOnItsClock = join(work, 'mixed-last-hours-ahead.pcap');
    execFileSync('editcap', ['-t', '7200', last, lastOnItsClock]);
    const whole = analyze([mixedFarm()]);
    for (const jobs of ['1', '2']) {
      const both = analyze([first, lastOnItsClock], ['--jobs', jobs]);
      expect(both.status).toBe(0);
      expect(both.stderr).toMatch(/mixed-last-hours-ahead\.pcap: the file's clock reads 2h00m ahead of .*mixed-hours-first\.pcap's, from \d+ connections both files hold/);
      expect(outcomes(both.document)).toEqual(outcomes(whole.document));
      expect(both.document.captures.reduce((n, c) => n + c.packets - (c.copiesDropped ?? 0), 0)).toBe(frames);
    }
  });

  it('the two overlapping captures, the later on a clock 100 ppm fast: brought onto the first one\'s rate and clock, each packet counted and exported once', () => {
    // One shift cannot line them up (the copies 55 ms apart across the overlap): before the rate was
    // found they were said and read one after the other, the overlap's connections counted twice.
    const { frames, first, last } = overlappingHalves('mixed-rate');
    const bytes = readFileSync(last);
    const start = bytes.readUInt32LE(24) + bytes.readUInt32LE(28) / 1e6;
    const fast = join(work, 'mixed-rate-last-fast.pcap');
    writeFileSync(fast, withClockDrift(bytes, 2.5, 1e-4, start));
    const whole = analyze([mixedFarm()]);
    const pcapng = join(work, 'mixed-rate.pcapng');
    const both = analyze([first, fast], ['--pcapng-out', pcapng, '--pcapng-filter', 'all']);
    expect(both.status).toBe(0);
    expect(both.stderr).toMatch(/mixed-rate-last-fast\.pcap: the file's clock runs 100 ppm fast against .*mixed-rate-first\.pcap's, from \d+ connections both files hold/);
    expect(both.stderr).not.toMatch(/count twice/);
    // The same outcomes; the times of the fast file's packets within 2 µs of the originals (it
    // stamped them to the microsecond on its own clock, and the rate is fitted).
    const withoutTime = (document: AnalysisDocument) => outcomes(document).map((line) => line.replace(/ \d+\.\d{6} /, ' '));
    expect(withoutTime(both.document)).toEqual(withoutTime(whole.document));
    const apart = both.document.connections.map((c: ConnectionRecord, i: number) => Math.abs(c.startTime - (whole.document.connections[i] as ConnectionRecord).startTime));
    expect(Math.max(...apart)).toBeLessThan(2.5e-6);
    expect(both.document.captures.reduce((n, c) => n + c.packets - (c.copiesDropped ?? 0), 0)).toBe(frames);
    // The export: the farm's packets, each once, on the first file's clock (within 2 µs).
    const everything = join(work, 'mixed-rate-everything.pcapng');
    analyze([mixedFarm()], ['--pcapng-out', everything, '--pcapng-filter', 'all']);
    const [exported, original] = [packetList(pcapng), packetList(everything)].map((list) => list.map((line) => line.split('\t')));
    expect(exported.map((fields) => fields.slice(1))).toEqual(original!.map((fields) => fields.slice(1)));
    expect(Math.max(...exported.map((fields, i) => Math.abs(Number(fields[0]) - Number(original![i]![0]))))).toBeLessThan(2.5e-6);
  });

  it('two hosts capturing the same hour, and an overlapping capture split by direction: each packet counted once', () => {
    // Review: files whose first megabytes share connections were read merged with no copy dropped
    // (every connection of two captures of the same hour counted its packets twice), and of an
    // overlapping capture split by direction only the file linked to the other capture dropped copies.
    const farm = mixedFarm();
    const frames = frameCount(farm);
    const whole = analyze([farm]);
    const sameHour = join(work, 'mixed-other-host.pcap');
    execFileSync('editcap', ['-t', '0.3', farm, sameHour]);
    const both = analyze([farm, sameHour]);
    expect(outcomes(both.document)).toEqual(outcomes(whole.document));
    expect(both.document.captures.reduce((n, c) => n + c.packets - (c.copiesDropped ?? 0), 0)).toBe(frames);
    const { first, last } = overlappingHalves('mixed-split');
    const [lastToServer, lastFromServer] = splitByDirection(last, 443, 'mixed-last-split');
    const three = analyze([first, lastToServer, lastFromServer]);
    expect(three.stderr).toMatch(/read again, merged by packet time/);
    expect(outcomes(three.document)).toEqual(outcomes(whole.document));
    expect(three.document.captures.reduce((n, c) => n + c.packets - (c.copiesDropped ?? 0), 0)).toBe(frames);
    // Both hosts' captures split by direction: the four files are one group by their one-way
    // heads, and none was linked (review: 35,313 packets for 26,916, none dropped).
    const [firstToServer, firstFromServer] = splitByDirection(first, 443, 'mixed-first-split');
    const four = analyze([firstToServer, firstFromServer, lastToServer, lastFromServer]);
    expect(outcomes(four.document)).toEqual(outcomes(whole.document));
    expect(four.document.captures.reduce((n, c) => n + c.packets - (c.copiesDropped ?? 0), 0)).toBe(frames);
  });

  it('two hosts capturing the same 23 minutes, one clock 1 s ahead and 50 ppm fast: read merged by their heads, then on one rate', () => {
    // Review: their first megabytes line up (one group, the shift from the heads), but the copies
    // drift apart past the 5 ms a packet is known in: every connection and packet twice, unsaid.
    const farm = mixedFarm();
    const bytes = readFileSync(farm);
    const other = join(work, 'mixed-other-host-fast.pcap');
    writeFileSync(other, withClockDrift(bytes, 1, 5e-5, bytes.readUInt32LE(24) + bytes.readUInt32LE(28) / 1e6));
    const whole = analyze([farm]);
    const both = analyze([farm, other]);
    expect(both.status).toBe(0);
    expect(both.stderr).toMatch(/hold the same connections on clocks that run at two rates \(1,196 in both\): read again, on one clock and rate/);
    expect(both.stderr).toMatch(/mixed-other-host-fast\.pcap: the file's clock runs 50 ppm fast against .*mixed\.pcap's/);
    expect(both.document.connections).toHaveLength(1196);
    const withoutTime = (document: AnalysisDocument) => outcomes(document).map((line) => line.replace(/ \d+\.\d{6} /, ' '));
    expect(withoutTime(both.document)).toEqual(withoutTime(whole.document));
    expect(both.document.captures.reduce((n, c) => n + c.packets - (c.copiesDropped ?? 0), 0)).toBe(frameCount(farm));
  });

  it('an overlapping capture on a clock stepped 10 ms every 100 s (no one rate lines it up): said, not read again', () => {
    // ~70 ms apart from one end of the overlap to the other: no shift lines up its copies, nor does
    // a rate (a line through the steps holds a fifth of them within 1 ms), and nothing was said
    // (review: 20 ppm over 400 s left 51 connections doubled, without a word).
    const { first, last: cut } = overlappingHalves('mixed-drift');
    let start = -1;
    const drifting = rewritePcapBytes(readFileSync(cut), (record) => {
      const micros = record.readUInt32LE(0) * 1e6 + record.readUInt32LE(4);
      if (start < 0) start = micros;
      const moved = Math.round(micros + 0.5e6 + 10_000 * Math.floor((micros - start) / 100e6));
      record.writeUInt32LE(Math.floor(moved / 1e6), 0);
      record.writeUInt32LE(moved % 1e6, 4);
      return record;
    });
    const last = join(work, 'mixed-last-drifting.pcap');
    writeFileSync(last, drifting);
    const both = analyze([first, last]);
    expect(both.status).toBe(0);
    expect(both.stderr).not.toMatch(/read again/);
    expect(both.stderr).toMatch(/mixed-last-drifting\.pcap: the file seems to hold \d+ connections that .*mixed-drift-first\.pcap holds too, on a clock drifting apart from that file's \(the same packets' times differ by \+0\.50\d s to \+0\.5[5-9]\d s\)/);
    const said = both.document.captures.find((c) => c.file === last)!.anomalies.filter((a) => a.code === 'clock-drift');
    expect(said).toHaveLength(1);
    // What it says: the overlap's connections count twice.
    expect(both.document.connections.length).toBeGreaterThan(1196);
  });

  it('the two appended into one file (mergecap -a): the step back of its clock is named, with the way out', () => {
    const [toServer, fromServer] = splitByDirection(farm, 443, 'farm-a');
    const appended = join(work, 'farm-appended.pcap');
    execFileSync('mergecap', ['-a', '-F', 'pcap', '-w', appended, toServer, fromServer]);
    const r = analyze([appended]);
    const clock = r.document.captures[0]!.anomalies.filter((a) => a.kind === 'clock');
    expect(clock).toHaveLength(1);
    expect(clock[0]!.message).toMatch(/mergecap without -a/);
    expect(r.stdout).toMatch(/capture clock {7}steps back/);
  });
});
