/**
 * A set of marked positions 0, 1, 2, … and how many marks lie above a position: a Fenwick tree
 * (O(log n) a mark or a question), grown by doubling as positions come. The session table keeps
 * two per group: its sessions' latest uses (RecencyIndex: a place in an LRU cache) and the
 * sessions an aborted handshake may have purged (a place in a FIFO cache that purges on abort).
 */
export class MarkedPositions {
  private marked = new Uint8Array(1024);
  private tree = new Int32Array(1025);
  /** Positions marked now. */
  count = 0;

  isMarked(position: number): boolean {
    return position < this.marked.length && this.marked[position] === 1;
  }

  /** Marks a position; false when it was marked already. */
  mark(position: number): boolean {
    if (position >= this.marked.length) this.grow(position);
    if (this.marked[position] === 1) return false;
    this.marked[position] = 1;
    this.add(position, 1);
    this.count++;
    return true;
  }

  unmark(position: number): void {
    if (!this.isMarked(position)) return;
    this.marked[position] = 0;
    this.add(position, -1);
    this.count--;
  }

  /** Marks at positions after `position`. */
  above(position: number): number {
    return this.count - this.upTo(Math.min(position, this.marked.length - 1));
  }

  /** Frees the tree once no mark or question follows. */
  release(): void {
    this.marked = new Uint8Array(0);
    this.tree = new Int32Array(1);
    this.count = 0;
  }

  private add(position: number, delta: number): void {
    for (let i = position + 1; i < this.tree.length; i += i & -i) this.tree[i]! += delta;
  }

  /** Marks among positions 0..position. */
  private upTo(position: number): number {
    let sum = 0;
    for (let i = position + 1; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }

  private grow(position: number): void {
    let length = this.marked.length * 2;
    while (length <= position) length *= 2;
    const marked = new Uint8Array(length);
    marked.set(this.marked);
    this.marked = marked;
    // Rebuilt in linear time: each node adds itself to its parent.
    const tree = new Int32Array(length + 1);
    for (let i = 1; i < tree.length; i++) {
      tree[i]! += marked[i - 1]!;
      const parent = i + (i & -i);
      if (parent < tree.length) tree[parent]! += tree[i]!;
    }
    this.tree = tree;
  }
}
