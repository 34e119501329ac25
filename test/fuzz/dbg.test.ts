import { it } from 'vitest';
import { REGRESSION_FIXTURES } from './regression-fixtures.js';
import { analyze } from './properties.js';
import { readFileSync } from 'node:fs';
it('dbg', () => {
  const f = REGRESSION_FIXTURES.find((x) => x.file === 'pcap-short-record-length.pcap')!;
  const r = analyze([f.bytes()]);
  console.log('DBG', f.damageAt, r.captures[0]!.packets, JSON.stringify(r.captures[0]!.anomalies.map((a) => [a.code, a.offset, a.message.slice(0, 90)])));
  const b = new Uint8Array(readFileSync('/tmp/fuzz-crashes/' + process.env.CRASH));
  for (const size of [[b]]) { const t = performance.now(); try { analyze(size); } catch (e) { console.log('DBG2', String(e).slice(0, 200)); } console.log('DBG2 ms', performance.now() - t); }
});
