// Rewrites a little-endian microsecond pcap's records one by one (pcap-savefile(5)): what a capture
// with a smaller snap length, or one that dropped packets, would have held.
import { readFileSync } from 'node:fs';

/** The file with each record replaced by what `edit` returns (null: the record left out). */
export function rewritePcapRecords(path: string, edit: (record: Buffer, index: number) => Buffer | null): Buffer {
  const bytes = readFileSync(path);
  const out: Buffer[] = [bytes.subarray(0, 24)];
  for (let at = 24, index = 0; at + 16 <= bytes.length; index++) {
    const length = bytes.readUInt32LE(at + 8);
    const record = edit(Buffer.from(bytes.subarray(at, at + 16 + length)), index);
    if (record) out.push(record);
    at += 16 + length;
  }
  return Buffer.concat(out);
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
