// Worker thread of `analyze --each`: one whole analysis per request (reading, diagnosis,
// outputs), its summary and messages sent back as text for the main thread to print in order.
import { parentPort } from 'node:worker_threads';
import type { AnalyzeArgs } from '../cli/args.js';
import { reportingErrors, runAnalyze, type CliIo } from '../cli/main.js';

export type EachRequest = { args: AnalyzeArgs };
export type EachResult = { code: number; stdout: string; stderr: string };

/** One capture's analysis, what it prints kept as text (also used on the main thread with --jobs 1). */
export async function analyzeToText(args: AnalyzeArgs): Promise<EachResult> {
  const text = { stdout: '', stderr: '' };
  const io: CliIo = { stdout: (t) => { text.stdout += t; }, stderr: (t) => { text.stderr += t; }, stderrIsTty: false };
  const code = await reportingErrors(io, () => runAnalyze(args, io));
  return { code, ...text };
}

// Only in a worker: on the main thread (parentPort null) this module just lends analyzeToText.
parentPort?.on('message', async (request: EachRequest) => {
  parentPort!.postMessage(await analyzeToText(request.args));
});
