import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ProfileTable } from '../../parser/report/profile-table.js';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConnectionStore } from '../../parser/report/connection-store.js';
import type { ConnectionRecord } from '../../parser/report/types.js';
import { analyzeChunks } from '../support/pipeline.js';

// The column store keeps a row's shared fields (server, SNI, ALPN, version, cipher, hello version,
// history, TLS stack, file) as one profile index: equal tuples must get one index, different ones
// different indices, and every index must give its tuple back, through the table's growth.

const FIELDS = ProfileTable.FIELDS;
const dir = fileURLToPath(new URL('../../fixtures/captures/', import.meta.url));
const realRecords = (): ConnectionRecord[] =>
  readdirSync(dir).filter((f) => /\.(pcap|pcapng)$/.test(f)).flatMap((f) => analyzeChunks(f, [readFileSync(dir + f)]).connections);

describe('ProfileTable', () => {
  it('names equal tuples alike and different ones apart, and gives each back (a Map of their text as reference)', () => {
    // Few values per field: tuples repeat, and many differ in one field only.
    const tuple = fc.array(fc.integer({ min: -1, max: 3 }), { minLength: FIELDS, maxLength: FIELDS });
    fc.assert(fc.property(fc.array(tuple, { maxLength: 600 }), (tuples) => {
      const table = new ProfileTable();
      const reference = new Map<string, number>();
      for (const t of tuples) {
        const index = table.intern(Int32Array.from(t));
        const key = t.join(',');
        if (!reference.has(key)) reference.set(key, reference.size);
        expect(index).toBe(reference.get(key));
      }
      expect(table.count).toBe(reference.size);
      for (const [key, index] of reference) {
        expect(Array.from({ length: FIELDS }, (_, k) => table.field(index, k)).join(',')).toBe(key);
      }
      expect(Array.from(table.export())).toEqual([...reference.keys()].flatMap((key) => key.split(',').map(Number)));
    }));
  });

  it('holds a hundred thousand distinct tuples (far more than a farm has) and finds each', () => {
    const table = new ProfileTable();
    const values = new Int32Array(FIELDS);
    for (let i = 0; i < 100_000; i++) {
      values.fill(i % 7);
      values[1] = i;
      values[8] = i >> 3;
      expect(table.intern(values)).toBe(i);
    }
    for (let i = 0; i < 100_000; i += 101) {
      values.fill(i % 7);
      values[1] = i;
      values[8] = i >> 3;
      expect(table.intern(values)).toBe(i);
      expect(table.field(i, 1)).toBe(i);
    }
    expect(table.count).toBe(100_000);
  });
});

describe('the column store\'s profiles', () => {
  it('keep one profile per distinct shared tuple, and every record reads back its own fields', () => {
    const records = realRecords();
    const store = new ConnectionStore();
    const views = records.map((r) => store.add(r));
    const shared = (r: ConnectionRecord) => [r.server.ip, r.sni, r.alpn, r.version, r.cipher, r.clientHelloVersion, r.history, r.clientFingerprint, r.file];
    views.forEach((v, i) => expect(shared(v), `record ${i}`).toEqual(shared(records[i]!)));
    // The real captures' records share their tuples: far fewer profiles than rows, and not one.
    const distinct = new Set(records.map((r) => JSON.stringify(shared(r)))).size;
    expect(store.snapshot().profiles.length).toBe(distinct * FIELDS);
    expect(distinct).toBeGreaterThan(10);
    expect(distinct).toBeLessThan(records.length / 2);
  });
});
