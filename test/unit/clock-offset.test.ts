// Files of one connection set on different clocks (parser/clock-offset.ts): the offset bounded by
// TCP handshakes whose SYN is in one file and SYN-ACK in the other, and the reading plan that
// shifts a file only when its clock is demonstrably off.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { estimateOffset, HandshakeSample, handshakeTimes, shiftFrameTime, type HandshakeTimes } from '../../parser/clock-offset.js';
import { TcpPacket } from '../../parser/net/decode-packet.js';
import { clocksApart, planReading, probeHead, type HeadProbe } from '../../parser/merged-reading.js';
import { Frame } from '../../parser/capture/frame.js';
import { parseIPv4, PcapWriter } from '../../fixtures/simulator/pcap-writer.js';

const SYN = 0x02;
const ACK = 0x10;

/** A pcap of the given TCP segments (times in seconds), client 10.0.0.1, server 10.0.0.2:443. */
function capture(segments: { time: number; fromClient: boolean; port: number; seq: number; ack: number; flags: number }[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((chunk) => chunks.push(chunk.slice()));
  const client = parseIPv4('10.0.0.1');
  const server = parseIPv4('10.0.0.2');
  for (const s of segments) {
    const [src, dst, sport, dport] = s.fromClient ? [client, server, s.port, 443] : [server, client, 443, s.port];
    writer.writeTcp(Math.round(s.time * 1e6), src, dst, sport, dport, s.seq, s.ack, s.flags, null, 0, 0);
  }
  writer.flush();
  return new Uint8Array(Buffer.concat(chunks));
}

const ROOT = new URL('../../', import.meta.url).pathname;
const NGINX = join(ROOT, 'fixtures/captures/nginx-cache-capacity.pcap');

function times(syn: number, synAck: number, ack: number): HandshakeTimes {
  return { syn, synAck, ack };
}

/** A client's side of its handshakes (SYN, ACK) and a server's (SYN-ACK), the server's clock `skew` ahead. */
function split(handshakes: [syn: number, synAck: number, ack: number][], skew: number): [Map<string, HandshakeTimes>, Map<string, HandshakeTimes>] {
  const client = new Map<string, HandshakeTimes>();
  const server = new Map<string, HandshakeTimes>();
  handshakes.forEach(([syn, synAck, ack], i) => {
    client.set(`10.0.0.1|${5000 + i} 10.0.0.2|443`, times(syn, NaN, ack));
    server.set(`10.0.0.1|${5000 + i} 10.0.0.2|443`, times(NaN, synAck + skew, NaN));
  });
  return [client, server];
}

describe('the offset of two clocks, from handshakes split between two files', () => {
  const handshakes: [number, number, number][] = [[100, 100.001, 100.030], [200, 200.0005, 200.020], [300, 300.002, 300.050]];

  it('clocks that may agree (every SYN-ACK between its SYN and ACK): no shift', () => {
    const [client, server] = split(handshakes, 0);
    expect(estimateOffset(client, server)).toEqual({ seconds: 0, handshakes: 3 });
    // Off by less than the handshakes tell apart: still none.
    expect(estimateOffset(client, split(handshakes, 0.010)[1])).toEqual({ seconds: 0, handshakes: 3 });
  });

  it('a server clock 2 s ahead: shifted back by the middle of the narrowest bounds', () => {
    const [client, server] = split(handshakes, 2);
    const estimate = estimateOffset(client, server)!;
    // SYN ≤ SYN-ACK + s ≤ ACK for all three: s ∈ [-2.0005, -1.9805], the middle -1.9905.
    expect(estimate.handshakes).toBe(3);
    expect(estimate.seconds).toBeCloseTo(-1.9905, 6);
    // The other way round (the server's file as reference): the client's file moves forward.
    expect(estimateOffset(server, client)!.seconds).toBeCloseTo(1.9905, 6);
  });

  it('a server clock 2 s behind: shifted forward', () => {
    const [client, server] = split(handshakes, -2);
    expect(estimateOffset(client, server)!.seconds).toBeCloseTo(2.0095, 6);
  });

  it('no shared handshake, or handshakes that contradict each other: no estimate', () => {
    const [client] = split(handshakes, 0);
    const other = new Map([['10.9.9.9|1 10.0.0.2|443', times(NaN, 5, NaN)]]);
    expect(estimateOffset(client, other)).toBeNull();
    // Two connections on one port pair taken for one: bounds 10 s apart that cannot both hold.
    const [c2, s2] = split([[100, 100.001, 100.002], [200, 200.001, 200.002]], 0);
    s2.set('10.0.0.1|5001 10.0.0.2|443', times(NaN, 210, NaN));
    expect(estimateOffset(c2, s2)).toBeNull();
  });

  it('only SYNs and SYN-ACKs, no ACK: the least shift that orders them, 0.1 ms to spare', () => {
    const client = new Map([['a|1 b|2', times(100, NaN, NaN)]]);
    const server = new Map([['a|1 b|2', times(NaN, 99, NaN)]]);
    expect(estimateOffset(client, server)!.seconds).toBeCloseTo(1.0001, 9);
  });

  it('a port pair used again is another connection: its SYN-ACK is not paired with the first one\'s SYN', () => {
    // The client's file holds connection 1 (ISN 1000); the server's part, ten minutes on, only
    // connection 2's SYN-ACK on the same ports (ISN 9000). Keyed by the ports alone, they bounded
    // the shift at -600 s.
    const client = capture([
      { time: 100, fromClient: true, port: 5000, seq: 1000, ack: 0, flags: SYN },
      { time: 100.02, fromClient: true, port: 5000, seq: 1001, ack: 50001, flags: ACK },
    ]);
    const server = capture([{ time: 700.001, fromClient: false, port: 5000, seq: 70000, ack: 9001, flags: SYN | ACK }]);
    expect(estimateOffset(handshakeTimes(client, 'c'), handshakeTimes(server, 's'))).toBeNull();
    // Its own SYN-ACK (acknowledging ISN 1000 + 1), 2 s behind: paired, and the ACK bounds it too.
    const own = capture([{ time: 98.001, fromClient: false, port: 5000, seq: 50000, ack: 1001, flags: SYN | ACK }]);
    const estimate = estimateOffset(handshakeTimes(client, 'c'), handshakeTimes(own, 's'))!;
    expect(estimate.handshakes).toBe(1);
    expect(estimate.seconds).toBeCloseTo((1.999 + 2.019) / 2, 6);
  });

  it('TCP Fast Open: a SYN with data is paired with the SYN-ACK that acknowledges its data, and with one that does not', () => {
    // The SYN-ACK acknowledges ISN + 1 + 100 when the server took the SYN's 100 bytes (RFC 7413
    // §3), ISN + 1 when it did not; keyed by ISN alone (ack − 1), the first was never paired.
    const withData = (fields: { time: number; fromClient: boolean; port: number; seq: number; ack: number; flags: number; data: number }[]): Uint8Array => {
      const chunks: Uint8Array[] = [];
      const writer = new PcapWriter((chunk) => chunks.push(chunk.slice()));
      const [client, server] = [parseIPv4('10.0.0.1'), parseIPv4('10.0.0.2')];
      for (const f of fields) {
        const [src, dst, sport, dport] = f.fromClient ? [client, server, f.port, 443] : [server, client, 443, f.port];
        writer.writeTcp(Math.round(f.time * 1e6), src, dst, sport, dport, f.seq, f.ack, f.flags, new Uint8Array(f.data), 0, f.data);
      }
      writer.flush();
      return new Uint8Array(Buffer.concat(chunks));
    };
    const client = withData([
      { time: 100, fromClient: true, port: 5000, seq: 1000, ack: 0, flags: SYN, data: 100 },
      { time: 100.02, fromClient: true, port: 5000, seq: 1101, ack: 50001, flags: ACK, data: 0 },
      { time: 200, fromClient: true, port: 5001, seq: 7000, ack: 0, flags: SYN, data: 100 },
      { time: 200.03, fromClient: true, port: 5001, seq: 7001, ack: 60001, flags: ACK, data: 100 },
    ]);
    const taken = withData([{ time: 98.001, fromClient: false, port: 5000, seq: 50000, ack: 1101, flags: SYN | ACK, data: 0 }]);
    const estimate = estimateOffset(handshakeTimes(client, 'c'), handshakeTimes(taken, 's'))!;
    expect(estimate.handshakes).toBe(1);
    expect(estimate.seconds).toBeCloseTo((1.999 + 2.019) / 2, 6);
    const refused = withData([{ time: 198.001, fromClient: false, port: 5001, seq: 60000, ack: 7001, flags: SYN | ACK, data: 0 }]);
    const second = estimateOffset(handshakeTimes(client, 'c'), handshakeTimes(refused, 's'))!;
    expect(second.handshakes).toBe(1);
    expect(second.seconds).toBeCloseTo((1.999 + 2.029) / 2, 6);
  });

  it('a real capture: one handshake per connection, in order, as tshark counts the SYNs', () => {
    const found = handshakeTimes(new Uint8Array(readFileSync(NGINX)), 'nginx');
    const syns = execFileSync('tshark', ['-r', NGINX, '-Y', 'tcp.flags.syn == 1 && tcp.flags.ack == 0', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.seq_raw'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    expect(found.size).toBe(new Set(syns).size);
    for (const t of found.values()) {
      expect(t.syn).toBeLessThan(t.synAck);
      expect(t.synAck).toBeLessThanOrEqual(t.ack);
    }
  });

  it('a frame shifted: its time and the capture time it is written with, across a second', () => {
    const frame = new Frame();
    frame.time = 1700000000.9;
    frame.wholeSeconds = 1700000000;
    frame.nanoseconds = 900_000_000;
    shiftFrameTime(frame, 0.25);
    expect([frame.wholeSeconds, frame.nanoseconds]).toEqual([1700000001, 150_000_000]);
    shiftFrameTime(frame, -2.5);
    expect([frame.wholeSeconds, frame.nanoseconds]).toEqual([1699999998, 650_000_000]);
    expect(frame.time).toBeCloseTo(1699999998.65, 6);
  });
});

describe('handshakes sampled over whole files', () => {
  /** A decoded SYN and the ACK after it (client side) or SYN-ACK (server side) of connection `i`, from port 1024 + i. */
  function packet(i: number, synAck: boolean, ack = false): TcpPacket {
    const p = new TcpPacket();
    const client = new Uint8Array([10, 0, 0, 1]);
    const server = new Uint8Array([10, 0, 0, 2]);
    [p.sourceBytes, p.destinationBytes] = synAck ? [server, client] : [client, server];
    [p.sourcePort, p.destinationPort] = synAck ? [443, 1024 + (i % 60000)] : [1024 + (i % 60000), 443];
    p.sequence = synAck ? 900_000 + i : 1_000_000 + i * 7;
    p.acknowledgment = synAck ? 1_000_000 + i * 7 + 1 : 0;
    p.flags = synAck ? SYN | ACK : SYN;
    if (ack) {
      p.sequence = 1_000_000 + i * 7 + 1;
      p.acknowledgment = 900_000 + i + 1;
      p.flags = ACK;
    }
    return p;
  }

  it('a whole file keeps handshakes from all of it, thinned by client port, so that two files\' samples still meet', () => {
    const client = new HandshakeSample(true);
    const server = new HandshakeSample(true);
    // 50,000 connections over 5,000 s; the server's capture starts 20 minutes later, its clock 3 s ahead.
    for (let i = 0; i < 50_000; i++) {
      client.add(packet(i, false), i / 10);
      client.add(packet(i, false, true), i / 10 + 0.002);
      if (i >= 12_000) server.add(packet(i, true), i / 10 + 0.001 + 3);
    }
    expect(client.times.size).toBeLessThanOrEqual(4096);
    expect(client.times.size).toBeGreaterThan(1000);
    const times = [...client.times.values()].map((t) => t.syn);
    expect(Math.max(...times)).toBeGreaterThan(4900);
    const estimate = estimateOffset(client.times, server.times)!;
    expect(estimate.handshakes).toBeGreaterThan(500);
    // Each SYN-ACK 1 ms after its SYN and 1 ms before the ACK: bounded to within a millisecond of −3 s.
    expect(estimate.seconds).toBeCloseTo(-3, 2);
    // A head keeps its first handshakes only: they end long before the server's capture starts.
    const head = new HandshakeSample(false);
    for (let i = 0; i < 50_000; i++) head.add(packet(i, false), i / 10);
    expect(head.times.size).toBe(4096);
    expect(estimateOffset(head.times, server.times)).toBeNull();
  });
});

describe('the clocks of files read merged, checked after the reading', () => {
  it('files whose whole handshakes do not fit one clock are a pair to read again; files on one clock, or in other groups, are not', () => {
    const client = new Map([['a|1 b|2 1001', times(100, NaN, 100.02)], ['a|3 b|2 5001', times(200, NaN, 200.03)]]);
    const server = new Map([['a|1 b|2 1001', times(NaN, 103.01, NaN)], ['a|3 b|2 5001', times(NaN, 203.001, NaN)]]);
    const onTime = new Map([['a|1 b|2 1001', times(NaN, 100.01, NaN)]]);
    const plan = [{ index: 0, firstTime: 100, group: 0 }, { index: 1, firstTime: 103, group: 0 }, { index: 2, firstTime: 100, group: 1 }, { index: 3, firstTime: 100, group: 0 }];
    const found = clocksApart(plan, [client, server, server, onTime], ['c2s', 's2c', 'other', 's2c-synced']);
    expect(found).toHaveLength(1);
    expect(found[0]!.files).toEqual(['c2s', 's2c']);
    expect(found[0]!.handshakes).toBe(2);
    // 3 s ahead, bounded by [−3.01, −2.99] and [−3.001, −2.971]: the middle of −3.001 … −2.99.
    expect(found[0]!.ahead).toBeCloseTo(2.9955, 6);
    expect(clocksApart(plan, [client, null, null, onTime], ['c2s', 's2c', 'other', 's2c-synced'])).toEqual([]);
  });
});

describe('the reading plan of files on different clocks', () => {
  /** A probe of a file holding one side of the handshakes of `ports`. */
  function probe(name: string, side: 'client' | 'server', ports: number[], start: number, skew: number): HeadProbe {
    const handshakes = new Map<string, HandshakeTimes>();
    for (const port of ports) {
      const t = start + port;
      handshakes.set(`10.0.0.1|${port} 10.0.0.2|443`, side === 'client' ? times(t, NaN, t + 0.02) : times(NaN, t + 0.001 + skew, NaN));
    }
    return { firstTime: start + ports[0]! + skew, connections: new Set(ports.map((p) => `10.0.0.1|${p} 10.0.0.2|443`)), oneSided: true, name, handshakes };
  }

  it('a client direction rotated into parts, each part bounded through the server\'s file: parts on the first part\'s clock are not moved', () => {
    // The server's file whole and 3 s ahead; the client's in two parts on one clock. The second
    // part shares handshakes with the server's file only: bounded through it, it took the error
    // of the server's estimate (the middle of its bounds) as a shift of its own, "5ms behind".
    const server = new Map([['10.0.0.1|1 10.0.0.2|443', times(NaN, 103.01, NaN)], ['10.0.0.1|900 10.0.0.2|443', times(NaN, 1003.005, NaN)]]);
    const plan = planReading([
      { firstTime: 100, connections: new Set(['a']), oneSided: true, name: 'c2s-1', handshakes: new Map([['10.0.0.1|1 10.0.0.2|443', times(100, NaN, 100.02)]]) },
      { firstTime: 1000, connections: new Set(['b']), oneSided: true, name: 'c2s-2', handshakes: new Map([['10.0.0.1|900 10.0.0.2|443', times(1000, NaN, 1000.02)]]) },
      { firstTime: 103, connections: new Set(['a', 'b']), oneSided: true, name: 's2c', handshakes: server },
    ]);
    const offsets = new Map(plan.map((x) => [x.index, x.clockOffset]));
    expect(offsets.get(2)!.seconds).toBeCloseTo(-3, 1);
    expect(offsets.get(1)).toBeUndefined();
  });

  it('a direction rotated into parts: the parts no handshake bounds take the shift of the part before them', () => {
    // The client's direction whole (its first megabyte: ports 1-5), the server's in three parts,
    // its clock 3 s behind; only the first part's head shares handshakes with the whole file's.
    // Each SYN-ACK 1 ms after its SYN, the ACK 20 ms after: s ∈ [2.999, 3.019], the middle 3.009.
    const plan = planReading([
      probe('c2s.pcap', 'client', [1, 2, 3, 4, 5], 0, 0),
      probe('s2c-1.pcap', 'server', [1, 2, 3, 4, 5], 0, -3),
      probe('s2c-2.pcap', 'server', [601, 602, 603, 604], 0, -3),
      probe('s2c-3.pcap', 'server', [1201, 1202, 1203], 0, -3),
    ]);
    const byName = ['c2s.pcap', 's2c-1.pcap', 's2c-2.pcap', 's2c-3.pcap'];
    const offsets = Object.fromEntries(plan.map((x) => [byName[x.index], x.clockOffset]));
    expect(offsets['c2s.pcap']).toBeUndefined();
    expect(offsets['s2c-1.pcap']!.seconds).toBeCloseTo(3.009, 6);
    expect(offsets['s2c-1.pcap']).toMatchObject({ against: 'c2s.pcap', handshakes: 5 });
    expect(offsets['s2c-2.pcap']).toMatchObject({ against: 'c2s.pcap', handshakes: 0, like: 's2c-1.pcap' });
    expect(offsets['s2c-3.pcap']).toMatchObject({ handshakes: 0, like: 's2c-2.pcap' });
    expect(offsets['s2c-3.pcap']!.seconds).toBeCloseTo(3.009, 6);
    // Ordered by their first packets on the one clock: each part after the whole file's start.
    expect(plan.map((x) => byName[x.index])).toEqual(byName);
    expect(new Set(plan.map((x) => x.group)).size).toBe(1);
  });

  it('two links, each split by direction, one of them on a clock 2 s off: only that file is moved, onto its own link\'s clock', () => {
    // Before, only the first link's files were bounded; the second link's server file took the
    // first's shift "as the earlier file of the same direction", and its 359 handshakes broke.
    const other = (p: HeadProbe): HeadProbe => ({ ...p, handshakes: new Map([...p.handshakes!].map(([k, v]) => [k.replace('10.0.0.1', '10.9.9.9'), v])) });
    const plan = planReading([
      probe('a-c2s', 'client', [1, 2, 3], 0, 0), probe('a-s2c', 'server', [1, 2, 3], 0, 2),
      other(probe('b-c2s', 'client', [1, 2, 3], 5, 0)), other(probe('b-s2c', 'server', [1, 2, 3], 5, 0)),
    ]);
    const shifted = plan.filter((x) => x.clockOffset !== undefined);
    expect(shifted.map((x) => x.index)).toEqual([1]);
    expect(shifted[0]!.clockOffset!.seconds).toBeCloseTo(-1.991, 6);
  });

  it('files on one clock, and files that share no connection: nothing shifted', () => {
    const capture = new Uint8Array(readFileSync(NGINX));
    const plan = planReading([probeHead(capture, 'a'), probeHead(new Uint8Array(readFileSync(join(ROOT, 'fixtures/captures/nginx-session-timeout.pcap'))), 'b')]);
    expect(plan.every((x) => x.clockOffset === undefined)).toBe(true);
    const sameClock = planReading([probe('c', 'client', [1, 2, 3], 0, 0), probe('s', 'server', [1, 2, 3], 0, 0)]);
    expect(sameClock.every((x) => x.clockOffset === undefined)).toBe(true);
  });
});
