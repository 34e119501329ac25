import { accessSync, constants, createWriteStream, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { describeFsError, fileIdentity, type InputFile } from '../node/analyze-files.js';
import { temporaryNameFor, trackTemporary, untrackTemporary } from './temporary-files.js';

export { CSV_COLUMNS, csvHeader, csvRow, csvField, connectionsToCsv } from '../../parser/report/csv.js';

/** An output file that cannot be written: reported as such (exit 2), not as a bug. */
export class OutputError extends Error {}

/** "-" as an output path: standard output (as "-" as an input is standard input). */
export const STANDARD_OUTPUT = '-';

/**
 * Fails at once, before any capture is read, when an output cannot be created (a missing folder,
 * no permission, a folder in the file's place), is one of the input captures (it would be
 * overwritten) or is another output's file, or when two outputs ask for standard output: a 4 GB
 * capture would otherwise be analysed first, or destroyed.
 */
export function checkOutputPaths(outputs: [flag: string, path: string | null][], inputs: InputFile[]): void {
  const inputFiles = new Set(inputs.map((f) => f.identity));
  const taken = new Map<string, string>();
  for (const [flag, path] of outputs) {
    if (path === null) continue;
    const identity = path === STANDARD_OUTPUT ? 'standard output' : outputIdentity(path);
    const other = taken.get(identity);
    if (other !== undefined) throw new OutputError(`${flag} ${path}: ${path === STANDARD_OUTPUT ? 'standard output is already' : 'the same file is already'} written by ${other}`);
    taken.set(identity, flag);
    if (path === STANDARD_OUTPUT) continue;
    if (inputFiles.has(identity)) throw new OutputError(`${flag} ${path}: is one of the input captures (it would be overwritten)`);
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

function outputIdentity(path: string): string {
  let stat = null;
  try {
    stat = statSync(path);
  } catch {
    // Not there yet: known by its absolute path.
  }
  return fileIdentity(path, stat);
}

/**
 * Where OutputFile writes first and what it renames that to: a temporary file beside the output (for
 * a symbolic link, beside the file it points to, which is replaced: the link stays a link), or null
 * to write `path` itself: something other than a file is there (a device such as /dev/null, a FIFO),
 * or the folder cannot take a new file.
 */
export function temporaryFor(path: string): { temporary: string; target: string } | null {
  let target = path;
  try {
    const existing = statSync(path);
    if (!existing.isFile()) return null;
    target = realpathSync(path);
  } catch {
    // Not there yet.
  }
  try {
    accessSync(dirname(target), constants.W_OK);
  } catch {
    return null;
  }
  return { temporary: temporaryNameFor(target), target };
}

/** Bytes gathered before one write to the file. */
const BLOCK = 1 << 18;

/**
 * A write stream that honours back-pressure and reports errors at close. Small writes (one line
 * each) are gathered into blocks of UTF-8 bytes: one write per 256 KiB instead of one per line,
 * and no joined string to encode. Bytes written are copied at once, so the caller may reuse its
 * buffer.
 */
/** An output ("-") writes to standard output: its failure is that output's to report (see main's watch). */
let standardOutputIsAnOutput = false;
export function standardOutputWrittenAsOutput(): boolean {
  return standardOutputIsAnOutput;
}

export class OutputFile {
  private readonly stream: Writable;
  /** "-": standard output, which is never ended; a reader that goes away (EPIPE) ends the writing quietly. */
  private readonly toStandardOutput: boolean;
  private error: Error | null = null;
  private block: Uint8Array = new Uint8Array(BLOCK);
  private fill = 0;
  /**
   * Blocks the stream has finished writing, reused for the next bytes. A fresh 256 KiB block per
   * write is external memory that V8 counts towards its next collection: on a 1 GB capture's JSON
   * (~730 blocks) that was ~0.17 s of garbage collection in the writing stage.
   */
  private readonly spareBlocks: Uint8Array[] = [];

  /**
   * Where the bytes go until close() renames them into `path` (null: straight to `path`). A file
   * is replaced whole or not at all: a run stopped half way (Ctrl-C, a full disk) leaves the last
   * good output, not a cut one that ends on a whole line and looks complete. Devices, pipes and
   * files in a folder this user cannot write are written in place.
   */
  private readonly temporary: string | null;
  /** What the temporary file is renamed to: `path`, or the file a link at `path` points to. */
  private readonly target: string;

  constructor(readonly path: string) {
    this.toStandardOutput = path === STANDARD_OUTPUT;
    if (this.toStandardOutput) standardOutputIsAnOutput = true;
    const staged = this.toStandardOutput ? null : temporaryFor(path);
    this.temporary = staged?.temporary ?? null;
    this.target = staged?.target ?? path;
    if (this.temporary !== null) trackTemporary(this.temporary);
    this.stream = this.toStandardOutput ? process.stdout : createWriteStream(this.temporary ?? path);
    this.stream.on('error', (e) => { this.error ??= e; });
  }

  /** Standard output's reader went away (`| head`): what follows is not written, and that is no failure. */
  get readerGone(): boolean {
    return this.toStandardOutput && (this.error as NodeJS.ErrnoException | null)?.code === 'EPIPE';
  }

  write(data: string | Uint8Array): void {
    if (this.error) return; // the error is reported at close
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
    // An error (a reader that went away) ends the wait too: no 'drain' follows it.
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
    });
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve, reject) => {
      const settle = (error?: Error | null) => {
        let failure = this.error ?? error;
        if (!failure && this.temporary !== null) {
          try {
            renameSync(this.temporary, this.target);
          } catch (e) {
            failure = e as Error;
          }
        }
        if (this.temporary !== null) {
          if (failure) rmSync(this.temporary, { force: true });
          untrackTemporary(this.temporary);
        }
        // A reader of standard output that went away (`| head`) took what it wanted: no failure.
        if (!failure || (this.toStandardOutput && (failure as NodeJS.ErrnoException).code === 'EPIPE')) resolve();
        else reject(new OutputError(`${this.toStandardOutput ? 'standard output' : this.path}: cannot write: ${describeFsError(failure)}`));
      };
      if (this.error) settle();
      // Standard output is never ended: an empty write's callback says everything before it went out.
      else if (this.toStandardOutput) this.stream.write(new Uint8Array(0), settle);
      // end()'s callback gets the stream's error (Node ≥ 15); the 'error' event may come after it.
      else this.stream.end(settle);
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
