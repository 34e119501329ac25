import { buildDocument, addToTotals, describeEncapsulation, emptyTotals, numberConnections, resumptionRate, TOOL_VERSION, type Totals } from '../../parser/report/document.js';
import { analyzeFilesInParallel, defaultJobs } from '../node/parallel.js';
import { MemoryForecast, readMemory, type MemoryReading } from './memory-forecast.js';
import { SCHEMA_VERSION, type CaptureSummary, type ConnectionRecord } from '../../parser/report/types.js';
import { analyzeFiles, captureFileName, describeFsError, filesReadTogether, firstPacketTimes, readingPlan, resolveInputs, type AnalyzeOptions, type AnalyzeProgress, type InputFile } from '../node/analyze-files.js';
import { ConnectionStore, StoredConnection, type StoreSnapshot } from '../../parser/report/connection-store.js';
import { HELP, outputsOf, parseArgs, UsageError, type AnalyzeArgs } from './args.js';
import { checkOutputPaths, csvHeader, csvRow, OutputError, OutputFile, STANDARD_OUTPUT, standardOutputWrittenAsOutput } from './writers.js';
import { ByteWriter } from '../../parser/report/byte-writer.js';
import { DEFAULT_FILTER, FailureExporter, parseConnectionFilter } from '../../parser/report/failure-export.js';
import { checkStateFolder, readStateFile, StateFileWriter, stateFileOrderProblem, stateFileStamp } from './state-file.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compatibilityIdsOf } from '../../parser/diagnose/compatibility-ids.js';
import { describeDiagnosisStep, diagnose, diagnosisShare } from '../../parser/diagnose/diagnose.js';
import { CLOCK_SEGMENT_STEP, CLOCK_STEP_BACK_CODE, clockStepsOf } from '../../parser/diagnose/clock-segments.js';
import { formatDuration } from '../../parser/diagnose/format.js';
import type { CachePolicy, Diagnosis } from '../../parser/diagnose/types.js';
import { terminalSafe } from './terminal-text.js';
import { exportInReadingOrder } from '../node/export-pcapng.js';
import { CLOCK_OFFSET_CODE } from '../../parser/clock-offset.js';
import { readTogether, sayDrifting, toReadAgain, type PlannedFile, type ReadTogether, type SharedConnections } from '../../parser/merged-reading.js';

export const EXIT_OK = 0;
export const EXIT_PARTIAL = 1;
export const EXIT_FAILED = 2;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stderrIsTty: boolean;
  /** Bytes of the input read so far (for a caller that shows its own progress: analyze --each). */
  readProgress?: (bytesDone: number) => void;
  /**
   * This process's memory, for the warning when the input will not fit (MemoryForecast); null: no
   * forecast (analyze --each, whose analyses share the process and print when they end). Default:
   * readMemory().
   */
  memory?: (() => MemoryReading) | null;
  /** Told when the analysis was made but an output of it could not be written (a full disk). */
  outputFailed?: () => void;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  stderrIsTty: process.stderr.isTTY === true,
};

/**
 * Standard output that fails (the summary redirected to a full disk) is said once on stderr and
 * makes the exit 2; a reader that went away (`| head`, EPIPE) took what it wanted. Unheard, the
 * failure was an unhandled 'error' event: a stack trace and exit 1.
 */
let standardOutputFailure: string | null = null;
function watchStandardOutput(): void {
  if (process.stdout.listenerCount('error') > 0) return;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || standardOutputFailure !== null) return;
    standardOutputFailure = describeFsError(e);
    if (!standardOutputWrittenAsOutput()) process.stderr.write(`resumescope: standard output: cannot write: ${standardOutputFailure}\n`);
    // The event may come after main returned (it is emitted on the next tick): the exit says it too.
    process.exitCode = Math.max(Number(process.exitCode ?? 0), EXIT_FAILED);
  });
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  if (io === defaultIo) watchStandardOutput();
  const code = await runCommand(argv, io);
  return standardOutputFailure !== null && io === defaultIo ? Math.max(code, EXIT_FAILED) : code;
}

async function runCommand(argv: string[], io: CliIo): Promise<number> {
  return reportingErrors(io, async () => {
    const args = parseArgs(argv);
    switch (args.command) {
      case 'help':
        // Asked for: standard output, success. Nothing asked (a script that lost its arguments): a usage error.
        if (args.usage === true) {
          io.stderr(HELP);
          return EXIT_FAILED;
        }
        io.stdout(HELP);
        return EXIT_OK;
      case 'version':
        io.stdout(`resumescope ${TOOL_VERSION}\n`);
        return EXIT_OK;
      case 'analyze':
        if (args.each) return (await import('./each.js')).runEach(args, io);
        return await runAnalyze(args, io);
      case 'ui': {
        const { runUi } = await import('../server/ui-server.js');
        return await runUi(args, io);
      }
    }
  });
}

/** Runs a command, turning its errors into messages and an exit status (as main does for every command). */
export async function reportingErrors(io: CliIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`resumescope: ${e.message}\nTry "resumescope --help".\n`);
      return EXIT_FAILED;
    }
    if (e instanceof OutputError) {
      io.stderr(`resumescope: ${e.message}\n`);
      return EXIT_FAILED;
    }
    return internalError(e, io);
  }
}

export function internalError(e: unknown, io: CliIo): number {
  const detail = e instanceof Error ? e.message : String(e);
  io.stderr(`resumescope: internal error (a bug in resumescope): ${detail}\n` +
    'Please report it with the capture that caused it. Set RESUMESCOPE_DEBUG=1 for details.\n');
  if (process.env.RESUMESCOPE_DEBUG && e instanceof Error && e.stack) io.stderr(e.stack + '\n');
  return EXIT_FAILED;
}

