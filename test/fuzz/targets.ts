// The fuzz targets: an arbitrary (fast-check) per property, and the check it must pass.
// Shared by the short run in the test suite and the long run (`npm run fuzz`).
import fc from 'fast-check';
import { buildCapture, captureSpecArb, mutate, mutationArb } from './captures.js';
import {
  checkArbitraryInput, checkHelloParsers, checkIntactCapture, checkMutatedCapture, checkOrderIndependence,
  checkFragments, checkOverlappingCaptures, checkReassembler, checkStateFile, checkTlsStream, checkTruncationKeepsPrefix, checkTunnelFrame, TUNNEL_WRAPPERS, type FragmentEvent, type SegmentEvent, type StreamEvent,
} from './properties.js';
import { pcapFile } from '../unit/bytes.js';
import { sessionStateArb } from './state-arbitrary.js';

export interface FuzzTarget<T> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** Throws (or rejects) on a violation; a check that reads through the merge loop is asynchronous. */
  check: (value: T) => void | Promise<void>;
  /** Bytes worth saving as a regression candidate when the check fails (a capture file). */
  capture?: (value: T) => Uint8Array;
}

const chunkSizesArb = fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 5000 })), { minLength: 1, maxLength: 6 });

const mutatedArb = fc.tuple(captureSpecArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), chunkSizesArb);

const streamEventArb: fc.Arbitrary<StreamEvent> = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 400 }).map((data) => ({ data })) },
  // TLS-looking starts so the parser gets past detection.
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(20, 21, 22, 23, 24, 0x80), fc.constantFrom(1, 2, 3), fc.uint8Array({ maxLength: 300 })).map(([t, v, rest]) => ({ data: Uint8Array.from([t, 3, v, rest.length >> 8, rest.length & 0xff, ...rest]) })) },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 0x7fffffff })).map((gap) => ({ gap })) },
  // PROXY protocol starts (v1 text, v2 signature) with arbitrary rest: parsed only at a stream's start.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('50524f585920', '0d0a0d0a000d0a515549540a21', '0d0a0d0a000d0a515549540a20'), fc.uint8Array({ maxLength: 120 })).map(([head, rest]) => ({ data: Uint8Array.from([...(head.match(/../g) ?? []).map((h) => parseInt(h, 16)), ...rest]) })) },
);

/** Valid TLS flights (from a generated capture) cut into arbitrary pieces, with bytes flipped. */
const realTlsEventsArb: fc.Arbitrary<[StreamEvent[], StreamEvent[]]> = fc
  .tuple(captureSpecArb, fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }))
  .map(([spec, flips, sizes]) => {
    const built = buildCapture(spec);
    const sides: [StreamEvent[], StreamEvent[]] = [[], []];
    for (const seg of built.segments[0] ?? []) {
      if (seg.payload.length === 0) continue;
      const data = seg.payload.slice();
      for (const f of flips) if (data.length > 0 && f % 3 === 0) data[f % data.length]! ^= 1 << (f % 8);
      for (let i = 0; i < data.length; i += sizes[i % sizes.length]!) sides[seg.side].push({ data: data.subarray(i, i + sizes[i % sizes.length]!) });
    }
    return sides;
  });

const segmentEventArb: fc.Arbitrary<SegmentEvent> = fc.record({
  kind: fc.constantFrom('syn', 'data', 'data', 'data', 'ack', 'flush') as fc.Arbitrary<SegmentEvent['kind']>,
  offset: fc.oneof(fc.integer({ min: -3000, max: 200000 }), fc.integer()),
  length: fc.integer({ min: 0, max: 2000 }),
  missing: fc.oneof(fc.constant(0), fc.nat({ max: 5000 }), fc.constant(0x7fffffff)),
  fin: fc.boolean(),
});

