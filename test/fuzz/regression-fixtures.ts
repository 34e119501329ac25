// How every file in fixtures/regressions/ was made: a valid generated capture
// (test/fuzz/captures.ts) with the one damage the fuzz found mishandled. The regression
// test checks that the checked-in bytes still equal what these functions build.
import { buildCapture, type CaptureSpec, type ConnectionSpec } from './captures.js';
import { concat, pcapHeader, pcapRecord, u32 } from '../unit/bytes.js';

function conn(i: number, kind: ConnectionSpec['kind'] = 'tls12-full'): ConnectionSpec {
  return { kind, clientPort: 40000 + i, ipv6: false, mss: 1460, end: 'fin', sni: 'a.test', isn: [1000 * (i + 1), 7000 * (i + 1)], startTime: 1_700_000_000 + i };
}

export function twoConnections(format: 'pcap' | 'pcapng', extra: Partial<CaptureSpec> = {}): CaptureSpec {
  return { format, littleEndian: true, nano: false, linkType: 1, snaplen: 0, connections: [conn(0), conn(1, 'tls12-sid-resume')], interleave: [], pngExtras: false, ...extra };
}

function withU32(bytes: Uint8Array, offset: number, value: number, le = true): Uint8Array {
  const out = bytes.slice();
  out.set(u32(value, le), offset);
  return out;
}

export interface RegressionFixture {
  file: string;
  bytes: () => Uint8Array;
  /** Frames the intact capture holds, and the byte offset of the damage. */
  frames: number;
  damageAt: number;
}

const ng = buildCapture(twoConnections('pcapng'));
const pc = buildCapture(twoConnections('pcap'));
// Found by the fuzz (seed 5): big-endian, nanosecond, raw IPv6, a plain-text and a TLS 1.3 PSK connection.
const pcNano = buildCapture({
  format: 'pcap', littleEndian: false, nano: true, linkType: 229, snaplen: 0, interleave: [0, 0, 0, 2], pngExtras: false,
  connections: [
    { kind: 'not-tls', clientPort: 40000, ipv6: true, mss: 17, end: 'none', sni: '', isn: [1933206569, 14], startTime: 1_700_000_000 },
    { kind: 'tls13-psk', clientPort: 40013, ipv6: true, mss: 35, end: 'rst', sni: 'resume.example.org', isn: [289590865, 3087622631], startTime: 1_700_000_003 },
  ],
});

export const REGRESSION_FIXTURES: RegressionFixture[] = [
  {
    // EPB #3's block length 0x5c → 0x1005c (one bit): the block "runs past the end".
    file: 'pcapng-block-length-bit-flip.pcapng',
    bytes: () => withU32(ng.bytes, ng.boundaries[4]! + 4, (ng.bytes[ng.boundaries[4]! + 4]! | (ng.bytes[ng.boundaries[4]! + 5]! << 8)) | 0x10000),
    frames: ng.isPacket.filter(Boolean).length,
    damageAt: ng.boundaries[4]!,
  },
  {
    // Record #3 claims 200000 captured and original bytes (plausible, beyond the end of the file).
    file: 'pcap-record-length-past-end.pcap',
    bytes: () => withU32(withU32(pc.bytes, pc.boundaries[2]! + 8, 200000), pc.boundaries[2]! + 12, 200000),
    frames: pc.boundaries.length,
    damageAt: pc.boundaries[2]!,
  },
  {
    // Record #4's captured length 12 (was 90-odd): the reader lands inside packet data.
    file: 'pcap-short-record-length.pcap',
    bytes: () => withU32(pcNano.bytes, pcNano.boundaries[3]! + 8, 12, false),
    frames: pcNano.boundaries.length,
    damageAt: pcNano.boundaries[3]!,
  },
  {
    // The section header block's trailing length damaged: its blocks were all refused.
    file: 'pcapng-damaged-section-header.pcapng',
    bytes: () => withU32(ng.bytes, ng.boundaries[1]! - 4, 0),
    frames: ng.isPacket.filter(Boolean).length,
    damageAt: 0,
  },
  {
    // EPBs #1-#5's timestamp high word 0x80000000 (found by the fuzz, seed 21092707): 9.2e12 s,
    // more than a Date holds, for more frames than a spike (CLOCK_SPIKE_FRAMES); the sixth frame
    // steps the clock back from it.
    file: 'pcapng-timestamp-past-date-range.pcapng',
    bytes: () => [2, 3, 4, 5, 6].reduce((bytes, block) => withU32(bytes, ng.boundaries[block]! + 12, 0x80000000), ng.bytes),
    frames: ng.isPacket.filter(Boolean).length,
    damageAt: ng.boundaries[2]!,
  },
  {
    // 3000 connections, each one 9-byte TLS record whose ClientHello claims 262143 bytes.
    file: 'tls-many-huge-hello-claims.pcap',
    bytes: () => manyHugeHelloClaims(3000),
    frames: 3000,
    damageAt: -1,
  },
];

/** One SYN-less client segment per connection: 16 03 01 00 06 | 01 03 ff ff | 03 03. */
export function manyHugeHelloClaims(count: number): Uint8Array {
  const records: Uint8Array[] = [pcapHeader()];
  for (let i = 0; i < count; i++) {
    const tls = [0x16, 3, 1, 0, 6, 1, 0x03, 0xff, 0xff, 3, 3];
    const port = 10000 + i;
    const tcp = [port >> 8, port & 0xff, 1, 187, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 255, 255, 0, 0, 0, 0];
    const ipLength = 20 + tcp.length + tls.length;
    const ip = [0x45, 0, ipLength >> 8, ipLength & 0xff, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, (i >> 8) & 0xff, i & 0xff, 10, 1, 0, 1];
    const ethernet = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0];
    records.push(pcapRecord({ seconds: 1_700_000_000, fraction: i, data: Uint8Array.from([...ethernet, ...ip, ...tcp, ...tls]) }));
  }
  return concat(...records);
}
