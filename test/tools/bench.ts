// npm run bench [-- --size MB] [--no-tshark] [--no-ssldump] [--dir DIR] [--memory] [--repeat N]
// Generates farm captures with the simulator, then runs on the same files in the same run:
// resumescope (whole analysis + JSON), the JavaScript floor (header walk + TLS byte check),
// npm pcap-parser and resumescope's own capture readers (reading alone), tshark (handshake fields) and ssldump (every handshake
// message printed; Debian package ssldump), the last two when installed; prints one table.
// --repeat N (default 3): every measurement but tshark's and the scale run's is taken N times,
// interleaved, and the fastest run counts (peak RSS: the largest of the N). This virtual machine's
// speed drifts by ±10 % from minute to minute; the fastest of a few runs is the figure that repeats.
// Batches: four files as one analysis (--jobs 1, one worker per core, pinned to one core) and as
// separate analyses (--each, one worker per core and pinned to one core); ceilings: processes on
// shares of the files at once (free, then each pinned to a core of its own) and a loop that
// touches no memory; the CPU time of one analysis over its wall time (cores it keeps busy).
// --memory adds the scale run of the issue: a capture of ~2,000,000 connections and ~1,000,000
// distinct sessions (simulator preset "sessions", ~4 GB on disk), analysed with --ndjson.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DIST = join(ROOT, 'dist');

interface Measurement {
  tool: string;
  file: string;
  seconds: number;
  peakMiB: number | null;
  bytes: number;
  /** User + system CPU seconds of the process and all its threads (GNU time); null without it. */
  cpuSeconds: number | null;
}

