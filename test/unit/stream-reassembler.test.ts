// In-order delivery of one TCP direction (RFC 9293 §3.4: sequence numbers modulo 2^32;
// §3.10.7.4: segments outside the window / duplicates trimmed).
import { describe, expect, it } from 'vitest';
import { sequenceDelta, StreamReassembler, type StreamConsumer } from '../../parser/tcp/stream-reassembler.js';
import { ascii } from './bytes.js';

type Event = { data: string; frame: number } | { gap: number; cause: 'lost' | 'snaplen'; frame: number };

function harness(stopAfterData = Infinity): { r: StreamReassembler; events: Event[]; text: () => string } {
  const events: Event[] = [];
  let count = 0;
  const consumer: StreamConsumer = {
    onData(bytes, start, end, _time, frame) {
      events.push({ data: Buffer.from(bytes.subarray(start, end)).toString('latin1'), frame });
      if (++count >= stopAfterData) r.stop();
    },
    onGap(length, _time, frame, cause) {
      events.push({ gap: length, cause, frame });
    },
  };
  const r = new StreamReassembler(consumer);
  const text = () => events.map((e) => ('data' in e ? e.data : `<${e.cause}:${e.gap}>`)).join('');
  return { r, events, text };
}

const ISN = 1000;
const seg = (r: StreamReassembler, offset: number, data: string, frame = 0, opts: { missing?: number; fin?: boolean; isn?: number } = {}) =>
  r.onSegment(((opts.isn ?? ISN) + 1 + offset) >>> 0, ascii(data), opts.missing ?? 0, opts.fin ?? false, frame, frame);

describe('sequenceDelta', () => {
  it('is signed and wraps at 2^32', () => {
    expect(sequenceDelta(5, 3)).toBe(2);
    expect(sequenceDelta(3, 5)).toBe(-2);
    expect(sequenceDelta(2, 0xfffffffe)).toBe(4);
    expect(sequenceDelta(0xfffffffe, 2)).toBe(-4);
  });
});

