import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IntMap } from '../../parser/session/columns.js';

// The diagnosis's per-client memory (each client's latest session per group and TLS stack) is an
// IntMap: it must behave exactly like the Map<number, number> it replaced, order of visits included
// (the state file lists clients in it).

describe('IntMap', () => {
  it('agrees with a Map on any sequence of sets and lookups, through its growth', () => {
    // Small keys collide and repeat; large ones reach the top of the range.
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0x7ffffffe }));
    const step = fc.tuple(fc.constantFrom('set' as const, 'get' as const), key, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    fc.assert(fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
      const map = new IntMap();
      const reference = new Map<number, number>();
      for (const [op, k, v] of steps) {
        if (op === 'set') {
          map.set(k, v);
          reference.set(k, v);
        } else {
          expect(map.get(k, -7)).toBe(reference.get(k) ?? -7);
          expect(map.has(k)).toBe(reference.has(k));
        }
        expect(map.size).toBe(reference.size);
      }
      const visited: [number, number][] = [];
      map.forEach((k, v) => visited.push([k, v]));
      expect(visited).toEqual([...reference]);
    }));
  });

  it('holds a million dense keys (a large capture\'s clients) and finds each', () => {
    const map = new IntMap();
    for (let k = 0; k < 1_000_000; k++) map.set(k * 3, k);
    expect(map.size).toBe(1_000_000);
    for (let k = 0; k < 1_000_000; k += 997) {
      expect(map.get(k * 3, -1)).toBe(k);
      expect(map.has(k * 3 + 1)).toBe(false);
    }
  });

  it('refuses a key it cannot hold instead of mixing it up with another', () => {
    const map = new IntMap();
    expect(() => map.set(-1, 0)).toThrow(RangeError);
    expect(() => map.set(0x7fffffff, 0)).toThrow(RangeError);
    expect(map.size).toBe(0);
  });
});
