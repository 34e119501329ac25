// npm run bench:ui [-- FILE]
// The desktop UI on a large capture (default: the 1 GB file of `npm run bench`), in headless
// Chromium through the same file input a user clicks: time until the results and the first
// chart (the reuse-gap histogram) are on screen, against the CLI's whole analysis of the same
// file, and the worst frame gap while the worker reads (the page must stay responsive).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { frameGaps, watchFrames } from '../support/frame-gaps.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(ROOT, 'bin', 'resumescope.js');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

function startUi(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'ui', '--no-open', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      // The whole printed address: it carries the key the page needs (ui-server.ts).
      const match = /http:\/\/127\.0\.0\.1:\d+\/open\/[\w-]+/.exec(output);
      if (match) resolve({ url: match[0], child });
    });
    child.on('exit', () => reject(new Error(`ui server exited: ${output}`)));
  });
}

async function main(): Promise<void> {
  const file = process.argv[2] ?? join(tmpdir(), 'resumescope-bench', 'farm-1000MB.pcap');
  if (!existsSync(file)) throw new Error(`${file} not found: run npm run bench first, or name a capture`);
  const mb = statSync(file).size / 1e6;

  const cliStarted = process.hrtime.bigint();
  const cli = spawnSync(process.execPath, [CLI, 'analyze', file, '-q', '--json', join(tmpdir(), 'resumescope-ui-bench.json')], { stdio: 'inherit' });
  if (cli.status !== 0 && cli.status !== 1) throw new Error('the CLI failed');
  const cliSeconds = Number(process.hrtime.bigint() - cliStarted) / 1e9;

  const ui = await startUi();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(ui.url);
    await page.getByTestId('welcome').waitFor();
    await watchFrames(page);
    const started = Date.now();
    await page.getByTestId('file-input').setInputFiles([file]);
    await page.getByTestId('view-overview').waitFor({ timeout: 600_000 });
    const resultsSeconds = (Date.now() - started) / 1000;
    const gaps = await frameGaps(page);
    await page.getByTestId('tab-reuse').click();
    await page.getByTestId('chart-reuse-gap').locator('svg').first().waitFor({ timeout: 60_000 });
    const chartSeconds = (Date.now() - started) / 1000;
    const worstGap = Math.max(...gaps.slice(0, -10));
    console.log(`ui: ${mb.toFixed(0)} MB capture; CLI whole analysis ${cliSeconds.toFixed(1)} s; ` +
      `UI results ${resultsSeconds.toFixed(1)} s, first chart ${chartSeconds.toFixed(1)} s (${(chartSeconds / cliSeconds).toFixed(2)}× the CLI); ` +
      `worst frame gap while reading ${worstGap.toFixed(0)} ms over ${gaps.length} frames`);
  } finally {
    await browser.close();
    ui.child.kill();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:ui: ${(e as Error).message}\n`);
  process.exit(2);
});
