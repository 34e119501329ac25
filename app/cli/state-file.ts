// The --state file on disk: read before the analysis (refused with its byte offset when damaged),
// written back after it through a temporary file and a rename, so that a run that fails or is
// killed halfway leaves the previous state whole.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readSessionState, StateFileError } from '../../parser/session/session-state.js';
import { OutputError } from './writers.js';
import { describeFsError } from '../node/analyze-files.js';

/** A checked state file: its bytes (what the diagnosis reads) and its latest session use. */
export interface StateFile {
  bytes: Uint8Array;
  lastTime: number;
}

/**
 * FILE's state, checked whole (a damaged one is refused now, before any capture is read), or null
 * when there is no such file yet (the first analysis of a series). Kept as its bytes: the session
 * table reads them straight in.
 */
export function readStateFile(path: string): StateFile | null {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new OutputError(`--state ${path}: cannot read it: ${describeFsError(e)}`);
  }
  try {
    return { bytes, lastTime: readSessionState(bytes).lastTime };
  } catch (e) {
    if (e instanceof StateFileError) {
      throw new OutputError(`--state ${path}: byte ${e.offset.toLocaleString('en-US')}: ${e.message} (remove the file to start a new series of analyses)`);
    }
    throw e;
  }
}

/** Writes a state (encodeSessionState's bytes) in place of the file's, whole or not at all. */
export function writeStateFile(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw new OutputError(`--state ${path}: cannot write it: ${describeFsError(e)}`);
  }
}

/**
 * Captures must come after the traffic the state holds: an offer of a session used later than
 * itself would get a negative idle time. Returns the complaint, or null.
 */
export function stateOrderProblem(path: string, state: StateFile, firstTime: number | null): string | null {
  if (firstTime === null || !Number.isFinite(state.lastTime) || state.lastTime <= firstTime + STATE_OVERLAP) return null;
  const iso = (t: number) => new Date(t * 1000).toISOString();
  return `--state ${path}: holds sessions used up to ${iso(state.lastTime)}, after this capture's start (${iso(firstTime)}): ` +
    'analyse the captures in time order (once each), or start a new state file';
}

/** Seconds a capture may start before the state's latest session use: none, an offer cannot come before a use of its session (the files of one tap's rotated capture follow each other). */
export const STATE_OVERLAP = 0;
