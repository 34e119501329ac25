// Watches a page's animation frames: the gaps between them show whether the UI thread stayed
// free (an analysis on the page thread would stop painting for seconds). Used by the e2e test of
// a large capture and by `npm run bench:ui`.
import type { Page } from 'playwright-core';

interface Watched {
  frameGaps: number[];
  watching: boolean;
}

export async function watchFrames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as Watched;
    w.frameGaps = [];
    w.watching = true;
    let last = performance.now();
    const tick = (now: number) => {
      w.frameGaps.push(now - last);
      last = now;
      if (w.watching) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

/** Stops watching; returns the gaps (ms) between consecutive frames. */
export function frameGaps(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const w = window as unknown as Watched;
    w.watching = false;
    return w.frameGaps;
  });
}
