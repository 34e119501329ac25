// Real captures with every IP packet cut into fragments (as a router or a tunnel's sender does when a
// packet exceeds the path's MTU), in shuffled order: reassembled, the analysis is that of the capture
// itself, and tshark, which reassembles too, agrees field by field.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../parser/report/types.js';
import { crosscheckFile } from './tools/crosscheck.js';
import { rewritePcapRecords } from './support/pcap-edit.js';
import { analyzeChunks } from './support/pipeline.js';

const CAPTURES = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'resumescope-fragments-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An Ethernet frame's IP packet cut into fragments of at most `size` data bytes (a multiple of 8). */
function fragmentFrame(frame: Buffer, size: number, id: number): Buffer[] {
  const ethernet = frame.subarray(0, 14);
  const etherType = frame.readUInt16BE(12);
  const ip = frame.subarray(14);
  if (etherType === 0x0800) {
    const headerLength = (ip[0]! & 0x0f) * 4;
    const data = ip.subarray(headerLength, ip.readUInt16BE(2));
    if (data.length <= size) return [frame];
    const out: Buffer[] = [];
    for (let at = 0; at < data.length; at += size) {
      const header = Buffer.from(ip.subarray(0, headerLength));
      const piece = data.subarray(at, at + size);
      header.writeUInt16BE(headerLength + piece.length, 2);
      header.writeUInt16BE(id, 4);
      header.writeUInt16BE((at + size < data.length ? 0x2000 : 0) | (at / 8), 6);
      out.push(Buffer.concat([ethernet, header, piece]));
    }
    return out;
  }
  // IPv6 (RFC 8200 §4.5): a fragment header after the 40-byte header (these captures have no extension headers).
  const data = ip.subarray(40, 40 + ip.readUInt16BE(4));
  if (data.length <= size) return [frame];
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) {
    const header = Buffer.from(ip.subarray(0, 40));
    const piece = data.subarray(at, at + size);
    header.writeUInt16BE(8 + piece.length, 4);
    header[6] = 44;
    const fragmentHeader = Buffer.alloc(8);
    fragmentHeader[0] = ip[6]!;
    fragmentHeader.writeUInt16BE(at | (at + size < data.length ? 1 : 0), 2);
    fragmentHeader.writeUInt32BE(id, 4);
    out.push(Buffer.concat([ethernet, header, fragmentHeader, piece]));
  }
  return out;
}

/** The capture with each packet fragmented, its last fragment first; `drop` leaves fragments out. */
function fragmented(name: string, size: number, drop?: (frame: number, piece: number) => boolean): Buffer {
  let id = 1;
  return rewritePcapRecords(join(CAPTURES, name), (record, index) => {
    const pieces = fragmentFrame(Buffer.from(record.subarray(16)), size, id++).reverse();
    const records = pieces.flatMap((piece, i) => {
      if (drop?.(index, i)) return [];
      const header = Buffer.from(record.subarray(0, 16));
      header.writeUInt32LE(piece.length, 8);
      header.writeUInt32LE(piece.length, 12);
      return [header, piece];
    });
    return Buffer.concat(records);
  });
}

/** The facts of a record that do not depend on how many frames carried it. */
const facts = (list: ConnectionRecord[]) => list.map(({ packets, firstFrame, ...rest }) => rest);

describe('IP fragments reassembled', () => {
  for (const [name, size] of [['nginx-cache-capacity.pcap', 512], ['tls12-ipv6.pcap', 256]] as const) {
    it(`${name}, every packet in fragments of ${size} bytes, last first: the capture's own analysis, and tshark agrees`, async () => {
      const original = analyzeChunks(name, [readFileSync(join(CAPTURES, name))]);
      const bytes = fragmented(name, size);
      const again = analyzeChunks(name, [bytes]);
      expect(again.connections.length).toBe(original.connections.length);
      expect(facts(again.connections)).toEqual(facts(original.connections));
      expect(again.diagnosis.servers).toEqual(original.diagnosis.servers);
      expect(again.document.captures[0]!.anomalies).toEqual([]);
      expect(again.document.captures[0]!.packets).toBeGreaterThan(original.document.captures[0]!.packets);
      const file = join(work, `fragmented-${name}`);
      writeFileSync(file, bytes);
      const check = await crosscheckFile(file);
      expect(check.disagreements).toEqual([]);
      expect(check.compared).toBe(original.connections.length);
    });
  }

  it('a fragment that never came: that packet is lost (a gap in its connection) and the capture says which frame', () => {
    // Drop one fragment of the first ClientHello's packet (frame 4 of the capture: SYN, SYN-ACK, ACK, ClientHello).
    const bytes = fragmented('nginx-cache-capacity.pcap', 128, (frame, piece) => frame === 3 && piece === 1);
    const again = analyzeChunks('nginx-cache-capacity.pcap', [bytes]);
    const anomalies = again.document.captures[0]!.anomalies;
    expect(anomalies.map((a) => a.code)).toEqual(['ip-fragment']);
    expect(anomalies[0]!.message).toMatch(/^IP fragments never made a whole datagram \(\d+ of \d+ bytes; the capture ended\): its packet is lost$/);
    const first = again.connections[0]!;
    expect(first.clientHelloTime).toBeNull();
    expect(first.anomalies.length).toBeGreaterThan(0);
    expect(again.connections.slice(1).every((c) => c.clientHelloTime !== null)).toBe(true);
  });
});

describe('a real fragmented tunnel', () => {
  it('vxlan-fragmented.pcap: Linux cut the VXLAN packets of the certificate flight into IP fragments; every handshake is whole', () => {
    const run = analyzeChunks('vxlan-fragmented.pcap', [readFileSync(join(CAPTURES, 'vxlan-fragmented.pcap'))]);
    expect(run.document.captures[0]!.anomalies).toEqual([]);
    expect(run.connections.map((c) => [c.resumption, c.handshake, c.certificateSeen])).toEqual([
      ['not-offered', 'complete', true], ['accepted', 'complete', false], ['accepted', 'complete', false],
    ]);
    expect(run.connections.every((c) => c.anomalies.length === 0)).toBe(true);
  });
});
