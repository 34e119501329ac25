import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, copyFileSync, chmodSync, existsSync, symlinkSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { analyzeChunks } from './support/pipeline.js';
import { concat, ethernet, fill, ipv4, pcapFile, u16be, u32be } from './unit/bytes.js';
import { rewritePcapRecords, withSnaplen } from './support/pcap-edit.js';

// The CLI as users run it: exit codes, one-line errors, outputs that match the schema.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'resumescope.js');
const CAPTURES = join(ROOT, 'fixtures', 'captures');
let work: string;

/**
 * The CLI on a terminal: run under script(1), which gives it a pseudo-terminal; what it wrote (both
 * streams: with -q the summary is silent, so the rest is standard error) comes back as `stderr`.
 */
function cliOnTerminal(args: string[]) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: work, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TERM: 'dumb' } });
  return { code: r.status, stderr: r.stdout };
}

function cli(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'resumescope-cli-'));
});

describe('resumescope CLI', () => {
  it('no arguments at all: the help on standard error, exit 2 (a script that lost its arguments fails)', () => {
    const r = cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('resumescope analyze <capture files or folders…>');
  });

  it('--pcapng-filter is checked before any capture is read: a reason that does not exist, or no --pcapng-out to filter', () => {
    const capture = join(CAPTURES, 'tls12-alert-purge.pcap');
    const out = join(work, 'filtered.pcapng');
    const bogus = cli(['analyze', capture, '--pcapng-out', out, '--pcapng-filter', 'reason=bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/^resumescope: --pcapng-filter: unknown reason "bogus" \(one of idle-timeout, lifetime, capacity, purged-after-abort,/);
    expect(bogus.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    // A mistyped address or port kept nothing, silently: an empty pcapng and exit 0.
    for (const [filter, why] of [['server=notanip', '"notanip" is not an IPv4 or IPv6 address'], ['server=10.0.0.300', '"10.0.0.300" is not an IPv4'], ['server=10.0.0.5:70000', 'port 70000 is not a TCP port']]) {
      const r = cli(['analyze', capture, '--pcapng-out', out, '--pcapng-filter', filter!]);
      expect(r.code, filter).toBe(2);
      expect(r.stderr, filter).toContain(`resumescope: --pcapng-filter: ${filter}: ${why}`);
      expect(existsSync(out)).toBe(false);
    }
    const alone = cli(['analyze', capture, '--pcapng-filter', 'aborted']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--pcapng-filter chooses what --pcapng-out keeps');
    const good = cli(['analyze', capture, '--pcapng-out', out, '--pcapng-filter', 'reason=purged-after-abort,aborted']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/wrote .*filtered\.pcapng \(pcapng: \d+ packets of 8 connections, commented\)/);
    expect(good.stderr).toBe('');
    // A group's name where server= wants an address: refused before reading, saying so.
    const named = cli(['analyze', capture, '--pcapng-out', out, '--pcapng-filter', 'server=resumescope.test', '-q']);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('resumescope: --pcapng-filter: server=resumescope.test: "resumescope.test" is not an IPv4 or IPv6 address: server= takes an IP address, not a name');
    // A filter that keeps nothing says so.
    const none = cli(['analyze', capture, '--pcapng-out', out, '--pcapng-filter', 'server=192.0.2.7', '-q']);
    expect(none.code).toBe(0);
    expect(none.stderr).toBe('resumescope: warning: --pcapng-filter server=192.0.2.7 chose no connection; the pcapng holds no packet\n');
  });

  it('a handshake ended by a fatal alert is told as such, not as the close that followed it', () => {
    // Real OpenSSL: the client sends a fatal alert, the server's FIN comes before the client's.
    const json = join(work, 'alert.json');
    const r = cli(['analyze', join(CAPTURES, 'tls12-alert-purge.pcap'), '--json', json]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    const aborted = doc.findings.find((f: { code: string }) => f.code === 'aborted-handshakes');
    expect(aborted.detail).toBe('By stage: after-server-hello (client fatal alert) 4.');
    // The record keeps the close itself: the contract's "rst" | "fin".
    expect(doc.connections.filter((c: { abort: unknown }) => c.abort !== null).map((c: { abort: { by: string; how: string } }) => `${c.abort.by} ${c.abort.how}`)).toEqual(Array(4).fill('client fin'));
  });

  it('--help and --version', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('resumescope analyze <capture files or folders…>');
    expect(help.stdout).toContain('--ndjson FILE');
    const version = cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^resumescope \d+\.\d+\.\d+\n$/);
  });

  it('bad usage exits 2 with a one-line reason', () => {
    for (const args of [['analyze'], ['analyze', '--bogus', 'x.pcap'], ['frobnicate'], ['analyze', 'x.pcap', '--json']]) {
      const r = cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/^resumescope: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // never a stack trace
    }
  });

  it('ui on a port in use: exit 2 and one line saying how to choose another', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const child = spawn(process.execPath, [BIN, 'ui', '--port', String(port), '--no-open'], { cwd: work });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(2);
      expect(stderr).toBe(`resumescope: port ${port} on 127.0.0.1 is in use (another resumescope ui?): choose another with --port N, or --port 0 for any free one\n`);
    } finally {
      taken.close();
    }
  });

  it('ui with inputs none of which is a capture: exit 2 naming each, no server started', () => {
    // A missing file or a text file was passed over and the server started anyway, to show nothing.
    const text = join(work, 'ui-notes.txt');
    writeFileSync(text, 'hello\n');
    const r = spawnSync(process.execPath, [BIN, 'ui', join(work, 'ui-missing.pcap'), text, '--no-open', '--port', '0'], { cwd: work, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).not.toContain('resumescope ui: http');
    expect(r.stderr.split('\n')).toEqual([
      `resumescope: ${join(work, 'ui-missing.pcap')}: no such file or folder`,
      `resumescope: ${text}: not a pcap or pcapng capture (starts with 68 65 6c 6c)`,
      'resumescope: ui: none of the inputs is a capture it can serve',
      '',
    ]);
  });

  it('a mistyped option is bad usage that names the option meant, where one is near', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8' });
    const typo = run(['analyze', join(CAPTURES, 'tls12-full.pcap'), '--jsn', 'x.json']);
    expect(typo.status).toBe(2);
    expect(typo.stderr.split('\n')[0]).toBe('resumescope: unknown option --jsn (did you mean --json?)');
    expect(existsSync(join(work, 'x.json'))).toBe(false);
    expect(run(['analyze', 'x.pcap', '--pcapng-fliter=all']).stderr.split('\n')[0]).toBe('resumescope: unknown option --pcapng-fliter (did you mean --pcapng-filter?)');
    expect(run(['ui', '--prot', '0']).stderr.split('\n')[0]).toBe('resumescope: unknown option --prot (did you mean --port?)');
    // Nothing near: no guess.
    expect(run(['analyze', 'x.pcap', '--verbose']).stderr.split('\n')[0]).toBe('resumescope: unknown option --verbose');
  });

  it('an option where an output file belongs is bad usage, and no file named after it is written', () => {
    const r = spawnSync(process.execPath, [BIN, 'analyze', join(CAPTURES, 'tls12-session-id-resume.pcap'), '--json', '-o', 'x.json'], { cwd: work, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('resumescope: --json needs a value, not the option -o (a file named so: ./-o)');
    expect(existsSync(join(work, '-o'))).toBe(false);
    // "-" alone still means standard output.
    const toStdout = cli(['analyze', join(CAPTURES, 'tls12-session-id-resume.pcap'), '--json', '-']);
    expect(toStdout.code).toBe(0);
    expect(JSON.parse(toStdout.stdout).connections).toHaveLength(3);
  });

  it('a TLS 1.3 client\'s random session IDs answered by TLS 1.2: named on the offers line and left out of its rate', () => {
    // Real Chromium against a TLS 1.2 nginx: 3 of 9 offers accepted, 2 of the 6 refusals first
    // visits' random IDs (ServerSummary.tls13CompatibilityIds): 3 of 7 real offers, 42.9 %.
    const json = join(work, 'visitor.json');
    const r = cli(['analyze', join(CAPTURES, 'chromium-nginx-new-visitor.pcap'), '--json', json]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("resumption offers   9  accepted 3 (42.9% of those answered), rejected 6 (2 of them a TLS 1.3 client's random session ID, most likely no offer: not in the rate), unanswered 0; not offered 0\n");
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.servers.map((s: { tls13CompatibilityIds: number }) => s.tls13CompatibilityIds)).toEqual([2]);
    // Without such IDs the line is as it was.
    expect(cli(['analyze', join(CAPTURES, 'tls12-session-id-resume.pcap')]).stdout).toContain('resumption offers   2  accepted 2 (100.0% of those answered), rejected 0, unanswered 0; not offered 1\n');
  });

  it('analyses a capture: summary on stdout, JSON/NDJSON/CSV that agree and match the schema', () => {
    const json = join(work, 'out.json');
    const ndjson = join(work, 'out.ndjson');
    const csv = join(work, 'out.csv');
    const r = cli(['analyze', join(CAPTURES, 'tls12-session-id-resume.pcap'), '--json', json, '--ndjson', ndjson, '--csv', csv]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/TLS connections\s+3 /);
    expect(r.stdout).toMatch(/resumption offers\s+2\s+accepted 2/);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    const schema = JSON.parse(readFileSync(join(ROOT, 'docs', 'schema.json'), 'utf8'));
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(doc.schemaVersion).toBe(1);
    expect(doc.connections.map((c: { resumption: string }) => c.resumption)).toEqual(['not-offered', 'accepted', 'accepted']);
    const lines = readFileSync(ndjson, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((c) => c.id)).toEqual(doc.connections.map((c: { id: number }) => c.id));
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]!.split(',')).toContain('offer.sessionId');
    expect(rows).toHaveLength(4);
    const header = rows[0]!.split(',');
    expect(rows[2]!.split(',')[header.indexOf('resumedBy')]).toBe('session-id');
    // The offered session's facts, as the JSON's session view has them: empty for the first
    // connection (it offered nothing), numbers for the two resumptions.
    const facts = ['session.reuseGap', 'session.age', 'session.churn', 'session.usedSince'];
    expect(header.slice(-facts.length)).toEqual(facts);
    doc.connections.forEach((c: { session: Record<string, number> | null }, k: number) => {
      const cells = rows[k + 1]!.split(',').slice(-facts.length);
      expect(cells).toEqual(facts.map((f) => (c.session?.role as unknown) === 'offer' ? String(c.session![f.slice('session.'.length)]) : ''));
    });
    expect(rows[2]!.split(',').slice(-2)).toEqual(['1', '0']);
  });

  it('writes, from its column store, exactly the records and diagnosis the in-memory pipeline computes, in id order', () => {
    const capture = join(CAPTURES, 'nginx-session-timeout.pcap');
    const json = join(work, 'store.json');
    const ndjson = join(work, 'store.ndjson');
    const r = spawnSync(process.execPath, [BIN, 'analyze', capture, '-q', '--json', json, '--ndjson', ndjson], { cwd: work, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    const lines = readFileSync(ndjson, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const direct = analyzeChunks(capture, [readFileSync(capture)]);
    const expected = JSON.parse(JSON.stringify(direct.connections.slice().sort((a, b) => a.id - b.id)));
    expect(doc.connections).toHaveLength(18);
    expect(doc.connections.map((c: { id: number }) => c.id)).toEqual(expected.map((c: { id: number }) => c.id));
    expect(doc.connections).toEqual(expected);
    expect(lines).toEqual(expected);
    expect(doc.servers).toEqual(JSON.parse(JSON.stringify(direct.diagnosis.servers)));
    expect(doc.connections.filter((c: { reason: string | null }) => c.reason === 'lifetime')).toHaveLength(4);
  });

  it('worker threads (--jobs 2) give the same records and file list as one thread', () => {
    // Given out of their time order: the document lists the files by first packet either way.
    const files = [join(CAPTURES, 'tls13-psk-resume.pcap'), join(CAPTURES, 'tls12-session-id-resume.pcap'), join(CAPTURES, 'nginx-session-timeout.pcap')];
    const run = (jobs: string) => {
      const json = join(work, `jobs-${jobs}.json`);
      const r = spawnSync(process.execPath, [BIN, 'analyze', ...files, '-q', '--jobs', jobs, '--json', json], { cwd: work, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(readFileSync(json, 'utf8'));
      return { connections: doc.connections.sort((a: { id: number }, b: { id: number }) => a.id - b.id), servers: doc.servers, captures: doc.captures };
    };
    const one = run('1');
    const two = run('2');
    expect(two.connections).toHaveLength(23);
    expect(two.connections).toEqual(one.connections);
    expect(two.servers).toEqual(one.servers);
    expect(two.captures).toEqual(one.captures);
    const starts = one.captures.map((c: { firstTime: number }) => c.firstTime);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });

  it('several files and folders are one analysis, whatever order they are given in', () => {
    const a = join(CAPTURES, 'tls12-full.pcap');
    const b = join(CAPTURES, 'tls13-psk-resume.pcap');
    const one = join(work, 'ab.json');
    const two = join(work, 'ba.json');
    expect(cli(['analyze', a, b, '--json', one, '-q']).code).toBe(0);
    expect(cli(['analyze', b, a, '--json', two, '-q']).code).toBe(0);
    // Ids follow the capture (first packet), whatever the order of files or threads.
    const strip = (p: string) => JSON.parse(readFileSync(p, 'utf8')).connections
      .sort((x: { id: number }, y: { id: number }) => x.id - y.id)
      .map((c: { id: number; client: unknown; resumption: string }) => [c.id, c.client, c.resumption]);
    expect(strip(one)).toEqual(strip(two));
    const folder = cli(['analyze', CAPTURES, '-q', '--json', join(work, 'folder.json')]);
    expect(folder.code).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'folder.json'), 'utf8')).captures.length).toBeGreaterThanOrEqual(10);
  });

  it('--each: every capture its own analysis and outputs, exactly what analysing it alone gives, on workers or not', () => {
    const files = [join(CAPTURES, 'tls12-session-id-resume.pcap'), join(CAPTURES, 'nginx-session-timeout.pcap'), join(CAPTURES, 'tls13-psk-resume.pcap')];
    const alone = files.map((file, i) => {
      const json = join(work, `alone-${i}.json`);
      expect(cli(['analyze', file, '-q', '--json', json]).code).toBe(0);
      return readFileSync(json, 'utf8');
    });
    for (const jobs of ['1', '2']) {
      const out = join(work, `each-${jobs}`);
      mkdirSync(out, { recursive: true });
      const r = cli(['analyze', '--each', ...files, '--jobs', jobs, '--json', join(out, '{name}.json'), '--csv', join(out, '{name}.csv')]);
      expect(r.code, r.stderr).toBe(0);
      // Byte for byte the single-file analysis: nothing from the other captures leaks in.
      expect(readFileSync(join(out, 'tls12-session-id-resume.json'), 'utf8')).toBe(alone[0]);
      expect(readFileSync(join(out, 'nginx-session-timeout.json'), 'utf8')).toBe(alone[1]);
      expect(readFileSync(join(out, 'tls13-psk-resume.json'), 'utf8')).toBe(alone[2]);
      expect(existsSync(join(out, 'tls13-psk-resume.csv'))).toBe(true);
      // One summary per capture, in the order given, then the count.
      const headers = r.stdout.split('\n').filter((line) => line.endsWith('.pcap:'));
      expect(headers).toEqual(files.map((f) => `${f}:`));
      expect(r.stdout.match(/^resumescope \S+: 1 capture file,/gm)).toHaveLength(3);
      expect(r.stdout).toContain(`3 captures analysed each on its own, ${jobs} at a time: 3 read whole\n`);
    }
  });

  it('--each: a capture that cannot be read fails alone (exit 1); outputs need {name}; two captures of one file name are told apart by their folders', () => {
    const bad = join(work, 'each-bad.pcap');
    writeFileSync(bad, 'garbage garbage garbage');
    const good = join(CAPTURES, 'tls12-full.pcap');
    const out = join(work, 'each-mixed');
    mkdirSync(out, { recursive: true });
    const r = cli(['analyze', '--each', bad, good, '--json', join(out, '{name}.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`resumescope: ${bad}: not a pcap or pcapng capture`);
    expect(r.stdout).toContain('2 captures analysed each on its own, 2 at a time: 1 read whole, 1 could not be analysed\n');
    expect(JSON.parse(readFileSync(join(out, 'tls12-full.json'), 'utf8')).connections).toHaveLength(1);
    expect(existsSync(join(out, 'each-bad.json'))).toBe(false);
    expect(cli(['analyze', '--each', bad, '-q']).code).toBe(2);

    const usage = (args: string[], message: RegExp) => {
      const u = cli(args);
      expect(u.code, args.join(' ')).toBe(2);
      expect(u.stderr.split('\n')[0]).toMatch(message);
    };
    usage(['analyze', '--each', good, '--json', join(out, 'all.json')], /--json .*all\.json: with --each every capture writes its own json; put \{name\} in the path \(e\.g\. out\/\{name\}\.json\)/);
    usage(['analyze', '--each', good, '--ndjson', '-'], /--ndjson -: with --each every capture writes its own ndjson/);
    usage(['analyze', good, '--json', join(out, '{name}.json')], /\{name\} in an output path needs --each/);
    usage(['analyze', '--each', '-'], /--each reads captures from files and folders, not stdin/);
    // Two captures of one file name in folders of their own: named by their folders.
    for (const host of ['h1', 'h2']) {
      mkdirSync(join(work, 'hosts', host), { recursive: true });
      copyFileSync(good, join(work, 'hosts', host, 'tls12-full.pcap'));
    }
    const hosts = cli(['analyze', '--each', join(work, 'hosts'), '--json', join(out, '{name}.json'), '-q']);
    expect(hosts.code, hosts.stderr).toBe(0);
    expect(existsSync(join(out, 'h1_tls12-full.json')) && existsSync(join(out, 'h2_tls12-full.json'))).toBe(true);
  });

  it('a folder\'s symbolic links to captures are followed; a link to a parent folder or to nothing does no harm', () => {
    const folder = join(work, 'linked');
    mkdirSync(folder, { recursive: true });
    copyFileSync(join(CAPTURES, 'tls12-full.pcap'), join(folder, 'a.pcap'));
    symlinkSync(join(CAPTURES, 'nginx-curl-resume.pcap'), join(folder, 'b.pcap'));
    symlinkSync(folder, join(folder, 'loop'));
    symlinkSync(join(work, 'nothing-here.pcap'), join(folder, 'c.pcap'));
    const json = join(work, 'linked.json');
    const r = cli(['analyze', folder, '--json', json]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.captures.map((c: { file: string }) => c.file.split('/').pop()).sort()).toEqual(['a.pcap', 'b.pcap']);
    expect(doc.connections).toHaveLength(4);
    // A folder of links only is a folder of captures.
    const onlyLinks = join(work, 'only-links');
    mkdirSync(onlyLinks, { recursive: true });
    symlinkSync(join(CAPTURES, 'tls12-full.pcap'), join(onlyLinks, 'x.pcap'));
    expect(cli(['analyze', onlyLinks, '-q']).code).toBe(0);
  });

  it('reads gzip captures and stdin', () => {
    const gz = join(work, 'full.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(CAPTURES, 'tls12-full.pcap'))));
    const r = cli(['analyze', gz, '--json', join(work, 'gz.json')]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(work, 'gz.json'), 'utf8'));
    expect(doc.captures[0].compressed).toBe(true);
    expect(doc.connections).toHaveLength(1);
    const stdin = cli(['analyze', '-', '--json', join(work, 'stdin.json')], readFileSync(join(CAPTURES, 'tls12-full.pcap')));
    expect(stdin.code).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'stdin.json'), 'utf8')).connections).toHaveLength(1);
  });

  it('not a capture: exit 2 and one line naming the file and why', () => {
    const text = join(work, 'notes.txt');
    writeFileSync(text, 'hello, this is not a capture\n');
    const empty = join(work, 'empty.pcap');
    writeFileSync(empty, '');
    const random = join(work, 'random.pcap');
    writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)));
    const emptyDir = join(work, 'empty-dir');
    mkdirSync(emptyDir, { recursive: true });
    // A capture's magic number and no more than part of its file header: nothing to read either.
    const stub = join(work, 'stub.pcap');
    writeFileSync(stub, readFileSync(join(CAPTURES, 'tls12-full.pcap')).subarray(0, 4));
    const stubNg = join(work, 'stub.pcapng');
    writeFileSync(stubNg, readFileSync(join(CAPTURES, 'tls12-ticket-resume.pcapng')).subarray(0, 20));
    // Cut inside the section header block's options, or inside the first packet record: not one
    // packet read (these passed as empty captures, exit 0, with a warning at "frame 1" or none).
    const headNg = join(work, 'head.pcapng');
    writeFileSync(headNg, readFileSync(join(CAPTURES, 'tls12-ticket-resume.pcapng')).subarray(0, 100));
    const headPcap = join(work, 'head.pcap');
    writeFileSync(headPcap, readFileSync(join(CAPTURES, 'tls12-full.pcap')).subarray(0, 40));
    for (const [path, why] of [[text, /not a pcap or pcapng capture/], [empty, /empty file/], [random, /not a pcap or pcapng/], [join(work, 'missing.pcap'), /no such file/], [emptyDir, /holds no capture files/],
      [stub, /too short to be a capture: it ends inside the pcap file header \(4 bytes\)/], [stubNg, /too short to be a capture: it ends inside the pcapng section header \(20 bytes\)/],
      [headNg, /too short to be a capture: it ends inside its first blocks, before any packet \(100 bytes\)/], [headPcap, /too short to be a capture: it ends inside its first packet record, before any packet \(40 bytes\)/]] as const) {
      const r = cli(['analyze', path]);
      expect(r.code, path).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(path);
      expect(lines[0]).toMatch(why);
    }
  });

  it('a cut pcapng whose packets name an undeclared interface holds packets: analysed with warnings, not refused as too short', () => {
    // Its packet blocks were read but none could be analysed: "too short ... before any packet", exit 2.
    const ng = readFileSync(join(CAPTURES, 'tls12-ticket-resume.pcapng'));
    const blocks: Buffer[] = [];
    for (let at = 0; at < ng.length; at += ng.readUInt32LE(at + 4)) {
      if (ng.readUInt32LE(at) !== 1) blocks.push(ng.subarray(at, at + ng.readUInt32LE(at + 4))); // drop the interface description
    }
    const path = join(work, 'no-interface-cut.pcapng');
    const whole = Buffer.concat(blocks);
    writeFileSync(path, whole.subarray(0, whole.length - 10));
    const r = cli(['analyze', path, '-q', '--json', join(work, 'no-interface.json')]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('too short');
    expect(r.stderr).toContain('which no interface description block declared');
  });

  it('some good and some bad files: the good ones are analysed, exit 1', () => {
    const text = join(work, 'bad.pcap');
    writeFileSync(text, 'garbage garbage garbage');
    const r = cli(['analyze', text, join(CAPTURES, 'tls12-full.pcap'), join(work, 'gone.pcap'), '--json', join(work, 'mixed.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.pcap');
    expect(r.stderr).toContain('gone.pcap: no such file');
    // The files read are counted, the others apart: the unreadable one was counted as read, the missing one not at all.
    expect(r.stdout).toMatch(/^resumescope \S+: 1 capture file \(2 more inputs could not be read\), 17 packets, 3\.4 kB\n/);
    expect(r.stdout).toMatch(/TLS connections\s+1 /);
    expect(JSON.parse(readFileSync(join(work, 'mixed.json'), 'utf8')).connections).toHaveLength(1);
  });

  it('a file without read permission is reported, not thrown', () => {
    if (process.getuid?.() === 0) {
      // root may read any file; /proc/self/mem still refuses a plain read (EIO).
      const r = cli(['analyze', '/proc/self/mem']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('/proc/self/mem');
      return;
    }
    const locked = join(work, 'locked.pcap');
    copyFileSync(join(CAPTURES, 'tls12-full.pcap'), locked);
    chmodSync(locked, 0);
    const r = cli(['analyze', locked]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/permission denied/);
  });


  it('an output that cannot be written: exit 2 and one line naming it, before any capture is read', () => {
    const capture = join(CAPTURES, 'tls12-full.pcap');
    const folder = join(work, 'a-folder');
    mkdirSync(folder, { recursive: true });
    for (const [flag, path, why] of [
      ['--json', join(work, 'no-such-folder', 'out.json'), /no such file or folder/],
      ['--ndjson', folder, /is a folder/],
      ['--csv', join(work, 'no-such-folder', 'out.csv'), /no such file or folder/],
      ['--report', join(work, 'no-such-folder', 'report.html'), /no such file or folder/],
      ['--pcapng-out', join(work, 'no-such-folder', 'x.pcapng'), /no such file or folder/],
    ] as const) {
      const r = cli(['analyze', capture, flag, path]);
      expect(r.code, flag).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, flag).toHaveLength(1);
      expect(lines[0]).toContain(`${flag} ${path}`);
      expect(lines[0]).toMatch(why);
      expect(r.stdout, 'nothing analysed').toBe('');
    }
  });

  it('refuses an output that is an input capture or another output, and two outputs on standard output', () => {
    const capture = join(work, 'precious.pcap');
    copyFileSync(join(CAPTURES, 'tls12-full.pcap'), capture);
    const original = readFileSync(capture);
    for (const [args, why] of [
      [[capture, '--json', capture], /--json .*precious\.pcap: is one of the input captures/],
      [[work, '--csv', join(work, '.', 'precious.pcap')], /--csv .*precious\.pcap: is one of the input captures/], // found in a folder
      [[capture, '--json', join(work, 'same.json'), '--ndjson', join(work, '.', 'same.json')], /--ndjson .*same\.json: the same file is already written by --json/],
      [[capture, '--json', '-', '--csv', '-'], /--csv -: standard output is already written by --json/],
    ] as const) {
      const r = cli(['analyze', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(why);
    }
    expect(readFileSync(capture).equals(original), 'the capture is untouched').toBe(true);
  });

  it('a file named twice (or also inside a folder given) is read once, with a note', () => {
    const folder = join(work, 'twice');
    mkdirSync(folder, { recursive: true });
    const capture = join(folder, 'resume.pcap');
    copyFileSync(join(CAPTURES, 'nginx-curl-resume.pcap'), capture);
    const once = cli(['analyze', capture, '-q', '--json', join(work, 'once.json')]);
    const r = cli(['analyze', folder, capture, join(folder, '.', 'resume.pcap'), '-q', '--json', join(work, 'twice.json')]);
    expect(once.code).toBe(0);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([`resumescope: ${capture}: named more than once; read once`, `resumescope: ${join(folder, '.', 'resume.pcap')}: named more than once; read once`]);
    const doc = JSON.parse(readFileSync(join(work, 'twice.json'), 'utf8'));
    expect(doc.captures).toHaveLength(1);
    expect(doc.connections).toEqual(JSON.parse(readFileSync(join(work, 'once.json'), 'utf8')).connections);
  });

  it('reads a pipe (a shell\'s <(command), gzip too) once; an output that would read it again is refused before reading', () => {
    const capture = join(CAPTURES, 'nginx-curl-resume.pcap');
    const json = join(work, 'pipe.json');
    const refused = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" analyze <(gzip -c "${capture}") -q --json "${json}" --pcapng-out "${join(work, 'pipe.pcapng')}"`], { encoding: 'utf8', timeout: 60_000 });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^resumescope: --pcapng-out reads the captures twice and cannot re-read the pipe \/dev\/fd\/\d+: give it a file/);
    expect(existsSync(json)).toBe(false);
    expect(existsSync(join(work, 'pipe.pcapng'))).toBe(false);
    const stdin = cli(['analyze', '-', '--pcapng-out', join(work, 'stdin.pcapng')], readFileSync(capture));
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toContain('cannot re-read stdin');
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" analyze <(gzip -c "${capture}") -q --json "${json}" --report "${join(work, 'pipe.html')}"`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.captures[0]).toMatchObject({ compressed: true, format: 'pcap', packets: 45 });
    expect(doc.connections).toHaveLength(3);
    expect(readFileSync(join(work, 'pipe.html'), 'utf8')).toContain('<html');
    // A gzip pipe of many read chunks is decompressed whole (a reused read buffer made it
    // "damaged" after 32 KiB, exit 0, a handful of connections).
    const farm = join(work, 'pipe-farm.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'idle-timeout', '--out', farm, '--quiet']);
    const big = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" analyze <(gzip -c "${farm}") -q --json "${json}"`], { encoding: 'utf8', timeout: 60_000 });
    expect(big.status).toBe(0);
    expect(big.stderr).toBe('');
    const whole = JSON.parse(readFileSync(json, 'utf8'));
    expect(whole.captures[0]).toMatchObject({ compressed: true, packets: 8197, anomalies: [] });
    expect(whole.connections).toHaveLength(359);
  });

  it('a device that fills up: exit 2 and one line naming the output', () => {
    const r = cli(['analyze', join(CAPTURES, 'nginx-curl-resume.pcap'), '--json', '/dev/full', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('resumescope: /dev/full: cannot write: no space left on the device');
  });

  it('a summary redirected to a full disk: one line on stderr and exit 2 (it was a stack trace and exit 1)', () => {
    const full = openSync('/dev/full', 'w');
    try {
      for (const args of [['analyze', join(CAPTURES, 'tls12-full.pcap')], ['--help'], ['analyze', join(CAPTURES, 'tls12-full.pcap'), '--json', '-']]) {
        const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', full, 'pipe'] });
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stderr, args.join(' ')).not.toContain('Unhandled');
        // Said once, by the output when "-" is one.
        expect(r.stderr.match(/resumescope: standard output: cannot write: no space left on the device/g), args.join(' ')).toHaveLength(1);
      }
    } finally {
      closeSync(full);
    }
  });

  it('--each: a capture whose output fails is counted apart, its summary and other outputs kept, exit 2', () => {
    const dir = join(work, 'each-full');
    mkdirSync(dir, { recursive: true });
    // Its JSON goes through a link to a full device.
    symlinkSync('/dev/full', join(dir, 'tls12-full.json'));
    const r = cli(['analyze', '--each', join(CAPTURES, 'tls12-full.pcap'), join(CAPTURES, 'tls12-ipv6.pcap'), '--json', join(dir, '{name}.json'), '--csv', join(dir, '{name}.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tls12-full.json: cannot write: no space left on the device');
    // Before: "1 could not be analysed", exit 1, though it was analysed and its CSV written.
    expect(r.stdout).toMatch(/2 captures analysed each on its own, \d at a time: 1 read whole, 1 analysed with an output not written/);
    expect(r.stdout).toMatch(/tls12-full\.json \(json\): not written/);
    expect(readFileSync(join(dir, 'tls12-full.csv'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(JSON.parse(readFileSync(join(dir, 'tls12-ipv6.json'), 'utf8')).connections).toHaveLength(1);
  });

  it('one output that fails leaves the others written, the summary shown and the state where it was', () => {
    const csv = join(work, 'beside-full.csv');
    const state = join(work, 'beside-full.state');
    const first = cli(['analyze', join(CAPTURES, 'tls12-session-id-resume.pcap'), '--state', state, '-q']);
    expect(first.code).toBe(0);
    const stateBefore = readFileSync(state);
    const r = cli(['analyze', join(CAPTURES, 'nginx-curl-resume.pcap'), '--json', '/dev/full', '--csv', csv, '--state', state]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('resumescope: /dev/full: cannot write: no space left on the device');
    // Before, the failed --json took the summary and the other outputs' lines with it.
    expect(r.stdout).toMatch(/TLS connections +3 /);
    expect(r.stdout).toContain('/dev/full (json): not written (the error is above)');
    expect(r.stdout).toMatch(/wrote \S*beside-full\.csv \(csv\)/);
    expect(r.stdout).toMatch(/beside-full\.state \(state\): left as it was, since an output failed/);
    expect(readFileSync(csv, 'utf8').trim().split('\n')).toHaveLength(4);
    expect(readFileSync(state).equals(stateBefore)).toBe(true);
    // So with --pcapng-out (it returned before the summary).
    const p = cli(['analyze', join(CAPTURES, 'tls12-rst-after-server-hello.pcap'), '--pcapng-out', '/dev/full', '--csv', csv]);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('resumescope: /dev/full: cannot write: no space left on the device');
    expect(p.stdout).toMatch(/TLS connections +3 /);
    expect(p.stdout).toContain('/dev/full (pcapng): not written (the error is above)');
  });

  it('"-" writes an output to standard output and moves the summary to standard error', () => {
    const r = cli(['analyze', join(CAPTURES, 'nginx-curl-resume.pcap'), '--ndjson', '-']);
    expect(r.code).toBe(0);
    const records = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: number; resumedBy: string | null });
    expect(records.map((c) => c.id)).toEqual([1, 2, 3]);
    expect(records.filter((c) => c.resumedBy === 'session-id')).toHaveLength(2);
    expect(r.stderr).toMatch(/TLS connections\s+3 /);
    expect(r.stderr).toContain('wrote standard output (ndjson)');
  });

  it('a reader that stops early (| head) ends the writing quietly, exit 0', () => {
    const many = join(work, 'many.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'bench', '--scale', '20', '--out', many, '--seed', '3'], { stdio: 'ignore' });
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" analyze "${many}" --ndjson - -q | head -c 100 >/dev/null; echo "exit \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr.trim()).toBe('exit 0');
    // The summary does not claim the output was written whole.
    const told = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" analyze "${many}" --ndjson - | head -c 100 >/dev/null; echo "exit \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8', timeout: 60_000 });
    expect(told.stderr).toContain('standard output (ndjson): its reader stopped reading before the end; the rest was not written');
    expect(told.stderr).not.toContain('wrote standard output');
    expect(told.stderr.trim().endsWith('exit 0')).toBe(true);
  });
  it('a capture cut in the middle of a packet keeps what was read and reports the cut', () => {
    const whole = readFileSync(join(CAPTURES, 'tls12-session-id-resume.pcap'));
    const cut = join(work, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 37));
    const r = cli(['analyze', cut, '--json', join(work, 'cut.json')]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(work, 'cut.json'), 'utf8'));
    expect(doc.connections).toHaveLength(3);
    expect(doc.captures[0].anomalies.map((a: { code: string }) => a.code)).toContain('file-cut-short');
    expect(doc.captures[0].anomalies[0].offset).toBeGreaterThan(0);
    // Without --json too, the user learns what and where (file and byte offset), as a warning.
    const { offset, frame, message } = doc.captures[0].anomalies[0] as { offset: number; frame: number; message: string };
    expect(frame).toBe(doc.captures[0].packets + 1); // the record that was cut
    expect(r.stderr).toBe(`resumescope: warning: ${cut} (byte ${offset.toLocaleString('en-US')}, frame ${frame}): ${message}\n`);
    expect(r.stdout).toMatch(/capture anomalies +1 /);
  });

  it('handshakes the capture lost bytes of are incomplete, not aborted, and the summary says how to capture them', () => {
    // tcpdump -s 120: every ClientHello cut short (the captured length shrinks, the original stays).
    const snapped = join(work, 'snap120.pcap');
    writeFileSync(snapped, withSnaplen(join(CAPTURES, 'nginx-curl-resume.pcap'), 120));
    const json = join(work, 'snap120.json');
    const r = cli(['analyze', snapped, '--json', json]);
    expect(r.code).toBe(0);
    // Each segment's first bytes show the TLS 1.3 handshakes through: the client's Finished, then
    // the server's data after it (test/snaplen.test.ts). Before, all three were "incomplete".
    expect(r.stdout).toMatch(/TLS connections +3 +\(handshake complete 3, aborted 0, incomplete 0\)/);
    // The cut ClientHellos' offers are unknown, not "nothing offered", and the summary says why.
    expect(r.stdout).toContain('not offered 0; unknown 3 (ClientHello cut by the snap length: capture with -s 0)');
    expect(JSON.parse(readFileSync(json, 'utf8')).connections.map((c: { resumption: string }) => c.resumption)).toEqual(['unknown', 'unknown', 'unknown']);
    expect(r.stdout).not.toContain('aborted handshakes');
    for (const c of JSON.parse(readFileSync(json, 'utf8')).connections) {
      expect(c.abort).toBeNull(); // was: aborted by the server "before the ClientHello"
      expect(c.anomalies.map((a: { code: string }) => a.code)).toContain('snaplen');
    }
    // Cut so short that no handshake header is left (a record header and one byte): nothing is
    // known of how they went, and the summary says how to capture them whole.
    writeFileSync(snapped, withSnaplen(join(CAPTURES, 'nginx-curl-resume.pcap'), 72));
    const shorter = cli(['analyze', snapped]);
    expect(shorter.stdout).toMatch(/TLS connections +3 +\(handshake complete 0, aborted 0, incomplete 3\)/);
    expect(shorter.stdout).toContain('lost to the capture 3 cut by the snap length (capture with -s 0): handshakes incomplete, outcome unknown');
    // The first connection's server flight (ServerHello … ServerHelloDone, one segment) missing from the capture.
    const dropped = join(work, 'dropped.pcap');
    writeFileSync(dropped, rewritePcapRecords(join(CAPTURES, 'tls12-session-id-resume.pcap'), (record, index) => (index === 5 ? null : record)));
    const d = cli(['analyze', dropped, '--json', json]);
    expect(d.stdout).toMatch(/\(handshake complete 2, aborted 0, incomplete 1\)/);
    expect(d.stdout).toContain('lost to the capture 1 with segments missing from the capture');
    const first = JSON.parse(readFileSync(json, 'utf8')).connections[0];
    expect(first).toMatchObject({ handshake: 'incomplete', abort: null });
    expect(first.anomalies.map((a: { code: string }) => a.code)).toContain('tcp-gap');
    // One direction only (a tap on the client's side of asymmetric routing): every packet from the
    // server's port (Ethernet 14 + IPv4 20 bytes in: the TCP source port) left out.
    const oneWay = join(work, 'one-way.pcap');
    writeFileSync(oneWay, rewritePcapRecords(join(CAPTURES, 'nginx-session-timeout.pcap'), (record) => (record.readUInt16BE(16 + 34) === 44313 ? null : record)));
    const o = cli(['analyze', oneWay, '--json', json]);
    expect(o.stdout).toMatch(/TLS connections +18 +\(handshake complete 0, aborted 0, incomplete 18\)/); // was: 18 aborted by the client
    expect(o.stdout).toContain('lost to the capture 18 with one direction only (capture where both directions pass)');
    for (const c of JSON.parse(readFileSync(json, 'utf8')).connections) {
      expect(c.abort).toBeNull();
      expect(c.anomalies.find((a: { code: string }) => a.code === 'one-way')?.message).toMatch(/^no packet of the server was captured/);
    }
  });

  it('behind a load balancer that sends PROXY headers: clients known by the header, said in the summary, in JSON and CSV', () => {
    const json = join(work, 'proxy.json');
    const csv = join(work, 'proxy.csv');
    const r = cli(['analyze', join(CAPTURES, 'haproxy-proxy-protocol.pcap'), '--json', json, '--csv', csv]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('PROXY protocol      6 connections came through a load balancer that named its client: clients are known by that address\n');
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.connections.map((c: { proxiedClient: { ip: string } }) => c.proxiedClient.ip)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3']);
    expect(doc.clients.clients).toBe(2);
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(ROOT, 'docs', 'schema.json'), 'utf8')));
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const [header, first] = readFileSync(csv, 'utf8').split('\n');
    // Columns added later come after the earlier ones: a script reading by position keeps working.
    const columns = header!.split(',');
    const from = columns.indexOf('proxiedClient.ip');
    expect(columns.slice(from, from + 4)).toEqual(['proxiedClient.ip', 'proxiedClient.port', 'proxyHeader', 'fullHandshakeOnlyBytes']);
    expect(first!.split(',').slice(from, from + 4)).toEqual(['127.0.0.2', String(doc.connections[0].proxiedClient.port), 'client', String(doc.connections[0].fullHandshakeOnlyBytes)]);
    // The first connection is a full TLS 1.3 handshake: its certificate flight, as the JSON says.
    expect(doc.connections[0].fullHandshakeOnlyBytes).toBeGreaterThan(1000);
    expect(cli(['analyze', join(CAPTURES, 'tls12-full.pcap')]).stdout).not.toContain('PROXY protocol');
  });

  it('a capture taken inside VXLAN (a traffic mirror) is analysed inside, and says so', () => {
    const json = join(work, 'vxlan.json');
    const r = cli(['analyze', join(CAPTURES, 'vxlan-session-id-resume.pcap'), '--json', json]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/TLS connections +4 /);
    expect(r.stdout).toContain('tunnels opened      68 packets in VXLAN: the connections inside are analysed\n');
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.captures[0].encapsulated).toEqual({ vxlan: 68, geneve: 0, gre: 0, erspan: 0, mpls: 0, ipInIp: 0 });
    // The connections are the ones inside: overlay addresses, not the underlay's.
    expect(new Set(doc.connections.map((c: { server: { ip: string } }) => c.server.ip))).toEqual(new Set(['192.168.77.2']));
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(ROOT, 'docs', 'schema.json'), 'utf8')));
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(cli(['analyze', join(CAPTURES, 'tls12-full.pcap')]).stdout).not.toContain('tunnels opened');
  });

  it('TLS over UDP (QUIC, DTLS) is counted and named, not silently absent', () => {
    const udp = (payload: Uint8Array) => ethernet(0x0800, ipv4(concat(u16be(50000), u16be(443), u16be(8 + payload.length), u16be(0), payload), { protocol: 17 }));
    // RFC 9000 §17.2.2: a QUIC v1 Initial (padded to 1200 bytes, §14.1); RFC 6347 §4.1: a DTLS 1.2 handshake record.
    const quicInitial = concat([0xc3], u32be(1), [8], fill(8, 0x11), [0], fill(1200 - 15, 0));
    const dtls = concat([22, 254, 253], u16be(0), fill(6), u16be(40), fill(40, 1));
    const file = join(work, 'udp-only.pcap');
    writeFileSync(file, pcapFile([quicInitial, quicInitial, dtls, fill(20, 0x80)].map((p, i) => ({ seconds: 1700000000 + i, fraction: 0, data: udp(p) }))));
    const json = join(work, 'udp-only.json');
    const r = cli(['analyze', file, '--json', json]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/TLS connections +0 /);
    expect(r.stdout).toContain('TLS over UDP        QUIC 2 handshake datagrams, DTLS 1 datagram: not analysed (resumescope follows TLS over TCP)\n');
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.captures[0].tlsOverUdp).toEqual({ quicHandshakeDatagrams: 2, dtlsDatagrams: 1 });
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(ROOT, 'docs', 'schema.json'), 'utf8')));
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    // A capture without any: no such line.
    expect(cli(['analyze', join(CAPTURES, 'tls12-full.pcap')]).stdout).not.toContain('TLS over UDP');
  });

  it('damage read around is shown on stderr: the first three places of each file, then how many more', () => {
    const whole = Buffer.from(readFileSync(join(CAPTURES, 'nginx-cache-capacity.pcap')));
    // Five packet record headers (pcap-savefile(5)) given an impossible captured length.
    const recordStarts: number[] = [];
    for (let at = 24; at + 16 <= whole.length; at += 16 + whole.readUInt32LE(at + 8)) recordStarts.push(at);
    const damagedAt = [40, 80, 120, 160, 200].map((k) => recordStarts[k]!);
    for (const at of damagedAt) whole.writeUInt32LE(0x7fffff00, at + 8);
    const damaged = join(work, 'five-bad-records.pcap');
    writeFileSync(damaged, whole);
    const json = join(work, 'five-bad-records.json');
    const r = cli(['analyze', damaged, '--json', json]);
    expect(r.code).toBe(0);
    const anomalies = JSON.parse(readFileSync(json, 'utf8')).captures[0].anomalies as { offset: number; code: string }[];
    expect(anomalies.map((a) => a.offset)).toEqual(damagedAt);
    const warnings = r.stderr.trimEnd().split('\n');
    expect(warnings.slice(0, 3)).toEqual(damagedAt.slice(0, 3).map((at, k) =>
      // The frame a damaged record would have been: records read before it + 1 (a skipped one gets no number).
      `resumescope: warning: ${damaged} (byte ${at.toLocaleString('en-US')}, frame ${[41, 80, 119][k]}): implausible packet record header (captured length ${0x7fffff00}); scanning for the next sane record`));
    expect(warnings.slice(3)).toEqual([`resumescope: warning: ${damaged}: 2 more (under "anomalies" in --json)`]);
    expect(r.stdout).toMatch(/capture anomalies +5 \(the first 3 of each file on stderr/);
  });

  it('a .gz cut short or damaged: what came before is analysed, the anomaly says where reading stopped, exit 1', () => {
    const farm = join(work, 'gz-farm.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'bench', '--scale', '3', '--out', farm, '--seed', '4', '--quiet']);
    const whole = gzipSync(readFileSync(farm));
    const cut = join(work, 'cut.pcap.gz');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.8)));
    const damaged = join(work, 'damaged.pcap.gz');
    const bad = Buffer.from(whole);
    for (let i = 0; i < 64; i++) bad[Math.floor(bad.length * 0.6) + i] ^= 0x5a; // deflate data (RFC 1951) damaged mid-file
    writeFileSync(damaged, bad);
    for (const [path, why] of [[cut, /the compressed data ends early/], [damaged, /the compressed data is damaged/]] as const) {
      const json = join(work, 'gz.json');
      const r = cli(['analyze', path, '--json', json, '-q']);
      // Read in part: the outputs are written, and the exit status says not all of it was read.
      expect(r.code, path).toBe(1);
      const capture = JSON.parse(readFileSync(json, 'utf8')).captures[0];
      const stop = capture.anomalies.find((a: { code: string }) => a.code === 'read-error');
      expect(stop.message).toMatch(why);
      expect(stop.message).toMatch(/^reading stopped after [\d,]+ bytes of the capture/);
      expect(stop.offset).toBe(capture.bytes);
      expect(capture.packets).toBeGreaterThan(0);
      expect(capture.linkTypes, 'the reader was finished').toEqual(['ETHERNET']);
    }
  });

  it('prints the inferred policy and top findings for a farm capture', () => {
    const out = join(work, 'idle.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'idle-timeout', '--out', out]);
    const r = cli(['analyze', out, '--json', join(work, 'idle.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cache policy www\.idle\.test:443: idle timeout 5m00s/);
    expect(r.stdout).toMatch(/\[critical\] Sessions are dropped after 5m00s idle/);
    // What would have helped: the JSON's what-ifs, the most saving first, one group so no group named.
    const whatIf = JSON.parse(readFileSync(join(work, 'idle.json'), 'utf8')).whatIf as { description: string; fullHandshakesAvoided: number; bytesSaved: number; roundTripsSaved: number }[];
    expect(whatIf.length).toBeGreaterThan(0);
    const best = [...whatIf].sort((a, b) => b.fullHandshakesAvoided - a.fullHandshakesAvoided)[0]!;
    // With the bytes and round trips it saves (the farm's handshakes: kilobytes each).
    expect(best.bytesSaved).toBeGreaterThan(best.fullHandshakesAvoided * 1000);
    const kilobytes = `${(best.bytesSaved / 1e3).toFixed(1)} kB`;
    expect(r.stdout).toContain('what would have helped (each change alone: full handshakes, bytes and round trips it saves in this capture):\n' +
      `  ${best.fullHandshakesAvoided.toLocaleString('en-US').padStart(7)}  ${kilobytes.padStart(8)}  ${best.roundTripsSaved.toLocaleString('en-US').padStart(7)}  ${best.description}\n`);
    // The finding's Wireshark filter selects the connections it lists, all of them, in tshark.
    const finding = JSON.parse(readFileSync(join(work, 'idle.json'), 'utf8')).findings.find((f: { code: string }) => f.code === 'idle-timeout');
    expect(finding.evidence).toHaveLength(50);
    const streams = execFileSync('tshark', ['-n', '-r', out, '-Y', finding.wiresharkFilter, '-T', 'fields', '-e', 'tcp.stream'], { encoding: 'utf8' });
    expect(new Set(streams.trim().split('\n')).size).toBe(50);
  });

  it('many server groups: the summary lists those the findings name, gravest first, and counts the rest', () => {
    const r = cli(['analyze', CAPTURES, '--json', join(work, 'all.json')]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(work, 'all.json'), 'utf8'));
    const policyLines = r.stdout.split('\n').filter((l) => l.startsWith('cache policy '));
    expect(policyLines).toHaveLength(5);
    const critical = new Set(doc.findings.filter((f: { severity: string; group: string | null }) => f.severity === 'critical' && f.group !== null).map((f: { group: string }) => f.group));
    expect(critical.size).toBeGreaterThan(5);
    for (const line of policyLines) expect(critical.has(line.slice('cache policy '.length, line.indexOf(': ')))).toBe(true);
    const listed = doc.servers.filter((s: { offers: number; cachePolicy: { issuesNoSessions: { detected: boolean }; tls13TicketsUnseen: { detected: boolean } } }) =>
      s.offers > 0 || s.cachePolicy.issuesNoSessions.detected || s.cachePolicy.tls13TicketsUnseen.detected).length;
    expect(r.stdout).toContain(`  … ${listed - 5} more server groups (all in --json and --report)\n`);
    // Several groups: each what-if names its group; the rest are counted.
    expect(r.stdout).toMatch(/what would have helped \(each change alone: full handshakes, bytes and round trips it saves in this capture\):\n( +[\d,]+ +[\d.]+ k?B +[\d,]+  .+ \(\S+:\d+\)\n){3}  … \d+ more \(all in --json and --report\)\nwrote /);
  });

  it('an SNI with terminal control characters is printed as visible escapes, never acted on', () => {
    // ESC [31m would recolour the terminal; CR LF would forge a line of the summary.
    const sni = 'ansi\u001b[31mRED\u001b[0m\r\nfake: line.evil';
    const config = join(work, 'ansi.json');
    writeFileSync(config, JSON.stringify({
      duration: 900,
      services: [{ sni, policy: { idleTimeout: 120, lifetime: 36000, capacity: null, purgeOnAbort: false } }],
      clients: { count: 6, meanGap: 60, minGap: 5, longGapShare: 0.3, longGap: [150, 300], firstConnectionSpread: 60 },
    }));
    const capture = join(work, 'ansi.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--config', config, '--out', capture, '--quiet']);
    const r = cli(['analyze', capture]);
    expect(r.code).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(r.stdout).toContain('cache policy ansi\\x1b[31mred\\x1b[0m\\x0d\\x0afake: line.evil:443: idle timeout 2m00s');
    expect(r.stdout.split('\n').some((line) => line.startsWith('fake:'))).toBe(false);
  });

  it('says which refused tickets were sealed under a key the server no longer uses', () => {
    const r = cli(['analyze', join(CAPTURES, 'nginx-tls13-ticket-key-before-capture.pcap')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cache policy resumescope\.test:44366: .*; 8 tickets under a key not in use\n/);
    expect(r.stdout).toContain('[critical] 8 tickets sealed under a key that resumescope.test:44366 no longer uses were refused');
  });

  it('--progress shows reading, then the diagnosis and the writing, and leaves a clean line', () => {
    const out = join(work, 'progress.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'idle-timeout', '--scale', '4', '--out', out]);
    const r = cliOnTerminal(['analyze', out, '-q', '--progress', '--ndjson', join(work, 'progress.ndjson')]);
    expect(r.code).toBe(0);
    const connections = readFileSync(join(work, 'progress.ndjson'), 'utf8').trim().split('\n').length;
    expect(connections).toBeGreaterThan(1000);
    expect(r.stderr).toMatch(/\] +\d+% [\d.]+\/[\d.]+ MB {2}.*progress\.pcap \(1\/1\)/);
    expect(r.stderr).toContain(`diagnosing ${connections.toLocaleString('en-US')} connections…`);
    expect(r.stderr).toMatch(/writing [\d,]+ of [\d,]+ connections/);
    // Every status line is overwritten in place and the last one is cleared.
    expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
    expect(r.stderr).not.toContain('\n');
    // Into a log (not a terminal): whole lines, a few, no carriage returns or erase sequences.
    const logged = cli(['analyze', out, '-q', '--progress']);
    expect(logged.code).toBe(0);
    expect(logged.stderr).not.toMatch(/[\r\x1b]/);
    const lines = logged.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^resumescope: +\d+% [\d.]+\/[\d.]+ MB {2}.*progress\.pcap \(1\/1\)$/);
    for (const line of lines) expect(line).toMatch(/^resumescope: /);
  });

  it('--each --progress: the bytes read over all captures and how many are done, cleared at the end', () => {
    const big = join(work, 'each-progress-a.pcap');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'fixtures', 'simulator', 'cli.js'), '--preset', 'idle-timeout', '--scale', '4', '--out', big]);
    const small = join(CAPTURES, 'tls12-full.pcap');
    const r = cliOnTerminal(['analyze', '--each', big, small, '-q', '--progress', '--jobs', '2']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\r').filter((l) => l.length > 0);
    expect(lines[0]).toBe('[..............................]   0% read, 0 of 2 captures analysed (2 at a time)\x1b[K');
    // The small capture is done while the large one is still read; the bar grows with the bytes.
    expect(r.stderr).toMatch(/\] +\d+% read, 1 of 2 captures analysed \(2 at a time\)/);
    // (Bytes are reported at most five times a second: this 23 MB capture is read before the first.)
    const percents = lines.map((l) => /(\d+)% read/.exec(l)).filter((m) => m !== null).map((m) => Number(m![1]));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
    expect(r.stderr).not.toContain('\n');
  });
});
