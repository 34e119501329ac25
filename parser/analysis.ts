import { Frame } from './capture/frame.js';
import { HeldFrames, type TimeOrderedIngest } from './capture/held-frames.js';
import { isPcapMagic, PcapReader } from './capture/pcap-reader.js';
import { isPcapngMagic, PcapngReader } from './capture/pcapng-reader.js';
import type { CaptureReader } from './capture/frame.js';
import { decodeFrameAt, DecodeResult, ENCAPSULATION_NAMES, TcpPacket } from './net/decode-packet.js';
import { classifyUdpPayload, UdpTls } from './net/udp-tls.js';
import { IpFragmentReassembler, LINKTYPE_RAW, type UnfinishedDatagram } from './net/ip-fragments.js';
import { linkTypeName } from './capture/frame.js';
import type { Anomaly, CaptureSummary, ConnectionRecord, ConnectionSink } from './report/types.js';
import { CLOCK_STEP_BACK, FlowTable } from './tcp/flow-table.js';
import { formatDuration, isoTime } from './diagnose/format.js';
import { clockDriftAnomaly, clockOffsetAnomaly, driftCorrection, HandshakeSample, type ClockDrift, type ClockOffset } from './clock-offset.js';
import { PacketCopies } from './tcp/packet-copies.js';
import { CLOCK_SEGMENT_STEP, CLOCK_STEP_BACK_CODE } from './diagnose/clock-segments.js';

/** Per-file anomalies beyond this many are counted, not listed. */
const MAX_FILE_ANOMALIES = 200;
/**
 * Clock steps listed per file, apart from the other anomalies: the diagnosis reads them from the
 * list (see clockStepsOf), so damage listed first must not crowd them out. A file whose clock
 * steps back more often than this is hardly a capture of one clock; the rest are counted.
 */
const MAX_CLOCK_STEPS = 100;
/** Frames stamped far ahead and followed by the clock as it was are wrong timestamps, not a step back (see onFrame). */
const CLOCK_SPIKE_FRAMES = 4;

export class NotACaptureError extends Error {}

export type CaptureFormat = 'pcap' | 'pcapng' | 'gzip' | 'unknown';

/** What kind of file these first bytes start (at least 4 bytes for a verdict). */
export function sniffFormat(head: Uint8Array): CaptureFormat {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (isPcapMagic(head)) return 'pcap';
  if (isPcapngMagic(head)) return 'pcapng';
  return 'unknown';
}

/** How a file is read beside other files: its place in a reading plan (PlannedFile, merged-reading.ts). */
export interface FileReading {
  /** The file's clock is off against another file of its group: the shift its packet times take. */
  clockOffset?: ClockOffset;
  /** Its clock runs at another rate than another file's of its group: its times are brought onto that rate first. */
  clockDrift?: ClockDrift;
  /** It is read merged with other files: the packets another of them held too are analysed once (PacketCopies). */
  dropCopies?: boolean;
  /**
   * It is read merged with other files: its TCP handshakes are sampled over the whole file
   * (CaptureIngest.handshakes), so that clocks its first megabyte could not bound are checked
   * after the reading (clocksApart).
   */
  sampleHandshakes?: boolean;
}

/**
 * One analysis over any number of capture files: frames → packets → TCP flows →
 * TLS → connection records, pushed to `onConnection` as each connection ends (a sink is given
 * some at their close and their final packet count and end time when they end, see
 * ConnectionSink; a function is given each record whole when its connection ends).
 * Files are fed one after another; a connection may continue across files.
 */
export class Analysis {
  readonly captures: CaptureSummary[] = [];
  private readonly flows: FlowTable;
  private readonly packet = new TcpPacket();
  /** Shared by the files opened with dropCopies. */
  private copies: PacketCopies | null = null;

  constructor(onConnection: ConnectionSink | ((record: ConnectionRecord) => void)) {
    this.flows = new FlowTable(onConnection);
  }

  get liveFlows(): number {
    return this.flows.liveFlows;
  }

