/// <reference lib="webworker" />
// The analysis off the UI thread: streams each capture (File or URL) through the portable core,
// diagnoses, and keeps every connection here; the UI gets the aggregated model and asks for table
// pages. Several files are one analysis, as in the CLI. The files' SHA-256 (for the overview and
// the report) comes from a second pass after the results are shown: hashing in JavaScript runs at
// ~150 MB/s, slower than the analysis itself, and would double the wait for the first chart.
import { Analysis, NotACaptureError } from '../../../../parser/analysis.js';
import type { HandshakeTimes } from '../../../../parser/clock-offset.js';
import { mergedFiles, planReading, probeAll, readTogether, sayDrifting, toReadAgain, probeHead, PROBE_BYTES, readInTimeOrder, UNKNOWN_HEAD, ChunkSource, type HeadProbe, type PlannedFile, type ReadTogether } from '../../../../parser/merged-reading.js';
import { describeDiagnosisStep, diagnose, diagnosisShare } from '../../../../parser/diagnose/diagnose.js';
import { clockStepsOf } from '../../../../parser/diagnose/clock-segments.js';
import { buildDocument, numberConnections, TOOL_VERSION } from '../../../../parser/report/document.js';
import { buildReportModel, type AnalysedFile } from '../../../../parser/report/report-model.js';
import type { AnalysisDocument, ConnectionRecord } from '../../../../parser/report/types.js';
import type { Diagnosis } from '../../../../parser/diagnose/types.js';
import { LocalConnectionStore } from '../data/store.js';
import { checkSessionState, StateFileError, stateOrderProblem, type CheckedState } from '../../../../parser/session/session-state.js';
import { ConnectionStore, StoredConnection } from '../../../../parser/report/connection-store.js';
import { Sha256 } from './sha256.js';
import type { AnalysisProgress, CaptureSource, WorkerCall, WorkerRequest, WorkerResponse } from './protocol.js';

declare const self: DedicatedWorkerGlobalScope;

const PROGRESS_INTERVAL_MS = 100;
/** Give queued messages (Cancel) a turn at least this often while reading. */
const YIELD_INTERVAL_MS = 50;

class Cancelled extends Error {}

interface Finished {
  document: AnalysisDocument;
  diagnosis: Diagnosis;
  files: AnalysedFile[];
  analysedAt: string;
  store: LocalConnectionStore;
  /** Settles when the background pass has filled in `files[].sha256`. */
  hashed: Promise<void>;
  /** The sessions this analysis ends with, as a state file's bytes (what the CLI's --state writes). */
  stateOut: Uint8Array;
}

let cancelRequested = false;
let running = false;
let finished: Finished | null = null;
/** Bumped by every new analysis: a hashing pass of an older one stops. */
let generation = 0;

function post(message: WorkerResponse): void {
  self.postMessage(message);
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  switch (request.type) {
    case 'cancel':
      if (running) cancelRequested = true;
      return;
    case 'analyze':
      void analyze(request.sources, request.state, request.analysedAt);
      return;
    case 'call':
      answer(request.call).then(
        (result) => post({ type: 'reply', callId: request.callId, result }),
        (e: unknown) => post({ type: 'call-failed', callId: request.callId, message: e instanceof Error ? e.message : String(e) }),
      );
      return;
  }
};

async function answer(call: WorkerCall): Promise<unknown> {
  if (!finished) throw new Error('no analysis yet');
  const store = finished.store;
  switch (call.op) {
    case 'query': return store.querySync(call.filter, call.sort);
    case 'rows': return store.rowsSync(call.queryId, call.start, call.end);
    case 'connection': {
      const c = store.connectionSync(call.id);
      return c === null ? null : plainRecord(c);
    }
    case 'client': return store.clientSequenceSync(call.ip);
    case 'document': return { ...finished.document, connections: finished.document.connections.map(plainRecord) };
    case 'state': return finished.stateOut;
    case 'report-model': {
      // The report lists every file with its hash: wait for the hashing pass.
      const f = finished;
      await f.hashed;
      const model = modelOf(f, call.connectionCap);
      return { ...model, connections: { ...model.connections, rows: model.connections.rows.map(plainRecord) } };
    }
  }
}

