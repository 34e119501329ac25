import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crosscheckFile } from './tools/crosscheck.js';
import { analyzeFiles } from '../app/node/analyze-files.js';
import type { ConnectionRecord } from '../parser/report/types.js';
import { FIXTURE_FACTS } from './support/fixture-facts.js';
import { analyzeChunks } from './support/pipeline.js';

// Every recorded fixture, analysed by resumescope, agrees with tshark's view of the
// same file field by field; and with the outcomes its recording guarantees.

const CAPTURES = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
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

  it('what resuming would have saved (fullHandshakeOnlyBytes): tshark\'s message lengths, the client\'s certificate included', async () => {
    const r = await crosscheckFile(join(CAPTURES, 'tls12-client-certificate.pcap'));
    expect(r.disagreements).toEqual([]);
    expect(r.bytesCompared).toBe(3);
    const [first, resumed, third] = await analyze('tls12-client-certificate.pcap');
    // Server: Certificate 830, ServerKeyExchange 296, CertificateRequest 84, ServerHelloDone 0; client:
    // Certificate 714, ClientKeyExchange 33, CertificateVerify 260; each with its 4-byte header.
    expect(first!.fullHandshakeOnlyBytes).toBe(834 + 300 + 88 + 4 + 718 + 37 + 264);
    expect(third!.fullHandshakeOnlyBytes).toBe(first!.fullHandshakeOnlyBytes);
    expect(resumed!.resumedBy).toBe('session-id');
    expect(resumed!.fullHandshakeOnlyBytes).toBe(0);
  });

  it('TLS 1.3 (decrypted with the recording\'s keys): what resuming saves is the server flight\'s records but its EncryptedExtensions and Finished', async () => {
    // s_server asking for a client certificate: connection 2 a full handshake, 3 its PSK resumption.
    const file = join(CAPTURES, 'tls13-server-rejects-client-certificate.pcap');
    const rows = execFileSync('tshark', ['-n', '-r', file, '-o', `tls.keylog_file:${file.replace(/\.pcap$/, '.keys')}`, '-Y', 'tls && tcp.srcport == 44370',
      '-T', 'fields', '-e', 'tcp.stream', '-e', 'tls.record.length', '-e', 'tls.handshake.type'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim().split('\n').map((line) => line.split('\t'));
    /** The server's first flight of a stream: each record's length and the handshake message it carries (one each here). */
    const flightOf = (stream: string) => {
      const [, lengths, types] = rows.find(([s]) => s === stream)!;
      const records = lengths!.split(',').map(Number);
      const messages = types!.split(',').map(Number);
      // Records: ServerHello, ChangeCipherSpec (no message), then one encrypted message each.
      return records.slice(2).map((length, i) => ({ length, type: messages[i + 1]! }));
    };
    const full = flightOf('2');
    const resumption = flightOf('3');
    // RFC 8446: EncryptedExtensions 8, CertificateRequest 13, Certificate 11, CertificateVerify 15, Finished 20.
    expect(full.map((r) => r.type)).toEqual([8, 13, 11, 15, 20]);
    expect(resumption.map((r) => r.type)).toEqual([8, 20]);
    const onlyFull = full.filter((r) => r.type === 13 || r.type === 11 || r.type === 15).reduce((sum, r) => sum + r.length, 0);
    const total = (records: { length: number }[]) => records.reduce((sum, r) => sum + r.length, 0);
    expect(onlyFull).toBe(total(full) - total(resumption));
    const connections = await analyze('tls13-server-rejects-client-certificate.pcap');
    expect(connections[2]!.resumption).toBe('not-offered');
    expect(connections[2]!.fullHandshakeOnlyBytes).toBe(onlyFull);
    expect(connections[3]!.resumedBy).toBe('psk');
  });

  let bytesCompared = 0;
  for (const file of files) {
    it(`${file}: every field tshark also reports`, async () => {
      const r = await crosscheckFile(join(CAPTURES, file));
      expect(r.disagreements).toEqual([]);
      expect(r.onlyOurs).toEqual([]);
      expect(r.onlyTshark).toEqual([]);
      expect(r.compared).toBeGreaterThan(0);
      bytesCompared += r.bytesCompared;
    });
  }

  it('fullHandshakeOnlyBytes was known, and compared, for most of the fixtures\' connections', () => {
    // 672 of the 686 connections compared when it was added (the rest aborted, or their bytes cut or lost); 691 of 709 now.
    expect(bytesCompared).toBeGreaterThan(600);
  });
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
        if (e.clientGaveUp) {
          // The client's fatal alert (in clear, or TLS 1.3's encrypted one) after the ServerHello.
          expect(c.handshake).toBe('aborted');
          expect(c.abort).toMatchObject({ by: 'client', stage: 'after-server-hello' });
          expect(c.alerts[0]).toMatchObject({ by: 'client', level: 2, description: e.clientGaveUp === 'clear' ? expect.any(Number) : null });
          expect(c.resumed).toBe(false);
        }
        if (e.serverRefused) {
          // The server's fatal alert after the client's Finished (TLS 1.3: encrypted, known by its
          // length and its haste; TLS 1.2: in clear), then its close.
          expect(c.handshake).toBe('aborted');
          expect(c.established).toBe(false);
          expect(c.abort).toMatchObject({ by: 'server', stage: 'after-client-finished' });
          expect(c.alerts).toEqual([expect.objectContaining({ by: 'server', level: 2, description: e.serverRefused === 'clear' ? expect.any(Number) : null })]);
          expect(c.resumed).toBe(false);
        }
        if (aborted?.connections.includes(i)) {
          expect(c.resumption).toBe('accepted');
          expect(c.handshake).toBe('aborted');
          expect(c.abort).toMatchObject(aborted.abort);
          expect(c.resumed).toBe(false);
        } else if (!e.clientGaveUp && !e.serverRefused) {
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

describe('PROXY protocol (a load balancer passing TCP on): clients known by the header, as tshark reads it', () => {
  // Version 2 (binary) with TLS 1.3, version 1 (a text line) with TLS 1.2.
  for (const name of ['haproxy-proxy-protocol.pcap', 'haproxy-proxy-protocol-v1.pcap']) {
    it(`${name}: each connection\'s client is its PROXY header\'s; each client resumes its own session`, async () => {
      const file = join(CAPTURES, name);
      const connections = await analyze(name);
      const { execFileSync } = await import('node:child_process');
      const rows = execFileSync('tshark', ['-n', '-r', file, '-Y', 'proxy', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'proxy.src.ipv4', '-e', 'proxy.srcport'], { encoding: 'utf8' })
        .trim().split('\n').map((line) => line.split('\t'));
      expect(rows.length).toBe(6);
      const byBalancerPort = new Map(rows.map(([port, ip, sourcePort]) => [Number(port), { ip, port: Number(sourcePort) }]));
      for (const c of connections) {
        expect(c.client.ip).toBe('127.0.0.1'); // HAProxy's end of every connection
        expect(c.proxiedClient).toEqual(byBalancerPort.get(c.client.port));
      }
      expect(connections.map((c) => c.proxiedClient!.ip)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3']);

      // The diagnosis tells the two clients apart: each resumption is of its own client's session
      // (by the balancer's address alone, each TLS 1.3 identity was taken for the latest session of either).
      const run = analyzeChunks(name, [readFileSync(file)]);
      const ids = run.connections.map((c) => c.id);
      const issuedBy = run.connections.map((c) => (c.session as { issuedBy: number | null } | null)?.issuedBy ?? null);
      expect(issuedBy.slice(2)).toEqual([ids[0], ids[1], ids[0], ids[1]]);
      expect(run.diagnosis.clients.clients).toBe(2);
      // Each client's gaps are its own: half a second between its connections, not the quarter between the two clients'.
      expect(run.diagnosis.servers[0]!.cachePolicy.idleTimeout.low).toBeGreaterThan(0.4);
    });
  }

  it('haproxy-proxy-protocol-checks.pcap: the balancer\'s health checks (LOCAL headers) are its own connections, as tshark reads the command', async () => {
    const name = 'haproxy-proxy-protocol-checks.pcap';
    const file = join(CAPTURES, name);
    const connections = await analyze(name);
    const { execFileSync } = await import('node:child_process');
    const rows = execFileSync('tshark', ['-n', '-r', file, '-Y', 'proxy', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'proxy.v2.cmd', '-e', 'proxy.src.ipv4', '-e', 'proxy.srcport'], { encoding: 'utf8' })
      .trim().split('\n').map((line) => line.split('\t'));
    expect(rows).toHaveLength(connections.length);
    const byBalancerPort = new Map(rows.map(([port, command, ip, sourcePort]) => [Number(port), { command: Number(command), ip, port: Number(sourcePort) }]));
    let local = 0;
    for (const c of connections) {
      const header = byBalancerPort.get(c.client.port)!;
      if (header.command === 0) {
        local++;
        expect(c.proxyHeader).toBe('local');
        expect(c.proxiedClient).toBeNull();
        expect(c.sni).toBeNull(); // HAProxy's checks send no SNI
      } else {
        expect(c.proxyHeader).toBe('client');
        expect(c.proxiedClient).toEqual({ ip: header.ip, port: header.port });
      }
    }
    expect(local).toBe(4);
    // The CLI names them; the CSV's last column says which.
    const out = execFileSync(process.execPath, [join(ROOT, 'bin', 'resumescope.js'), 'analyze', file, '--csv', '-'], { encoding: 'utf8' });
    const lines = out.trim().split('\n');
    const column = lines[0]!.split(',').indexOf('proxyHeader');
    expect(column).toBeGreaterThan(0);
    expect(lines.slice(1).map((l) => l.split(',')[column])).toEqual(connections.map((c) => c.proxyHeader));
  });
});
