import { accessSync, constants, createWriteStream, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { describeFsError } from '../node/analyze-files.js';

export { CSV_COLUMNS, csvHeader, csvRow, csvField, connectionsToCsv } from '../../parser/report/csv.js';

/** An output file that cannot be written: reported as such (exit 2), not as a bug. */
export class OutputError extends Error {}

/**
 * Fails at once, before any capture is read, when an output cannot be created (a missing folder,
 * no permission, a folder in the file's place): a 4 GB capture would otherwise be analysed first.
 */
export function checkOutputPaths(outputs: [flag: string, path: string | null][]): void {
  for (const [flag, path] of outputs) {
    if (path === null) continue;
    try {
      let existing = null;
      try {
        existing = statSync(path);
      } catch {
        // A new file: its folder must exist and be writable.
      }
      if (existing?.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
      accessSync(existing ? path : dirname(path), constants.W_OK);
    } catch (e) {
      throw new OutputError(`${flag} ${path}: cannot write there: ${describeFsError(e)}`);
    }
  }
}

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
  private block: Uint8Array = new Uint8Array(BLOCK);
  private fill = 0;
  /**
   * Blocks the stream has finished writing, reused for the next bytes. A fresh 256 KiB block per
   * write is external memory that V8 counts towards its next collection: on a 1 GB capture's JSON
   * (~730 blocks) that was ~0.17 s of garbage collection in the writing stage.
   */
  private readonly spareBlocks: Uint8Array[] = [];

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (e) => { this.error = e; });
  }

  write(data: string | Uint8Array): void {
    if (typeof data === 'string') {
      if (data.length <= SHORT_TEXT && data.length <= BLOCK - this.fill && copyAscii(data, this.block, this.fill)) {
        this.fill += data.length;
        return;
      }
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
    // The block goes to the stream as it is (no copy); the next bytes go to a spare one.
    const block = this.block;
    this.stream.write(block.subarray(0, this.fill), () => { this.spareBlocks.push(block); });
    this.block = this.spareBlocks.pop() ?? new Uint8Array(BLOCK);
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
      // end()'s callback gets the stream's error (Node ≥ 15); the 'error' event may come after it.
      this.stream.end((error?: Error | null) => {
        const failure = error ?? this.error;
        if (failure) reject(new OutputError(`${this.path}: cannot write: ${describeFsError(failure)}`));
        else resolve();
      });
    });
  }
}

const encoder = new TextEncoder();

/** Separators and line ends: copied code by code, without TextEncoder's call and subarray. */
const SHORT_TEXT = 16;

/** Copies `text` if it is all ASCII (then its UTF-8 is its codes); false, and a partial copy, if not. */
function copyAscii(text: string, block: Uint8Array, at: number): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return false;
    block[at + i] = code;
  }
  return true;
}

function encodeInto(text: string, block: Uint8Array, at: number): number {
  return encoder.encodeInto(text, block.subarray(at)).written;
}
