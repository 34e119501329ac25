import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { decodeSessionState, encodeSessionState, StateFileError, STATE_MAGIC, type CarriedSessions } from '../../parser/session/session-state.js';
import { sessionStateArb as state } from '../fuzz/state-arbitrary.js';
import { SessionTable } from '../../parser/session/session-table.js';

// The --state file is input like a capture: what is written must read back exactly, and a damaged
// file must be refused with the byte where it goes wrong, never half-used or allocated from a
// corrupt count.

function failure(bytes: Uint8Array): StateFileError {
  try {
    decodeSessionState(bytes);
  } catch (e) {
    if (e instanceof StateFileError) return e;
    throw e;
  }
  throw new Error('decoded');
}

const NO_SESSIONS: CarriedSessions['sessions'] = { kind: new Uint8Array(0), issueSeen: new Uint8Array(0), version: new Uint8Array(0), group: new Uint32Array(0), issuer: new Uint32Array(0), issueIndex: new Uint32Array(0), issuedAt: new Float64Array(0), lastUse: new Float64Array(0) };

/** A state holding nothing but what `parts` gives. */
function stateWith(parts: Partial<CarriedSessions>): CarriedSessions {
  return { lastTime: -Infinity, groups: [], addresses: [], sessions: NO_SESSIONS, keys: [], keySessions: new Uint32Array(0), clients: [], observedSince: Infinity, aborts: [], unknownAborts: [], ...parts };
}

/** The state with every session's TLS version unknown, as files before format version 5 hold it. */
function withoutVersions(s: CarriedSessions): CarriedSessions {
  return { ...s, sessions: { ...s.sessions, version: new Uint8Array(s.sessions.kind.length) } };
}

/** Bytes of `bytes` without [start, end). */
function without(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(bytes.length - (end - start));
  out.set(bytes.subarray(0, start));
  out.set(bytes.subarray(end), start);
  return out;
}

// Where the parts of a file are: the observed-since time follows the version and the last time;
// with no flushes, a file ends with the aborts' two counts and the flushes' count.
const OBSERVED_SINCE_AT = STATE_MAGIC.length + 4 + 8;

/** A state file's contents without its CRC-32 trailer (format version 4 on). */
function withoutChecksum(bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, bytes.length - 4);
}

/** Contents given a fresh CRC-32 trailer: changed on purpose, to reach the checks behind the checksum. */
function withChecksum(contents: Uint8Array): Uint8Array {
  const out = new Uint8Array(contents.length + 4);
  out.set(contents);
  new DataView(out.buffer).setUint32(contents.length, zlibCrc32(contents), true);
  return out;
}

