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
  /**
   * The latest uses of the sessions an aborted handshake offered since (null until one did): a
   * cache that purges such a session frees its place in the LRU list (Java's MemoryCache removes
   * an invalidated session), so the sessions it purged push no older one out.
   */
  private aborted: MarkedPositions | null = null;
  private uses = 0;

  /** Records a use of a session whose previous use was `previous` (-1: none); returns this use's index. */
  use(previous: number): number {
    if (previous >= 0) {
      this.latest.unmark(previous);
      // Used again: the abort before did not purge it.
      this.aborted?.unmark(previous);
    }
    const index = this.uses++;
    this.latest.mark(index);
    return index;
  }

  /** An aborted handshake offered the session whose latest use is `index`. */
  markAborted(index: number): void {
    (this.aborted ??= new MarkedPositions()).mark(index);
  }

  /** Frees the trees once every place was asked (no use or question after it). */
  release(): void {
    this.latest.release();
    this.aborted?.release();
  }

  /** Uses recorded so far (the next use's index). */
  get usesSoFar(): number {
    return this.uses;
  }

  /** Distinct sessions used after use `index` (their latest use comes after it). */
  usedSince(index: number): number {
    return this.latest.above(index);
  }

  /** Of usedSince(index), the sessions an aborted handshake offered after that latest use. */
  abortedSince(index: number): number {
    return this.aborted === null ? 0 : this.aborted.above(index);
  }
}
