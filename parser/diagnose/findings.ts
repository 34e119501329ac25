import { addressesLookShared } from './clients-summary.js';
import type { ConnectionRecord } from '../report/types.js';
import type { ClientsSummary, ServerSummary } from './types.js';
import { abortEnding, abortEndingLabel } from '../report/abort-ending.js';
import { looksLikeCompatibilityId } from './compatibility-ids.js';
import { formatDuration, isoBetween, isoTime } from './format.js';
import { MIN_OFFERS_FOR_BACKENDS } from './shared-cache.js';
import { offeredKeyNameHex, OLD_TICKET_KEY_DETAIL } from './ticket-keys.js';
import { KEY_SWITCH_DETAIL, ROTATED_KEY_DETAIL } from './ticket-rotation.js';
import { wiresharkFilter } from '../session/tls-connection.js';
import { groupKeyOf } from '../session/session-table.js';

// Findings in plain words a support engineer can paste into a ticket, and what-if
// replays: the capture's offers under another policy.

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  code: string;
  severity: Severity;
  title: string;
  detail: string;
  group: string | null;
  /** Connection ids that show it (the first 50). */
  evidence: number[];
  /** How many connections show it: `evidence` lists the first 50 of them. */
  evidenceCount: number;
  wiresharkFilter: string;
}

export interface WhatIf {
  group: string;
  scenario: string;
  description: string;
  fullHandshakesAvoided: number;
  bytesSaved: number;
  roundTripsSaved: number;
}

const MAX_EVIDENCE = 50;
/** Forgetting reconnections it takes for a critical client-forgets finding. */
const MIN_CRITICAL_FORGOT = 3;

/** The session facts of a connection's offer (null: it offered nothing, or the fact is unknown). */
export interface OfferLookup {
  groupKey(c: ConnectionRecord): string | null;
  reuseGap(c: ConnectionRecord): number | null;
  age(c: ConnectionRecord): number | null;
  churn(c: ConnectionRecord): number | null;
  /** The offered session's place in its group's list by last use (SessionTable.recencyOf). */
  recency(c: ConnectionRecord): number | null;
  /** How the handshake that aborted the offered session ended: a fatal alert, a reset or a FIN (null: none). */
  abortOf(c: ConnectionRecord): 'alert' | 'rst' | 'fin' | null;
  /** The version the offered session was made under (null: unknown, or no offer). */
  sessionVersion(c: ConnectionRecord): string | null;
  /** The offered session was issued by another server address than the one offered it. */
  crossAddress(c: ConnectionRecord): boolean;
}