/**
 * The records live in the column store's views (getters on a shared prototype), which a message
 * would clone as empty objects: what leaves the worker is a plain copy.
 */
function plainRecord(c: ConnectionRecord): ConnectionRecord {
  return c instanceof StoredConnection ? c.toJSON() : c;
}

function modelOf(f: Finished, connectionCap: number) {
  return buildReportModel({
    tool: f.document.tool, captures: f.document.captures, connections: f.document.connections, diagnosis: f.diagnosis,
    files: f.files, analysedAt: f.analysedAt, connectionCap,
  });
}

async function analyze(sources: CaptureSource[], state: File | null, analysedAt: string): Promise<void> {
  if (running) {
    post({ type: 'failed', message: 'an analysis is already running' });
    return;
  }
  running = true;
  cancelRequested = false;
  finished = null;
  const current = ++generation;
  try {
    const result = await runAnalysis(sources, state, analysedAt, current);
    finished = result.finished;
    post({ type: 'done', model: modelOf(result.finished, 0), problems: result.problems });
  } catch (e) {
    if (e instanceof Cancelled) post({ type: 'cancelled' });
    else post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  } finally {
    running = false;
    cancelRequested = false;
  }
}

async function runAnalysis(sources: CaptureSource[], state: File | null, analysedAt: string, current: number): Promise<{ finished: Finished; problems: { file: string; reason: string }[] }> {
  // A state file is checked whole before any capture is read, as the CLI does.
  const carried = state === null ? null : await readState(state);
  // As in the CLI: files that hold the same connections (a file per direction of a tap) are read
  // merged by packet time, the others one after another by their first packet.
  const probes = sources.length > 1 ? await probeAll(sources, probeSource) : null;
  /** Reads the sources into fresh columns; `alsoTogether`: sources (indexes) to read merged whatever their heads show. */
  const readAll = async (alsoTogether: ReadTogether[]) => {
    // As in the CLI, every record goes into typed-array columns (~0.2 KB each, no object graph for
    // the collector to copy): a 1 GB capture's plain records took ~250 MB of heap and made reading
    // and diagnosing a third slower.
    const columns = new ConnectionStore();
    const analysis = new Analysis(columns);
    const problems: { file: string; reason: string }[] = [];
    // Listed in reading order (the captures' order), whichever ends first.
    const files: AnalysedFile[] = [];
    const readable: { source: CaptureSource; file: AnalysedFile }[] = [];
    const plan = sources.length > 1 ? planReading(probes!, alsoTogether) : [{ index: 0, firstTime: 0, group: 0 }];
    const merged = new Set(mergedFiles(plan));
    const bytesTotal = sources.reduce((sum, s) => sum + sizeOf(s), 0);
    const open = new Set<StreamSource>();
    let bytesBefore = 0;
    let opened = 0;
    let lastProgress = 0;
    let lastYield = performance.now();
    // Files read merged: their handshakes over the whole file (see clocksApart).
    const handshakes: (Map<string, HandshakeTimes> | null)[] = sources.map(() => null);
    const progress = (source: StreamSource, force: boolean) => {
      const now = performance.now();
      if (!force && now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      let bytesRead = bytesBefore;
      for (const s of open) bytesRead += s.rawBytes;
      const p: AnalysisProgress = { bytesRead, bytesTotal, file: source.name, fileIndex: source.index, fileCount: plan.length, connections: columns.count };
      post({ type: 'progress', progress: p });
    };

    await readInTimeOrder<StreamSource>(plan, {
      open: (planned) => {
        const source = new StreamSource(sources[planned.index]!, opened++, analysis, merged.has(planned.index), planned);
        open.add(source);
        return source;
      },
      afterRead: async (source) => {
        progress(source, false);
        if (performance.now() - lastYield > YIELD_INTERVAL_MS) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          lastYield = performance.now();
        }
        if (cancelRequested) throw new Cancelled('cancelled');
      },
      close: async (source) => {
        open.delete(source);
        handshakes[source.planned.index] = source.ingest?.handshakes?.times ?? null;
        const problem = source.close();
        if (problem === null) {
          files[source.index] = { name: source.name, size: source.rawBytes, sha256: null, hashPending: true, ...(source.readMerged ? { readMerged: true } : {}) };
          readable.push({ source: source.source, file: files[source.index]! });
        } else {
          if (problem.lost) problems.push({ file: source.name, reason: problem.reason });
          files[source.index] = { name: source.name, size: sizeOf(source.source), sha256: null, ...(source.readMerged ? { readMerged: true } : {}) };
        }
        bytesBefore += sizeOf(source.source);
        progress(source, true);
      },
      abandon: (source) => source.abandon(),
    });
    // A Cancel sent while the last chunks were read is honoured before the diagnosis starts, and one
    // sent during the diagnosis (which runs without a break) before the results go out: a click on
    // Cancel never ends in results. (On a fast machine a 100 MB file is read in under a second.)
    await throwIfCancelled();
    analysis.finish();
    return { columns, analysis, problems, files, readable, plan, bytesTotal, handshakes };
  };
  let read = await readAll([]);
  // Captures of one link that overlap in time, whose first megabytes showed no shared connection:
  // read one after the other, each connection of the overlap counted twice. Read again, merged (as the CLI).
  // And files read merged on clocks their first megabytes could not bound (as the CLI).
  const { again, drifting } = toReadAgain(read.columns.views(), read.analysis.captures, read.plan, read.handshakes, sources.map(nameOf));
  if (again.length > 0) {
    const index = new Map(sources.map((source, i) => [nameOf(source), i]));
    read = await readAll(readTogether(again, (name) => index.get(name)!, read.plan));
  }
  sayDrifting(drifting, read.analysis.captures);
  const { columns, analysis, problems, files, readable, plan, bytesTotal } = read;
  // The records' views, made now that all are in (see ConnectionStore.views).
  const connections: ConnectionRecord[] = columns.views();
  // Same ids as the CLI's JSON for the same files (ordered by time and endpoints).
  numberConnections(connections);
  // The diagnosis runs without a break; its steps are posted as they finish (the page shows them).
  const diagnosing = (step: string, done: number) => post({ type: 'progress', progress: {
    bytesRead: bytesTotal, bytesTotal, file: '', fileIndex: plan.length - 1, fileCount: plan.length, connections: connections.length,
    diagnosis: step, diagnosisDone: done,
  } });
  if (carried !== null) {
    const starts = analysis.captures.map((c) => c.firstTime).filter((t): t is number => t !== null);
    const problem = stateOrderProblem(carried.lastTime, starts.length > 0 ? Math.min(...starts) : null);
    if (problem !== null) throw new Error(`${carried.name}: ${problem}, or open the captures without it`);
  }
  diagnosing('tracking sessions', 0);
  // The sessions are always carried out: any analysis can be the first of a series ("Save sessions").
  const diagnosis = diagnose(connections, {
    ...(carried !== null ? { carriedIn: carried.take } : {}),
    carryOut: true,
    clockSteps: clockStepsOf(analysis.captures),
    onProgress: (d) => diagnosing(describeDiagnosisStep(d), diagnosisShare(d)),
  });
  const stateOut = diagnosis.carriedOut!;
  // Without a state file opened, the analysis is no part of a series (yet): no carried counts.
  if (carried === null) diagnosis.sessions = { ...diagnosis.sessions, carriedIn: null, carriedOut: null };
  const document = buildDocument(analysis.captures, connections, {
    servers: diagnosis.servers, clients: diagnosis.clients, findings: diagnosis.findings, whatIf: diagnosis.whatIf, sessions: diagnosis.sessions,
  });
  document.tool = { name: 'resumescope', version: TOOL_VERSION };
  await throwIfCancelled();
  const hashed = hashInBackground(files, readable, current);
  return { finished: { document, diagnosis, files, analysedAt, store: new LocalConnectionStore(document.connections), hashed, stateOut }, problems };
}