export async function runAnalyze(args: AnalyzeArgs, io: CliIo): Promise<number> {
  if (args.pcapngFilter !== null) {
    try {
      parseConnectionFilter(args.pcapngFilter);
    } catch (e) {
      throw new UsageError(`--pcapng-filter: ${(e as Error).message}`);
    }
  }
  const outputs = outputsOf(args);
  const { files, problems, repeated } = await resolveInputs(args.inputs);
  // --pcapng-out reads the captures a second time: stdin and pipes are gone by then. Refused before
  // the analysis, like an output that cannot be written (it wrote an empty pcapng, exit 0).
  const streamed = args.pcapngOut !== null ? files.find((f) => f.stream) : undefined;
  if (streamed !== undefined) {
    throw new UsageError(`--pcapng-out reads the captures twice and cannot re-read ${streamed.path === '-' ? 'stdin' : `the pipe ${terminalSafe(streamed.path)}`}: give it a file (or leave --pcapng-out out)`);
  }
  // The state file is written back too: not an input, not another output's file.
  checkOutputPaths(args.state !== null ? [...outputs, ['--state', args.state]] : outputs, files);
  if (args.state !== null) checkStateFolder(args.state);
  const stateReadAs = args.state !== null ? stateFileStamp(args.state) : null;
  const carriedIn = args.state !== null ? readStateFile(args.state) : null;
  if (args.state !== null && carriedIn !== null) {
    // A capture that starts before the state's last session use is refused after the reading too
    // (its earliest packet may come later in a file); the files' first packets tell most such
    // mistakes now, not after 26 s and 600 MB of a capture analysed for nothing.
    const firsts = await firstPacketTimes(files.filter((f) => !f.stream).map((f) => f.path));
    const first = Math.min(...firsts.filter((t) => Number.isFinite(t) && t > 0));
    const problem = Number.isFinite(first) ? stateFileOrderProblem(args.state, carriedIn, first) : null;
    if (problem !== null) {
      io.stderr(`resumescope: ${problem}\n`);
      return EXIT_FAILED;
    }
  }
  for (const path of repeated) io.stderr(`resumescope: ${terminalSafe(path)}: named more than once; read once\n`);
  // With an output on standard output, the summary goes to standard error.
  const summaryTo = outputs.some(([, path]) => path === STANDARD_OUTPUT) ? io.stderr : io.stdout;
  for (const p of problems) io.stderr(`resumescope: ${terminalSafe(p.path)}: ${terminalSafe(p.reason)}\n`);
  if (files.length === 0) return EXIT_FAILED;

  const progress = new ProgressBar(io, args.progress === 'always' || (args.progress === 'auto' && io.stderrIsTty));
  const forecast = io.memory === null ? null : new MemoryForecast(io.memory ?? readMemory);
  const jobs = Math.min(args.jobs ?? defaultJobs(), files.length);
  // A thread per file cannot merge files by time: files that hold the same connections (a file
  // per direction of a tap), read apart, make every handshake one-sided. They are read in one.
  const together = jobs > 1 && !files.some((f) => f.stream) ? await filesReadTogether(files) : [];
  if (together.length > 0) io.stderr(`resumescope: ${together.map(terminalSafe).join(', ')} hold the same connections: read together, merged by time, in one thread (--jobs reads a file per thread)\n`);
  /** Reads the files into a fresh store; `alsoTogether`: files (indexes) to read merged whatever their heads show. */
  const readFiles = async (alsoTogether: ReadTogether[]) => {
    const totals = emptyTotals();
    // Every record goes into the column store (~0.2 KB each, no object graph): memory grows with
    // connections and sessions, not packets, and the outputs are written from it at the end.
    const store = new ConnectionStore();
    const parallel = jobs > 1 && !files.some((f) => f.stream) && together.length === 0 && alsoTogether.length === 0;
    const options: AnalyzeOptions = {
      onConnection: {
        // Totals read no field that settle changes (packets, end time).
        record: (record) => {
          addToTotals(totals, record);
          const row = store.record(record);
          if (store.count === LARGE_CAPTURE) collectGarbageSooner();
          return row;
        },
        settle: (row, packets, endTime) => store.settle(row, packets, endTime),
      },
      onProgress: (p) => {
        progress.update(p);
        io.readProgress?.(p.bytesDone);
        const warning = forecast?.check(p.bytesDone, p.bytesTotal) ?? null;
        if (warning !== null) {
          progress.done();
          io.stderr(`resumescope: ${warning}\n`);
        }
      },
    };
    // A worker's rows are copied into the one store (see ConnectionStore.append).
    const fromWorker = (snapshot: StoreSnapshot) => {
      store.append(snapshot);
      if (store.count >= LARGE_CAPTURE) collectGarbageSooner();
    };
    const result = parallel ? await analyzeFilesInParallel(files, jobs, options, fromWorker) : await analyzeFiles(files, options, alsoTogether);
    // The records' views, made now that all are in (see ConnectionStore.views).
    const connections: ConnectionRecord[] = store.views();
    if (parallel) for (const view of connections) addToTotals(totals, view);
    return { totals, result, connections };
  };
  let { totals, result, connections } = await readFiles([]);
  // Captures of one link that overlap in time, whose first megabytes showed no shared connection:
  // read one after the other, each connection of the overlap counted twice. And files read merged
  // on clocks their first megabytes could not bound. Both are read again, merged, on one clock.
  const { again: pairs, drifting } = toReadAgain(connections, result.captures, result.plan ?? [], result.handshakes ?? [], files.map(captureFileName));
  // A stream (stdin, a pipe) cannot be read again: such a pair is said, and left as read.
  const streams = new Set(files.filter((f) => f.stream).map(captureFileName));
  const again = pairs.filter((pair) => !pair.files.some((f) => streams.has(f)));
  const named = (pair: SharedConnections) => pair.files.map(terminalSafe).join(' and ');
  const apart = (pair: SharedConnections) => pair.rate !== undefined
    ? `hold the same connections on clocks that run at two rates (${(pair.connections ?? 0).toLocaleString('en-US')} in both)`
    : pair.connections !== undefined
    ? `hold the same connections past their first megabytes (${pair.connections.toLocaleString('en-US')} in both)`
    : `are on clocks ${formatDuration(Math.abs(pair.ahead))} apart (${(pair.handshakes ?? 0).toLocaleString('en-US')} TCP handshakes split between them past their first megabytes)`;
  for (const pair of pairs.filter((p) => !again.includes(p))) {
    const left = pair.rate !== undefined
      ? 'a stream cannot be read again on one rate, so those connections count twice (capture on clocks kept together by NTP)'
      : pair.connections !== undefined
      ? 'read one after the other: a stream cannot be read again merged, so those connections count twice (join the captures with mergecap first)'
      : 'a stream cannot be read again: its packets were read on its own clock (shift it with editcap -t first)';
    io.stderr(`resumescope: warning: ${named(pair)} ${apart(pair)}, ${left}\n`);
  }
  if (again.length > 0) {
    progress.done();
    for (const pair of again) {
      io.stderr(`resumescope: ${named(pair)} ${apart(pair)}: read again, ${pair.rate !== undefined ? 'on one clock and rate' : pair.connections !== undefined ? 'merged by packet time' : 'on one clock'}\n`);
    }
    const index = new Map(files.map((f, i) => [captureFileName(f), i]));
    ({ totals, result, connections } = await readFiles(readTogether(again, (name) => index.get(name)!, result.plan)));
  }
  sayDrifting(drifting, result.captures);
  progress.done();
  phase('read', io);
  for (const p of result.problems) io.stderr(`resumescope: ${terminalSafe(p.path)}: ${terminalSafe(p.reason)}\n`);
  for (const p of result.internalErrors ?? []) io.stderr(`resumescope: ${terminalSafe(p.path)}: ${terminalSafe(p.reason)}\n`);
  io.stderr(formatAnomalyWarnings(result.captures));
  const allProblems = [...problems, ...result.problems, ...(result.internalErrors ?? [])];
  const readable = result.captures.filter((c) => c.error === undefined);
  if (readable.length === 0) return EXIT_FAILED;
  if (args.state !== null && carriedIn !== null) {
    const starts = readable.map((c) => c.firstTime).filter((t): t is number => t !== null);
    const problem = stateFileOrderProblem(args.state, carriedIn, starts.length > 0 ? Math.min(...starts) : null);
    if (problem !== null) {
      io.stderr(`resumescope: ${problem}\n`);
      return EXIT_FAILED;
    }
  }

  // Final ids (1..N by first packet) and the diagnosis work on the stored rows.
  const diagnosing = `diagnosing ${connections.length.toLocaleString('en-US')} connections`;
  progress.stage(`${diagnosing}…`, null, true);
  numberConnections(connections);
  // The state goes to a temporary file as the diagnosis makes it, and takes FILE's place last, so
  // that a failed output leaves the series where it was.
  const stateOut = args.state !== null ? new StateFileWriter(args.state, stateReadAs) : null;
  try {
    const diagnosis = diagnose(connections, {
      ...(carriedIn !== null ? { carriedIn: carriedIn.take } : {}),
      carryOut: stateOut?.sink ?? false,
      clockSteps: clockStepsOf(result.captures),
      onProgress: (p) => {
        // The session index is garbage once the sessions are tracked: on a large capture it is
        // collected now, before the per-group working arrays pile up on it (the memory peak).
        if (p.step === 'sessions tracked' && connections.length >= LARGE_CAPTURE) collectGarbageNow();
        progress.stage(`${diagnosing}: ${describeDiagnosisStep(p)}`, diagnosisShare(p), p.step !== 'tracking sessions');
      },
    });
    progress.done();
    phase('diagnosed', io);
    const extra = { servers: diagnosis.servers, clients: diagnosis.clients, findings: diagnosis.findings, whatIf: diagnosis.whatIf, sessions: diagnosis.sessions };
    const { cutShort, failed } = await writeOutputs(args, connections, result.captures, extra, progress);
    progress.done();
    phase('written', io);
    const document = buildDocument(result.captures, connections, extra);
    // --report: the self-contained HTML report (app/report), from the same document and diagnosis.
    if (args.report) {
      try {
        await (await import('../report/write-report.js')).writeHtmlReport(args.report, document, diagnosis, new Set(result.readMerged ?? []));
      } catch (e) {
        if (!(e instanceof OutputError)) throw e;
        failed.set('--report', e.message);
      }
    }
    const wrote: string[] = [];
    for (const [flag, path] of outputs) {
      if (!path || flag === '--pcapng-out') continue;
      if (failed.has(flag)) wrote.push(`${outputName(path)} (${flag.slice(2)}): not written (the error is above)`);
      else if (cutShort.has(flag)) wrote.push(`${outputName(path)} (${flag.slice(2)}): its reader stopped reading before the end; the rest was not written`);
      else wrote.push(`wrote ${outputName(path)} (${flag.slice(2)})`);
    }
    if (args.pcapngOut) {
      let written: Awaited<ReturnType<typeof writeFailuresPcapng>> = null;
      try {
        written = await writeFailuresPcapng(args.pcapngOut, args.pcapngFilter ?? DEFAULT_FILTER, files, result.plan, connections, io);
      } catch (e) {
        if (!(e instanceof OutputError)) throw e;
        failed.set('--pcapng-out', e.message);
      }
      if (written === null && !failed.has('--pcapng-out')) return EXIT_FAILED;
      if (written === null) wrote.push(`${outputName(args.pcapngOut)} (pcapng): not written (the error is above)`);
      else wrote.push(`wrote ${outputName(args.pcapngOut)} (pcapng: ${written.packets} packets of ${written.connections} connections, commented)`);
      // A filter that keeps nothing is most likely a typo (a host name where an address belongs).
      if (written !== null && written.connections === 0) {
        const filter = args.pcapngFilter ?? DEFAULT_FILTER;
        io.stderr(`resumescope: warning: --pcapng-filter ${terminalSafe(filter)} chose no connection; the pcapng holds no packet\n`);
      }
    }
    // An output that failed (a full disk) is said, and the analysis still gives what it can: the
    // other outputs and the summary (a failed --json lost both).
    for (const message of failed.values()) io.stderr(`resumescope: ${message}\n`);
    if (failed.size > 0) io.outputFailed?.();
    // A series moves on only with every output of its analysis written: run again, it is read again.
    if (stateOut !== null && failed.size > 0) wrote.push(`${outputName(stateOut.path)} (state): left as it was, since an output failed`);
    else if (stateOut !== null) {
      stateOut.commit();
      wrote.push(`wrote ${outputName(stateOut.path)} (state: ${describeCarried(diagnosis)})`);
    }
    if (!args.quiet) summaryTo(formatSummary(document.captures, totals, compatibilityIdsOf(diagnosis.servers), allProblems.length, result.readMerged?.length ?? 0) + formatDiagnosis(diagnosis) + wrote.map((w) => w + '\n').join(''));
    // A capture whose reading stopped part way (a cut or damaged .gz, an I/O error) was read in part
    // only: like an unreadable file beside good ones, exit 1 (it was 0, "all input analysed").
    const readInPart = readable.some((c) => c.anomalies.some((a) => a.code === 'read-error'));
    if (failed.size > 0) return EXIT_FAILED;
    return allProblems.length > 0 || readInPart ? EXIT_PARTIAL : EXIT_OK;
  } finally {
    // Not committed (a failure on the way): the previous state stays.
    stateOut?.abandon();
  }
}

