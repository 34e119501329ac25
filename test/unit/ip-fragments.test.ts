// IP fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5): fragments in any order, repeated or
// overlapping, give back the datagram; what never completes is reported with why.
import { describe, expect, it } from 'vitest';
import { decodeFrame, DecodeResult, TcpPacket } from '../../parser/net/decode-packet.js';
import { FRAGMENT_TIMEOUT, IpFragmentReassembler, type UnfinishedDatagram } from '../../parser/net/ip-fragments.js';
import { concat, fill, ipv4, ipv6, ipv6FragmentHeader, ipv6OptionsHeader, pseudoRandom, tcp } from './bytes.js';

const SEGMENT = tcp({ sourcePort: 51000, destinationPort: 443, sequence: 7, payload: pseudoRandom(3000, 5) });

/** IPv4 fragments of a TCP segment, `size` data bytes each (a multiple of 8), as a host cuts them. */
function ipv4Fragments(segment: Uint8Array, size: number, id = 0x4242): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < segment.length; at += size) {
    const more = at + size < segment.length;
    out.push(ipv4(segment.subarray(at, at + size), { protocol: 6, flagsAndOffset: (more ? 0x2000 : 0) | (at / 8), id }));
  }
  return out;
}

/** IPv6 fragments (an options header before the fragment header), `size` data bytes each. */
function ipv6Fragments(segment: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < segment.length; at += size) {
    out.push(ipv6(concat(ipv6OptionsHeader(44, 1), ipv6FragmentHeader(6, at / 8, at + size < segment.length), segment.subarray(at, at + size)), { nextHeader: 0 }));
  }
  return out;
}

function run(fragments: Uint8Array[], times?: number[]): { datagrams: Uint8Array[]; unfinished: UnfinishedDatagram[]; reassembler: IpFragmentReassembler } {
  const unfinished: UnfinishedDatagram[] = [];
  const reassembler = new IpFragmentReassembler((d) => unfinished.push(d));
  const datagrams: Uint8Array[] = [];
  fragments.forEach((f, i) => {
    const packet = new TcpPacket();
    expect(decodeFrame(101, f, f.length, packet)).toBe(DecodeResult.Fragment);
    const whole = reassembler.add(packet, times?.[i] ?? i * 0.001, i + 1);
    if (whole) datagrams.push(whole);
  });
  return { datagrams, unfinished, reassembler };
}

function expectSegment(datagram: Uint8Array, version: 4 | 6): void {
  const packet = new TcpPacket();
  expect(decodeFrame(101, datagram, datagram.length, packet)).toBe(DecodeResult.Tcp);
  expect(packet.ipVersion).toBe(version);
  expect([packet.sourcePort, packet.destinationPort, packet.sequence]).toEqual([51000, 443, 7]);
  expect(Buffer.from(packet.payload).equals(Buffer.from(SEGMENT.subarray(20)))).toBe(true);
}

