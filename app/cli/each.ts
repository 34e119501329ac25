// `analyze --each`: every capture an analysis of its own, several at once on worker threads.
// For a folder of unrelated captures (other servers, other days): analysed as one run, their
// sessions and cache policies would be mixed. The files of one rotated capture stay one analysis
// (without --each), since sessions cross from file to file.
import { availableParallelism, freemem } from 'node:os';
import { normalize, sep } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { captureName, resolveInputs, type InputFile } from '../node/analyze-files.js';
import { analyzeToText, type EachMessage, type EachRequest, type EachResult } from '../node/each-worker.js';
import { EACH_NAME, outputsOf, UsageError, type AnalyzeArgs } from './args.js';
import { EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, ProgressBar, type CliIo } from './main.js';
import { checkOutputPaths, temporaryFor } from './writers.js';
import { trackTemporary, untrackTemporary } from './temporary-files.js';
import { terminalSafe } from './terminal-text.js';

/** The analysis of one capture: its own arguments, outputs named after it (`name`, see captureNames). */
export function argsForCapture(args: AnalyzeArgs, file: InputFile, name = captureName(file.path)): AnalyzeArgs {
  const named = (path: string | null) => (path === null ? null : path.split(EACH_NAME).join(name));
  return {
    ...args, inputs: [file.path], each: false, jobs: 1, progress: 'never',
    json: named(args.json), ndjson: named(args.ndjson), csv: named(args.csv), report: named(args.report), pcapngOut: named(args.pcapngOut),
  };
}

export async function runEach(args: AnalyzeArgs, io: CliIo): Promise<number> {
  const { files, problems, repeated } = await resolveInputs(args.inputs);
  for (const path of repeated) io.stderr(`resumescope: ${terminalSafe(path)}: named more than once; read once\n`);
  for (const p of problems) io.stderr(`resumescope: ${terminalSafe(p.path)}: ${terminalSafe(p.reason)}\n`);
  if (files.length === 0) return EXIT_FAILED;
  const names = captureNames(files.map((f) => f.path));
  const perCapture = files.map((file, i) => argsForCapture(args, file, names[i]));
  // Every output of every capture checked before anything is read (a missing folder, an output
  // that is an input, two captures' outputs on one file).
  checkOutputPaths(perCapture.flatMap(outputsOf), files);
  // The workers write their outputs to temporary files beside them (OutputFile, the same names:
  // they share this process's id); signals come to this thread alone: it removes what they leave.
  const temporaries = perCapture.flatMap(outputsOf).flatMap(([, path]) => {
    const staged = path === null ? null : temporaryFor(path);
    return staged === null ? [] : [staged.temporary];
  });
  for (const temporary of temporaries) trackTemporary(temporary);

  const jobs = Math.min(args.jobs ?? defaultEachJobs(files), files.length);
  const progress = new BatchProgress(io, args.progress === 'always' || (args.progress === 'auto' && io.stderrIsTty), files, jobs);
  const results: (EachResult | undefined)[] = new Array(files.length);
  let printed = 0;
  // Summaries in the order of the command line, each as soon as it and all before it are done.
  const printReady = () => {
    while (printed < files.length && results[printed] !== undefined) {
      const result = results[printed]!;
      progress.clear();
      if (result.stderr) io.stderr(result.stderr);
      if (!args.quiet && result.stdout) io.stdout(`${terminalSafe(files[printed]!.path)}:\n${result.stdout}\n`);
      printed++;
    }
  };
  const finished = (i: number, result: EachResult) => {
    results[i] = result;
    printReady();
    progress.done(i);
  };
  progress.show();
  // Once the workers take every core, V8 compiles their optimized code on each worker's own thread
  // rather than on a helper thread: with no idle core, a helper only competes with the analyses,
  // and compiling concurrently costs more CPU in all (4 × 250 MB, 2 workers on 2 cores, three
  // alternating runs each: CPU 4.5–5.0 → 4.2–4.9 s; wall 2.65–3.00 → 2.49–3.25 s, within this
  // VM's drift; in a first test harness 2.58–2.74 → 2.41–2.49 s). V8 reads the flag when an
  // isolate starts: it reaches the workers started after it, not this thread (so not --jobs 1).
  // availableParallelism() counts the cores this process may run on (taskset, cgroups).
  if (jobs > 1 && jobs >= availableParallelism()) setFlagsFromString('--no-concurrent-recompilation');
  if (jobs === 1) {
    for (let i = 0; i < files.length; i++) finished(i, await analyzeToText(perCapture[i]!, (bytes) => progress.read(i, bytes)));
  } else {
    await analyzeOnWorkers(perCapture, files.map((f) => f.size), jobs, finished, (i, bytes) => progress.read(i, bytes));
  }
  progress.clear();
  // An analysis whose output could not be written was made (its summary printed): counted apart.
  const unwritten = results.filter((r) => r!.outputFailed).length;
  const codes = results.filter((r) => !r!.outputFailed).map((r) => r!.code);
  const failed = codes.filter((c) => c === EXIT_FAILED).length;
  const partial = codes.filter((c) => c === EXIT_PARTIAL).length;
  for (const temporary of temporaries) untrackTemporary(temporary);
  if (!args.quiet) {
    const counts = [`${files.length - failed - partial - unwritten} read whole`, partial > 0 ? `${partial} in part` : null, failed > 0 ? `${failed} could not be analysed` : null,
      unwritten > 0 ? `${unwritten} analysed with an output not written` : null];
    const what = failed === files.length ? 'given' : 'analysed each on its own';
    io.stdout(`${files.length} capture${files.length === 1 ? '' : 's'} ${what}, ${jobs} at a time: ${counts.filter((c) => c !== null).join(', ')}\n`);
  }
  // As one analysis: an output not written is exit 2.
  if (unwritten > 0) return EXIT_FAILED;
  if (problems.length === 0 && failed === 0 && partial === 0) return EXIT_OK;
  return failed === files.length ? EXIT_FAILED : EXIT_PARTIAL;
}