export function buildFindings(servers: ServerSummary[], clients: ClientsSummary, connections: ConnectionRecord[], facts: OfferLookup): { findings: Finding[]; whatIf: WhatIf[] } {
  const findings: Finding[] = [];
  const whatIf: WhatIf[] = [];
  const n = (x: number) => x.toLocaleString('en-US');
  const savings = handshakeSavings(connections);

  const byGroupAndReason = new Map<string, ConnectionRecord[]>();
  for (const c of connections) {
    if (!c.reason) continue;
    // A session offered by a TLS 1.3 handshake's legacy ID is no offer row: its own group.
    const key = `${groupOf(c, facts) ?? (c.reason === 'version-change' ? groupKeyOf(c).key : null)}\u0000${c.reason}`;
    const list = byGroupAndReason.get(key);
    if (list) list.push(c);
    else byGroupAndReason.set(key, [c]);
  }
  // Full handshakes that gave nothing to resume with, of the groups where no handshake gave anything.
  const issuingNothing = new Map<string, ConnectionRecord[]>();
  for (const server of servers) if (server.cachePolicy.issuesNoSessions.detected) issuingNothing.set(server.group, []);
  if (issuingNothing.size > 0) {
    for (const c of connections) {
      if (!c.established || c.resumed || c.version === 'TLS 1.3' || c.serverSessionId !== null || c.ticketIssued) continue;
      issuingNothing.get(groupKeyOf(c).key)?.push(c);
    }
  }
  const compatibilityByGroup: { group: string; list: ConnectionRecord[] }[] = [];
  for (const server of servers) {
    const policy = server.cachePolicy;
    const withReason = (reason: string) => byGroupAndReason.get(`${server.group}\u0000${reason}`) ?? [];
    const severityFor = (count: number): Severity => (server.offers > 0 && count / server.offers >= 0.1 ? 'critical' : count / Math.max(1, server.offers) >= 0.02 ? 'warning' : 'info');
    const add = (code: string, list: ConnectionRecord[], title: string, detail: string, severity = severityFor(list.length)) => {
      findings.push({ code, severity, title, detail, group: server.group, ...evidenceOf(list) });
    };
    // A refusal one change would avoid may still be refused by another limit the group has: a
    // session idle past the timeout gains nothing from a larger cache. Simulated TLS 1.3 farm with
    // a cache of 60 and a 300 s idle timeout: "capacity=240" claimed 491 resumptions, 361 of them
    // idle for longer than the timeout; the what-ifs summed to every refusal.
    const lru = policy.capacity.eviction === 'lru';
    const sizeLimit = policy.capacity.entries === null ? null : policy.capacity.eviction === 'partitioned' ? policy.capacity.high! - 1 : policy.capacity.entries;
    type Limit = 'idle-timeout' | 'lifetime' | 'capacity';
    const pastLimit = (c: ConnectionRecord, limit: Limit): boolean =>
      limit === 'idle-timeout' ? policy.idleTimeout.seconds !== null && (facts.reuseGap(c) ?? -Infinity) > policy.idleTimeout.seconds
        : limit === 'lifetime' ? policy.lifetime.seconds !== null && (facts.age(c) ?? -Infinity) > policy.lifetime.seconds
          : sizeLimit !== null && ((lru ? facts.recency(c) : facts.churn(c)) ?? -Infinity) > sizeLimit;
    const keptByOtherLimits = (c: ConnectionRecord, changed: Limit | null): boolean =>
      (['idle-timeout', 'lifetime', 'capacity'] as const).every((limit) => limit === changed || !pastLimit(c, limit));
    // Refusals another limit was given that are past this one as well (each refusal has one reason,
    // the limit fitted first): the finding counts them in its severity and says so, or a timeout
    // behind a small cache read as a warning for a few percent of offers when it refused 17 %.
    const limitRefusals = [...withReason('idle-timeout'), ...withReason('lifetime'), ...withReason('capacity')];
    const alsoPast = (limit: Limit): number => limitRefusals.filter((c) => c.reason !== limit && pastLimit(c, limit)).length;
    const alsoPastText = (count: number) => count > 0 ? ` ${n(count)} more ${count === 1 ? 'offer was' : 'offers were'} refused for another limit and past this one as well.` : '';
    // Refused by a backend that had not issued the session: a ticket (RFC 5077 §4) or TLS 1.3 PSK
    // carries its session, sealed with the server's ticket key, so refused elsewhere it is the keys
    // that differ, not a cache (real nginx backends with tickets behind a load balancer,
    // chromium-lb-tickets.pcap). Session IDs need a shared cache.
    const backend = withReason('other-backend');
    const backendTickets = backend.filter((c) => c.offer.ticket || c.offer.psk).length;
    const byTicket = backendTickets * 2 >= backend.length && backend.length > 0;
    const sharing = byTicket ? 'the same session ticket keys on all backends' : 'one session cache shared by all backends';
    // Backends that do not share their cache: a change to the cache of the backend that holds a
    // session helps only the offers that reached that backend. One to another address that does not
    // share its cache gains nothing; of those to an address with such backends behind it, the
    // group's sameBackendShare reached the right one. Counted whole, a farm of three backends each
    // with its own ticket keys, replaced every 5 minutes, claimed 801 handshakes for keeping the
    // replaced keys, where the simulator's truth had 291 (the others went to a backend without
    // the key); the change together with sharing gets them all, a row of its own.
    const unshared = policy.sharedCache.shared === false;
    const sameBackendShare = policy.sharedCache.sameBackendShare ?? 1;
    /** Of refusals a change to the cache of the backend holding the session avoids, how many it resumes (see replay). */
    const reachingCount = (avoided: ConnectionRecord[]): number =>
      unshared ? Math.round(avoided.filter((c) => !facts.crossAddress(c)).length * sameBackendShare) : avoided.length;
    /** "N", or "about N of …" where the backends' own caches would have refused the others anyway: as the what-if counts them. */
    const resumedText = (avoided: ConnectionRecord[], ofWhat: string | null): string => {
      const count = reachingCount(avoided);
      const of = ofWhat === null ? '' : ` of ${ofWhat}`;
      return count === avoided.length ? `${n(count)}${of}` : `${sameBackendShare < 1 ? 'about ' : ''}${n(count)}${of} (those that reached the backend holding their session; the others went to a backend that did not have it)`;
    };
    const replay = (scenario: string, description: string, refused: ConnectionRecord[], changed: Limit | null = null) => {
      const avoided = refused.filter((c) => keptByOtherLimits(c, changed));
      if (avoided.length === 0) return;
      if (!unshared || scenario === 'shared-cache') {
        const s = savings(avoided);
        whatIf.push({ group: server.group, scenario, description, fullHandshakesAvoided: avoided.length, bytesSaved: s.bytes, roundTripsSaved: s.roundTrips });
        return;
      }
      const reaching = avoided.filter((c) => !facts.crossAddress(c));
      const elsewhere = avoided.length - reaching.length;
      const count = reachingCount(avoided);
      const notes: string[] = [];
      if (sameBackendShare < 1 && reaching.length > 0) notes.push(`only for the offers that reach the backend holding their session, about ${Math.round(sameBackendShare * 100)} %`);
      if (elsewhere > 0) notes.push(`not for the ${n(elsewhere)} that went to another address, which does not share its cache`);
      if (count > 0) {
        const reached = savings(reaching);
        whatIf.push({ group: server.group, scenario, description: notes.length > 0 ? `${description} (${notes.join('; ')})` : description,
          fullHandshakesAvoided: count, bytesSaved: Math.round(reached.bytes * sameBackendShare), roundTripsSaved: Math.round(reached.roundTrips * sameBackendShare) });
      }
      // Both changes: this one's refusals and the backends', those past this limit among them. A
      // row of its own where together they save more than each alone added up.
      const together = [...avoided, ...backend.filter((c) => keptByOtherLimits(c, changed))];
      if (together.length > count + backend.filter((c) => keptByOtherLimits(c, null)).length) {
        const both = savings(together);
        whatIf.push({ group: server.group, scenario: `${scenario}+shared-cache`, description: `${description}, and ${sharing}`, fullHandshakesAvoided: together.length, bytesSaved: both.bytes, roundTripsSaved: both.roundTrips });
      }
    };

    const nothing = issuingNothing.get(server.group);
    if (nothing !== undefined && nothing.length > 0) {
      add('issues-no-sessions', nothing, `${server.group} gives clients nothing to resume with`,
        `None of its ${n(policy.issuesNoSessions.fullHandshakes)} full handshakes below TLS 1.3 carried a session ID or a session ticket: the server says it will not cache the session (an empty session ID, RFC 5246 §7.4.1.3) and sends no ticket (RFC 5077), so no client can resume and every connection pays a full handshake. nginx does this with \`ssl_session_cache off\` and \`ssl_session_tickets off\`; a shared cache (\`ssl_session_cache shared:SSL:10m\`) or tickets would let clients resume.`, 'warning');
    }
    if (policy.tls13TicketsUnseen.detected) {
      const tls13 = connections.filter((c) => c.version === 'TLS 1.3' && c.resumption === 'not-offered' && c.established && groupKeyOf(c).key === server.group);
      add('tls13-tickets-unseen', tls13, `No TLS 1.3 client offered ${server.group} a ticket`,
        `${n(policy.tls13TicketsUnseen.reconnections)} TLS 1.3 ${plural(policy.tls13TicketsUnseen.reconnections, 'reconnection')} to ${server.group} came after a full handshake with it and offered no ticket, and no client offered it one at all. A TLS 1.3 server's tickets travel encrypted (RFC 8446 §4.6.1), so the capture cannot show whether it sent any: either it sends none (OpenSSL's \`num_tickets\` set to 0, resumption turned off) and every TLS 1.3 connection pays a full handshake, or its clients keep none. Wireshark with the clients' key log (SSLKEYLOGFILE) shows the NewSessionTicket messages, if any.`, 'info');
    }
    const versionChanged = withReason('version-change');
    // TLS 1.0–1.2 sessions under another of those versions: a finding of their own (below).
    const belowTls13 = versionChanged.filter((c) => c.version !== 'TLS 1.3' && !c.offer.psk);
    if (belowTls13.length > 0) {
      const pairs = new Map<string, number>();
      for (const c of belowTls13) {
        const pair = `${facts.sessionVersion(c) ?? 'another version'} → ${c.version}`;
        pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
      }
      add('version-change', belowTls13, `${n(belowTls13.length)} ${plural(belowTls13.length, 'session')} offered to ${server.group} ${belowTls13.length === 1 ? 'was' : 'were'} refused: made under another TLS version than the handshake's`,
        `The clients offered sessions made under one version of TLS, and the server took these handshakes to another (${[...pairs].map(([pair, count]) => `${pair}: ${n(count)}`).join(', ')}). A server resumes a session only under the version it was made with, so each pays a full handshake: expected once per client after a version is turned on or off, at the server or the clients; again and again where servers behind one address differ in the versions they speak. These refusals are left out of the cache policy.`, 'info');
    }
    // TLS 1.2 sessions under TLS 1.3, TLS 1.3 sessions under TLS 1.2.
    const aroundTls13 = versionChanged.filter((c) => c.version === 'TLS 1.3' || c.offer.psk);
    if (aroundTls13.length > 0) {
      const toTls12 = aroundTls13.filter((c) => c.version !== 'TLS 1.3');
      const toTls13 = aroundTls13.filter((c) => c.version === 'TLS 1.3');
      const leftOut = 'These refusals are left out of the cache policy.';
      // Where the group has several addresses (a capture at the backends), those that answered a
      // TLS 1.3 session with TLS 1.2 are the servers to upgrade.
      const answeredTls12 = new Map<string, number>();
      for (const c of toTls12) answeredTls12.set(c.server.ip, (answeredTls12.get(c.server.ip) ?? 0) + 1);
      const where = server.addresses.length > 1 && toTls12.length > 0
        ? ` The TLS 1.2 answers came from ${[...answeredTls12].sort((a, b) => b[1] - a[1]).map(([ip, count]) => `${ip} (${n(count)})`).join(', ')}, of the group's ${n(server.addresses.length)} addresses.`
        : '';
      if (toTls12.length > 0 && toTls13.length > 0) {
        // Both ways: clients move between servers that speak TLS 1.3 and servers that do not.
        add('version-change', aroundTls13, `${n(aroundTls13.length)} ${plural(aroundTls13.length, 'session')} offered to ${server.group} ${aroundTls13.length === 1 ? 'was' : 'were'} refused for a change of TLS version, both ways`,
          `${n(toTls12.length)} TLS 1.3 ${plural(toTls12.length, 'session')} (PSK) came to handshakes answered with TLS 1.2, which cannot resume them (RFC 8446 §4.2.11), and ${n(toTls13.length)} TLS 1.2 ${plural(toTls13.length, 'session')} to handshakes taken to TLS 1.3, which resumes only its own (RFC 8446 §2.2). ${server.addresses.length > 1 ? 'Of this group\'s servers some' : 'Behind this address some servers or backends'} speak TLS 1.3 and some do not (a rolling upgrade, a backend left behind, TLS 1.3 turned off and on): each time a client moves from one kind to the other it pays a full handshake. Let every backend speak the same versions.${where} ${leftOut}`,
          severityFor(aroundTls13.length) === 'info' ? 'warning' : severityFor(aroundTls13.length));
      } else if (toTls13.length > 0) {
        // A one-off cost per client after TLS 1.3 was turned on: no cache setting changes it.
        add('version-change', toTls13, `${n(toTls13.length)} TLS 1.2 ${plural(toTls13.length, 'session')} offered to ${server.group} ${toTls13.length === 1 ? 'was' : 'were'} refused: the handshake went to TLS 1.3`,
          `The clients offered sessions made under TLS 1.2 (session tickets, or session IDs in the field TLS 1.3 keeps for them), and the server took these handshakes to TLS 1.3, which resumes only TLS 1.3 sessions (by PSK, RFC 8446 §2.2). Each client pays one full handshake and gets a TLS 1.3 ticket; its next visits resume with it. Expected once per client after TLS 1.3 comes into use, at the server or at the clients: no cache setting changes it. ${leftOut}`, 'info');
      } else {
        add('version-change', toTls12, `${n(toTls12.length)} TLS 1.3 ${plural(toTls12.length, 'session')} offered to ${server.group} ${toTls12.length === 1 ? 'was' : 'were'} refused: it answered with TLS 1.2`,
          `The clients offered TLS 1.3 sessions (PSK), and the server answered these handshakes with TLS 1.2, which cannot resume them (RFC 8446 §4.2.11). The clients got their sessions from a server speaking TLS 1.3: behind this address some servers or backends do not speak it (a rolling upgrade, a backend left behind), or TLS 1.3 was turned off. Each time a client lands on such a server it pays a full handshake: let every backend speak TLS 1.3.${where} ${leftOut}`,
          severityFor(toTls12.length) === 'info' ? 'warning' : severityFor(toTls12.length));
      }
      // Servers without TLS 1.3 beside servers with it: each move between them costs a full
      // handshake, which one setting avoids. (TLS 1.3 coming into use alone costs each client one,
      // whatever is set: no what-if.)
      // Where the group's addresses do not share their cache, a session offered to another address
      // than its issuer's would have been refused whatever the version.
      // Where the capture cannot tell whether they share it, the what-if says what it assumes.
      if (toTls12.length > 0) {
        const counted = policy.sharedCache.shared === false ? aroundTls13.filter((c) => !facts.crossAddress(c)) : aroundTls13;
        const assumesSharing = policy.sharedCache.shared === null && counted.some((c) => facts.crossAddress(c));
        replay('same-tls-versions', `every server of the group speaking TLS 1.3${assumesSharing ? ' (and sharing its session cache or ticket keys, which this capture cannot tell)' : ''}`, counted);
      }
    }
    const notKept = withReason('not-kept');
    if (notKept.length > 0 && policy.keepsNoSessions.detected) {
      const k = policy.keepsNoSessions;
      const soonest = formatDuration(k.soonest ?? 0);
      const none = `none of ${n(server.offers)} ${plural(server.offers, 'offer')} was accepted, the soonest ${soonest} after its session was issued`;
      if (k.kind === 'ticket' || k.kind === 'psk') {
        // A ticket carries its session (RFC 5077 §4; RFC 8446 §4.6.1): refusing every one means the
        // key that seals them is not the one that opens them, or resumption is off.
        add('keeps-no-sessions', notKept, `${server.group} accepts none of the ${k.kind === 'psk' ? 'TLS 1.3 tickets' : 'session tickets'} it issues`,
          `${capitalize(none)}. The tickets are sealed with a key the server does not open them with: several servers or processes behind the address, each with keys of its own (nginx and OpenSSL make random keys at every start unless given \`ssl_session_ticket_key\`), keys replaced at every connection, or ticket resumption turned off while tickets are still sent.` +
          // OpenSSL's stateful TLS 1.3 tickets (SSL_OP_NO_TICKET) are a reference into the session
          // cache: real nginx with ssl_session_tickets off and its default cache sends them, keeps none.
          (k.kind === 'psk' ? ' A TLS 1.3 ticket may also be a mere reference into the server\'s session cache (OpenSSL does so when tickets are turned off: nginx with \`ssl_session_tickets off\`): then a cache that keeps nothing, nginx\'s default \`ssl_session_cache none\` or \`off\`, refuses every one; \`ssl_session_cache shared:SSL:10m\` keeps them.' : ''));
      } else {
        add('keeps-no-sessions', notKept, `${server.group} keeps no sessions: every resumption is refused`,
          `${capitalize(none)}. The server hands out session IDs but keeps no session for them, or keeps them for less than ${soonest}. nginx does this with its default \`ssl_session_cache none\` ("tells a client that sessions may be reused, but does not actually store session data"): \`ssl_session_cache shared:SSL:10m\` keeps ~40,000 sessions; session tickets would also let clients resume.`);
      }
      replay('keep-sessions', k.kind === 'ticket' || k.kind === 'psk' ? 'tickets opened by the key that sealed them' : 'a session cache that keeps sessions', notKept);
    }
    const idle = withReason('idle-timeout');
    if (idle.length > 0 && policy.idleTimeout.seconds !== null) {
      const t = policy.idleTimeout.seconds;
      const longer = Math.max(1800, t * 2);
      const wouldResume = idle.filter((c) => gapOf(c, facts) <= longer && keptByOtherLimits(c, 'idle-timeout'));
      // The same refusals may be older than every accepted session too: then the capture cannot
      // tell an idle timeout from a lifetime (real Chromium against nginx's ssl_session_timeout,
      // which OpenSSL counts from the session's creation: chromium-nginx-timeout.pcap).
      const maxAcceptedAge = policy.lifetime.low;
      const lifetimeFits = maxAcceptedAge !== null && idle.every((c) => facts.age(c) !== null && ageOf(c, facts) > maxAcceptedAge);
      const past = alsoPast('idle-timeout');
      const kindNote = appliesToText(policy.idleTimeout.appliesTo);
      add('idle-timeout', idle, `Sessions are dropped after ${formatDuration(t)} idle on ${server.group}`,
        `${n(idle.length)} of ${n(server.offers)} offers were rejected after more than ${formatDuration(policy.idleTimeout.low!)} idle (accepted up to ${formatDuration(policy.idleTimeout.low!)}, rejected from ${formatDuration(policy.idleTimeout.high!)})${notSharp(policy.idleTimeout.exceptions)}; raising the idle timeout to ${formatDuration(longer)} would have resumed ${resumedText(wouldResume, 'them')}.${alsoPastText(past)}${kindNote}` +
        (lifetimeFits ? ` A lifetime fits them as well: each session was older than any accepted one (over ${formatDuration(maxAcceptedAge)}), and this capture cannot tell the two apart. OpenSSL-based servers, nginx among them, count the session timeout from a session's creation, not its last use; offers more often than the limit, over a longer time, would show which it is.` : '') +
        uncertain(policy.idleTimeout.confidence), tempered(severityFor(idle.length + past), policy.idleTimeout.confidence));
      replay(`idle-timeout=${longer}`, `idle timeout ${formatDuration(longer)} instead of ${formatDuration(t)}`, wouldResume, 'idle-timeout');
    }
    const life = withReason('lifetime');
    if (life.length > 0 && policy.lifetime.seconds !== null) {
      const t = policy.lifetime.seconds;
      const wouldResume = life.filter((c) => ageOf(c, facts) <= t * 2 && keptByOtherLimits(c, 'lifetime'));
      const past = alsoPast('lifetime');
      add('lifetime', life, `Sessions expire ${formatDuration(t)} after they were issued on ${server.group}`,
        `${n(life.length)} of ${n(server.offers)} offers were rejected because their session was older than the lifetime (accepted up to ${formatDuration(policy.lifetime.low!)} after the issue${policy.lifetime.high !== null ? `, rejected from ${formatDuration(policy.lifetime.high)}` : ''})${notSharp(policy.lifetime.exceptions)}; a lifetime of ${formatDuration(t * 2)} would have resumed ${resumedText(wouldResume, 'them')}.${alsoPastText(past)}${appliesToText(policy.lifetime.appliesTo)}` +
        uncertain(policy.lifetime.confidence), tempered(severityFor(life.length + past), policy.lifetime.confidence));
      replay(`lifetime=${t * 2}`, `session lifetime ${formatDuration(t * 2)} instead of ${formatDuration(t)}`, wouldResume, 'lifetime');
    }
    const capacity = withReason('capacity');
    if (capacity.length > 0 && policy.capacity.entries !== null) {
      const size = policy.capacity.entries;
      // A cache of M sessions still holds a session while its place in the queue (its churn: FIFO) or
      // in the list by last use (its recency: LRU) is ≤ M.
      const wouldResume = capacity.filter((c) => (lru ? facts.recency(c) ?? Infinity : churnOf(c, facts)) <= size * 4 && keptByOtherLimits(c, 'capacity'));
      const partitioned = policy.capacity.eviction === 'partitioned';
      const past = alsoPast('capacity');
      // Churn counts the whole group's issues; behind backends with caches of their own each holds
      // its share (simulated: two backends of 50 at a VIP gave a size of 103–118).
      const backends = policy.sharedCache.shared === false && (policy.sharedCache.backends ?? 0) >= 2 ? policy.sharedCache.backends! : null;
      const perBackend = backends === null ? '' : ` That size counts the sessions all ${n(backends)} backends issued: each backend's own cache holds about ${n(Math.round(size / backends))}.`;
      add('capacity', capacity, `The session cache of ${server.group} holds only about ${n(size)} sessions`,
        partitioned
          ? `${n(capacity.length)} of ${n(server.offers)} offers were rejected after ${n(policy.capacity.low!)} or more newer sessions had been issued. ` +
            `Sessions went anywhere from ${n(policy.capacity.low!)} to ${n(policy.capacity.high! - 1)} newer ones on, ever more of them as more came, not at one size: the cache is split into parts by session ID, each evicting its own oldest (Apache's shmcb cache does so: raise the size in SSLSessionCache). ` +
            `A cache of ${n(size * 4)} entries would have resumed ${resumedText(wouldResume, 'them')}.${alsoPastText(past)}${perBackend}${appliesToText(policy.capacity.appliesTo)}`
          : `${n(capacity.length)} of ${n(server.offers)} offers were rejected after ${n(policy.capacity.high! - 1)} or more ` +
            (lru ? 'other sessions had been used since their own last use (least recently used evicted first)'
              : policy.capacity.eviction === 'unknown' ? 'newer sessions had been issued (each session was used only when issued, so the capture cannot tell whether the oldest or the least recently used goes first)'
              : 'newer sessions had been issued (oldest evicted first)') +
            `; a cache of ${n(size * 4)} entries would have resumed ${resumedText(wouldResume, 'them')}.${alsoPastText(past)}${perBackend}${appliesToText(policy.capacity.appliesTo)}` +
          uncertain(policy.capacity.confidence), tempered(severityFor(capacity.length + past), policy.capacity.confidence));
      replay(`capacity=${size * 4}`, `cache of ${n(size * 4)} sessions instead of ${n(size)}`, wouldResume, 'capacity');
    }
    const purged = withReason('purged-after-abort');
    if (purged.length > 0) {
      // How the handshakes were ended: a reset (the IE 6/7 case) or a fatal alert (real OpenSSL
      // purges on the alert, not on a bare reset: tls12-alert-purge.pcap).
      const aborts = purged.map((c) => facts.abortOf(c)).filter((a) => a !== null);
      const how = aborts.length > 0 && aborts.every((a) => a === 'alert') ? 'ended with a fatal alert'
        : aborts.length > 0 && aborts.every((a) => a === 'rst') ? 'reset' : 'aborted';
      add('purge-on-abort', purged, `${server.group} drops a session when a handshake using it is ${how}`,
        `${n(policy.purgeOnAbort.rejectedAfterAbort)} of ${n(policy.purgeOnAbort.offersAfterAbort)} sessions offered after an aborted handshake were rejected, against ${policy.purgeOnAbort.baseRejectionRate === null ? 'no' : Math.round(policy.purgeOnAbort.baseRejectionRate * 100) + '%'} of other offers (the IE 6/7 case: the browser resets connections still in the handshake; OpenSSL drops a session whose handshake ends with a fatal alert). Keeping sessions on abort would have resumed ${resumedText(purged.filter((c) => keptByOtherLimits(c, null)), null)}${purged.some((c) => !keptByOtherLimits(c, null)) ? ' (the others were past another limit as well)' : ''}.`);
      replay('no-purge-on-abort', 'keep sessions when a handshake is aborted', purged);
    }
    if (backend.length > 0) {
      const k = policy.sharedCache.backends;
      const tickets = backendTickets;
      const mixed = tickets > 0 && tickets < backend.length ? ` (${n(tickets)} with a ticket, ${n(backend.length - tickets)} with a session ID)` : '';
      const oneAddress = server.addresses.length === 1 ? server.addresses[0]!.address : null;
      if (byTicket) {
        add('no-shared-cache', backend, `Backends of ${server.group} do not share session ticket keys${k ? ` (about ${k} backends)` : ''}`,
          `${n(backend.length)} of ${n(server.offers)} offers${mixed} reached a backend that could not open the session ticket another one had issued, and were rejected; the same ticket keys on every backend (nginx \`ssl_session_ticket_key\` files, rotated together; HAProxy \`tls-ticket-keys\`), or session-sticky balancing, would have resumed them.` +
          (oneAddress ? ` All went to one address (${oneAddress}): the backends sit behind it, behind a load balancer, each with keys of its own (nginx and OpenSSL make random ones at start unless given them).` : '') +
          uncertainBalancer(policy.sharedCache.confidence), tempered(severityFor(backend.length), policy.sharedCache.confidence));
        replay('shared-cache', sharing, backend);
      } else {
        add('no-shared-cache', backend, `Backends of ${server.group} do not share a session cache${k ? ` (about ${k} backends)` : ''}`,
          `${n(backend.length)} of ${n(server.offers)} offers${mixed} reached a backend that had not issued the session and were rejected; a shared cache (or session-sticky balancing) would have resumed ${backend.every((c) => keptByOtherLimits(c, null)) ? 'them' : `${n(backend.filter((c) => keptByOtherLimits(c, null)).length)} of them (the others were past another limit as well)`}.` +
          // One address: the backends are behind it. Real nginx with two workers and a per-worker cache looks just so.
          (oneAddress ? ` All went to one address (${oneAddress}): the backends sit behind it, behind a load balancer or as the worker processes of one server, each with a cache of its own (as nginx's \`ssl_session_cache builtin\` with several workers).` : '') +
          (policy.sharedCache.sessionChanges ? ` Clients changed session ${n(policy.sharedCache.sessionChanges)} times (${n(policy.sharedCache.clientsWithSessionChanges ?? 0)} ${plural(policy.sharedCache.clientsWithSessionChanges ?? 0, 'client')}): balancing by SSL session ID loses its stickiness at each change.` : '') +
          uncertainBalancer(policy.sharedCache.confidence), tempered(severityFor(backend.length), policy.sharedCache.confidence));
        replay('shared-cache', sharing, backend);
      }
    }
    const flushed = withReason('flush');
    // Refused under a key the group kept replacing (ticket-rotation.ts): a finding of their own.
    const rotated = flushed.filter((c) => (c.reasonDetail?.includes(ROTATED_KEY_DETAIL) || c.reasonDetail?.includes(KEY_SWITCH_DETAIL)) ?? false);
    const switching = rotated.filter((c) => c.reasonDetail!.includes(KEY_SWITCH_DETAIL)).length;
    const rotation = policy.tickets.rotation ?? null;
    if (rotated.length > 0 && rotation !== null) {
      const open = rotation.keysOpen === 1 ? 'its newest key only' : `its ${n(rotation.keysOpen)} newest keys`;
      const lifetime = policy.tickets.lifetimeHint;
      add('ticket-key-rotation', rotated, `${server.group} replaces its session ticket keys about every ${formatDuration(rotation.every)} and refuses tickets under the replaced ones`,
        `${n(rotated.length)} of ${n(server.offers)} offers were tickets sealed under a key it had replaced${switching > 0 ? ' or, while its servers switched, not yet taken everywhere' : ''} (by their key names, RFC 5077 §4: ${n(rotation.keys)} keys in the capture, ${n(rotation.keysReplaced)} seen replaced); it opened tickets under ${open}, so a ticket lives at most ${formatDuration(rotation.every * rotation.keysOpen)}, ` +
        (lifetime !== null && lifetime > rotation.every * rotation.keysOpen ? `less than the ${formatDuration(lifetime)} its lifetime hint promises. ` : 'however long the session could be kept. ') +
        (switching > 0
          ? `${n(switching)} of them came while its servers switched from one key to the next one after another (up to ${formatDuration(rotation.switchSpread)} apart): a server already on the new key refused tickets under the old one, and a server not yet on it refused tickets under the new one, each opened by the others meanwhile. Give every server the new key for opening first, and only then let them seal with it. `
          : '') +
        'Keep replaced keys for opening tickets (decryption only) for as long as a ticket should live: nginx takes several `ssl_session_ticket_key` files, the first one sealing new tickets and all of them opening; a rotation script should add the new key in front and drop the oldest, not replace them all.' +
        // Backends with keys of their own besides: keeping the replaced ones helps where a ticket
        // reached the backend that sealed it (the what-ifs count it so).
        (unshared && reachingCount(rotated.filter((c) => keptByOtherLimits(c, null))) < rotated.length
          ? ` The backends behind ${server.group} also keep keys of their own: kept replaced keys would open only the tickets that reach the backend that sealed them (${sameBackendShare < 1 ? 'about ' : ''}${n(reachingCount(rotated.filter((c) => keptByOtherLimits(c, null))))} of the ${n(rotated.length)}); with the same keys on every backend as well, all of them.`
          : ''));
      replay('keep-replaced-ticket-keys', 'replaced ticket keys kept for opening tickets', rotated);
    }
    // Refused for a key the server no longer holds (not a moment's flush): a finding of their own.
    const rotatedIds = new Set(rotated.map((c) => c.id));
    const oldKey = flushed.filter((c) => !rotatedIds.has(c.id) && (c.reasonDetail?.includes(OLD_TICKET_KEY_DETAIL) ?? false));
    const oldKeyIds = new Set(oldKey.map((c) => c.id));
    const atMoments = oldKey.length === 0 && rotated.length === 0 ? flushed : flushed.filter((c) => !oldKeyIds.has(c.id) && !rotatedIds.has(c.id));
    for (const f of policy.flushes) {
      const list = atMoments.filter((c) => f.evidence.includes(c.id) || ((c.clientHelloTime ?? 0) >= f.time && (c.clientHelloTime ?? 0) - gapOf(c, facts) < f.time));
      const lost = `${n(f.sessionsLost)} ${plural(f.sessionsLost, 'session')} lost`;
      const tickets = list.filter((c) => c.offer.ticket || c.offer.psk).length;
      if (list.length > 0 && tickets === list.length) {
        // Only tickets refused: no cache was involved; the key that opens them changed (real nginx
        // restarted with a new ssl_session_ticket_key, nginx-ticket-key-rotation.pcap).
        add('flush', list, `The session ticket keys of ${server.group} changed ${isoBetween(f.low, f.time)}`,
          `Every ticket issued by ${isoTime(f.low)} and offered from ${isoTime(f.time)} on was refused: ${lost}. A restart or reload without fixed keys (nginx makes random ones unless given \`ssl_session_ticket_key\`), or a rotation that dropped the previous key: keep it for opening tickets for one ticket lifetime.`, 'warning');
      } else {
        add('flush', list, `The session cache of ${server.group} was emptied ${isoBetween(f.low, f.time)}`,
          `Every session last used by ${isoTime(f.low)} and offered from ${isoTime(f.time)} on was rejected: ${lost}. Look for a restart, reload or ticket-key rotation at that moment (nginx keeps a \`shared\` cache across reloads, not a \`builtin\` one).`, 'warning');
      }
    }
    if (oldKey.length > 0) {
      // Tickets from before the capture whose key the server's own tickets never name (real nginx
      // restarted with a new ssl_session_ticket_key: nginx-ticket-key-before-capture.pcap).
      const names = new Set(oldKey.map(offeredKeyNameHex));
      add('old-ticket-key', oldKey, `${n(oldKey.length)} ${plural(oldKey.length, 'ticket')} sealed under a key that ${server.group} no longer uses ${oldKey.length === 1 ? 'was' : 'were'} refused`,
        `Clients got them before the capture began, under ${names.size === 1 ? 'the key named' : `${n(names.size)} keys named`} ${[...names].slice(0, 3).join(', ')}${names.size > 3 ? ', …' : ''}; every ticket the server issued or accepted in the capture names another (RFC 5077 §4: a ticket begins with the name of its key). The key was replaced before the capture (a restart or reload without fixed keys: nginx makes random ones unless given \`ssl_session_ticket_key\`; a rotation that dropped the previous key) or is another server's (backends behind a load balancer, each with keys of its own: give them the same keys). Keep the previous key for opening tickets for one ticket lifetime (nginx: list it after the current one).`);
    }
    // The rotation's refusals are keep-replaced-ticket-keys' replay: counted once, not in both.
    const notRotated = rotated.length > 0 && rotation !== null ? flushed.filter((c) => !rotatedIds.has(c.id)) : flushed;
    if (notRotated.length > 0) replay('no-flush', rotated.length > 0 && rotation !== null ? 'no cache flush or key change besides the rotation' : 'no cache flush or key rotation', notRotated);
    const unknown = withReason('issued-before-capture');
    const compatibility = unknown.filter(looksLikeCompatibilityId);
    const before = unknown.filter((c) => !looksLikeCompatibilityId(c));
    if (compatibility.length > 0) compatibilityByGroup.push({ group: server.group, list: compatibility });
    if (before.length > 0) {
      add('issued-before-capture', before, `${n(before.length)} rejected ${plural(before.length, 'offer')} on ${server.group} ${before.length === 1 ? 'is for a session' : 'are for sessions'} issued before the capture began`,
        'Their history is not in the capture, so their idle time and age are unknown. A longer capture (or one that starts earlier) would tell why they were rejected.' +
          lostHandshakesText(connections.filter((c) => c.handshake === 'incomplete' && c.serverHelloTime === null && c.anomalies.some((a) => a.kind === 'gap') && groupKeyOf(c).key === server.group).length), 'info');
    }
    const unexplained = withReason('unexplained');
    if (unexplained.length > 0) {
      add('unexplained', unexplained, `${n(unexplained.length)} ${plural(unexplained.length, 'rejection')} on ${server.group} ${unexplained.length === 1 ? 'fits' : 'fit'} no inferred cause`,
        `No idle timeout, lifetime, cache size, abort, flush or backend change inferred from this capture explains ${unexplained.length === 1 ? 'it. Look at this connection' : 'them. Look at these connections one by one'}.` +
        // A small capture cannot show a pattern; say what the usual cause would look like.
        (server.offers < MIN_OFFERS_FOR_BACKENDS ? ` With ${n(server.offers)} ${plural(server.offers, 'offer')}, too few to tell a pattern: backends without a shared cache or shared ticket keys show as a steady share of refusals over at least ${MIN_OFFERS_FOR_BACKENDS} offers; a longer capture would tell.` : ''), 'warning');
    }
  }

  // TLS 1.3 random session IDs answered with TLS 1.2: a finding for one group; for several (a capture
  // at a browser reaches many servers: the shared set's tls-handshake.pcapng gave six findings of one
  // connection each, crowding the summary's top five), one finding naming them.
  if (compatibilityByGroup.length > 0) {
    const one = compatibilityByGroup.length === 1 ? compatibilityByGroup[0]!.group : null;
    const list = compatibilityByGroup.flatMap((g) => g.list).sort((a, b) => a.id - b.id);
    const names = compatibilityByGroup.map((g) => g.group);
    const servers = one ?? `these servers (${names.slice(0, 5).join(', ')}${names.length > 5 ? `, and ${n(names.length - 5)} more` : ''})`;
    findings.push({
      code: 'tls13-compatibility-id', severity: 'info',
      title: `${n(list.length)} ${plural(list.length, 'connection')} to ${one ?? `${n(names.length)} servers`} carried the random session ID of TLS 1.3's compatibility mode, not a resumption`,
      detail: `These clients offer TLS 1.3, which fills the session ID with 32 random bytes (RFC 8446 §4.1.2); the server answered with TLS 1.2 and did not know the ID, so by TLS 1.2's rules they are refused offers. Most likely first connections: they say nothing about the session cache. ${enableTls13Advice(compatibilityByGroup, connections, servers)}`,
      group: one, ...evidenceOf(list),
    });
  }

  const forgot = connections.filter((c) => c.reason === 'client-forgot');
  if (forgot.length > 0) {
    const worst = clients.stacks.filter((s) => s.forgot > 0).sort((a, b) => (b.forgetShare ?? 0) - (a.forgetShare ?? 0))[0];
    // Critical takes a pattern, not one connection: a browser that opens one connection from a
    // separate cache partition looks like this once (real Chromium capture, tls3.pcapng of the
    // shared set: one of five reconnections).
    const share = forgot.length / Math.max(1, clients.reconnections);
    // A client behind a shared address (NAT, a proxy) that connects for the first time looks like
    // the address's client forgetting the session it got last; the network tells them apart only when
    // an earlier client resumes its own session later. Where the capture shows that for several
    // addresses, part of the forgetting may be first visits.
    const { seen, several } = clients.sharedAddresses;
    const sharedAddresses = addressesLookShared({ clients: seen, several });
    findings.push({
      code: 'client-forgets', severity: share >= 0.1 && forgot.length >= MIN_CRITICAL_FORGOT && !sharedAddresses ? 'critical' : 'warning',
      title: sharedAddresses ? 'Clients forget sessions the server would still resume, or share their addresses with other clients' : 'Clients forget sessions the server would still resume',
      detail: `${n(forgot.length)} of ${n(clients.reconnections)} reconnections offered nothing (or an older session) although the client held a session the server was still accepting${worst ? `; the TLS stack with ClientHello fingerprint ${worst.fingerprint} forgets in ${Math.round((worst.forgetShare ?? 0) * 100)}% of its reconnections` : ''}. The client's own session cache is being purged (Windows XP purges it a few minutes after boot); a browser also keeps separate caches per site partition and for requests without cookies, which looks the same from the network.${sharedAddresses ? ` Not certain: ${n(several)} of ${n(seen)} clients (an address and TLS stack) were found to be several clients behind one address (NAT, a proxy), and a further client's first connection from such an address looks the same as forgetting; a longer capture tells more of them apart.` : ''}`,
      group: null, ...evidenceOf(forgot),
    });
  }
  for (const stack of clients.stacks) {
    if (!stack.neverOffers) continue;
    const list = connections.filter((c) => c.clientFingerprint === stack.fingerprint);
    findings.push({
      code: 'client-never-offers', severity: 'info', title: `TLS stack ${stack.fingerprint} never offers a session`,
      detail: `${n(stack.reconnections)} reconnections from ${n(stack.clients)} clients with this ClientHello fingerprint never offered a session ID, ticket or PSK: every one is a full handshake. Either this stack keeps no sessions, or each of these addresses hides several clients (NAT, a proxy) that connected once each: the network cannot tell the two apart.`,
      group: null, ...evidenceOf(list),
    });
  }

  const aborted = connections.filter((c) => c.abort !== null);
  if (aborted.length > 0) {
    const afterServerHello = aborted.filter((c) => c.abort!.stage === 'after-server-hello' && c.abort!.by === 'client' && abortEnding(c) === 'rst');
    const main = afterServerHello.length >= aborted.length / 2 ? afterServerHello : aborted;
    // A fatal alert at either end of a full handshake names who refused whose certificate, most
    // often; a resumed one sends none (a client's alert there is no certificate's: alert-client.mjs).
    const refusal = (c: ConnectionRecord, stage: string, by: string): boolean => c.abort!.stage === stage && c.abort!.by === by && c.resumedBy === null && abortEnding(c) === 'alert';
    const refusedByServer = aborted.filter((c) => refusal(c, 'after-client-finished', 'server'));
    const refusedByClient = aborted.filter((c) => refusal(c, 'after-server-hello', 'client'));
    const refusals = [
      refusedByClient.length > 0 ? `${n(refusedByClient.length)} ${refusedByClient.length === 1 ? 'was' : 'were'} refused by the client with a fatal alert after the ServerHello (a server certificate it does not trust, most often). ` : '',
      refusedByServer.length > 0 ? `${n(refusedByServer.length)} ${refusedByServer.length === 1 ? 'was' : 'were'} refused by the server with a fatal alert after the client's Finished (a client certificate it does not accept, or none where one is required, most often): no session is issued to such a client. ` : '',
    ].join('');
    findings.push({
      code: 'aborted-handshakes', severity: aborted.length / connections.length >= 0.05 ? 'warning' : 'info',
      title: `${n(aborted.length)} ${plural(aborted.length, 'handshake')} ${aborted.length === 1 ? 'was' : 'were'} aborted`,
      detail: `${afterServerHello.length > 0 ? `${n(afterServerHello.length)} ${afterServerHello.length === 1 ? 'was' : 'were'} reset by the client right after the ServerHello (browsers that navigate away mid-load do this; some servers then drop the session). ` : ''}${refusals}By stage: ${stageCounts(aborted)}.`,
      group: null, ...evidenceOf(main),
    });
  }
  const order: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
  // The most connections first within a severity (by the whole count: the 50 listed tied every large
  // finding, so the first one built led the summary and the "Main finding", even one a third the size).
  findings.sort((a, b) => order[a.severity] - order[b.severity] || b.evidenceCount - a.evidenceCount);
  whatIf.sort((a, b) => b.fullHandshakesAvoided - a.fullHandshakesAvoided);
  return { findings, whatIf };
}