describe('StreamReassembler', () => {
  it('delivers in-order segments as they come', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'abc', 1);
    seg(r, 3, 'def', 2);
    expect(events).toEqual([{ data: 'abc', frame: 1 }, { data: 'def', frame: 2 }]);
    expect(r.nextSequence).toBe(ISN + 7);
    expect(r.bytesDelivered).toBe(6);
  });

  it('ignores an exact duplicate (retransmission)', () => {
    const { r, text, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'abc', 1);
    seg(r, 0, 'abc', 2);
    seg(r, 3, 'de', 3);
    seg(r, 3, 'de', 4);
    expect(text()).toBe('abcde');
    expect(events).toHaveLength(2);
  });

  it('an overlapping retransmission delivers only the new bytes', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'abcd', 1);
    seg(r, 2, 'cdefg', 2); // 'cd' again, 'efg' new
    expect(events).toEqual([{ data: 'abcd', frame: 1 }, { data: 'efg', frame: 2 }]);
  });

  it('holds out-of-order segments and delivers them in order when the hole fills', () => {
    const { r, events, text } = harness();
    r.onSyn(ISN);
    seg(r, 6, 'ghi', 1);
    seg(r, 3, 'def', 2);
    expect(events).toEqual([]);
    seg(r, 0, 'abc', 3);
    expect(text()).toBe('abcdefghi');
    expect(events.map((e) => e.frame)).toEqual([3, 2, 1]);
  });

  it('a pending segment is a copy: the caller may reuse its buffer', () => {
    const { r, text } = harness();
    r.onSyn(ISN);
    const buffer = ascii('xyz');
    r.onSegment(ISN + 1 + 3, buffer, 0, false, 1, 1);
    buffer.set(ascii('!!!'));
    seg(r, 0, 'abc', 2);
    expect(text()).toBe('abcxyz');
  });

  it('takes a payload as a range of a larger buffer (the frame): in order, trimmed, and held as a copy', () => {
    const { r, text } = harness();
    r.onSyn(ISN);
    const ahead = ascii('##def##');
    r.onSegment(ISN + 1 + 3, ahead, 0, false, 1, 1, 2, 5); // 'def', ahead of the hole: held
    ahead.fill(0x21);
    const first = ascii('**abcd**');
    r.onSegment(ISN + 1, first, 0, false, 2, 2, 2, 6); // 'abcd': in order; the held 'def' overlaps its 'd'
    const again = ascii('>>cdefgh<<');
    r.onSegment(ISN + 1 + 2, again, 0, false, 3, 3, 2, 8); // 'cdefgh': a retransmission carrying 'gh' more
    expect(text()).toBe('abcdefgh');
  });

  it('overlapping out-of-order segments are trimmed when delivered', () => {
    const { r, text } = harness();
    r.onSyn(ISN);
    seg(r, 4, 'efgh', 1);
    seg(r, 2, 'cdef', 2);
    seg(r, 0, 'ab', 3);
    expect(text()).toBe('abcdefgh');
  });

  it('of two pending segments with the same start, the longer is kept', () => {
    const { r, text } = harness();
    r.onSyn(ISN);
    seg(r, 2, 'cd', 1);
    seg(r, 2, 'cdef', 2);
    seg(r, 2, 'c', 3);
    seg(r, 0, 'ab', 4);
    expect(text()).toBe('abcdef');
  });

  it('flush() reports a hole that never filled as a gap of the right length, then the data', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'ab', 1);
    seg(r, 7, 'hij', 2); // bytes 2..6 never arrive
    seg(r, 12, 'mn', 3); // bytes 10..11 never arrive
    r.flush(9, 9);
    expect(events).toEqual([
      { data: 'ab', frame: 1 },
      { gap: 5, cause: 'lost', frame: 9 },
      { data: 'hij', frame: 2 },
      { gap: 2, cause: 'lost', frame: 9 },
      { data: 'mn', frame: 3 },
    ]);
    expect(r.bytesMissing).toBe(7);
    expect(r.bytesDelivered).toBe(7);
  });

  it('an ACK from the peer beyond bytes never seen declares them lost', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'ab', 1);
    r.onPeerAcknowledgment(ISN + 1 + 10, 2, 2); // peer has 10 bytes; we saw 2
    expect(events).toEqual([{ data: 'ab', frame: 1 }, { gap: 8, cause: 'lost', frame: 2 }]);
    // A late copy of the lost bytes is now old: nothing more is delivered.
    seg(r, 2, 'cdefghij', 3);
    seg(r, 10, 'k', 4);
    expect(events.slice(2)).toEqual([{ data: 'k', frame: 4 }]);
  });

  it('an ACK into a hole stops at the held data and delivers it', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'ab', 1);
    seg(r, 5, 'fgh', 2);
    r.onPeerAcknowledgment(ISN + 1 + 8, 3, 3);
    expect(events).toEqual([{ data: 'ab', frame: 1 }, { gap: 3, cause: 'lost', frame: 3 }, { data: 'fgh', frame: 2 }]);
  });

  it('an ACK for what was delivered, or of our FIN, is no gap', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'ab', 1);
    r.onPeerAcknowledgment(ISN + 3, 2, 2);
    r.onPeerAcknowledgment(ISN + 1, 2, 2); // old ACK
    seg(r, 2, 'c', 3, { fin: true });
    r.onPeerAcknowledgment(ISN + 5, 4, 4); // covers the FIN
    expect(events).toEqual([{ data: 'ab', frame: 1 }, { data: 'c', frame: 3 }]);
    expect(r.finished).toBe(true);
    expect(r.nextSequence).toBe(ISN + 5);
  });

  it('handles sequence wraparound at 2^32', () => {
    const { r, text, events } = harness();
    const isn = 0xfffffffa;
    r.onSyn(isn); // next = 0xfffffffb
    seg(r, 0, 'abcd', 1, { isn }); // 0xfffffffb..0xfffffffe
    seg(r, 7, 'hij', 2, { isn }); // 0x00000002.. (after the wrap): held
    seg(r, 4, 'efg', 3, { isn }); // 0xffffffff, 0, 1: fills the hole across the wrap
    expect(text()).toBe('abcdefghij');
    expect(events.every((e) => !('gap' in e))).toBe(true);
    expect(r.nextSequence).toBe(5);
    // Old data from before the wrap is recognised as old.
    seg(r, 0, 'abcd', 4, { isn });
    expect(text()).toBe('abcdefghij');
    // A gap across the wrap has the right length.
    r.onPeerAcknowledgment(9, 5, 5);
    expect(events[events.length - 1]).toEqual({ gap: 4, cause: 'lost', frame: 5 });
  });

  it('bytes missing because of the snaplen become a gap with cause "snaplen"', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'abcd', 1, { missing: 96 }); // 100 on the wire, 4 captured
    seg(r, 100, 'xy', 2);
    expect(events).toEqual([
      { data: 'abcd', frame: 1 },
      { gap: 96, cause: 'snaplen', frame: 1 },
      { data: 'xy', frame: 2 },
    ]);
    expect(r.bytesMissing).toBe(96);
  });

  it('a full retransmission after a snaplen cut adds no second gap', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, 'ab', 1, { missing: 3 });
    seg(r, 0, 'abcde', 2);
    seg(r, 5, 'f', 3);
    expect(events).toEqual([{ data: 'ab', frame: 1 }, { gap: 3, cause: 'snaplen', frame: 1 }, { data: 'f', frame: 3 }]);
  });

  it('stop() stops delivery, also in the middle of a drain', () => {
    const { r, events } = harness(2);
    r.onSyn(ISN);
    seg(r, 3, 'def', 1);
    seg(r, 6, 'ghi', 2);
    seg(r, 0, 'abc', 3); // delivers abc, def → stop()
    expect(events.map((e) => ('data' in e ? e.data : '?'))).toEqual(['abc', 'def']);
    expect(r.isActive).toBe(false);
    seg(r, 9, 'jkl', 4);
    r.flush(5, 5);
    r.onPeerAcknowledgment(ISN + 100, 6, 6);
    expect(events).toHaveLength(2);
  });

  it('without a SYN, the first segment sets the starting point (mid-stream capture)', () => {
    const { r, text } = harness();
    r.onSegment(5_000_000, ascii('mid'), 0, false, 1, 1);
    r.onSegment(5_000_003, ascii('dle'), 0, false, 2, 2);
    expect(text()).toBe('middle');
  });

  it('empty segments (pure ACKs) deliver nothing', () => {
    const { r, events } = harness();
    r.onSyn(ISN);
    seg(r, 0, '', 1);
    seg(r, 5, '', 2);
    expect(events).toEqual([]);
    expect(r.nextSequence).toBe(ISN + 1);
  });
});
