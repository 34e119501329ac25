// A real capture wrapped, frame by frame, in each tunnel a mirror or a load balancer puts traffic
// in: what resumescope finds inside must be what it finds in the capture itself (every connection
// record, every server's diagnosis), and tshark, which decodes these tunnels itself, must see the
// same TLS in the wrapped file as in the original (so the wrapping is what the RFCs describe).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { EncapsulationCounts } from '../parser/report/types.js';
import { crosscheckFile } from './tools/crosscheck.js';
import { rewritePcapRecords } from './support/pcap-edit.js';
import { analyzeChunks } from './support/pipeline.js';
import { tsharkConnectionFacts } from './support/tshark.js';
import { concat, erspan2, erspan3, ethernet, geneve, gre, ipv4, ipv6, mpls, udp, vxlan } from './unit/bytes.js';

const CAPTURES = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));
// 37 connections to nginx with a cache of ten sessions: full handshakes, resumptions and refusals
// whose FIFO capacity the diagnosis infers.
const ORIGINAL = 'nginx-cache-capacity.pcap';
const SERVER_PORT = 44314;

const UNDERLAY = { source: [203, 0, 113, 10], destination: [203, 0, 113, 20] };
const V6_UNDERLAY = { source: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 10]), destination: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 20]) };
const underIpv4 = (protocol: number, payload: Uint8Array) => ethernet(0x0800, ipv4(payload, { ...UNDERLAY, protocol }));

/** Each tunnel: the outer frame for an Ethernet frame of the capture, and the counts it must give. */
const TUNNELS: { name: string; wrap: (frame: Uint8Array) => Uint8Array; counts: Partial<EncapsulationCounts> }[] = [
  { name: 'VXLAN (cloud traffic mirror)', wrap: (f) => underIpv4(17, udp(vxlan(f), { destinationPort: 4789 })), counts: { vxlan: 1 } },
  { name: 'VXLAN over an IPv6 underlay', wrap: (f) => ethernet(0x86dd, ipv6(udp(vxlan(f), { destinationPort: 4789 }), { ...V6_UNDERLAY, nextHeader: 17 })), counts: { vxlan: 1 } },
  { name: 'Geneve with an option (AWS Gateway Load Balancer)', wrap: (f) => underIpv4(17, udp(geneve(f, { options: Uint8Array.of(0x01, 0x08, 0x01, 0x01, 0, 0, 0, 7) }), { destinationPort: 6081 })), counts: { geneve: 1 } },
  { name: 'GRE carrying IP, with a key', wrap: (f) => underIpv4(47, gre(f.subarray(14), { protocol: 0x0800, key: 99 })), counts: { gre: 1 } },
  { name: 'GRE carrying Ethernet (gretap)', wrap: (f) => underIpv4(47, gre(f, { protocol: 0x6558 })), counts: { gre: 1 } },
  { name: 'ERSPAN type II (switch port mirror)', wrap: (f) => underIpv4(47, gre(erspan2(f), { protocol: 0x88be, sequence: 1 })), counts: { gre: 1, erspan: 1 } },
  { name: 'ERSPAN type III with its subheader', wrap: (f) => underIpv4(47, gre(erspan3(f, { subheader: true }), { protocol: 0x22eb, sequence: 1 })), counts: { gre: 1, erspan: 1 } },
  { name: 'MPLS, two labels', wrap: (f) => ethernet(0x8847, mpls(f.subarray(14))), counts: { mpls: 1 } },
  { name: 'IP in IP (IPVS tunnelling to a backend)', wrap: (f) => underIpv4(4, f.subarray(14)), counts: { ipInIp: 1 } },
  {
    name: 'VXLAN inside GRE',
    wrap: (f) => underIpv4(47, gre(ipv4(udp(vxlan(f), { destinationPort: 4789 }), { source: [198, 51, 100, 1], destination: [198, 51, 100, 2], protocol: 17 }), { protocol: 0x0800 })),
    counts: { gre: 1, vxlan: 1 },
  },
];

