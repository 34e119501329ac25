// Node side of reading captures: files, folders, stdin and .gz → the portable Analysis.
import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { Analysis, NotACaptureError, sniffFormat } from '../../parser/analysis.js';
import type { HostedReading } from '../shared/ipc.js';
import type { HandshakeTimes } from '../../parser/clock-offset.js';
import { mergedFiles, planReading, probeAll, probeHead, PROBE_BYTES, readInTimeOrder, UNKNOWN_HEAD, ChunkSource, type HeadProbe, type PlannedFile, type ReadTogether } from '../../parser/merged-reading.js';
import type { CaptureSummary, ConnectionRecord, ConnectionSink } from '../../parser/report/types.js';

const CAPTURE_NAME = /\.(pcap|pcapng|cap|ntar|dmp|pcap\d*)(\.gz)?$/i;

/** A capture's name: its file name without the capture extension (x.pcap.gz → x); other names whole. */
export function captureName(path: string): string {
  const name = basename(path);
  const stripped = name.replace(CAPTURE_NAME, '');
  return stripped.length > 0 ? stripped : name;
}
const CHUNK_SIZE = 1 << 20;
/** Free bytes ahead of each reused read buffer (rawChunks): a frame cut by a chunk's end fits (64 KiB). */
const JOIN_ROOM = 1 << 16;

export interface InputFile {
  /** Path as given (or "-" for stdin). */
  path: string;
  size: number;
  /**
   * Read once, front to back, and never again: stdin and pipes (a FIFO, or `<(command)` in a
   * shell). No probe for gzip or the first packet's time, no second pass (--pcapng-out, hashes).
   */
  stream?: boolean;
  /** fileIdentity() of the file: two paths of one file have the same (absent for stdin). */
  identity?: string;
}

/** The same text for two paths of one file: device and inode when it exists, else the absolute path. */
export function fileIdentity(path: string, stat: { dev: number; ino: number } | null): string {
  return stat === null ? `path ${resolve(path)}` : `inode ${stat.dev}:${stat.ino}`;
}

export interface InputProblem {
  path: string;
  reason: string;
}

/**
 * Expand folders (recursively, capture-looking names only) and check every path. A file named
 * more than once (twice on the command line, or also inside a folder given) is read once: read
 * twice, every connection would count twice and its sessions look reused. `repeated` lists the
 * paths left out.
 */
export async function resolveInputs(paths: string[]): Promise<{ files: InputFile[]; problems: InputProblem[]; repeated: string[] }> {
  const problems: InputProblem[] = [];
  const files: InputFile[] = [];
  const repeated: string[] = [];
  const seen = new Set<string>();
  for (const file of await expandInputs(paths, problems)) {
    if (file.identity !== undefined) {
      if (seen.has(file.identity)) {
        repeated.push(file.path);
        continue;
      }
      seen.add(file.identity);
    }
    files.push(file);
  }
  return { files, problems, repeated };
}

async function expandInputs(paths: string[], problems: InputProblem[]): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of paths) {
    if (path === '-') {
      files.push({ path, size: 0, stream: true });
      continue;
    }
    try {
      const stat = await fs.stat(path);
      if (stat.isDirectory()) {
        const found = await listCaptures(path);
        if (found.length === 0) problems.push({ path, reason: 'folder holds no capture files (*.pcap, *.pcapng, *.cap, optionally .gz)' });
        files.push(...found);
      } else if (stat.isFile()) {
        await fs.access(path, fs.constants.R_OK);
        files.push({ path, size: stat.size, identity: fileIdentity(path, stat) });
      } else if (stat.isFIFO()) {
        await fs.access(path, fs.constants.R_OK);
        files.push({ path, size: 0, stream: true, identity: fileIdentity(path, stat) });
      } else {
        problems.push({ path, reason: 'not a regular file or a pipe' });
      }
    } catch (e) {
      problems.push({ path, reason: describeFsError(e) });
    }
  }
  return files;
}

/**
 * The captures in a folder and its subfolders, by name. Symbolic links are followed (a folder of
 * links to the day's captures was "no capture files", and a link beside plain files was skipped
 * without a word); a folder reached twice (a link to a parent) is listed once.
 */