/**
 * One analysis per core, as many as the memory available holds: each worker keeps a whole
 * analysis, and its peak grows with the capture (~0.2 × the file: 1 GB → 190 MiB, 4.2 GB with
 * 2 M connections → 858 MiB, see Performance; 0.25 below leaves a margin), so a batch of large
 * captures on many cores must not run them all at once. The largest file counts for every lane.
 */
export function defaultEachJobs(files: InputFile[], cores = availableParallelism(), available = freemem()): number {
  const largest = files.reduce((max, f) => Math.max(max, f.size), 0);
  const perAnalysis = BASE_ANALYSIS_BYTES + PEAK_PER_CAPTURE_BYTE * largest;
  return Math.max(1, Math.min(cores, Math.floor(available / perAnalysis)));
}

/** A worker's memory before any capture (runtime, code, buffers) and its peak per byte of capture. */
const BASE_ANALYSIS_BYTES = 100 * 2 ** 20;
const PEAK_PER_CAPTURE_BYTE = 0.25;

/**
 * The {name} of each capture: its file name without the capture extension, and where two captures
 * share one (host1/dump.pcap, host2/dump.pcap: a folder per host or per day is common), as many of
 * their folders before it as make them differ, joined by "_" (host1_dump, host2_dump). Paths that
 * differ only in what a name cannot show (a/b_c.pcap and a_b/c.pcap) are refused.
 */
export function captureNames(paths: string[]): string[] {
  const parts = paths.map((p) => normalize(p).split(sep).filter((s) => s.length > 0 && s !== '.'));
  const depth = paths.map(() => 0);
  const nameAt = (i: number) => {
    const segments = parts[i]!;
    const folders = segments.slice(Math.max(0, segments.length - 1 - depth[i]!), segments.length - 1);
    return [...folders, captureName(paths[i]!)].join('_');
  };
  for (;;) {
    const byName = new Map<string, number[]>();
    paths.forEach((_, i) => {
      const name = nameAt(i);
      byName.set(name, [...(byName.get(name) ?? []), i]);
    });
    const clashes = [...byName.values()].filter((list) => list.length > 1);
    if (clashes.length === 0) return paths.map((_, i) => nameAt(i));
    let grew = false;
    for (const list of clashes) {
      for (const i of list) {
        if (depth[i]! < parts[i]!.length - 1) {
          depth[i]!++;
          grew = true;
        }
      }
    }
    if (!grew) {
      const [a, b] = clashes[0]!;
      throw new UsageError(`--each names each capture's outputs by its name: ${paths[a!]} and ${paths[b!]} would both be "${nameAt(a!)}" (rename one, or analyse them in two runs)`);
    }
  }
}