  /**
   * Start reading a file; push its (decompressed) bytes in order, then call finish(). `reading`:
   * how it is read beside other files (its place in a reading plan, see merged-reading.ts).
   */
  openFile(fileName: string, compressed = false, reading: FileReading = {}): CaptureIngest {
    const { clockOffset, dropCopies } = reading;
    const summary: CaptureSummary = {
      file: fileName, format: 'unknown', compressed, linkTypes: [], packets: 0, bytes: 0,
      firstTime: null, lastTime: null, anomalies: [],
      tlsOverUdp: { quicHandshakeDatagrams: 0, dtlsDatagrams: 0 },
      encapsulated: { vxlan: 0, geneve: 0, gre: 0, erspan: 0, mpls: 0, ipInIp: 0 },
    };
    this.captures.push(summary);
    this.flows.startFile();
    if (reading.clockDrift !== undefined) summary.anomalies.push(clockDriftAnomaly(fileName, reading.clockDrift));
    if (clockOffset !== undefined && clockOffset.seconds !== 0) summary.anomalies.push(clockOffsetAnomaly(fileName, clockOffset));
    let copies: PacketCopies | null = null;
    if (dropCopies) copies = this.copies ??= new PacketCopies();
    return new CaptureIngest(summary, this.flows, this.packet, clockOffset?.seconds ?? 0, copies, reading.sampleHandshakes ? new HandshakeSample(true) : null, reading.clockDrift ?? null);
  }

  /** No more input: every open connection produces its record. */
  finish(): void {
    this.flows.finishAll();
  }
}

export class CaptureIngest implements TimeOrderedIngest {
  private reader: CaptureReader | null = null;
  private head: Uint8Array | null = null;
  private anomalyOverflow = 0;
  private fragmentsReported = 0;
  private truncationsReported = 0;
  /**
   * Frames later than this wait, copied, instead of being analysed: several files read merged by
   * time (analyzeFiles), where another file's packets come first. Infinity: every frame goes on.
   */
  holdAfter = Infinity;
  private readonly held = new HeldFrames();
  /** The file's latest frame time since its clock last stepped back (see onFrame). */
  private clock = -Infinity;
  private clockSteps = 0;
  /** The clock before its latest jump ahead of more than CLOCK_STEP_BACK (-Infinity: none yet). */
  private clockBeforeJump = -Infinity;
  private jumpFrame = -Infinity;
  private finished = false;
  /**
   * The file's earliest and latest frame times so far, copied into the summary after each chunk
   * (syncTimes): the summary's fields start as null, so each store of a new latest time there
   * boxed a fresh number, a few dozen MB of garbage per GB read.
   */
  private earliestTime = Infinity;
  private latestTime = -Infinity;
  private readonly fragments = new IpFragmentReassembler((d) => this.unfinishedDatagram(d));

  constructor(
    readonly summary: CaptureSummary,
    private readonly flows: FlowTable,
    private readonly packet: TcpPacket,
    /** Seconds added to each frame's time: the file's clock against its group's (0: none). */
    private readonly clockShift = 0,
    /** Packets that another file read merged with it held too are let go (null: none looked for). */
    private readonly copies: PacketCopies | null = null,
    /** The file's TCP handshakes, sampled over all of it (times as read), to check its clock against the others' afterwards. */
    readonly handshakes: HandshakeSample | null = null,
    /** The file's clock runs at another rate than its group's: each frame's time is brought onto that rate before the shift. */
    private readonly clockDrift: ClockDrift | null = null,
  ) {
    this.copyBit = copies?.fileBit() ?? 0;
  }

  /** This file's bit in `copies`. */
  private readonly copyBit: number;

  /**
   * Feed the next chunk of the file. Throws NotACaptureError when the first bytes are no capture.
   * `room`: bytes just before `chunk` in its buffer the reader may overwrite (ChunkJoiner.join).
   */
  push(chunk: Uint8Array, room = 0): void {
    this.summary.bytes += chunk.length;
    if (this.reader === null) {
      const head = this.head === null ? chunk : concat(this.head, chunk);
      if (head.length < 4) {
        this.head = head;
        return;
      }
      this.head = null;
      this.reader = this.createReader(head);
      try {
        this.reader.push(head);
      } finally {
        this.syncTimes();
      }
      return;
    }
    try {
      this.reader.push(chunk, room);
    } finally {
      this.syncTimes();
    }
  }

