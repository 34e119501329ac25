// Growable columns of numbers for per-session and per-offer facts. A number in an object
// field is boxed (a 12-byte heap object for every non-integer), and an object per fact costs
// its header and slack: a farm capture has millions. Columns hold them flat, in fixed blocks
// so that growing never copies.

const BLOCK_BITS = 16;
const BLOCK_SIZE = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK_SIZE - 1;

type TypedArray = Float64Array | Int32Array | Uint8Array;

abstract class Column<T extends TypedArray> {
  private readonly blocks: T[] = [];
  length = 0;
  protected abstract block(): T;

  get(index: number): number {
    return this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK]!;
  }
  set(index: number, value: number): void {
    this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK] = value;
  }
  /** Appends a value; returns its index. */
  push(value: number): number {
    const index = this.length++;
    if ((index & BLOCK_MASK) === 0) this.blocks.push(this.block());
    this.blocks[index >>> BLOCK_BITS]![index & BLOCK_MASK] = value;
    return index;
  }
}

export class Float64Column extends Column<Float64Array> {
  protected block(): Float64Array { return new Float64Array(BLOCK_SIZE); }
}

export class Int32Column extends Column<Int32Array> {
  protected block(): Int32Array { return new Int32Array(BLOCK_SIZE); }
}

export class Uint8Column extends Column<Uint8Array> {
  protected block(): Uint8Array { return new Uint8Array(BLOCK_SIZE); }
}
