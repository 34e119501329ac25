// Growable columns of numbers for per-session and per-offer facts. A number in an object
// field is boxed (a 12-byte heap object for every non-integer), and an object per fact costs
// its header and slack: a farm capture has millions. Columns hold them flat, in fixed blocks
// so that growing never copies.
//
// Three classes with the same body, not one generic base class: a method shared by all three
// sees three kinds of typed array at its element access and V8 compiles it polymorphic (a map
// check chain per read); one class per element type keeps every read monomorphic. Measured on
// the 1 GB bench: the diagnosis's first (and, in the CLI, only) run 7 % faster.

const BLOCK_BITS = 16;
const BLOCK_SIZE = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK_SIZE - 1;

export class Float64Column {
  private readonly blocks: Float64Array[] = [];
  length = 0;
  get(index: number): number { return this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK]!; }
  set(index: number, value: number): void { this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK] = value; }
  /** Appends a value; returns its index. */
  push(value: number): number {
    const index = this.length++;
    if ((index & BLOCK_MASK) === 0) this.blocks.push(new Float64Array(BLOCK_SIZE));
    this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK] = value;
    return index;
  }
}

export class Int32Column {
  private readonly blocks: Int32Array[] = [];
  length = 0;
  get(index: number): number { return this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK]!; }
  set(index: number, value: number): void { this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK] = value; }
  /** Appends a value; returns its index. */
  push(value: number): number {
    const index = this.length++;
    if ((index & BLOCK_MASK) === 0) this.blocks.push(new Int32Array(BLOCK_SIZE));
    this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK] = value;
    return index;
  }
}

/**
 * An Int32Column of mostly zeros: a block is made only once a value in it is not 0. The offers'
 * counts of sessions aborted handshakes had touched are 0 in every group without such a handshake
 * (most captures): there two full columns would be 8 bytes of zeros an offer.
 */
export class ZeroMostlyInt32Column {
  private readonly blocks: (Int32Array | undefined)[] = [];
  length = 0;
  get(index: number): number {
    const block = this.blocks[index >>> BLOCK_BITS];
    return block === undefined ? 0 : block[index & BLOCK_MASK]!;
  }
  /** Appends a value; returns its index. */
  push(value: number): number {
    const index = this.length++;
    if (value !== 0) (this.blocks[index >>> BLOCK_BITS] ??= new Int32Array(BLOCK_SIZE))[index & BLOCK_MASK] = value;
    return index;
  }
}

export class Uint8Column {
  private readonly blocks: Uint8Array[] = [];
  length = 0;
  get(index: number): number { return this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK]!; }
  set(index: number, value: number): void { this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK] = value; }
  /** Appends a value; returns its index. */
  push(value: number): number {
    const index = this.length++;
    if ((index & BLOCK_MASK) === 0) this.blocks.push(new Uint8Array(BLOCK_SIZE));
    this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK] = value;
    return index;
  }
}

/**
 * Non-negative Int32 keys to Int32 values, by open addressing over typed arrays (linear probing,
 * at most half full). The diagnosis keeps, per server group and TLS stack, each client's latest
 * session: on the 2-million-connection capture a Map<number, number> of ~580,000 clients, whose
 * lookups (two or three dependent loads each) were the session tracking's largest single cost.
 * Here a lookup is one load, mostly. Visits its entries in the order keys were first set, as a
 * Map would (the state file lists clients in that order).
 */
export class IntMap {
  /** Key + 1 per slot; 0: empty. */
  private keys: Int32Array;
  private values: Int32Array;
  private bits: number;
  private inOrder: Int32Array;
  size = 0;

  constructor() {
    this.bits = 3;
    this.keys = new Int32Array(1 << this.bits);
    this.values = new Int32Array(1 << this.bits);
    this.inOrder = new Int32Array(4);
  }

  /** The slot holding key, or the empty slot where it would go. */
  private slotOf(key: number): number {
    const mask = (1 << this.bits) - 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> (32 - this.bits);
    const keys = this.keys;
    for (;;) {
      const k = keys[slot]!;
      if (k === 0 || k === key + 1) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /** The key's value, `absent` when it has none. */
  get(key: number, absent: number): number {
    const slot = this.slotOf(key);
    return this.keys[slot] === 0 ? absent : this.values[slot]!;
  }

  has(key: number): boolean {
    return this.keys[this.slotOf(key)] !== 0;
  }

  set(key: number, value: number): void {
    if (key < 0 || key > 0x7ffffffe) throw new RangeError(`IntMap key out of range: ${key}`);
    let slot = this.slotOf(key);
    if (this.keys[slot] === 0) {
      if ((this.size + 1) * 2 > 1 << this.bits) {
        this.grow();
        slot = this.slotOf(key);
      }
      this.keys[slot] = key + 1;
      if (this.size === this.inOrder.length) {
        const longer = new Int32Array(this.inOrder.length * 2);
        longer.set(this.inOrder);
        this.inOrder = longer;
      }
      this.inOrder[this.size++] = key;
    }
    this.values[slot] = value;
  }

  /** Every entry, in the order its key was first set. */
  forEach(visit: (key: number, value: number) => void): void {
    for (let i = 0; i < this.size; i++) {
      const key = this.inOrder[i]!;
      visit(key, this.values[this.slotOf(key)]!);
    }
  }

  private grow(): void {
    const oldKeys = this.keys, oldValues = this.values;
    this.bits++;
    this.keys = new Int32Array(1 << this.bits);
    this.values = new Int32Array(1 << this.bits);
    for (let s = 0; s < oldKeys.length; s++) {
      const k = oldKeys[s]!;
      if (k === 0) continue;
      const slot = this.slotOf(k - 1);
      this.keys[slot] = k;
      this.values[slot] = oldValues[s]!;
    }
  }
}
