// The --state file on disk: read before the analysis (refused with its byte offset when damaged),
// written back after it through a temporary file and a rename, so that a run that fails or is
// killed halfway leaves the previous state whole.

import { accessSync, closeSync, constants, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { temporaryNameFor, trackTemporary, untrackTemporary } from './temporary-files.js';
import { checkSessionState, StateFileError, stateOrderProblem, type CheckedState } from '../../parser/session/session-state.js';
import { OutputError } from './writers.js';
import type { StateChunkSink } from '../../parser/session/session-state.js';
import { describeFsError } from '../node/analyze-files.js';

/**
 * What FILE is now, to tell at commit whether another run wrote it meanwhile: its inode, size and
 * modification time ("absent" while there is none).
 */
export function stateFileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

/**
 * The new state is written beside the old one and renamed over it (StateFileWriter): its folder must
 * take a new file, whatever the file's own permissions. Checked before any capture is read; it was
 * found after the whole analysis, its outputs written.
 */
export function checkStateFolder(path: string): void {
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch (e) {
    throw new OutputError(`--state ${path}: its folder ${dirname(path)} cannot take a new file (${describeFsError(e)}): the new state is written beside the old one, then renamed into place`);
  }
}

/**
 * FILE's state, checked whole (a damaged one is refused now, before any capture is read), or null
 * when there is no such file yet (the first analysis of a series). Kept as its bytes, handed to the
 * diagnosis once (CheckedState.take): the session table reads them straight in.
 */
export function readStateFile(path: string): CheckedState | null {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new OutputError(`--state ${path}: cannot read it: ${describeFsError(e)}`);
  }
  try {
    return checkSessionState(bytes);
  } catch (e) {
    if (e instanceof StateFileError) {
      // A newer resumescope's state is not damaged: removing it would throw the series away.
      const advice = /newer resumescope/.test(e.message) ? '' : ' (remove the file to start a new series of analyses)';
      throw new OutputError(`--state ${path}: byte ${e.offset.toLocaleString('en-US')}: ${e.message}${advice}`);
    }
    throw e;
  }
}

/**
 * The state written back: its bytes go to a temporary file beside FILE as the diagnosis makes them
 * (`sink`, a chunk at a time: a million sessions are ~90 MB never held at once), and commit() puts
 * it in place of FILE by a rename, whole or not at all. A run that fails first calls abandon(): the
 * previous state stays.
 */
let writers = 0;

export class StateFileWriter {
  private readonly temporary: string;
  private fd: number | null = null;
  private error: unknown = null;
  private bytes = 0;
  /** The temporary file is this writer's (it made it): only then is it removed. */
  private created = false;

  /**
   * `readAs`: stateFileStamp(path) when this run read the state. Two runs on one state at once (an
   * hourly job that overran) each carried the same sessions on, and the later rename silently
   * dropped the other's hour: the state is not written over a file that changed since.
   */
  constructor(readonly path: string, private readonly readAs: string | null = null) {
    // One writer a run; a second one in the same process (tests) gets a name of its own.
    this.temporary = writers === 0 ? temporaryNameFor(path) : temporaryNameFor(`${path}-${writers}`);
    writers++;
    trackTemporary(this.temporary);
  }

  /** For DiagnoseOptions.carryOut. A failed write is kept for commit() to report; the analysis goes on. */
  readonly sink: StateChunkSink = (chunk) => {
    if (this.error !== null) return;
    try {
      if (this.fd === null) {
        this.fd = openSync(this.temporary, 'w');
        this.created = true;
      }
      for (let done = 0; done < chunk.length;) done += writeSync(this.fd, chunk, done, chunk.length - done);
      this.bytes += chunk.length;
    } catch (e) {
      this.error = e;
    }
  };

  /** Puts the written state in place of FILE; throws OutputError (and leaves FILE as it was) on failure. */
  commit(): void {
    try {
      if (this.error !== null) throw this.error;
      if (this.bytes === 0) throw new Error('no state was written');
      this.close();
      if (this.readAs !== null && stateFileStamp(this.path) !== this.readAs) {
        this.abandon();
        throw new OutputError(`--state ${this.path}: another run wrote it while this one ran; this run's sessions are not written over it (analyse the captures of a series one after another, each run once the last has ended)`);
      }
      renameSync(this.temporary, this.path);
      this.created = false;
      untrackTemporary(this.temporary);
    } catch (e) {
      this.abandon();
      if (e instanceof OutputError) throw e;
      throw new OutputError(`--state ${this.path}: cannot write it: ${describeFsError(e)}`);
    }
  }

  /** Drops what was written: FILE stays as it was. Never throws (it runs on the way out of a failure). */
  abandon(): void {
    try {
      this.close();
      if (this.created) rmSync(this.temporary, { force: true });
      untrackTemporary(this.temporary);
    } catch {
      // A temporary file that cannot be closed or removed: FILE is untouched all the same.
    }
    this.created = false;
  }

  private close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}

/** The CLI's words for a capture older than the state (see stateOrderProblem), or null. */
export function stateFileOrderProblem(path: string, state: CheckedState, firstTime: number | null): string | null {
  const problem = stateOrderProblem(state.lastTime, firstTime);
  return problem === null ? null : `--state ${path}: ${problem}, or start a new state file`;
}