/** "120 sessions carried in, 340 carried on" (the counts of --state). */
function describeCarried(diagnosis: Diagnosis): string {
  const n = (x: number | null) => (x ?? 0).toLocaleString('en-US');
  return `${n(diagnosis.sessions.carriedIn)} sessions carried in, ${n(diagnosis.sessions.carriedOut)} carried on`;
}

/** Connections from which a capture counts as large: memory matters more than a few percent of speed. */
const LARGE_CAPTURE = 250_000;

/**
 * V8 lets the heap grow up to 4× what survived the last full collection before it collects again:
 * right for an interactive program, costly for a batch job whose working set is already large (the
 * 2-million-connection run peaked at 1.9 GiB with ~0.7 GiB live). A 1.2× bound cut that peak by a
 * quarter at 1.5× and by another ~85 MiB at 1.2×, in the same time (fewer pages touched); on small
 * captures it would cost ~5 %, so it is only set once a capture is large. Node passes the flag to V8
 * at run time; V8 reads it at every collection (MemoryController::GrowingFactor).
 */
function collectGarbageSooner(): void {
  setFlagsFromString('--heap-growing-percent=20');
}

/**
 * A full garbage collection, where V8 lets the program ask for one. A stage that drops a large
 * structure leaves its typed arrays resident until the next major collection, and the next
 * stage's allocations come on top: on the 2-million-connection capture the session index's
 * ~55 MiB were still there at the peak. The function comes from V8's `gc` extension, exposed
 * for this (a large capture's run is seconds long; one collection costs ~0.1 s).
 */
