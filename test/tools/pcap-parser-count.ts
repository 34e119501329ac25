// Reading alone with the npm package pcap-parser (the requested dependency): count packets.
// `node dist/test/tools/pcap-parser-count.js file.pcap`
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as { parse(path: string): NodeJS.EventEmitter };

export function countWithPcapParser(path: string): Promise<{ packets: number; bytes: number; first: number | null }> {
  return new Promise((resolve, reject) => {
    let packets = 0;
    let bytes = 0;
    let first: number | null = null;
    const parser = pcapParser.parse(path);
    parser.on('packet', (p: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number } }) => {
      if (first === null) first = p.header.timestampSeconds + p.header.timestampMicroseconds / 1e6;
      packets++;
      bytes += p.header.capturedLength;
    });
    parser.on('end', () => resolve({ packets, bytes, first }));
    parser.on('error', reject);
  });
}

if (process.argv[1]?.endsWith('pcap-parser-count.js')) {
  countWithPcapParser(process.argv[2]!).then((r) => console.log(JSON.stringify(r)));
}