/** A stream cut into segments with holes, with or without acknowledgments (one-way captures). */
const holeyStreamArb: fc.Arbitrary<SegmentEvent[]> = fc
  .record({
    sizes: fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 1200 }),
    drop: fc.array(fc.nat(), { maxLength: 5 }),
    swap: fc.array(fc.nat(), { maxLength: 20 }),
    acks: fc.boolean(),
    syn: fc.boolean(),
  })
  .map(({ sizes, drop, swap, acks, syn }) => {
    const events: SegmentEvent[] = [];
    if (syn) events.push({ kind: 'syn', offset: -1, length: 0, missing: 0, fin: false });
    const dropped = new Set(drop.map((d) => d % sizes.length));
    let offset = 0;
    sizes.forEach((n, i) => {
      if (!dropped.has(i)) events.push({ kind: 'data', offset, length: n, missing: 0, fin: i === sizes.length - 1 });
      offset += n;
      if (acks && i % 3 === 0) events.push({ kind: 'ack', offset, length: 0, missing: 0, fin: false });
    });
    for (const s of swap) {
      const i = s % events.length;
      const j = Math.min(events.length - 1, i + 1 + (s % 7));
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    events.push({ kind: 'flush', offset: 0, length: 0, missing: 0, fin: false });
    return events;
  });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each target has its own value type
export const TARGETS: FuzzTarget<any>[] = [
  {
    name: 'mutated-capture',
    arbitrary: mutatedArb,
    check: ([spec, mutations, sizes]) => checkMutatedCapture(spec, mutations, sizes),
    capture: ([spec, mutations]) => mutate(buildCapture(spec), mutations, spec.littleEndian),
  },
  {
    name: 'arbitrary-bytes',
    // Random bytes behind a capture magic (and a valid pcapng SHB), so readers get past the sniffing.
    arbitrary: fc.tuple(
      fc.constantFrom('d4c3b2a1', 'a1b2c3d4', '4d3cb2a1', '0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', ''),
      fc.uint8Array({ maxLength: 3000 }),
      chunkSizesArb,
    ).map(([magic, rest, sizes]) => [Uint8Array.from([...(magic.match(/../g) ?? []).map((h) => parseInt(h, 16)), ...rest]), sizes] as const),
    check: ([bytes, sizes]: readonly [Uint8Array, number[]]) => { checkArbitraryInput(bytes, sizes); },
    capture: ([bytes]: readonly [Uint8Array, number[]]) => bytes,
  },
  { name: 'intact-capture', arbitrary: captureSpecArb, check: (spec) => { checkIntactCapture(spec); }, capture: (spec) => buildCapture(spec).bytes },
  {
    name: 'truncation',
    arbitrary: fc.tuple(captureSpecArb, fc.nat()),
    check: ([spec, at]) => checkTruncationKeepsPrefix(spec, at % 30000),
    capture: ([spec, at]) => buildCapture(spec).bytes.subarray(0, at % 30000),
  },
  {
    name: 'overlapping-captures',
    arbitrary: fc.tuple(captureSpecArb, fc.nat(), fc.nat(), fc.integer({ min: -5_000_000, max: 5_000_000 }), fc.oneof(fc.constant(0), fc.integer({ min: -1000, max: 1000 }))),
    check: ([spec, a, b, skew, ratePpm]) => checkOverlappingCaptures(spec, a, b, skew, ratePpm),
    capture: ([spec]) => buildCapture(spec).bytes,
  },
  {
    name: 'order-independence',
    arbitrary: fc.tuple(captureSpecArb, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 4 })),
    check: ([spec, swaps, dups]) => checkOrderIndependence(spec, swaps, dups),
    capture: ([spec]) => buildCapture(spec).bytes,
  },
  {
    name: 'tls-stream',
    arbitrary: fc.oneof(fc.tuple(fc.array(streamEventArb, { maxLength: 40 }), fc.array(streamEventArb, { maxLength: 40 })), realTlsEventsArb),
    check: ([client, server]) => checkTlsStream(client, server),
  },
  {
    name: 'hello-parsers',
    arbitrary: fc.tuple(fc.uint8Array({ maxLength: 700 }), fc.nat({ max: 800 }), fc.nat({ max: 800 })),
    check: ([bytes, start, end]) => checkHelloParsers(bytes, start, end),
  },
  {
    name: 'tunnel-frames',
    // Up to twelve tunnels deep (more than the decoder opens) around arbitrary bytes or a TCP-looking header.
    arbitrary: fc.tuple(
      fc.array(fc.nat({ max: TUNNEL_WRAPPERS.length - 1 }), { maxLength: 12 }),
      fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 20, maxLength: 120 }).map((b) => Uint8Array.from([0x45, 0, 0, 20 + b.length, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...b]))),
      fc.nat({ max: 2000 }),
    ),
    check: ([kinds, inner, cut]) => checkTunnelFrame(kinds, inner, cut),
    capture: ([kinds, inner]) => {
      let frame: Uint8Array = inner;
      for (const kind of kinds) frame = TUNNEL_WRAPPERS[kind % TUNNEL_WRAPPERS.length]!(frame);
      return pcapFile([{ seconds: 1700000000, fraction: 0, data: frame }], { linkType: 101 });
    },
  },
  {
    name: 'ip-fragments',
    // Few ids, so that fragments meet; small offsets, so that some datagrams complete; long pauses for timeouts.
    arbitrary: fc.array(fc.record({
      id: fc.nat({ max: 3 }),
      offset: fc.oneof(fc.nat({ max: 12 }), fc.nat({ max: 0x1fff })),
      length: fc.oneof(fc.constantFrom(8, 16, 24, 32), fc.nat({ max: 600 })),
      more: fc.boolean(),
      ipv6: fc.boolean(),
      time: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 40, noNaN: true })),
    }) as fc.Arbitrary<FragmentEvent>, { maxLength: 60 }),
    check: (events: FragmentEvent[]) => checkFragments(events),
  },
  {
    name: 'state-file',
    // Valid --state contents with bytes changed or cut: refused with an offset, or carried in whole.
    arbitrary: fc.tuple(sessionStateArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.option(fc.nat(), { nil: null })),
    check: ([state, flips, cut]) => checkStateFile(state, flips, cut),
  },
  {
    name: 'reassembler',
    arbitrary: fc.tuple(fc.nat({ max: 0xffffffff }), fc.oneof(fc.array(segmentEventArb, { maxLength: 1500 }), holeyStreamArb)),
    check: ([base, events]) => checkReassembler(base, events),
  },
];
