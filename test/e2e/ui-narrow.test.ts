// `resumescope ui` in a narrow window (800x700) in Debian's Chromium: the connections header scrolls
// sideways with its rows, the header keeps the file name in view, and the Clients view stacks its
// list above the chart with a sessions table that scrolls instead of growing tall rows. The same
// checks at 1280x800 keep the wide layout as it was.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { forbidDialogs, launchBrowser, ROOT, screenshotPath, startUi, waitForAnalysis, watchPageErrors, type UiProcess } from './support.js';

const FIXTURES = join(ROOT, 'fixtures/captures');
const CAPTURES = {
  lb: join(FIXTURES, 'nginx-lb-no-shared-cache.pcap'),
  timeout: join(FIXTURES, 'nginx-session-timeout.pcap'),
} as const;
type Capture = keyof typeof CAPTURES;
const NARROW = { width: 800, height: 700 };
const WIDE = { width: 1280, height: 800 };

let browser: Browser;
let ui: UiProcess;

beforeAll(async () => {
  [browser, ui] = await Promise.all([launchBrowser(), startUi([])]);
});

afterAll(async () => {
  await browser?.close();
  const code = await ui?.stop();
  expect(code).toBe(0);
});

async function openCapture(capture: Capture, viewport: { width: number; height: number }): Promise<{ page: Page; done(): Promise<void> }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const dialogs = forbidDialogs(page);
  const errors = watchPageErrors(page);
  await page.goto(`${ui.url}?theme=light`);
  await page.getByTestId('welcome').waitFor();
  await page.getByTestId('file-input').setInputFiles([CAPTURES[capture]]);
  await waitForAnalysis(page);
  return {
    page,
    done: async () => {
      expect(dialogs.dialogs).toEqual([]);
      expect(errors.errors).toEqual([]);
      await context.close();
    },
  };
}

async function box(page: Page, selector: string): Promise<{ x: number; y: number; width: number; height: number }> {
  const b = await page.locator(selector).first().boundingBox();
  if (!b) throw new Error(`${selector} has no box`);
  return b;
}

async function showConnections(page: Page): Promise<void> {
  await page.getByTestId('tab-connections').click();
  await page.getByTestId('connection-row').first().waitFor();
}

async function showClients(page: Page): Promise<void> {
  await page.getByTestId('tab-clients').click();
  await page.getByTestId('sequence-table').waitFor();
  await page.waitForTimeout(200); // the chart measures its container once
}