describe('session state file', () => {
  it('reads back exactly what it wrote: texts of any code units, every kind, both issue flags', () => {
    fc.assert(fc.property(state, (s) => {
      expect(decodeSessionState(encodeSessionState(s))).toEqual(s);
    }), { numRuns: 300, seed: 20261133 });
  });

  it('refuses every cut of a file, and every byte after its end, with the offset', () => {
    fc.assert(fc.property(state, (s) => {
      const bytes = encodeSessionState(s);
      for (let end = 0; end < bytes.length; end++) {
        const e = failure(bytes.subarray(0, end));
        expect(e.offset).toBeLessThanOrEqual(end);
      }
      const longer = new Uint8Array(bytes.length + 3);
      longer.set(bytes);
      const e = failure(longer);
      expect(e.message).toMatch(/^the checksum does not match/);
      expect(e.offset).toBe(longer.length - 4);
      // Bytes after the contents, under a checksum that covers them, are still no state.
      const padded = failure(withChecksum(Uint8Array.of(...withoutChecksum(bytes), 1, 2, 3)));
      expect(padded.message).toMatch(/3 bytes after the end/);
      expect(padded.offset).toBe(bytes.length - 4);
    }), { numRuns: 40, seed: 20261134 });
  });

  it('refuses any change of any one byte (the CRC-32 trailer): damage is never read into a state', () => {
    fc.assert(fc.property(state, fc.nat(), fc.integer({ min: 1, max: 255 }), (s, at, delta) => {
      const bytes = encodeSessionState(s).slice();
      const i = at % bytes.length;
      bytes[i] = (bytes[i]! + delta) & 0xff;
      expect(() => decodeSessionState(bytes)).toThrow(StateFileError);
    }), { numRuns: 500, seed: 20261138 });
  });

  it('never throws anything but a StateFileError on damaged bytes, and allocates nothing from a corrupt count', () => {
    fc.assert(fc.property(state, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (s, flips) => {
      const bytes = encodeSessionState(s).slice();
      for (const [at, value] of flips) bytes[STATE_MAGIC.length + (at % (bytes.length - STATE_MAGIC.length))] = value;
      try {
        const read = decodeSessionState(bytes);
        // What reads must still be a consistent state: every reference inside its list.
        for (const g of read.sessions.group) expect(g).toBeLessThan(read.groups.length);
        for (const k of read.keySessions) expect(k).toBeLessThan(read.sessions.kind.length);
        for (const c of read.clients) {
          expect(c.session).toBeLessThan(read.sessions.kind.length);
          expect(c.group).toBeLessThan(read.groups.length);
        }
      } catch (e) {
        expect(e).toBeInstanceOf(StateFileError);
      }
    }), { numRuns: 500, seed: 20261135 });
    // A count of four billion sessions in a short file is damage, not a reason to allocate.
    const empty = encodeSessionState(stateWith({}));
    const sessionsCountAt = OBSERVED_SINCE_AT + 8 + 4 + 4;
    const huge = withoutChecksum(empty);
    new DataView(huge.buffer).setUint32(sessionsCountAt, 0xffffffff, true);
    const e = failure(withChecksum(huge));
    expect(e.message).toMatch(/4294967295 sessions: more than the file holds/);
    expect(e.offset).toBe(sessionsCountAt);
  });

  it('reads a version 1 file (before clients were carried): the same state, no clients', () => {
    fc.assert(fc.property(state, (s) => {
      const noFlushes = { ...withoutVersions(s), groups: s.groups.map((g) => ({ ...g, flushes: [] })), clients: [], observedSince: Infinity, aborts: [], unknownAborts: [] };
      const v3 = withoutChecksum(encodeSessionState(noFlushes));
      // Version 1 has no observed-since time and ends with the keys, then the flushes' count: no
      // stacks', clients' or aborts' counts.
      const v1 = without(without(v3, v3.length - 20, v3.length - 4), OBSERVED_SINCE_AT, OBSERVED_SINCE_AT + 8);
      new DataView(v1.buffer).setUint32(STATE_MAGIC.length, 1, true);
      expect(decodeSessionState(v1)).toEqual(noFlushes);
    }), { numRuns: 50, seed: 20261136 });
  });

  it('reads a version 2 file (before aborts and the observed-since time were carried): the same state, no aborts', () => {
    fc.assert(fc.property(state, (s) => {
      const noFlushes = { ...withoutVersions(s), groups: s.groups.map((g) => ({ ...g, flushes: [] })), observedSince: Infinity, aborts: [], unknownAborts: [] };
      const v3 = withoutChecksum(encodeSessionState(noFlushes));
      const v2 = without(without(v3, v3.length - 12, v3.length - 4), OBSERVED_SINCE_AT, OBSERVED_SINCE_AT + 8);
      new DataView(v2.buffer).setUint32(STATE_MAGIC.length, 2, true);
      expect(decodeSessionState(v2)).toEqual(noFlushes);
    }), { numRuns: 50, seed: 20261137 });
  });

  it('refuses aborts that name no session or come after the state\'s last time, and an observed-since time after it', () => {
    const group = { key: 'a.test:443', sni: 'a.test', port: 443, issued: 1, flushes: [] };
    const sessions = { ...NO_SESSIONS, kind: Uint8Array.of(0), issueSeen: Uint8Array.of(1), version: Uint8Array.of(4), group: Uint32Array.of(0), issuer: Uint32Array.of(0), issueIndex: Uint32Array.of(0), issuedAt: Float64Array.of(100), lastUse: Float64Array.of(150) };
    const good = stateWith({ lastTime: 200, groups: [group], addresses: ['10.0.0.1|443'], sessions, observedSince: 50, aborts: [{ session: 0, time: 180 }], unknownAborts: [{ key: 'tkey', time: 190 }] });
    expect(decodeSessionState(encodeSessionState(good))).toEqual(good);
    expect(failure(encodeSessionState({ ...good, aborts: [{ session: 1, time: 180 }] })).message).toBe('abort of session 1 of 1');
    expect(failure(encodeSessionState({ ...good, aborts: [{ session: 0, time: 201 }] })).message).toBe('abort after the last time');
    expect(failure(encodeSessionState({ ...good, unknownAborts: [{ key: 'tkey', time: 201 }] })).message).toBe('abort after the last time');
    const late = failure(encodeSessionState({ ...good, observedSince: 250 }));
    expect(late).toMatchObject({ message: 'observed-since time after the last time', offset: OBSERVED_SINCE_AT });
  });

  it('carried through a session table unchanged, keeps its last time and observed-since time (the fuzz target found them out of order)', () => {
    // The last time passes every session's last use (an abort came later), and the observed-since
    // time lies between: carried on by a table that saw no traffic, the state read back must hold
    // the same times, not a last time of the sessions' uses alone, now before observedSince.
    const group = { key: 'a.test:443', sni: 'a.test', port: 443, issued: 1, flushes: [] };
    const sessions = { ...NO_SESSIONS, kind: Uint8Array.of(0), issueSeen: Uint8Array.of(1), version: Uint8Array.of(4), group: Uint32Array.of(0), issuer: Uint32Array.of(0), issueIndex: Uint32Array.of(0), issuedAt: Float64Array.of(100), lastUse: Float64Array.of(150) };
    const carried = stateWith({ lastTime: 200, groups: [group], addresses: ['10.0.0.1|443'], sessions, keys: ['sab'], keySessions: Uint32Array.of(0), observedSince: 170 });
    const table = new SessionTable();
    table.carryIn(encodeSessionState(carried));
    expect(table.observedSince).toBe(170);
    const again = decodeSessionState(table.carryOut(Infinity).finish()!);
    expect(again).toMatchObject({ lastTime: 200, observedSince: 170 });
    // Sessions idle past the horizon are dropped: the bound moves up to it (they are unknown now, last used before it).
    const later = new SessionTable();
    later.carryIn(encodeSessionState({ ...carried, observedSince: 50 }));
    expect(decodeSessionState(later.carryOut(10).finish()!)).toMatchObject({ observedSince: 140 });
  });

  it('reads a version 4 file (before the sessions\' TLS versions were carried): the same state, every version unknown', () => {
    fc.assert(fc.property(state, (s) => {
      const unknown = withoutVersions(s);
      const v4 = withoutChecksum(encodeSessionState(unknown));
      new DataView(v4.buffer).setUint32(STATE_MAGIC.length, 4, true);
      expect(decodeSessionState(withChecksum(v4))).toEqual(unknown);
    }), { numRuns: 50, seed: 20261139 });
    // In a version 4 file the kind byte's upper bits were never set: set, they are damage, not a version.
    const group = { key: 'a.test:443', sni: 'a.test', port: 443, issued: 1, flushes: [] };
    const tls10 = { ...NO_SESSIONS, kind: Uint8Array.of(0), issueSeen: Uint8Array.of(1), version: Uint8Array.of(2), group: Uint32Array.of(0), issuer: Uint32Array.of(0), issueIndex: Uint32Array.of(0), issuedAt: Float64Array.of(100), lastUse: Float64Array.of(150) };
    const v5 = encodeSessionState(stateWith({ lastTime: 200, groups: [group], addresses: ['10.0.0.1|443'], sessions: tls10 }));
    expect(decodeSessionState(v5).sessions.version).toEqual(Uint8Array.of(2));
    const asV4 = withoutChecksum(v5);
    new DataView(asV4.buffer).setUint32(STATE_MAGIC.length, 4, true);
    const kindAt = asV4.indexOf(2 << 3, OBSERVED_SINCE_AT + 8);
    expect(failure(withChecksum(asV4))).toMatchObject({ message: 'session kind 16', offset: kindAt });
    // And a version past those known is damage in a version 5 file.
    const unknownVersion = withoutChecksum(v5);
    unknownVersion[kindAt] = 6 << 3;
    expect(failure(withChecksum(unknownVersion))).toMatchObject({ message: 'session kind 48', offset: kindAt });
  });

  it('names what is wrong: another file, another format version', () => {
    const pcap = Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    expect(failure(pcap)).toMatchObject({ message: 'not a resumescope state file', offset: 0 });
    const bytes = encodeSessionState(stateWith({ lastTime: 5 })).slice();
    new DataView(bytes.buffer).setUint32(STATE_MAGIC.length, 7, true);
    expect(failure(bytes)).toMatchObject({ offset: STATE_MAGIC.length });
    expect(failure(bytes).message).toBe('state format version 7, newer than this resumescope reads (1 to 5): it was written by a newer resumescope; use that one for this series');
    // One group twice would merge two groups' counters (the fuzz target found a table that then gave churn past its group's issues).
    const group = { key: 'a.test:443', sni: 'a.test', port: 443, issued: 3, flushes: [] };
    const twice = encodeSessionState(stateWith({ lastTime: 5, groups: [group, { ...group, issued: 1 }] }));
    // A version 3 file (no checksum) is still read: the same contents, the version changed, no trailer.
    const v3 = withoutChecksum(encodeSessionState(stateWith({ lastTime: 5, groups: [group] })));
    new DataView(v3.buffer).setUint32(STATE_MAGIC.length, 3, true);
    expect(decodeSessionState(v3).groups).toHaveLength(1);
    expect(failure(twice).message).toBe('group "a.test:443" twice');
  });
});
