// Rewrites a little-endian microsecond pcap's records one by one (pcap-savefile(5)): what a capture
// with a smaller snap length, or one that dropped packets, would have held.
import { readFileSync } from 'node:fs';

/** The file with each record replaced by what `edit` returns (null: the record left out). */
export function rewritePcapRecords(path: string, edit: (record: Buffer, index: number) => Buffer | null): Buffer {
  return rewritePcapBytes(readFileSync(path), edit);
}

/** The same for a capture's bytes (a simulated farm in memory). */
export function rewritePcapBytes(bytes: Buffer, edit: (record: Buffer, index: number) => Buffer | null): Buffer {
  const out: Buffer[] = [bytes.subarray(0, 24)];
  for (let at = 24, index = 0; at + 16 <= bytes.length; index++) {
    const length = bytes.readUInt32LE(at + 8);
    const record = edit(Buffer.from(bytes.subarray(at, at + 16 + length)), index);
    if (record) out.push(record);
    at += 16 + length;
  }
  return Buffer.concat(out);
}

/**
 * Every record's time moved by what `shift` returns for it (seconds, µs precision; index 0-based):
 * a capture whose clock was set back or forward part way, or jittered.
 */
export function withTimesShifted(bytes: Buffer, shift: (index: number) => number): Buffer {
  return rewritePcapBytes(bytes, (record, index) => {
    const delta = shift(index);
    if (delta === 0) return record;
    const micros = record.readUInt32LE(0) * 1e6 + record.readUInt32LE(4) + Math.round(delta * 1e6);
    record.writeUInt32LE(Math.floor(micros / 1e6), 0);
    record.writeUInt32LE(micros % 1e6, 4);
    return record;
  });
}

/**
 * The capture as a host whose clock runs `rate` fast (seconds per second: 1e-4 is 100 ppm) and reads
 * `ahead` seconds ahead at the time `at` (a microsecond pcap) would have stamped it.
 */
export function withClockDrift(bytes: Buffer, ahead: number, rate: number, at: number): Buffer {
  return rewritePcapBytes(bytes, (record) => {
    const time = record.readUInt32LE(0) + record.readUInt32LE(4) / 1e6;
    const micros = Math.round((time + ahead + rate * (time - at)) * 1e6);
    record.writeUInt32LE(Math.floor(micros / 1e6), 0);
    record.writeUInt32LE(micros % 1e6, 4);
    return record;
  });
}

/** As `tcpdump -s snaplen` would have captured it: each record cut to `snaplen` bytes, its original length kept. */
export function withSnaplen(path: string, snaplen: number): Buffer {
  return rewritePcapRecords(path, (record) => {
    if (record.readUInt32LE(8) <= snaplen) return record;
    const cut = Buffer.from(record.subarray(0, 16 + snaplen));
    cut.writeUInt32LE(snaplen, 8);
    return cut;
  });
}

/**
 * As if the capture had started just after the n-th ClientHello (1-based; Ethernet + IPv4 captures):
 * every packet of that connection up to and including its ClientHello is left out, the rest kept.
 */
export function withoutStartOfConnection(path: string, n: number): Buffer {
  const tcpOf = (record: Buffer) => {
    const ip = 16 + 14;
    const tcp = ip + (record[ip]! & 15) * 4;
    const payload = tcp + (record[tcp + 12]! >> 4) * 4;
    return { source: record.readUInt16BE(tcp), destination: record.readUInt16BE(tcp + 2), hello: record.length > payload + 5 && record[payload] === 0x16 && record[payload + 5] === 1 };
  };
  const records: Buffer[] = [];
  rewritePcapRecords(path, (record) => { records.push(record); return null; });
  let hellos = 0;
  let port = -1;
  let helloAt = -1;
  records.forEach((record, i) => {
    const t = tcpOf(record);
    if (t.hello && ++hellos === n) { port = t.source; helloAt = i; }
  });
  return rewritePcapRecords(path, (record, i) => {
    const t = tcpOf(record);
    return i <= helloAt && (t.source === port || t.destination === port) ? null : record;
  });
}
