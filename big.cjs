const { chromium } = require('/work/main/node_modules/playwright-core');
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu','--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', e => console.log('PAGEERROR', e.message));
  await page.goto('http://127.0.0.1:8765/');
  const t0 = Date.now();
  await page.getByTestId('file-input').setInputFiles(['/tmp/resumescope-bench/part1-250MB.pcap']);
  console.log('set files', Date.now()-t0);
  let i = 0;
  while (true) {
    const done = await page.getByTestId('view-overview').count();
    if (done) break;
    if (i % 3 === 0) await page.screenshot({ path: `shots/big-progress-${String(i).padStart(3,'0')}.png` });
    const txt = (await page.locator('body').innerText()).replace(/\n/g,' | ').slice(0,300);
    console.log(((Date.now()-t0)/1000).toFixed(1), txt);
    i++;
    await page.waitForTimeout(2000);
    if (Date.now()-t0 > 600000) { console.log('timeout'); break; }
  }
  console.log('done at', (Date.now()-t0)/1000);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: 'shots/big-Overview-1280.png' });
  for (const tab of ['Timeline','Reuse gap','Servers','Clients','Connections']) {
    const t1 = Date.now();
    await page.getByRole('tab', { name: tab }).click(); await page.waitForTimeout(1500);
    console.log('tab', tab, Date.now()-t1);
    await page.screenshot({ path: `shots/big-${tab.replace(/ /g,'_')}-1280.png` });
  }
  await page.setViewportSize({ width: 800, height: 700 });
  await page.getByRole('tab', { name: 'Overview' }).click(); await page.waitForTimeout(1500);
  await page.screenshot({ path: 'shots/big-Overview-800.png' });
  await page.getByRole('tab', { name: 'Timeline' }).click(); await page.waitForTimeout(1500);
  await page.screenshot({ path: 'shots/big-Timeline-800.png' });
  await page.getByRole('tab', { name: 'Reuse gap' }).click(); await page.waitForTimeout(1500);
  await page.screenshot({ path: 'shots/big-Reuse_gap-800.png' });
  // report export
  await page.setViewportSize({ width: 1280, height: 800 });
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.getByRole('button', { name: 'Export report' }).click()]);
  await dl.saveAs('/tmp/review-ui/big-report.html');
  console.log('report saved');
  await browser.close();
})();