function collectGarbageNow(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // Not available in this runtime: the collection comes when V8 decides.
  }
}

/**
 * One pass over the stored connections, in id order (first packet), writes every output. Returns
 * the flags of outputs to standard output whose reader went away before the end (`| head`);
 * once every output's has, the pass stops.
 */
/**
 * Writes --json, --ndjson and --csv in one pass. Returns the outputs whose reader stopped reading
 * (cut short, no failure) and those that failed (a full disk: flag → message), each on its own:
 * one output that cannot be written leaves the others written.
 */
async function writeOutputs(args: AnalyzeArgs, connections: ConnectionRecord[], captures: CaptureSummary[], extra: Record<string, unknown>, progress: ProgressBar): Promise<{ cutShort: Set<string>; failed: Map<string, string> }> {
  const cutShort = new Set<string>();
  const failed = new Map<string, string>();
  if (!args.json && !args.ndjson && !args.csv) return { cutShort, failed };
  const json = args.json ? new OutputFile(args.json) : null;
  const ndjson = args.ndjson ? new OutputFile(args.ndjson) : null;
  const csv = args.csv ? new OutputFile(args.csv) : null;
  csv?.write(csvHeader());
  if (json) {
    // The document's small parts first, then the connections one per line (a valid JSON document).
    const head = { schemaVersion: SCHEMA_VERSION, tool: { name: 'resumescope', version: TOOL_VERSION }, captures, ...extra };
    json.write(JSON.stringify(head, null, 1).replace(/\n}$/, ',\n "connections": [\n'));
  }
  // Each connection's JSON is written once, as UTF-8 bytes, and copied to each output.
  const line = new ByteWriter(1 << 12);
  for (let index = 0; index < connections.length; index++) {
    const record = connections[index]!;
    if (json || ndjson) {
      line.reset();
      if (record instanceof StoredConnection) record.writeJson(line);
      else line.text(JSON.stringify(record));
      if (index > 0) json?.write(',\n');
      json?.write(line.view());
      ndjson?.write(line.view());
      ndjson?.write('\n');
    }
    csv?.write(csvRow(record));
    if (index % 1000 === 999) {
      progress.stage(`writing ${(index + 1).toLocaleString('en-US')} of ${connections.length.toLocaleString('en-US')} connections`, (index + 1) / connections.length, index === 999);
      await json?.drained();
      await ndjson?.drained();
      await csv?.drained();
      if ((json?.readerGone ?? true) && (ndjson?.readerGone ?? true) && (csv?.readerGone ?? true)) break;
    }
  }
  json?.write('\n ]\n}\n');
  const outputs = [['--json', json], ['--ndjson', ndjson], ['--csv', csv]] as const;
  const closed = await Promise.allSettled(outputs.map(([, file]) => file?.close()));
  closed.forEach((result, i) => {
    const flag = outputs[i]![0];
    if (result.status === 'rejected') {
      if (!(result.reason instanceof OutputError)) throw result.reason;
      failed.set(flag, result.reason.message);
    } else if (outputs[i]![1]?.readerGone) cutShort.add(flag);
  });
  return { cutShort, failed };
}

