import { Frame, type CaptureReader } from '../capture/frame.js';
import { HeldFrames, type TimeOrderedIngest } from '../capture/held-frames.js';
import { driftCorrection, shiftFrameTime, type ClockDrift } from '../clock-offset.js';
import type { FileReading } from '../analysis.js';
import { PacketCopies } from '../tcp/packet-copies.js';
import { isPcapMagic, PcapReader } from '../capture/pcap-reader.js';
import { abortEnding, abortEndingLabel } from './abort-ending.js';
import { PcapngReader } from '../capture/pcapng-reader.js';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { decodeFrameAt, DecodeResult, formatAddress, TcpPacket } from '../net/decode-packet.js';
import { FRAGMENT_TIMEOUT, fragmentKey, IpFragmentReassembler, LINKTYPE_RAW } from '../net/ip-fragments.js';
import type { ConnectionRecord } from './types.js';
import { REASONS } from '../diagnose/types.js';
import { ipv4Bytes, ipv6Bytes } from '../net/address-text.js';
import { formatDuration } from '../diagnose/format.js';

// Writes the packets of chosen connections (by default: those whose resumption failed or
// whose handshake was aborted) as pcapng, with a comment on each connection's first
// packet saying what happened and why, so Wireshark shows the diagnosis in place.

export type ConnectionFilter = (c: ConnectionRecord) => boolean;

export const DEFAULT_FILTER = 'failed';

/** Parse --pcapng-filter: failed, aborted, rejected, all, reason=<r>, server=<ip[:port]>; commas = any of. */
export function parseConnectionFilter(expression: string): ConnectionFilter {
  const parts = expression.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error('empty filter');
  const tests = parts.map((part): ConnectionFilter => {
    if (part === 'all') return () => true;
    if (part === 'failed') return (c) => c.resumption === 'rejected' || c.handshake === 'aborted' || c.reason === 'client-forgot';
    if (part === 'aborted') return (c) => c.handshake === 'aborted';
    if (part === 'rejected') return (c) => c.resumption === 'rejected';
    if (part.startsWith('reason=')) {
      const reason = part.slice(7);
      // A misspelt reason kept nothing, silently: an empty pcapng and exit 0.
      if (!(REASONS as readonly string[]).includes(reason)) throw new Error(`unknown reason "${reason}" (one of ${REASONS.join(', ')})`);
      return (c) => c.reason === reason;
    }
    if (part.startsWith('server=')) {
      const { ip, port } = serverAddress(part.slice(7));
      return (c) => c.server.ip === ip && (port === null || c.server.port === port);
    }
    throw new Error(`unknown filter "${part}" (use failed, aborted, rejected, all, reason=<reason>, server=<ip[:port]>)`);
  });
  return (c) => tests.some((t) => t(c));
}

const SERVER_USAGE = 'server=<ip[:port]>, e.g. server=10.0.0.5:443 or server=[2001:db8::1]:443';

/**
 * The address (and port) of a server= filter, written as records write addresses (RFC 5952's
 * compressed IPv6): any text form of an address matches (::ffff:10.0.0.1, 0:0:0:0:0:0:0:1, upper
 * case), and what is no address is bad usage: compared as typed, they kept nothing, silently.
 */
function serverAddress(value: string): { ip: string; port: number | null } {
  if (value.length === 0) throw new Error(`server= needs an address (${SERVER_USAGE})`);
  // [v6]:port, [v6], v4:port, v4 or v6 (two colons or more: an address, its port needs brackets).
  const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(value) ?? (value.split(':').length === 2 ? /^([^:]*):(\d+)$/.exec(value) : null);
  const text = m ? m[1]! : value;
  const port = m?.[2] !== undefined ? Number(m[2]) : null;
  if (text.includes('%')) throw new Error(`server=${value}: a zone ID (${text.slice(text.indexOf('%'))}) is not part of the addresses a capture holds: leave it out`);
  const bytes = text.includes(':') ? ipv6Bytes(text) : ipv4Bytes(text);
  if (bytes === null) throw new Error(`server=${value}: "${text}" is not an IPv4 or IPv6 address: server= takes an IP address, not a name (${SERVER_USAGE})`);
  if (port !== null && (port < 1 || port > 65535)) throw new Error(`server=${value}: port ${port} is not a TCP port (1–65535)`);
  return { ip: formatAddress(bytes), port };
}

