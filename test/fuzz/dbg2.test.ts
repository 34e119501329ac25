import fc from 'fast-check';
import { it } from 'vitest';
import { TARGETS } from './targets.js';
import { buildCapture, mutate, chunked } from './captures.js';
import { analyze } from './properties.js';
it('dbg', () => {
  const t = TARGETS.find((x) => x.name === 'mutated-capture')!;
  const v = fc.sample(t.arbitrary, { seed: 23317859, numRuns: 25 })[5] as any;
  const [spec, muts, sizes] = v;
  console.log('DBG', JSON.stringify(muts.map((m: any) => ({ ...m, garbage: m.garbage?.length }))), JSON.stringify(sizes));
  const bytes = mutate(buildCapture(spec), muts, spec.littleEndian);
  for (const s of [[1 << 20], sizes]) { const t0 = performance.now(); const r = analyze(chunked(bytes, s)); console.log('DBG ms', s.length, (performance.now() - t0).toFixed(0), r.captures[0]!.packets); }
});