/** With RESUMESCOPE_DEBUG set: time and memory at the end of each stage, on stderr. */
function phase(name: string, io: CliIo): void {
  if (!process.env.RESUMESCOPE_DEBUG) return;
  // With node --expose-gc, the figures are of live memory (garbage collected first).
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const mb = (x: number) => `${(x / 2 ** 20).toFixed(0)} MiB`;
  io.stderr(`resumescope: ${name} at ${process.uptime().toFixed(2)} s: heap ${mb(m.heapUsed)}, typed arrays ${mb(m.arrayBuffers)}, rss ${mb(m.rss)}\n`);
}

/** Capture anomalies shown per file on stderr (the JSON output lists all). */
const WARNINGS_PER_FILE = 3;

/**
 * What could not be read as it should, with the file and byte offset, as warnings: damage that was
 * read around (a bad record, a cut end) is a warning, not a failure, but a user without --json must
 * still learn where it is. Files that could not be read at all were reported already.
 */
export function formatAnomalyWarnings(captures: CaptureSummary[]): string {
  let text = '';
  for (const capture of captures) {
    if (capture.error !== undefined) continue;
    const listed = capture.anomalies.filter((a) => a.code !== 'more-anomalies');
    for (const a of listed.slice(0, WARNINGS_PER_FILE)) {
      const where = [a.offset !== undefined ? `byte ${a.offset.toLocaleString('en-US')}` : null, a.frame !== undefined ? `frame ${a.frame}` : null].filter((x) => x !== null).join(', ');
      text += `resumescope: warning: ${terminalSafe(capture.file)}${where ? ` (${where})` : ''}: ${terminalSafe(a.message)}\n`;
    }
    const rest = listed.length - WARNINGS_PER_FILE;
    if (rest > 0) text += `resumescope: warning: ${terminalSafe(capture.file)}: ${rest.toLocaleString('en-US')} more (under "anomalies" in --json)\n`;
    const overflow = capture.anomalies.find((a) => a.code === 'more-anomalies');
    if (overflow) text += `resumescope: warning: ${terminalSafe(capture.file)}: ${overflow.message}\n`;
  }
  return text;
}

/**
 * `compatibilityIds`: rejected offers that were most likely a TLS 1.3 client's random session ID
 * (ServerSummary.tls13CompatibilityIds): named on the offers line and left out of its rate.
 */
/** `unread`: inputs that could not be read (missing, not a capture, failing), named on stderr already. */
/** `merged`: files read merged by packet time (AnalyzeResult.readMerged). */
/** Why offers are unknown: ClientHellos the snap length cut (say how to capture them), the rest not captured. */
function unknownOffersText(unknown: number, cut: number, n: (x: number) => string): string {
  if (cut === 0) return 'ClientHello not captured';
  if (cut >= unknown) return 'ClientHello cut by the snap length: capture with -s 0';
  return `${n(cut)} ClientHello${cut === 1 ? '' : 's'} cut by the snap length (capture with -s 0), ${n(unknown - cut)} not captured`;
}