  /** The summary's first and last frame times from the ones kept while reading (null: no frame yet). */
  private syncTimes(): void {
    if (this.latestTime === -Infinity) return;
    this.summary.firstTime = this.earliestTime;
    this.summary.lastTime = this.latestTime;
  }

  finish(): void {
    if (this.reader === null) {
      if (this.summary.bytes === 0) throw new NotACaptureError('empty file');
      throw new NotACaptureError(`too short to be a capture (${this.summary.bytes} bytes)`);
    }
    this.finishReader(this.reader);
    // Shorter than its file header (pcap: 24 bytes, draft-ietf-opsawg-pcap §4; pcapng: a section
    // header block of 28, draft-ietf-opsawg-pcapng §4.1): nothing in it can be read, like a file
    // of two bytes, and it is refused the same way rather than analysed as an empty capture.
    const headerLength = this.summary.format === 'pcapng' ? 28 : 24;
    if (this.summary.packets === 0 && this.summary.bytes < headerLength) {
      throw new NotACaptureError(`too short to be a capture: it ends inside the ${this.summary.format === 'pcapng' ? 'pcapng section header' : 'pcap file header'} (${this.summary.bytes} bytes)`);
    }
    // Cut inside its first block or record (the head of a pcapng whose section header block carries
    // options, or of a pcap whose first packet is cut): not one packet was read, so nothing is
    // analysed, and it is refused as a file too short rather than passed as an empty capture.
    // (By the records the reader read, not the packets analysed: a pcapng whose packets name an
    // undeclared interface holds packets the analysis cannot use, and is no stub.)
    if (this.reader.frames === 0 && this.summary.anomalies.some((a) => a.code === 'file-cut-short')) {
      throw new NotACaptureError(`too short to be a capture: it ends inside its first ${this.summary.format === 'pcapng' ? 'blocks' : 'packet record'}, before any packet (${this.summary.bytes} bytes)`);
    }
  }

  /**
   * The file could not be read past what was pushed (a damaged or cut compressed stream, an I/O
   * error): an anomaly at that offset of the (decompressed) capture, and what was read is kept
   * and finished as at a normal end (a packet cut by the failure is reported as such).
   */
  readFailed(reason: string): void {
    const at = this.summary.bytes;
    this.summary.anomalies.push({
      kind: 'malformed', code: 'read-error', file: this.summary.file, offset: at,
      message: `reading stopped after ${at.toLocaleString('en-US')} bytes of the capture: ${reason.replace(/\.$/, '')}; the packets before that point are analysed`,
    });
    if (this.reader !== null) this.finishReader(this.reader);
  }

  private finishReader(reader: CaptureReader): void {
    if (this.finished) return;
    this.finished = true;
    try {
      reader.finish();
    } finally {
      this.syncTimes();
    }
    this.fragments.finish();
    this.summary.linkTypes = [...reader.linkTypes].map(linkTypeName);
    if (this.anomalyOverflow > 0) {
      this.summary.anomalies.push({ kind: 'malformed', code: 'more-anomalies', message: `${this.anomalyOverflow} more anomalies not listed`, file: this.summary.file });
    }
  }

