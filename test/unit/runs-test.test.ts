import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fewerRunsThanRandom } from '../../parser/diagnose/statistics.js';

// The check that keeps a block of rejections (a cache emptied, a backend down) from being taken
// for random load balancing over backends without a shared cache.
const clustered = (outcomes: string) => fewerRunsThanRandom(outcomes.length, (i) => outcomes[i] === 'S');

describe('runs test on offer outcomes (S accepted, R rejected)', () => {
  it('a block of rejections between acceptances is clustered (real nginx restart)', () => {
    expect(clustered('SSSSSSSSRRRRRRRRSSSSSSSS')).toBe(true);
    expect(clustered('SSSSSSSSSSSSRRRRRRRRRRRR')).toBe(true);
  });

  it('random balancing over two backends is not (real nginx stream proxy, random)', () => {
    expect(clustered('SSRSSRRSRSRRSSSSSSSSSRRSRSRRR')).toBe(false);
    expect(clustered('SRSRSRSRSRSRSRSRSRSR')).toBe(false);
  });

  it('all of one kind, or too few, is never clustered', () => {
    expect(clustered('SSSSSSSSSS')).toBe(false);
    expect(clustered('RRRRRRRRRR')).toBe(false);
    expect(clustered('SR')).toBe(false);
    expect(clustered('')).toBe(false);
  });

  it('outcomes drawn at random are called clustered about 1 time in 100, not more', () => {
    // Seeded: the share of false alarms over 400 random sequences of 40 stays near the test's 1 %.
    let alarms = 0;
    fc.assert(fc.property(fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (outcomes) => {
      if (fewerRunsThanRandom(outcomes.length, (i) => outcomes[i]!)) alarms++;
    }), { numRuns: 400, seed: 7 });
    expect(alarms).toBeLessThanOrEqual(12);
  });
});
