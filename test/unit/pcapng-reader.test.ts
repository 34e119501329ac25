// pcapng reader (draft-ietf-opsawg-pcapng: §3.1 block layout, §4.1 SHB, §4.2 IDB
// with if_tsresol/if_tsoffset, §4.3 EPB, §4.4 SPB, Appendix A obsolete Packet Block).
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../parser/capture/frame.js';
import { isPcapngMagic, PcapngReader, timestampParts, timestampSeconds } from '../../parser/capture/pcapng-reader.js';
import type { Anomaly } from '../../parser/report/types.js';
import { bytewise, concat, epb, fill, idb, obsoletePb, pngBlock, pseudoRandom, shb, spb, splitAt } from './bytes.js';

interface Seen {
  time: number;
  linkType: number;
  data: string;
  originalLength: number;
  number: number;
  fileOffset: number;
  interfaceId: number;
}

function read(chunks: Uint8Array[]): { frames: Seen[]; anomalies: Anomaly[]; reader: PcapngReader } {
  const frames: Seen[] = [];
  const anomalies: Anomaly[] = [];
  const reader = new PcapngReader(
    (f: Frame) => frames.push({
      time: f.time, linkType: f.linkType, data: Buffer.from(f.data).toString('hex'), originalLength: f.originalLength,
      number: f.number, fileOffset: f.fileOffset, interfaceId: f.interfaceId,
    }),
    (a) => anomalies.push(a),
    'test.pcapng',
  );
  for (const c of chunks) reader.push(c);
  reader.finish();
  return { frames, anomalies, reader };
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const T0 = 1_700_000_000n;
const D1 = pseudoRandom(61, 1);
const D2 = pseudoRandom(40, 2);
const D3 = pseudoRandom(33, 3);

/** A section with three interfaces of different link types and resolutions. */
function threeInterfaces(le: boolean): Uint8Array {
  return concat(
    shb(le),
    idb({ linkType: 1, snaplen: 262144 }, le), // default 10^-6
    idb({ linkType: 113, snaplen: 65535, tsresol: 9 }, le), // 10^-9
    idb({ linkType: 101, tsresol: 0x80 | 10, tsoffset: 1000n }, le), // 2^-10, +1000 s
    epb({ interfaceId: 0, timestamp: T0 * 1_000_000n + 123456n, data: D1 }, le),
    epb({ interfaceId: 1, timestamp: T0 * 1_000_000_000n + 987654321n, data: D2, originalLength: 1500 }, le),
    epb({ interfaceId: 2, timestamp: (T0 - 1000n) * 1024n + 512n, data: D3 }, le),
  );
}

describe('PcapngReader', () => {
  it('recognises the SHB magic', () => {
    expect(isPcapngMagic(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a))).toBe(true);
    expect(isPcapngMagic(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1))).toBe(false);
  });

  for (const le of [true, false]) {
    it(`reads a ${le ? 'little' : 'big'}-endian section with three interfaces, resolutions and an offset`, () => {
      const { frames, anomalies, reader } = read([threeInterfaces(le)]);
      expect(anomalies).toEqual([]);
      expect(frames).toHaveLength(3);
      expect(frames.map((f) => f.linkType)).toEqual([1, 113, 101]);
      expect(frames.map((f) => f.interfaceId)).toEqual([0, 1, 2]);
      expect(frames.map((f) => f.data)).toEqual([hexOf(D1), hexOf(D2), hexOf(D3)]);
      expect(frames.map((f) => f.number)).toEqual([1, 2, 3]);
      expect(frames[1]!.originalLength).toBe(1500);
      expect(frames[0]!.originalLength).toBe(61);
      // 10^-6: exact to the microsecond.
      expect(Math.round((frames[0]!.time - Number(T0)) * 1e6)).toBe(123456);
      // 10^-9: within double precision of the nanosecond value (not read as µs).
      expect(Math.abs(frames[1]!.time - (Number(T0) + 0.987654321))).toBeLessThan(3e-7);
      // 2^-10 with if_tsoffset 1000 s: (T0-1000) s + 512/1024 s + 1000 s.
      expect(frames[2]!.time).toBe(Number(T0) + 0.5);
      expect([...reader.linkTypes].sort((a, b) => a - b)).toEqual([1, 101, 113]);
      expect(reader.format).toBe('pcapng');
    });
  }

  it('a negative if_tsoffset is applied (it is a signed 64-bit value)', () => {
    const file = concat(shb(), idb({ linkType: 1, tsoffset: -100n }), epb({ interfaceId: 0, timestamp: 200_000_000n, data: D1 }));
    const { frames } = read([file]);
    expect(frames[0]!.time).toBe(100);
  });

  it('gives the exact file offset of each packet block', () => {
    const head = concat(shb(), idb({ linkType: 1 }));
    const p1 = epb({ interfaceId: 0, timestamp: 1n, data: D1 });
    const p2 = epb({ interfaceId: 0, timestamp: 2n, data: D2 });
    const { frames } = read([concat(head, p1, p2)]);
    expect(frames.map((f) => f.fileOffset)).toEqual([head.length, head.length + p1.length]);
  });

  it('a Simple Packet Block takes interface 0 and its snaplen, with no timestamp', () => {
    const data = pseudoRandom(100, 4);
    const file = concat(
      shb(),
      idb({ linkType: 228, snaplen: 64 }),
      idb({ linkType: 1, snaplen: 0 }),
      // The SPB body holds min(original length, snaplen) bytes, padded (§4.4).
      spb({ data: data.subarray(0, 64), originalLength: 100 }),
      spb({ data: pseudoRandom(10, 5) }),
    );
    const { frames, anomalies } = read([file]);
    expect(anomalies).toEqual([]);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.linkType).toBe(228);
    expect(frames[0]!.interfaceId).toBe(0);
    expect(frames[0]!.data).toBe(hexOf(data.subarray(0, 64)));
    expect(frames[0]!.originalLength).toBe(100);
    expect(frames[0]!.time).toBe(0);
    // A short packet: captured = original, the 2 padding bytes are not data.
    expect(frames[1]!.data).toBe(hexOf(pseudoRandom(10, 5)));
  });

  it('reads the obsolete Packet Block (16-bit interface id)', () => {
    const file = concat(
      shb(), idb({ linkType: 1 }), idb({ linkType: 0 }),
      obsoletePb({ interfaceId: 1, timestamp: 5_000_000n, data: D3, originalLength: 99 }),
    );
    const { frames, anomalies } = read([file]);
    expect(anomalies).toEqual([]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.linkType).toBe(0);
    expect(frames[0]!.interfaceId).toBe(1);
    expect(frames[0]!.time).toBe(5);
    expect(frames[0]!.data).toBe(hexOf(D3));
    expect(frames[0]!.originalLength).toBe(99);
  });

  it('skips unknown block types (NRB, ISB, DSB, custom) without complaint', () => {
    const file = concat(
      shb(), idb({ linkType: 1 }),
      pngBlock(0x00000004, fill(8)), // Name Resolution Block
      epb({ interfaceId: 0, timestamp: 1n, data: D1 }),
      pngBlock(0x00000005, fill(20)), // Interface Statistics Block
      pngBlock(0x0000000a, fill(13, 0x41)), // Decryption Secrets Block
      pngBlock(0x00000bad, fill(7, 0x42)), // custom block
      epb({ interfaceId: 0, timestamp: 2n, data: D2 }),
    );
    const { frames, anomalies } = read([file]);
    expect(anomalies).toEqual([]);
    expect(frames.map((f) => f.data)).toEqual([hexOf(D1), hexOf(D2)]);
    expect(frames.map((f) => f.number)).toEqual([1, 2]);
  });

  it('a second SHB resets the interfaces, and may switch byte order', () => {
    const file = concat(
      shb(true), idb({ linkType: 1 }, true), idb({ linkType: 113 }, true),
      epb({ interfaceId: 1, timestamp: 1_000_000n, data: D1 }, true),
      shb(false), idb({ linkType: 229, tsresol: 3 }, false),
      epb({ interfaceId: 0, timestamp: 7000n, data: D2 }, false),
      // Interface 1 belonged to the first section only.
      epb({ interfaceId: 1, timestamp: 8000n, data: D3 }, false),
    );
    const { frames, anomalies } = read([file]);
    expect(frames.map((f) => f.linkType)).toEqual([113, 229]);
    expect(frames[1]!.time).toBe(7);
    expect(anomalies.map((a) => a.code)).toEqual(['pcapng-unknown-interface']);
  });

  it('reports a packet that refers to an undeclared interface, with its frame number and offset', () => {
    const head = concat(shb(), idb({ linkType: 1 }));
    const good = epb({ interfaceId: 0, timestamp: 1n, data: D1 });
    const bad = epb({ interfaceId: 3, timestamp: 2n, data: D2 });
    const { frames, anomalies } = read([concat(head, good, bad, epb({ interfaceId: 0, timestamp: 3n, data: D3 }))]);
    expect(frames.map((f) => f.data)).toEqual([hexOf(D1), hexOf(D3)]);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]!.code).toBe('pcapng-unknown-interface');
    expect(anomalies[0]!.offset).toBe(head.length + good.length);
    // The bad packet is frame 2 of the file (numbering counts every packet block).
    expect(anomalies[0]!.frame).toBe(2);
    expect(frames[1]!.number).toBe(3);
  });

  it('reports a block whose trailing length does not match, and resyncs to the next block', () => {
    const head = concat(shb(), idb({ linkType: 1 }));
    const p1 = epb({ interfaceId: 0, timestamp: T0 * 1_000_000n, data: D1 });
    const broken = epb({ interfaceId: 0, timestamp: T0 * 1_000_000n + 1n, data: D2, trailerOverride: 0x1234 });
    const p3 = epb({ interfaceId: 0, timestamp: T0 * 1_000_000n + 2n, data: D3 });
    const p4 = epb({ interfaceId: 0, timestamp: T0 * 1_000_000n + 3n, data: D1 });
    const { frames, anomalies } = read([concat(head, p1, broken, p3, p4)]);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]!.code).toBe('pcapng-bad-block');
    expect(anomalies[0]!.offset).toBe(head.length + p1.length);
    expect(anomalies[0]!.message).toContain('does not match');
    expect(frames.map((f) => f.data)).toEqual([hexOf(D1), hexOf(D3), hexOf(D1)]);
    expect(frames[1]!.fileOffset).toBe(head.length + p1.length + broken.length);
  });

  it('while resyncing, a fake block header claiming more bytes than the file has does not swallow later blocks', () => {
    const head = concat(shb(), idb({ linkType: 1 }));
    const p1 = epb({ interfaceId: 0, timestamp: 1n, data: D1 });
    const broken = epb({ interfaceId: 0, timestamp: 2n, data: D2, trailerOverride: 8 });
    // Looks like an EPB header (known type 6) of 4096 bytes: it never completes.
    const fake = Uint8Array.of(6, 0, 0, 0, 0, 0x10, 0, 0);
    const p3 = epb({ interfaceId: 0, timestamp: 3n, data: D3 });
    for (const chunks of [[concat(head, p1, broken, fake, p3)], bytewise(concat(head, p1, broken, fake, p3))]) {
      const { frames, anomalies } = read(chunks);
      expect(frames.map((f) => f.data)).toEqual([hexOf(D1), hexOf(D3)]);
      expect(frames[1]!.fileOffset).toBe(head.length + p1.length + broken.length + fake.length);
      expect(anomalies.map((a) => a.code)).toEqual(['pcapng-bad-block']);
    }
  });

  it('reports a block before any SHB', () => {
    const { frames, anomalies } = read([concat(idb({ linkType: 1 }), shb(), idb({ linkType: 1 }), epb({ interfaceId: 0, timestamp: 1n, data: D1 }))]);
    expect(anomalies.map((a) => a.code)).toEqual(['pcapng-bad-block']);
    expect(anomalies[0]!.offset).toBe(0);
    expect(frames).toHaveLength(1);
  });

  it('reports a file cut inside a block, keeping the blocks before it', () => {
    const full = threeInterfaces(true);
    const { frames, anomalies } = read([full.subarray(0, full.length - 5)]);
    expect(frames).toHaveLength(2);
    expect(anomalies.map((a) => a.code)).toEqual(['file-cut-short']);
    expect(anomalies[0]!.kind).toBe('truncated');
  });

  it('keeps only the room of an EPB whose captured length overruns it', () => {
    const block = epb({ interfaceId: 0, timestamp: 1n, data: pseudoRandom(8, 9) });
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    view.setUint32(20, 500, true); // captured length 500 in an 8-byte body
    const { frames, anomalies } = read([concat(shb(), idb({ linkType: 1 }), block)]);
    expect(anomalies.map((a) => a.code)).toEqual(['pcapng-bad-packet-length']);
    expect(frames[0]!.data).toBe(hexOf(pseudoRandom(8, 9)));
  });

  it('timestampSeconds is exact in whole seconds beyond 2^53 units', () => {
    // 2^63-ish nanoseconds would lose whole seconds if divided as a double.
    const units = 9_000_000_000_123_456_789n;
    const s = timestampSeconds(Number(units >> 32n), Number(units & 0xffffffffn), 1e9);
    expect(Math.floor(s)).toBe(9_000_000_000);
  });

  it('timestampParts gives whole seconds and nanoseconds exactly at decimal resolutions, rounded at binary ones', () => {
    const parts = (units: bigint, perSecond: number) => {
      const out = { wholeSeconds: 0, nanoseconds: 0 };
      timestampParts(Number(units >> 32n), Number(units & 0xffffffffn), perSecond, out);
      return out;
    };
    // Today's epoch in nanoseconds is past 2^53: a double would lose the last digits.
    expect(parts(1_795_620_288_794_680_347n, 1e9)).toEqual({ wholeSeconds: 1_795_620_288, nanoseconds: 794_680_347 });
    expect(parts(1_795_620_288_794_680n, 1e6)).toEqual({ wholeSeconds: 1_795_620_288, nanoseconds: 794_680_000 });
    expect(parts(1_795_620_288n * 1000n + 5n, 1e3)).toEqual({ wholeSeconds: 1_795_620_288, nanoseconds: 5_000_000 });
    // 2^-20 s units (if_tsresol 0x94): half a second and one unit, to the nearest nanosecond.
    expect(parts(100n * 1048576n + 524288n + 1n, 1048576)).toEqual({ wholeSeconds: 100, nanoseconds: 500_000_954 });
  });

  describe('chunk boundaries', () => {
    const file = concat(
      threeInterfaces(true),
      spb({ data: pseudoRandom(7, 11) }),
      epb({ interfaceId: 0, timestamp: T0 * 1_000_000n, data: D2, trailerOverride: 4 }),
      epb({ interfaceId: 0, timestamp: T0 * 1_000_000n + 5n, data: D3 }),
      shb(false), idb({ linkType: 1 }, false),
      epb({ interfaceId: 0, timestamp: 99n, data: D1 }, false),
    );
    const whole = read([file]);

    it('the reference read is complete', () => {
      expect(whole.frames).toHaveLength(6);
      expect(whole.anomalies.map((a) => a.code)).toEqual(['pcapng-bad-block']);
    });

    it('one byte at a time gives identical frames and anomalies', () => {
      const bytes = read(bytewise(file));
      expect(bytes.frames).toEqual(whole.frames);
      expect(bytes.anomalies).toEqual(whole.anomalies);
    });

    it('random split points give identical frames and anomalies', () => {
      let seed = 777;
      for (let trial = 0; trial < 30; trial++) {
        const points: number[] = [];
        for (let i = 0; i < 1 + (trial % 7); i++) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          points.push(1 + (seed % (file.length - 1)));
        }
        const split = read(splitAt(file, [...new Set(points)]).map((c) => c.slice()));
        expect(split.frames).toEqual(whole.frames);
        expect(split.anomalies).toEqual(whole.anomalies);
      }
    });
  });
});