export function formatSummary(captures: CaptureSummary[], t: Totals, compatibilityIds = 0, unread = 0, merged = 0): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const percent = (fraction: number | null) => (fraction === null ? '—' : `${(100 * fraction).toFixed(1)}%`);
  const notOffers = compatibilityIds > 0
    ? ` (${n(compatibilityIds)} of them a TLS 1.3 client's random session ID, most likely no offer: not in the rate)`
    : '';
  // The files read: one that could not be read is counted apart (it was listed as read, and a
  // missing one not at all).
  const read = captures.filter((c) => c.error === undefined);
  const bytes = read.reduce((s, c) => s + c.bytes, 0);
  const packets = captures.reduce((s, c) => s + c.packets, 0);
  const anomalies = captures.reduce((s, c) => s + c.anomalies.length, 0);
  const lines = [
    `resumescope ${TOOL_VERSION}: ${read.length} capture file${read.length === 1 ? '' : 's'}${merged > 1 ? ` (${n(merged)} of them holding the same connections: read merged by packet time)` : ''}${unread > 0 ? ` (${n(unread)} more input${unread === 1 ? '' : 's'} could not be read)` : ''}, ${n(packets)} packets, ${sizeText(bytes)}`,
    `TLS connections     ${n(t.connections)}  (handshake complete ${n(t.complete)}, aborted ${n(t.aborted)}, incomplete ${n(t.incomplete)})`,
    `resumption offers   ${n(t.offers)}  accepted ${n(t.accepted)} (${percent(resumptionRate(t.accepted, t.rejected, compatibilityIds))} of those answered), rejected ${n(t.rejected)}${notOffers}, unanswered ${n(t.unanswered)}; not offered ${n(t.notOffered)}${t.offerUnknown > 0 ? `; unknown ${n(t.offerUnknown)} (${unknownOffersText(t.offerUnknown, t.offerCut ?? 0, n)})` : ''}`,
  ];
  if (t.aborted > 0) {
    const stages = Object.entries(t.abortedByStage).map(([stage, count]) => `${stage} ${n(count)}`).join(', ');
    lines.push(`aborted handshakes  ${n(t.aborted)}  by client ${n(t.abortedBy.client)}, by server ${n(t.abortedBy.server)}; ${stages}`);
  }
  const { snaplen, missing, oneWay } = t.handshakesCut;
  if (snaplen + missing + oneWay > 0) {
    // Bytes the capture lost make a handshake unknowable, not aborted: say how to capture it whole.
    const parts = [
      snaplen > 0 ? `${n(snaplen)} cut by the snap length (capture with -s 0)` : null,
      oneWay > 0 ? `${n(oneWay)} with one direction only (capture where both directions pass)` : null,
      missing > 0 ? `${n(missing)} with segments missing from the capture` : null,
    ];
    lines.push(`lost to the capture ${parts.filter((p) => p !== null).join(', ')}: handshakes incomplete, outcome unknown`);
  }
  const versions = Object.entries(t.byVersion).sort((a, b) => b[1] - a[1]).map(([v, c]) => `${v} ${n(c)}`).join(', ');
  if (versions) lines.push(`versions            ${versions}`);
  const quic = captures.reduce((s, c) => s + (c.tlsOverUdp?.quicHandshakeDatagrams ?? 0), 0);
  const dtls = captures.reduce((s, c) => s + (c.tlsOverUdp?.dtlsDatagrams ?? 0), 0);
  if (quic + dtls > 0) {
    // A browser capture whose sessions went over QUIC would otherwise just look empty.
    const kinds = [quic > 0 ? `QUIC ${n(quic)} handshake datagram${quic === 1 ? '' : 's'}` : null, dtls > 0 ? `DTLS ${n(dtls)} datagram${dtls === 1 ? '' : 's'}` : null];
    lines.push(`TLS over UDP        ${kinds.filter((k) => k !== null).join(', ')}: not analysed (resumescope follows TLS over TCP)`);
  }
  const own = t.balancerOwn ?? 0;
  if (t.proxied > 0 || own > 0) {
    const named = t.proxied > 0 ? `${n(t.proxied)} connection${t.proxied === 1 ? '' : 's'} came through a load balancer that named its client: clients are known by that address` : null;
    const local = own > 0 ? `${n(own)} ${own === 1 ? 'was' : 'were'} the balancer's own (PROXY LOCAL: its health checks)` : null;
    lines.push(`PROXY protocol      ${[named, local].filter((x) => x !== null).join('; ')}`);
  }
  const tunnels = describeEncapsulation(captures, n);
  if (tunnels !== null) lines.push(`tunnels opened      ${tunnels}: the connections inside are analysed`);
  const steps = captures.flatMap((c) => c.anomalies.filter((a) => a.code === CLOCK_STEP_BACK_CODE));
  if (steps.length > 0) {
    // Verdicts across a far step would rest on reversed time: the diagnosis follows no session across one.
    const first = steps[0]!;
    const where = `${terminalSafe(first.file ?? '')} frame ${first.frame ?? '?'}${first.offset !== undefined ? ` (byte ${n(first.offset)})` : ''}`;
    const size = formatDuration(first.seconds ?? 0);
    const followed = steps.some((a) => (a.seconds ?? 0) >= CLOCK_SEGMENT_STEP) ? `no session followed across a step of ${formatDuration(CLOCK_SEGMENT_STEP)} or more` : 'sessions followed across';
    lines.push(`capture clock       steps back ${steps.length === 1 ? `${size} at ${where}` : `${n(steps.length)} times, first ${size} at ${where}`}: captures appended or the clock set back; ${followed} (see the anomalies)`);
  }
  const offsets = captures.flatMap((c) => c.anomalies.filter((a) => a.code === CLOCK_OFFSET_CODE).map((a) => ({ file: c.file, seconds: a.seconds ?? 0 })));
  if (offsets.length > 0) {
    const moved = offsets.map((o) => `${terminalSafe(o.file)} ${o.seconds > 0 ? '+' : '−'}${formatDuration(Math.abs(o.seconds))}`).join(', ');
    lines.push(`capture clock       packet times moved onto one clock (TCP handshakes, or packets, both files hold): ${moved} (see the anomalies)`);
  }
  const copies = captures.reduce((sum, c) => sum + (c.copiesDropped ?? 0), 0);
  if (copies > 0) {
    lines.push(`overlapping files   ${n(copies)} TCP packets held by two files read merged (overlapping captures): each analysed once`);
  }
  if (anomalies > 0) lines.push(`capture anomalies   ${n(anomalies)} (the first ${WARNINGS_PER_FILE} of each file on stderr; all under "anomalies" in --json)`);
  return lines.join('\n') + '\n';
}