/**
 * A lane per job, each a worker thread that analyses its next capture until none is left. The
 * largest captures go first: a large one started last would keep one lane busy while the others
 * idle (summaries are still printed in the order given).
 */
async function analyzeOnWorkers(perCapture: AnalyzeArgs[], sizes: number[], jobs: number, onResult: (index: number, result: EachResult) => void, onRead: (index: number, bytesDone: number) => void): Promise<void> {
  const workerUrl = new URL('../node/each-worker.js', import.meta.url);
  const queue = perCapture.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  let next = 0;
  const lane = async (): Promise<void> => {
    let worker: Worker | null = null;
    try {
      while (next < queue.length) {
        const index = queue[next++]!;
        worker ??= new Worker(workerUrl);
        const result = await analyzeOn(worker, perCapture[index]!, (bytes) => onRead(index, bytes));
        // A worker that died (out of memory, a crash of the runtime) is replaced for the next capture.
        if (result.workerGone) worker = null;
        onResult(index, result);
      }
    } finally {
      await worker?.terminate();
    }
  };
  await Promise.all(Array.from({ length: jobs }, lane));
}

function analyzeOn(worker: Worker, args: AnalyzeArgs, onRead: (bytesDone: number) => void): Promise<EachResult & { workerGone?: boolean }> {
  return new Promise((resolve) => {
    const settle = (result: EachResult & { workerGone?: boolean }) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      resolve(result);
    };
    const lost = (why: string) => settle({
      code: EXIT_FAILED, stdout: '', workerGone: true, outputFailed: false,
      stderr: `resumescope: ${args.inputs[0]}: internal error (a bug in resumescope): the analysis stopped (${why}); please report it with this capture\n`,
    });
    const onMessage = (message: EachMessage) => {
      if (message.type === 'progress') onRead(message.bytesDone);
      else settle({ code: message.code, stdout: message.stdout, stderr: message.stderr, outputFailed: message.outputFailed });
    };
    const onError = (e: Error) => lost(e.message);
    const onExit = (code: number) => lost(`its thread exited with ${code}`);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ args } satisfies EachRequest);
  });
}

/**
 * On stderr while the captures are analysed (the CLI's progress bar): the bytes read over all
 * captures (the reading is most of an analysis's time) and how many captures are done.
 */
class BatchProgress {
  private readonly bar: ProgressBar;
  private readonly bytes: number[];
  private readonly total: number;
  private finishedCount = 0;
  constructor(io: CliIo, enabled: boolean, private readonly files: InputFile[], private readonly jobs: number) {
    this.bar = new ProgressBar(io, enabled);
    this.bytes = files.map(() => 0);
    this.total = files.reduce((sum, f) => sum + f.size, 0);
  }

  read(index: number, bytesDone: number): void {
    this.bytes[index] = Math.min(bytesDone, this.files[index]!.size);
    this.show(false);
  }

  done(index: number): void {
    this.bytes[index] = this.files[index]!.size;
    this.finishedCount++;
    this.show(true);
  }

  /** `force`: now, else at most ten times a second (the bar's own limit). */
  show(force = true): void {
    if (this.finishedCount >= this.files.length) return;
    const fraction = this.total > 0 ? this.bytes.reduce((a, b) => a + b, 0) / this.total : this.finishedCount / this.files.length;
    this.bar.stage(`read, ${this.finishedCount} of ${this.files.length} captures analysed (${this.jobs} at a time)`, fraction, force);
  }

  clear(): void {
    this.bar.done();
  }
}