describe('resumescope ui in a narrow window', () => {
  for (const capture of ['lb', 'timeout'] as const) {
    it(`connections header scrolls sideways with the rows at 800px (${capture})`, async () => {
      const { page, done } = await openCapture(capture, NARROW);
      await showConnections(page);
      const timeHead = page.getByTestId('sort-time');
      const firstCell = page.getByTestId('connection-row').first().locator('[role=gridcell]').first();
      const before = (await timeHead.boundingBox())!;
      expect(Math.abs(before.x - (await firstCell.boundingBox())!.x)).toBeLessThan(1);

      // The columns do not fit in 800px: the list scrolls sideways, by the wheel as a user would.
      await page.getByTestId('connection-table').hover();
      await page.mouse.wheel(200, 0);
      await expect.poll(() => page.getByTestId('connection-table').evaluate((e) => e.scrollLeft)).toBeGreaterThan(100);
      await expect.poll(async () => (await timeHead.boundingBox())!.x).toBeLessThan(before.x - 100);
      const head = (await timeHead.boundingBox())!;
      const cell = (await firstCell.boundingBox())!;
      expect(Math.abs(head.x - cell.x)).toBeLessThan(1);
      // Every column header stays over its column: the last one too.
      const lastHead = (await page.getByTestId('sort-duration').boundingBox())!;
      const lastCell = (await page.getByTestId('connection-row').first().locator('[role=gridcell]').last().boundingBox())!;
      expect(Math.abs(lastHead.x - lastCell.x)).toBeLessThan(1);
      expect(Math.abs(lastHead.x + lastHead.width - (lastCell.x + lastCell.width))).toBeLessThan(1);
      await page.screenshot({ path: screenshotPath(`narrow-connections-hscroll-${capture}-800.png`) });

      // A row (its border, hover and selection) spans every column, not only the first 800px.
      const row = (await page.getByTestId('connection-row').first().boundingBox())!;
      expect(row.x + row.width).toBeGreaterThanOrEqual(lastCell.x + lastCell.width - 1);
      expect(row.width).toBeGreaterThanOrEqual(1000);

      // Scrolling back brings both back to the start.
      await page.mouse.wheel(-1000, 0);
      await expect.poll(async () => (await timeHead.boundingBox())!.x).toBeCloseTo(before.x, 0);
      expect(Math.abs((await timeHead.boundingBox())!.x - (await firstCell.boundingBox())!.x)).toBeLessThan(1);
      await done();
    }, 60_000);

    it(`header keeps the file name visible and the buttons on one line each (${capture})`, async () => {
      const name = CAPTURES[capture].replace(/^.*\//, '');
      for (const viewport of [NARROW, WIDE]) {
        const { page, done } = await openCapture(capture, viewport);
        const files = page.getByTestId('file-names');
        const filesBox = (await files.boundingBox())!;
        expect(filesBox.width).toBeGreaterThan(50);
        expect(await files.textContent()).toBe(name);
        expect(await files.getAttribute('title')).toBe(name);
        // No button is squeezed into two lines of text.
        const open = (await page.getByTestId('open-button').boundingBox())!;
        for (const id of ['open-button', 'export-report', 'export-json', 'export-csv', 'save-state', 'theme-toggle']) {
          const b = (await page.getByTestId(id).boundingBox())!;
          expect(b.height, id).toBeLessThan(40);
          expect(Math.abs(b.y - open.y), id).toBeLessThan(1); // all on one line
          expect(b.x + b.width, id).toBeLessThanOrEqual(viewport.width);
        }
        // The file name and the buttons do not overlap.
        const besideButtons = filesBox.x + filesBox.width <= open.x;
        const aboveButtons = filesBox.y + filesBox.height <= open.y;
        expect(besideButtons || aboveButtons).toBe(true);
        const topbar = await box(page, 'header.topbar');
        if (viewport === WIDE) {
          expect(besideButtons).toBe(true); // one row, as before
          expect(topbar.height).toBeLessThan(70);
        }
        await page.locator('header.topbar').screenshot({ path: screenshotPath(`narrow-header-${capture}-${viewport.width}.png`) });
        await done();
      }
    }, 60_000);

    it(`clients view stacks the list above the chart at 800px and its table scrolls sideways (${capture})`, async () => {
      const { page, done } = await openCapture(capture, NARROW);
      await showClients(page);
      const list = await box(page, '[data-testid=client-list]');
      const chart = await box(page, '[data-testid=client-sequence] .chart');
      expect(list.y + list.height).toBeLessThanOrEqual(chart.y);
      expect(chart.width).toBeGreaterThan(600);
      // The address label keeps its 150px: the plot has the rest of the width.
      const plot = (await page.locator('[data-testid=client-sequence] .recharts-cartesian-grid').boundingBox())!;
      expect(plot.width).toBeGreaterThan(450);

      const table = page.getByTestId('sequence-table');
      const rowHeights = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getBoundingClientRect().height));
      expect(rowHeights.length).toBeGreaterThan(0);
      expect(Math.max(...rowHeights)).toBeLessThan(60); // at most two lines, no ~110px rows
      const scroller = page.locator('.sequence-scroll');
      const [scrollWidth, clientWidth] = await scroller.evaluate((e) => [e.scrollWidth, e.clientWidth]);
      expect(scrollWidth).toBeGreaterThan(clientWidth);
      // Every column keeps its header on one line, readable once scrolled to.
      const headHeights = await table.locator('thead th').evaluateAll((cells) => cells.map((c) => c.getBoundingClientRect().height));
      expect(Math.max(...headHeights)).toBeLessThan(35);
      await page.screenshot({ path: screenshotPath(`narrow-clients-${capture}-800.png`), fullPage: true });
      await scroller.evaluate((e) => { e.scrollLeft = e.scrollWidth; });
      const note = (await table.locator('thead th').last().boundingBox())!;
      const view = (await scroller.boundingBox())!;
      expect(note.x + note.width).toBeLessThanOrEqual(view.x + view.width + 1);
      expect(await table.locator('thead th').last().textContent()).toBe('Note');
      await scroller.screenshot({ path: screenshotPath(`narrow-clients-table-scrolled-${capture}-800.png`) });
      await done();
    }, 60_000);

    it(`the six tiles fill whole rows at every width: six, three and three, or two by three (${capture})`, async () => {
      // At 900 px they went five and one, the last tile alone on its row.
      for (const [width, perRow] of [[1280, 6], [900, 3], [800, 3], [500, 2]] as const) {
        const { page, done } = await openCapture(capture, { width, height: 800 });
        const tops = await page.getByTestId('kpis').locator('.kpi').evaluateAll((tiles) => tiles.map((t) => Math.round(t.getBoundingClientRect().top)));
        const rows = new Map<number, number>();
        for (const top of tops) rows.set(top, (rows.get(top) ?? 0) + 1);
        expect([...rows.values()], `${width}px`).toEqual(Array(6 / perRow).fill(perRow));
        if (width === 900) await page.getByTestId('kpis').screenshot({ path: screenshotPath(`kpis-900-${capture}.png`) });
        await done();
      }
    });

    it(`keeps the wide layout at 1280px (${capture})`, async () => {
      const { page, done } = await openCapture(capture, WIDE);
      await showClients(page);
      const list = await box(page, '[data-testid=client-list]');
      const chart = await box(page, '[data-testid=client-sequence] .chart');
      expect(list.x + list.width).toBeLessThan(chart.x); // side by side
      const [scrollWidth, clientWidth] = await page.locator('.sequence-scroll').evaluate((e) => [e.scrollWidth, e.clientWidth]);
      expect(scrollWidth).toBeLessThanOrEqual(clientWidth); // every column in view
      const rowHeights = await page.getByTestId('sequence-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getBoundingClientRect().height));
      expect(Math.max(...rowHeights)).toBeLessThan(60);
      await page.screenshot({ path: screenshotPath(`narrow-clients-${capture}-1280.png`), fullPage: true });

      await showConnections(page);
      const [listScroll, listWidth] = await page.getByTestId('connection-table').evaluate((e) => [e.scrollWidth, e.clientWidth]);
      expect(listScroll).toBeLessThanOrEqual(listWidth); // the columns fit: nothing to scroll
      const lastHead = (await page.getByTestId('sort-duration').boundingBox())!;
      const lastCell = (await page.getByTestId('connection-row').first().locator('[role=gridcell]').last().boundingBox())!;
      expect(Math.abs(lastHead.x - lastCell.x)).toBeLessThan(1);
      await page.screenshot({ path: screenshotPath(`narrow-connections-${capture}-1280.png`) });
      await done();
    }, 60_000);
  }
});
