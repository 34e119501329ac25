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

  write(data: string | Uint8Array): void {
    this.stream.write(data);
  }

  /** Resolves once the OS took what was written: bounds memory when output is slower than input. */
  drained(): Promise<void> {
    if (!this.stream.writableNeedDrain || this.error) return Promise.resolve();
    return new Promise((resolve) => this.stream.once('drain', () => resolve()));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.stream.end(() => (this.error ? reject(this.error) : resolve()));
    });
  }
}