async function listCaptures(folder: string, visited = new Set<string>()): Promise<InputFile[]> {
  const out: InputFile[] = [];
  const here = await fs.stat(folder);
  const key = `${here.dev}:${here.ino}`;
  if (visited.has(key)) return out;
  visited.add(key);
  const entries = await fs.readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const full = join(folder, entry.name);
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      // A dangling link is no capture; what it points to decides.
      const target = await fs.stat(full).catch(() => null);
      isDirectory = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDirectory) out.push(...(await listCaptures(full, visited)));
    else if (isFile && CAPTURE_NAME.test(entry.name)) {
      const stat = await fs.stat(full);
      out.push({ path: full, size: stat.size, identity: fileIdentity(full, stat) });
    }
  }
  return out;
}

export function describeFsError(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'ENOENT': return 'no such file or folder';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a folder';
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    // zlib (gzip input)
    case 'Z_BUF_ERROR': return 'the compressed data ends early (the .gz file is cut short)';
    case 'Z_DATA_ERROR': return `the compressed data is damaged (${e instanceof Error ? e.message : String(e)})`;
    default: return e instanceof Error ? e.message : String(e);
  }
}

/** Time of the first packet of each file, read from its first megabyte: orders the files of one run. */
export async function firstPacketTimes(paths: string[]): Promise<number[]> {
  return (await probeFiles(paths)).map((probe) => probe.firstTime);
}

/**
 * probeFile of each path ("-": stdin, not probed), a few at a time (probeAll). `names`: what the
 * files are called in messages (a clock offset names the other file); their base names by default.
 */
function probeFiles(paths: string[], names = paths.map((p) => basename(p))): Promise<HeadProbe[]> {
  return probeAll(paths.map((path, i) => ({ path, name: names[i]! })), ({ path, name }) => probeFile(path, name));
}

/**
 * What a file's first megabyte tells (probeHead). A gzip file's is read from the first megabyte
 * it decompresses to: skipped, a direction of a tap compressed made every handshake of the other
 * direction's file "ClientHello not captured", and nothing said why.
 */
async function probeFile(path: string, name: string): Promise<HeadProbe> {
  if (path === '-') return { firstTime: 0, connections: new Set() };
  try {
    const head = await readHead(path);
    return head === null ? UNKNOWN_HEAD : probeHead(head, name);
  } catch {
    return UNKNOWN_HEAD;
  }
}

/** The file's first PROBE_BYTES, decompressed if it is gzip; null when it cannot be read. */
async function readHead(path: string): Promise<Uint8Array | null> {
  const handle = await fs.open(path, 'r');
  try {
    const buffer = new Uint8Array(PROBE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, PROBE_BYTES, 0);
    const head = buffer.subarray(0, bytesRead);
    if (sniffFormat(head) !== 'gzip') return head;
    return await gunzipHead(handle);
  } finally {
    await handle.close();
  }
}

/** Compressed bytes handed to the probe's decompressor at a time. */
const GUNZIP_SLICE = 64 * 1024;

/** Up to PROBE_BYTES of what a gzip file decompresses to (what came before damage, if any). */
async function gunzipHead(handle: fs.FileHandle): Promise<Uint8Array | null> {
  const parts: Uint8Array[] = [];
  let length = 0;
  const gunzip = createGunzip();
  const done = new Promise<void>((resolve) => {
    gunzip.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      length += chunk.length;
      if (length >= PROBE_BYTES) {
        gunzip.pause();
        resolve();
      }
    });
    gunzip.on('end', resolve);
    gunzip.on('error', () => resolve());
  });
  // Small slices: zlib inflates what it is given before the output can be looked at (a gzip of
  // zeros packs a thousand to one).
  let position = 0;
  const compressed = new Uint8Array(GUNZIP_SLICE);
  while (length < PROBE_BYTES) {
    const { bytesRead } = await handle.read(compressed, 0, GUNZIP_SLICE, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    const written = new Promise<void>((resolve) => gunzip.write(compressed.slice(0, bytesRead), () => resolve()));
    await Promise.race([written, done]);
    if (gunzip.destroyed) break;
  }
  gunzip.end();
  await done;
  gunzip.destroy();
  if (length === 0) return null;
  const head = Buffer.concat(parts);
  return new Uint8Array(head.buffer, head.byteOffset, Math.min(head.length, PROBE_BYTES));
}

