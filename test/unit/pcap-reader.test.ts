// Classic pcap reader (pcap-savefile(5); draft-ietf-opsawg-pcap §4 file header, §5 record).
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../parser/capture/frame.js';
import { isPcapMagic, PcapReader } from '../../parser/capture/pcap-reader.js';
import type { Anomaly } from '../../parser/report/types.js';
import { bytewise, concat, fill, pcapFile, pcapHeader, pcapRecord, pseudoRandom, splitAt, type PcapRecord } from './bytes.js';

interface Seen {
  time: number;
  linkType: number;
  data: string;
  originalLength: number;
  number: number;
  fileOffset: number;
}

/** A reader that notes every frame (copied: frames are borrowed) and anomaly. */
function recordingReader(): { frames: Seen[]; anomalies: Anomaly[]; reader: PcapReader } {
  const frames: Seen[] = [];
  const anomalies: Anomaly[] = [];
  const reader = new PcapReader(
    (f: Frame) => frames.push({ time: f.time, linkType: f.linkType, data: Buffer.from(f.data).toString('hex'), originalLength: f.originalLength, number: f.number, fileOffset: f.fileOffset }),
    (a) => anomalies.push(a),
    'test.pcap',
  );
  return { frames, anomalies, reader };
}

function read(chunks: Uint8Array[]): { frames: Seen[]; anomalies: Anomaly[]; reader: PcapReader } {
  const { frames, anomalies, reader } = recordingReader();
  for (const c of chunks) reader.push(c);
  reader.finish();
  return { frames, anomalies, reader };
}

const T0 = 1_700_000_000;
const records: PcapRecord[] = [
  { seconds: T0, fraction: 123456, data: pseudoRandom(60, 1) },
  { seconds: T0 + 1, fraction: 999999, data: pseudoRandom(61, 2) },
  { seconds: T0 + 2, fraction: 0, data: pseudoRandom(1, 3) },
  { seconds: T0 + 3, fraction: 1, data: new Uint8Array(0) },
];

/**
 * As the file reader hands chunks over: each in a buffer of its own with `room` free bytes before it
 * (marked 0xa5, to see that nothing before the room is touched), pushed with that room.
 */
function readWithRoom(file: Uint8Array, cuts: number[], room: number): { frames: Seen[]; anomalies: Anomaly[]; untouched: boolean } {
  const { frames, anomalies, reader } = recordingReader();
  const margin = 16;
  let untouched = true;
  let from = 0;
  for (const to of [...cuts, file.length]) {
    const buffer = new Uint8Array(margin + room + (to - from)).fill(0xa5);
    buffer.set(file.subarray(from, to), margin + room);
    reader.push(buffer.subarray(margin + room), room);
    if (buffer.subarray(0, margin).some((b) => b !== 0xa5)) untouched = false;
    from = to;
  }
  reader.finish();
  return { frames, anomalies, untouched };
}

