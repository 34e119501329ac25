import { it } from 'vitest';
import { simulateAndAnalyze } from './support/pipeline.js';
it('x', () => {
  const r = simulateAndAnalyze('version-mix', 1, 1);
  const byStart = new Map(r.connections.map((c) => [`${c.client.ip}:${c.client.port}`, c]));
  for (const t of r.truth.connections) {
    if (t.reason !== 'version-change' || t.reuseGap === null || t.reuseGap <= 600) continue;
    const c = byStart.get(`${t.clientIp}:${t.clientPort}`)!;
    console.log(t.version, t.offered, t.outcome, t.reuseGap.toFixed(1), c.resumption, JSON.stringify(c.session));
  }
});
