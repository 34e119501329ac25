import { createWriteStream, type WriteStream } from 'node:fs';

export { CSV_COLUMNS, csvHeader, csvRow, csvField, connectionsToCsv } from '../../parser/report/csv.js';

/** Bytes gathered before one write to the file. */
const BLOCK = 1 << 18;

/**
 * A write stream that honours back-pressure and reports errors at close. Small writes (one line
 * each) are gathered into blocks of UTF-8 bytes: one write per 256 KiB instead of one per line,
 * and no joined string to encode. Bytes written are copied at once, so the caller may reuse its
 * buffer.
 */
export class OutputFile {
  private readonly stream: WriteStream;
  private error: Error | null = null;
  private block = new Uint8Array(BLOCK);
  private fill = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (e) => { this.error = e; });
  }

  write(data: string | Uint8Array): void {
    if (typeof data === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (data.length * 3 > BLOCK - this.fill) {
        this.flush();
        if (data.length * 3 > BLOCK) {
          this.stream.write(data);
          return;
        }
      }
      this.fill += encodeInto(data, this.block, this.fill);
      return;
    }
    if (data.length > BLOCK - this.fill) {
      this.flush();
      if (data.length > BLOCK) {
        this.stream.write(data.slice());
        return;
      }
    }
    this.block.set(data, this.fill);
    this.fill += data.length;
  }

  private flush(): void {
    if (this.fill === 0) return;
    // The block goes to the stream as it is (no copy); the next bytes go to a new one.
    this.stream.write(this.block.subarray(0, this.fill));
    this.block = new Uint8Array(BLOCK);
    this.fill = 0;
  }

  /** Resolves once the OS took what was written: bounds memory when output is slower than input. */
  drained(): Promise<void> {
    if (!this.stream.writableNeedDrain || this.error) return Promise.resolve();
    return new Promise((resolve) => this.stream.once('drain', () => resolve()));
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.stream.end(() => (this.error ? reject(this.error) : resolve()));
    });
  }
}

const encoder = new TextEncoder();

function encodeInto(text: string, block: Uint8Array, at: number): number {
  return encoder.encodeInto(text, block.subarray(at)).written;
}
