import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crosscheckFile } from './tools/crosscheck.js';
import { analyzeFiles } from '../app/node/analyze-files.js';
import type { ConnectionRecord } from '../parser/report/types.js';
import { FIXTURE_FACTS } from './support/fixture-facts.js';

// Every recorded fixture, analysed by resumescope, agrees with tshark's view of the
// same file field by field; and with the outcomes its recording guarantees.

const CAPTURES = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));
const files = readdirSync(CAPTURES).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

async function analyze(file: string): Promise<ConnectionRecord[]> {
  const out: ConnectionRecord[] = [];
  await analyzeFiles([{ path: join(CAPTURES, file), size: 0 }], { onConnection: (c) => out.push(c) });
  return out.sort((a, b) => a.startTime - b.startTime);
}

describe('resumescope agrees with tshark on real captures', () => {
  it('has fixtures to compare', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });
  for (const file of files) {
    it(`${file}: every field tshark also reports`, async () => {
      const r = await crosscheckFile(join(CAPTURES, file));
      expect(r.disagreements).toEqual([]);
      expect(r.onlyOurs).toEqual([]);
      expect(r.onlyTshark).toEqual([]);
      expect(r.compared).toBeGreaterThan(0);
    });
  }
});

/**
 * Connections the recorders abort right after the ServerHello (the server had resumed them): by
 * a TCP RST (rst-client.mjs) or by a fatal alert, after which the server closes first (alert-client.mjs).
 */
const ABORTED: Record<string, { connections: number[]; abort: { by: 'client'; how: 'rst' | 'fin'; stage: 'after-server-hello' } }> = {
  'tls12-rst-after-server-hello.pcap': { connections: [1], abort: { by: 'client', how: 'rst', stage: 'after-server-hello' } },
  'tls12-alert-purge.pcap': { connections: [1, 4, 7, 10], abort: { by: 'client', how: 'fin', stage: 'after-server-hello' } },
};

describe('outcomes the recordings guarantee', () => {
  for (const [file, expected] of Object.entries(FIXTURE_FACTS)) {
    it(`${file}: ${expected.map((e) => (e.resumed ? `resumed by ${e.resumedBy}` : e.offered ? 'rejected' : 'full')).join(', ')}`, async () => {
      const records = await analyze(file);
      expect(records).toHaveLength(expected.length);
      expected.forEach((e, i) => {
        const c = records[i]!;
        expect(c.version).toBe(e.version);
        expect(c.resumption !== 'not-offered').toBe(e.offered);
        if (e.helloRetry !== undefined) expect(c.helloRetry).toBe(e.helloRetry);
        const aborted = ABORTED[file];
        if (aborted?.connections.includes(i)) {
          expect(c.resumption).toBe('accepted');
          expect(c.handshake).toBe('aborted');
          expect(c.abort).toMatchObject(aborted.abort);
          expect(c.resumed).toBe(false);
        } else {
          expect(c.handshake).toBe('complete');
          expect(c.established).toBe(true);
          expect(c.resumed).toBe(e.resumed);
          expect(c.resumedBy).toBe(e.resumed ? e.resumedBy : null);
        }
      });
    });
  }
});

describe('TCP Fast Open (RFC 7413): the ClientHello in the SYN is read', () => {
  it('nginx-curl-tcp-fast-open.pcap: each hello at its SYN, every session resumed as recorded', async () => {
    const connections = await analyze('nginx-curl-tcp-fast-open.pcap');
    expect(connections.map((c) => c.resumption)).toEqual(['not-offered', 'accepted', 'accepted', 'not-offered', 'accepted', 'accepted']);
    // The SYN is a connection's first packet: its payload was the ClientHello.
    for (const c of connections) expect(c.clientHelloTime).toBe(c.startTime);
    expect(connections.every((c) => c.anomalies.length === 0 && c.handshake === 'complete')).toBe(true);
  });
});
