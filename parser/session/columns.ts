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
