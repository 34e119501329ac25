// Real captures whose two directions were written apart (a capture per direction merged with clock
// skew, a two-port tap, a NIC queueing the directions apart: each direction in order, not across),
// and captures that lost a segment whose only trace is the other side's ACK (RFC 9293 §3.4).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../parser/report/types.js';
import { rewritePcapRecords } from './support/pcap-edit.js';
import { analyzeChunks } from './support/pipeline.js';

const CAPTURES = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));

function analyze(bytes: Buffer): ConnectionRecord[] {
  return analyzeChunks('edited.pcap', [bytes]).connections;
}

/** A record without what depends on where and when its packets were written (frames, times, ids). */
function outcome(record: ConnectionRecord): unknown {
  const { id: _id, startTime: _s, endTime: _e, clientHelloTime: _c, serverHelloTime: _h, firstFrame: _f, file: _file, session, abort, anomalies, ...rest } = record as ConnectionRecord & Record<string, unknown>;
  return {
    ...rest,
    session: session && { ...session, issuedBy: null, issuedAt: null, age: null, reuseGap: null },
    abort: abort && { by: abort.by, how: abort.how, stage: abort.stage },
    anomalies: anomalies.map((a) => a.code),
  };
}

/** Ethernet + IPv4 records (pcap, little-endian): the TCP source port of a record. */
const sourcePort = (record: Buffer) => record.readUInt16BE(16 + 14 + (record[16 + 14]! & 15) * 4);
const timeOf = (record: Buffer) => record.readUInt32LE(0) * 1e6 + record.readUInt32LE(4);
function setTime(record: Buffer, micros: number): Buffer {
  record.writeUInt32LE(Math.floor(micros / 1e6), 0);
  record.writeUInt32LE(micros % 1e6, 4);
  return record;
}

/** Frames a and b (1-based) swapped, the timestamps left in place (so still in order), as a two-port tap may write them. */
function swapFrames(name: string, a: number, b: number): Buffer {
  const records: Buffer[] = [];
  rewritePcapRecords(join(CAPTURES, name), (record) => { records.push(record); return null; });
  const [ra, rb] = [records[a - 1]!, records[b - 1]!];
  const [ta, tb] = [timeOf(ra), timeOf(rb)];
  records[a - 1] = setTime(rb, ta);
  records[b - 1] = setTime(ra, tb);
  let index = 0;
  return rewritePcapRecords(join(CAPTURES, name), () => records[index++]!);
}

/**
 * One capture per direction merged by time (mergecap), the client side's clock `skewMicros` ahead:
 * the client's packets are written later than the server's answers to them.
 */
function mergedWithSkew(name: string, serverPort: number, skewMicros: number): Buffer {
  const records: Buffer[] = [];
  rewritePcapRecords(join(CAPTURES, name), (record) => {
    records.push(sourcePort(record) === serverPort ? record : setTime(record, timeOf(record) + skewMicros));
    return null;
  });
  const merged = records.map((record, i) => ({ record, i })).sort((x, y) => timeOf(x.record) - timeOf(y.record) || x.i - y.i);
  let index = 0;
  return rewritePcapRecords(join(CAPTURES, name), () => merged[index++]!.record);
}

const dropFrames = (name: string, ...frames: number[]) => rewritePcapRecords(join(CAPTURES, name), (record, index) => (frames.includes(index + 1) ? null : record));

