import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { wantsMallocTuning } from '../../app/cli/relaunch.js';

// Large analyses restart once with a fixed malloc threshold; nothing else may change.

const BIN = fileURLToPath(new URL('../../bin/resumescope.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'resumescope-relaunch-'));
const large = join(work, 'large.pcap');
const small = join(work, 'small.pcap');
// Sparse: 2.1 GiB on paper, nothing on disk.
writeFileSync(large, '');
truncateSync(large, 2 ** 31 + 2 ** 20);
writeFileSync(small, Buffer.alloc(64));

describe('malloc tuning relaunch', () => {
  it('is wanted for analyze over ≥ 2 GiB of captures (files or folders) on Linux, unless tuned already or turned off', async () => {
    expect(await wantsMallocTuning(['analyze', large, '-q'], {}, 'linux')).toBe(true);
    expect(await wantsMallocTuning(['analyze', work, '--no-progress'], {}, 'linux')).toBe(true);
    expect(await wantsMallocTuning(['analyze', small, small], {}, 'linux')).toBe(false);
    // An option's value is not an input, even when it names a large file.
    expect(await wantsMallocTuning(['analyze', small, '--json', large], {}, 'linux')).toBe(false);
    expect(await wantsMallocTuning(['analyze', large], {}, 'darwin')).toBe(false);
    expect(await wantsMallocTuning(['ui', large], {}, 'linux')).toBe(false);
    expect(await wantsMallocTuning(['analyze', large, '--no-such-option'], {}, 'linux')).toBe(false);
    expect(await wantsMallocTuning(['analyze', large], { MALLOC_MMAP_THRESHOLD_: '65536' }, 'linux')).toBe(false);
    expect(await wantsMallocTuning(['analyze', large], { RESUMESCOPE_MALLOC: 'default' }, 'linux')).toBe(false);
    expect(await wantsMallocTuning(['analyze', join(work, 'missing.pcap')], {}, 'linux')).toBe(false);
  });

  it('passes the exit code and the messages of the restarted run through unchanged', () => {
    const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [BIN, 'analyze', large, '-q'], { cwd: work, encoding: 'utf8', env: { ...process.env, ...env } });
    const relaunched = run({});
    const direct = run({ RESUMESCOPE_MALLOC: 'default' });
    expect(direct.status).not.toBe(0);
    expect(relaunched.status).toBe(direct.status);
    expect(relaunched.stderr).toBe(direct.stderr);
    expect(relaunched.stderr).toContain('large.pcap');
  });

  it('ends the restarted run when the launcher alone is told to stop', async () => {
    // A stdin capture that never ends keeps the run busy; a large file makes the launcher restart.
    const child = spawn(process.execPath, [BIN, 'analyze', large, '-', '-q'], { cwd: work, stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin.write(Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(143);
  });
});
