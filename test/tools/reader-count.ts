// Reading alone with resumescope's own capture readers (parser/capture/): count packets, as
// pcap-parser-count.ts does with the npm package pcap-parser, so that the bench sets the two side
// by side on the same file. `node dist/test/tools/reader-count.js file.pcap[ng]`
import { openSync, readSync, closeSync } from 'node:fs';
import { isPcapMagic, PcapReader } from '../../parser/capture/pcap-reader.js';
import { PcapngReader } from '../../parser/capture/pcapng-reader.js';
import type { CaptureReader, Frame } from '../../parser/capture/frame.js';

export function countWithOwnReader(path: string): { packets: number; bytes: number; first: number | null; anomalies: number } {
  let packets = 0;
  let bytes = 0;
  let first: number | null = null;
  let anomalies = 0;
  const onFrame = (frame: Frame) => {
    if (first === null) first = frame.time;
    packets++;
    bytes += frame.end - frame.start;
  };
  const fd = openSync(path, 'r');
  try {
    const chunk = new Uint8Array(1 << 20);
    let reader: CaptureReader | null = null;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const bytesRead = chunk.subarray(0, n);
      reader ??= isPcapMagic(bytesRead) ? new PcapReader(onFrame, () => anomalies++, path) : new PcapngReader(onFrame, () => anomalies++, path);
      reader.push(bytesRead);
    }
    reader?.finish();
  } finally {
    closeSync(fd);
  }
  return { packets, bytes, first, anomalies };
}

if (process.argv[1]?.endsWith('reader-count.js')) {
  console.log(JSON.stringify(countWithOwnReader(process.argv[2]!)));
}
