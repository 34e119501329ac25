// Random single-service farms against the simulator's ground truth: where does the diagnosis give
// a refusal another reason than the one that took the session? Every farm is drawn from its set
// and index alone, so a farm named in the output can be run again (--show SET:INDEX).
//   node dist/test/tools/sweep.js [--sets 1-6] [--farms 40] [--worst 10] [--two-services | --lru] [--show SET:INDEX]
// --lru: the same single-service farms with caches that evict the least recently used session.
import { simulateConfigAndAnalyze } from '../support/pipeline.js';
import { compareWithTruth } from './compare-truth.js';
import type { FarmConfigInput } from '../../fixtures/simulator/farm.js';

/** A small linear congruential generator: the same farms on every machine and Node version. */
function generator(seed: number): <T>(choices: readonly T[]) => T {
  let state = seed & 0x7fffffff;
  return (choices) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return choices[Math.floor((state / 0x7fffffff) * choices.length)]!;
  };
}

/**
 * Farm `index` of set `set`: one service, its resumption, backends, limits, events and clients drawn
 * at random; its cache evicts the earliest issued session, or with `eviction` 'lru' the least
 * recently used (the same draws otherwise).
 */
export function sweepFarm(set: number, index: number, eviction: 'fifo' | 'lru' = 'fifo'): FarmConfigInput {
  const pick = generator(set * 7919 + index * 104729);
  const resumption = pick(['session-id', 'ticket', 'psk'] as const);
  const backends = pick([1, 1, 2, 3]);
  return {
    seed: index + 1,
    duration: 3600,
    services: [{
      sni: 'www.sweep.test', resumption, backends,
      captureAt: pick(['vip', 'backends'] as const), balancing: pick(['random', 'round-robin', 'source-ip'] as const), sharedCache: pick([true, true, false]),
      policy: { idleTimeout: pick([null, 300, 600, 1800]), lifetime: pick([36000, 3600, 7200]), capacity: pick([null, null, 50, 200, 1000]), purgeOnAbort: pick([false, false, true]), eviction },
      ticketKeyRotation: resumption === 'ticket' ? pick([null, null, 300, 600]) : null,
      ticketKeyRotationSkew: pick([0, 0, 30]),
      flushes: pick([[], [], [1200]]),
    }],
    clients: {
      count: pick([40, 80, 200]), meanGap: pick([60, 150, 400]), minGap: 2, longGapShare: pick([0, 0.2, 0.4]), longGap: [200, 2000],
      abortShare: pick([0, 0, 0.05]), forgetShare: pick([0, 0, 0.05]), firstConnectionSpread: 300,
      stacks: resumption === 'psk' ? ['modern-a', 'modern-b'] : pick([['modern-a', 'modern-b', 'legacy'], ['legacy']] as const).slice(),
    },
  };
}

/**
 * Farm `index` of set `set` with two services sharing their clients, some of the clients four to
 * an address (NAT): each service's resumption, backends, limits and restart drawn at random.
 */
export function sweepTwoServiceFarm(set: number, index: number): FarmConfigInput {
  const pick = generator(set * 99991 + index * 7907);
  const service = (k: number) => ({
    sni: `s${k}.sweep.test`, resumption: pick(['session-id', 'ticket', 'psk'] as const), backends: pick([1, 2]),
    captureAt: pick(['vip', 'backends'] as const), balancing: pick(['random', 'source-ip'] as const), sharedCache: pick([true, false]),
    policy: { idleTimeout: pick([null, 300, 900]), lifetime: pick([36000, 3600]), capacity: pick([null, 100]), purgeOnAbort: pick([false, true]) },
    flushes: pick([[], [1800]]), clientShare: pick([1, 2]),
  });
  return {
    seed: index + 1,
    duration: 3600,
    services: [service(1), service(2)],
    clients: {
      count: pick([60, 150]), perAddress: pick([1, 1, 4]), meanGap: pick([90, 300]), minGap: 2, longGapShare: 0.2, longGap: [200, 2000],
      abortShare: pick([0, 0.05]), forgetShare: pick([0, 0.05]), firstConnectionSpread: 300, stacks: ['modern-a', 'modern-b', 'legacy'],
    },
  };
}

export interface SweepResult {
  set: number;
  index: number;
  /** Refusals (and forgotten sessions) whose reason is not the truth's. */
  wrong: number;
  /** truth → ours, for the wrong ones. */
  confusion: string[];
  /** Of the wrong ones, refused by another backend and past a cause its own backend had as well, that cause given (compareWithTruth's secondCause). */
  secondCause: number;
  flushesTrue: number;
  flushesFound: number;
  /** Services said to rotate their ticket keys that do not. */
  rotationsMadeUp: number;
  summary: string;
}

