/**
 * Invariants of the farm simulator (fixtures/simulator): the capture is valid pcap with consistent
 * Ethernet/IPv4/TCP framing and contiguous sequence numbers, the ground truth agrees with the wire and
 * with the configured cache policy, output is deterministic, and (when installed) tshark reads it cleanly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, presetConfig, simulateFarm, type GroundTruth, type PresetName, type TruthConnection } from '../fixtures/simulator/farm.js';
import { ByteBuilder, writeClientHello, writeNewSessionTicket } from '../fixtures/simulator/tls-bytes.js';

// 'bench' and 'sessions' are sized for the benchmark (gigabytes at scale 1): tested small below.
const SMALL: PresetName[] = PRESET_NAMES.filter((p) => p !== 'bench' && p !== 'sessions');

interface Run {
  bytes: Uint8Array;
  truth: GroundTruth;
  ms: number;
}

const cache = new Map<string, Run>();
function run(name: PresetName, scale = 1, seed = 1): Run {
  const key = `${name}/${scale}/${seed}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const chunks: Uint8Array[] = [];
  const t0 = performance.now();
  const truth = simulateFarm(presetConfig(name, scale, seed), (c) => chunks.push(c));
  const ms = performance.now() - t0;
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  const r = { bytes, truth, ms };
  cache.set(key, r);
  return r;
}

// ---- a deliberately independent, minimal pcap/IPv4/TCP reader ----

interface Seg {
  frame: number; // 1-based
  ts: number; // µs
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
}

const FIN = 1,
  SYN = 2,
  RST = 4,
  ACK = 16;

function ip(b: Uint8Array, p: number): string {
  return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
}

/** Cheap assertions for the per-frame hot loops (expect() per field is slow). */
function ok(cond: boolean, what: string): void {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}
function eq(actual: unknown, expected: unknown, what = ''): void {
  if (actual !== expected) throw new Error(`expected ${String(expected)}, got ${String(actual)} ${what}`);
}

