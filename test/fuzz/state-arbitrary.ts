// Arbitrary --state contents (parser/session/session-state.ts), shared by the unit test and the fuzz target.
import fc from 'fast-check';
import type { CarriedSessions } from '../../parser/session/session-state.js';

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ maxLength: 6, unit: fc.constantFrom('a', '\u00ff', '\u0100', '\uffff', '\ud800') }));

/** Consistent session states: every reference inside its list, sessions in order of last use. */
export const sessionStateArb: fc.Arbitrary<CarriedSessions> = fc
  .record({
    groups: fc.uniqueArray(fc.record({ key: text, sni: fc.option(text, { nil: null }), port: fc.integer({ min: 0, max: 65535 }), issued: fc.integer({ min: 1, max: 1e6 }), flushes: fc.array(fc.tuple(fc.double({ min: 1e9, max: 2e9, noNaN: true }), fc.double({ min: 0, max: 1e4, noNaN: true })).map(([low, d]) => ({ low, time: low + d })), { maxLength: 3 }) }), { minLength: 1, maxLength: 4, selector: (g) => g.key }),
    addresses: fc.array(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([ip, port]) => `${ip}|${port}`), { minLength: 1, maxLength: 4 }),
    sessions: fc.array(fc.record({ kind: fc.integer({ min: 0, max: 2 }), seen: fc.boolean(), version: fc.integer({ min: 0, max: 5 }), group: fc.nat(), issuer: fc.nat(), issue: fc.nat(), issuedAt: fc.double({ min: 1e9, max: 2e9, noNaN: true }), idle: fc.double({ min: 0, max: 1e5, noNaN: true }) }), { maxLength: 20 }),
    keys: fc.array(fc.tuple(text, fc.nat()), { maxLength: 30 }),
    clients: fc.array(fc.record({ group: fc.nat(), stack: text, address: text, session: fc.nat() }), { maxLength: 10 }),
    since: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    aborts: fc.array(fc.record({ session: fc.nat(), after: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 5 }),
    unknownAborts: fc.array(fc.record({ key: text, before: fc.double({ min: 0, max: 1e5, noNaN: true }) }), { maxLength: 4 }),
  })
  .map(({ groups, addresses, sessions, keys, clients, since, aborts, unknownAborts }) => {
    const rows = sessions.map((s) => ({ ...s, group: s.group % groups.length, issuer: s.issuer % addresses.length, lastUse: s.issuedAt + s.idle }))
      .sort((a, b) => a.lastUse - b.lastUse);
    const withKeys = rows.length > 0 ? keys : [];
    const lastTime = rows.length > 0 ? rows[rows.length - 1]!.lastUse + 1 : -Infinity;
    return {
      lastTime,
      // Anywhere up to the last time (or unknown); an abort between its session's last use and the last time.
      observedSince: since === null || rows.length === 0 ? Infinity : 1e9 + since * (lastTime - 1e9),
      aborts: rows.length === 0 ? [] : aborts.map((a) => {
        const session = a.session % rows.length;
        return { session, time: rows[session]!.lastUse + a.after * (lastTime - rows[session]!.lastUse) };
      }),
      unknownAborts: rows.length === 0 ? [] : unknownAborts.map((u) => ({ key: u.key, time: lastTime - u.before })),
      groups,
      addresses,
      sessions: {
        kind: Uint8Array.from(rows, (r) => r.kind),
        issueSeen: Uint8Array.from(rows, (r) => (r.seen ? 1 : 0)),
        version: Uint8Array.from(rows, (r) => r.version),
        group: Uint32Array.from(rows, (r) => r.group),
        issuer: Uint32Array.from(rows, (r) => r.issuer),
        issueIndex: Uint32Array.from(rows, (r) => r.issue % (groups[r.group]!.issued + 1)),
        issuedAt: Float64Array.from(rows, (r) => r.issuedAt),
        lastUse: Float64Array.from(rows, (r) => r.lastUse),
      },
      keys: withKeys.map(([k]) => k),
      keySessions: Uint32Array.from(withKeys, ([, s]) => s % rows.length),
      clients: rows.length > 0 ? clients.map((c) => ({ ...c, group: c.group % groups.length, session: c.session % rows.length })) : [],
    };
  });

