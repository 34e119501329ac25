import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../parser/diagnose/diagnose.js';
import type { SessionView } from '../parser/diagnose/types.js';
import { offerTime } from '../parser/session/session-table.js';
import { decodeSessionState } from '../parser/session/session-state.js';
import type { ConnectionRecord } from '../parser/report/types.js';
import { simulateAndAnalyze } from './support/pipeline.js';
import { rewritePcapRecords } from './support/pcap-edit.js';
import type { PresetName } from '../fixtures/simulator/presets.js';
import { StateFileWriter, stateFileStamp } from '../app/cli/state-file.js';

// --state: a capture cut into files analysed one at a time, each carrying its sessions to the next,
// must know every session as the analysis of the whole capture does: an offer in a later file of a
// session issued in an earlier one has the same age, idle time and churn, not "issued before the capture".

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'resumescope.js');
const CAPTURES = join(ROOT, 'fixtures', 'captures');
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'resumescope-state-'));
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The connections cut in two at the median ClientHello time, as two files of a series would hold them. */
function splitAtMiddle(connections: ConnectionRecord[]): { middle: number; first: ConnectionRecord[]; second: ConnectionRecord[] } {
  const times = connections.map(offerTime).sort((a, b) => a - b);
  const middle = times[Math.floor(times.length / 2)]!;
  return { middle, first: connections.filter((c) => offerTime(c) < middle), second: connections.filter((c) => offerTime(c) >= middle) };
}

/** The session view the diagnosis gave a connection (null: none). */
function sessionOf(c: ConnectionRecord): SessionView | null {
  return (c.session ?? null) as SessionView | null;
}

/** The facts of a connection's session that carrying must keep (not the connection that issued it: it is in another analysis). */
function sessionFacts(c: ConnectionRecord) {
  const s = sessionOf(c);
  return s === null ? null : { role: s.role, kind: s.kind, known: s.known, issuedAt: s.issuedAt, age: s.age, reuseGap: s.reuseGap, churn: s.churn, crossAddress: s.crossAddress, issuer: s.issuer };
}

