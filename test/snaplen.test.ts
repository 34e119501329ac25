// Captures taken with a snap length (tcpdump -s 96, -s 128, ...): every packet's headers and its
// payload's first bytes are kept, the rest is not. The RST or FIN that aborts a handshake is whole,
// and so is the record header at the start of each segment, so an abort and a completed handshake
// can still be told apart; what a hello offered cannot. Each recorded capture is cut here as
// editcap -s would, and its analysis checked against the analysis of the whole capture: the cut
// one may know less, never something else.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../parser/report/types.js';
import { withSnaplen } from './support/pcap-edit.js';
import { analyzeChunks } from './support/pipeline.js';

const CAPTURES = join(__dirname, '..', 'fixtures', 'captures');
// pcap files only: the cut is made on pcap records (the one pcapng fixture is left out).
const FILES = readdirSync(CAPTURES).filter((name) => name.endsWith('.pcap')).sort();

function connectionsOf(name: string, bytes: Uint8Array): ConnectionRecord[] {
  return analyzeChunks(name, [bytes]).connections;
}

const keyOf = (c: ConnectionRecord) => `${c.client.ip}:${c.client.port}>${c.server.ip}:${c.server.port}@${c.startTime}`;

interface Tally { connections: number; completeWhole: number; completeCut: number; abortedWhole: number; abortedCut: number; contradictions: string[] }

function compareAt(snaplen: number): Tally {
  const tally: Tally = { connections: 0, completeWhole: 0, completeCut: 0, abortedWhole: 0, abortedCut: 0, contradictions: [] };
  for (const name of FILES) {
    const whole = new Map(connectionsOf(name, readFileSync(join(CAPTURES, name))).map((c) => [keyOf(c), c]));
    for (const cut of connectionsOf(name, withSnaplen(join(CAPTURES, name), snaplen))) {
      const w = whole.get(keyOf(cut));
      if (w === undefined) {
        tally.contradictions.push(`${name}: connection ${keyOf(cut)} exists only in the cut capture`);
        continue;
      }
      tally.connections++;
      if (w.handshake === 'complete') tally.completeWhole++;
      if (w.handshake === 'aborted') tally.abortedWhole++;
      const where = `${name} #${w.id} at -s ${snaplen}`;
      if (cut.handshake === 'complete') {
        tally.completeCut++;
        if (w.handshake !== 'complete') tally.contradictions.push(`${where}: complete when cut, ${w.handshake} whole`);
      }
      if (cut.handshake === 'aborted') {
        tally.abortedCut++;
        if (w.abort === null || cut.abort === null || w.abort.stage !== cut.abort.stage || w.abort.by !== cut.abort.by || w.abort.how !== cut.abort.how) {
          tally.contradictions.push(`${where}: aborted ${JSON.stringify(cut.abort)} when cut, ${JSON.stringify(w.abort)} whole`);
        }
      }
      if (cut.resumption !== 'unknown' && cut.resumption !== w.resumption) tally.contradictions.push(`${where}: resumption ${cut.resumption} when cut, ${w.resumption} whole`);
      if (cut.resumedBy !== null && cut.resumedBy !== w.resumedBy) tally.contradictions.push(`${where}: resumed by ${cut.resumedBy} when cut, ${w.resumedBy} whole`);
    }
  }
  return tally;
}

describe('captures cut by a snap length', () => {
  // -s 96 on Ethernet + IPv4 + TCP with timestamps leaves 30 bytes of each segment's payload: a
  // record header, a handshake header and part of a hello's random. -s 200 leaves a ServerHello
  // readable and most ClientHellos not.
  for (const snaplen of [96, 128, 200]) {
    it(`-s ${snaplen}: never contradicts the whole capture, and still sees the aborts and most completed handshakes`, () => {
      const t = compareAt(snaplen);
      expect(t.contradictions).toEqual([]);
      expect(t.connections).toBeGreaterThan(600);
      // Measured: 680 of 682 at -s 96, 686 of 689 at -s 128, 688 of 689 at -s 200. A cut ServerHello
      // that keeps too little of its random to rule out a HelloRetryRequest (tunnel headers) claims
      // nothing until the client's next record shows it real (before that, 629 and 630: VXLAN's
      // TLS 1.2 handshakes at -s 128). Before the snap-length reading, none at -s 96 and 128.
      expect(t.completeWhole - t.completeCut).toBeLessThanOrEqual(3);
      // tls12-rst-after-server-hello (an RST), tls12-alert-purge and haproxy-purge-fifo-cache (fatal
      // alerts, then FIN) and the clients refusing a certificate (OpenSSL's alert in clear, Chromium's encrypted): the client
      // gave up after the ServerHello. Before, they were incomplete with no abort. The server's
      // refusals after the client's Finished (tls13-server-rejects-client-certificate and
      // haproxy-verify-required: three each) rest on Finished messages the cut hides: incomplete
      // when cut, never "complete".
      expect(t.abortedWhole).toBe(18);
      expect(t.abortedCut).toBe(12);
    });
  }

  it('the RST after the ServerHello is the client\'s, at its stage, with the offer unknown', () => {
    const [full, aborted, resumed] = connectionsOf('rst.pcap', withSnaplen(join(CAPTURES, 'tls12-rst-after-server-hello.pcap'), 96));
    expect(aborted).toMatchObject({ handshake: 'aborted', resumption: 'unknown', history: 'Cs', abort: { by: 'client', how: 'rst', stage: 'after-server-hello', frame: 24 } });
    // The full handshake: its client's key exchange and the server's ChangeCipherSpec started segments.
    expect(full).toMatchObject({ handshake: 'complete', established: true, resumption: 'unknown', resumed: false, history: 'CsGi' });
    // The abbreviated one: the client's ChangeCipherSpec and Finished answered a ServerHello with no certificate.
    expect(resumed).toMatchObject({ handshake: 'complete', resumption: 'unknown', history: 'CsI' });
    for (const c of [full, aborted, resumed]) expect(c!.anomalies.map((a) => a.code)).toContain('snaplen');
  });

  it('a cut that leaves no handshake header (-s 72: a record header and one byte) claims nothing', () => {
    const cut = connectionsOf('rst.pcap', withSnaplen(join(CAPTURES, 'tls12-rst-after-server-hello.pcap'), 72));
    expect(cut).toHaveLength(3);
    for (const c of cut) {
      expect(c.handshake).not.toBe('complete');
      expect(c.abort).toBeNull();
    }
  });
});
