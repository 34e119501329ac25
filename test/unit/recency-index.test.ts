import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecencyIndex } from '../../parser/session/recency-index.js';
import { MarkedPositions } from '../../parser/session/marked-positions.js';

// A session's place in an LRU list, from the Fenwick tree, against counting it out directly.

describe('RecencyIndex', () => {
  it('counts the distinct sessions used after a session\'s latest use, as a list kept by hand does', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3000, size: 'max' }), (sequence) => {
        const index = new RecencyIndex();
        const latest = new Map<number, number>();
        let clock = 0;
        const latestClock = new Map<number, number>();
        for (const session of sequence) {
          latest.set(session, index.use(latest.get(session) ?? -1));
          latestClock.set(session, clock++);
        }
        for (const [session, use] of latest) {
          const mine = latestClock.get(session)!;
          const after = [...latestClock.values()].filter((t) => t > mine).length;
          expect(index.usedSince(use)).toBe(after);
        }
      }),
      { numRuns: 30, seed: 7 },
    );
  });

  it('counts, of the sessions used since, those an abort touched after their latest use, as a list kept by hand does', () => {
    // Each step uses a session (an issue or an accepted resumption) or has an aborted handshake offer it.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 2000, size: 'max' }), (steps) => {
        const index = new RecencyIndex();
        const latest = new Map<number, number>();
        const latestClock = new Map<number, number>();
        const abortedSinceUse = new Set<number>();
        let clock = 0;
        for (const [abort, session] of steps) {
          if (abort) {
            if (!latest.has(session)) continue;
            index.markAborted(latest.get(session)!);
            abortedSinceUse.add(session);
          } else {
            latest.set(session, index.use(latest.get(session) ?? -1));
            latestClock.set(session, clock++);
            abortedSinceUse.delete(session);
          }
        }
        for (const [session, use] of latest) {
          const mine = latestClock.get(session)!;
          const after = [...latestClock].filter(([, t]) => t > mine);
          expect(index.usedSince(use)).toBe(after.length);
          expect(index.abortedSince(use)).toBe(after.filter(([other]) => abortedSinceUse.has(other)).length);
        }
      }),
      { numRuns: 30, seed: 11 },
    );
  });

  it('grows past its first thousand uses without losing count', () => {
    const index = new RecencyIndex();
    const first = index.use(-1);
    let other = -1;
    for (let i = 0; i < 5000; i++) other = index.use(other);
    // One other session, used 5,000 times since: one distinct session after the first.
    expect(index.usedSince(first)).toBe(1);
    const third = index.use(-1);
    expect(index.usedSince(first)).toBe(2);
    expect(index.usedSince(third)).toBe(0);
    expect(index.usedSince(other)).toBe(1);
  });
});

describe('MarkedPositions', () => {
  it('counts the marks above a position as a set kept by hand does, marks and unmarks in any order, far past its first size', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 5000 })), { minLength: 1, maxLength: 400 }), fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 20 }),
        (steps, questions) => {
          const marks = new MarkedPositions();
          const set = new Set<number>();
          for (const [mark, position] of steps) {
            if (mark) {
              expect(marks.mark(position)).toBe(!set.has(position));
              set.add(position);
            } else {
              marks.unmark(position);
              set.delete(position);
            }
            expect(marks.count).toBe(set.size);
          }
          for (const q of questions) {
            expect(marks.above(q)).toBe([...set].filter((p) => p > q).length);
            expect(marks.isMarked(q)).toBe(set.has(q));
          }
        }),
      { numRuns: 60, seed: 11 },
    );
  });
});