function readPcap(bytes: Uint8Array): Seg[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  ok(bytes.length >= 24, 'bytes.length >= 24');
  eq(dv.getUint32(0, true), 0xa1b2c3d4);
  eq(dv.getUint16(4, true), 2);
  eq(dv.getUint16(6, true), 4);
  ok(dv.getUint32(16, true) >= 65535, 'dv.getUint32(16, true) >= 65535'); // snaplen
  eq(dv.getUint32(20, true), 1); // LINKTYPE_ETHERNET
  const segs: Seg[] = [];
  let p = 24;
  let lastTs = -1;
  while (p < bytes.length) {
    ok(p + 16 <= bytes.length, 'p + 16 <= bytes.length');
    const ts = dv.getUint32(p, true) * 1e6 + dv.getUint32(p + 4, true);
    ok(dv.getUint32(p + 4, true) < 1e6, 'dv.getUint32(p + 4, true) < 1e6');
    const incl = dv.getUint32(p + 8, true);
    const orig = dv.getUint32(p + 12, true);
    eq(incl, orig);
    ok(p + 16 + incl <= bytes.length, 'p + 16 + incl <= bytes.length');
    ok(ts >= lastTs, 'ts >= lastTs');
    lastTs = ts;
    const f = p + 16;
    eq(dv.getUint16(f + 12), 0x0800);
    const i = f + 14;
    eq(bytes[i], 0x45);
    const ipLen = dv.getUint16(i + 2);
    eq(14 + ipLen, incl); // recorded length matches the bytes
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += dv.getUint16(i + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    eq(sum, 0xffff); // IPv4 header checksum
    eq(bytes[i + 9], 6);
    const t = i + 20;
    const thl = (bytes[t + 12]! >> 4) * 4;
    ok(thl >= 20, 'thl >= 20');
    segs.push({
      frame: segs.length + 1,
      ts,
      src: ip(bytes, i + 12),
      dst: ip(bytes, i + 16),
      sport: dv.getUint16(t),
      dport: dv.getUint16(t + 2),
      seq: dv.getUint32(t + 4),
      ack: dv.getUint32(t + 8),
      flags: bytes[t + 13]!,
      payload: bytes.subarray(t + thl, i + ipLen),
    });
    p += 16 + incl;
  }
  return segs;
}

interface Flow {
  client: string;
  server: string;
  synFrame: number;
  next: { c: number; s: number | null };
  clientData: Uint8Array[];
  serverData: Uint8Array[];
  closed: boolean;
  finC: boolean;
  finS: boolean;
}

/** Checks TCP sequence/ack contiguity per connection and returns the flows keyed by client endpoint. */
function checkTcp(segs: Seg[]): Flow[] {
  const flows = new Map<string, Flow>();
  const all: Flow[] = [];
  for (const s of segs) {
    const isSyn = (s.flags & SYN) !== 0 && (s.flags & ACK) === 0;
    const fromClient = s.dport === 443;
    const cKey = fromClient ? `${s.src}:${s.sport}>${s.dst}` : `${s.dst}:${s.dport}>${s.src}`;
    if (isSyn) {
      eq(fromClient, true);
      const prev = flows.get(cKey);
      if (prev) eq(prev.closed || (prev.finC && prev.finS), true); // port reuse only after close
      const f: Flow = {
        client: `${s.src}:${s.sport}`,
        server: s.dst,
        synFrame: s.frame,
        next: { c: (s.seq + 1) >>> 0, s: null },
        clientData: [],
        serverData: [],
        closed: false,
        finC: false,
        finS: false,
      };
      flows.set(cKey, f);
      all.push(f);
      continue;
    }
    const f = flows.get(cKey);
    ok(f !== undefined, `segment in frame ${s.frame} without SYN`);
    if (!f) continue;
    eq(f.closed, false);
    if (!fromClient && (s.flags & SYN) !== 0) {
      eq(s.ack, f.next.c);
      f.next.s = (s.seq + 1) >>> 0;
      continue;
    }
    ok(f.next.s !== null, 'data before SYN-ACK');
    if (fromClient) {
      eq(s.seq, f.next.c, `client seq in frame ${s.frame}`);
      eq(s.ack, f.next.s);
      f.next.c = (f.next.c + s.payload.length + (s.flags & FIN ? 1 : 0)) >>> 0;
      if (s.payload.length) f.clientData.push(s.payload);
      if (s.flags & RST) f.closed = true;
    } else {
      eq(s.seq, f.next.s, `server seq in frame ${s.frame}`);
      eq(s.ack, f.next.c);
      f.next.s = (f.next.s! + s.payload.length + (s.flags & FIN ? 1 : 0)) >>> 0;
      if (s.payload.length) f.serverData.push(s.payload);
    }
    if (s.flags & FIN) {
      if (fromClient) f.finC = true;
      else f.finS = true;
    }
  }
  // Every connection ends: an RST, or a FIN from both sides.
  for (const f of all) eq(f.closed || (f.finC && f.finS), true);
  return all;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** legacy session id of a ClientHello/ServerHello at the start of a stream (record 5 + handshake 4 + version 2 + random 32). */
function helloSessionId(stream: Uint8Array, type: number): string | null {
  expect(stream[0]).toBe(22);
  expect(stream[5]).toBe(type);
  const len = stream[43]!;
  return len ? hex(stream.subarray(44, 44 + len)) : null;
}

/**
 * Walks TLS records in a stream, returning [contentType, handshakeType] per record; handshakeType is
 * -1 once the sender's ChangeCipherSpec made the records opaque.
 */
function records(stream: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let p = 0;
  let encrypted = false;
  while (p + 5 <= stream.length) {
    const len = (stream[p + 3]! << 8) | stream[p + 4]!;
    expect(p + 5 + len).toBeLessThanOrEqual(stream.length);
    out.push([stream[p]!, encrypted ? -1 : stream[p + 5]!]);
    if (stream[p] === 20) encrypted = true;
    p += 5 + len;
  }
  expect(p).toBe(stream.length);
  return out;
}

function byClient(conns: TruthConnection[]): Map<string, TruthConnection[]> {
  const m = new Map<string, TruthConnection[]>();
  for (const c of conns) {
    const l = m.get(c.clientIp) ?? [];
    l.push(c);
    m.set(c.clientIp, l);
  }
  return m;
}

function reasons(t: GroundTruth): Record<string, number> {
  const r: Record<string, number> = {};
  for (const c of t.connections) if (c.reason) r[c.reason] = (r[c.reason] ?? 0) + 1;
  return r;
}

// ---------------------------------------------------------------------------------------------

describe('simulator: capture structure', () => {
  it.each(SMALL)('%s: valid pcap, framing, TCP seq/ack contiguity, truth matches the wire', (name) => {
    const { bytes, truth, ms } = run(name);
    expect(ms).toBeLessThan(2000); // small presets are meant to take well under a second
    const segs = readPcap(bytes);
    expect(segs.length).toBe(truth.totals.frames);
    expect(bytes.length).toBe(truth.totals.bytes);
    const flows = checkTcp(segs);
    expect(flows.length).toBe(truth.connections.length);
    expect(truth.connections.length).toBeGreaterThan(100);
    expect(truth.connections.length).toBeLessThan(1500);
    for (let i = 0; i < flows.length; i++) {
      const f = flows[i]!;
      const c = truth.connections[i]!;
      expect(c.index).toBe(i);
      expect(c.firstFrame).toBe(f.synFrame);
      const service = truth.services.find((s) => s.sni === c.service)!;
      let cs = concat(f.clientData);
      if (service.proxyProtocol) {
        // The balancer's end on the wire; the client in the PROXY v2 header that opens its stream.
        expect(f.client.startsWith(`${service.balancerAddress}:`)).toBe(true);
        expect(Buffer.from(cs.subarray(0, 16)).toString('hex')).toBe('0d0a0d0a000d0a515549540a2111000c');
        expect(`${[...cs.subarray(16, 20)].join('.')}:${(cs[24]! << 8) | cs[25]!}`).toBe(`${c.clientIp}:${c.clientPort}`);
        cs = cs.subarray(28);
      } else {
        expect(f.client).toBe(`${c.clientIp}:${c.clientPort}`);
      }
      expect(f.server).toBe(c.serverIp);
      expect(segs[f.synFrame - 1]!.ts).toBe(Math.round(c.startTime * 1e6));
      const ss = concat(f.serverData);
      expect(helloSessionId(cs, 1)).toBe(c.clientHelloSessionId);
      expect(helloSessionId(ss, 2)).toBe(c.serverHelloSessionId);
      const cr = records(cs);
      const sr = records(ss);
      if (c.version === 'TLS 1.2') {
        const hasCert = sr.some(([t, h]) => t === 22 && h === 11);
        expect(hasCert).toBe(!c.accepted);
        const nst = sr.some(([t, h]) => t === 22 && h === 4);
        expect(nst).toBe(c.ticketIssued);
        if (c.outcome === 'aborted') expect(cr.length).toBe(1);
        else {
          // C: CH, [CKE], CCS, Fin, app data...
          expect(cr.filter(([t]) => t === 20).length).toBe(1);
          expect(sr.filter(([t]) => t === 20).length).toBe(1);
          expect(cr.some(([t]) => t === 23)).toBe(true);
          expect(sr.some(([t]) => t === 23)).toBe(true);
        }
      } else {
        expect(sr.every(([t], k) => k === 0 || t === 23 || t === 20)).toBe(true);
      }
    }
  });

  it('same seed gives identical bytes and truth; another seed differs', () => {
    for (const name of ['mixed', 'ticket-rotation'] as PresetName[]) {
      const a = run(name, 1, 7);
      cache.clear();
      const b = run(name, 1, 7);
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
      expect(JSON.stringify(a.truth)).toBe(JSON.stringify(b.truth));
      const c = run(name, 1, 8);
      expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(false);
    }
  });

  it('chunks are handed over in large pieces and the bench preset honours its size', () => {
    const sizes: number[] = [];
    const truth = simulateFarm(presetConfig('bench', 12), (c) => sizes.push(c.length), { keepConnections: false });
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBe(truth.totals.bytes);
    expect(total).toBeGreaterThanOrEqual(12_000_000);
    expect(total).toBeLessThan(12_500_000);
    expect(sizes.slice(0, -1).every((s) => s > 3_000_000)).toBe(true);
    expect(truth.connections.length).toBe(0);
    expect(truth.totals.connections).toBeGreaterThan(1000);
  });

  it('the sessions preset has the shape of the memory benchmark: ~3.5 connections per client, a new session for every other one', () => {
    const clients = Math.round(580_000 * 0.005);
    const truth = simulateFarm(presetConfig('sessions', 0.005), () => undefined, { keepConnections: false });
    const t = truth.totals;
    expect(t.connections / clients).toBeGreaterThan(3);
    expect(t.connections / clients).toBeLessThan(4);
    // Sessions: every full handshake issues one (first visits and rejected offers).
    const issued = t.sessionsIssued;
    expect(issued / t.connections).toBeGreaterThan(0.45);
    expect(issued / t.connections).toBeLessThan(0.65);
  });
});

describe('simulator: ground truth follows the policy', () => {
  it('a refusal by another backend says what the issuing backend would have done: past the lifetime refused there too, younger resumed', () => {
    const truth = simulateFarm({ seed: 3, duration: 1800, clients: { count: 60, meanGap: 90, minGap: 2, longGapShare: 0.3, longGap: [300, 900] },
      services: [{ backends: 2, captureAt: 'vip', balancing: 'random', sharedCache: false, policy: { idleTimeout: null, lifetime: 600, capacity: null, purgeOnAbort: false } }] }, () => {});
    const elsewhere = truth.connections.filter((c) => c.reason === 'other-backend');
    expect(elsewhere.length).toBeGreaterThan(20);
    const old = elsewhere.filter((c) => c.age! > 600);
    const young = elsewhere.filter((c) => c.age! <= 600);
    expect(old.length).toBeGreaterThan(3);
    expect(young.length).toBeGreaterThan(3);
    for (const c of old) expect(c.reasonAtIssuer).toBe('lifetime');
    for (const c of young) expect(c.reasonAtIssuer).toBeNull();
    // Other refusals carry none.
    for (const c of truth.connections) if (c.reason !== 'other-backend') expect(c.reasonAtIssuer).toBeUndefined();
  });

  it.each(SMALL)('%s: outcomes, offers and reasons are consistent', (name) => {
    const { truth } = run(name);
    const t = truth.connections;
    const outcomes = { full: 0, resumed: 0, rejected: 0, aborted: 0 };
    for (const c of t) {
      outcomes[c.outcome]++;
      if (c.offered === 'none') {
        expect(['full', 'aborted']).toContain(c.outcome);
        expect(c.accepted).toBe(false);
        expect(c.reason === null || c.reason === 'client-forgot').toBe(true);
      } else {
        // A TLS 1.2 session's ID in a TLS 1.3 handshake's legacy session ID is no offer (RFC 8446 §4.1.2).
        if (c.outcome === 'full') expect([c.offered, c.version, c.reason]).toEqual(['session-id', 'TLS 1.3', 'version-change']);
        if (c.outcome === 'resumed') expect(c.accepted).toBe(true);
        if (c.outcome === 'rejected') expect(c.reason).not.toBeNull();
        expect(c.accepted).toBe(c.reason === null);
      }
      if (c.outcome === 'aborted') {
        expect(c.abortStage).toBe('after-server-hello');
        expect(c.abortBy).toBe('client');
      } else expect(c.abortStage).toBeUndefined();
      if (c.reason === 'client-forgot') {
        expect(c.offered).toBe('none');
        expect(c.forgottenSession).not.toBeNull();
      }
      if (c.accepted) {
        expect(c.issued).toBeNull();
        if (c.version === 'TLS 1.2' && c.clientHelloSessionId) expect(c.serverHelloSessionId).toBe(c.clientHelloSessionId);
      }
      if (c.offered === 'session-id') {
        expect(c.clientHelloSessionId).toBe(c.offeredSessionId);
        // A TLS 1.3 server echoes the legacy session ID; a TLS 1.2 one refusing gives a new ID.
        if (!c.accepted && c.version === 'TLS 1.2') expect(c.serverHelloSessionId).not.toBe(c.offeredSessionId);
      }
      if (c.version === 'TLS 1.3') expect(c.serverHelloSessionId).toBe(c.clientHelloSessionId);
      expect(c.clientHelloTime).toBeGreaterThan(c.startTime);
      expect(c.serverHelloTime).toBeGreaterThan(c.clientHelloTime);
      expect(c.startTime).toBeGreaterThanOrEqual(truth.startTime);
      expect(c.startTime).toBeLessThan(truth.startTime + truth.duration);
    }
    expect(truth.totals.byOutcome).toEqual(outcomes);
    expect(truth.totals.connections).toBe(t.length);
    expect(truth.totals.byReason).toEqual(reasons(truth));
  });

  it('idle-timeout: rejections have reuse gap > 300 s, acceptances ≤ 300 s', () => {
    const { truth } = run('idle-timeout');
    const r = reasons(truth);
    expect(Object.keys(r)).toEqual(['idle-timeout']);
    expect(r['idle-timeout']).toBeGreaterThan(20);
    let resumed = 0;
    for (const c of truth.connections) {
      if (c.reason === 'idle-timeout') expect(c.reuseGap!).toBeGreaterThan(300);
      if (c.outcome === 'resumed') {
        resumed++;
        expect(c.reuseGap!).toBeLessThanOrEqual(300);
      }
    }
    expect(resumed).toBeGreaterThan(20);
    expect(truth.services[0]!.policy).toEqual({ idleTimeout: 300, lifetime: 36000, capacity: null, purgeOnAbort: false });
  });

  it('fifo-capacity: evicted iff at least `capacity` sessions were issued after it', () => {
    const { truth } = run('fifo-capacity');
    const cap = truth.services[0]!.policy.capacity!;
    expect(Object.keys(reasons(truth))).toEqual(['capacity']);
    expect(reasons(truth).capacity).toBeGreaterThan(20);
    // Recompute churn from the issued ids in ServerHello order (= ClientHello order here).
    const order = [...truth.connections].sort((a, b) => a.clientHelloTime - b.clientHelloTime);
    const issuedAt = new Map<string, number>();
    let n = 0;
    for (const c of order) {
      if (c.offered === 'session-id') {
        const churn = n - issuedAt.get(c.offeredSessionId!)! - 1;
        expect(churn).toBe(c.churn);
        if (c.reason === 'capacity') expect(churn).toBeGreaterThanOrEqual(cap);
        if (c.outcome === 'resumed') expect(churn).toBeLessThan(cap);
      }
      if (c.issued) issuedAt.set(c.issued, n++);
    }
  });

  it('purge-on-abort: purged sessions were accepted in an aborted handshake just before', () => {
    const { truth } = run('purge-on-abort');
    const r = reasons(truth);
    expect(r['purged-after-abort']).toBeGreaterThan(5);
    const aborted = truth.connections.filter((c) => c.outcome === 'aborted').length;
    expect(aborted / truth.connections.length).toBeGreaterThan(0.05);
    expect(aborted / truth.connections.length).toBeLessThan(0.15);
    for (const list of byClient(truth.connections).values()) {
      for (let i = 1; i < list.length; i++) {
        const c = list[i]!;
        const prev = list[i - 1]!;
        if (c.reason === 'purged-after-abort') {
          // The last connection in which the server accepted this session was reset by the client.
          const lastAccept = list.slice(0, i).reverse().find((x) => x.accepted && x.offeredSessionId === c.offeredSessionId);
          expect(lastAccept?.outcome).toBe('aborted');
        }
        if (prev.outcome === 'aborted' && prev.accepted && c.offeredSessionId === prev.offeredSessionId && c.reuseGap! <= 600) {
          expect(c.reason).toBe('purged-after-abort');
        }
      }
    }
  });

  it('lb-no-shared-cache: other-backend iff the session was issued by another backend', () => {
    const { truth } = run('lb-no-shared-cache');
    const svc = truth.services[0]!;
    expect(svc.captureAt).toBe('vip');
    const r = reasons(truth);
    expect(r['other-backend']).toBeGreaterThan(50);
    const backends = new Set<number>();
    for (const c of truth.connections) {
      expect(c.serverIp).toBe(svc.vip);
      backends.add(c.backend);
      if (c.offered === 'none') continue;
      if (c.reason === 'other-backend') expect(c.sessionIssuedByBackend).not.toBe(c.backend);
      else expect(c.sessionIssuedByBackend).toBe(c.backend);
    }
    expect(backends.size).toBe(3);
  });

  it('flush: sessions issued before the flush are rejected after it', () => {
    const { truth } = run('flush');
    const f = truth.services[0]!.flushTimes[0]!;
    expect(f).toBe(truth.startTime + 600);
    expect(reasons(truth).flush).toBeGreaterThan(10);
    for (const c of truth.connections) {
      if (c.offered === 'none') continue;
      const crosses = c.sessionIssueTime! < f && c.clientHelloTime >= f;
      expect(c.reason === 'flush').toBe(crosses);
    }
  });

  it('client-forgets: the client offers nothing though the server would have resumed', () => {
    const { truth } = run('client-forgets');
    const forgot = truth.connections.filter((c) => c.reason === 'client-forgot');
    expect(forgot.length).toBeGreaterThan(30);
    for (const c of forgot) {
      expect(c.outcome).toBe('full');
      expect(c.clientHelloSessionId).toBeNull();
      expect(c.reuseGap!).toBeLessThanOrEqual(3600);
    }
    expect(Object.keys(reasons(truth))).toEqual(['client-forgot']);
  });

  it('clients behind one address (perAddress): they share the address and its ports, each keeps its own session', () => {
    const chunks: Uint8Array[] = [];
    const truth = simulateFarm({ seed: 4, duration: 600, clients: { count: 50, perAddress: 5, meanGap: 60, minGap: 2, longGapShare: 0 } }, (c) => chunks.push(c.slice()));
    const addresses = byClient(truth.connections);
    expect(addresses.size).toBe(10);
    // Ports: the NAT hands out each once (the TCP check fails on a 4-tuple reused while open).
    const flows = checkTcp(readPcap(concat(chunks)));
    expect(flows.length).toBe(truth.connections.length);
    expect(new Set(flows.map((f) => f.client)).size).toBe(flows.length);
    // Each client resumes its own session: an address offers sessions of several clients, and
    // every offer within the idle timeout is accepted, none is said forgotten.
    for (const conns of addresses.values()) {
      const offered = new Set(conns.filter((c) => c.offeredSessionId !== null).map((c) => c.offeredSessionId));
      expect(offered.size).toBeGreaterThan(1);
    }
    expect(reasons(truth)).toEqual({});
  });

  it('ticket-rotation: tickets are rejected once the key epoch changed; key_name tracks the epoch', () => {
    const { truth } = run('ticket-rotation');
    const svc = truth.services[0]!;
    const rot = svc.ticketKeyRotation!;
    expect(svc.ticketKeyRotationTimes).toEqual([truth.startTime + rot, truth.startTime + 2 * rot]);
    expect(Object.keys(reasons(truth))).toEqual(['ticket-key-rotated']);
    const epoch = (t: number): number => Math.floor((t - truth.startTime) / rot);
    const keyNames = new Map<number, Set<string>>();
    for (const c of truth.connections) {
      if (c.issued) {
        const e = epoch(c.clientHelloTime);
        const s = keyNames.get(e) ?? new Set();
        s.add(c.issued.slice(0, 32));
        keyNames.set(e, s);
      }
      if (c.offered !== 'ticket') continue;
      expect(c.offeredTicket).toHaveLength(320);
      const rotated = epoch(c.sessionIssueTime!) !== epoch(c.clientHelloTime);
      expect(c.reason === 'ticket-key-rotated').toBe(rotated);
      expect(c.ticketIssued).toBe(rotated);
    }
    // Shared keys: one key_name per epoch, different across epochs.
    const names = [...keyNames.values()];
    expect(names.every((s) => s.size === 1)).toBe(true);
    expect(new Set(names.map((s) => [...s][0])).size).toBe(names.length);
  });

  it('tls13-psk: PSK offers, identity stable until rejection, idle timeout 600 s', () => {
    const { truth } = run('tls13-psk');
    expect(Object.keys(reasons(truth))).toEqual(['idle-timeout']);
    for (const c of truth.connections) {
      expect(c.version).toBe('TLS 1.3');
      expect(['none', 'psk']).toContain(c.offered);
      if (c.offered === 'psk') {
        expect(c.offeredPskIdentity).toHaveLength(128);
        if (c.accepted) expect(c.reuseGap!).toBeLessThanOrEqual(600);
        else expect(c.reuseGap!).toBeGreaterThan(600);
      }
    }
    for (const list of byClient(truth.connections).values()) {
      let held: string | null = null;
      for (const c of list) {
        expect(c.offeredPskIdentity).toBe(held);
        if (c.issued) held = c.issued;
      }
    }
  });

  it('version-mix: the TLS 1.2 backend answers TLS 1.2 and issues session IDs; a session offered to a backend of another version is version-change', () => {
    const { truth } = run('version-mix');
    const tls12Backend = truth.services[0]!.backends - 1;
    expect(Object.keys(reasons(truth)).sort()).toEqual(['idle-timeout', 'issued-before-capture', 'version-change']);
    let bothWays = [0, 0];
    for (const list of byClient(truth.connections).values()) {
      // What each client holds: the session its last full handshake issued, and which backend's kind it is.
      let held: { id: string; tls12: boolean } | null = null;
      for (const c of list) {
        expect(c.version).toBe(c.backend === tls12Backend ? 'TLS 1.2' : 'TLS 1.3');
        if (held === null) {
          // Nothing held: a TLS 1.2 backend takes the TLS 1.3 client's random compatibility ID for an unknown session.
          if (c.offered !== 'none') expect([c.version, c.offered, c.offeredSessionId, c.reason]).toEqual(['TLS 1.2', 'session-id', c.clientHelloSessionId, 'issued-before-capture']);
          else expect(c.reason).toBeNull();
        } else {
          expect(c.offered).toBe(held.tls12 ? 'session-id' : 'psk');
          expect(held.tls12 ? c.offeredSessionId : c.offeredPskIdentity).toBe(held.id);
          // The version decides before the cache is looked at.
          const crossed = held.tls12 !== (c.backend === tls12Backend);
          expect(c.reason === 'version-change').toBe(crossed);
          if (crossed) bothWays[held.tls12 ? 0 : 1]!++;
          // A TLS 1.2 session's ID in a TLS 1.3 handshake: the legacy session ID, echoed, no offer.
          if (crossed && held.tls12) expect([c.outcome, c.clientHelloSessionId, c.serverHelloSessionId]).toEqual(['full', held.id, held.id]);
          if (crossed && !held.tls12) expect(c.outcome).toBe('rejected');
        }
        if (c.issued) held = { id: c.issued, tls12: c.version === 'TLS 1.2' };
        if (c.version === 'TLS 1.2') expect(c.issued === null || c.serverHelloSessionId === c.issued).toBe(true);
      }
    }
    expect(bothWays[0]).toBeGreaterThan(5);
    expect(bothWays[1]).toBeGreaterThan(5);
  });

  it('mixed: each service shows its own problem', () => {
    const { truth } = run('mixed');
    const per = truth.totals.perService;
    expect(per['shop.mixed.test']!.byReason['idle-timeout']).toBeGreaterThan(0);
    expect(per['api.mixed.test']!.byReason['other-backend']).toBeGreaterThan(0);
    expect(per['login.mixed.test']!.byOutcome.aborted).toBeGreaterThan(0);
    expect(per['cdn.mixed.test']!.byReason['ticket-key-rotated']).toBeGreaterThan(0);
    expect(per['app.mixed.test']!.byReason['client-forgot']).toBeGreaterThan(0);
    expect(truth.totals.byReason['issued-before-capture']).toBeGreaterThan(0);
    expect(truth.totals.warmupConnections).toBeGreaterThan(0);
    // Warm-up sessions are offered in the capture and flagged.
    expect(truth.connections.some((c) => c.issuedBeforeCapture && c.sessionIssueTime !== null)).toBe(true);
    expect(JSON.parse(JSON.stringify(truth))).toEqual(truth);
  });
});

describe('simulator: tls-bytes', () => {
  it('ClientHello lengths are consistent and pre_shared_key is last', () => {
    const b = new ByteBuilder(16);
    writeClientHello(b, {
      random: new Uint8Array(32),
      sessionId: new Uint8Array(32).fill(7),
      cipherSuites: [0x1301, 0xc02f],
      extensionOrder: [0, 10, 13, 16, 43, 51, 45, 35],
      sni: 'a.test',
      supportedGroups: [0x1d],
      signatureAlgorithms: [0x0804],
      alpn: ['h2'],
      sessionTicket: new Uint8Array(0),
      tls13: { keyShare: new Uint8Array(32), psk: { identity: new Uint8Array(48), obfuscatedTicketAge: 1, binder: new Uint8Array(32) } },
    });
    const r = b.toBytes();
    expect((r[3]! << 8) | r[4]!).toBe(r.length - 5);
    expect((r[6]! << 16) | (r[7]! << 8) | r[8]!).toBe(r.length - 9);
    // walk extensions
    let p = 9 + 2 + 32;
    p += 1 + r[p]!;
    p += 2 + ((r[p]! << 8) | r[p + 1]!);
    p += 1 + r[p]!;
    const extEnd = p + 2 + ((r[p]! << 8) | r[p + 1]!);
    p += 2;
    const types: number[] = [];
    while (p < extEnd) {
      types.push((r[p]! << 8) | r[p + 1]!);
      p += 4 + ((r[p + 2]! << 8) | r[p + 3]!);
    }
    expect(p).toBe(r.length);
    expect(types).toEqual([0, 10, 13, 16, 43, 51, 45, 35, 41]);
  });

  it('NewSessionTicket carries lifetime hint and ticket (RFC 5077 §3.3)', () => {
    const b = new ByteBuilder();
    writeNewSessionTicket(b, 7200, new Uint8Array([1, 2, 3]));
    expect(Array.from(b.toBytes())).toEqual([22, 3, 3, 0, 13, 4, 0, 0, 9, 0, 0, 0x1c, 0x20, 0, 3, 1, 2, 3]);
  });
});

const TSHARK = '/usr/bin/tshark';
// tshark is required (npm test installs it): its view of the captures is the check.
describe('simulator: tshark reads the captures', () => {
  it('tshark is installed', () => {
    expect(existsSync(TSHARK)).toBe(true);
  });

  const tshark = (args: string[]): string =>
    execFileSync(TSHARK, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });

  it.each(['mixed', 'purge-on-abort', 'version-mix'] as PresetName[])('%s: no malformed packets, every hello seen', (name) => {
    const dir = mkdtempSync(join(tmpdir(), 'resumescope-sim-'));
    try {
      const { bytes, truth } = run(name);
      const file = join(dir, `${name}.pcap`);
      writeFileSync(file, bytes);
      expect(tshark(['-r', file, '-Y', '_ws.malformed']).trim()).toBe('');
      const types = tshark(['-r', file, '-T', 'fields', '-e', 'tls.handshake.type'])
        .split(/[\n,]/)
        .filter((s) => s !== '');
      const count = (t: string): number => types.filter((x) => x === t).length;
      const n = truth.connections.length;
      expect(count('1')).toBe(n);
      expect(count('2')).toBe(n);
      const full12 = truth.connections.filter((c) => c.version === 'TLS 1.2' && !c.accepted).length;
      expect(count('11')).toBe(full12);
      expect(count('4')).toBe(truth.connections.filter((c) => c.version === 'TLS 1.2' && c.ticketIssued).length);
      // The session ids tshark sees in ServerHellos are the truth's.
      const sids = tshark(['-r', file, '-Y', 'tls.handshake.type == 2', '-T', 'fields', '-e', 'tls.handshake.session_id'])
        .split('\n')
        .filter((s) => s !== '')
        .map((s) => s.split(',')[0]);
      const expected = [...truth.connections]
        .sort((a, b) => a.serverHelloTime - b.serverHelloTime || a.index - b.index)
        .map((c) => c.serverHelloSessionId ?? '');
      expect(sids.filter((s) => s !== '').sort()).toEqual(expected.filter((s) => s !== '').sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
