import { spawn } from 'node:child_process';
import { parseArgs } from './args.js';
import { resolveInputs } from '../node/analyze-files.js';

// glibc's malloc raises its mmap threshold each time a large block is freed (up to 32 MiB):
// afterwards, the analysis's megabyte-sized typed arrays come from the heap arena, and the
// ones it frees (session indexes outgrown, per-group working arrays) stay in the process's
// resident memory. On the 2-million-connection capture that was ~70 MiB of the peak
// (1,066 MiB -> 994 MiB with a fixed threshold, same time). The threshold can only be set
// before the process starts, so the launcher restarts itself once with it, and only for
// analyses of large files: the second start costs ~0.2 s (the 1 GB bench: 2.91 against 3.10 s,
// best of four), which buys ~14 MiB there (175 -> 161 MiB) but ~70 MiB on the 4.2 GB one.

/** Input size from which an analysis runs with a fixed malloc threshold. */
const LARGE_INPUT_BYTES = 2 * 2 ** 30;
const TUNING = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };

/**
 * Whether `argv` (the CLI's arguments) analyses large inputs (files, or the captures in folders)
 * and this process can still be tuned. Arguments that do not parse: no (main() reports them).
 */
export async function wantsMallocTuning(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, platform = process.platform): Promise<boolean> {
  if (platform !== 'linux') return false;
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.RESUMESCOPE_MALLOC === 'default') return false;
  let args;
  try {
    args = parseArgs([...argv]);
  } catch {
    return false;
  }
  if (args.command !== 'analyze') return false;
  const { files } = await resolveInputs(args.inputs.filter((input) => input !== '-'));
  return files.reduce((sum, f) => sum + f.size, 0) >= LARGE_INPUT_BYTES;
}

/**
 * Runs `script argv` again in a child process with the malloc tuning; resolves to the exit
 * code to leave with, or null when no child could start (then the analysis runs here, untuned).
 */
export function relaunchWithMallocTuning(script: string, argv: readonly string[]): Promise<number | null> {
  // The child gets the same Node options, except a debugger port the parent already holds.
  const nodeOptions = process.execArgv.filter((option) => !option.startsWith('--inspect'));
  const child = spawn(process.execPath, [...nodeOptions, script, ...argv], { stdio: 'inherit', env: { ...process.env, ...TUNING } });
  // Signals sent to the parent alone (kill <pid>) reach the run; it ends and the parent follows.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal: NodeJS.Signals) => { child.kill(signal); };
  for (const signal of signals) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('error', () => resolve(null));
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : signal === 'SIGHUP' ? 129 : 1));
    });
  });
}
