// `resumescope ui` in Debian's Chromium: captures through the file input and from the command
// line, numbers equal to the CLI's JSON, every view in light and dark, table filters, the ladder,
// the exported report, and hostile SNIs shown as text.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { HOSTILE_SNIS, writeHostileCapture } from './hostile.js';
import { concat, ethernet, fill, ipv4, pcapFile, u16be, u32be } from '../unit/bytes.js';
import { rewritePcapRecords, withClockDrift, withSnaplen } from '../support/pcap-edit.js';
import { formatDuration } from '../../parser/diagnose/format.js';
import {
  analyzeWithCli, expectedNumbers, forbidDialogs, launchBrowser, ROOT, screenshotPath, shownNumbers, simulate, startUi, tempDir,
  waitForAnalysis, watchPageErrors, type AnalysisJson, type UiProcess,
} from './support.js';

const FIXTURES = join(ROOT, 'fixtures/captures');
const fixtureFiles = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(FIXTURES, f));
const VIEWS = ['overview', 'timeline', 'reuse', 'servers', 'clients', 'connections'] as const;

let browser: Browser;
let ui: UiProcess;
const work = tempDir('ui');
let idleCapture: string;

beforeAll(async () => {
  idleCapture = join(work.path, 'idle-timeout.pcap');
  [browser, ui] = await Promise.all([launchBrowser(), startUi([]), simulate(idleCapture, ['--preset', 'idle-timeout', '--quiet'])]);
});

afterAll(async () => {
  await browser?.close();
  const code = await ui?.stop();
  expect(code).toBe(0); // stops cleanly on SIGINT
  work.remove();
});

async function openPage(theme: 'light' | 'dark' = 'light'): Promise<{ page: Page; dialogs: { dialogs: string[] }; errors: { errors: string[] } }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const dialogs = forbidDialogs(page);
  const errors = watchPageErrors(page);
  await page.goto(`${ui.url}?theme=${theme}`);
  await page.getByTestId('welcome').waitFor();
  return { page, dialogs, errors };
}

/**
 * The page served by a ui server started on `captures` (hosted: the server probes and plans them),
 * once its analysis is shown: `check` looks at it; no page error, and the server stops cleanly.
 */
async function onHostedPage(captures: string[], check: (page: Page) => Promise<void>): Promise<void> {
  const server = await startUi(captures);
  try {
    const hosted = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const hostedErrors = watchPageErrors(hosted);
    await hosted.goto(server.url);
    await waitForAnalysis(hosted);
    await check(hosted);
    expect(hostedErrors.errors).toEqual([]);
    await hosted.close();
  } finally {
    expect(await server.stop()).toBe(0);
  }
}

async function loadFiles(page: Page, files: string[]): Promise<void> {
  await page.getByTestId('file-input').setInputFiles(files);
  await waitForAnalysis(page);
}

/**
 * Two captures of one link that overlap in time, cut from the idle-timeout farm as microsecond pcaps:
 * its first 70 % of frames (`name`-first.pcap) and its last 70 % (`name`-last-cut.pcap).
 */
function overlappingHalves(name: string): { first: string; last: string } {
  const frames = Number(execFileSync('capinfos', ['-c', '-M', '-T', '-r', idleCapture], { encoding: 'utf8' }).trim().split('\t')[1]);
  const first = join(work.path, `${name}-first.pcap`);
  const last = join(work.path, `${name}-last-cut.pcap`);
  execFileSync('editcap', ['-F', 'pcap', '-r', idleCapture, first, `1-${Math.floor(frames * 0.7)}`]);
  execFileSync('editcap', ['-F', 'pcap', '-r', idleCapture, last, `${Math.floor(frames * 0.3)}-${frames}`]);
  return { first, last };
}

