import { MarkedPositions } from './marked-positions.js';

/**
 * Uses (issues and accepted resumptions) of a group's sessions in order, each session counted at
 * its latest use only: how many distinct sessions were used after a given use is a suffix count.
 * That is a session's place in a cache that evicts the least recently used one (an LRU cache of N
 * still holds it while the place is ≤ N).
 */
export class RecencyIndex {
  /** Each session's latest use, marked at its index. */
  private readonly latest = new MarkedPositions();
  private uses = 0;

  /** Records a use of a session whose previous use was `previous` (-1: none); returns this use's index. */
  use(previous: number): number {
    if (previous >= 0) this.latest.unmark(previous);
    const index = this.uses++;
    this.latest.mark(index);
    return index;
  }

  /** Frees the tree once every place was asked (no use or question after it). */
  release(): void {
    this.latest.release();
  }

  /** Distinct sessions used after use `index` (their latest use comes after it). */
  usedSince(index: number): number {
    return this.latest.above(index);
  }
}
