#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run on install by `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'app', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('resumescope: not built yet; run `npm run build` in ' + root + '\n');
  process.exit(2);
}
const argv = process.argv.slice(2);
// Large analyses restart once with a fixed malloc threshold (see app/cli/relaunch.ts).
const { wantsMallocTuning, relaunchWithMallocTuning } = await import(pathToFileURL(join(root, 'dist', 'app', 'cli', 'relaunch.js')).href);
const relaunched = (await wantsMallocTuning(argv)) ? await relaunchWithMallocTuning(fileURLToPath(import.meta.url), argv) : null;
if (relaunched !== null) {
  process.exitCode = relaunched;
} else {
  const { main } = await import(pathToFileURL(entry).href);
  process.exitCode = await main(argv);
}
