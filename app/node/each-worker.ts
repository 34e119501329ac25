// Worker thread of `analyze --each`: one whole analysis per request (reading, diagnosis,
// outputs), its summary and messages sent back as text for the main thread to print in order.
import { parentPort } from 'node:worker_threads';
import type { AnalyzeArgs } from '../cli/args.js';
import { reportingErrors, runAnalyze, type CliIo } from '../cli/main.js';

export type EachRequest = { args: AnalyzeArgs };
/** `outputFailed`: analysed, but an output could not be written (the code is then 2 too). */
export type EachResult = { code: number; stdout: string; stderr: string; outputFailed: boolean };
export type EachMessage = ({ type: 'done' } & EachResult) | { type: 'progress'; bytesDone: number };

/**
 * One capture's analysis, what it prints kept as text (also used on the main thread with --jobs 1);
 * `onRead` hears the bytes read so far.
 */
export async function analyzeToText(args: AnalyzeArgs, onRead?: (bytesDone: number) => void): Promise<EachResult> {
  const text = { stdout: '', stderr: '' };
  let outputFailed = false;
  // No memory forecast: the analyses share this process, and what one prints is shown when it ends.
  const io: CliIo = {
    stdout: (t) => { text.stdout += t; }, stderr: (t) => { text.stderr += t; }, stderrIsTty: false, readProgress: onRead, memory: null,
    outputFailed: () => { outputFailed = true; },
  };
  const code = await reportingErrors(io, () => runAnalyze(args, io));
  return { code, ...text, outputFailed };
}

/** Progress messages at most this often (a message per megabyte read would flood the main thread). */
const PROGRESS_EVERY_MS = 200;

// Only in a worker: on the main thread (parentPort null) this module just lends analyzeToText.
parentPort?.on('message', async (request: EachRequest) => {
  let last = 0;
  const result = await analyzeToText(request.args, (bytesDone) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    parentPort!.postMessage({ type: 'progress', bytesDone } satisfies EachMessage);
  });
  parentPort!.postMessage({ type: 'done', ...result } satisfies EachMessage);
});
