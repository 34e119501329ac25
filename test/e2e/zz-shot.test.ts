import { it } from 'vitest';
import { launchBrowser, startUi, waitForAnalysis } from './support.js';
it('shot', async () => {
  const file = process.env.SHOT_FILE!, out = process.env.SHOT_OUT!;
  const browser = await launchBrowser();
  const ui = await startUi([file]);
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await page.goto(ui.url);
  await waitForAnalysis(page);
  await page.screenshot({ path: out + '-overview.png' });
  for (const v of (process.env.SHOT_VIEWS ?? 'servers,timeline').split(',')) {
    await page.getByTestId(`tab-${v}`).click();
    await page.waitForTimeout(800);
    await page.screenshot({ path: `${out}-${v}.png`, fullPage: v === 'servers' });
  }
  await browser.close();
  await ui.stop();
}, 60000);
