// The long fuzz run: every target of test/fuzz/targets.ts in turn, with fresh seeds, for
// --seconds N (default 60). Prints the iterations and the crashes found; every failing
// input is written to --out (default fuzz-crashes/) to become a regression fixture.
//   node dist/test/tools/fuzz.js --seconds 600 --seed 1
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { TARGETS } from '../fuzz/targets.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seconds = Number(option('seconds', '60'));
const seed = Number(option('seed', String(Date.now() % 2 ** 31)));
const outDir = option('out', 'fuzz-crashes');
const only = option('only', '');
const BATCH = 25;
/** A process growing beyond this is a memory bug (inputs are a few KB each). */
const RSS_LIMIT = 1.5 * 1024 ** 3;

const targets = TARGETS.filter((t) => only === '' || only.split(',').includes(t.name));
const deadline = Date.now() + seconds * 1000;
const perTarget = new Map<string, { iterations: number; crashes: number }>(targets.map((t) => [t.name, { iterations: 0, crashes: 0 }]));
let iterations = 0;
let crashes = 0;
let slowest = { ms: 0, target: '' };
const seenMessages = new Set<string>();

for (let round = 0; Date.now() < deadline; round++) {
  for (const target of targets) {
    if (Date.now() >= deadline) break;
    const batchSeed = (seed + round * 7919 + targets.indexOf(target)) | 0;
    const values = fc.sample(target.arbitrary, { seed: batchSeed, numRuns: BATCH });
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const started = performance.now();
      const stats = perTarget.get(target.name)!;
      stats.iterations++;
      iterations++;
      try {
        await target.check(value);
      } catch (e) {
        crashes++;
        stats.crashes++;
        const message = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
        const key = `${target.name}:${message.slice(0, 120)}`;
        if (!seenMessages.has(key)) {
          seenMessages.add(key);
          mkdirSync(outDir, { recursive: true });
          const base = join(outDir, `${target.name}-seed${batchSeed}-${i}`);
          writeFileSync(`${base}.txt`, `${message}\n\n${e instanceof Error ? e.stack : ''}\n\nreplay: fc.sample(TARGETS['${target.name}'].arbitrary, { seed: ${batchSeed}, numRuns: ${BATCH} })[${i}]\n`);
          if (target.capture) writeFileSync(`${base}.pcap`, target.capture(value));
          process.stderr.write(`crash in ${target.name} (seed ${batchSeed}, #${i}): ${message.split('\n')[0]}\n`);
        }
      }
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { ms, target: target.name };
    }
    if (process.memoryUsage().rss > RSS_LIMIT) {
      crashes++;
      process.stderr.write(`memory: rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB after ${target.name} (seed ${batchSeed})\n`);
      break;
    }
  }
}

const elapsed = seconds;
for (const [name, s] of perTarget) process.stdout.write(`  ${name.padEnd(20)} ${String(s.iterations).padStart(9)} iterations, crashes: ${s.crashes}\n`);
process.stdout.write(`fuzz: ${iterations} iterations in ${elapsed} s (seed ${seed}, slowest input ${slowest.ms.toFixed(0)} ms in ${slowest.target}), crashes: ${crashes}\n`);
process.exitCode = crashes > 0 ? 1 : 0;