/** What happened to a connection, in one line for a packet comment. */
export function describeConnection(c: ConnectionRecord): string {
  const parts: string[] = [];
  if (c.resumption === 'rejected') parts.push(`resumption rejected: ${c.reasonDetail ?? c.reason ?? 'reason unknown'}`);
  else if (c.resumption === 'accepted') parts.push(`resumption accepted (${c.resumedBy})`);
  else if (c.reason === 'client-forgot') parts.push(`full handshake: ${c.reasonDetail ?? 'the client forgot its session'}`);
  else if (c.resumption === 'unanswered') parts.push('resumption offered, no ServerHello');
  else if (c.resumption === 'unknown') parts.push('the ClientHello was not captured whole: whether it offered a session is unknown');
  else parts.push(c.handshake === 'complete' ? 'full handshake, nothing offered' : 'no session offered');
  if (c.abort) {
    const at = c.clientHelloTime !== null ? ` ${formatDuration(Math.max(0, c.abort.time - c.clientHelloTime))} after the ClientHello` : '';
    parts.push(`handshake aborted by ${c.abort.by} ${abortEndingLabel(abortEnding(c)!)} ${c.abort.stage}${at}`);
  }
  return `resumescope connection ${c.id}: ${parts.join('; ')}`;
}

interface Selected {
  record: ConnectionRecord;
  commented: boolean;
}

/** A frame kept while its datagram's other fragments are awaited. */
interface HeldFrame {
  linkType: number;
  time: number;
  /** The capture's own time of the frame (Frame.wholeSeconds, nanoseconds): written as it was. */
  wholeSeconds: number;
  nanoseconds: number;
  number: number;
  bytes: Uint8Array;
  originalLength: number;
}

/** Bytes of fragment frames held at most while their datagrams are incomplete (as the analysis's reassembly). */
const MAX_HELD_BYTES = 8 << 20;

/**
 * Second pass over the captures: feed each file's bytes with push(); frames of the chosen
 * connections go to the writer. Connections are matched by 4-tuple and time span.
 */
export class FailureExporter {
  private readonly byTuple = new Map<string, Selected[]>();
  private readonly packet = new TcpPacket();
  // IP fragments: put together as the analysis did, so that a chosen connection's packets that came
  // in fragments are written as the fragment frames they were.
  private readonly fragments = new IpFragmentReassembler(() => {});
  private readonly held = new Map<string, HeldFrame[]>();
  private heldBytes = 0;
  /** Shared by the files opened with dropCopies. */
  private copies: PacketCopies | null = null;
  private readonly writer: PcapngWriter;
  packetsWritten = 0;
  readonly connectionsSelected: number;

  constructor(connections: ConnectionRecord[], filter: ConnectionFilter, sink: (chunk: Uint8Array) => void, toolVersion: string) {
    this.writer = new PcapngWriter(sink, `resumescope ${toolVersion}`);
    let n = 0;
    for (const record of connections) {
      if (!filter(record)) continue;
      n++;
      const key = tupleKey(record.client.ip, record.client.port, record.server.ip, record.server.port);
      const list = this.byTuple.get(key);
      const entry = { record, commented: false };
      if (list) list.push(entry);
      else this.byTuple.set(key, [entry]);
    }
    this.connectionsSelected = n;
  }

  /**
   * A reader for one file: push its bytes, then finish(). `head`: its first bytes (the format).
   * Read alone, its packets are written as they come; read with others by the loop that merged
   * them for the analysis (readInTimeOrder), they are written in the same time order.
   * `reading`: how the analysis read it beside other files; the times it gave the file's packets
   * (its clock offset and drift) are the times written.
   */
  openFile(fileName: string, head: Uint8Array, reading: FileReading = {}): ExportFileReader {
    // A file that overlaps another (PacketCopies): each packet both hold is written once, as analysed.
    const copies = reading.dropCopies ? (this.copies ??= new PacketCopies()) : null;
    const bit = copies?.fileBit() ?? 0;
    const onFrame = (frame: Frame) => this.onFrame(frame, fileName, copies, bit);
    return new ExportFileReader(onFrame, head, fileName, reading.clockOffset?.seconds ?? 0, reading.clockDrift ?? null);
  }

  private onFrame(frame: Frame, fileName: string, copies: PacketCopies | null, bit: number): void {
    if (this.byTuple.size === 0) return;
    const result = decodeFrameAt(frame.linkType, frame.bytes, frame.start, frame.end, frame.originalLength, this.packet);
    if (result === DecodeResult.Fragment) {
      this.onFragment(frame, fileName);
      return;
    }
    if (result !== DecodeResult.Tcp || copies?.isCopy(this.packet, frame.time, bit)) return;
    const entry = this.entryOf(frame.time);
    if (entry) this.write(entry, frame, frame.bytes.subarray(frame.start, frame.end), fileName);
  }