/** The inputs' reading plan (planReading); a single file or a stream needs no probe. */
export async function readingPlan(inputs: InputFile[], alsoTogether: readonly ReadTogether[] = []): Promise<PlannedFile[]> {
  // Streams cannot be probed (the probe would consume them): they come first, as stdin does.
  const none: HeadProbe = { firstTime: 0, connections: new Set() };
  if (inputs.length <= 1) return planReading([none]);
  const probed = await probeFiles(inputs.map((f) => (f.stream ? '-' : f.path)), inputs.map(captureFileName));
  return planReading(inputs.map((f, i) => (f.stream ? none : probed[i]!)), alsoTogether);
}

/**
 * For a host that serves the files to the app (ui server, Electron): each file's first packet time
 * and its reading group (planReading), in the order given, so that the app reads them as the CLI.
 */
export async function hostedReading(paths: string[]): Promise<HostedReading[]> {
  const probes = await probeFiles(paths);
  const result: HostedReading[] = [];
  for (const x of planReading(probes)) {
    // The first packet as the file holds it: the page's plan adds the clock offset again.
    const firstTime = probes[x.index]!.firstTime;
    result[x.index] = { firstPacketTime: Number.isFinite(firstTime) ? firstTime : null, readGroup: x.group, ...(x.clockOffset ? { clockOffset: x.clockOffset } : {}) };
  }
  return result;
}

/**
 * The files that hold connections another of them holds too (a file per direction of a tap): read
 * apart (--jobs), such connections would be one-sided in each. Empty when no two files share one.
 */
export async function filesReadTogether(inputs: InputFile[]): Promise<string[]> {
  return mergedFiles(await readingPlan(inputs)).map((index) => inputs[index]!.path);
}

export interface AnalyzeProgress {
  file: string;
  fileIndex: number;
  fileCount: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface AnalyzeOptions {
  /** Where records go: a sink (the column store), or a function given record objects (see Analysis). */
  onConnection: ConnectionSink | ((record: ConnectionRecord) => void);
  onProgress?: (progress: AnalyzeProgress) => void;
  /** Checked between chunks: return true to stop early. */
  cancelled?: () => boolean;
  /** Awaited between chunks (output back-pressure). */
  betweenChunks?: () => Promise<void>;
}

export interface AnalyzeResult {
  captures: CaptureSummary[];
  problems: InputProblem[];
  /** Files whose reading hit a bug in resumescope (reported as such, never as damage). */
  internalErrors?: InputProblem[];
  /** The files (as their captures name them) read merged by time with others holding the same connections (see analyzeFiles). */
  readMerged?: string[];
  /** The order and groups the files were read in (indexes into the inputs); absent where each was read apart (--jobs). */
  plan?: PlannedFile[];
  /** Files read merged: their TCP handshakes sampled over the whole file, by input index (see clocksApart). */
  handshakes?: (Map<string, HandshakeTimes> | null)[];
}

/**
 * Analyse the files as one run, in the order and groups of planReading: files that hold the same
 * connections (one per direction of a tap) read merged by packet time (readInTimeOrder), others one
 * after another in order of their first packet, the clock restarting where one starts before the
 * last ended (see FlowTable.startFile).
 */
export async function analyzeFiles(inputs: InputFile[], options: AnalyzeOptions, alsoTogether: readonly ReadTogether[] = []): Promise<AnalyzeResult> {
  const problems: InputProblem[] = [];
  const internalErrors: InputProblem[] = [];
  const analysis = new Analysis(options.onConnection);
  // Order by first packet only matters (and is only worth a probe read) with several files.
  const plan = await readingPlan(inputs, alsoTogether);
  const bytesTotal = plan.reduce((sum, x) => sum + inputs[x.index]!.size, 0);
  let bytesBefore = 0;
  let bytesOpen = 0;
  let opened = 0;
  const handshakes: (Map<string, HandshakeTimes> | null)[] = inputs.map(() => null);
  await readInTimeOrder<FileSource>(plan, {
    open: (planned) => new FileSource(inputs[planned.index]!, opened++, analysis, planned),
    afterRead: async (source) => {
      bytesOpen += source.counter.bytes - source.counted;
      source.counted = source.counter.bytes;
      options.onProgress?.({ file: source.name, fileIndex: source.index, fileCount: plan.length, bytesDone: bytesBefore + bytesOpen, bytesTotal });
      if (options.betweenChunks) await options.betweenChunks();
    },
    close: async (source) => {
      handshakes[source.planned.index] = source.ingest?.handshakes?.times ?? null;
      await source.close(problems, internalErrors);
      bytesOpen -= source.counted;
      bytesBefore += source.input.size;
    },
    abandon: (source) => source.abandon(),
    cancelled: options.cancelled,
  });
  analysis.finish();
  const readMerged = mergedFiles(plan).map((index) => captureFileName(inputs[index]!));
  return { captures: analysis.captures, problems, internalErrors, readMerged, plan, handshakes };
}

/** The name a file's capture (and its anomalies) carry. */
export function captureFileName(input: InputFile): string {
  return input.path === '-' ? '<stdin>' : input.path;
}

/** One input file being read into the analysis (see analyzeFiles). */
class FileSource extends ChunkSource {
  readonly name: string;
  readonly counter = { bytes: 0 };
  /** Of counter.bytes, how many the progress has counted. */
  counted = 0;
  private raw: AsyncGenerator<Uint8Array> | null = null;
  private chunks: AsyncIterator<Uint8Array> | null = null;
  private reuse = false;
  private gz = false;

