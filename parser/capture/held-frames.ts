// Frames a reader has produced but that must wait: files read merged by packet time (see
// parser/merged-reading.ts) hold a file's frames that come after another file's next one.

import { Frame } from './frame.js';

/**
 * What reads a file's frames in time with other files: the analysis's CaptureIngest, and the
 * --pcapng-out export's reader, which writes the files' packets in the order they were analysed.
 * Frames later than the bound the loop sets (holdAfter) are held until their turn.
 */
export interface TimeOrderedIngest {
  /** Frames later than this are held (set before each chunk is pushed). */
  holdAfter: number;
  readonly holdsFrames: boolean;
  /** Time of the first frame held; Infinity when none is. */
  readonly nextHeldTime: number;
  /** Takes the frames held, in file order, up to the first one later than `until`. */
  releaseHeld(until: number): void;
  /** Lets the frames held go unread (the file failed). */
  dropHeld(): void;
}

/** Numbers kept per held frame (HeldFrames.fields). */
const HELD_FIELDS = 10;

/**
 * Frames held back while other files' packets come first (CaptureIngest.holdAfter, and the
 * --pcapng-out export's ExportFileReader), copied: the readers reuse their Frame and buffers.
 * Their bytes go into one growing buffer and their fields into one array of numbers, both reused
 * once emptied: a Frame and a slice per frame held made the
 * bench's four overlapping 250 MB files, read merged, take 4.6 s of CPU instead of 3.6. At most
 * about a read chunk per file is held, so the buffers stay near that size.
 */
export class HeldFrames {
  private count = 0;
  private first = 0;
  private fields = new Float64Array(HELD_FIELDS * 1024);
  private bytes: Uint8Array = new Uint8Array(1 << 16);
  private used = 0;
  private readonly frame = new Frame();

  /** Frames held and not yet released. */
  get size(): number {
    return this.count - this.first;
  }

  get nextTime(): number {
    return this.count > this.first ? this.fields[this.first * HELD_FIELDS]! : Infinity;
  }

  add(frame: Frame): void {
    const length = frame.end - frame.start;
    if (this.used + length > this.bytes.length) this.bytes = grown(this.bytes, this.used + length);
    this.bytes.set(frame.bytes.subarray(frame.start, frame.end), this.used);
    if ((this.count + 1) * HELD_FIELDS > this.fields.length) {
      const fields = new Float64Array(this.fields.length * 2);
      fields.set(this.fields);
      this.fields = fields;
    }
    const f = this.fields;
    const at = this.count++ * HELD_FIELDS;
    f[at] = frame.time;
    f[at + 1] = frame.wholeSeconds;
    f[at + 2] = frame.nanoseconds;
    f[at + 3] = frame.linkType;
    f[at + 4] = frame.originalLength;
    f[at + 5] = frame.number;
    f[at + 6] = frame.fileOffset;
    f[at + 7] = frame.interfaceId;
    f[at + 8] = this.used;
    f[at + 9] = this.used + length;
    this.used += length;
  }

  /** Each held frame up to the first later than `until` to `onFrame`, in the order held (one Frame object reused). */
  release(until: number, onFrame: (frame: Frame) => void): void {
    const frame = this.frame;
    const f = this.fields;
    frame.bytes = this.bytes;
    while (this.first < this.count) {
      const at = this.first * HELD_FIELDS;
      if (f[at]! > until) return;
      this.first++;
      frame.time = f[at]!;
      frame.wholeSeconds = f[at + 1]!;
      frame.nanoseconds = f[at + 2]!;
      frame.linkType = f[at + 3]!;
      frame.originalLength = f[at + 4]!;
      frame.number = f[at + 5]!;
      frame.fileOffset = f[at + 6]!;
      frame.interfaceId = f[at + 7]!;
      frame.start = f[at + 8]!;
      frame.end = f[at + 9]!;
      onFrame(frame);
    }
    this.clear();
  }

  clear(): void {
    this.count = 0;
    this.first = 0;
    this.used = 0;
  }
}

/** A copy of `bytes` in a buffer of at least `atLeast` bytes (twice as large at least). */
function grown(bytes: Uint8Array, atLeast: number): Uint8Array {
  const larger = new Uint8Array(Math.max(atLeast, bytes.length * 2));
  larger.set(bytes);
  return larger;
}