  /** A fragment is held until its datagram is whole; then, if that is a chosen connection's packet, all its fragments are written. */
  private onFragment(frame: Frame, fileName: string): void {
    const key = fragmentKey(this.packet);
    const copy: HeldFrame = {
      linkType: frame.linkType, time: frame.time, wholeSeconds: frame.wholeSeconds, nanoseconds: frame.nanoseconds, number: frame.number,
      bytes: frame.bytes.slice(frame.start, frame.end), originalLength: frame.originalLength,
    };
    const datagram = this.fragments.add(this.packet, frame.time, frame.number);
    const frames = this.held.get(key) ?? [];
    this.release(key);
    frames.push(copy);
    if (datagram === null) {
      // Still awaited: held (a datagram the reassembly gave up is let go with its frames).
      if (this.fragments.has(key)) {
        this.held.set(key, frames);
        for (const f of frames) this.heldBytes += f.bytes.length;
        this.dropStale(frame.time);
      }
      return;
    }
    if (decodeFrameAt(LINKTYPE_RAW, datagram, 0, datagram.length, datagram.length, this.packet) !== DecodeResult.Tcp) return;
    const entry = this.entryOf(frame.time);
    if (!entry) return;
    for (const f of frames.sort((a, b) => a.number - b.number)) this.write(entry, f, f.bytes, fileName);
  }

  private release(key: string): void {
    for (const f of this.held.get(key) ?? []) this.heldBytes -= f.bytes.length;
    this.held.delete(key);
  }

  /** Held fragments whose datagram can no longer complete (the reassembly gave it up) or beyond the memory bound go. */
  private dropStale(now: number): void {
    for (const [key, frames] of this.held) {
      if (now - frames[0]!.time <= FRAGMENT_TIMEOUT && this.heldBytes <= MAX_HELD_BYTES) break;
      this.release(key);
    }
  }

  /** The chosen connection the decoded packet belongs to, if any. */
  private entryOf(time: number): Selected | undefined {
    const p = this.packet;
    const source = formatAddress(p.source);
    const destination = formatAddress(p.destination);
    const list = this.byTuple.get(tupleKey(source, p.sourcePort, destination, p.destinationPort)) ?? this.byTuple.get(tupleKey(destination, p.destinationPort, source, p.sourcePort));
    return list?.find((e) => time >= e.record.startTime - 1e-6 && time <= e.record.endTime + 1e-6);
  }

  /** `frame`: the frame being read, or one held (a fragment); `bytes` its captured bytes. */
  private write(entry: Selected, frame: Pick<HeldFrame, 'linkType' | 'wholeSeconds' | 'nanoseconds' | 'number' | 'originalLength'>, bytes: Uint8Array, fileName: string): void {
    const { linkType, number, originalLength } = frame;
    let comment: string | null = null;
    if (!entry.commented && number === entry.record.firstFrame && fileName === entry.record.file) {
      comment = describeConnection(entry.record);
      entry.commented = true;
    } else if (!entry.commented) {
      // The connection's first packet was in an earlier file or not matched: comment here.
      comment = describeConnection(entry.record);
      entry.commented = true;
    }
    const iface = this.writer.interfaceFor(linkType, `linktype ${linkType}`);
    this.writer.writePacket(iface, frame.wholeSeconds, frame.nanoseconds, bytes, originalLength, comment);
    this.packetsWritten++;
  }
}

/**
 * One file's frames for the export, in time with other files read merged (TimeOrderedIngest):
 * frames later than holdAfter wait until their turn. Damage was reported by the analysis's pass.
 */
export class ExportFileReader implements TimeOrderedIngest {
  holdAfter = Infinity;
  private readonly held = new HeldFrames();
  private readonly reader: CaptureReader;

  constructor(private readonly onFrame: (frame: Frame) => void, head: Uint8Array, fileName: string, clockShift = 0, drift: ClockDrift | null = null) {
    const gated = (frame: Frame) => {
      if (drift !== null) shiftFrameTime(frame, driftCorrection(frame.time, drift) + clockShift);
      else if (clockShift !== 0) shiftFrameTime(frame, clockShift);
      if (this.held.size === 0 && frame.time <= this.holdAfter) onFrame(frame);
      else this.held.add(frame);
    };
    const ignore = () => {};
    this.reader = isPcapMagic(head) ? new PcapReader(gated, ignore, fileName) : new PcapngReader(gated, ignore, fileName);
  }

  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }

  finish(): void {
    this.reader.finish();
  }

  get holdsFrames(): boolean {
    return this.held.size > 0;
  }

  get nextHeldTime(): number {
    return this.held.nextTime;
  }

  releaseHeld(until: number): void {
    this.held.release(until, this.onFrame);
  }

  dropHeld(): void {
    this.held.clear();
  }
}

function tupleKey(clientIp: string, clientPort: number, serverIp: string, serverPort: number): string {
  return `${clientIp}|${clientPort}|${serverIp}|${serverPort}`;
}
