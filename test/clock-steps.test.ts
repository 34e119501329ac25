// A capture clock that steps back part way through a file (an NTP step, a clock set by hand,
// captures appended with mergecap -a): reported where it happens, and no verdict built on the
// reversed time. Review found a clock set back an hour reported nowhere, and 7 first visits
// "client forgot" the sessions they were about to get.
import { describe, expect, it } from 'vitest';
import { simulateFarm } from '../fixtures/simulator/farm.js';
import { presetConfig } from '../fixtures/simulator/presets.js';
import type { ConnectionRecord } from '../parser/report/types.js';
import { analyzeChunks } from './support/pipeline.js';
import { withTimesShifted } from './support/pcap-edit.js';

const STEP_FRAME = 4000;

function idleTimeoutFarm(): Buffer {
  const chunks: Uint8Array[] = [];
  simulateFarm(presetConfig('idle-timeout', 1, 1), (chunk) => chunks.push(chunk.slice()));
  return Buffer.concat(chunks);
}

/** Byte offset of record `index` (0-based) in a pcap's bytes. */
function recordOffset(bytes: Buffer, index: number): number {
  let at = 24;
  for (let i = 0; i < index; i++) at += 16 + bytes.readUInt32LE(at + 8);
  return at;
}

/** Each connection's reason by its client address and port (the same connections whatever their times). */
function reasonsByClient(connections: ConnectionRecord[]): Map<string, string | null> {
  return new Map(connections.map((c) => [`${c.client.ip}:${c.client.port}`, c.reason ?? null]));
}

/** The connections whose verdict differs between two analyses of the same connections. */
function changedVerdicts(before: Map<string, string | null>, after: Map<string, string | null>): string[] {
  return [...after].filter(([client, reason]) => before.get(client) !== reason).map(([client, reason]) => `${client}: ${before.get(client)} → ${reason}`);
}

describe('a capture clock that steps back', () => {
  const farm = idleTimeoutFarm();
  const plain = analyzeChunks('idle.pcap', [farm]);
  const plainReasons = reasonsByClient(plain.connections);
  const steppedBack = (seconds: number) => withTimesShifted(farm, (i) => (i >= STEP_FRAME - 1 ? -seconds : 0));

  it('an hour back mid-file: an anomaly naming the step, its size, frame and byte offset; no one "forgot" anything', () => {
    const shifted = steppedBack(3600);
    const result = analyzeChunks('stepped.pcap', [shifted]);
    const clock = result.document.captures[0]!.anomalies.filter((a) => a.kind === 'clock');
    expect(clock).toHaveLength(1);
    expect(clock[0]).toMatchObject({ code: 'clock-step-back', file: 'stepped.pcap', frame: STEP_FRAME, offset: recordOffset(shifted, STEP_FRAME - 1) });
    expect(clock[0]!.seconds).toBeGreaterThan(3599);
    expect(clock[0]!.seconds).toBeLessThan(3600);
    expect(clock[0]!.message).toMatch(/steps back 1h00m .*no session is followed across it/);
    // Before: 7 first visits "client-forgot" and the client-forgets warning.
    expect(result.connections.filter((c) => c.reason === 'client-forgot')).toHaveLength(0);
    expect(result.diagnosis.findings.map((f) => f.code)).not.toContain('client-forgets');
    // Every verdict is the plain capture's, or "not known" (a session from across the step).
    for (const [client, reason] of reasonsByClient(result.connections)) {
      if (reason !== plainReasons.get(client)) expect(reason).toBe('issued-before-capture');
    }
    // The server's idle timeout is still found from either side's own offers.
    expect(result.diagnosis.servers[0]!.cachePolicy.idleTimeout.seconds).toBe(plain.diagnosis.servers[0]!.cachePolicy.idleTimeout.seconds);
  });

  it('a short step back (45 s): reported, and sessions still followed across it (the same verdicts)', () => {
    const result = analyzeChunks('stepped.pcap', [steppedBack(45)]);
    const clock = result.document.captures[0]!.anomalies.filter((a) => a.kind === 'clock');
    expect(clock.map((a) => a.frame)).toEqual([STEP_FRAME]);
    expect(clock[0]!.message).toMatch(/sessions are still followed across it/);
    // Only connections within 45 s of the step may swap order: a refusal or two, no one blamed.
    const changed = changedVerdicts(plainReasons, reasonsByClient(result.connections));
    expect(changed.length).toBeLessThanOrEqual(2);
    expect(changed.join('\n')).not.toMatch(/client-forgot/);
  });

  it('jitter of milliseconds and a step back of 20 s are no anomaly, and no verdict against anyone', () => {
    let seed = 5;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const shifted of [withTimesShifted(farm, () => (random() - 0.5) * 0.004), steppedBack(20)]) {
      const result = analyzeChunks('jitter.pcap', [shifted]);
      expect(result.document.captures[0]!.anomalies).toEqual([]);
      const changed = changedVerdicts(plainReasons, reasonsByClient(result.connections));
      expect(changed.length).toBeLessThanOrEqual(2);
      expect(changed.join('\n')).not.toMatch(/client-forgot/);
    }
  });

  it('one frame stamped far ahead (a damaged timestamp): the frames after it are no step back', () => {
    const result = analyzeChunks('spike.pcap', [withTimesShifted(farm, (i) => (i === STEP_FRAME - 1 ? 86400 * 365 : 0))]);
    expect(result.document.captures[0]!.anomalies).toEqual([]);
    expect(result.connections.filter((c) => c.reason === 'client-forgot')).toHaveLength(0);
  });

  it('stepping back several times: each step is listed, each far one a segment of its own', () => {
    const shifted = withTimesShifted(farm, (i) => (i >= 6000 ? -7200 : i >= 3000 ? -3600 : 0));
    const result = analyzeChunks('twice.pcap', [shifted]);
    expect(result.document.captures[0]!.anomalies.filter((a) => a.kind === 'clock').map((a) => a.frame)).toEqual([3001, 6001]);
    expect(result.connections.filter((c) => c.reason === 'client-forgot')).toHaveLength(0);
  });
});
