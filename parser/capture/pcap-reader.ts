import type { Anomaly } from '../report/types.js';
import { ChunkJoiner, Frame, type AnomalySink, type CaptureReader, type FrameSink } from './frame.js';

// Classic libpcap format: https://www.tcpdump.org/manpages/pcap-savefile.5.html
// (draft-ietf-opsawg-pcap §4 file header, §5 packet record).
export const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
const FILE_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;
/** Largest record we believe without proof; libpcap itself refuses > 256 KiB unless snaplen says more. */
const MAX_SANE_RECORD = 262144;
const MAX_RECORD_CAP = 16 * 1024 * 1024;
/** Largest believable jump in time between consecutive records (a year). */
const MAX_TIME_STEP = 366 * 86400;

export function isPcapMagic(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const big = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  const little = ((head[3]! << 24) | (head[2]! << 16) | (head[1]! << 8) | head[0]!) >>> 0;
  return big === PCAP_MAGIC_MICRO || big === PCAP_MAGIC_NANO || little === PCAP_MAGIC_MICRO || little === PCAP_MAGIC_NANO;
}

export class PcapReader implements CaptureReader {
  format: 'pcap' | 'pcap-ns' = 'pcap';
  readonly linkTypes = new Set<number>();
  frames = 0;

  private readonly joiner = new ChunkJoiner();
  private readonly frame = new Frame();
  private headerRead = false;
  private littleEndian = true;
  private fractionsPerSecond = 1e6;
  private linkType = 1;
  private recordLimit = MAX_SANE_RECORD;
  private lastTime = 0;
  private resyncing = false;
  /** finish() is draining what is left: a record that does not fit will never fit. */
  private ending = false;

  constructor(
    private readonly onFrame: FrameSink,
    private readonly onAnomaly: AnomalySink,
    private readonly fileName: string,
  ) {}

  push(chunk: Uint8Array, room = 0): void {
    const buf = this.joiner.join(chunk, this.ending, room);
    if (buf === null) return; // still short of the record being waited for
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    if (!this.headerRead) {
      if (buf.length < FILE_HEADER_LENGTH) {
        this.joiner.keep(buf, 0, FILE_HEADER_LENGTH);
        return;
      }
      this.readFileHeader(view);
      pos = FILE_HEADER_LENGTH;
    }
    const le = this.littleEndian;
    const frame = this.frame;
    let needed = 0;
    while (buf.length - pos >= RECORD_HEADER_LENGTH) {
      const seconds = view.getUint32(pos, le);
      const fraction = view.getUint32(pos + 4, le);
      const capturedLength = view.getUint32(pos + 8, le);
      const originalLength = view.getUint32(pos + 12, le);
      let plausible = this.plausibleRecord(seconds, fraction, capturedLength, originalLength);
      if (plausible && this.lastTime !== 0 && Math.abs(seconds - this.lastTime) > (this.resyncing ? 86400 : MAX_TIME_STEP)) {
        // Far in time from the last good record: believe it only if the next header
        // confirms it. In step, without this, a damaged length (12 instead of 92) landed the
        // reader inside packet data, where bytes passing the length checks chained false
        // records that swallowed real ones; while resyncing, one false record accepted
        // earlier poisoned lastTime so that no real record matched again (fuzz: up to 2/3
        // of a file lost to one damaged field). Waits for the next header like a record
        // that does not fit yet, so the verdict does not depend on chunking.
        const next = pos + RECORD_HEADER_LENGTH + capturedLength;
        if (buf.length - next < RECORD_HEADER_LENGTH && !this.ending) {
          needed = next + RECORD_HEADER_LENGTH - pos;
          break;
        }
        // At the end of the file, with no whole header after it, it is judged as it is.
        // A time of 0 after real times is zero-filled packet data (IPv6 addresses), which
        // chains into "confirmed" false records: never believed.
        if (seconds === 0) plausible = false;
        else if (buf.length - next >= RECORD_HEADER_LENGTH) plausible = this.nextRecordConfirms(view, next, seconds);
      }
      if (!plausible) {
        if (!this.resyncing) {
          this.report('malformed', 'pcap-bad-record', `implausible packet record header (captured length ${capturedLength}); scanning for the next sane record`, this.joiner.baseOffset + pos);
          this.resyncing = true;
        }
        pos += 1;
        continue;
      }
      if (buf.length - pos - RECORD_HEADER_LENGTH < capturedLength) {
        // At the end of the file a record that runs past the end is either the last record,
        // cut short, or a damaged length (one flipped bit) with more records behind it.
        // Before this check the second case dropped every later record and was reported as
        // a harmless cut ('truncated'); now, when a sane record follows, the header is
        // reported as malformed and reading resumes there (fuzz regression, see
        // fixtures/regressions/README.md).
        if (this.ending && (this.resyncing || this.saneRecordFollows(view, pos + 1, buf.length, this.lastTime !== 0 ? this.lastTime : seconds))) {
          if (!this.resyncing) {
            this.report('malformed', 'pcap-bad-record', `packet record claims ${capturedLength} bytes, more than the rest of the file, yet sane records follow; scanning for the next sane record`, this.joiner.baseOffset + pos);
            this.resyncing = true;
          }
          pos += 1;
          continue;
        }
        needed = RECORD_HEADER_LENGTH + capturedLength;
        break;
      }
      this.resyncing = false;
      const dataStart = pos + RECORD_HEADER_LENGTH;
      frame.time = seconds + fraction / this.fractionsPerSecond;
      frame.wholeSeconds = seconds + Math.floor(fraction / this.fractionsPerSecond);
      frame.nanoseconds = (fraction % this.fractionsPerSecond) * (1e9 / this.fractionsPerSecond);
      frame.linkType = this.linkType;
      frame.bytes = buf;
      frame.start = dataStart;
      frame.end = dataStart + capturedLength;
      frame.originalLength = Math.max(originalLength, capturedLength);
      frame.number = ++this.frames;
      frame.fileOffset = this.joiner.baseOffset + pos;
      frame.interfaceId = 0;
      this.lastTime = seconds;
      this.onFrame(frame);
      pos = dataStart + capturedLength;
    }
    this.joiner.keep(buf, pos, needed);
  }

