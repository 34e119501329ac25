/**
 * Uses (issues and accepted resumptions) of a group's sessions in order, each session counted at
 * its latest use only: how many distinct sessions were used after a given use is a suffix count.
 * That is a session's place in a cache that evicts the least recently used one (an LRU cache of N
 * still holds it while the place is ≤ N). A Fenwick tree over the uses (O(log n) a use or a
 * question), grown by doubling.
 */
export class RecencyIndex {
  private latest = new Uint8Array(1024);
  private tree = new Int32Array(1025);
  private uses = 0;
  /** Sessions with a use so far (each one's latest use is marked). */
  private current = 0;

  /** Records a use of a session whose previous use was `previous` (-1: none); returns this use's index. */
  use(previous: number): number {
    if (previous >= 0 && this.latest[previous] === 1) {
      this.latest[previous] = 0;
      this.add(previous, -1);
      this.current--;
    }
    if (this.uses === this.latest.length) this.grow();
    const index = this.uses++;
    this.latest[index] = 1;
    this.add(index, 1);
    this.current++;
    return index;
  }

  /** Frees the tree once every place was asked (no use or question after it). */
  release(): void {
    this.latest = new Uint8Array(0);
    this.tree = new Int32Array(1);
  }

  /** Distinct sessions used after use `index` (their latest use comes after it). */
  usedSince(index: number): number {
    return this.current - this.prefix(index);
  }

  private add(index: number, delta: number): void {
    for (let i = index + 1; i < this.tree.length; i += i & -i) this.tree[i]! += delta;
  }

  /** Latest uses among uses 0..index. */
  private prefix(index: number): number {
    let sum = 0;
    for (let i = index + 1; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }

  private grow(): void {
    const latest = new Uint8Array(this.latest.length * 2);
    latest.set(this.latest);
    this.latest = latest;
    // Rebuilt in linear time: each node adds itself to its parent.
    const tree = new Int32Array(latest.length + 1);
    for (let i = 1; i < tree.length; i++) {
      tree[i]! += i - 1 < this.uses ? latest[i - 1]! : 0;
      const parent = i + (i & -i);
      if (parent < tree.length) tree[parent]! += tree[i]!;
    }
    this.tree = tree;
  }
}
