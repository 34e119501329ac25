// `analyze … --report`: one self-contained HTML file, opened from disk with every network request
// failing. It renders, its numbers equal the JSON's, nothing leaves the file, hostile SNIs stay text.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HOSTILE_SNIS, writeHostileCapture } from './hostile.js';
import { CLI, expectedNumbers, forbidDialogs, launchBrowser, ROOT, screenshotPath, shownNumbers, simulate, tempDir, watchPageErrors, type AnalysisJson } from './support.js';

const run = promisify(execFile);
const work = tempDir('report');
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  work.remove();
});

async function writeReport(name: string, captures: string[]): Promise<{ html: string; json: AnalysisJson }> {
  const html = join(work.path, `${name}.html`);
  const jsonPath = join(work.path, `${name}.json`);
  await run('node', [CLI, 'analyze', ...captures, '--json', jsonPath, '--report', html, '-q']);
  return { html, json: JSON.parse(readFileSync(jsonPath, 'utf8')) as AnalysisJson };
}

/** Opens the file with all other requests failing; returns every request that tried to leave it. */
async function openOffline(html: string, theme: 'light' | 'dark'): Promise<{ page: Page; escaped: string[]; dialogs: { dialogs: string[] }; errors: { errors: string[] } }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: theme });
  const page = await context.newPage();
  const fileUrl = `file://${html}`;
  const escaped: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === fileUrl) return route.continue();
    escaped.push(url);
    return route.abort();
  });
  const dialogs = forbidDialogs(page);
  const errors = watchPageErrors(page);
  await page.goto(fileUrl);
  await page.getByTestId('view-overview').waitFor({ timeout: 30_000 });
  return { page, escaped, dialogs, errors };
}

