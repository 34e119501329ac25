// Loaded with `node --import` by test/fuzz/cli-mutations.test.ts: writes the CLI's peak
// resident memory (KiB) to $RESUMESCOPE_RUSAGE_OUT when it exits.
import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  if (process.env.RESUMESCOPE_RUSAGE_OUT) writeFileSync(process.env.RESUMESCOPE_RUSAGE_OUT, String(process.resourceUsage().maxRSS));
});
