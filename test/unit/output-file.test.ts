import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputFile } from '../../app/cli/writers.js';
import { removeTemporaries } from '../../app/cli/temporary-files.js';

describe('OutputFile', () => {
  it('replaces a file whole at close, or not at all: until then (a run stopped half way) the last good output stays', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'resumescope-out-'));
    const path = join(folder, 'out.ndjson');
    writeFileSync(path, 'the last good output\n');
    const out = new OutputFile(path);
    // More than a block (256 KiB): some of it has gone to the disk.
    for (let i = 0; i < 60_000; i++) out.write(`{"id":${i}}\n`);
    await out.drained();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Written so far is in a temporary file beside it; the output itself is untouched.
    expect(readFileSync(path, 'utf8')).toBe('the last good output\n');
    expect(readdirSync(folder).sort()).toEqual(['out.ndjson', `out.ndjson.${process.pid}.tmp`]);
    await out.close();
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(60_001);
    expect(readdirSync(folder)).toEqual(['out.ndjson']);
    // Stopped before close (what a signal does): the temporary file goes, the old output stays.
    const stopped = new OutputFile(path);
    for (let i = 0; i < 60_000; i++) stopped.write('half of a new output\n');
    await stopped.drained();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readdirSync(folder)).toHaveLength(2);
    removeTemporaries();
    expect(readdirSync(folder)).toEqual(['out.ndjson']);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(60_001);
  });

  it('an output that is a symbolic link stays one: the file it points to is replaced', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'resumescope-out-'));
    mkdirSync(join(folder, 'www'));
    const target = join(folder, 'www', 'report.html');
    writeFileSync(target, 'old report');
    const link = join(folder, 'report.html');
    symlinkSync(target, link);
    const out = new OutputFile(link);
    out.write('new report');
    await out.close();
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('new report');
    expect(readdirSync(join(folder, 'www'))).toEqual(['report.html']);
  });

  it('writes devices in place (no temporary file beside /dev/null)', async () => {
    const out = new OutputFile('/dev/null');
    out.write('nothing to keep\n');
    await out.close();
    expect(existsSync(`/dev/null.${process.pid}.tmp`)).toBe(false);
  });

  it('writes every piece in order across many recycled blocks (text, ASCII separators, bytes, oversized pieces)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'resumescope-out-')), 'out.txt');
    const out = new OutputFile(path);
    const expected: string[] = [];
    const encoder = new TextEncoder();
    for (let i = 0; i < 40_000; i++) {
      // Bytes reused by the caller after each write: the file must hold what they were then.
      const line = `{"id":${i},"sni":"h\u00e9llo-${i}.test","x":"${'ab'.repeat(i % 50)}"}`;
      const bytes = encoder.encode(line);
      out.write(bytes);
      bytes.fill(0x3f);
      out.write(i % 3 === 0 ? ',\n' : '\n');
      if (i % 997 === 0) out.write('caf\u00e9 \ud83d\ude00\n'); // short but not ASCII
      expected.push(line, i % 3 === 0 ? ',\n' : '\n');
      if (i % 997 === 0) expected.push('caf\u00e9 \ud83d\ude00\n');
      if (i % 10_000 === 0) {
        const big = 'z'.repeat(300_000); // larger than a block: written on its own
        out.write(big);
        expected.push(big);
      }
      if (i % 1000 === 999) await out.drained();
    }
    await out.close();
    const text = readFileSync(path, 'utf8');
    expect(text.length).toBe(expected.join('').length);
    expect(text).toBe(expected.join(''));
  });

  it('a full device (ENOSPC, /dev/full) is an OutputError at close, whether it came before close or during it', async () => {
    for (const size of [10, 3_000_000]) {
      const out = new OutputFile('/dev/full');
      out.write(new Uint8Array(size));
      await out.drained();
      await expect(out.close()).rejects.toThrow(/\/dev\/full: cannot write: no space left on the device/);
    }
  });

  it('reports a write error at close', async () => {
    const out = new OutputFile(join(tmpdir(), 'no-such-dir-resumescope', 'x.json'));
    out.write('x');
    await expect(out.close()).rejects.toThrow(/x.json: cannot write: no such file or folder/);
  });
});