describe('resumescope ui in Chromium', () => {
  it('analyses all fixture captures through the file input with the CLI\'s numbers', async () => {
    const { page, dialogs, errors } = await openPage();
    const [reference] = await Promise.all([analyzeWithCli([FIXTURES]), loadFiles(page, fixtureFiles)]);
    expect(await shownNumbers(page)).toEqual(expectedNumbers(reference));
    // One analysis over several files: every file is listed with its SHA-256.
    await expect.poll(() => page.getByTestId('captures').locator('tbody tr').count()).toBe(fixtureFiles.length);
    // The hashes come in a second pass, after the results: every file gets one.
    await expect.poll(async () => (await page.getByTestId('file-hash').allTextContents()).filter((t) => /^[0-9a-f]{64}$/.test(t)).length, { timeout: 20_000 }).toBe(fixtureFiles.length);
    // Aborted handshake: its ladder shows who reset and when.
    await page.getByTestId('tab-connections').click();
    await page.getByTestId('filter-outcome').selectOption('aborted');
    await expect.poll(() => page.getByTestId('match-count').textContent()).toBe(String(reference.connections.filter((c) => c.handshake === 'aborted').length));
    await page.getByTestId('connection-row').first().click();
    await expect.poll(() => page.getByTestId('ladder').textContent()).toMatch(/RST.*client ended the handshake after the ServerHello/);
    await page.screenshot({ path: screenshotPath('ladder-rst-light.png') });
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('the ladder names each alert: a clear one by its description, an encrypted one as such', async () => {
    await onHostedPage([join(FIXTURES, 'tls13-server-rejects-client-certificate.pcap')], async (page) => {
      await page.getByTestId('tab-connections').click();
      await page.getByTestId('filter-outcome').selectOption('aborted');
      await expect.poll(() => page.getByTestId('match-count').textContent()).toBe('3');
      // TLS 1.3: the server's refusal of the client's certificate, encrypted.
      await page.getByTestId('connection-row').first().click();
      const ladder = page.getByTestId('ladder');
      await expect.poll(() => ladder.textContent()).toMatch(/Alert.*encrypted alert: its description is not readable/);
      expect(await ladder.textContent()).toMatch(/the first close after the server's fatal alert, which ended the handshake after the client's Finished/);
      // Its session ID is TLS 1.3's compatibility value, no offer (it read "offers session ID …").
      expect(await ladder.textContent()).toMatch(/offers nothing to resume \(session ID [0-9a-f]{16}…: TLS 1.3's compatibility value\)/);
      await page.screenshot({ path: screenshotPath('ladder-encrypted-alert-light.png') });
      // TLS 1.2: the same refusal in clear, by name.
      await page.getByTestId('connection-row').nth(2).click();
      await expect.poll(() => ladder.textContent()).toMatch(/Alert.*fatal alert unknown_ca \(48\)/);
    });
  }, 60_000);

  it('version changes: two findings of one reason, each offering its own connections, none "all" of the reason\'s', async () => {
    await onHostedPage([join(FIXTURES, 'tls-version-change.pcap')], async (page) => {
      const findings = page.getByTestId('finding');
      await expect.poll(() => findings.count()).toBe(2);
      expect(await findings.allTextContents()).toEqual([
        expect.stringContaining('refused for a change of TLS version, both ways'),
        expect.stringContaining('made under another TLS version than the handshake\'s'),
      ]);
      // "Show all 4" under a finding about 1 of them read as if it were about all four.
      expect(await page.getByTestId('finding-show-all').count()).toBe(0);
      expect(await page.getByTestId('view-overview').textContent()).toContain('another TLS version than the session\'s');
    });
  }, 60_000);

  it('a farm half way to TLS 1.3: what would have helped, as in the CLI\'s JSON, and the backend left on TLS 1.2 marked among its group\'s addresses', async () => {
    const farm = join(work.path, 'version-mix.pcap');
    await simulate(farm, ['--preset', 'version-mix', '--quiet']);
    const reference = await analyzeWithCli([farm]) as AnalysisJson & { whatIf: { description: string; fullHandshakesAvoided: number }[] };
    const expected = [...reference.whatIf].sort((a, b) => b.fullHandshakesAvoided - a.fullHandshakesAvoided);
    expect(expected.map((w) => w.description)).toEqual(['every server of the group speaking TLS 1.3', 'idle timeout 30m00s instead of 10m00s']);
    await onHostedPage([farm], async (page) => {
      const rows = page.getByTestId('what-if-row');
      await expect.poll(() => rows.count()).toBe(expected.length);
      const cells = await Promise.all(expected.map((_, i) => rows.nth(i).locator('td').allTextContents()));
      expect(cells.map((c) => [c[0], c[1]])).toEqual(expected.map((w) => [w.description, w.fullHandshakesAvoided.toLocaleString('en-US')]));
      await page.getByTestId('what-if').scrollIntoViewIfNeeded();
      await page.screenshot({ path: screenshotPath('what-if-light.png') });
      // The servers view: each backend's versions, the one left on TLS 1.2 marked.
      await page.getByTestId('tab-servers').click();
      const versions = page.getByTestId('address-versions');
      await expect.poll(() => versions.count()).toBe(4);
      const texts = await versions.allTextContents();
      const behind = texts.filter((t) => t.endsWith(' — no TLS 1.3'));
      expect(behind).toHaveLength(1);
      expect(behind[0]).toMatch(/^TLS 1\.2 [\d,]+ — no TLS 1\.3$/);
      for (const t of texts.filter((x) => x !== behind[0])) expect(t).toMatch(/^TLS 1\.3 [\d,]+$/);
      await page.screenshot({ path: screenshotPath('servers-versions-light.png') });
    });
  }, 60_000);

  for (const theme of ['light', 'dark'] as const) {
    it(`shows the idle-timeout farm in every view (${theme}) and agrees with the CLI`, async () => {
      const { page, dialogs, errors } = await openPage(theme);
      const [reference] = await Promise.all([analyzeWithCli([idleCapture]), loadFiles(page, [idleCapture])]);
      const expected = expectedNumbers(reference);
      expect(await shownNumbers(page)).toEqual(expected);
      expect(await page.getByTestId('headline').textContent()).toContain('idle');
      for (const view of VIEWS) {
        await page.getByTestId(`tab-${view}`).click();
        await page.getByTestId(`view-${view}`).waitFor();
        await page.waitForTimeout(150); // charts measure their container once
        await page.screenshot({ path: screenshotPath(`${view}-${theme}.png`), fullPage: view !== 'connections' });
      }
      // The 5-minute cliff: a reference line labelled with the inferred idle timeout.
      await page.getByTestId('tab-reuse').click();
      await expect.poll(() => page.getByTestId('chart-reuse-gap').locator('.recharts-reference-line').count()).toBeGreaterThan(0);
      expect(await page.getByTestId('chart-reuse-gap').textContent()).toContain('inferred idle timeout 5m00s');
      // A bar of rejected offers lists exactly the offers the chart counts in it, by its own binning.
      const rejectedBars = page.getByTestId('chart-reuse-gap').locator('.recharts-bar').nth(1).locator('.recharts-bar-rectangle');
      // The first bar of rejected offers that is drawn (an empty bin's is no target).
      const tallest = await rejectedBars.evaluateAll((bars) => bars.findIndex((b) => b.getBoundingClientRect().height > 4));
      expect(tallest).toBeGreaterThanOrEqual(0);
      await rejectedBars.nth(tallest).click();
      await page.getByTestId('view-connections').waitFor();
      const bar = page.getByTestId('filter-offers');
      expect(await bar.textContent()).toMatch(/^offers with reuse gap \S+ – \S+/);
      const [binWidth, bin, binCount] = await Promise.all(['data-bin-width', 'data-bin', 'data-bin-count'].map(async (name) => Number(await bar.getAttribute(name))));
      const inBar = reference.connections.filter((c) => {
        const gap = c.session?.reuseGap;
        return (c.resumption === 'accepted' || c.resumption === 'rejected') && c.session?.role === 'offer' &&
          typeof gap === 'number' && Math.min(binCount! - 1, Math.floor(gap / binWidth!)) === bin;
      });
      expect(inBar.some((c) => c.resumption === 'rejected')).toBe(true);
      await expect.poll(async () => Number((await page.getByTestId('match-count').textContent())!.replace(/,/g, ''))).toBe(inBar.length);
      await page.screenshot({ path: screenshotPath(`reuse-gap-bar-${theme}.png`) });
      // Its ✕ takes that filter away alone.
      await bar.getByRole('button', { name: 'Remove this filter' }).click();
      await expect.poll(() => page.getByTestId('filter-offers').count()).toBe(0);
      await page.getByRole('button', { name: 'Clear filters' }).click();

      // Connections: filter by outcome, reason, SNI, client and time; sort; open the ladder.
      await page.getByTestId('tab-connections').click();
      const count = async () => Number((await page.getByTestId('match-count').textContent())!.replace(/,/g, ''));
      await expect.poll(count).toBe(expected.connections);
      await page.getByTestId('filter-outcome').selectOption('rejected');
      await expect.poll(count).toBe(expected.rejected);
      await page.getByTestId('filter-reason').selectOption('idle-timeout');
      await expect.poll(count).toBe(reference.connections.filter((c) => c.reason === 'idle-timeout').length);
      await page.getByTestId('filter-sni').fill('no-such-name');
      await expect.poll(count).toBe(0);
      await page.getByTestId('filter-sni').fill('idle');
      await expect.poll(count).toBe(reference.connections.filter((c) => c.reason === 'idle-timeout').length);
      await page.getByTestId('sort-time').click(); // descending
      const rejectedIds = reference.connections.filter((c) => c.reason === 'idle-timeout').map((c) => c.id);
      // The table re-renders after the sort: poll until its first row settles.
      await expect.poll(async () => Number(await page.getByTestId('connection-row').first().getAttribute('data-id'))).toBe(Math.max(...rejectedIds)); // ids follow start time, as in the CLI
      await page.getByTestId('connection-row').first().click();
      await page.getByTestId('ladder').waitFor();
      expect(await page.getByTestId('ladder').textContent()).toContain('rejects the offer');
      expect(await page.getByTestId('detail-pane').textContent()).toContain('idle timeout');
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ui.base });
      await page.getByTestId('copy-filter').click();
      await expect.poll(() => page.getByTestId('copy-filter').textContent()).toBe('Copied');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await page.getByTestId('wireshark-filter').textContent());
      // Keyboard: arrow down moves the selection.
      await page.getByTestId('connection-table').focus();
      await page.keyboard.press('ArrowDown');
      await expect.poll(async () => (await page.getByTestId('detail-pane').locator('h2').textContent())).not.toBe(`Connection ${Math.max(...rejectedIds)}`);
      await page.screenshot({ path: screenshotPath(`connection-detail-${theme}.png`) });

      // Time range: the first timeline bucket's connections.
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByTestId('tab-timeline').click();
      await page.locator('.recharts-bar-rectangle').first().click();
      await page.getByTestId('view-connections').waitFor();
      expect(await page.getByTestId('filter-from').inputValue()).toMatch(/^2023-11-14 22:1/);
      // The count shows once the query is answered (a loaded machine took longer: NaN was read).
      await expect.poll(count).toBeGreaterThan(0);
      expect(await count()).toBeLessThan(expected.connections);

      expect(dialogs.dialogs).toEqual([]);
      expect(errors.errors).toEqual([]);
      await page.context().close();
    }, 60_000);
  }

  it('says on the overview when a server keeps no sessions, gives none out, or gets no TLS 1.3 ticket offered', async () => {
    const { page, dialogs, errors } = await openPage();
    await loadFiles(page, ['nginx-cache-none.pcap', 'nginx-cache-off.pcap', 'tls13-no-tickets.pcap'].map((f) => join(FIXTURES, f)));
    const card = (port: number) => page.getByTestId('policy-card').filter({ hasText: `resumescope.test:${port}` });
    // A group without offers still gets its card when that is its policy (no session given out).
    await expect.poll(() => page.getByTestId('policy-card').count()).toBe(3);
    const rowOf = (port: number, name: string) => card(port).locator('.policy-row.found').filter({ hasText: name });
    expect(await rowOf(44345, 'Keeps sessions').textContent()).toMatch(/^Keeps sessionsno0\.96none of 13 offers accepted, the soonest 2\d\dms after its session was issued$/);
    expect(await rowOf(44347, 'Issues sessions').textContent()).toBe('Issues sessionsnonone of 4 full handshakes below TLS 1.3 carried a session ID or a ticket');
    expect(await rowOf(44349, 'TLS 1.3 tickets').textContent()).toContain('3 TLS 1.3 reconnections offered no ticket');
    await expect.poll(() => page.getByTestId('findings').textContent()).toContain('keeps no sessions: every resumption is refused');
    await page.screenshot({ path: screenshotPath('policy-no-sessions-light.png'), fullPage: true });
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('says when servers sharing ticket keys switch to each new key one after another, and what to do', async () => {
    // Two servers, a new key every 5 minutes, the second switching a minute after the first.
    const config = join(work.path, 'rotation-switch.json');
    writeFileSync(config, JSON.stringify({ seed: 1, duration: 3600, clients: { count: 60, meanGap: 90, minGap: 2, longGapShare: 0, stacks: ['modern-a', 'modern-b'] },
      services: [{ sni: 'www.rotation.test', resumption: 'ticket', ticketKeyRotation: 300, ticketLifetimeHint: 7200, policy: { idleTimeout: null, lifetime: 7200, capacity: null, purgeOnAbort: false },
        backends: 2, captureAt: 'vip', balancing: 'random', sharedCache: true, ticketKeyRotationSkew: 60 }] }));
    const capture = join(work.path, 'rotation-switch.pcap');
    await simulate(capture, ['--config', config, '--quiet']);
    const doc = await analyzeWithCli([capture]) as AnalysisJson & { servers: { cachePolicy: { tickets: { rotation: { switchSpread: number; refused: number } } } }[] };
    const rotation = doc.servers[0]!.cachePolicy.tickets.rotation;
    const { page, dialogs, errors } = await openPage();
    await loadFiles(page, [capture]);
    const row = page.getByTestId('policy-card').locator('.policy-row.found').filter({ hasText: 'Ticket key rotation' });
    expect(await row.textContent()).toContain(`${rotation.refused.toLocaleString('en-US')} refused under a replaced key or while the servers switched keys, up to ${formatDuration(rotation.switchSpread)} apart`);
    await expect.poll(() => page.getByTestId('findings').textContent()).toContain('Give every server the new key for opening first');
    await page.screenshot({ path: screenshotPath('rotation-switch-light.png'), fullPage: true });
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('a damaged capture says where on the page; finding texts show configuration as code; churn bars and their limit line agree', async () => {
    const { page, dialogs, errors } = await openPage();
    // The first 20,000 bytes of a real capture: cut in the middle of a packet record.
    const cut = join(work.path, 'cut-short.pcap');
    writeFileSync(cut, readFileSync(join(FIXTURES, 'nginx-fifo-cache.pcap')).subarray(0, 20_000));
    await loadFiles(page, [cut]);
    const damage = page.getByTestId('capture-damage');
    await damage.waitFor();
    expect(await damage.textContent()).toContain('cut-short.pcap (byte 19,814, frame 102): the capture file ends in the middle of a packet record (186 bytes left over)');
    await page.screenshot({ path: screenshotPath('capture-damage-light.png') });
    // nginx's directive in a finding: a code element, no stray backticks.
    await loadFiles(page, [join(FIXTURES, 'nginx-lb-no-shared-cache.pcap')]);
    const findings = page.getByTestId('findings');
    await expect.poll(() => findings.locator('code').allTextContents()).toContain('ssl_session_cache builtin');
    expect(await findings.textContent()).not.toContain('`');
    expect(await page.getByTestId('capture-damage').count()).toBe(0);
    // Offers answered in handshakes that then aborted: in the Accepted figure, not among the resumed.
    await loadFiles(page, [join(FIXTURES, 'tls12-alert-purge.pcap')]);
    expect(await page.getByTestId('kpi-accepted-value').textContent()).toBe('8');
    expect(await page.getByTestId('outcome-resumed').textContent()).toBe('4');
    expect(await page.getByTestId('outcomes-unfinished').textContent()).toMatch(/^4 answered offers are counted here as aborted or incomplete/);
    // The FIFO cache of 9: the limit line stands on the edge labelled 9, the last accepted bar left of it.
    await loadFiles(page, [join(FIXTURES, 'nginx-fifo-cache.pcap')]);
    await page.getByTestId('tab-reuse').click();
    const chart = page.getByTestId('chart-churn');
    expect(await limitLineOffEdge(chart, '9')).toBeLessThan(2);
    await chart.screenshot({ path: screenshotPath('churn-edge-light.png') });
    // Java's LRU cache of 10: its line on the chart of sessions used since, on the edge labelled 10,
    // and none on the churn chart, where sessions resumed often stood accepted right of it.
    await page.getByTestId('tab-overview').click();
    await loadFiles(page, [join(FIXTURES, 'java-lru-cache.pcap')]);
    await page.getByTestId('tab-reuse').click();
    const usedSince = page.getByTestId('chart-used-since');
    expect(await limitLineOffEdge(usedSince, '10')).toBeLessThan(2);
    expect(await usedSince.locator('.recharts-wrapper > svg').textContent()).toMatch(/inferred capacity 10/);
    expect(await page.getByTestId('chart-churn').locator('.recharts-reference-line').count()).toBe(0);
    await usedSince.screenshot({ path: screenshotPath('used-since-edge-light.png') });
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('keyboard and screen reader: the grid names its selected row, closing the detail gives the focus back, no hidden tab stop', async () => {
    const { page, dialogs, errors } = await openPage();
    await loadFiles(page, [join(FIXTURES, 'nginx-session-timeout.pcap')]);
    // The first Tab stop is a visible control, not the off-screen file input.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).not.toBe('file-input');
    await page.getByTestId('tab-connections').click();
    const grid = page.getByTestId('connection-table');
    await grid.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const active = await grid.getAttribute('aria-activedescendant');
    expect(active).toBe('connection-table-row-1');
    expect(await page.locator(`[id="${active}"]`).getAttribute('aria-selected')).toBe('true');
    await page.getByTestId('detail-pane').waitFor();
    await page.getByRole('button', { name: 'Close detail' }).click();
    await expect.poll(() => page.getByTestId('detail-pane').count()).toBe(0);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('connection-table');
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('the detail pane: Esc from the table closes it, a new sort keeps it on its connection; an unreadable time says so; cut cells show their text on hover', async () => {
    const { page, dialogs, errors } = await openPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    await loadFiles(page, [join(FIXTURES, 'nginx-session-timeout.pcap')]);
    await page.getByTestId('tab-connections').click();
    const grid = page.getByTestId('connection-table');
    await grid.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const heading = () => page.getByTestId('detail-pane').locator('h2').textContent();
    await expect.poll(heading).toBe('Connection 2');
    // Beside the pane (a 1280-px window) the table still shows each row's outcome and reason whole.
    const tableBox = (await page.locator('.ctable').boundingBox())!;
    for (const column of ['outcome', 'reason']) {
      const header = (await page.getByTestId(`sort-${column}`).boundingBox())!;
      expect(header.x + Math.min(header.width, 100), column).toBeLessThanOrEqual(tableBox.x + tableBox.width);
    }
    await page.screenshot({ path: screenshotPath('connections-detail-columns-light.png') });
    // The ladder's history letters are spelled out (a bare "CsiI" meant nothing to a reader).
    expect(await page.getByTestId('ladder').textContent()).toContain("Message history CsiI (Zeek's ssl_history letters, in order: C ClientHello from the client, s ServerHello from the server, i ChangeCipherSpec from the server, I ChangeCipherSpec from the client).");
    // Sorting closed the pane: it now stays on connection 2, whose row is marked again where it went.
    await page.getByTestId('sort-time').click(); // the table starts by time, ascending
    await expect.poll(async () => page.getByTestId('sort-time').getAttribute('aria-sort')).toBe('descending');
    await expect.poll(() => page.locator('.vrow.selected').getAttribute('data-id')).toBe('2');
    expect(await heading()).toBe('Connection 2');
    // Esc with the focus on the table (not in the pane) closed nothing.
    await grid.focus();
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('connection-table');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('detail-pane').count()).toBe(0);
    // Every cell carries its whole text as a title (server addresses and reasons were cut with no way to read them).
    const cells = page.getByTestId('connection-row').first().locator('[role=gridcell]');
    expect(await cells.nth(2).getAttribute('title')).toMatch(/^127\.0\.0\.1:44313$/);
    expect(await cells.nth(0).getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);
    // A time bound that cannot be read filters nothing and says so.
    const count = async () => Number((await page.getByTestId('match-count').textContent())!.replace(/,/g, ''));
    const all = await count();
    await page.getByTestId('filter-to').fill('2026-13-45 99:00');
    await page.getByTestId('filter-to-error').waitFor();
    expect(await page.getByTestId('filter-to').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('filter-to-error').textContent()).toBe('not a time (YYYY-MM-DD hh:mm:ss): the last readable bound stands');
    expect(await count()).toBe(all);
    expect(await page.locator('label', { has: page.getByTestId('filter-to') }).textContent()).toContain('To (UTC)');
    await page.getByTestId('filter-to').fill('');
    await expect.poll(() => page.getByTestId('filter-to-error').count()).toBe(0);
    // One match opens by itself, once: closed, it stays closed (it reopened at once).
    const client = (await page.getByTestId('connection-row').first().locator('[role=gridcell]').nth(1).textContent())!;
    await page.getByTestId('filter-client').fill(client);
    await expect.poll(() => page.getByTestId('detail-pane').count()).toBe(1);
    await page.getByRole('button', { name: 'Close detail' }).click();
    await page.waitForTimeout(400);
    expect(await page.getByTestId('detail-pane').count()).toBe(0);
    await page.getByTestId('filter-client').fill('');
    await expect.poll(count).toBe(all);
    // A readable bound edited into a typo: the bound stands and the typo stays to be fixed (the bound
    // was dropped and the field emptied, typo and warning with it, a quarter of a second later).
    const third = (await page.getByTestId('connection-row').nth(2).locator('[role=gridcell]').first().textContent())!;
    await page.getByTestId('filter-from').fill(third);
    await expect.poll(count).toBeLessThan(all);
    const bounded = await count();
    await page.getByTestId('filter-from').fill(`${third.slice(0, -5)}7x`);
    await page.waitForTimeout(800);
    expect(await page.getByTestId('filter-from').inputValue()).toBe(`${third.slice(0, -5)}7x`);
    expect(await page.getByTestId('filter-from-error').count()).toBe(1);
    expect(await count()).toBe(bounded);
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('TLS 1.3 random session IDs answered by TLS 1.2: the Rejected tile and the table say which of the rejected they are, as the headline does', async () => {
    // Real Chromium, a TLS 1.2 nginx: 6 rejected, 2 of them first visits' random IDs. The headline
    // said 4 rejected, the tile 6, and the rows "issued before capture" with nothing more.
    const { page, dialogs, errors } = await openPage();
    await loadFiles(page, [join(FIXTURES, 'chromium-nginx-new-visitor.pcap')]);
    expect(await page.getByTestId('kpi-rejected-value').textContent()).toBe('6');
    expect(await page.getByTestId('kpi-rejected-note').textContent()).toBe('2 of them TLS 1.3 random IDs');
    expect(await page.getByTestId('headline').textContent()).toContain('4 were rejected');
    await page.getByTestId('kpis').screenshot({ path: screenshotPath('kpis-random-ids-light.png') });
    await page.getByTestId('tab-connections').click();
    await page.getByTestId('filter-outcome').selectOption('rejected');
    await expect.poll(() => page.getByTestId('connection-row').count()).toBe(6);
    const reasons = await page.getByTestId('connection-row').evaluateAll((rows) => rows.map((r) => r.querySelectorAll('[role=gridcell]')[5]!.textContent));
    expect(reasons.filter((r) => r === 'TLS 1.3 random ID (no offer?)')).toHaveLength(2);
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('All servers in the reuse-gap view: each limit line names its server (one server\'s line over every server\'s bars read as all of theirs)', async () => {
    const { page, dialogs, errors } = await openPage();
    await loadFiles(page, [join(FIXTURES, 'nginx-session-timeout.pcap'), join(FIXTURES, 'nginx-cache-capacity.pcap')]);
    await page.getByTestId('tab-reuse').click();
    await page.getByTestId('histogram-group').selectOption('');
    // nginx with a 4 s session timeout (a lifetime: each resumption keeps the session's start) and one with a cache of ten.
    const chart = page.getByTestId('chart-age');
    await expect.poll(() => chart.locator('.recharts-reference-line').count()).toBe(1);
    // (Recharts draws a line's label apart from the line: found in the chart's text.)
    expect(await chart.locator('.recharts-wrapper > svg').textContent()).toMatch(/inferred lifetime \S+ \(resumescope\.test:44313\)/);
    expect(await chart.textContent()).toContain('each red line is the limit of the server named on it');
    expect(await page.getByTestId('chart-churn').locator('.recharts-wrapper > svg').textContent()).toMatch(/inferred capacity 9 \(resumescope\.test:44314\)/);
    // The list under the chart names it once.
    expect(await page.getByTestId('chart-age-references').textContent()).toMatch(/^ inferred lifetime \S+ \(resumescope\.test:44313, confidence [\d.]+\)$/);
    await chart.screenshot({ path: screenshotPath('age-all-servers-light.png') });
    // The servers table sorts by a header (its headers did nothing).
    await page.getByTestId('tab-servers').click();
    const rows = page.getByTestId('servers-table').locator(':scope > tbody > tr:not(.expansion)');
    const groupsShown = async () => (await rows.locator(':scope > td:first-child').allTextContents()).map((t) => t.replace(/^[▾▸] /, ''));
    const connectionsShown = async () => (await rows.locator(':scope > td:nth-child(3)').allTextContents()).map(Number);
    await page.getByTestId('servers-sort-group').click();
    await expect.poll(groupsShown).toEqual(['resumescope.test:44313', 'resumescope.test:44314']);
    await page.getByTestId('servers-sort-group').click();
    await expect.poll(groupsShown).toEqual(['resumescope.test:44314', 'resumescope.test:44313']);
    await page.getByTestId('servers-sort-connections').click();
    const counts = await connectionsShown();
    expect(counts[0]).toBeGreaterThan(counts[1]!);
    expect(await page.locator('th', { has: page.getByTestId('servers-sort-connections') }).getAttribute('aria-sort')).toBe('descending');
    await page.getByTestId('tab-reuse').click();
    // One server chosen: its own line, unnamed (the chart is its alone).
    await page.getByTestId('histogram-group').selectOption('resumescope.test:44313');
    await expect.poll(() => chart.locator('.recharts-wrapper > svg').textContent()).toMatch(/inferred lifetime \d\S*s(?! \()/);
    expect(await chart.locator('.recharts-wrapper > svg').textContent()).not.toContain('(resumescope.test:44313)');
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it("a client's connections opened at once are dots apart, each with its own tooltip", async () => {
    const { page, dialogs, errors } = await openPage();
    // Chromium opening parallel connections to nginx: pairs of ClientHellos within a millisecond.
    await loadFiles(page, [join(FIXTURES, 'chromium-nginx-parallel-rtt.pcap')]);
    await page.getByTestId('tab-clients').click();
    await page.getByTestId('client-list').locator('li').first().click();
    const dots = page.getByTestId('client-sequence').locator('.recharts-scatter-symbol');
    await expect.poll(() => dots.count()).toBe(8);
    const centres = await dots.evaluateAll((symbols) => symbols.map((d) => {
      const r = d.getBoundingClientRect();
      return [r.x + r.width / 2, r.y + r.height / 2] as [number, number];
    }));
    // Before, the two connections of each pair were drawn on one spot: one dot for two.
    for (let i = 0; i < centres.length; i++) {
      for (let j = i + 1; j < centres.length; j++) {
        expect(Math.hypot(centres[i]![0] - centres[j]![0], centres[i]![1] - centres[j]![1]), `dots ${i} and ${j}`).toBeGreaterThan(4);
      }
    }
    await page.getByTestId('client-sequence').screenshot({ path: screenshotPath('client-parallel-dots-light.png') });
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('the clients list: arrow keys take the focus along and keep it in view; a filter says what it shows, chooses among what it shows, and says when nothing matches', async () => {
    const { page, dialogs, errors } = await openPage();
    await loadFiles(page, [idleCapture]);
    await page.getByTestId('tab-clients').click();
    const list = page.getByTestId('client-list');
    await list.locator('li').first().click();
    for (let i = 0; i < 30; i++) await page.keyboard.press('ArrowDown');
    // The focus is on the selected client (the ring stayed on the first one), and it is in view.
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-selected'));
    expect(focused).toBe('true');
    const selected = list.locator('li[aria-selected=true]');
    const [itemBox, listBox] = [await selected.boundingBox(), await list.boundingBox()];
    // (Within a few pixels: the list's border and sub-pixel rows; thirty rows down it had left the list's view.)
    expect(itemBox!.y).toBeGreaterThanOrEqual(listBox!.y - 4);
    expect(itemBox!.y + itemBox!.height).toBeLessThanOrEqual(listBox!.y + listBox!.height + 4);
    const chosen = (await selected.locator('.mono').textContent())!;
    expect(await page.getByTestId('client-sequence').locator('h2').textContent()).toContain(`Client ${chosen}:`);
    await page.getByTestId('client-list').screenshot({ path: screenshotPath('clients-keyboard-light.png') });
    // A filter: the heading counts what it shows; a chosen client it hides gives way to the first it shows.
    const total = (await page.getByTestId('client-list-section').locator('h2').textContent())!;
    expect(total).toMatch(/^Clients \(\d+\)$/);
    const other = (await list.locator('li').first().locator('.mono').textContent())!;
    await page.getByTestId('client-filter').fill(other);
    await expect.poll(() => page.getByTestId('client-list-section').locator('h2').textContent()).toMatch(new RegExp(`^Clients \\(\\d+ of ${total.replace(/\D/g, '')}\\)$`));
    await expect.poll(() => page.getByTestId('client-sequence').locator('h2').textContent()).toContain(`Client ${other}:`);
    await page.getByTestId('client-filter').fill('no-such-address');
    expect(await page.getByTestId('client-no-match').textContent()).toBe('No client address contains “no-such-address”.');
    expect(await page.getByTestId('client-list-section').locator('h2').textContent()).toMatch(/^Clients \(0 of \d+\)$/);
    // No client listed, none shown beside the list either.
    expect(await page.getByTestId('client-sequence').count()).toBe(0);
    await page.getByTestId('client-filter').fill('');
    // The sequence's times are the ClientHellos', and say so (the Connections table shows first packets).
    expect(await page.getByTestId('sequence-table').locator('th').first().textContent()).toBe('ClientHello (UTC)');
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('timeline: tooltips list what a bar holds, top first, in the page\'s text colour; a bar of the aborted chart lists its aborted handshakes', async () => {
    const { page, dialogs, errors } = await openPage();
    await loadFiles(page, [join(FIXTURES, 'tls12-alert-purge.pcap')]);
    await page.getByTestId('tab-timeline').click();
    const bar = page.getByTestId('timeline-chart').locator('.recharts-bar-rectangle path').first();
    await bar.hover();
    const tooltip = page.getByTestId('chart-tooltip');
    await tooltip.waitFor();
    // Only series that count something (five outcomes, zeros included, were listed), top of the stack first.
    const lines = await tooltip.locator('.tooltip-row').allTextContents();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => /\s[1-9][\d,]*$/.test(l))).toBe(true);
    const order = ['incomplete', 'aborted', 'full (no offer)', 'rejected', 'resumed'];
    const names = lines.map((l) => order.find((o) => l.trim().startsWith(o)));
    expect(names.every((n) => n !== undefined)).toBe(true);
    expect([...names].sort((a, b) => order.indexOf(a!) - order.indexOf(b!))).toEqual(names);
    const [text, surface] = await tooltip.evaluate((el) => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]);
    expect(text).not.toBe(surface);
    await page.getByTestId('timeline-chart').screenshot({ path: screenshotPath('timeline-tooltip-light.png') });
    // The aborted chart's bars lead to their connections, as the main chart's do.
    // (Recharts draws an empty path for a bucket without aborts: the first bar drawn with a height.)
    const abortedBars = page.getByTestId('aborted-chart').locator('.recharts-bar-rectangle path');
    const heights = await abortedBars.evaluateAll((paths) => paths.map((p) => p.getBoundingClientRect().height));
    await abortedBars.nth(heights.findIndex((h) => h > 0)).click();
    await page.getByTestId('view-connections').waitFor();
    expect(await page.getByTestId('filter-outcome').inputValue()).toBe('aborted');
    await expect.poll(() => page.getByTestId('connection-row').count()).toBeGreaterThan(0);
    const outcomes = await page.getByTestId('connection-row').evaluateAll((rows) => rows.map((r) => r.querySelectorAll('[role=gridcell]')[4]!.textContent!.trim()));
    expect(new Set(outcomes)).toEqual(new Set(['aborted']));
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('a finding with more connections than it names leads to all of them by their reason', async () => {
    const { page, dialogs, errors } = await openPage();
    const [reference] = await Promise.all([analyzeWithCli([idleCapture]), loadFiles(page, [idleCapture])]);
    const idle = reference.connections.filter((c) => c.reason === 'idle-timeout').length;
    expect(idle).toBeGreaterThan(50);
    const finding = page.getByTestId('finding').filter({ hasText: 'idle' }).first();
    // The listed ones say how many there are in all (the finding's evidenceCount).
    expect(await finding.getByTestId('finding-show-evidence').textContent()).toBe(`Show the first 50 of ${idle.toLocaleString('en-US')} connections`);
    await finding.getByTestId('finding-show-all').click();
    await page.getByTestId('view-connections').waitFor();
    await expect.poll(async () => Number((await page.getByTestId('match-count').textContent())!.replace(/,/g, ''))).toBe(idle);
    expect(await page.getByTestId('filter-reason').inputValue()).toBe('idle-timeout');
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('names the tunnel a capture\'s packets were found in (a VXLAN traffic mirror)', async () => {
    const { page, errors } = await openPage();
    await loadFiles(page, [join(FIXTURES, 'vxlan-session-id-resume.pcap'), join(FIXTURES, 'tls12-full.pcap')]);
    await page.getByTestId('captures').waitFor();
    const tunnels = page.getByTestId('capture-tunnels');
    await expect.poll(() => tunnels.count()).toBe(1);
    expect(await tunnels.textContent()).toBe('68 packets in VXLAN');
    const row = page.getByTestId('captures').locator('tr').filter({ has: tunnels });
    expect(await row.textContent()).toContain('vxlan-session-id-resume.pcap');
    await page.getByTestId('captures').screenshot({ path: screenshotPath('captures-vxlan-light.png') });
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('a capture stamped beyond what a Date holds (found by the fuzz): the page shows it, with no script error', async () => {
    const { page, errors } = await openPage();
    await loadFiles(page, [join(ROOT, 'fixtures/regressions/pcapng-timestamp-past-date-range.pcapng')]);
    expect(await page.getByTestId('captures').locator('tbody tr').first().textContent()).toMatch(/2023-11-14 22:13:20\.004.*92233720\d+\.\d+ s after 1970/);
    await page.getByTestId('tab-timeline').click();
    await expect.poll(() => page.getByText(/One bar per/).count()).toBe(1);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('a file per direction of a tap, one of them gzip and on a clock 2 s ahead: read merged by time on one clock, through the file input and from the command line', async () => {
    // Read one after the other (as the app did before), 208 of the farm's 359 connections had no
    // ClientHello and the rest were aborted; the CLI already merged such files. Merged on the two
    // clocks, each came out twice, "one-way".
    const toServer = join(work.path, 'farm-c2s.pcap');
    const fromServer = join(work.path, 'farm-s2c.pcap');
    const ahead = join(work.path, 'farm-s2c-ahead.pcap');
    execFileSync('tshark', ['-r', idleCapture, '-Y', 'tcp.dstport == 443', '-F', 'pcap', '-w', toServer], { stdio: 'ignore' });
    execFileSync('tshark', ['-r', idleCapture, '-Y', 'tcp.srcport == 443', '-F', 'pcap', '-w', fromServer], { stdio: 'ignore' });
    execFileSync('editcap', ['-t', '2', fromServer, ahead], { stdio: 'ignore' });
    const fromServerGz = join(work.path, 'farm-s2c.pcap.gz');
    writeFileSync(fromServerGz, gzipSync(readFileSync(ahead)));
    const reference = await analyzeWithCli([idleCapture]);
    expect(expectedNumbers(reference).aborted).toBe(0);

    const { page, errors } = await openPage();
    await loadFiles(page, [fromServerGz, toServer]);
    expect(await shownNumbers(page)).toEqual(expectedNumbers(reference));
    // The client's SYN is in farm-c2s.pcap: read first.
    expect(await page.getByTestId('merged-note').textContent()).toMatch(/^farm-c2s\.pcap and farm-s2c\.pcap\.gz share connections .*: they were read merged by packet time/);
    // The first file given is the clock the other is brought to; a note, not damage.
    expect(await page.getByTestId('capture-clock').textContent()).toMatch(/farm-c2s\.pcap: the file's clock reads 2\.0s behind farm-s2c\.pcap\.gz's, from 77 TCP handshakes/);
    expect(await page.getByTestId('capture-damage').count()).toBe(0);
    await page.getByTestId('view-overview').screenshot({ path: screenshotPath('clock-offset-light.png') });
    await page.getByTestId('captures').screenshot({ path: screenshotPath('captures-merged-light.png') });
    expect(errors.errors).toEqual([]);
    await page.context().close();

    await onHostedPage([toServer, fromServerGz], async (hosted) => {
      expect(await shownNumbers(hosted)).toEqual(expectedNumbers(reference));
      // The host estimated the shift (hostedReading): the server's file brought to the client's clock.
      expect(await hosted.getByTestId('capture-clock').textContent()).toMatch(/farm-s2c\.pcap\.gz: the file's clock reads 2\.0s ahead of farm-c2s\.pcap's/);
    });
  }, 60_000);

  it('two captures of one link that overlap in time, the later on a clock 0.5 s ahead: the page reads them again merged on one clock, as the CLI', async () => {
    // Their first megabytes share no connection; read one after the other, the overlap's
    // connections were counted twice; read again on the two clocks, twice as well.
    const { first, last: cut } = overlappingHalves('idle');
    const last = join(work.path, 'idle-last.pcap');
    execFileSync('editcap', ['-t', '0.5', cut, last]);
    const reference = await analyzeWithCli([idleCapture]);
    expect(expectedNumbers(await analyzeWithCli([first, last]))).toEqual(expectedNumbers(reference));
    const { page, errors } = await openPage();
    await loadFiles(page, [last, first]);
    expect(await shownNumbers(page)).toEqual(expectedNumbers(reference));
    expect(await page.getByTestId('merged-note').textContent()).toMatch(/^idle-first\.pcap and idle-last\.pcap share connections.* [\d,]+ TCP packets were in two of them \(captures that overlap in time\): each was analysed once\./s);
    // The first given (the later file) is the reference: the earlier file is brought onto its clock.
    expect(await page.getByTestId('capture-clock').textContent()).toMatch(/idle-first\.pcap: the file's clock reads 500ms behind idle-last\.pcap's, from [\d,]+ connections both files hold/);
    await page.getByTestId('capture-clock').screenshot({ path: screenshotPath('overlap-two-clocks-light.png') });
    await page.getByTestId('merged-note').screenshot({ path: screenshotPath('overlap-merged-note-light.png') });
    // Served by the ui server, the later capture split by direction (the host groups the two): both
    // directions brought onto the first file's clock (review: only the file linked to it was, the
    // other stayed 0.5 s off and its copies counted twice).
    const lastToServer = join(work.path, 'idle-last-c2s.pcap');
    const lastFromServer = join(work.path, 'idle-last-s2c.pcap');
    execFileSync('tshark', ['-r', last, '-Y', 'tcp.dstport == 443', '-F', 'pcap', '-w', lastToServer], { stdio: 'ignore' });
    execFileSync('tshark', ['-r', last, '-Y', 'tcp.srcport == 443', '-F', 'pcap', '-w', lastFromServer], { stdio: 'ignore' });
    await onHostedPage([first, lastToServer, lastFromServer], async (hosted) => {
      expect(await shownNumbers(hosted)).toEqual(expectedNumbers(reference));
      const clock = await hosted.getByTestId('capture-clock').textContent();
      expect(clock).toMatch(/idle-last-c2s\.pcap: the file's clock reads 500ms ahead of idle-first\.pcap's/);
      expect(clock).toMatch(/idle-last-s2c\.pcap: the file's clock reads 500ms ahead of idle-first\.pcap's/);
    });
    expect(errors.errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('two overlapping captures, the later on a clock 200 ppm fast: the page brings it onto the first one\'s rate and clock, as the CLI', async () => {
    // No one shift lines such captures up; before the rate was found they were read one after the
    // other, the overlap's connections counted twice, and only said.
    const { first, last: cut } = overlappingHalves('idle-drift');
    const fast = join(work.path, 'idle-drift-fast.pcap');
    const bytes = readFileSync(cut);
    writeFileSync(fast, withClockDrift(bytes, 1.5, 2e-4, bytes.readUInt32LE(24) + bytes.readUInt32LE(28) / 1e6));
    const reference = await analyzeWithCli([idleCapture]);
    expect(expectedNumbers(await analyzeWithCli([first, fast]))).toEqual(expectedNumbers(reference));
    const { page, errors } = await openPage();
    await loadFiles(page, [first, fast]);
    expect(await shownNumbers(page)).toEqual(expectedNumbers(reference));
    const clock = await page.getByTestId('capture-clock').textContent();
    expect(clock).toMatch(/idle-drift-fast\.pcap: the file's clock runs 200 ppm fast against idle-drift-first\.pcap's, from [\d,]+ connections both files hold/);
    // The shift where the line was fitted, the middle of the overlap: 1.5 s at its start, 200 ppm on.
    expect(clock).toMatch(/idle-drift-fast\.pcap: the file's clock reads 1\.[56]s ahead of idle-drift-first\.pcap's/);
    await page.getByTestId('capture-clock').screenshot({ path: screenshotPath('overlap-drift-light.png') });
    expect(errors.errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('behind a PROXY-protocol load balancer: clients by the header\'s address, the balancer named in the ladder', async () => {
    const { page, errors } = await openPage();
    await loadFiles(page, [join(FIXTURES, 'haproxy-proxy-protocol.pcap')]);
    await page.getByTestId('proxied-note').waitFor();
    expect(await page.getByTestId('proxied-note').textContent()).toMatch(/^6 connections came through a load balancer that named its client in a PROXY protocol\s+header/);
    await page.getByTestId('captures').screenshot({ path: screenshotPath('proxy-protocol-files-light.png') });
    await page.getByTestId('tab-clients').click();
    const clients = page.getByTestId('client-list');
    await clients.waitFor();
    await expect.poll(() => clients.locator('li').count()).toBe(2);
    const listed = await clients.textContent();
    expect(listed).toContain('127.0.0.2');
    expect(listed).toContain('127.0.0.3');
    expect(listed).not.toContain('127.0.0.1');
    await page.getByTestId('tab-connections').click();
    const first = page.getByTestId('connection-row').first();
    await first.waitFor();
    expect(await first.textContent()).toMatch(/127\.0\.0\.2:\d+ via 127\.0\.0\.1:\d+/);
    // The column is narrow: the whole text is the cell's tooltip.
    expect(await first.locator('[role=gridcell]').nth(1).getAttribute('title')).toMatch(/^127\.0\.0\.2:\d+ via 127\.0\.0\.1:\d+$/);
    await first.click();
    expect(await page.getByTestId('proxied-client').textContent()).toMatch(/^a load balancer, for 127\.0\.0\.2:\d+ \(PROXY header\)$/);
    await page.screenshot({ path: screenshotPath('proxy-protocol-detail-light.png') });
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('the balancer\'s own health checks (PROXY LOCAL) are said to be its own, in the note, the table and the ladder', async () => {
    const { page, errors } = await openPage();
    await loadFiles(page, [join(FIXTURES, 'haproxy-proxy-protocol-checks.pcap')]);
    await page.getByTestId('proxied-note').waitFor();
    expect(await page.getByTestId('proxied-note').textContent()).toMatch(/^6 connections came through a load balancer that named its client.* 4 connections were the balancer's own \(a PROXY LOCAL header, naming no client: its health checks\)/s);
    await page.getByTestId('captures').screenshot({ path: screenshotPath('proxy-protocol-checks-files-light.png') });
    await page.getByTestId('tab-connections').click();
    const first = page.getByTestId('connection-row').first();
    await first.waitFor();
    expect(await first.locator('[role=gridcell]').nth(1).getAttribute('title')).toMatch(/^127\.0\.0\.1:\d+ \(balancer's own\)$/);
    await first.click();
    expect(await page.getByTestId('balancer-own').textContent()).toBe("the load balancer's own connection (PROXY LOCAL header: a health check)");
    await page.screenshot({ path: screenshotPath('proxy-protocol-checks-detail-light.png') });
    expect(errors.errors).toEqual([]);
    await page.context().close();
  });

  it('exports the report from the app and the report renders offline', async () => {
    const { page, errors } = await openPage();
    await loadFiles(page, [idleCapture]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-report').click()]);
    const saved = join(work.path, 'app-export.html');
    await download.saveAs(saved);
    expect(download.suggestedFilename()).toBe('resumescope-idle-timeout.html');
    const shown = await shownNumbers(page);
    const report = await page.context().newPage();
    await report.route('**/*', (route) => (route.request().url() === `file://${saved}` ? route.continue() : route.abort()));
    await report.goto(`file://${saved}`);
    await report.getByTestId('view-overview').waitFor();
    expect(await shownNumbers(report)).toEqual(shown);
    // The app hashes in its worker; the value must be the file's SHA-256 (as the CLI computes it).
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    expect(await report.getByTestId('captures').textContent()).toContain(createHash('sha256').update(readFileSync(idleCapture)).digest('hex'));
    // CSV and JSON exports from the app hold the same connections as the CLI's outputs.
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csvPath = join(work.path, 'app-export.csv');
    await csvDownload.saveAs(csvPath);
    // Named after the capture, as the report is (they were resumescope.json and resumescope-connections.csv).
    expect(csvDownload.suggestedFilename()).toBe('resumescope-idle-timeout-connections.csv');
    const csvRows = readFileSync(csvPath, 'utf8').trim().split('\n');
    expect(csvRows[0]).toContain('offer.sessionId');
    const cliConnections = (await analyzeWithCli([idleCapture])).connections as unknown as { resumption: string }[];
    expect(csvRows).toHaveLength(cliConnections.length + 1);
    const header = csvRows[0]!.split(',');
    const column = header.indexOf('resumption');
    const count = (rows: string[], value: string) => rows.filter((r) => r.split(',')[column] === value).length;
    expect(count(csvRows.slice(1), 'rejected')).toBe(cliConnections.filter((c) => c.resumption === 'rejected').length);
    // The worker keeps its records in the column store: what it exports must be whole records, the CLI's.
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
    const jsonPath = join(work.path, 'app-export.json');
    await jsonDownload.saveAs(jsonPath);
    expect(jsonDownload.suggestedFilename()).toBe('resumescope-idle-timeout.json');
    const exported = JSON.parse(readFileSync(jsonPath, 'utf8')) as { connections: unknown[] };
    // (The app knows a file by its name, the CLI by the path it was given.)
    const byName = (c: unknown) => ({ ...(c as { file: string }), file: basename((c as { file: string }).file) });
    expect(exported.connections.map(byName)).toEqual(cliConnections.map(byName));
    expect(errors.errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('shows hostile SNIs as text and runs none of them', async () => {
    const hostile = await writeHostileCapture(work.path);
    const { page, dialogs, errors } = await openPage('dark');
    await loadFiles(page, [hostile]);
    await page.getByTestId('tab-connections').click();
    await page.getByTestId('connection-row').first().waitFor();
    for (const sni of HOSTILE_SNIS) {
      await page.getByTestId('filter-sni').fill(sni);
      await expect.poll(() => page.getByTestId('connection-row').first().locator('.sni').textContent(), { timeout: 5000 }).toBe(sni);
    }
    await page.getByTestId('connection-row').first().click();
    expect(await page.getByTestId('fields').textContent()).toContain(HOSTILE_SNIS[2]);
    for (const view of ['overview', 'servers', 'reuse', 'clients'] as const) {
      await page.getByTestId(`tab-${view}`).click();
      await page.getByTestId(`view-${view}`).waitFor();
    }
    await page.getByTestId('tab-servers').click();
    const servers = await page.getByTestId('servers-table').textContent();
    for (const sni of HOSTILE_SNIS) expect(servers).toContain(sni.toLowerCase());
    await page.screenshot({ path: screenshotPath('hostile-sni-servers-dark.png'), fullPage: true });
    // No element was created from capture text: the only <img>/<svg onload> would be an injection.
    expect(await page.locator('img[src="x"], svg[onload], script:not([src])').count()).toBe(0);
    await page.waitForTimeout(300);
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});

describe('resumescope ui: a series of captures through state files (as the CLI\'s --state)', () => {
  it('saves the sessions after one capture, carries them into the next, and refuses misuse with a reason', async () => {
    // Real nginx, session IDs with a 4 s timeout, cut after the eighth of eighteen connections.
    const capture = join(FIXTURES, 'nginx-session-timeout.pcap');
    const part1 = join(work.path, 'series-1.pcap');
    const part2 = join(work.path, 'series-2.pcap');
    writeFileSync(part1, rewritePcapRecords(capture, (r, i) => (i < 104 ? r : null)));
    writeFileSync(part2, rewritePcapRecords(capture, (r, i) => (i >= 104 ? r : null)));
    const cliState = join(work.path, 'cli.state');
    await analyzeWithCli([part1], ['--state', cliState]);

    const { page, dialogs, errors } = await openPage();
    await loadFiles(page, [part1]);
    // Not part of a series yet: no note about carried sessions.
    expect(await page.getByTestId('carried-note').count()).toBe(0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-state').click()]);
    expect(download.suggestedFilename()).toBe('resumescope.state');
    const saved = join(work.path, 'series.state');
    await download.saveAs(saved);
    // The same bytes as the CLI's --state after the same capture.
    expect(readFileSync(saved)).toEqual(readFileSync(cliState));

    // The next capture with the state: the session issued in the first file is known.
    await loadFiles(page, [part2, saved]);
    expect(await page.getByTestId('carried-note').textContent()).toMatch(/^2 sessions were carried in from a state file of earlier analyses of this series:/);
    await page.getByTestId('captures').screenshot({ path: screenshotPath('app-carried-state-light.png') });
    await page.locator('header.topbar').screenshot({ path: screenshotPath('app-topbar-save-sessions-light.png') });
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
    const jsonPath = join(work.path, 'series-2.json');
    await json.saveAs(jsonPath);
    const exported = JSON.parse(readFileSync(jsonPath, 'utf8')) as { sessions: { carriedIn: number }; connections: { session: { known: boolean; age: number } }[] };
    expect(exported.sessions.carriedIn).toBe(2);
    expect(exported.connections[0]!.session.known).toBe(true);
    expect(exported.connections[0]!.session.age).toBeCloseTo(3.768, 3);
    const cli = await analyzeWithCli([part2], ['--state', cliState]);
    expect(exported.connections.map((c) => c.session)).toEqual(cli.connections.map((c) => (c as unknown as { session: unknown }).session));
    // Saved again under the name it was opened with (a series keeps one file).
    const [again] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-state').click()]);
    expect(again.suggestedFilename()).toBe('series.state');

    // A state alone, two states, a capture older than the state, a damaged state: a reason each.
    await page.getByTestId('file-input').setInputFiles([saved]);
    expect(await page.getByTestId('notice').textContent()).toContain('series.state holds sessions carried from earlier captures: open it together with the capture files that follow them.');
    const copy = join(work.path, 'copy.state');
    writeFileSync(copy, readFileSync(saved));
    await page.getByTestId('file-input').setInputFiles([part2, saved, copy]);
    expect(await page.getByTestId('notice').textContent()).toContain('Open one state file at a time (series.state, copy.state)');
    await page.getByTestId('file-input').setInputFiles([part1, saved]);
    await page.getByText('The analysis failed').waitFor();
    expect(await page.getByRole('alert').first().textContent()).toMatch(/series\.state: holds sessions used up to 20\d\d-.*Z, after this capture's start \(20\d\d-.*Z\): analyse the captures in time order \(once each\), or open the captures without it/);
    const damaged = join(work.path, 'damaged.state');
    writeFileSync(damaged, readFileSync(saved).subarray(0, 40));
    await page.getByTestId('file-input').setInputFiles([part2, damaged]);
    await expect.poll(async () => page.getByRole('alert').first().textContent()).toMatch(/^The analysis faileddamaged\.state: byte [\d,]+: .+ \(open the captures without it to start a new series\)$/);
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await page.context().close();

    // On the command line (`resumescope ui series-2.pcap series.state`, Electron's File › Open): the same.
    await onHostedPage([part2, saved], async (hosted) => {
      expect(await hosted.getByTestId('file-names').textContent()).toBe('series-2.pcap');
      expect(await hosted.getByTestId('carried-note').textContent()).toMatch(/^2 sessions were carried in from a state file of earlier analyses of this series:/);
    });
  }, 60_000);

  it('in the desktop shell, hands the preload bridge the state\'s bytes (Save sessions) and the report (File › Export report)', async () => {
    // The Electron binary cannot run here: a stand-in for the bridge the preload exposes
    // (app/preload/preload.cts) records what the page asks it to save. The main process's side
    // is test/e2e/electron-save.test.ts.
    const part1 = join(work.path, 'bridge-1.pcap');
    writeFileSync(part1, rewritePcapRecords(join(FIXTURES, 'nginx-session-timeout.pcap'), (r, i) => (i < 104 ? r : null)));
    const cliState = join(work.path, 'bridge-cli.state');
    await analyzeWithCli([part1], ['--state', cliState]);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(() => {
      const w = window as unknown as { __saves: unknown[]; __exportReport?: () => void; resumescope: unknown };
      w.__saves = [];
      w.resumescope = {
        saveFile: async (request: { suggestedName: string; filter: unknown; content: string | Uint8Array }) => {
          const bytes = request.content instanceof Uint8Array;
          w.__saves.push({ name: request.suggestedName, filter: request.filter, bytes, content: bytes ? Array.from(request.content as Uint8Array) : request.content });
          return { saved: true, path: `/home/ops/${request.suggestedName}` };
        },
        onCapturesChanged: () => () => {},
        onExportReport: (listener: () => void) => { w.__exportReport = listener; return () => {}; },
      };
    });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    const dialogs = forbidDialogs(page);
    await page.goto(ui.url);
    await page.getByTestId('welcome').waitFor();
    await loadFiles(page, [part1]);
    await page.getByTestId('save-state').click();
    await expect.poll(() => page.evaluate(() => (window as unknown as { __saves: unknown[] }).__saves.length)).toBe(1);
    const [state] = await page.evaluate(() => (window as unknown as { __saves: { name: string; filter: unknown; bytes: boolean; content: number[] }[] }).__saves);
    expect(state).toMatchObject({ name: 'resumescope.state', filter: { name: 'resumescope state', extensions: ['state'] }, bytes: true });
    // The same bytes as the CLI's --state after the same capture, as bytes (not text).
    expect(Uint8Array.from(state!.content)).toEqual(new Uint8Array(readFileSync(cliState)));
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('Sessions saved: /home/ops/resumescope.state');
    // File › Export report: the main process sends the event, the page saves the report through the bridge.
    await page.evaluate(() => (window as unknown as { __exportReport: () => void }).__exportReport());
    await expect.poll(() => page.evaluate(() => (window as unknown as { __saves: unknown[] }).__saves.length)).toBe(2);
    const report = await page.evaluate(() => (window as unknown as { __saves: { name: string; bytes: boolean; content: string }[] }).__saves[1]!);
    expect(report.name).toMatch(/\.html$/);
    expect(report.bytes).toBe(false);
    expect(report.content).toMatch(/^<!doctype html>/i);
    expect(report.content).toContain('bridge-1.pcap');
    expect(dialogs.dialogs).toEqual([]);
    expect(errors.errors).toEqual([]);
    await context.close();
  }, 60_000);
});

describe('resumescope ui with captures on the command line', () => {
  it('serves the page and the captures only to who has the key it printed; the captures as they were at start', async () => {
    const { copyFileSync, symlinkSync, rmSync } = await import('node:fs');
    const { request } = await import('node:http');
    const capture = join(work.path, 'served.pcap');
    copyFileSync(join(FIXTURES, 'nginx-fifo-cache.pcap'), capture);
    const original = readFileSync(capture);
    const server = await startUi([capture]);
    try {
      const get = (path: string, cookie?: string) => new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
        const url = new URL(server.base);
        const req = request({ host: url.hostname, port: url.port, path, headers: { host: url.host, ...(cookie ? { cookie } : {}) } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
        });
        req.on('error', reject);
        req.end();
      });
      // Another local user knows the port, not the key.
      expect((await get('/')).status).toBe(403);
      expect((await get('/api/captures')).status).toBe(403);
      expect((await get('/api/captures/0')).status).toBe(403);
      expect((await get('/open/not-the-key')).status).toBe(403);
      // The printed address sets the key as a cookie of this port and goes on to the page.
      const opened = await get(new URL(server.url).pathname + '?theme=dark');
      expect(opened.status).toBe(303);
      expect(opened.headers.location).toBe('/?theme=dark');
      const setCookie = String(opened.headers['set-cookie']);
      expect(setCookie).toMatch(/^resumescope-\d+=[\w-]+; HttpOnly; SameSite=Strict; Path=\/$/);
      const cookie = setCookie.split(';')[0]!;
      expect((await get('/', cookie)).status).toBe(200);
      // The capture is the file opened at start: swapped for a link to another file, or grown, it is not.
      rmSync(capture);
      symlinkSync('/etc/hostname', capture);
      const served = await get('/api/captures/0', cookie);
      expect(served.status).toBe(200);
      expect(served.body.equals(original)).toBe(true);
      expect(served.headers['content-length']).toBe(String(original.length));
      // An address that does not parse is the client's mistake (400), and says nothing of the files.
      const bad = await get('/%E0%A4%A', cookie);
      expect(bad.status).toBe(400);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('analyses them on start, with the CLI\'s numbers, and says when there is no TLS', async () => {
    const capture = join(FIXTURES, 'tls12-rst-after-server-hello.pcap');
    const server = await startUi([capture]);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors = watchPageErrors(page);
      const [reference] = await Promise.all([analyzeWithCli([capture]), page.goto(server.url).then(() => waitForAnalysis(page))]);
      expect(await shownNumbers(page)).toEqual(expectedNumbers(reference));
      expect(await page.getByTestId('file-names').textContent()).toBe('tls12-rst-after-server-hello.pcap');
      // Files outside the command line are not served; other Host headers are refused.
      expect((await page.request.get(new URL('api/captures/1', server.base).href)).status()).toBe(404);
      expect((await page.request.get(new URL('../../etc/passwd', server.base).href)).status()).toBe(404);
      const csp = (await page.request.get(server.base)).headers()['content-security-policy'];
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/unsafe-(inline|eval)/);
      // A capture with no TLS at all: the page says so instead of showing zeros.
      const noTls = join(work.path, 'no-tls.pcap');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(noTls, pcapWithOneUdpPacket());
      await page.getByTestId('file-input').setInputFiles([noTls]);
      await page.getByTestId('no-tls').waitFor();
      await page.screenshot({ path: screenshotPath('empty-no-tls-light.png') });
      expect(await page.getByTestId('tls-over-udp').count()).toBe(0);
      // Only QUIC: the empty state says the handshakes went over UDP (once, not again under the files).
      const quicOnly = join(work.path, 'quic-only.pcap');
      const udp = (payload: Uint8Array) => ethernet(0x0800, ipv4(concat(u16be(50000), u16be(443), u16be(8 + payload.length), u16be(0), payload), { protocol: 17 }));
      const initial = concat([0xc3], u32be(1), [8], fill(8, 0x11), [0], fill(1185, 0)); // RFC 9000 §17.2.2
      writeFileSync(quicOnly, pcapFile([{ seconds: 1700000000, fraction: 0, data: udp(initial) }]));
      await page.getByTestId('file-input').setInputFiles([quicOnly]);
      await page.getByTestId('tls-over-udp').waitFor();
      expect(await page.getByTestId('no-tls').count()).toBe(1);
      expect(await page.getByTestId('tls-over-udp').count()).toBe(1);
      expect(await page.getByTestId('tls-over-udp').textContent()).toMatch(/^The files also hold 1 QUIC handshake datagram: TLS over UDP/);
      await page.screenshot({ path: screenshotPath('empty-quic-only-light.png') });
      // A capture taken with a snap length of 120: the handshakes are seen through (each segment's
      // first bytes), their offers cut away, and the headline says so and how to capture them.
      const snapped = join(work.path, 'snap120.pcap');
      writeFileSync(snapped, withSnaplen(join(FIXTURES, 'nginx-curl-resume.pcap'), 120));
      await page.getByTestId('file-input').setInputFiles([snapped]);
      await expect.poll(() => page.getByTestId('headline').textContent()).toBe('3 TLS connections, their ClientHellos cut by the snap length: whether they offered a session is unknown (capture again with tcpdump -s 0).');
      expect(await page.getByTestId('capture-loss').count()).toBe(0);
      expect(await page.getByTestId('view-overview').textContent()).toContain('No offer was seen (a ClientHello not captured whole hides what it offered)');
      await page.screenshot({ path: screenshotPath('snaplen-120-light.png') });
      // Cut to a record header and a byte: the overview says the handshakes were cut, and how to capture them.
      const snapped72 = join(work.path, 'snap72.pcap');
      writeFileSync(snapped72, withSnaplen(join(FIXTURES, 'nginx-curl-resume.pcap'), 72));
      await page.getByTestId('file-input').setInputFiles([snapped72]);
      await page.getByTestId('capture-loss').waitFor();
      expect(await page.getByTestId('capture-loss').textContent()).toMatch(/^3 handshakes lost bytes in the capture, so their outcome is unknown \(counted as incomplete, not aborted\): 3 cut by the snap length — capture again with tcpdump -s 0\.$/);
      // Nor does the headline claim every handshake was a full one: none was seen through.
      expect(await page.getByTestId('headline').textContent()).toBe('3 TLS connections, none seen through its handshake: no resumption offer seen.');
      await page.screenshot({ path: screenshotPath('capture-loss-light.png') });
      // One direction only: the offers were never answered in the capture; no 0 % resumption rate.
      const oneWay = join(work.path, 'one-way.pcap');
      writeFileSync(oneWay, rewritePcapRecords(join(FIXTURES, 'nginx-session-timeout.pcap'), (record) => (record.readUInt16BE(16 + 34) === 44313 ? null : record)));
      await page.getByTestId('file-input').setInputFiles([oneWay]);
      await page.getByText('none answered in the capture', { exact: false }).waitFor();
      expect(await page.getByTestId('headline').textContent()).toBe('17 resumption offers, none answered in the capture: nothing to tell about the session cache.');
      expect(await page.getByTestId('capture-loss').textContent()).toContain('18 with one direction only (asymmetric routing, a one-way tap)');
      expect(await page.getByTestId('kpi-rate').textContent()).toContain('—');
      // Real Chromium against a TLS 1.2 nginx, two first visits among the refusals: the rate and the
      // headline leave their random session IDs out, and say so.
      await page.getByTestId('file-input').setInputFiles([join(FIXTURES, 'chromium-nginx-new-visitor.pcap')]);
      await page.getByText('random session ID', { exact: false }).first().waitFor();
      expect(await page.getByTestId('headline').textContent()).toMatch(/^42\.9% of 7 answered resumption offers were accepted; 4 were rejected and paid a full handshake\. 2 more were only a TLS 1\.3 client's random session ID, most likely a first visit rather than an offer\. Main finding: /);
      expect(await page.getByTestId('kpi-rate-value').textContent()).toBe('42.9%');
      expect(await page.getByTestId('kpi-rate').getAttribute('title')).toBe('accepted ÷ answered offers, without 2 TLS 1.3 random session IDs (most likely no offer)');
      expect(await page.getByTestId('kpi-rejected-value').textContent()).toBe('6');
      await page.screenshot({ path: screenshotPath('new-visitor-light.png') });
      // The servers table's rate is the same.
      await page.getByTestId('tab-servers').click();
      const rate = page.getByTestId('servers-table').locator('tbody tr').first().locator('td').nth(6);
      expect(await rate.textContent()).toBe('43%');
      expect(await rate.getAttribute('title')).toBe('without 2 TLS 1.3 random session IDs (most likely no offer)');
      // Real Apache's shmcb cache (gzipped, read in the browser as it is): a capacity evicting in parts.
      await page.getByTestId('file-input').setInputFiles([join(ROOT, 'fixtures/captures-large/apache-shmcb-cache.pcap.gz')]);
      await page.getByTestId('tab-overview').click();
      await page.getByText('Capacity (in parts)').waitFor();
      expect(await page.getByTestId('policy-card').first().textContent()).toContain('Capacity (in parts)37 sessions');
      expect(await page.getByTestId('policy-card').first().textContent()).toContain('none rejected up to 21 sessions, all from 60 sessions; in between ever more: the cache evicts in parts (by session ID), about half were gone at 37 sessions — 108 rejections');
      expect(await page.getByTestId('kpi-rejected-value').textContent()).toBe('108');
      await page.getByTestId('policy-card').first().screenshot({ path: screenshotPath('apache-partitioned-light.png') });
      // Real nginx TLS 1.3 restarted with a new ticket key before the capture: the old identities'
      // key is named in the finding, and the policy card has a row for the ticket keys.
      await page.getByTestId('file-input').setInputFiles([join(FIXTURES, 'nginx-tls13-ticket-key-before-capture.pcap')]);
      await page.getByText('Ticket keys', { exact: true }).waitFor();
      expect(await page.getByTestId('headline').textContent()).toContain('Main finding: 8 tickets sealed under a key that resumescope.test:44366 no longer uses were refused.');
      const card = await page.getByTestId('policy-card').first().textContent();
      expect(card).toContain('Ticket keys8 refused under a key not in use');
      expect(card).toContain('the tickets issued or accepted in the capture name one key (RFC 5077 §4: a ticket begins with its key\'s name); 8 refused tickets name another: a key the server no longer holds');
      await page.getByTestId('policy-card').first().screenshot({ path: screenshotPath('ticket-keys-light.png') });
      expect(errors.errors).toEqual([]);
      await page.close();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 60_000);
});

/** A classic pcap with one Ethernet/IPv4/UDP packet: a capture, but no TLS. */
function pcapWithOneUdpPacket(): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const frame = Buffer.concat([
    Buffer.from('ffffffffffff0000000000010800', 'hex'),
    Buffer.from('4500001c000100004011f96e0a0000010a000002', 'hex'),
    Buffer.from('003500350008a2b3', 'hex'),
  ]);
  const record = Buffer.alloc(16);
  record.writeUInt32LE(1700000000, 0);
  record.writeUInt32LE(frame.length, 8);
  record.writeUInt32LE(frame.length, 12);
  return Buffer.concat([header, record, frame]);
}

/** How far (px) a chart's first limit line stands from the bin edge labelled `edge`. */
async function limitLineOffEdge(chart: Locator, edge: string): Promise<number> {
  const lines = chart.locator('.recharts-reference-line line');
  await lines.first().waitFor({ state: 'attached' });
  const line = (await lines.first().boundingBox())!;
  const tick = (await chart.locator('.edge-tick text', { hasText: new RegExp(`^${edge}$`) }).boundingBox())!;
  return Math.abs(line.x + line.width / 2 - (tick.x + tick.width / 2));
}
