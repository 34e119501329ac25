// Node side of reading captures: files, folders, stdin and .gz → the portable Analysis.
import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { Analysis, NotACaptureError, sniffFormat, type CaptureIngest } from '../../parser/analysis.js';
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

/** Time of the first packet, read from the file's first megabyte: orders the files of one run. */
export async function firstPacketTime(path: string): Promise<number> {
  return (await probeCapture(path, false)).firstTime;
}

/** What a file's first megabyte tells: its first packet's time, and the TLS connections in it (see analyzeFiles). */
interface CaptureProbe {
  firstTime: number;
  /** Each TLS connection's two endpoints, in either order ("a|port b|port", the lesser first). */
  connections: Set<string>;
}

async function probeCapture(path: string, withConnections: boolean): Promise<CaptureProbe> {
  const connections = new Set<string>();
  const unknown = { firstTime: Infinity, connections };
  if (path === '-') return { firstTime: 0, connections };
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(path, 'r');
    const buffer = new Uint8Array(CHUNK_SIZE);
    const { bytesRead } = await handle.read(buffer, 0, CHUNK_SIZE, 0);
    const head = buffer.subarray(0, bytesRead);
    if (sniffFormat(head) === 'gzip') return unknown;
    const probe = new Analysis(withConnections ? (c) => connections.add(endpointPair(c)) : () => {});
    const ingest = probe.openFile(basename(path));
    try {
      ingest.push(head);
    } catch {
      return unknown;
    }
    const firstTime = ingest.summary.firstTime ?? Infinity;
    try {
      if (withConnections) probe.finish();
    } catch {
      // What its connections are only decides which files are merged: the file is read on its own.
      connections.clear();
    }
    return { firstTime, connections };
  } catch {
    return unknown;
  } finally {
    await handle?.close();
  }
}