export function runFarm(set: number, index: number, twoServices = false, eviction: 'fifo' | 'lru' = 'fifo'): SweepResult {
  const config = twoServices ? sweepTwoServiceFarm(set, index) : sweepFarm(set, index, eviction);
  const farm = simulateConfigAndAnalyze(config);
  const comparison = compareWithTruth(farm.document, farm.truth);
  const confusion = Object.entries(comparison.confusion).flatMap(([truth, row]) =>
    Object.entries(row).filter(([ours]) => ours !== truth).map(([ours, n]) => `${truth}→${ours} ${n}`));
  const wrong = Object.entries(comparison.confusion).reduce((sum, [truth, row]) =>
    sum + Object.entries(row).reduce((s, [ours, n]) => s + (ours === truth ? 0 : n), 0), 0);
  const services = config.services!;
  const policies = farm.diagnosis.servers.map((s) => s.cachePolicy);
  const summary = services.map((service) => `${service.resumption}, ${service.backends} backend(s) at the ${service.captureAt}, ${service.balancing}, shared ${service.sharedCache}; ` +
    `policy ${JSON.stringify(service.policy)}, rotation ${service.ticketKeyRotation ?? 'none'}, flushes [${service.flushes}]`).join(' || ') +
    (config.clients?.perAddress !== undefined && config.clients.perAddress > 1 ? ` | ${config.clients.perAddress} clients an address` : '') +
    ' | inferred ' + policies.map((p) => `idle ${p.idleTimeout.seconds ?? '–'}, lifetime ${p.lifetime.seconds ?? '–'}, cache ${p.capacity.entries === null ? '–' : `${p.capacity.entries} ${p.capacity.eviction}`}, flushes ${p.flushes.length}, rotation ${p.tickets.rotation ? Math.round(p.tickets.rotation.every) : '–'}`).join(' || ');
  const flushesTrue = services.reduce((n, s) => n + (s.flushes?.length ?? 0), 0);
  const flushesFound = policies.reduce((n, p) => n + p.flushes.length, 0);
  // Servers are listed by SNI, as the services are named.
  const rotationsMadeUp = farm.diagnosis.servers.filter((s) => s.cachePolicy.tickets.rotation &&
    !services.some((service) => service.ticketKeyRotation != null && s.group.startsWith(`${service.sni}:`))).length;
  return { set, index, wrong, confusion, secondCause: comparison.secondCause, flushesTrue, flushesFound, rotationsMadeUp, summary };
}

function main(argv: string[]): void {
  const option = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
  };
  const twoServices = argv.includes('--two-services');
  const eviction = argv.includes('--lru') ? 'lru' : 'fifo';
  const show = option('--show', '');
  if (show !== '') {
    const [set, index] = show.split(':').map(Number) as [number, number];
    console.log(JSON.stringify(twoServices ? sweepTwoServiceFarm(set, index) : sweepFarm(set, index, eviction)));
    const r = runFarm(set, index, twoServices, eviction);
    console.log(`${r.wrong} wrong: ${r.confusion.join(', ') || 'none'}\n${r.summary}`);
    return;
  }
  const [from, to] = option('--sets', '1-6').split('-').map(Number) as [number, number?];
  const farms = Number(option('--farms', '40'));
  const worst = Number(option('--worst', '10'));
  const results: SweepResult[] = [];
  for (let set = from; set <= (to ?? from); set++) {
    for (let index = 0; index < farms; index++) results.push(runFarm(set, index, twoServices, eviction));
  }
  const total = results.reduce((n, r) => n + r.wrong, 0);
  // A flush the truth has but no flush listed is no error where its refusals got their reason
  // otherwise (a ticket key reset amid a rotation is the rotation's): the refusals count that.
  const madeUp = results.filter((r) => r.flushesFound > r.flushesTrue).length;
  const rotationsMadeUp = results.filter((r) => r.rotationsMadeUp > 0).length;
  for (const r of [...results].sort((a, b) => b.wrong - a.wrong).slice(0, worst)) {
    console.log(`${r.set}:${r.index}  ${r.wrong} wrong${r.secondCause > 0 ? `, ${r.secondCause} of them their own backend's cause too` : ''} (${r.confusion.join(', ')})\n    ${r.summary}`);
  }
  const second = results.reduce((n, r) => n + r.secondCause, 0);
  console.log(`sweep: ${results.length} farms, ${total} refusals given another reason than the truth (${second} of them refused by another backend and given the cause their own backend had too); flushes made up in ${madeUp} farms, ticket-key rotations in ${rotationsMadeUp}`);
}

if (process.argv[1]?.endsWith('sweep.js')) main(process.argv.slice(2));
