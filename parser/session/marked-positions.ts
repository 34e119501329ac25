/**
 * A set of marked positions 0, 1, 2, … and how many marks lie above a position. The session table
 * keeps two to three per group: its sessions' latest uses (RecencyIndex: a place in an LRU cache),
 * the latest uses of sessions an aborted handshake offered since (a place an LRU cache that purges
 * on abort freed), and their issues (a place a FIFO cache that purges on abort freed).
 *
 * One bit a position, and a Fenwick tree of the marks in each 32-bit word of them (O(log n) a mark
 * or a question, grown by doubling as positions come): ~0.25 bytes a position. A tree over the
 * positions themselves, with a byte a position to know what is marked, was 5 bytes a position:
 * on the 2-million-connection scale run, ~10 MB a tree and as much again while it doubled.
 */
export class MarkedPositions {
  private bits = new Uint32Array(32);
  /** Fenwick tree over the words of `bits`: tree[i] sums the marks of a range of words ending at word i − 1. */
  private tree = new Int32Array(33);
  /** Positions marked now. */
  count = 0;

  isMarked(position: number): boolean {
    const word = position >>> 5;
    return word < this.bits.length && (this.bits[word]! & (1 << (position & 31))) !== 0;
  }

  /** Marks a position; false when it was marked already. */
  mark(position: number): boolean {
    const word = position >>> 5;
    if (word >= this.bits.length) this.grow(word);
    const bit = 1 << (position & 31);
    if ((this.bits[word]! & bit) !== 0) return false;
    this.bits[word]! |= bit;
    this.add(word, 1);
    this.count++;
    return true;
  }

  unmark(position: number): void {
    if (!this.isMarked(position)) return;
    const word = position >>> 5;
    this.bits[word]! &= ~(1 << (position & 31));
    this.add(word, -1);
    this.count--;
  }

  /** Marks at positions after `position`. */
  above(position: number): number {
    const word = position >>> 5;
    if (word >= this.bits.length) return 0;
    // The marks of the words before, and of this word up to the position itself.
    const upTo = (position & 31) === 31 ? this.bits[word]! : this.bits[word]! & ((2 << (position & 31)) - 1);
    return this.count - this.wordsBefore(word) - bitCount(upTo >>> 0);
  }

  /** Frees the tree once no mark or question follows. */
  release(): void {
    this.bits = new Uint32Array(0);
    this.tree = new Int32Array(1);
    this.count = 0;
  }

  private add(word: number, delta: number): void {
    for (let i = word + 1; i < this.tree.length; i += i & -i) this.tree[i]! += delta;
  }

  /** Marks in words 0..word − 1. */
  private wordsBefore(word: number): number {
    let sum = 0;
    for (let i = word; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }

  private grow(word: number): void {
    let length = this.bits.length * 2;
    while (length <= word) length *= 2;
    const bits = new Uint32Array(length);
    bits.set(this.bits);
    this.bits = bits;
    // Rebuilt in linear time: each node adds itself to its parent.
    const tree = new Int32Array(length + 1);
    for (let i = 1; i < tree.length; i++) {
      tree[i]! += bitCount(bits[i - 1]!);
      const parent = i + (i & -i);
      if (parent < tree.length) tree[parent]! += tree[i]!;
    }
    this.tree = tree;
  }
}

/** Set bits of a 32-bit word (the classic SWAR count). */
function bitCount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