  /** `planned`: how it is read beside the other files (clock offset, copies, handshake sample). */
  constructor(readonly input: InputFile, readonly index: number, private readonly analysis: Analysis, readonly planned: PlannedFile) {
    super();
    this.name = captureFileName(input);
  }

  /** The next chunk: frames up to `bound` analysed, later ones held; at the end or on an error, ended. */
  async read(bound: number): Promise<void> {
    try {
      if (this.chunks === null) await this.start();
      if (this.ingest === null || this.chunks === null) return;
      this.ingest.holdAfter = bound;
      const { done, value } = await this.chunks.next();
      if (done) {
        this.ended = true;
        return;
      }
      // Our own read buffers leave JOIN_ROOM free ahead of the bytes read (see rawChunks).
      this.ingest.push(value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer), this.reuse && !this.gz ? JOIN_ROOM : 0);
    } catch (e) {
      this.fail(e);
    }
  }

  private async start(): Promise<void> {
    const input = this.input;
    const gzFile = !input.stream && (await isGzipFile(input.path));
    // Plain files reuse one read buffer: the analysis copies whatever it keeps, and a
    // fresh megabyte per read would make the garbage collector the main cost. Not a stream: it
    // may turn out gzip only from its first bytes, and the decompressor holds on to chunks after
    // they are handed over (a reused buffer, overwritten under it, made a gzip FIFO "damaged"
    // after its first 16 KiB: 2 of 3,274 connections, exit 0).
    this.reuse = !input.stream && input.path !== '-' && !gzFile;
    this.raw = countBytes(rawChunks(input.path, this.reuse), this.counter);
    const first = await this.raw.next();
    const head = first.done ? null : first.value;
    this.gz = gzFile || (head !== null && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
    this.ingest = this.analysis.openFile(this.name, this.gz, this.planned);
    const all = prepend(head, this.raw);
    const source: AsyncIterable<Uint8Array> = this.gz ? Readable.from(all).pipe(createGunzip()) : all;
    this.chunks = source[Symbol.asyncIterator]();
  }

  /** Read to its end and all it held analysed: the capture is finished, or its failure reported. */
  async close(problems: InputProblem[], internalErrors: InputProblem[]): Promise<void> {
    const ingest = this.ingest;
    try {
      if (this.failure === null) ingest?.finish();
    } catch (e) {
      this.failure = e;
    }
    await this.abandon();
    const e = this.failure;
    if (e === null) return;
    if (isInternalError(e)) {
      // A bug in resumescope, not damage in the capture: say so, and ask for the capture.
      const message = `internal error (a bug in resumescope) while reading it: ${(e as Error).message ?? String(e)}; please report it with this capture`;
      if (ingest) ingest.summary.anomalies.push({ kind: 'internal', code: 'internal-error', message, file: this.name });
      internalErrors.push({ path: this.name, reason: message });
      if (process.env.RESUMESCOPE_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
      return;
    }
    const reason = e instanceof NotACaptureError ? e.message : describeFsError(e);
    if (ingest && ingest.summary.packets > 0) {
      // Keep what could be read: the damage is an anomaly of this capture, not a lost file.
      ingest.readFailed(reason);
    } else {
      problems.push({ path: this.name, reason });
      if (ingest) ingest.summary.error = reason;
    }
  }

  /** The file closed, read or not (stopping early must still close it). */
  async abandon(): Promise<void> {
    const raw = this.raw;
    this.raw = null;
    await this.chunks?.return?.(undefined);
    await raw?.return(undefined);
  }
}

/** Not a capture, a file-system or decompression error (those carry a code): anything else is a bug. */
function isInternalError(e: unknown): boolean {
  if (e instanceof NotACaptureError) return false;
  return !(e instanceof Error && typeof (e as { code?: unknown }).code === 'string');
}

async function isGzipFile(path: string): Promise<boolean> {
  if (path === '-') return false;
  const handle = await fs.open(path, 'r');
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

async function* rawChunks(path: string, reuseBuffer: boolean): AsyncGenerator<Uint8Array> {
  if (path === '-') {
    for await (const chunk of process.stdin) yield chunk as Uint8Array;
    return;
  }
  const handle = await fs.open(path, 'r');
  // Two buffers in turn: the next read runs while the consumer works on the current chunk
  // (the consumer is done with a chunk before it asks for the next, so the buffer it had is free).
  // Reused buffers keep JOIN_ROOM bytes free ahead of what is read into them: the reader puts the
  // end of a record cut by the previous chunk there (ChunkJoiner.join) instead of copying this chunk.
  const room = reuseBuffer ? JOIN_ROOM : 0;
  const buffers = reuseBuffer ? [new Uint8Array(room + CHUNK_SIZE), new Uint8Array(room + CHUNK_SIZE)] : null;
  let turn = 0;
  const readNext = () => {
    const buffer = buffers ? buffers[turn]!.subarray(room) : new Uint8Array(CHUNK_SIZE);
    turn ^= 1;
    return handle.read(buffer, 0, CHUNK_SIZE, null).then(({ bytesRead }) => ({ buffer, bytesRead }));
  };
  let pending: ReturnType<typeof readNext> | null = readNext();
  try {
    for (;;) {
      const { buffer, bytesRead } = await pending;
      pending = null;
      if (bytesRead === 0) return;
      pending = readNext();
      yield bytesRead === CHUNK_SIZE ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    // Stopped early: let the read in flight finish before closing the file under it.
    if (pending) await pending.catch(() => undefined);
    await handle.close();
  }
}

async function* countBytes(source: AsyncGenerator<Uint8Array>, counter: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    counter.bytes += chunk.length;
    yield chunk;
  }
}

async function* prepend(head: Uint8Array | null, rest: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (head !== null) yield head;
  yield* rest;
}

/** Every (decompressed) chunk of a capture file, in order: for a second pass such as --pcapng-out. */
export async function* captureChunks(path: string): AsyncGenerator<Uint8Array> {
  const gz = await isGzipFile(path);
  const raw = rawChunks(path, !gz);
  const source: AsyncIterable<Uint8Array> = gz ? Readable.from(raw).pipe(createGunzip()) : raw;
  for await (const chunk of source) yield chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBuffer);
}
