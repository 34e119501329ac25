import { describe, expect, it } from 'vitest';
import { runFarm } from './tools/sweep.js';

// Random farms against their truth (test/tools/sweep.ts): the diagnosis as a whole, beyond the
// cases each test names. The bounds are about a tenth above what the code gives now (sets 1 and
// 2: 707 refusals given another reason than the truth, 118 of them a restart behind three backends
// without a shared cache that the truth gives to the other backends; 1,429 at the twenty-first
// session's start),
// so a change that makes the diagnosis worse on farms no test describes fails here.
describe('random one-service farms against their truth (npm run sweep)', () => {
  it('sets 1 and 2: few refusals given another reason than the truth, and no flush made up', () => {
    const results = [1, 2].flatMap((set) => Array.from({ length: 40 }, (_, index) => runFarm(set, index)));
    const wrong = results.reduce((n, r) => n + r.wrong, 0);
    expect(wrong).toBeLessThanOrEqual(800);
    expect(results.filter((r) => r.flushesFound > r.flushesTrue).map((r) => `${r.set}:${r.index}`)).toEqual([]);
    expect(results.filter((r) => r.rotationsMadeUp > 0).map((r) => `${r.set}:${r.index}`)).toEqual([]);
    // No farm far off: the worst now is two backends without a shared cache, each with a cache of 50,
    // whose refusals the capture cannot tell apart (541).
    expect(Math.max(...results.map((r) => r.wrong))).toBeLessThanOrEqual(560);
  }, 120_000);

  it('the same farms with LRU caches: few refusals given another reason than the truth, and no flush made up', () => {
    // 928 before the twenty-seventh session read an LRU cache's place without the sessions it
    // purged, weighed its evictions against a flush and found a timeout beside it; 813 before the
    // thirtieth bounded a session's place at a restart by the sessions issued since its last use,
    // found restarts by the moments after last uses (769) and read LRU caches behind a balancer by
    // the place in the list, not as an idle timeout (651 now).
    const results = [1, 2].flatMap((set) => Array.from({ length: 40 }, (_, index) => runFarm(set, index, false, 'lru')));
    const wrong = results.reduce((n, r) => n + r.wrong, 0);
    expect(wrong).toBeLessThanOrEqual(720);
    expect(results.filter((r) => r.flushesFound > r.flushesTrue).map((r) => `${r.set}:${r.index}`)).toEqual([]);
    expect(results.filter((r) => r.rotationsMadeUp > 0).map((r) => `${r.set}:${r.index}`)).toEqual([]);
    // The worst: two backends with LRU caches of 50 of their own behind a random balancer (451, 341
    // of them two causes; 569 when it read as an idle timeout).
    expect(Math.max(...results.map((r) => r.wrong))).toBeLessThanOrEqual(500);
  }, 120_000);
});