/** A state file, checked whole before any capture is read (a damaged one refused with its byte offset). */
async function readState(file: File): Promise<CheckedState & { name: string }> {
  try {
    return { name: file.name, ...checkSessionState(new Uint8Array(await file.arrayBuffer())) };
  } catch (e) {
    if (e instanceof StateFileError) throw new Error(`${file.name}: byte ${e.offset.toLocaleString('en-US')}: ${e.message} (open the captures without it to start a new series)`);
    throw e;
  }
}

/**
 * Second pass over the files that were read: their SHA-256, posted as 'hashes' when done. Runs
 * after 'done' (it starts at the first await, once the results are posted), yielding between
 * chunks so that the UI's table queries are answered meanwhile. A file that cannot be read again
 * keeps a null hash.
 */
async function hashInBackground(files: AnalysedFile[], readable: { source: CaptureSource; file: AnalysedFile }[], current: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (const { source, file } of readable) {
    if (current !== generation) return;
    try {
      const hash = new Sha256();
      const reader = (await openStream(source)).getReader();
      let lastYield = performance.now();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        hash.update(value);
        if (performance.now() - lastYield > YIELD_INTERVAL_MS) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          lastYield = performance.now();
          if (current !== generation) {
            await reader.cancel().catch(() => undefined);
            return;
          }
        }
      }
      file.sha256 = hash.hex();
    } catch {
      file.sha256 = null;
    }
    delete file.hashPending;
  }
  if (current === generation) post({ type: 'hashes', files: files.map((f) => ({ ...f })) });
}