function argument(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Run a command, measuring wall time and (with GNU time) peak RSS. */
function measure(tool: string, file: string, bytes: number, command: string[]): Measurement {
  const haveTime = existsSync('/usr/bin/time');
  const args = haveTime ? ['-f', '%e %M %U %S', ...command] : command.slice(1);
  const started = process.hrtime.bigint();
  const r = spawnSync(haveTime ? '/usr/bin/time' : command[0]!, args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${tool} failed: ${r.stderr.slice(-500)}`);
  let peakMiB: number | null = null;
  let cpuSeconds: number | null = null;
  if (haveTime) {
    const last = r.stderr.trim().split('\n').pop() ?? '';
    const [, kb, user, system] = last.split(' ');
    peakMiB = Number(kb) / 1024;
    cpuSeconds = Number(user) + Number(system);
  }
  return { tool, file, seconds, peakMiB, bytes, cpuSeconds };
}

/** The fastest of several runs of one measurement (and the largest peak RSS of them). */
function fastest(runs: Measurement[]): Measurement {
  const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const peaks = runs.map((r) => r.peakMiB).filter((p): p is number => p !== null);
  // The CPU time stays the fastest run's own (cores busy = its CPU over its wall time).
  return { ...best, peakMiB: peaks.length > 0 ? Math.max(...peaks) : null };
}

/**
 * Wall time of several commands started together (the machine's own ceiling for a batch: two
 * independent processes share its memory bandwidth and caches just as two worker threads do).
 */
async function measureTogether(commands: string[][]): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(commands.map((command) => new Promise<void>((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 || code === 1 ? resolve() : reject(new Error(`${command.join(' ')} exited with ${code}`))));
  })));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The text of a file up to a marker (read in blocks: the file may be gigabytes). */
function readHead(path: string, marker: string): string {
  const fd = openSync(path, 'r');
  try {
    const block = Buffer.alloc(1 << 20);
    let text = '';
    for (let position = 0; ; ) {
      const n = readSync(fd, block, 0, block.length, position);
      if (n === 0) throw new Error(`${path}: no "${marker.trim()}"`);
      position += n;
      text += block.toString('latin1', 0, n);
      const at = text.indexOf(marker);
      if (at >= 0) return text.slice(0, at);
    }
  } finally {
    closeSync(fd);
  }
}

function countLines(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const block = Buffer.alloc(1 << 22);
    let lines = 0;
    for (let n = readSync(fd, block); n > 0; n = readSync(fd, block)) {
      for (let i = block.indexOf(10, 0); i >= 0 && i < n; i = block.indexOf(10, i + 1)) lines++;
    }
    return lines;
  } finally {
    closeSync(fd);
  }
}

/** Whether a command is on PATH (runs with these arguments). */
function installed(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const sizeMB = Number(argument('--size', '1000'));
  const dir = argument('--dir', join(tmpdir(), 'resumescope-bench'));
  const withTshark = !process.argv.includes('--no-tshark') && installed('tshark', ['-v']);
  const withSsldump = !process.argv.includes('--no-ssldump') && installed('ssldump', ['-v']);
  mkdirSync(dir, { recursive: true });
  const simulator = join(DIST, 'fixtures', 'simulator', 'cli.js');
  const big = join(dir, `farm-${sizeMB}MB.pcap`);
  if (!existsSync(big)) execFileSync(process.execPath, [simulator, '--preset', 'bench', '--scale', String(sizeMB), '--out', big, '--seed', '7'], { stdio: 'inherit' });
  const parts = [1, 2, 3, 4].map((i) => join(dir, `part${i}-${sizeMB / 4}MB.pcap`));
  parts.forEach((p, i) => {
    if (!existsSync(p)) execFileSync(process.execPath, [simulator, '--preset', 'bench', '--scale', String(sizeMB / 4), '--out', p, '--seed', String(10 + i)], { stdio: 'inherit' });
  });
  const bytes = statSync(big).size;
  const partBytes = parts.reduce((s, p) => s + statSync(p).size, 0);
  const json = join(dir, 'out.json');
  const rows: Measurement[] = [];
  const cli = join(ROOT, 'bin', 'resumescope.js');
  process.stderr.write(`bench: ${(bytes / 1e6).toFixed(0)} MB capture in ${dir}\n`);
  const repeat = Math.max(1, Number(argument('--repeat', '3')));
  interface Spec { tool: string; file: string; bytes: number; command: string[] }
  const specs: Spec[] = [
    { tool: 'floor: header walk + TLS byte check', file: big, bytes, command: [process.execPath, join(DIST, 'test', 'tools', 'floor.js'), big] },
    { tool: 'npm pcap-parser 0.2.1, counting packets', file: big, bytes, command: [process.execPath, join(DIST, 'test', 'tools', 'pcap-parser-count.js'), big] },
    { tool: "resumescope's capture readers, counting packets", file: big, bytes, command: [process.execPath, join(DIST, 'test', 'tools', 'reader-count.js'), big] },
    { tool: 'resumescope analyze --json (whole analysis)', file: big, bytes, command: [process.execPath, cli, 'analyze', big, '-q', '--json', json] },
    { tool: 'resumescope analyze --ndjson', file: big, bytes, command: [process.execPath, cli, 'analyze', big, '-q', '--ndjson', json] },
    { tool: 'resumescope, 4 files, --jobs 1', file: parts.join(','), bytes: partBytes, command: [process.execPath, cli, 'analyze', ...parts, '-q', '--jobs', '1', '--json', json] },
    { tool: `resumescope, 4 files, --jobs ${cpus().length}`, file: parts.join(','), bytes: partBytes, command: [process.execPath, cli, 'analyze', ...parts, '-q', '--jobs', String(cpus().length), '--json', json] },
  ];
  // One core in the strict sense: --jobs 1 still reads the file on a libuv thread and collects
  // garbage on V8's helper threads, which run on the other cores unless the process is pinned.
  const pinned = hasTaskset() && cpus().length > 1;
  if (pinned) {
    specs.push({ tool: 'resumescope, 4 files, --jobs 1, pinned to one core (taskset)', file: parts.join(','), bytes: partBytes, command: ['taskset', '-c', '0', process.execPath, cli, 'analyze', ...parts, '-q', '--jobs', '1', '--json', json] });
  }
  // --each: the four files as four analyses (unrelated captures), one worker per core, against
  // the same on one core. Their JSON outputs go beside the files and are removed afterwards.
  const eachJson = join(dir, 'each-{name}.json');
  const eachSpecs: Spec[] = [
    { tool: `resumescope --each, 4 files, ${cpus().length} workers (one per core)`, file: parts.join(','), bytes: partBytes, command: [process.execPath, cli, 'analyze', '--each', ...parts, '-q', '--json', eachJson] },
  ];
  if (pinned) eachSpecs.push({ tool: 'resumescope --each, 4 files, --jobs 1, pinned to one core (taskset)', file: parts.join(','), bytes: partBytes, command: ['taskset', '-c', '0', process.execPath, cli, 'analyze', '--each', ...parts, '-q', '--jobs', '1', '--json', eachJson] });
  const firstEach = specs.length;
  specs.push(...eachSpecs);
  // The ceiling: one process per core, each on its share of the files, no threads or joining.
  const cores = Math.min(cpus().length, parts.length);
  const shares = Array.from({ length: cores }, (_, k) => parts.filter((_, i) => i % cores === k));
  const runs = specs.map((): Measurement[] => []);
  const togetherRuns: number[] = [];
  const aloneRuns: Measurement[] = [];
  // The hardware's own ceiling, apart from this code: a loop that touches no memory, once alone
  // and once per core at the same time. On a virtual machine whose cores share a physical core
  // or the host's time, this is below the core count whatever the analysis does.
  const spin = [process.execPath, '-e', 'let x = 0; for (let i = 0; i < 3e8; i++) x = (x * 31 + i) | 0; if (x === 7) console.log(x);'];
  const spinAloneRuns: number[] = [];
  const spinTogetherRuns: number[] = [];
  // The same shares with each process pinned to a core of its own (and one share alone, pinned):
  // a process then has no other core for V8's compiler and collector threads or the kernel's
  // file copies, so this shows whether processes on separate cores slow each other down
  // (shared caches, memory bandwidth) apart from the CPU an analysis uses besides its main thread.
  const pinnedTogetherRuns: number[] = [];
  const pinnedAloneRuns: number[] = [];
  // The outputs of the run before go first, outside the timing: a run writing over a 200 MB
  // JSON had its rename spend ~0.1 s freeing the old file's blocks (the 1 GB file's profile),
  // which a run writing a new file never pays.
  const removeOutputs = () => {
    rmSync(json, { force: true });
    for (const part of parts) rmSync(join(dir, `each-${basename(part).replace(/\.pcap$/, '')}.json`), { force: true });
  };
  // Rounds, each running every measurement once: a drift of the machine's speed touches all alike.
  for (let round = 0; round < repeat; round++) {
    specs.forEach((spec, i) => {
      removeOutputs();
      runs[i]!.push(measure(spec.tool, spec.file, spec.bytes, spec.command));
    });
    togetherRuns.push(await measureTogether(shares.map((share) => [process.execPath, cli, 'analyze', ...share, '-q', '--jobs', '1'])));
    aloneRuns.push(measure('resumescope, one share alone', shares[0]!.join(','), 0, [process.execPath, cli, 'analyze', ...shares[0]!, '-q', '--jobs', '1']));
    if (pinned) {
      pinnedTogetherRuns.push(await measureTogether(shares.map((share, k) => ['taskset', '-c', String(k), process.execPath, cli, 'analyze', ...share, '-q', '--jobs', '1'])));
      pinnedAloneRuns.push(await measureTogether([['taskset', '-c', '0', process.execPath, cli, 'analyze', ...shares[0]!, '-q', '--jobs', '1']]));
    }
    spinAloneRuns.push(await measureTogether([spin]));
    spinTogetherRuns.push(await measureTogether(Array.from({ length: cores }, () => spin)));
  }
  const best = runs.map(fastest);
  // By name, not by place: the single-file rows come first, then the batches.
  const bestOf = (tool: string) => best[specs.findIndex((spec) => spec.tool === tool)]!;
  const [sequential, workers] = [bestOf('resumescope, 4 files, --jobs 1'), bestOf(`resumescope, 4 files, --jobs ${cpus().length}`)];
  const strictlyOneCore = pinned ? bestOf('resumescope, 4 files, --jobs 1, pinned to one core (taskset)') : null;
  rows.push(...best.slice(0, specs.findIndex((spec) => spec.tool.startsWith('resumescope, 4 files'))));
  if (withTshark) {
    // Once: at ~20 MB/s it takes most of a minute, and ten times the others' drift would not change its ratio much.
    rows.push(measure('tshark, handshake fields', big, bytes, ['tshark', '-r', big, '-Y', 'tls.handshake.type==1 || tls.handshake.type==2', '-T', 'fields', '-e', 'tcp.stream', '-e', 'tls.handshake.type', '-e', 'tls.handshake.session_id', '-e', 'tls.handshake.extensions_server_name']));
  }
  if (withSsldump) {
    // Once, as tshark. It prints every handshake message's fields (no outcome, no sessions): the
    // reference the issue names for "faster than ssldump". -n: no name lookups.
    rows.push(measure('ssldump 1.5 (Debian), printing every handshake', big, bytes, ['ssldump', '-n', '-r', big]));
  }
  rows.push(sequential, workers);
  if (strictlyOneCore) rows.push(strictlyOneCore);
  const [eachWorkers, eachOneCore] = [best[firstEach]!, pinned ? best[firstEach + 1]! : null];
  rows.push(eachWorkers);
  if (eachOneCore) rows.push(eachOneCore);
  removeOutputs();
  const together = Math.min(...togetherRuns);
  const alone = fastest(aloneRuns);

  let scale: { connections: number; sessions: number; run: Measurement; withState: Measurement; stateBytes: number } | null = null;
  if (process.argv.includes('--memory')) {
    const file = join(dir, 'sessions-2M.pcap');
    if (!existsSync(file)) execFileSync(process.execPath, [simulator, '--preset', 'sessions', '--out', file, '--seed', '3'], { stdio: 'inherit' });
    const out = join(dir, 'sessions.ndjson');
    rmSync(out, { force: true });
    rmSync(join(dir, 'sessions.json'), { force: true });
    const run = measure('resumescope analyze --ndjson, 2 M connections', file, statSync(file).size, [process.execPath, cli, 'analyze', file, '-q', '--ndjson', out, '--json', join(dir, 'sessions.json')]);
    // The JSON document's head (everything before the connection list) has the session count.
    const jsonPath = join(dir, 'sessions.json');
    const headText = readHead(jsonPath, ',\n "connections": [\n');
    const head = JSON.parse(headText + '}') as { sessions: { distinct: number } };
    const summary = { c: countLines(out), s: head.sessions.distinct };
    // Again with --state: the sessions written out for the next analysis (~90 MB) must not add to the peak.
    const state = join(dir, 'sessions.state');
    rmSync(state, { force: true });
    rmSync(out, { force: true });
    const withState = measure('resumescope analyze --ndjson --state, 2 M connections', file, statSync(file).size, [process.execPath, cli, 'analyze', file, '-q', '--ndjson', out, '--state', state]);
    scale = { connections: summary.c, sessions: summary.s, run, withState, stateBytes: statSync(state).size };
    rmSync(state, { force: true });
    rmSync(out, { force: true });
    rmSync(join(dir, 'sessions.json'), { force: true });
  }

  const floor = rows[0]!;
  const ours = rows.find((r) => r.tool === 'resumescope analyze --json (whole analysis)')!;
  const floorSpeed = floor.bytes / floor.seconds;
  const lines = [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    `input: simulator preset "bench", ${(bytes / 1e6).toFixed(0)} MB, 4 parts of ${(partBytes / 4e6).toFixed(0)} MB; fastest of ${repeat} interleaved runs (tshark and the scale run: one)`,
    '',
    '| tool | throughput | peak RSS | vs floor |',
    '|---|---:|---:|---:|',
  ];
  for (const r of rows) {
    const speed = r.bytes / r.seconds;
    lines.push(`| ${r.tool} | ${(speed / 1e6).toFixed(0)} MB/s | ${r.peakMiB === null ? 'n/a' : `${r.peakMiB.toFixed(0)} MiB`} | ${(speed / floorSpeed).toFixed(2)}× |`);
  }
  lines.push('', `batch: --jobs ${cpus().length} vs --jobs 1: ${(sequential.seconds / workers.seconds).toFixed(2)}×`);
  if (strictlyOneCore) {
    const allCores = Math.min(sequential.seconds, workers.seconds);
    lines.push(`batch with all cores (the faster of the two) vs one core (pinned): ${(strictlyOneCore.seconds / allCores).toFixed(2)}×`);
  }
  if (eachOneCore) lines.push(`batch of separate analyses (--each), all cores vs one core (pinned): ${(eachOneCore.seconds / eachWorkers.seconds).toFixed(2)}×`);
  lines.push(`machine ceiling: ${cores} processes on ${cores} shares of the files at once take ${together.toFixed(2)} s, one share alone ${alone.seconds.toFixed(2)} s: ` +
    `${((cores * alone.seconds) / together).toFixed(2)}× the work per second of one process`);
  if (pinned) {
    const [pinnedAlone, pinnedTogether] = [Math.min(...pinnedAloneRuns), Math.min(...pinnedTogetherRuns)];
    lines.push(`pinned ceiling: the same ${cores} processes, each pinned to a core of its own, take ${pinnedTogether.toFixed(2)} s at once, one share alone pinned ${pinnedAlone.toFixed(2)} s: ` +
      `${((cores * pinnedAlone) / pinnedTogether).toFixed(2)}× the work per second of one`);
  }
  for (const r of [ours, sequential]) {
    if (r.cpuSeconds !== null) lines.push(`CPU of "${r.tool}": ${r.cpuSeconds.toFixed(2)} s over ${r.seconds.toFixed(2)} s of wall time (${(r.cpuSeconds / r.seconds).toFixed(2)} cores busy)`);
  }
  const [spinAlone, spinTogether] = [Math.min(...spinAloneRuns), Math.min(...spinTogetherRuns)];
  lines.push(`hardware ceiling: ${cores} processes of a loop that touches no memory take ${spinTogether.toFixed(2)} s at once, one alone ${spinAlone.toFixed(2)} s: ` +
    `${((cores * spinAlone) / spinTogether).toFixed(2)}× the work per second of one`);
  const tshark = rows.find((r) => r.tool.startsWith('tshark'));
  if (tshark) lines.push(`resumescope vs tshark: ${((ours.bytes / ours.seconds) / (tshark.bytes / tshark.seconds)).toFixed(1)}× faster`);
  const ssldump = rows.find((r) => r.tool.startsWith('ssldump'));
  if (ssldump) lines.push(`resumescope vs ssldump: ${((ours.bytes / ours.seconds) / (ssldump.bytes / ssldump.seconds)).toFixed(2)}× as fast`);
  if (scale) {
    const r = scale.run;
    lines.push(`scale: ${scale.connections.toLocaleString('en-US')} connections, ${scale.sessions.toLocaleString('en-US')} session keys, ${(r.bytes / 1e9).toFixed(1)} GB: ` +
      `${r.seconds.toFixed(0)} s (${(r.bytes / r.seconds / 1e6).toFixed(0)} MB/s), peak RSS ${r.peakMiB === null ? 'n/a' : `${r.peakMiB.toFixed(0)} MiB`}`);
    const w = scale.withState;
    lines.push(`scale with --state (${(scale.stateBytes / 1e6).toFixed(0)} MB of state written): ${w.seconds.toFixed(0)} s, peak RSS ${w.peakMiB === null ? 'n/a' : `${w.peakMiB.toFixed(0)} MiB`}`);
  }
  console.log(lines.join('\n'));
}

await main();