describe('--state: sessions carried from one analysis to the next', () => {
  const presets: PresetName[] = ['idle-timeout', 'lru-capacity', 'tls13-psk', 'version-mix', 'ticket-rotation', 'lb-no-shared-cache', 'proxy-protocol'];
  for (const preset of presets) {
    it(`${preset}: the second half, carried on from the first, knows every session as the whole capture does`, () => {
      const { connections } = simulateAndAnalyze(preset, 1, 5);
      diagnose(connections);
      const whole = new Map(connections.map((c) => [c.id, sessionFacts(c)]));
      const { first, second } = splitAtMiddle(connections);

      const earlier = diagnose(first, { carryOut: true });
      // Through the file format, as the CLI carries it.
      const carried = earlier.carriedOut!;
      expect(decodeSessionState(carried).sessions.kind.length).toBe(earlier.sessions.carriedOut);
      const later = diagnose(second, { carriedIn: carried, carryOut: true });
      expect(later.sessions.carriedIn).toBe(earlier.sessions.carriedOut);
      let knownOffers = 0;
      for (const c of second) {
        expect(sessionFacts(c), `connection ${c.id}`).toEqual(whole.get(c.id));
        if (sessionOf(c)?.role === 'offer' && sessionOf(c)!.known) knownOffers++;
        if (c.reason === 'issued-before-capture') expect(whole.get(c.id)?.known).toBe(false);
      }
      // Without the state, the second half knows fewer: the test is not vacuous.
      const alone = diagnose(second);
      const knownAlone = second.filter((c) => sessionOf(c)?.role === 'offer' && sessionOf(c)!.known).length;
      expect(knownAlone).toBeLessThan(knownOffers);
      // Each group's sessionsIssued counts the sessions issued in this analysis, not those carried in.
      const issued = (servers: { group: string; sessionsIssued: number }[]) => Object.fromEntries(servers.map((s) => [s.group, s.sessionsIssued]));
      expect(issued(later.servers)).toEqual(issued(alone.servers));
    });
  }

  it('version-mix: each session\'s TLS version is carried, so the second half finds every version change the whole capture does', () => {
    let changes = 0;
    for (const seed of [1, 2]) {
      const { connections } = simulateAndAnalyze('version-mix', 1, seed);
      diagnose(connections);
      const whole = new Map(connections.map((c) => [c.id, c.reason]));
      const { first, second } = splitAtMiddle(connections);
      const carried = diagnose(first, { carryOut: true }).carriedOut!;
      const state = decodeSessionState(carried);
      // TLS 1.2 session IDs from the TLS 1.2 backend, TLS 1.3 PSKs from the others.
      expect(new Set(state.sessions.version)).toEqual(new Set([4, 5]));
      diagnose(second, { carriedIn: carried });
      for (const c of second) expect(c.reason, `seed ${seed} connection ${c.id}`).toBe(whole.get(c.id));
      changes += second.filter((c) => c.reason === 'version-change').length;
    }
    expect(changes).toBeGreaterThan(50);
  });

  it('the last of four files, carried on from the three before, infers the policies the whole capture shows (and alone cannot)', () => {
    type Policy = { idle: number | null; capacity: number | null; flushes: number };
    const policies = (d: ReturnType<typeof diagnose>): Record<string, Policy> => Object.fromEntries(d.servers.map((s) => [s.group, {
      idle: s.cachePolicy.idleTimeout.seconds, capacity: s.cachePolicy.capacity.entries, flushes: s.cachePolicy.flushes.length,
    }]));
    for (const preset of ['mixed', 'flush', 'fifo-capacity'] as const) {
      const { connections } = simulateAndAnalyze(preset, 1, 5);
      const whole = policies(diagnose(connections));
      const times = connections.map(offerTime).sort((a, b) => a - b);
      const cuts = [0.25, 0.5, 0.75].map((q) => times[Math.floor(times.length * q)]!);
      const files = [0, 1, 2, 3].map((i) => connections.filter((c) => (i === 0 || offerTime(c) >= cuts[i - 1]!) && (i === 3 || offerTime(c) < cuts[i]!)));
      let state = undefined;
      let last = null;
      for (const file of files) {
        last = diagnose(file, { ...(state ? { carriedIn: state } : {}), carryOut: true });
        state = last.carriedOut!;
      }
      const chained = policies(last!);
      const alone = policies(diagnose(files[3]!));
      // Each limit and flush of the whole capture, found again from the last file with what it carried in.
      let shownOnlyCarried = 0;
      for (const [group, w] of Object.entries(whole)) {
        if (w.idle !== null) expect(chained[group]?.idle, `${preset} ${group} idle`).toBe(w.idle);
        if (w.capacity !== null) expect(chained[group]?.capacity, `${preset} ${group} capacity`).toBe(w.capacity);
        expect(chained[group]?.flushes ?? 0, `${preset} ${group} flushes`).toBe(w.flushes);
        if ((w.idle !== null && alone[group]?.idle !== w.idle) || (w.capacity !== null && alone[group]?.capacity !== w.capacity) || (alone[group]?.flushes ?? 0) !== w.flushes) shownOnlyCarried++;
      }
      expect(shownOnlyCarried, preset).toBeGreaterThan(0);
    }
  });

  it('carries each client\'s latest session: a client that comes back in the next file and offers nothing forgot it, as in the whole capture', () => {
    const { connections } = simulateAndAnalyze('client-forgets', 1, 5);
    diagnose(connections);
    const wholeForgot = new Set(connections.filter((c) => c.reason === 'client-forgot').map((c) => c.id));
    const { first, second } = splitAtMiddle(connections);
    const carried = diagnose(first, { carryOut: true }).carriedOut!;
    const state = decodeSessionState(carried);
    // One entry per client and TLS stack holding a carried session, by the client's address.
    expect(state.clients.length).toBeGreaterThan(10);
    const addresses = new Set(first.map((c) => c.client.ip));
    for (const client of state.clients) {
      expect(addresses.has(client.address)).toBe(true);
      expect(client.session).toBeLessThan(state.sessions.kind.length);
    }
    const later = diagnose(second, { carriedIn: carried, carryOut: true });
    const forgotLater = second.filter((c) => c.reason === 'client-forgot').map((c) => c.id);
    const forgotWhole = second.filter((c) => wholeForgot.has(c.id)).map((c) => c.id);
    expect(forgotLater).toEqual(forgotWhole);
    // Alone, the second file misses the clients whose first connection in it forgot.
    diagnose(second);
    const forgotAlone = second.filter((c) => c.reason === 'client-forgot').length;
    expect(forgotAlone).toBeLessThan(forgotWhole.length);
    // Carried on again: the clients of both files, each once per group and stack.
    const again = decodeSessionState(later.carriedOut!);
    const keys = again.clients.map((c) => `${c.group}|${c.stack}|${c.address}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(again.clients.length).toBeGreaterThanOrEqual(state.clients.length);
  });

  it('carries aborted handshakes\' sessions and the series\' start: the second half gives every refusal the whole capture\'s reason', () => {
    // purge-on-abort: a session offered by a handshake the client reset in the first file and
    // refused in the second was "unexplained" there (3–5 per seed) before aborts were carried.
    // mixed: a session never seen in either file is idle at least since the first file began;
    // from the second file's start only, its refusal was "issued before the capture" instead of
    // the idle timeout's (seeds 1 and 3).
    const cases: [PresetName, number][] = [['purge-on-abort', 1], ['purge-on-abort', 2], ['purge-on-abort', 3], ['mixed', 1], ['mixed', 3]];
    let carriedAborts = 0;
    let differAlone = 0;
    for (const [preset, seed] of cases) {
      const { connections } = simulateAndAnalyze(preset, 1, seed);
      diagnose(connections);
      const whole = new Map(connections.map((c) => [c.id, c.reason]));
      const { first, second } = splitAtMiddle(connections);
      const carried = diagnose(first, { carryOut: true }).carriedOut!;
      const state = decodeSessionState(carried);
      carriedAborts += state.aborts.length + state.unknownAborts.length;
      expect(state.observedSince, `${preset} ${seed}`).toBe(Math.min(...first.map((c) => c.startTime)));
      diagnose(second, { carriedIn: carried });
      for (const c of second) expect(c.reason, `${preset} ${seed} connection ${c.id}`).toBe(whole.get(c.id));
      const purged = second.filter((c) => c.reason === 'purged-after-abort' && sessionOf(c)?.abortedBy === null);
      if (preset === 'purge-on-abort') expect(purged.length, `${preset} ${seed}: purges of sessions aborted in the first file`).toBeGreaterThan(0);
      for (const c of purged) expect(c.reasonDetail).toMatch(/^a connection of an earlier analysis \(the state carried in\) offered this session/);
      diagnose(second);
      differAlone += second.filter((c) => c.reason !== whole.get(c.id)).length;
    }
    expect(carriedAborts).toBeGreaterThan(0);
    // Alone, the second halves get other reasons: the test is not vacuous.
    expect(differAlone).toBeGreaterThan(10);
  });

  it('carries on only sessions used within seven days of the latest use (RFC 8446 §4.6.1)', () => {
    const { connections } = simulateAndAnalyze('idle-timeout', 1, 5);
    const all = decodeSessionState(diagnose(connections, { carryOut: true }).carriedOut!);
    // The same traffic, its first half eight days earlier.
    const { middle } = splitAtMiddle(connections);
    const shifted = connections.map((c) => (offerTime(c) < middle ? shift(c, -8 * 86400) : c));
    const carried = decodeSessionState(diagnose(shifted, { carryOut: true }).carriedOut!);
    expect(carried.sessions.kind.length).toBeGreaterThan(0);
    expect(carried.sessions.kind.length).toBeLessThan(all.sessions.kind.length);
    for (const t of carried.sessions.lastUse) expect(t).toBeGreaterThanOrEqual(carried.lastTime - 7 * 86400);
  });
});

function shift(c: ConnectionRecord, seconds: number): ConnectionRecord {
  const by = (t: number | null) => (t === null ? null : t + seconds);
  return { ...c, startTime: c.startTime + seconds, clientHelloTime: by(c.clientHelloTime), serverHelloTime: by(c.serverHelloTime), endTime: c.endTime + seconds };
}

describe('resumescope analyze --state (real OpenSSL s_server, sessions purged after a fatal alert, cut between an abort and the refusal)', () => {
  it('the second file puts its first refusal down to the abort in the first, as the whole capture does', () => {
    const capture = join(CAPTURES, 'tls12-alert-purge.pcap');
    // Records 0–108 end with the third aborted resumption (connection 8); record 109 is the SYN of
    // connection 9, whose offer of that session the server refuses.
    writeFileSync(join(work, 'purge1.pcap'), rewritePcapRecords(capture, (r, i) => (i < 109 ? r : null)));
    writeFileSync(join(work, 'purge2.pcap'), rewritePcapRecords(capture, (r, i) => (i >= 109 ? r : null)));
    expect(cli(['analyze', 'purge1.pcap', '--state', 'purge.state', '-q']).code).toBe(0);
    // The sessions the three aborted resumptions offered (connections 2, 5, 8), as the whole keeps them.
    expect(decodeSessionState(readFileSync(join(work, 'purge.state'))).aborts).toHaveLength(3);
    expect(cli(['analyze', 'purge2.pcap', '--state', 'purge.state', '--json', 'purge2.json', '-q']).code).toBe(0);
    const chained = JSON.parse(readFileSync(join(work, 'purge2.json'), 'utf8'));
    const reasons = (doc: { connections: ConnectionRecord[] }) => doc.connections.map((c) => c.reason ?? null);
    expect(reasons(chained)).toEqual(['purged-after-abort', null, null, 'purged-after-abort', null]);
    // The carried abort names no connection: it was in the other analysis.
    expect(chained.connections[0].session.abortedBy).toBeNull();
    expect(chained.connections[3].session.abortedBy).toBe(3);
    expect(chained.servers[0].cachePolicy.purgeOnAbort).toMatchObject({ detected: true, offersAfterAbort: 2, rejectedAfterAbort: 2, evidence: [3] });
    // Alone, the second file has one offer after an abort: not enough to tell a purge.
    expect(cli(['analyze', 'purge2.pcap', '--json', 'purge2-alone.json', '-q']).code).toBe(0);
    const alone = JSON.parse(readFileSync(join(work, 'purge2-alone.json'), 'utf8'));
    expect(reasons(alone)).toEqual(['issued-before-capture', null, null, 'unexplained', null]);
    expect(alone.servers[0].cachePolicy.purgeOnAbort.detected).toBe(false);
  });
});

describe('resumescope analyze --state (real nginx, session IDs with a 4 s timeout, cut into two files)', () => {
  const capture = join(CAPTURES, 'nginx-session-timeout.pcap');
  // Record 104 is the SYN of the ninth of eighteen connections (13 packets each, one after another).
  const split = () => {
    writeFileSync(join(work, 'part1.pcap'), rewritePcapRecords(capture, (r, i) => (i < 104 ? r : null)));
    writeFileSync(join(work, 'part2.pcap'), rewritePcapRecords(capture, (r, i) => (i >= 104 ? r : null)));
  };

  it('the second file knows the session issued in the first, with its age and idle time', () => {
    split();
    expect(cli(['analyze', capture, '--json', 'whole.json', '-q']).code).toBe(0);
    const first = cli(['analyze', 'part1.pcap', '--state', 'farm.state', '--json', 'part1.json']);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('wrote farm.state (state: 0 sessions carried in, 2 carried on)');
    const second = cli(['analyze', 'part2.pcap', '--state', 'farm.state', '--json', 'part2.json']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/wrote farm\.state \(state: 2 sessions carried in, \d+ carried on\)/);
    const whole = JSON.parse(readFileSync(join(work, 'whole.json'), 'utf8'));
    const part2 = JSON.parse(readFileSync(join(work, 'part2.json'), 'utf8'));
    expect(part2.sessions.carriedIn).toBe(2);
    // Streamed through a temporary file, renamed in place: none is left.
    expect(readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const byStart = new Map(whole.connections.map((c: ConnectionRecord) => [c.startTime, c]));
    expect(part2.connections).toHaveLength(10);
    for (const c of part2.connections) {
      const w = byStart.get(c.startTime) as ConnectionRecord;
      expect(sessionFacts(c)).toEqual(sessionFacts(w));
    }
    // The first connection of the second file resumed the session issued 3.77 s earlier, in the first file.
    expect(part2.connections[0].session).toMatchObject({ known: true, issuedBy: null, churn: 1 });
    expect(part2.connections[0].session.age).toBeCloseTo(3.768, 3);
    // Alone, the second file cannot know it.
    expect(cli(['analyze', 'part2.pcap', '--json', 'alone.json', '-q']).code).toBe(0);
    const alone = JSON.parse(readFileSync(join(work, 'alone.json'), 'utf8'));
    expect(alone.connections[0].session).toMatchObject({ known: false, age: null });
    expect(alone.sessions).toMatchObject({ carriedIn: null, carriedOut: null });
  });

  it('refuses a capture older than the state, and a damaged state file, leaving the file as it was', () => {
    split();
    cli(['analyze', 'part1.pcap', 'part2.pcap', '--state', 'order.state', '-q']);
    const before = readFileSync(join(work, 'order.state'));
    const again = cli(['analyze', 'part1.pcap', '--state', 'order.state', '--json', 'again.json']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^resumescope: --state order\.state: holds sessions used up to 20\d\d-.*Z, after this capture's start \(20\d\d-.*Z\): analyse the captures in time order/m);
    expect(readFileSync(join(work, 'order.state'))).toEqual(before);
    expect(existsSync(join(work, 'again.json'))).toBe(false);
    // Told from the file's first packet, before the file is read: its damage further on is never seen.
    writeFileSync(join(work, 'damaged-tail.pcap'), Buffer.concat([readFileSync(join(work, 'part1.pcap')), Buffer.alloc(64, 0xee)]));
    const early = cli(['analyze', 'damaged-tail.pcap', '--state', 'order.state']);
    expect(early.code).toBe(2);
    expect(early.stderr.trim().split('\n')).toHaveLength(1);
    expect(early.stderr).toMatch(/^resumescope: --state order\.state: holds sessions used up to .*analyse the captures in time order/);

    const damaged = Buffer.from(before);
    damaged.writeUInt32LE(0xffff, damaged.length - 8);
    writeFileSync(join(work, 'damaged.state'), damaged.subarray(0, damaged.length - 3));
    const bad = cli(['analyze', 'part2.pcap', '--state', 'damaged.state']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^resumescope: --state damaged\.state: byte [\d,]+: .+ \(remove the file to start a new series of analyses\)\n$/);
    expect(readFileSync(join(work, 'damaged.state'))).toHaveLength(damaged.length - 3);

    writeFileSync(join(work, 'not-state.state'), readFileSync(capture));
    const other = cli(['analyze', 'part2.pcap', '--state', 'not-state.state']);
    expect(other.code).toBe(2);
    expect(other.stderr).toBe('resumescope: --state not-state.state: byte 0: not a resumescope state file (remove the file to start a new series of analyses)\n');

    // A newer resumescope's state is not damage: keep the series, use that resumescope.
    const newer = Buffer.from(before);
    newer.writeUInt32LE(newer.readUInt32LE(18) + 1, 18);
    writeFileSync(join(work, 'newer.state'), newer);
    const later = cli(['analyze', 'part2.pcap', '--state', 'newer.state']);
    expect(later.code).toBe(2);
    expect(later.stderr).toMatch(/^resumescope: --state newer\.state: byte 18: state format version \d+, newer than this resumescope reads \(1 to \d+\): it was written by a newer resumescope; use that one for this series\n$/);
  });

  it('refuses --state with --each, on stdin, or as an input capture', () => {
    const each = cli(['analyze', '--each', capture, '--state', 's.state', '--json', '{name}.json']);
    expect(each.code).toBe(2);
    expect(each.stderr).toMatch(/--state carries sessions from one analysis to the next; --each analyses captures apart/);
    expect(cli(['analyze', capture, '--state', '-']).code).toBe(2);
    const input = cli(['analyze', capture, '--state', capture]);
    expect(input.code).toBe(2);
    expect(input.stderr).toMatch(/--state .*is one of the input captures/);
  });
});

describe('StateFileWriter: the state streamed to a temporary file, put in place whole or not at all', () => {
  it('commit() writes the chunks in order in place of the file; the streamed bytes are those diagnose returns', () => {
    const { connections } = simulateAndAnalyze('idle-timeout', 1, 5);
    const path = join(work, 'streamed.state');
    writeFileSync(path, 'the previous state');
    const writer = new StateFileWriter(path);
    const streamed = diagnose(connections, { carryOut: writer.sink });
    expect(streamed.carriedOut).toBeNull();
    // Before commit the previous state is still there.
    expect(readFileSync(path, 'utf8')).toBe('the previous state');
    writer.commit();
    writer.abandon(); // after commit: nothing to drop, the file stays
    const whole = diagnose(connections, { carryOut: true });
    expect(new Uint8Array(readFileSync(path))).toEqual(whole.carriedOut);
    expect(streamed.sessions.carriedOut).toBe(whole.sessions.carriedOut);
    expect(readdirSync(work).filter((f) => f.startsWith('streamed.state.'))).toEqual([]);
  });

  it('abandon() leaves the previous state; a write that fails is reported at commit() with the path', () => {
    const path = join(work, 'kept.state');
    writeFileSync(path, 'the previous state');
    const abandoned = new StateFileWriter(path);
    abandoned.sink(new Uint8Array([1, 2, 3]));
    abandoned.abandon();
    expect(readFileSync(path, 'utf8')).toBe('the previous state');
    expect(readdirSync(work).filter((f) => f.startsWith('kept.state.'))).toEqual([]);

    // The temporary file cannot be made (its folder went away): the analysis goes on, commit() says why.
    const failing = new StateFileWriter(join(work, 'gone', 'kept.state'));
    failing.sink(new Uint8Array([1, 2, 3]));
    expect(() => failing.commit()).toThrow(/^--state .*gone\/kept\.state: cannot write it: no such file or folder$/);
    expect(readFileSync(path, 'utf8')).toBe('the previous state');
  });

  it('does not write over a state another run wrote meanwhile (two runs on one series at once)', () => {
    const path = join(work, 'shared.state');
    writeFileSync(path, 'the state both runs read');
    const stamp = stateFileStamp(path);
    const slow = new StateFileWriter(path, stamp);
    const fast = new StateFileWriter(path, stamp);
    fast.sink(new Uint8Array([1]));
    slow.sink(new Uint8Array([2]));
    fast.commit();
    expect(readFileSync(path)).toEqual(Buffer.from([1]));
    expect(() => slow.commit()).toThrow(/^--state .*shared\.state: another run wrote it while this one ran; this run's sessions are not written over it/);
    expect(readFileSync(path)).toEqual(Buffer.from([1]));
    expect(readdirSync(work).filter((f) => f.startsWith('shared.state.'))).toEqual([]);
    // A series' first run: no file when read, one when committing is another run's too.
    const first = join(work, 'first.state');
    const late = new StateFileWriter(first, stateFileStamp(first));
    writeFileSync(first, 'written by another first run');
    late.sink(new Uint8Array([3]));
    expect(() => late.commit()).toThrow(/another run wrote it/);
    expect(readFileSync(first, 'utf8')).toBe('written by another first run');
  });
});