/**
 * Offers on the wrong side of an inferred limit (accepted beyond it, refused within it), said next
 * to it: the single value is then an estimate (its confidence drops), not a proven boundary.
 */
/** Below this confidence an inferred limit is a lead, not a finding to act on at once: at most a warning. */
export const MIN_CRITICAL_CONFIDENCE = 0.5;

/**
 * The severity of a limit's finding, held down while its estimate is uncertain: a short capture
 * (a five-minute slice of a farm) showed "critical: sessions are dropped after 22s idle" at
 * confidence 0.08, where the server kept them an hour.
 */
function tempered(severity: Severity, confidence: number): Severity {
  return severity === 'critical' && confidence < MIN_CRITICAL_CONFIDENCE ? 'warning' : severity;
}

function uncertain(confidence: number): string {
  return confidence < MIN_CRITICAL_CONFIDENCE
    ? ` The estimate is uncertain (confidence ${confidence.toFixed(2)}: few offers near the limit, or some on its wrong side); a longer capture would confirm it or show another cause.`
    : '';
}

/**
 * The same for backends without a shared cache: a capture of 19 offers of one server with an idle
 * timeout gave "critical: backends do not share a session cache (about 2 backends)" at 0.33.
 */
function uncertainBalancer(confidence: number): string {
  return confidence < MIN_CRITICAL_CONFIDENCE
    ? ` The inference is uncertain (confidence ${confidence.toFixed(2)}: few refusals, which another cause may explain too); a longer capture would confirm it.`
    : '';
}