/** Lets a queued Cancel message in (it is only read between tasks), then stops if it came. */
async function throwIfCancelled(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (cancelRequested) throw new Cancelled('cancelled');
}

function nameOf(source: CaptureSource): string {
  return source.kind === 'file' ? source.file.name : source.name;
}

function sizeOf(source: CaptureSource): number {
  return source.kind === 'file' ? source.file.size : source.size;
}

async function openStream(source: CaptureSource): Promise<ReadableStream<Uint8Array>> {
  if (source.kind === 'file') return source.file.stream() as ReadableStream<Uint8Array>;
  const response = await fetch(source.url);
  if (!response.ok || response.body === null) throw new Error(`could not fetch ${source.name}: HTTP ${response.status}`);
  return response.body;
}

function prepend(head: Uint8Array | null, reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let pending = head;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== null) {
        controller.enqueue(pending);
        pending = null;
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** What a file's first megabyte tells (probeHead); a gzip file's, decompressed. A served file's, from its host. */
async function probeSource(s: CaptureSource): Promise<HeadProbe> {
  // The host probed its files (hostedReading): files of one group share a token, as they share connections.
  if (s.kind === 'url') return { firstTime: s.firstPacketTime ?? Infinity, connections: new Set([`read group ${s.readGroup}`]), name: s.name, hostGroup: s.readGroup, ...(s.clockOffset ? { clockOffset: s.clockOffset } : {}) };
  try {
    const head = new Uint8Array(await s.file.slice(0, PROBE_BYTES).arrayBuffer());
    const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    return probeHead(gz ? await gunzipHead(s.file) : head, s.file.name);
  } catch {
    return UNKNOWN_HEAD;
  }
}

/** Compressed bytes handed to the probe's decompressor at a time (see gunzipHead). */
const PROBE_SLICE = 16 * 1024;

/**
 * Up to PROBE_BYTES of what a gzip file decompresses to (what came before damage, if any). The
 * compressed bytes go in by small slices: a decompressor fed the file's own stream inflates each
 * of its chunks (2 MiB from a File in Chromium) whole before anything can be read, and a gzip of
 * 4 GB of zeros took 2-8 s and 2-4 GB to probe.
 */
async function gunzipHead(file: File): Promise<Uint8Array> {
  const decompressor = new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>;
  const writer = decompressor.writable.getWriter();
  const reader = decompressor.readable.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  let failed = false;
  // Read on its own: a write waits for its output to be taken.
  const reading = (async () => {
    try {
      while (length < PROBE_BYTES) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        length += value.length;
      }
    } catch {
      failed = true; // damage past the head: what came before it
    }
  })();
  let at = 0;
  try {
    for (; at < file.size && length < PROBE_BYTES && !failed; at += PROBE_SLICE) {
      const slice = new Uint8Array(await file.slice(at, at + PROBE_SLICE).arrayBuffer());
      await Promise.race([writer.write(slice), reading]);
    }
  } catch {
    // A write fails once the decompressor has failed: what came before is kept.
  }
  if (at >= file.size && length < PROBE_BYTES && !failed) {
    // All of a small file went in: its last output comes with the close (a cut file's, an error).
    writer.close().catch(() => undefined);
  } else {
    await reader.cancel().catch(() => undefined);
    await writer.abort().catch(() => undefined);
  }
  await reading;
  const head = new Uint8Array(Math.min(length, PROBE_BYTES));
  let filled = 0;
  for (const part of parts) {
    if (filled >= head.length) break;
    head.set(part.subarray(0, head.length - filled), filled);
    filled += part.length;
  }
  return head;
}

