import { describe, expect, it } from 'vitest';
import { RecordSpill } from '../app/node/record-spill.js';
import { analyzeChunks } from './support/pipeline.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Beyond the in-memory limit, records go to disk and slim copies stay: the slim copy must
// carry everything the diagnosis and the report read, and the replay must give back the
// full records in order.

const capture = fileURLToPath(new URL('../fixtures/captures/tls12-rst-after-server-hello.pcap', import.meta.url));

describe('RecordSpill', () => {
  it('keeps the first records whole, spills the rest, and replays all of them in order', async () => {
    const records = analyzeChunks('rst.pcap', [readFileSync(capture)]).connections;
    expect(records.length).toBe(3);
    const spill = new RecordSpill(1);
    try {
      const kept = records.map((r) => spill.add(structuredClone(r)));
      expect(kept[0]).toEqual(records[0]);
      for (const [i, slim] of kept.entries()) {
        const full = records[i]!;
        for (const key of ['id', 'client', 'server', 'startTime', 'clientHelloTime', 'resumption', 'resumedBy', 'handshake', 'abort', 'history', 'offer', 'serverSessionId', 'clientFingerprint', 'wiresharkFilter', 'certificateSeen', 'alerts'] as const) {
          expect(slim[key], key).toEqual(full[key]);
        }
      }
      // The slim copy serialises with its computed Wireshark filter.
      expect(JSON.parse(JSON.stringify(kept[2])).wiresharkFilter).toBe(records[2]!.wiresharkFilter);
      const replayed = [];
      for await (const r of spill.replay()) replayed.push(r);
      expect(replayed).toEqual(records);
    } finally {
      spill.dispose();
    }
  });
});