/** Progress lines into a log (standard error not a terminal): one per this many milliseconds at most. */
const LOG_LINE_INTERVAL = 2000;

export class ProgressBar {
  private last = 0;
  private shown = false;
  /**
   * Standard error is no terminal (--progress into a log file, a CI job): a line now and then
   * instead of one line redrawn in place, which a log kept as a single line of carriage returns
   * and erase sequences, ending erased.
   */
  private readonly lines: boolean;
  constructor(private readonly io: CliIo, private readonly enabled: boolean) {
    this.lines = !io.stderrIsTty;
  }

  update(p: AnalyzeProgress): void {
    const fraction = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
    const mb = (x: number) => (x / 1e6).toFixed(1);
    const name = p.file.length > 40 ? '…' + p.file.slice(-39) : p.file;
    this.show(fraction, `${mb(p.bytesDone)}/${mb(p.bytesTotal)} MB  ${terminalSafe(name)} (${p.fileIndex + 1}/${p.fileCount})`);
  }

  /**
   * The stages after reading (on a capture of millions of connections they take as long as the
   * reading): shown at once when they start (`force`), then at most ten times a second.
   */
  stage(label: string, fraction: number | null, force = false): void {
    this.show(fraction, label, force);
  }

  private show(fraction: number | null, label: string, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (this.lines) {
      // Every LOG_LINE_INTERVAL at most, whatever asks: a stage that starts is shown at the next line.
      if (now - this.last < LOG_LINE_INTERVAL && this.last !== 0) return;
      this.last = now;
      this.io.stderr(`resumescope: ${fraction === null ? '' : `${(fraction * 100).toFixed(0).padStart(3)}% `}${label}\n`);
      return;
    }
    if (!force && now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const filled = Math.round((fraction ?? 0) * width);
    const bar = fraction === null ? '' : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
    this.io.stderr(`\r${bar}${label}\x1b[K`);
    this.shown = true;
  }

  done(): void {
    if (this.shown && !this.lines) this.io.stderr('\r\x1b[K');
    this.shown = false;
  }
}

/** Server groups whose cache policy the summary lists; the rest are counted. */
const SUMMARY_GROUPS = 5;

/**
 * A cache's size as the summary says it. Not reached, the bound is the most sessions an accepted
 * offer came after: "≥ 1 session" said nothing, so below two it is "no eviction seen" with why.
 */
function capacityText(e: CachePolicy['capacity']): string {
  const sessions = (x: number) => `${Math.round(x).toLocaleString('en-US')} ${Math.round(x) === 1 ? 'session' : 'sessions'}`;
  if (e.entries !== null) return `${sessions(e.entries)}${e.appliesTo === 'tickets' ? ' of tickets' : e.appliesTo === 'session-ids' ? ' of session IDs' : ''} (confidence ${e.confidence})`;
  if (e.low !== null && e.low >= 2) return `not reached (holds ≥ ${sessions(e.low)})`;
  if (e.low !== null) return 'not reached (too few sessions issued between a session and its reuse to tell)';
  return 'unknown';
}

export function formatDiagnosis(d: Diagnosis): string {
  const lines: string[] = [];
  const shown = d.servers.filter((s) => s.offers > 0 || s.cachePolicy.issuesNoSessions.detected || s.cachePolicy.tls13TicketsUnseen.detected);
  // The groups the findings name first, the gravest first (critical before warning), then the
  // busiest: five lines of the busiest groups hid the one a critical finding was about.
  const gravity = new Map<string, number>();
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  for (const f of d.findings) if (f.group !== null) gravity.set(f.group, Math.min(gravity.get(f.group) ?? 3, rank[f.severity]));
  const servers = shown
    .map((s, i) => ({ s, i, g: gravity.get(s.group) ?? 3 }))
    .sort((a, b) => a.g - b.g || a.i - b.i)
    .slice(0, SUMMARY_GROUPS)
    .map((x) => x.s);
  for (const s of servers) {
    const p = s.cachePolicy;
    // Session IDs and tickets fitted apart: the kind a limit was found for.
    const kind = (e: { appliesTo?: string }) => (e.appliesTo === undefined ? '' : ` for ${e.appliesTo === 'session-ids' ? 'session IDs' : 'tickets'}`);
    const limit = (e: { seconds: number | null; low: number | null; confidence: number; appliesTo?: string }, unit: (x: number) => string) =>
      e.seconds !== null ? `${unit(e.seconds)}${kind(e)} (confidence ${e.confidence})` : e.low !== null ? `not reached (≥ ${unit(e.low)})` : 'unknown';
    // With nothing accepted no limit can be measured: say what was seen instead of three unknowns.
    const parts = p.issuesNoSessions.detected && s.offers === 0 ? [`issues no sessions (no session ID, no ticket in ${p.issuesNoSessions.fullHandshakes.toLocaleString('en-US')} full handshakes below TLS 1.3)`]
      : p.tls13TicketsUnseen.detected && s.offers === 0 ? [`no TLS 1.3 ticket offered in ${p.tls13TicketsUnseen.reconnections.toLocaleString('en-US')} reconnections (tickets are encrypted: none sent, or none kept)`]
      : p.keepsNoSessions.detected ? [`keeps no sessions (none of ${s.offers.toLocaleString('en-US')} offers accepted, the soonest ${formatDuration(p.keepsNoSessions.soonest ?? 0)} after its issue)`] : [
      `idle timeout ${limit(p.idleTimeout, formatDuration)}`,
      `lifetime ${limit(p.lifetime, formatDuration)}`,
      `capacity ${capacityText(p.capacity)}${p.capacity.eviction === 'lru' ? ', least recently used evicted first (LRU)' : p.capacity.eviction === 'fifo' && p.capacity.entries !== null ? ', oldest evicted first (FIFO)' : p.capacity.eviction === 'partitioned' ? `, evicted in parts: sessions went after ${p.capacity.low!.toLocaleString('en-US')} to ${(p.capacity.high! - 1).toLocaleString('en-US')} newer ones` : ''}`,
    ];
    if (p.purgeOnAbort.detected) parts.push('purges sessions on abort');
    if (p.sharedCache.shared === false) parts.push(`no shared cache${p.sharedCache.backends ? ` (~${p.sharedCache.backends} backends)` : ''}`);
    if (p.flushes.length > 0) parts.push(`${p.flushes.length} flush${p.flushes.length > 1 ? 'es' : ''}`);
    // (older documents have no key names)
    const rotation = p.tickets.rotation ?? null;
    if (rotation !== null) parts.push(`ticket keys replaced about every ${formatDuration(rotation.every)}, tickets opened under ${rotation.keysOpen === 1 ? 'the newest key only' : `the ${rotation.keysOpen} newest keys`}${(rotation.switchSpread ?? 0) > 0 ? `, servers switching up to ${formatDuration(rotation.switchSpread)} apart` : ''}`);
    if ((p.tickets.rejectedUnusedKey ?? 0) > 0) parts.push(`${p.tickets.rejectedUnusedKey.toLocaleString('en-US')} ${p.tickets.rejectedUnusedKey === 1 ? 'ticket' : 'tickets'} under a key not in use`);
    // The group's name is the capture's SNI: shown, never executed by the terminal.
    lines.push(`cache policy ${terminalSafe(s.group)}: ${parts.join('; ')}`);
  }
  if (shown.length > servers.length) lines.push(`  … ${shown.length - servers.length} more server group${shown.length - servers.length === 1 ? '' : 's'} (all in --json and --report)`);
  const top = d.findings.slice(0, 5);
  if (top.length > 0) {
    lines.push('findings:');
    for (const f of top) lines.push(`  [${f.severity}] ${terminalSafe(f.title)}`);
    if (d.findings.length > top.length) lines.push(`  … ${d.findings.length - top.length} more (all in --json and --report)`);
  }
  // Each change replayed alone on this capture's offers (with backends that do not share their
  // cache, also together with sharing it): the ones that would have saved the most.
  const helps = [...(d.whatIf ?? [])].sort((a, b) => b.fullHandshakesAvoided - a.fullHandshakesAvoided);
  if (helps.length > 0) {
    lines.push(`what would have helped (each change alone${helps.some((w) => w.scenario.endsWith('+shared-cache')) ? ', or two where a row names two' : ''}: full handshakes, bytes and round trips it saves in this capture):`);
    const several = new Set(helps.map((w) => w.group)).size > 1;
    for (const w of helps.slice(0, 3)) {
      lines.push(`  ${w.fullHandshakesAvoided.toLocaleString('en-US').padStart(7)}  ${sizeText(w.bytesSaved).padStart(8)}  ${w.roundTripsSaved.toLocaleString('en-US').padStart(7)}  ` +
        `${terminalSafe(w.description)}${several ? ` (${terminalSafe(w.group)})` : ''}`);
    }
    if (helps.length > 3) lines.push(`  … ${helps.length - 3} more (all in --json and --report)`);
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/** Bytes as the summary writes them: 812 B, 38.5 kB, 1000.1 MB (decimal units, as the app's). */
function sizeText(bytes: number): string {
  return bytes < 1e3 ? `${bytes} B` : bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

function outputName(path: string): string {
  return path === STANDARD_OUTPUT ? 'standard output' : path;
}

/**
 * --pcapng-out: a second pass over the inputs keeps the chosen connections' packets, read in the
 * analysis's order (`plan`; made again where the files were read apart): files read merged by time
 * come out merged by time.
 */
async function writeFailuresPcapng(path: string, filterText: string, inputs: InputFile[], plan: readonly PlannedFile[] | undefined, connections: ConnectionRecord[], io: CliIo): Promise<{ packets: number; connections: number } | null> {
  let filter;
  try {
    filter = parseConnectionFilter(filterText);
  } catch (e) {
    io.stderr(`resumescope: --pcapng-filter: ${(e as Error).message}\n`);
    return null;
  }
  const out = new OutputFile(path);
  const exporter = new FailureExporter(connections, filter, (chunk) => out.write(chunk), TOOL_VERSION);
  await exportInReadingOrder(inputs, plan ?? (await readingPlan(inputs)), exporter, {
    skipped: (input) => io.stderr(`resumescope: --pcapng-out cannot re-read ${input.path === '-' ? 'stdin' : `the pipe ${terminalSafe(input.path)}`}; its packets are not in the pcapng\n`),
    afterRead: () => out.drained(),
  });
  await out.close();
  return { packets: exporter.packetsWritten, connections: exporter.connectionsSelected };
}