  private createReader(head: Uint8Array): CaptureReader {
    const format = sniffFormat(head);
    const timed = (frame: Frame) => {
      if (this.held.size === 0 && frame.time <= this.holdAfter) this.onFrame(frame);
      else this.hold(frame);
    };
    const shift = this.clockShift;
    const drift = this.clockDrift;
    const onFrame = drift !== null ? (frame: Frame) => {
      frame.time += driftCorrection(frame.time, drift) + shift;
      timed(frame);
    } : shift === 0 ? timed : (frame: Frame) => {
      frame.time += shift;
      timed(frame);
    };
    const onAnomaly = (a: Anomaly) => this.addAnomaly(a);
    if (format === 'pcap') {
      const reader = new PcapReader(onFrame, onAnomaly, this.summary.file);
      this.summary.format = 'pcap';
      return wrapFormat(reader, this.summary);
    }
    if (format === 'pcapng') {
      this.summary.format = 'pcapng';
      return new PcapngReader(onFrame, onAnomaly, this.summary.file);
    }
    if (format === 'gzip') throw new NotACaptureError('gzip data must be decompressed before analysis');
    throw new NotACaptureError(`not a pcap or pcapng capture (starts with ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  }

  /** Time of the first frame held back (see holdAfter); Infinity when none is. */
  get nextHeldTime(): number {
    return this.held.nextTime;
  }

  get holdsFrames(): boolean {
    return this.held.size > 0;
  }

  /** Analyse the frames held back, in file order, up to the first one later than `until`. */
  releaseHeld(until: number): void {
    try {
      this.held.release(until, (frame) => this.onFrame(frame));
    } finally {
      this.syncTimes();
    }
  }

  /** The frames held back are let go unread: the file failed (see releaseHeld's caller). */
  dropHeld(): void {
    this.held.clear();
  }

  private hold(frame: Frame): void {
    this.held.add(frame);
  }

  private addAnomaly(a: Anomaly): void {
    if (this.summary.anomalies.length < MAX_FILE_ANOMALIES) this.summary.anomalies.push(a);
    else this.anomalyOverflow++;
  }

  /** Fragments that never made a datagram: its packet is lost to the analysis (a gap in its connection, if TCP). */
  private unfinishedDatagram(d: UnfinishedDatagram): void {
    if (this.fragmentsReported++ >= 5) return;
    const cut = d.why === 'snaplen';
    const got = d.total >= 0 ? `${d.received} of ${d.total} bytes` : `${d.received} bytes, not the last fragment`;
    // A capture cut short (snaplen, its end) is no error; fragments that did not come are a gap.
    const kind = cut || d.why === 'end of capture' ? 'truncated' : d.why === 'malformed' ? 'malformed' : 'gap';
    this.addAnomaly({
      kind, code: 'ip-fragment', file: this.summary.file, frame: d.frame, ...(d.offset >= 0 ? { offset: d.offset } : {}),
      message: cut ? 'IP fragment cut by snaplen: its datagram cannot be reassembled' : `IP fragments never made a whole datagram (${got}; ${d.why === 'timeout' ? 'the rest did not come within 30 s' : d.why === 'memory' ? 'too many fragments waiting' : d.why === 'malformed' ? 'inconsistent fragments' : 'the capture ended'}): its packet is lost`,
    });
  }

  /**
   * A frame far behind the latest one of its file: two captures appended into one (mergecap -a,
   * cat) or the capturing host's clock set back (an NTP step, a hand-set clock). The flow table
   * restarts its clock there either way; the diagnosis follows no session across it (see
   * clockStepsOf), since which side came first in truth is what the timestamps no longer say.
   * Before, a clock set back an hour mid-file went unreported and the later half, read as earlier,
   * made first visits "client forgot" the sessions they were about to get.
   */
  private clockSteppedBack(frame: Frame): void {
    const step = this.clock - frame.time;
    const from = this.clock;
    this.clock = frame.time;
    this.clockBeforeJump = -Infinity;
    if (this.clockSteps++ >= MAX_CLOCK_STEPS) return;
    const summary = this.summary;
    const followed = step < CLOCK_SEGMENT_STEP
      ? `sessions are still followed across it (connections within ${formatDuration(step)} of it may be taken in the wrong order)`
      : 'no session is followed across it';
    const more = this.clockSteps === MAX_CLOCK_STEPS ? '; steps after this one are not listed or followed' : '';
    summary.anomalies.push({
      kind: 'clock', code: CLOCK_STEP_BACK_CODE, file: summary.file, frame: frame.number, offset: frame.fileOffset, seconds: step,
      message: `the capture clock steps back ${formatDuration(step)} (from ${isoTime(from)} to ${isoTime(frame.time)}): ` +
        `captures appended into one file (mergecap -a) or the capturing host's clock set back; ${followed}` +
        ` (appended captures: give them as separate files, or merge them by time with mergecap without -a; ` +
        `a clock set back: cut the file there, shift the later part with editcap -t and join the parts)${more}`,
    });
  }

  private countEncapsulation(bits: number): void {
    const counts = this.summary.encapsulated!;
    for (let i = 0; i < ENCAPSULATION_NAMES.length; i++) if ((bits & (1 << i)) !== 0) counts[ENCAPSULATION_NAMES[i]!]++;
  }

  private onFrame(frame: Frame): void {
    const summary = this.summary;
    summary.packets++;
    if (frame.time < this.earliestTime) this.earliestTime = frame.time;
    if (frame.time > this.latestTime) this.latestTime = frame.time;
    if (frame.time > this.clock) {
      if (frame.time > this.clock + CLOCK_STEP_BACK) {
        this.clockBeforeJump = this.clock;
        this.jumpFrame = frame.number;
      }
      this.clock = frame.time;
    } else if (frame.time < this.clock - CLOCK_STEP_BACK) {
      // Back, within a few frames, to where the clock was before a jump ahead: the jump was the odd
      // one out (a damaged timestamp, a packet stamped wrong), not this step back.
      if (frame.number - this.jumpFrame <= CLOCK_SPIKE_FRAMES && frame.time >= this.clockBeforeJump - CLOCK_STEP_BACK) this.clock = Math.max(frame.time, this.clockBeforeJump);
      else this.clockSteppedBack(frame);
    }
    let result = decodeFrameAt(frame.linkType, frame.bytes, frame.start, frame.end, frame.originalLength, this.packet);
    if (result === DecodeResult.Fragment) {
      // The datagram goes on once its last fragment came, as if it had come whole in this frame.
      const encapsulation = this.packet.encapsulation;
      const datagram = this.fragments.add(this.packet, frame.time, frame.number, frame.fileOffset);
      if (datagram === null) return;
      result = decodeFrameAt(LINKTYPE_RAW, datagram, 0, datagram.length, datagram.length, this.packet);
      this.packet.encapsulation |= encapsulation;
    }
    if (this.packet.encapsulation !== 0 && (result === DecodeResult.Tcp || result === DecodeResult.Udp)) this.countEncapsulation(this.packet.encapsulation);
    if (result === DecodeResult.Tcp) {
      if (this.copies !== null && this.copies.isCopy(this.packet, frame.time, this.copyBit)) {
        summary.copiesDropped = (summary.copiesDropped ?? 0) + 1;
        return;
      }
      if (this.handshakes !== null) this.handshakes.add(this.packet, frame.time);
      this.flows.onPacket(this.packet, frame.time, frame.number, summary.file, frame.fileOffset);
      return;
    }
    switch (result) {
      case DecodeResult.Udp: {
        const packet = this.packet;
        const kind = classifyUdpPayload(packet.payloadBytes, packet.payloadStart, packet.payloadEnd);
        if (kind === UdpTls.QuicHandshake) summary.tlsOverUdp.quicHandshakeDatagrams++;
        else if (kind === UdpTls.Dtls) summary.tlsOverUdp.dtlsDatagrams++;
        return;
      }
      case DecodeResult.Fragment: // a fragment inside a reassembled datagram: not followed
        if (this.fragmentsReported++ < 5) this.addAnomaly({ kind: 'malformed', code: 'ip-fragment', message: 'IP fragment inside a reassembled IP fragment, not reassembled', file: summary.file, frame: frame.number, offset: frame.fileOffset });
        return;
      case DecodeResult.Truncated:
        if (this.truncationsReported++ < 5) this.addAnomaly({ kind: 'truncated', code: 'snaplen-headers', message: 'frame cut by snaplen before the end of its headers', file: summary.file, frame: frame.number, offset: frame.fileOffset });
        return;
      case DecodeResult.Malformed:
        this.addAnomaly({ kind: 'malformed', code: 'bad-headers', message: 'malformed link, IP or TCP header', file: summary.file, frame: frame.number, offset: frame.fileOffset });
        return;
      default:
        return;
    }
  }
}

function wrapFormat(reader: PcapReader, summary: CaptureSummary): CaptureReader {
  // The nanosecond variant is only known once the header was read.
  return {
    get format() { return reader.format; },
    get linkTypes() { return reader.linkTypes; },
    get frames() { return reader.frames; },
    push(chunk: Uint8Array, room?: number) {
      reader.push(chunk, room);
      summary.format = reader.format;
    },
    finish() { reader.finish(); },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