const work = mkdtempSync(join(tmpdir(), 'resumescope-tunnels-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The capture with every frame wrapped (lengths in the record headers grown to match). */
function wrapped(wrap: (frame: Uint8Array) => Uint8Array): Buffer {
  return rewritePcapRecords(join(CAPTURES, ORIGINAL), (record) => {
    const frame = wrap(record.subarray(16));
    const header = Buffer.from(record.subarray(0, 16));
    header.writeUInt32LE(frame.length, 8);
    header.writeUInt32LE(record.readUInt32LE(12) + frame.length - (record.length - 16), 12);
    return Buffer.from(concat(header, frame));
  });
}

const original = readFileSync(join(CAPTURES, ORIGINAL));
const plain = analyzeChunks(ORIGINAL, [original]);
const plainTshark = tsharkConnectionFacts(join(CAPTURES, ORIGINAL), { tlsPorts: [SERVER_PORT] });
const packets = plain.document.captures[0]!.packets;

describe(`${ORIGINAL} inside tunnels: the same connections and diagnosis as without`, () => {
  it('the original has what a comparison needs', () => {
    expect(plain.connections.length).toBe(37);
    expect(plain.document.captures[0]!.encapsulated).toEqual({ vxlan: 0, geneve: 0, gre: 0, erspan: 0, mpls: 0, ipInIp: 0 });
    expect(plain.diagnosis.servers[0]!.cachePolicy.capacity.entries).not.toBeNull();
  });

  for (const tunnel of TUNNELS) {
    it(tunnel.name, async () => {
      const bytes = wrapped(tunnel.wrap);
      const inside = analyzeChunks(ORIGINAL, [bytes]);
      expect(inside.connections).toEqual(plain.connections);
      expect(inside.diagnosis.servers).toEqual(plain.diagnosis.servers);
      expect(inside.diagnosis.findings).toEqual(plain.diagnosis.findings);
      const summary = inside.document.captures[0]!;
      expect(summary.anomalies).toEqual([]);
      // Every frame of a loopback capture is TCP: each was found inside, under each of its tunnels.
      const expected = { vxlan: 0, geneve: 0, gre: 0, erspan: 0, mpls: 0, ipInIp: 0 };
      for (const [key, n] of Object.entries(tunnel.counts)) expected[key as keyof EncapsulationCounts] = n * packets;
      expect(summary.encapsulated).toEqual(expected);

      // tshark opens the same tunnel and finds the same TLS, and resumescope agrees with it field by field.
      const file = join(work, `${tunnel.name.replace(/[^a-z0-9]+/gi, '-')}.pcap`);
      writeFileSync(file, bytes);
      const strip = (facts: typeof plainTshark) => facts.map(({ sni, version, cipher, offeredSessionId, serverSessionId, resumed, resumedBy, client, server }) => ({ sni, version, cipher, offeredSessionId, serverSessionId, resumed, resumedBy, client, server }));
      expect(strip(tsharkConnectionFacts(file, { tlsPorts: [SERVER_PORT] }))).toEqual(strip(plainTshark));
      const check = await crosscheckFile(file);
      expect(check.disagreements).toEqual([]);
      expect(check.compared).toBe(37);
    });
  }

  it('a connection mirrored at both of its ends (every frame twice, in two VXLAN networks) is one connection', () => {
    // Two mirror sessions (one per end) deliver each packet twice, under two network identifiers:
    // the copy is a retransmission, not a second connection.
    const bytes = rewritePcapRecords(join(CAPTURES, ORIGINAL), (record) => {
      const copies = [7, 8].map((vni) => {
        const frame = underIpv4(17, udp(vxlan(record.subarray(16), { vni }), { destinationPort: 4789 }));
        const header = Buffer.from(record.subarray(0, 16));
        header.writeUInt32LE(frame.length, 8);
        header.writeUInt32LE(frame.length, 12);
        return Buffer.from(concat(header, frame));
      });
      return Buffer.concat(copies);
    });
    const twice = analyzeChunks(ORIGINAL, [bytes]);
    // Every frame is there twice: packets count both copies, frame numbers count the copies before them.
    const rest = (list: typeof plain.connections) => list.map(({ packets, firstFrame, ...others }) => others);
    expect(rest(twice.connections)).toEqual(rest(plain.connections));
    expect(twice.connections.map((c) => [c.packets, c.firstFrame])).toEqual(plain.connections.map((c) => [2 * c.packets, 2 * c.firstFrame - 1]));
    expect(twice.diagnosis.servers).toEqual(plain.diagnosis.servers);
  });

  it('a truncated tunnel header is an anomaly of its frame, and the frames around it are still read', () => {
    // The fifth frame's GRE header cut off: only that frame is lost (a segment missing from its connection).
    let index = 0;
    const bytes = rewritePcapRecords(join(CAPTURES, ORIGINAL), (record) => {
      const frame = underIpv4(47, gre(record.subarray(16 + 14), { protocol: 0x0800 }));
      const kept = index++ === 4 ? frame.subarray(0, 14 + 20 + 2) : frame;
      const header = Buffer.from(record.subarray(0, 16));
      header.writeUInt32LE(kept.length, 8);
      header.writeUInt32LE(frame.length, 12);
      return Buffer.from(concat(header, kept));
    });
    const inside = analyzeChunks(ORIGINAL, [bytes]);
    expect(inside.connections.length).toBe(37);
    const anomalies = inside.document.captures[0]!.anomalies;
    expect(anomalies.map((a) => [a.code, a.frame])).toEqual([['snaplen-headers', 5]]);
    expect(inside.document.captures[0]!.encapsulated!.gre).toBe(packets - 1);
  });
});
