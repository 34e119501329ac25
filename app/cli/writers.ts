import { createWriteStream, type WriteStream } from 'node:fs';

export { CSV_COLUMNS, csvHeader, csvRow, csvField, connectionsToCsv } from '../../parser/report/csv.js';

/** A write stream that honours back-pressure and reports errors at close. */
export class OutputFile {
  private readonly stream: WriteStream;
  private error: Error | null = null;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (e) => { this.error = e; });
  }

  // Small writes (one line each) are joined into blocks: one buffer and one write per ~32 K
  // characters instead of one per line. Kept under V8's large-object size (128 KB), so the joined
  // text dies young instead of waiting in old space for a full collection.
  private pending: string[] = [];
  private pendingLength = 0;

  write(data: string | Uint8Array): void {
    if (typeof data !== 'string') {
      this.flush();
      this.stream.write(data);
      return;
    }
    this.pending.push(data);
    this.pendingLength += data.length;
    if (this.pendingLength >= 1 << 15) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.stream.write(this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
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
