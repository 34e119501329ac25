// Two overlapping captures read merged hold the same packets: the second copy of each is let go
// (parser/tcp/packet-copies.ts), and nothing the sender itself sent twice.
import { describe, expect, it } from 'vitest';
import { PacketCopies } from '../../parser/tcp/packet-copies.js';
import { TcpPacket } from '../../parser/net/decode-packet.js';

function segment(sequence: number, acknowledgment = 1000, flags = 0x18, length = 100): TcpPacket {
  const p = new TcpPacket();
  p.sourcePort = 50000;
  p.destinationPort = 443;
  p.sequence = sequence;
  p.acknowledgment = acknowledgment;
  p.flags = flags;
  p.payloadStart = 40;
  p.payloadEnd = 40 + length;
  return p;
}

describe('copies of packets held by two files read merged', () => {


  it('the same segment from the other file within milliseconds is a copy; from the same file it is the sender\'s own', () => {
    const copies = new PacketCopies();
    const [a, b] = [copies.fileBit(), copies.fileBit()];
    expect(copies.isCopy(segment(1), 10, a)).toBe(false);
    expect(copies.isCopy(segment(1), 10.0004, b)).toBe(true);
    // A retransmission the sender made (the same file again) stays, and so does its copy's absence.
    expect(copies.isCopy(segment(1), 10.3, a)).toBe(false);
    expect(copies.isCopy(segment(1), 10.3001, b)).toBe(true);
  });

  it('a retransmission one file alone holds stays, whichever file\'s copy came first; so does every copy of a third file', () => {
    // Review: the other file's copy came first, and this file's own retransmission 1.2 ms later was dropped.
    const copies = new PacketCopies();
    const [a, b] = [copies.fileBit(), copies.fileBit()];
    expect(copies.isCopy(segment(1), 10, b)).toBe(false);
    expect(copies.isCopy(segment(1), 10.0001, a)).toBe(true);
    expect(copies.isCopy(segment(1), 10.0013, a)).toBe(false);
    // Three captures of one link: the packet once, its two copies dropped.
    const three = new PacketCopies();
    const [x, y, z] = [three.fileBit(), three.fileBit(), three.fileBit()];
    expect([three.isCopy(segment(9), 20, x), three.isCopy(segment(9), 20.0002, y), three.isCopy(segment(9), 20.0003, z)]).toEqual([false, true, true]);
  });

  it('another segment, an ACK number, flags or length apart, is no copy', () => {
    const copies = new PacketCopies();
    const [a, b] = [copies.fileBit(), copies.fileBit()];
    copies.isCopy(segment(1), 10, a);
    expect(copies.isCopy(segment(2), 10, b)).toBe(false);
    expect(copies.isCopy(segment(1, 1001), 10, b)).toBe(false);
    expect(copies.isCopy(segment(1, 1000, 0x19), 10, b)).toBe(false);
    expect(copies.isCopy(segment(1, 1000, 0x18, 99), 10, b)).toBe(false);
  });

  it('the same segment from the other file seconds later is a retransmission only that file holds', () => {
    const copies = new PacketCopies();
    const [a, b] = [copies.fileBit(), copies.fileBit()];
    copies.isCopy(segment(1), 10, a);
    expect(copies.isCopy(segment(1), 10.2, b)).toBe(false);
    // What was seen long ago is let go: a million packets later, the table holds only the last few milliseconds'.
    for (let i = 0; i < 1_000_000; i++) copies.isCopy(segment(i), 11 + i * 1e-5, a);
    expect(copies.isCopy(segment(999_999), 11 + 999_999 * 1e-5 + 1e-4, b)).toBe(true);
    expect(copies.isCopy(segment(5), 11 + 999_999 * 1e-5 + 1e-4, b)).toBe(false);
  });
});
