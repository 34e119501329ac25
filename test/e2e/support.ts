// Shared by the end-to-end tests: the CLI as the reference, the `ui` server as a child process,
// Debian's Chromium through playwright-core, and reading the numbers a page shows.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const CLI = join(ROOT, 'bin/resumescope.js');
export const SIMULATOR = join(ROOT, 'dist/fixtures/simulator/cli.js');
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');
const run = promisify(execFile);

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `resumescope-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, name);
}

/** The CLI's JSON document for these files: the reference every screen is compared with. */
export async function analyzeWithCli(files: string[], extra: string[] = []): Promise<AnalysisJson> {
  const dir = tempDir('json');
  try {
    const out = join(dir.path, 'out.json');
    await run('node', [CLI, 'analyze', ...files, '--json', out, '-q', ...extra], { maxBuffer: 1 << 26 });
    return JSON.parse(readFileSync(out, 'utf8')) as AnalysisJson;
  } finally {
    dir.remove();
  }
}

export async function simulate(out: string, args: string[]): Promise<void> {
  await run('node', [SIMULATOR, ...args, '--out', out], { maxBuffer: 1 << 24 });
}

export interface AnalysisJson {
  connections: { id: number; resumption: string; handshake: string; sni: string | null; reason?: string | null; session?: { role?: string; reuseGap?: number | null } | null }[];
  findings: { title: string }[];
  servers: { group: string; tls13CompatibilityIds: number; cachePolicy: { idleTimeout: { seconds: number | null } } }[];
}

export interface Numbers {
  connections: number;
  offers: number;
  accepted: number;
  rejected: number;
  aborted: number;
  rate: string;
}

/** The overview numbers as the CLI's JSON implies them (docs/domain.md vocabulary). */
export function expectedNumbers(doc: AnalysisJson): Numbers {
  const c = doc.connections;
  const offers = c.filter((x) => x.resumption !== 'not-offered').length;
  const accepted = c.filter((x) => x.resumption === 'accepted').length;
  const rejected = c.filter((x) => x.resumption === 'rejected').length;
  // The rate is of answered offers, without the TLS 1.3 random session IDs the servers counted.
  const answered = accepted + rejected - doc.servers.reduce((n, s) => n + s.tls13CompatibilityIds, 0);
  return {
    connections: c.length,
    offers,
    accepted,
    rejected,
    aborted: c.filter((x) => x.handshake === 'aborted').length,
    rate: answered <= 0 ? '—' : `${((100 * accepted) / answered).toFixed(1)}%`,
  };
}

export async function shownNumbers(page: Page): Promise<Numbers> {
  const text = async (id: string) => (await page.getByTestId(`kpi-${id}-value`).textContent())?.trim() ?? '';
  const num = async (id: string) => Number((await text(id)).replace(/,/g, ''));
  return {
    connections: await num('connections'),
    offers: await num('offers'),
    accepted: await num('accepted'),
    rejected: await num('rejected'),
    aborted: await num('aborted'),
    rate: await text('rate'),
  };
}

export interface UiProcess {
  /** The address it printed, with its key (http://127.0.0.1:PORT/open/KEY). */
  url: string;
  /** The server's base address (http://127.0.0.1:PORT/). */
  base: string;
  output(): string;
  stop(): Promise<number | null>;
}

/** `resumescope ui --no-open --port 0 …`: resolves with the URL it prints. */
export function startUi(captures: string[]): Promise<UiProcess> {
  const child: ChildProcess = spawn('node', [CLI, 'ui', '--no-open', '--port', '0', ...captures], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ui server printed no URL: ${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+\/)open\/[\w-]+/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[0],
          base: match[1]!,
          output: () => output,
          stop: () => new Promise((done) => {
            if (child.exitCode !== null) return done(child.exitCode);
            child.once('exit', (code) => done(code));
            child.kill('SIGINT');
          }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`ui server exited (${code}): ${output}`)); });
  });
}

/** Fails the test on any dialog (alert/confirm/prompt): script from capture data must never run. */
export function forbidDialogs(page: Page): { dialogs: string[] } {
  const seen = { dialogs: [] as string[] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return seen;
}

/** Collects CSP violations and page errors reported by the page. */
export function watchPageErrors(page: Page): { errors: string[] } {
  const seen = { errors: [] as string[] };
  page.on('pageerror', (e) => seen.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(`console: ${m.text()}`);
  });
  return seen;
}

export async function waitForAnalysis(page: Page, timeout = 50_000): Promise<void> {
  await page.getByTestId('view-overview').waitFor({ timeout });
}