function endpointPair(c: ConnectionRecord): string {
  const a = `${c.client.ip}|${c.client.port}`;
  const b = `${c.server.ip}|${c.server.port}`;
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

/**
 * The files in the order they are read: files that hold the same connections (in their first
 * megabytes) are one group, read merged by time; groups one after another, each from its first
 * packet's time, and so are a group's files ordered. Files that share no connection gain nothing
 * from a merge (records and diagnosis are the same) and cost a copy of every frame held back:
 * the bench's four simulated farms of the same 21 minutes, read merged, took 0.4–1.3 s longer to read.
 */
async function readingOrder(inputs: InputFile[]): Promise<{ f: InputFile; t: number; group: number }[]> {
  // Streams cannot be probed (the probe would consume them): they come first, as stdin does.
  const none = { firstTime: 0, connections: new Set<string>() };
  const probes = inputs.length > 1 ? await Promise.all(inputs.map((f) => (f.stream ? none : probeCapture(f.path, true)))) : [none];
  const group = inputs.map((_, i) => i);
  const root = (i: number): number => (group[i] === i ? i : (group[i] = root(group[i]!)));
  const holder = new Map<string, number>();
  probes.forEach((probe, i) => {
    for (const pair of probe.connections) {
      const j = holder.get(pair);
      if (j === undefined) holder.set(pair, i);
      else group[root(i)] = root(j);
    }
  });
  const files = inputs.map((f, i) => ({ f, t: probes[i]!.firstTime, group: root(i) }));
  const groupStart = new Map<number, number>();
  for (const x of files) groupStart.set(x.group, Math.min(groupStart.get(x.group) ?? Infinity, x.t));
  return files.sort((a, b) => groupStart.get(a.group)! - groupStart.get(b.group)! || a.group - b.group || a.t - b.t);
}

/**
 * The files that hold connections another of them holds too (a file per direction of a tap): read
 * apart (--jobs), such connections would be one-sided in each. Empty when no two files share one.
 */
export async function filesReadTogether(inputs: InputFile[]): Promise<string[]> {
  const ordered = await readingOrder(inputs);
  return ordered.filter((x) => ordered.some((y) => y !== x && y.group === x.group)).map((x) => x.f.path);
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
  /** How many files were read merged by time with others holding the same connections (see analyzeFiles). */
  readMerged?: number;
}

/**
 * Analyse the files as one run. Files that hold the same connections (one per direction of a tap)
 * are read merged by packet time, as `mergecap` (without -a) would have joined them: a file from
 * its first packet's turn on, each packet in time order. Before, the files were read one after
 * the other: a capture of each direction in a file of its own made every handshake "aborted".
 * Where such files follow each other, their frames are analysed as read; only where they overlap
 * are frames copied and held, at most about a read chunk per open file. Other files (a rotated
 * capture, captures of other hosts) are read one after another in order of their first packet,
 * the clock restarting where one starts before the last ended (see FlowTable.startFile). A gzip
 * file's first megabyte is not probed: it is read after the others, on its own.
 */
export async function analyzeFiles(inputs: InputFile[], options: AnalyzeOptions): Promise<AnalyzeResult> {
  const problems: InputProblem[] = [];
  const internalErrors: InputProblem[] = [];
  const analysis = new Analysis(options.onConnection);
  // Order by first packet only matters (and is only worth a probe read) with several files.
  const ordered = await readingOrder(inputs);
  const bytesTotal = ordered.reduce((sum, x) => sum + x.f.size, 0);
  let bytesBefore = 0;
  let bytesOpen = 0;
  const readMerged = ordered.filter((x) => ordered.some((y) => y !== x && y.group === x.group)).length;
  const open: FileSource[] = [];
  let next = 0;
  const report = (source: FileSource) => options.onProgress?.({ file: source.name, fileIndex: source.index, fileCount: ordered.length, bytesDone: bytesBefore + bytesOpen, bytesTotal });
  // A read chunk of a file: its frames up to `bound` are analysed, later ones held (see CaptureIngest.holdAfter).
  const readChunk = async (source: FileSource, bound: number): Promise<void> => {
    const before = source.counter.bytes;
    await source.read(bound);
    bytesOpen += source.counter.bytes - before;
    report(source);
    if (options.betweenChunks) await options.betweenChunks();
  };
  const close = async (source: FileSource): Promise<void> => {
    open.splice(open.indexOf(source), 1);
    await source.close(problems, internalErrors);
    bytesOpen -= source.counter.bytes;
    bytesBefore += source.input.size;
  };
  try {
    for (;;) {
      if (options.cancelled?.()) {
        // What was read is analysed to the end of what each open file held, as at its end.
        for (const source of [...open]) {
          source.release(Infinity);
          await close(source);
        }
        break;
      }
      const finished = open.find((source) => source.ended && !source.ingest?.holdsFrames);
      if (finished !== undefined) {
        await close(finished);
        continue;
      }
      // Each open file either holds frames (its next one is known) or is the one being read as
      // it comes (at most one: its next frame is not known until read).
      let earliest: FileSource | null = null;
      let reading: FileSource | null = null;
      for (const source of open) {
        if (!source.ingest?.holdsFrames) reading = source;
        else if (earliest === null || source.ingest.nextHeldTime < earliest.ingest!.nextHeldTime) earliest = source;
      }
      const heldFirst = earliest?.ingest?.nextHeldTime ?? Infinity;
      // A file of another group waits until this group's files are all read.
      const nextFirst = next < ordered.length && (open.length === 0 || ordered[next]!.group === open[0]!.group) ? ordered[next]!.t : Infinity;
      if (next < ordered.length && (open.length === 0 || (reading === null && nextFirst <= heldFirst))) {
        // The next file's first packet comes before anything held: it joins. Alone, it is read
        // as it comes (up to the file after it); beside others, its first chunk waits its turn.
        const source = new FileSource(ordered[next]!.f, ordered[next]!.group, next, analysis);
        next++;
        const alone = open.length === 0;
        open.push(source);
        const after = ordered[next];
        await readChunk(source, !alone ? -Infinity : after !== undefined && after.group === source.group ? after.t : Infinity);
        continue;
      }
      if (reading !== null) {
        // Read on until a frame comes after another file's next one.
        await readChunk(reading, Math.min(heldFirst, nextFirst));
        continue;
      }
      if (earliest === null) break;
      // Its frames go until another file's next frame is due; then that file's turn.
      let secondHeld = nextFirst;
      for (const source of open) if (source !== earliest) secondHeld = Math.min(secondHeld, source.ingest!.nextHeldTime);
      earliest.release(secondHeld);
    }
  } finally {
    // Stopping early (cancelled) must still close the files.
    for (const source of open) await source.abandon();
  }
  analysis.finish();
  return { captures: analysis.captures, problems, internalErrors, readMerged };
}

/** One input file being read into the analysis (see analyzeFiles). */
class FileSource {
  readonly name: string;
  ingest: CaptureIngest | null = null;
  readonly counter = { bytes: 0 };
  /** No more chunks: read to its end, or stopped by an error (`failure`). */
  ended = false;
  private failure: unknown = null;
  private raw: AsyncGenerator<Uint8Array> | null = null;
  private chunks: AsyncIterator<Uint8Array> | null = null;
  private reuse = false;
  private gz = false;

  constructor(readonly input: InputFile, readonly group: number, readonly index: number, private readonly analysis: Analysis) {
    this.name = input.path === '-' ? '<stdin>' : input.path;
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
      this.failure = e;
      this.ended = true;
    }
  }

  /**
   * Analyse the frames it held, up to `until`. An error there is the file's (a bug in
   * resumescope: see close), as when its frames are analysed as read: the rest it held is let go.
   */
  release(until: number): void {
    try {
      this.ingest?.releaseHeld(until);
    } catch (e) {
      this.failure = e;
      this.ended = true;
      this.ingest?.dropHeld();
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
    this.ingest = this.analysis.openFile(this.name, this.gz);
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
export async function forEachCaptureChunk(path: string, onChunk: (chunk: Uint8Array, first: boolean) => void): Promise<void> {
  const gz = await isGzipFile(path);
  const raw = rawChunks(path, !gz);
  const source: AsyncIterable<Uint8Array> = gz ? Readable.from(raw).pipe(createGunzip()) : raw;
  let first = true;
  for await (const chunk of source) {
    onChunk(chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBuffer), first);
    first = false;
  }
}
