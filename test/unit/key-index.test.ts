import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SessionKeyIndex } from '../../parser/session/key-index.js';
import { sessionKey } from '../../parser/session/session-keys.js';

// The session table's key index must behave exactly like a Map<string, number>: the session
// tracking's every lookup goes through it.

describe('SessionKeyIndex', () => {
  it('agrees with a Map on any sequence of sets and gets, over narrow, wide and colliding keys', () => {
    // Few distinct short keys so that sets overwrite and lookups hit as often as they miss.
    const key = fc.oneof(
      fc.string({ maxLength: 4, unit: fc.constantFrom('a', 'b', '\u0000', '\u00ff') }),
      fc.string({ maxLength: 3, unit: fc.constantFrom('a', '\u0100', '\uffff', '\ud800') }),
      fc.string({ maxLength: 40 }),
    );
    const step = fc.oneof(fc.tuple(fc.constant('set' as const), key, fc.integer({ min: -(1 << 30), max: 1 << 30 })), fc.tuple(fc.constant('get' as const), key, fc.constant(0)));
    fc.assert(fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const index = new SessionKeyIndex();
      const map = new Map<string, number>();
      for (const [op, k, v] of steps) {
        if (op === 'set') {
          index.set(k, v);
          map.set(k, v);
        } else {
          if (map.has(k)) expect(index.get(k)).toBe(map.get(k));
          else expect(index.get(k)).toBe(-1);
          expect(index.has(k)).toBe(map.has(k));
        }
        expect(index.size).toBe(map.size);
      }
      for (const [k, v] of map) expect(index.get(k)).toBe(v);
      // forEach gives back every key, byte for byte, with its value (what a state file carries).
      const listed = new Map<string, number>();
      index.forEach((k, v) => {
        expect(listed.has(k)).toBe(false);
        listed.set(k, v);
      });
      expect(listed).toEqual(map);
      // In the order the keys were first set (as a Map lists them), not in the order of their hashes.
      expect([...listed.keys()]).toEqual([...map.keys()]);
    }), { numRuns: 300, seed: 20261125 });
  });

  it('keeps 200,000 session keys across its growth and its 1 MiB arena blocks', () => {
    const index = new SessionKeyIndex();
    const hex = (i: number) => i.toString(16).padStart(8, '0').repeat(8);
    for (let i = 0; i < 200_000; i++) index.set(sessionKey('session-id', hex(i)), i);
    // The same bytes as a ticket are another key.
    index.set(sessionKey('ticket', hex(7)), -7);
    expect(index.size).toBe(200_001);
    for (let i = 0; i < 200_000; i += 997) expect(index.get(sessionKey('session-id', hex(i)))).toBe(i);
    expect(index.get(sessionKey('ticket', hex(7)))).toBe(-7);
    expect(index.get(sessionKey('session-id', hex(200_000)))).toBe(-1);
    // Listed across every block in the order set (the state file's order), each with its value.
    let n = 0;
    index.forEach((key, value) => {
      if (n < 200_000) {
        expect(value).toBe(n);
        if (n % 997 === 0) expect(key).toBe(sessionKey('session-id', hex(n)));
      } else {
        expect([key, value]).toEqual([sessionKey('ticket', hex(7)), -7]);
      }
      n++;
    });
    expect(n).toBe(200_001);
  });

  it('stores a key as long as the longest PSK identity in hex (2^16 - 1 bytes)', () => {
    const index = new SessionKeyIndex();
    const long = 'Z'.repeat(131_070);
    index.set(long, 5);
    index.set(long.slice(1), 6);
    expect(index.get(long)).toBe(5);
    expect(index.get(long.slice(1))).toBe(6);
    expect(index.get(long.slice(2))).toBe(-1);
  });
});