describe('the two directions written apart', () => {
  it('the server\'s CCS/Finished before the client\'s CKE it acknowledges (frames 8 and 9 swapped): the same records as in order', () => {
    const inOrder = analyze(dropFrames('tls12-session-id-resume.pcap'));
    const swapped = analyze(swapFrames('tls12-session-id-resume.pcap', 8, 9));
    // Was: connection 1 "incomplete", "93 bytes missing from the client stream", parsing stopped.
    expect(swapped[0]).toMatchObject({ handshake: 'complete', anomalies: [] });
    expect(swapped.map(outcome)).toEqual(inOrder.map(outcome));
  });

  it('a capture per direction merged with the client\'s clock 1 ms ahead (SYN/ACKs before SYNs, the server\'s close before the client\'s data): the same records', () => {
    const inOrder = analyze(dropFrames('nginx-curl-resume.pcap'));
    expect(inOrder.map((c) => c.handshake)).toEqual(['complete', 'complete', 'complete']);
    for (const skew of [500, 1000, 10_000]) {
      const merged = analyze(mergedWithSkew('nginx-curl-resume.pcap', 44312, skew));
      // Was at 1 ms: 5 connections, none complete, 3 without their ClientHello.
      expect(merged.map(outcome)).toEqual(inOrder.map(outcome));
    }
  });

  it('the server\'s clock behind instead (the client\'s ACKs and data before the SYN/ACK they answer): the same records', () => {
    const inOrder = analyze(dropFrames('nginx-curl-resume.pcap'));
    for (const skew of [-20_000, -50_000, -300_000]) {
      // Was at 20 ms: a resumed handshake "aborted by the client after the ServerHello".
      expect(analyze(mergedWithSkew('nginx-curl-resume.pcap', 44312, skew)).map(outcome)).toEqual(inOrder.map(outcome));
    }
  });

  it('one direction captured: no "bytes missing" from the side never seen, only that it is one-way', () => {
    for (const [name, port] of [['nginx-curl-resume.pcap', 44312], ['tls12-session-id-resume.pcap', 44302]] as const) {
      // The server's packets only: each connection one-way, nothing said lost from the client's stream.
      const serverOnly = analyze(rewritePcapRecords(join(CAPTURES, name), (record) => (sourcePort(record) === port ? record : null)));
      for (const c of serverOnly) expect(c.anomalies.map((a) => a.code).filter((code) => code === 'tcp-gap')).toEqual([]);
      expect(serverOnly.some((c) => c.anomalies.some((a) => a.code === 'one-way'))).toBe(true);
    }
  });

  it('the same for every connection of a capture of several resumptions and an abort', () => {
    for (const [name, port] of [['tls12-session-id-resume.pcap', 44302], ['tls12-rst-after-server-hello.pcap', 44306]] as const) {
      const inOrder = analyze(dropFrames(name));
      expect(analyze(mergedWithSkew(name, port, 2000)).map(outcome)).toEqual(inOrder.map(outcome));
    }
  });
});

describe('bytes the capture lost, shown by an ACK only', () => {
  it('the client\'s CKE/CCS/Finished lost (frame 8): the server\'s ACK of it still makes a gap, the handshake incomplete', () => {
    const [first] = analyze(dropFrames('tls12-session-id-resume.pcap', 8));
    expect(first).toMatchObject({ handshake: 'incomplete', abort: null });
    expect(first!.anomalies.map((a) => a.message)).toContain('93 bytes missing from the client stream');
  });

  it('SYN/ACK, server ACK and ServerHello lost: the client\'s ACKs place the server stream\'s start, 141 bytes missing', () => {
    const second = analyze(dropFrames('tls12-session-id-resume.pcap', 19, 22, 23))[1]!;
    // Was: unanswered, aborted by the client after the ClientHello, no anomaly.
    expect(second).toMatchObject({ handshake: 'incomplete', abort: null });
    expect(second.anomalies.map((a) => a.message)).toEqual(['141 bytes missing from the server stream']);
  });

  it('ServerHello and the client\'s ACK lost: the client\'s RST acknowledges them, 141 bytes missing', () => {
    const second = analyze(dropFrames('tls12-rst-after-server-hello.pcap', 22, 23))[1]!;
    // Was: aborted by the client "after-client-hello", no anomaly.
    expect(second).toMatchObject({ handshake: 'incomplete', abort: null });
    expect(second.anomalies.map((a) => a.message)).toEqual(['141 bytes missing from the server stream']);
  });
});