function notSharp(exceptions: number): string {
  if (exceptions <= 0) return '';
  return `; ${exceptions === 1 ? 'one offer does' : `${exceptions.toLocaleString('en-US')} offers do`} not fit that boundary (accepted beyond it or refused within it), so the limit is not sharp: a server that counts whole seconds (OpenSSL), or servers set differently behind one name`;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

function stageCounts(list: ConnectionRecord[]): string {
  const counts = new Map<string, number>();
  for (const c of list) {
    const key = `${c.abort!.stage} (${c.abort!.by} ${abortEndingLabel(abortEnding(c)!)})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
}

function groupOf(c: ConnectionRecord, facts: OfferLookup): string | null {
  return facts.groupKey(c);
}
function gapOf(c: ConnectionRecord, facts: OfferLookup): number {
  return facts.reuseGap(c) ?? Infinity;
}
function ageOf(c: ConnectionRecord, facts: OfferLookup): number {
  return facts.age(c) ?? Infinity;
}
function churnOf(c: ConnectionRecord, facts: OfferLookup): number {
  return facts.churn(c) ?? Infinity;
}

/** handshakeSavings' key for the mean over every version. */
const ALL_VERSIONS = '*';

/**
 * Bytes and round trips resuming would have saved the avoided full handshakes: each one's own
 * fullHandshakeOnlyBytes (its certificates and key exchange). One the capture did not show whole
 * (aborted, cut by the snap length) counts its version's mean over the capture's full handshakes.
 * Before, the mean full handshake less the mean resumed one: where nothing was resumed (a server
 * keeping no sessions, a rollout refusing every offer) that saved 0 bytes.
 */
function handshakeSavings(connections: ConnectionRecord[]): (avoided: ConnectionRecord[]) => { bytes: number; roundTrips: number } {
  const sums = new Map<string | null, { bytes: number; count: number }>();
  for (const c of connections) {
    const bytes = c.fullHandshakeOnlyBytes;
    if (bytes === null || c.resumed) continue;
    for (const key of [c.version, ALL_VERSIONS]) {
      const sum = sums.get(key);
      if (sum === undefined) sums.set(key, { bytes, count: 1 });
      else {
        sum.bytes += bytes;
        sum.count++;
      }
    }
  }
  const meanOf = (version: string | null): number => {
    const sum = sums.get(version) ?? sums.get(ALL_VERSIONS);
    return sum === undefined ? 0 : sum.bytes / sum.count;
  };
  return (avoided) => ({
    bytes: Math.round(avoided.reduce((total, c) => total + (c.fullHandshakeOnlyBytes ?? meanOf(c.version)), 0)),
    // RFC 5246 §7.3: the abbreviated handshake takes one round trip less; TLS 1.3 PSK saves none (no 0-RTT here).
    roundTrips: avoided.filter((c) => c.version !== 'TLS 1.3').length,
  });
}

/** A finding's connections: the first MAX_EVIDENCE listed, how many there are, and a filter for those listed. */
function evidenceOf(list: ConnectionRecord[]): Pick<Finding, 'evidence' | 'evidenceCount' | 'wiresharkFilter'> {
  return { evidence: list.slice(0, MAX_EVIDENCE).map((c) => c.id), evidenceCount: list.length, wiresharkFilter: filterFor(list) };
}

/** A display filter for the finding's evidence, up to MAX_EVIDENCE connections (50 address pairs: Wireshark takes it). */
export function filterFor(list: ConnectionRecord[]): string {
  // The connections "Show N connections" lists (the evidence): a filter of fewer copied a subset silently.
  return list.slice(0, MAX_EVIDENCE).map((c) => `(${wiresharkFilter(c.client, c.server)})`).join(' || ');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Where a group's session IDs and tickets were fitted apart (fitLimitsByKind): which the limit was found for. */
function appliesToText(appliesTo: 'session-ids' | 'tickets' | undefined): string {
  if (appliesTo === undefined) return '';
  return appliesTo === 'session-ids'
    ? ' Found for session IDs (the server\'s session cache); its tickets, fitted apart, do not show this limit.'
    : ' Found for tickets (TLS 1.2 tickets and TLS 1.3 PSKs); its session IDs, fitted apart, do not show this limit.';
}

/**
 * Handshakes whose ServerHello the capture lost (segments missing): a session issued in one of them
 * is offered later as one never seen, the same as one issued before the capture (a reviewer's 5 %
 * random loss gave 4 such "issued before the capture").
 */
function lostHandshakesText(count: number): string {
  if (count === 0) return '';
  return ` The capture also lost the server's hello in ${count.toLocaleString('en-US')} ${count === 1 ? 'handshake' : 'handshakes'} with this group (segments missing): sessions issued there look the same.`;
}

/**
 * What would make TLS 1.3 clients' compatibility IDs TLS 1.3 handshakes. A group that answers other
 * connections with TLS 1.3 already has servers of both kinds (a rollout half done, a backend left
 * behind): those that answered TLS 1.2 are the ones to change, named by address where one group has them.
 */
function enableTls13Advice(byGroup: readonly { group: string; list: ConnectionRecord[] }[], connections: readonly ConnectionRecord[], servers: string): string {
  const answersTls13 = new Set<string>();
  for (const c of connections) if (c.version === 'TLS 1.3') answersTls13.add(groupKeyOf(c).key);
  const partly = byGroup.filter((g) => answersTls13.has(g.group));
  if (partly.length === 0) return `Enabling TLS 1.3 on ${servers} would make them TLS 1.3 handshakes.`;
  if (byGroup.length === 1) {
    const addresses = [...new Set(byGroup[0]!.list.map((c) => c.server.ip))];
    const named = `${addresses.slice(0, 5).join(', ')}${addresses.length > 5 ? `, and ${(addresses.length - 5).toLocaleString('en-US')} more` : ''}`;
    return `${byGroup[0]!.group} answers other connections with TLS 1.3 already: enabling it on the ${plural(addresses.length, 'server')} that answered these (${named}) would make them TLS 1.3 handshakes.`;
  }
  return `Enabling TLS 1.3 on ${servers} would make them TLS 1.3 handshakes; ${partly.length === 1 ? `${partly[0]!.group} answers` : `${partly.length.toLocaleString('en-US')} of them answer`} other connections with TLS 1.3 already: some of ${partly.length === 1 ? 'its' : 'their'} servers do not speak it.`;
}