describe('HTML report (--report)', () => {
  it('of a file analysed with --state: says how many sessions came from the earlier analyses', async () => {
    const capture = join(ROOT, 'fixtures/captures/nginx-session-timeout.pcap');
    const { rewritePcapRecords } = await import('../support/pcap-edit.js');
    const first = join(work.path, 'series-1.pcap');
    const second = join(work.path, 'series-2.pcap');
    writeFileSync(first, rewritePcapRecords(capture, (r, i) => (i < 104 ? r : null)));
    writeFileSync(second, rewritePcapRecords(capture, (r, i) => (i >= 104 ? r : null)));
    const state = join(work.path, 'series.state');
    await run('node', [CLI, 'analyze', first, '--state', state, '-q']);
    const html = join(work.path, 'series-2.html');
    await run('node', [CLI, 'analyze', second, '--state', state, '--report', html, '-q']);
    const { page, errors } = await openOffline(html, 'light');
    expect(await page.getByTestId('carried-note').textContent()).toMatch(/^2 sessions were carried in from a state file of earlier analyses of this series:/);
    await page.getByTestId('captures').screenshot({ path: screenshotPath('report-carried-light.png') });
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('is self-contained and shows the same numbers as the JSON, with files, hashes and version', async () => {
    const idle = join(work.path, 'idle-timeout.pcap');
    await simulate(idle, ['--preset', 'idle-timeout', '--quiet']);
    const rst = join(ROOT, 'fixtures/captures/tls12-rst-after-server-hello.pcap');
    const { html, json } = await writeReport('idle', [idle, rst]);
    const text = readFileSync(html, 'utf8');
    // One file: no external script, style, image or link; a CSP that allows only its own hashes.
    const markup = text.replace(/(<script[^>]*>)[\s\S]*?(<\/script>)/g, '$1$2').replace(/(<style>)[\s\S]*?(<\/style>)/g, '$1$2');
    expect(markup.match(/\b(src|href)="(?!data:)[^"]*"/g)).toBeNull();
    expect(markup.match(/<script/g)).toHaveLength(2); // the JSON data and the one inline bundle
    expect(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'/.test(markup)).toBe(true);
    for (const theme of ['light', 'dark'] as const) {
      const { page, escaped, dialogs, errors } = await openOffline(html, theme);
      expect(await shownNumbers(page)).toEqual(expectedNumbers(json));
      const captures = await page.getByTestId('captures').textContent();
      expect(captures).toContain(createHash('sha256').update(readFileSync(idle)).digest('hex'));
      expect(captures).toContain(createHash('sha256').update(readFileSync(rst)).digest('hex'));
      expect(captures).toMatch(/resumescope 0\.\d+\.\d+/);
      await page.screenshot({ path: screenshotPath(`report-overview-${theme}.png`), fullPage: true });
      if (theme === 'light') {
        // Printed (or saved as PDF), the overview flows over its pages: the last card is on paper too.
        const pdf = Buffer.from(await page.pdf({ format: 'A4', printBackground: true }));
        const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page\b/g) ?? []).length;
        expect(pages).toBeGreaterThan(1);
      }
      // Interactive: the charts and the connection list filter.
      await page.getByTestId('tab-reuse').click();
      expect(await page.getByTestId('chart-reuse-gap').textContent()).toContain('inferred idle timeout 5m00s');
      await page.locator('[data-testid=chart-reuse-gap] .recharts-bar-rectangle').nth(2).hover();
      await expect.poll(() => page.locator('.recharts-tooltip-wrapper').first().textContent()).toMatch(/accepted/);
      await page.screenshot({ path: screenshotPath(`report-reuse-gap-${theme}.png`), fullPage: true });
      await page.getByTestId('tab-timeline').click();
      await page.getByTestId('timeline-chart').waitFor();
      await page.screenshot({ path: screenshotPath(`report-timeline-${theme}.png`) });
      await page.getByTestId('tab-connections').click();
      await page.getByTestId('filter-outcome').selectOption('rejected');
      await expect.poll(() => page.getByTestId('match-count').textContent()).toBe(String(json.connections.filter((c) => c.resumption === 'rejected').length));
      await page.getByTestId('connection-row').first().click();
      await page.getByTestId('ladder').waitFor();
      await page.screenshot({ path: screenshotPath(`report-connections-${theme}.png`) });
      expect(escaped).toEqual([]);
      expect(dialogs.dialogs).toEqual([]);
      expect(errors.errors).toEqual([]);
      await page.context().close();
    }
  }, 60_000);

  it('draws a limit line on its edge where the bars are finer than a duration is rounded to', async () => {
    // Real HAProxy with a 10 s lifetime: bars of 500 ms past 10 s were labelled "10s, 11s, 11s,
    // 12s, 12s"; the line, placed at its edge's label among repeated ones, was not drawn at all.
    const { html } = await writeReport('lifetime', [join(ROOT, 'fixtures/captures-large/haproxy-lifetime-own-caches.pcap.gz')]);
    const { page, errors } = await openOffline(html, 'light');
    await page.getByTestId('tab-reuse').click();
    const age = page.getByTestId('chart-age');
    await age.locator('.recharts-reference-line line').first().waitFor({ state: 'attached', timeout: 10_000 });
    expect(await age.locator('.recharts-reference-line').count()).toBe(1);
    // On the edge labelled 10s: the line's x is that tick's.
    const lineX = Number(await age.locator('.recharts-reference-line line').getAttribute('x1'));
    const tickX = await age.locator('.edge-tick', { hasText: /^10s$/ }).locator('line').getAttribute('x1');
    expect(Math.abs(lineX - Number(tickX))).toBeLessThan(1);
    for (const chart of ['chart-reuse-gap', 'chart-age']) {
      const ticks = await page.getByTestId(chart).locator('.edge-tick text').allTextContents();
      expect(ticks.length).toBeGreaterThan(5);
      expect(new Set(ticks).size, ticks.join(' ')).toBe(ticks.length);
    }
    await page.screenshot({ path: screenshotPath('report-lifetime-edge-light.png'), fullPage: true });
    expect(errors.errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('keeps hostile SNIs as text: no dialog, no injected element, nothing fetched', async () => {
    const hostile = await writeHostileCapture(work.path);
    const { html, json } = await writeReport('hostile', [hostile]);
    const text = readFileSync(html, 'utf8');
    // The data is JSON inside <script type="application/json"> with every "<" escaped.
    const data = /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(text)![1]!;
    expect(data).not.toContain('<');
    const { page, escaped, dialogs, errors } = await openOffline(html, 'light');
    expect(await shownNumbers(page)).toEqual(expectedNumbers(json));
    expect(await page.getByTestId('findings').textContent()).toContain(HOSTILE_SNIS[0]);
    await page.getByTestId('tab-connections').click();
    await page.getByTestId('connection-row').first().waitFor();
    const shown = await page.getByTestId('connection-row').locator('.sni').allTextContents();
    expect(shown.every((s) => HOSTILE_SNIS.includes(s))).toBe(true);
    await page.getByTestId('tab-servers').click();
    for (const sni of HOSTILE_SNIS) expect(await page.getByTestId('servers-table').textContent()).toContain(sni);
    await page.screenshot({ path: screenshotPath('report-hostile-sni-light.png'), fullPage: true });
    expect(await page.locator('img[src="x"], svg[onload], script:not([id])').count()).toBe(1); // only the report's own script
    expect(escaped).toEqual([]);
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