describe('IpFragmentReassembler', () => {
  it('IPv4 in order: the datagram comes with the last fragment, its header made whole (length, no MF, offset 0)', () => {
    const fragments = ipv4Fragments(SEGMENT, 1480);
    expect(fragments).toHaveLength(3);
    const { datagrams, unfinished, reassembler } = run(fragments);
    expect(datagrams).toHaveLength(1);
    expect(datagrams[0]!.length).toBe(20 + SEGMENT.length);
    expectSegment(datagrams[0]!, 4);
    expect(unfinished).toEqual([]);
    expect(reassembler.size).toBe(0);
  });

  it('IPv4 in any order, with a fragment repeated: the same datagram', () => {
    const fragments = ipv4Fragments(SEGMENT, 512);
    for (const order of [[...fragments].reverse(), [fragments[3]!, fragments[0]!, fragments[5]!, fragments[1]!, fragments[1]!, fragments[4]!, fragments[2]!]]) {
      const { datagrams } = run(order);
      expect(datagrams).toHaveLength(1);
      expectSegment(datagrams[0]!, 4);
    }
  });

  it('overlapping fragments: the first bytes to come stay (RFC 5722: overlaps are no way to rewrite a datagram)', () => {
    const fragments = ipv4Fragments(SEGMENT, 1024);
    // A rogue fragment over the second one's range with other bytes, after it.
    const rogue = ipv4(fill(1024, 0x99), { protocol: 6, flagsAndOffset: 0x2000 | (1024 / 8), id: 0x4242 });
    const { datagrams } = run([fragments[0]!, fragments[1]!, rogue, fragments[2]!]);
    expectSegment(datagrams[0]!, 4);
  });

  it('IPv6 with an options header before the fragment header: that header kept, its Next Header now naming TCP', () => {
    const { datagrams } = run(ipv6Fragments(SEGMENT, 1232).reverse());
    expect(datagrams).toHaveLength(1);
    expect(datagrams[0]![6]).toBe(0); // the IPv6 header still names the options header
    expect(datagrams[0]![40]).toBe(6); // which now names TCP instead of the fragment header
    expectSegment(datagrams[0]!, 6);
  });

  it('two datagrams at once (other identifications) do not mix', () => {
    const a = ipv4Fragments(SEGMENT, 1024, 1);
    const other = tcp({ sourcePort: 51000, destinationPort: 443, sequence: 7, payload: SEGMENT.subarray(20) });
    const b = ipv4Fragments(other, 1024, 2);
    const { datagrams } = run([a[0]!, b[0]!, a[1]!, b[2]!, b[1]!, a[2]!]);
    expect(datagrams).toHaveLength(2);
    datagrams.forEach((d) => expectSegment(d, 4));
  });

  it('a missing fragment: nothing comes, and the datagram is reported at the end with what arrived', () => {
    const fragments = ipv4Fragments(SEGMENT, 1024);
    const { datagrams, unfinished, reassembler } = run([fragments[0]!, fragments[2]!]);
    expect(datagrams).toEqual([]);
    reassembler.finish();
    expect(unfinished).toEqual([{ time: 0, frame: 1, offset: -1, received: 1024 + SEGMENT.length - 2048, total: SEGMENT.length, why: 'end of capture' }]);
  });

  it('fragments wait FRAGMENT_TIMEOUT seconds of capture time, then are given up', () => {
    const fragments = ipv4Fragments(SEGMENT, 1024);
    const late = FRAGMENT_TIMEOUT + 1;
    const { datagrams, unfinished } = run([fragments[0]!, fragments[1]!, fragments[2]!], [0, 0.5, late]);
    expect(datagrams).toEqual([]);
    expect(unfinished.map((d) => d.why)).toEqual(['timeout']);
  });

  it('a fragment cut by snaplen cannot make a whole datagram: given up as such', () => {
    const fragments = ipv4Fragments(SEGMENT, 1024);
    const unfinished: UnfinishedDatagram[] = [];
    const reassembler = new IpFragmentReassembler((d) => unfinished.push(d));
    const packet = new TcpPacket();
    expect(decodeFrame(101, fragments[0]!.subarray(0, 200), fragments[0]!.length, packet)).toBe(DecodeResult.Fragment);
    expect(reassembler.add(packet, 0, 1)).toBeNull();
    expect(unfinished.map((d) => d.why)).toEqual(['snaplen']);
  });

  it('inconsistent or endless fragments are given up, not trusted: two different ends, too many pieces, past 64 KiB', () => {
    const fragments = ipv4Fragments(SEGMENT, 1024);
    const shorterEnd = ipv4(SEGMENT.subarray(1024, 1500), { protocol: 6, flagsAndOffset: 1024 / 8, id: 0x4242 });
    expect(run([fragments[2]!, shorterEnd]).unfinished.map((d) => d.why)).toEqual(['malformed']);
    const tiny = Array.from({ length: 200 }, (_, i) => ipv4(fill(8), { protocol: 6, flagsAndOffset: 0x2000 | i, id: 7 }));
    expect(run(tiny).unfinished.map((d) => d.why)).toEqual(['malformed']);
    const beyond = ipv4(fill(64), { protocol: 6, flagsAndOffset: 0x1fff, id: 8 });
    expect(run([beyond]).unfinished.map((d) => d.why)).toEqual(['malformed']);
    // Data past the end the last fragment sets, before or after it came (found by the fuzzer: it made the assembly throw).
    const pastTheEnd = ipv4(fill(64), { protocol: 6, flagsAndOffset: 0x2000 | 400, id: 0x4242 });
    expect(run([fragments[0]!, fragments[2]!, pastTheEnd]).unfinished.map((d) => d.why)).toEqual(['malformed']);
    expect(run([fragments[0]!, pastTheEnd, fragments[2]!]).unfinished.map((d) => d.why)).toEqual(['malformed']);
  });

  it('memory is bounded: beyond 8 MiB waiting, the oldest datagrams are given up', () => {
    // 1,100 datagrams of which only the first 8,000-byte fragment ever comes.
    const firsts = Array.from({ length: 1100 }, (_, id) => ipv4(fill(8000, 1), { protocol: 6, flagsAndOffset: 0x2000, id }));
    const { unfinished, reassembler } = run(firsts, firsts.map(() => 0));
    expect(unfinished.length).toBeGreaterThan(0);
    expect(unfinished.every((d) => d.why === 'memory')).toBe(true);
    expect(reassembler.size * 8000).toBeLessThanOrEqual(8 << 20);
    expect(unfinished[0]!.frame).toBe(1); // the oldest first
  });

  it('the fragment that completes a datagram, when it crosses the memory bound as the oldest, gives it up: never handed out', () => {
    // A's first fragment, then 138 other datagrams' (8,325,264 bytes), then A's last: past 8 MiB, and A is the oldest.
    const a = ipv4(fill(60000, 2), { protocol: 6, flagsAndOffset: 0x2000, id: 1000 });
    const others = Array.from({ length: 138 }, (_, id) => ipv4(fill(60328, 3), { protocol: 6, flagsAndOffset: 0x2000, id }));
    const aLast = ipv4(fill(5528, 2), { protocol: 6, flagsAndOffset: 60000 / 8, id: 1000 });
    const { datagrams, unfinished, reassembler } = run([a, ...others, aLast], Array.from({ length: 140 }, () => 0));
    expect(datagrams).toEqual([]);
    expect(unfinished.map((d) => [d.why, d.frame])).toEqual([['memory', 1]]);
    expect(reassembler.size).toBe(138);
  });
});