/** One capture being read into the analysis, from its web stream (see readInTimeOrder). */
class StreamSource extends ChunkSource {
  readonly name: string;
  /** Bytes read as stored (compressed or not): what the progress bar and the report refer to. */
  rawBytes = 0;
  private chunks: ReadableStreamDefaultReader<Uint8Array> | null = null;

  constructor(readonly source: CaptureSource, readonly index: number, private readonly analysis: Analysis, readonly readMerged: boolean, readonly planned: PlannedFile) {
    super();
    this.name = nameOf(source);
  }

  async read(bound: number): Promise<void> {
    try {
      if (this.chunks === null) await this.start();
      this.ingest!.holdAfter = bound;
      const { done, value } = await this.chunks!.read();
      if (done) {
        this.ended = true;
        return;
      }
      this.ingest!.push(value);
    } catch (e) {
      this.fail(e);
    }
  }

  private async start(): Promise<void> {
    const raw = await openStream(this.source);
    const counted = raw.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, controller) => {
        this.rawBytes += chunk.length;
        controller.enqueue(chunk);
      },
    }));
    const reader = counted.getReader();
    const first = await reader.read();
    const head = first.done ? null : first.value;
    const gz = head !== null && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    this.ingest = this.analysis.openFile(this.name, gz, this.planned);
    const rest = prepend(head, reader);
    this.chunks = (gz ? rest.pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>) : rest).getReader();
  }

  /**
   * Read to its end: the capture finished, or its failure made an anomaly of it (what was read is
   * kept, as the CLI does). Null when it was read whole; `lost` when nothing of it could be read.
   */
  close(): { reason: string; lost: boolean } | null {
    const ingest = this.ingest;
    try {
      if (this.failure === null) ingest?.finish();
    } catch (e) {
      this.failure = e;
    }
    const e = this.failure;
    if (e === null) return null;
    const reason = e instanceof NotACaptureError ? e.message : e instanceof Error ? e.message : String(e);
    if (ingest && ingest.summary.packets > 0) {
      ingest.readFailed(reason);
      return { reason, lost: false };
    }
    if (ingest) ingest.summary.error = reason;
    return { reason, lost: true };
  }

  async abandon(): Promise<void> {
    await this.chunks?.cancel().catch(() => undefined);
  }
}
