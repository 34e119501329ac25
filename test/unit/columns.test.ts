import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZeroMostlyInt32Column } from '../../parser/session/columns.js';

describe('ZeroMostlyInt32Column', () => {
  it('reads back every value pushed, zeros in blocks never made included, across block boundaries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 70_000 }), fc.integer({ min: -5, max: 5 })), { maxLength: 6 }), (runs) => {
        const column = new ZeroMostlyInt32Column();
        const expected: number[] = [];
        // Runs of zeros (up to more than a block of 65,536) between single values.
        for (const [zeros, value] of runs) {
          for (let i = 0; i < zeros; i++) { column.push(0); expected.push(0); }
          expect(column.push(value)).toBe(expected.length);
          expected.push(value);
        }
        expect(column.length).toBe(expected.length);
        for (let i = 0; i < expected.length; i += 97) expect(column.get(i)).toBe(expected[i]);
        for (let i = 0; i < expected.length; i++) if (expected[i] !== 0) expect(column.get(i)).toBe(expected[i]);
      }),
      { numRuns: 40, seed: 5 },
    );
  });
});