describe('PcapReader', () => {
  it('with room before each chunk (the file reader\'s buffers), a record cut by a chunk end is joined there: the same frames, nothing written before the room', () => {
    const big: PcapRecord[] = Array.from({ length: 40 }, (_, i) => ({ seconds: T0 + i, fraction: i, data: pseudoRandom(1 + ((i * 97) % 300), i) }));
    const file = pcapFile(big);
    const whole = read([file]);
    for (let step = 7; step < 400; step += 37) {
      const cuts: number[] = [];
      for (let at = step; at < file.length; at += step) cuts.push(at);
      for (const room of [0, 8, 64, 4096]) {
        const r = readWithRoom(file, cuts, room);
        expect(r.frames, `step ${step}, room ${room}`).toEqual(whole.frames);
        expect(r.anomalies).toEqual([]);
        expect(r.untouched).toBe(true);
      }
    }
  });

  it('recognises all four magic byte orders', () => {
    expect(isPcapMagic(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1))).toBe(true);
    expect(isPcapMagic(Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4))).toBe(true);
    expect(isPcapMagic(Uint8Array.of(0x4d, 0x3c, 0xb2, 0xa1))).toBe(true);
    expect(isPcapMagic(Uint8Array.of(0xa1, 0xb2, 0x3c, 0x4d))).toBe(true);
    expect(isPcapMagic(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a))).toBe(false);
    expect(isPcapMagic(Uint8Array.of(0xd4, 0xc3, 0xb2))).toBe(false);
  });

  for (const littleEndian of [true, false]) {
    it(`reads a ${littleEndian ? 'little' : 'big'}-endian microsecond file`, () => {
      const file = pcapFile(records, { littleEndian, linkType: 113 });
      const { frames, anomalies, reader } = read([file]);
      expect(anomalies).toEqual([]);
      expect(reader.format).toBe('pcap');
      expect([...reader.linkTypes]).toEqual([113]);
      expect(frames.map((f) => f.data)).toEqual(records.map((r) => Buffer.from(r.data).toString('hex')));
      expect(frames.map((f) => f.number)).toEqual([1, 2, 3, 4]);
      expect(frames.every((f) => f.linkType === 113)).toBe(true);
      // Record offsets: 24-byte file header, then 16-byte record headers.
      expect(frames.map((f) => f.fileOffset)).toEqual([24, 24 + 16 + 60, 24 + 16 + 60 + 16 + 61, 24 + 16 + 60 + 16 + 61 + 16 + 1]);
      // Exact to the microsecond.
      expect(Math.round((frames[0]!.time - T0) * 1e6)).toBe(123456);
      expect(Math.round((frames[1]!.time - T0) * 1e6)).toBe(1_999_999);
      expect(frames[2]!.time).toBe(T0 + 2);
      expect(Math.round((frames[3]!.time - T0 - 3) * 1e6)).toBe(1);
      expect(reader.frames).toBe(4);
    });

    it(`reads a ${littleEndian ? 'little' : 'big'}-endian nanosecond file`, () => {
      const ns: PcapRecord[] = [
        { seconds: T0, fraction: 123456789, data: pseudoRandom(20, 4) },
        { seconds: T0, fraction: 999999999, data: pseudoRandom(20, 5) },
        { seconds: T0 + 5, fraction: 1, data: pseudoRandom(20, 6) },
      ];
      const { frames, anomalies, reader } = read([pcapFile(ns, { littleEndian, nano: true })]);
      expect(anomalies).toEqual([]);
      expect(reader.format).toBe('pcap-ns');
      expect(frames).toHaveLength(3);
      // A double near 1.7e9 has ~2.4e-7 s resolution: the nanoseconds are exact
      // to within that, and a microsecond reading would be off by 1e3 or more.
      expect(Math.abs(frames[0]!.time - (T0 + 0.123456789))).toBeLessThan(3e-7);
      expect(Math.abs(frames[1]!.time - (T0 + 0.999999999))).toBeLessThan(3e-7);
      expect(Math.abs(frames[2]!.time - (T0 + 5 + 1e-9))).toBeLessThan(3e-7);
    });
  }

  it('a nanosecond fraction that is a valid µs-file value is not mistaken for microseconds', () => {
    // 999999 ns = 0.000999999 s; read as µs it would be 0.999999 s.
    const { frames } = read([pcapFile([{ seconds: 10, fraction: 999999, data: fill(4) }], { nano: true })]);
    expect(frames[0]!.time).toBeCloseTo(10.000999999, 9);
  });

  it('keeps a snaplen-truncated record and its original length', () => {
    const file = pcapFile([{ seconds: T0, fraction: 0, data: pseudoRandom(68, 9), originalLength: 1514 }], { snaplen: 68 });
    const { frames, anomalies } = read([file]);
    expect(anomalies).toEqual([]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data.length / 2).toBe(68);
    expect(frames[0]!.originalLength).toBe(1514);
  });

  it('masks the FCS bits out of the link-type field', () => {
    // libpcap LT_FCS_DATALINK_EXT: FCS length (in 16-bit units) in bits 28-31 plus
    // the "length present" flag 0x04000000; here a 32-bit FCS (2 units) on Ethernet.
    const file = pcapHeader({ linkType: 1 | 0x04000000 | (2 << 28) });
    const { reader } = read([concat(file, pcapRecord(records[0]!))]);
    expect([...reader.linkTypes]).toEqual([1]);
  });

  it('reports a file cut in the middle of a record, keeping what came before', () => {
    const full = pcapFile(records.slice(0, 2));
    const cut = full.subarray(0, full.length - 10);
    const { frames, anomalies } = read([cut]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toBe(Buffer.from(records[0]!.data).toString('hex'));
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]!.code).toBe('file-cut-short');
    expect(anomalies[0]!.kind).toBe('truncated');
    // The partial record starts right after the first one.
    expect(anomalies[0]!.offset).toBe(24 + 16 + 60);
    expect(anomalies[0]!.message).toContain(`${16 + 61 - 10} bytes`);
  });

  it('reports a file cut inside a record header too', () => {
    const full = pcapFile(records.slice(0, 1));
    const { frames, anomalies } = read([concat(full, fill(7, 0x11))]);
    expect(frames).toHaveLength(1);
    expect(anomalies.map((a) => a.code)).toEqual(['file-cut-short']);
  });

  it('reports a file shorter than the file header', () => {
    const { frames, anomalies } = read([pcapHeader().subarray(0, 20)]);
    expect(frames).toEqual([]);
    expect(anomalies.map((a) => a.code)).toEqual(['pcap-short-header']);
  });

  it('an empty body after the header is a clean, empty capture', () => {
    const { frames, anomalies } = read([pcapHeader()]);
    expect(frames).toEqual([]);
    expect(anomalies).toEqual([]);
  });

  it('reports an implausible record header with its byte offset and resyncs', () => {
    const before = pcapFile(records.slice(0, 2));
    const garbage = fill(16, 0xff); // captured length 0xffffffff: impossible
    const after = concat(...records.slice(2).map((r) => pcapRecord(r)));
    const { frames, anomalies } = read([concat(before, garbage, after)]);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]!.code).toBe('pcap-bad-record');
    expect(anomalies[0]!.kind).toBe('malformed');
    expect(anomalies[0]!.offset).toBe(before.length);
    expect(anomalies[0]!.frame).toBe(3);
    expect(frames.map((f) => f.data)).toEqual(records.map((r) => Buffer.from(r.data).toString('hex')));
    expect(frames[2]!.fileOffset).toBe(before.length + 16);
    expect(frames[3]!.number).toBe(4);
  });

  it('resyncs past garbage of odd length', () => {
    const before = pcapFile(records.slice(0, 1));
    const garbage = concat(fill(9, 0xff), [0x12, 0x34, 0x56]);
    const after = pcapRecord(records[1]!);
    const { frames, anomalies } = read([concat(before, garbage, after)]);
    expect(anomalies.map((a) => a.code)).toEqual(['pcap-bad-record']);
    expect(frames).toHaveLength(2);
    expect(frames[1]!.fileOffset).toBe(before.length + garbage.length);
    expect(frames[1]!.data).toBe(Buffer.from(records[1]!.data).toString('hex'));
  });

  it('rejects a record whose fraction is more than one second', () => {
    const bad = pcapRecord({ seconds: T0, fraction: 1_000_001, data: fill(4) });
    const { frames, anomalies } = read([concat(pcapFile(records.slice(0, 1)), bad.subarray(0, 16))]);
    // Only the good frame; the bad header is reported (and what follows is too short to be a record).
    expect(frames).toHaveLength(1);
    expect(anomalies[0]!.code).toBe('pcap-bad-record');
  });

  for (const nano of [false, true]) {
    it(`reads a fraction of exactly one second (a writer's rounding) as the next second, and the records after it (${nano ? 'ns' : 'µs'})`, () => {
      // Before, the valid record was "implausible" and the reader scanned packet data for another
      // (fuzz: a clock 0.518 s behind wrote 1699999999 s + 1,000,000 µs at frame 506; Wireshark reads it).
      const second = nano ? 1_000_000_000 : 1_000_000;
      const file = pcapFile([
        { seconds: T0, fraction: second - 1, data: pseudoRandom(60, 11) },
        { seconds: T0, fraction: second, data: pseudoRandom(61, 12) },
        { seconds: T0 + 1, fraction: 1, data: pseudoRandom(62, 13) },
      ], { nano });
      const { frames, anomalies } = read([file]);
      expect(anomalies).toEqual([]);
      expect(frames.map((f) => f.time)).toEqual([T0 + (second - 1) / second, T0 + 1, T0 + 1 + 1 / second]);
      expect(frames[2]!.data).toBe(Buffer.from(pseudoRandom(62, 13)).toString('hex'));
    });
  }

  describe('chunk boundaries', () => {
    const bigger: PcapRecord[] = [];
    for (let i = 0; i < 12; i++) bigger.push({ seconds: T0 + i, fraction: i * 1000, data: pseudoRandom(1 + i * 37, 100 + i), originalLength: i % 3 === 0 ? 2000 : undefined });
    const file = concat(pcapFile(bigger.slice(0, 6)), fill(16, 0xff), ...bigger.slice(6).map((r) => pcapRecord(r)));
    const whole = read([file]);

    it('the reference read is complete', () => {
      expect(whole.frames).toHaveLength(12);
      expect(whole.anomalies.map((a) => a.code)).toEqual(['pcap-bad-record']);
    });

    it('one byte at a time gives identical frames and anomalies', () => {
      const bytes = read(bytewise(file));
      expect(bytes.frames).toEqual(whole.frames);
      expect(bytes.anomalies).toEqual(whole.anomalies);
    });

    it('random split points give identical frames and anomalies', () => {
      let seed = 12345;
      for (let trial = 0; trial < 30; trial++) {
        const points = new Set<number>();
        const n = 1 + (trial % 8);
        for (let i = 0; i < n; i++) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          points.add(1 + (seed % (file.length - 1)));
        }
        const split = read(splitAt(file, [...points]).map((c) => c.slice()));
        expect(split.frames).toEqual(whole.frames);
        expect(split.anomalies).toEqual(whole.anomalies);
      }
    });
  });
});
