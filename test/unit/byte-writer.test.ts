import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteWriter, utf8 } from '../../parser/report/byte-writer.js';

// The output pass writes JSON as bytes: every number and text must come out exactly as
// JSON.stringify and TextEncoder would write them.

const decoder = new TextDecoder('utf-8', { fatal: true });

function written(write: (out: ByteWriter) => void): string {
  const out = new ByteWriter(1); // grows on every write: the growth path is exercised too
  write(out);
  return decoder.decode(out.view());
}

describe('ByteWriter', () => {
  it('writes numbers as JSON.stringify does: integers, capture times, other doubles, null', () => {
    const edges = [0, -0, 1, -1, 9, 10, 2147483647, 2147483648, -2147483648, 4294967295, Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e21, 1e-7, 0.000001, 0.0000015, 0.1, 0.5, 1700000000.0168, 1700000000.062709,
      4294967295.999999, 4294967296.5, 2 ** 31 + 0.5, 123456789.123456, NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE];
    for (const x of edges) expect(written((out) => out.number(x)), String(x)).toBe(JSON.stringify(x));
    expect(written((out) => out.number(null))).toBe('null');
    const micros = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 999_999 }));
    fc.assert(fc.property(micros, ([seconds, us]) => {
      // A pcap time as the reader computes it, and as a decimal literal would give it.
      for (const x of [seconds + us / 1e6, Number(`${seconds}.${String(us).padStart(6, '0')}`)]) {
        expect(written((out) => out.number(x))).toBe(JSON.stringify(x));
      }
    }), { numRuns: 20_000 });
    fc.assert(fc.property(fc.double(), (x) => {
      expect(written((out) => out.number(x))).toBe(JSON.stringify(x));
    }), { numRuns: 20_000 });
    // Differences of times (ages, gaps): the values with at most six decimals and those with more.
    fc.assert(fc.property(micros, micros, ([s1, u1], [s2, u2]) => {
      const x = Math.abs((s1 + u1 / 1e6) - (s2 + u2 / 1e6));
      expect(written((out) => out.number(x))).toBe(JSON.stringify(x));
    }), { numRuns: 20_000 });
  });

  it('encodes text as TextEncoder does, surrogate pairs and lone surrogates included', () => {
    const encoder = new TextEncoder();
    for (const text of ['', 'plain', 'h\u00e9', '\u2028', '\ud83d\ude00', '\ud800', 'a\udc00b', '\ud800\ud800\udc00']) {
      expect([...utf8(text)]).toEqual([...encoder.encode(text)]);
    }
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => {
      expect([...utf8(text)]).toEqual([...encoder.encode(text)]);
    }), { numRuns: 5_000 });
  });

  it('writes hex digits, ASCII, integers and raw bytes in order', () => {
    const text = written((out) => {
      out.raw(Uint8Array.from([123, 34]));
      out.hex(Uint8Array.from([0x00, 0x0f, 0xa5, 0xff]), 1, 4);
      out.raw(Uint8Array.from([34, 125]));
      out.ascii(',');
      out.integer(-42);
    });
    expect(text).toBe('{"0fa5ff"},-42');
  });
});
