// Node side of reading captures: files, folders, stdin and .gz → the portable Analysis.
import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { Analysis, NotACaptureError, sniffFormat } from '../../parser/analysis.js';
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
  if (path === '-') return 0;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(path, 'r');
    const buffer = new Uint8Array(CHUNK_SIZE);
    const { bytesRead } = await handle.read(buffer, 0, CHUNK_SIZE, 0);
    let head = buffer.subarray(0, bytesRead);
    if (sniffFormat(head) === 'gzip') return Infinity;
    let first = Infinity;
    const probe = new Analysis(() => {});
    const ingest = probe.openFile(basename(path));
    try {
      ingest.push(head);
    } catch {
      return Infinity;
    }
    first = ingest.summary.firstTime ?? Infinity;
    head = new Uint8Array(0);
    return first;
  } catch {
    return Infinity;
  } finally {
    await handle?.close();
  }
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
}

/** Analyse the files as one run, in order of their first packet. */
export async function analyzeFiles(inputs: InputFile[], options: AnalyzeOptions): Promise<AnalyzeResult> {
  const problems: InputProblem[] = [];
  const internalErrors: InputProblem[] = [];
  const analysis = new Analysis(options.onConnection);
  // Order by first packet only matters (and is only worth a probe read) with several files.
  // Streams cannot be probed (the probe would consume them): they come first, as stdin does.
  const times = inputs.length > 1 ? await Promise.all(inputs.map((f) => (f.stream ? 0 : firstPacketTime(f.path)))) : [0];
  const ordered = inputs.map((f, i) => ({ f, t: times[i]! })).sort((a, b) => a.t - b.t).map((x) => x.f);
  const bytesTotal = ordered.reduce((sum, f) => sum + f.size, 0);
  let bytesBefore = 0;
  for (let i = 0; i < ordered.length; i++) {
    const input = ordered[i]!;
    if (options.cancelled?.()) break;
    const name = input.path === '-' ? '<stdin>' : input.path;
    let ingest: ReturnType<Analysis['openFile']> | null = null;
    const counter = { bytes: 0 };
    let raw: AsyncGenerator<Uint8Array> | null = null;
    try {
      const gzFile = !input.stream && (await isGzipFile(input.path));
      // Plain files reuse one read buffer: the analysis copies whatever it keeps, and a
      // fresh megabyte per read would make the garbage collector the main cost. Not a stream: it
      // may turn out gzip only from its first bytes, and the decompressor holds on to chunks after
      // they are handed over (a reused buffer, overwritten under it, made a gzip FIFO "damaged"
      // after its first 16 KiB: 2 of 3,274 connections, exit 0).
      const reuse = !input.stream && input.path !== '-' && !gzFile;
      raw = countBytes(rawChunks(input.path, reuse), counter);
      const first = await raw.next();
      const head = first.done ? null : first.value;
      const gz = gzFile || (head !== null && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
      ingest = analysis.openFile(name, gz);
      const all = prepend(head, raw);
      const source: AsyncIterable<Uint8Array> = gz ? Readable.from(all).pipe(createGunzip()) : all;
      for await (const chunk of source) {
        // Our own read buffers leave JOIN_ROOM free ahead of the bytes read (see rawChunks).
        ingest.push(chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBuffer), reuse && !gz ? JOIN_ROOM : 0);
        options.onProgress?.({ file: name, fileIndex: i, fileCount: ordered.length, bytesDone: bytesBefore + counter.bytes, bytesTotal });
        if (options.cancelled?.()) break;
        if (options.betweenChunks) await options.betweenChunks();
      }
      ingest.finish();
    } catch (e) {
      if (isInternalError(e)) {
        // A bug in resumescope, not damage in the capture: say so, and ask for the capture.
        const message = `internal error (a bug in resumescope) while reading it: ${(e as Error).message ?? String(e)}; please report it with this capture`;
        if (ingest) ingest.summary.anomalies.push({ kind: 'internal', code: 'internal-error', message, file: name });
        internalErrors.push({ path: name, reason: message });
        if (process.env.RESUMESCOPE_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
        bytesBefore += input.size;
        continue;
      }
      const reason = e instanceof NotACaptureError ? e.message : describeFsError(e);
      if (ingest && ingest.summary.packets > 0) {
        // Keep what could be read: the damage is an anomaly of this capture, not a lost file.
        ingest.readFailed(reason);
      } else {
        problems.push({ path: name, reason });
        if (ingest) ingest.summary.error = reason;
      }
    } finally {
      // Stopping early (not a capture, cancelled) must still close the file.
      await raw?.return(undefined);
    }
    bytesBefore += input.size;
  }
  analysis.finish();
  return { captures: analysis.captures, problems, internalErrors };
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