  finish(): void {
    if (this.headerRead && this.joiner.pendingBytes > 0) {
      this.ending = true;
      this.push(new Uint8Array(0));
    }
    if (!this.headerRead && this.joiner.pendingBytes > 0) {
      this.report('malformed', 'pcap-short-header', 'file ends inside the pcap file header', 0);
    } else if (this.joiner.pendingBytes > 0) {
      this.report('truncated', 'file-cut-short', `the capture file ends in the middle of a packet record (${this.joiner.pendingBytes} bytes left over)`, this.joiner.baseOffset);
    }
  }

  private readFileHeader(view: DataView): void {
    const magicLE = view.getUint32(0, true);
    this.littleEndian = magicLE === PCAP_MAGIC_MICRO || magicLE === PCAP_MAGIC_NANO;
    const magic = view.getUint32(0, this.littleEndian);
    if (magic === PCAP_MAGIC_NANO) {
      this.format = 'pcap-ns';
      this.fractionsPerSecond = 1e9;
    }
    const snaplen = view.getUint32(16, this.littleEndian);
    // The upper bits of the link-type field carry FCS information (pcap-savefile(5)):
    // bits 28-31 the FCS length and bit 26 (0x04000000) the "FCS length present" flag.
    // Keep only the link type, as libpcap's LT_LINKTYPE() does (mask 0x03FFFFFF);
    // masking with 0x0FFFFFFF kept the flag and turned e.g. Ethernet into 0x04000001.
    this.linkType = view.getUint32(20, this.littleEndian) & 0x03ffffff;
    this.linkTypes.add(this.linkType);
    this.recordLimit = Math.min(MAX_RECORD_CAP, Math.max(MAX_SANE_RECORD, snaplen));
    this.headerRead = true;
  }

  /**
   * Is there, at or after `from`, a record that fits in the buffer, whose time is within a
   * day of `referenceTime` (the last good record's, else the damaged header's own), and that
   * is followed by the end of the buffer or by another such header? One linear scan, run
   * only at the end of the file when a record header claims more than is left.
   */
  private saneRecordFollows(view: DataView, from: number, end: number, referenceTime: number): boolean {
    const le = this.littleEndian;
    const sane = (q: number): boolean => {
      const seconds = view.getUint32(q, le);
      return Math.abs(seconds - referenceTime) <= 86400 && this.plausibleRecord(seconds, view.getUint32(q + 4, le), view.getUint32(q + 8, le), view.getUint32(q + 12, le));
    };
    for (let q = from; end - q >= RECORD_HEADER_LENGTH; q++) {
      if (!sane(q)) continue;
      const next = q + RECORD_HEADER_LENGTH + view.getUint32(q + 8, le);
      if (next > end) continue;
      if (next === end || (end - next >= RECORD_HEADER_LENGTH && sane(next))) return true;
    }
    return false;
  }

  /** The record header at `at` is plausible and its time within a day of `seconds`. */
  private nextRecordConfirms(view: DataView, at: number, seconds: number): boolean {
    const le = this.littleEndian;
    const nextSeconds = view.getUint32(at, le);
    return Math.abs(nextSeconds - seconds) <= 86400 && this.plausibleRecord(nextSeconds, view.getUint32(at + 4, le), view.getUint32(at + 8, le), view.getUint32(at + 12, le));
  }

  /** Lengths and fraction only; the time is judged by the caller against the last good record. */
  private plausibleRecord(_seconds: number, fraction: number, capturedLength: number, originalLength: number): boolean {
    if (capturedLength > this.recordLimit) return false;
    // A fraction of exactly one second is a writer's rounding (0.9999996 s written as 1,000,000 µs):
    // the next whole second, as Wireshark reads it. Taken for damage, a valid record sent the
    // reader scanning through packet data (fuzz: a capture clock 0.518 s behind, frame 506).
    if (fraction > this.fractionsPerSecond) return false;
    if (originalLength < capturedLength && originalLength !== 0) return false;
    return true;
  }

  private report(kind: Anomaly['kind'], code: string, message: string, offset: number): void {
    this.onAnomaly({ kind, code, message, file: this.fileName, frame: this.frames + 1, offset });
  }
}
