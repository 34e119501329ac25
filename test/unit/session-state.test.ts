import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeSessionState, encodeSessionState, StateFileError, STATE_MAGIC, type CarriedSessions } from '../../parser/session/session-state.js';

// The --state file is input like a capture: what is written must read back exactly, and a damaged
// file must be refused with the byte where it goes wrong, never half-used or allocated from a
// corrupt count.

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ maxLength: 6, unit: fc.constantFrom('a', '\u00ff', '\u0100', '\uffff', '\ud800') }));

const state: fc.Arbitrary<CarriedSessions> = fc
  .record({
    groups: fc.array(fc.record({ key: text, sni: fc.option(text, { nil: null }), port: fc.integer({ min: 0, max: 65535 }), issued: fc.integer({ min: 1, max: 1e6 }), flushes: fc.array(fc.tuple(fc.double({ min: 1e9, max: 2e9, noNaN: true }), fc.double({ min: 0, max: 1e4, noNaN: true })).map(([low, d]) => ({ low, time: low + d })), { maxLength: 3 }) }), { minLength: 1, maxLength: 4 }),
    addresses: fc.array(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([ip, port]) => `${ip}|${port}`), { minLength: 1, maxLength: 4 }),
    sessions: fc.array(fc.record({ kind: fc.integer({ min: 0, max: 2 }), seen: fc.boolean(), group: fc.nat(), issuer: fc.nat(), issue: fc.nat(), issuedAt: fc.double({ min: 1e9, max: 2e9, noNaN: true }), idle: fc.double({ min: 0, max: 1e5, noNaN: true }) }), { maxLength: 20 }),
    keys: fc.array(fc.tuple(text, fc.nat()), { maxLength: 30 }),
  })
  .map(({ groups, addresses, sessions, keys }) => {
    const rows = sessions.map((s) => ({ ...s, group: s.group % groups.length, issuer: s.issuer % addresses.length, lastUse: s.issuedAt + s.idle }))
      .sort((a, b) => a.lastUse - b.lastUse);
    const withKeys = rows.length > 0 ? keys : [];
    return {
      lastTime: rows.length > 0 ? rows[rows.length - 1]!.lastUse + 1 : -Infinity,
      groups,
      addresses,
      sessions: {
        kind: Uint8Array.from(rows, (r) => r.kind),
        issueSeen: Uint8Array.from(rows, (r) => (r.seen ? 1 : 0)),
        group: Uint32Array.from(rows, (r) => r.group),
        issuer: Uint32Array.from(rows, (r) => r.issuer),
        issueIndex: Uint32Array.from(rows, (r) => r.issue % (groups[r.group]!.issued + 1)),
        issuedAt: Float64Array.from(rows, (r) => r.issuedAt),
        lastUse: Float64Array.from(rows, (r) => r.lastUse),
      },
      keys: withKeys.map(([k]) => k),
      keySessions: Uint32Array.from(withKeys, ([, s]) => s % rows.length),
    };
  });

function failure(bytes: Uint8Array): StateFileError {
  try {
    decodeSessionState(bytes);
  } catch (e) {
    if (e instanceof StateFileError) return e;
    throw e;
  }
  throw new Error('decoded');
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
      expect(e.message).toMatch(/3 bytes after the end/);
      expect(e.offset).toBe(bytes.length);
    }), { numRuns: 40, seed: 20261134 });
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
      } catch (e) {
        expect(e).toBeInstanceOf(StateFileError);
      }
    }), { numRuns: 500, seed: 20261135 });
    // A count of four billion sessions in a short file is damage, not a reason to allocate.
    const empty = encodeSessionState({ lastTime: -Infinity, groups: [], addresses: [], sessions: { kind: new Uint8Array(0), issueSeen: new Uint8Array(0), group: new Uint32Array(0), issuer: new Uint32Array(0), issueIndex: new Uint32Array(0), issuedAt: new Float64Array(0), lastUse: new Float64Array(0) }, keys: [], keySessions: new Uint32Array(0) });
    const sessionsCountAt = STATE_MAGIC.length + 4 + 8 + 4 + 4;
    const huge = empty.slice();
    new DataView(huge.buffer).setUint32(sessionsCountAt, 0xffffffff, true);
    const e = failure(huge);
    expect(e.message).toMatch(/4294967295 sessions: more than the file holds/);
    expect(e.offset).toBe(sessionsCountAt);
  });

  it('names what is wrong: another file, another format version', () => {
    const pcap = Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    expect(failure(pcap)).toMatchObject({ message: 'not a resumescope state file', offset: 0 });
    const bytes = encodeSessionState({ lastTime: 5, groups: [], addresses: [], sessions: { kind: new Uint8Array(0), issueSeen: new Uint8Array(0), group: new Uint32Array(0), issuer: new Uint32Array(0), issueIndex: new Uint32Array(0), issuedAt: new Float64Array(0), lastUse: new Float64Array(0) }, keys: [], keySessions: new Uint32Array(0) }).slice();
    new DataView(bytes.buffer).setUint32(STATE_MAGIC.length, 7, true);
    expect(failure(bytes)).toMatchObject({ offset: STATE_MAGIC.length });
    expect(failure(bytes).message).toMatch(/version 7; this resumescope reads version 1/);
  });
});
