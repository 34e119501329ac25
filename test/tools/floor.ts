// The floor for JavaScript: walk pcap record headers, find each TCP payload and check
// for a TLS handshake byte, nothing else. `node dist/test/tools/floor.js file.pcap`
import { openSync, readSync, closeSync } from 'node:fs';

const CHUNK = 1 << 20;

export function floorWalk(path: string): { packets: number; tlsHandshakeStarts: number; bytes: number } {
  const fd = openSync(path, 'r');
  const buffer = Buffer.allocUnsafe(CHUNK + 65536 * 4);
  let filled = 0;
  let packets = 0;
  let tls = 0;
  let bytes = 0;
  let headerSkipped = false;
  try {
    for (;;) {
      const n = readSync(fd, buffer, filled, CHUNK, null);
      bytes += n;
      filled += n;
      let pos = 0;
      if (!headerSkipped && filled >= 24) { pos = 24; headerSkipped = true; }
      while (filled - pos >= 16) {
        const caplen = buffer.readUInt32LE(pos + 8);
        if (filled - pos - 16 < caplen) break;
        const frame = pos + 16;
        packets++;
        // Ethernet → IPv4 → TCP payload's first byte.
        if (buffer[frame + 12] === 0x08 && buffer[frame + 13] === 0x00 && buffer[frame + 23] === 6) {
          const ipHeader = (buffer[frame + 14]! & 0x0f) * 4;
          const tcp = frame + 14 + ipHeader;
          const payload = tcp + (buffer[tcp + 12]! >> 4) * 4;
          if (payload < frame + caplen && buffer[payload] === 0x16) tls++;
        }
        pos = frame + caplen;
      }
      buffer.copy(buffer, 0, pos, filled);
      filled -= pos;
      if (n === 0) break;
    }
  } finally {
    closeSync(fd);
  }
  return { packets, tlsHandshakeStarts: tls, bytes };
}

if (process.argv[1]?.endsWith('floor.js')) {
  console.log(JSON.stringify(floorWalk(process.argv[2]!)));
}
