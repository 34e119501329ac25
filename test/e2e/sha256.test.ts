import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../app/renderer/src/worker/sha256.js';

// The app hashes captures in its worker with this incremental SHA-256; the CLI uses node:crypto.
// Both go into reports, so they must agree for any chunking.
describe('incremental SHA-256 (app worker)', () => {
  it('matches node:crypto for many lengths and chunkings', () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
      const data = randomBytes(length);
      const expected = createHash('sha256').update(data).digest('hex');
      expect(new Sha256().update(data).hex()).toBe(expected);
      const chunked = new Sha256();
      for (let i = 0; i < length; i += 37) chunked.update(data.subarray(i, Math.min(length, i + 37)));
      expect(chunked.hex()).toBe(expected);
    }
  });
});
