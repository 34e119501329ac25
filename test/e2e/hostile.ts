// A capture whose SNIs are script injections: every place that shows an SNI must show it as text.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate } from './support.js';

export const HOSTILE_SNIS = [
  '<img src=x onerror=alert(1)>.evil',
  '"><script>alert(2)</script>.evil',
  "'</script><svg onload=alert(3)>.evil",
];

/** Writes the hostile capture into `dir` and returns its path. */
export async function writeHostileCapture(dir: string): Promise<string> {
  const config = join(dir, 'hostile.json');
  writeFileSync(config, JSON.stringify({
    duration: 900,
    services: HOSTILE_SNIS.map((sni) => ({ sni, policy: { idleTimeout: 120, lifetime: 36000, capacity: null, purgeOnAbort: false } })),
    clients: { count: 6, meanGap: 60, minGap: 5, longGapShare: 0.3, longGap: [150, 300], firstConnectionSpread: 60 },
  }));
  const out = join(dir, 'hostile-sni.pcap');
  await simulate(out, ['--config', config, '--quiet']);
  return out;
}
