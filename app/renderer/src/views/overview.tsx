import { useState } from 'react';
import type { CachePolicy, ServerSummary } from '../../../../parser/diagnose/types.js';
import type { Estimate } from '../../../../parser/diagnose/threshold.js';
import type { Finding } from '../../../../parser/diagnose/findings.js';
import { OUTCOMES } from '../../../../parser/report/report-model.js';
import { describeEncapsulation } from '../../../../parser/report/document.js';
import { abortEndingLabel } from '../../../../parser/report/abort-ending.js';
import { formatBytes, formatCount, formatDuration, formatPercent, formatTime } from '../data/format.js';
import { OUTCOME_HELP, OUTCOME_LABEL, reasonLabel, SEVERITY_LABEL, STAGE_LABEL } from '../data/labels.js';
import { copyText } from '../data/host.js';
import { EmptyState, Section, Swatch, TextWithCode, TextWithTimes, useView } from './common.js';

const MAX_POLICY_CARDS = 12;

export function OverviewView() {
  const { model } = useView();
  const o = model.overview;
  const t = o.totals;
  if (t.connections === 0) return <NoTls />;
  return (
    <div className="view overview" data-testid="view-overview">
      <Headline />
      <CaptureDamageNote />
      <CaptureClockNote />
      <CaptureLossNote />
      <div className="kpis" data-testid="kpis">
        <Kpi id="connections" label="TLS connections" value={formatCount(t.connections)} />
        <Kpi id="offers" label="Resumption offers" value={formatCount(t.offers)} />
        <Kpi id="accepted" label="Accepted" value={formatCount(t.accepted)} tone="good" />
        <Kpi id="rejected" label="Rejected" value={formatCount(t.rejected)} tone={t.rejected > 0 ? 'bad' : undefined}
          // The headline counts the rejected without TLS 1.3 random session IDs: the tile says how many it holds.
          note={o.compatibilityIds > 0 ? `${formatCount(o.compatibilityIds)} of them TLS 1.3 random ID${o.compatibilityIds === 1 ? '' : 's'}` : undefined}
          hint={o.compatibilityIds > 0 ? `rejected offers, with ${formatCount(o.compatibilityIds)} TLS 1.3 random session ID${o.compatibilityIds === 1 ? '' : 's'} (most likely no offer; the headline and the rate leave them out)` : undefined} />
        <Kpi id="aborted" label="Aborted handshakes" value={formatCount(t.aborted)} tone={t.aborted > 0 ? 'warn' : undefined} />
        <Kpi id="rate" label="Resumption rate" value={formatPercent(o.resumptionRate)} hint={rateHint(o.compatibilityIds)} />
      </div>
      <div className="columns">
        <Section title="Findings" testId="findings">
          {model.findings.length === 0 ? <p className="muted">No problem found: every offered session was accepted, or there were too few offers to tell.</p> : (
            <ol className="findings">{model.findings.map((f, i) => <FindingItem key={i} finding={f} />)}</ol>
          )}
        </Section>
        <div className="stack">
          <OutcomeBreakdown />
          <AbortBreakdown />
          <WhatWouldHelp />
        </div>
      </div>
      <Section title="Inferred cache policy" testId="cache-policy">
        <p className="muted small">What the servers' session caches must be doing for the traffic to look like this. Confidence is 0–1; each value says which observations back it.</p>
        <div className="policy-grid">
          {model.servers.filter(showsPolicy).slice(0, MAX_POLICY_CARDS).map((s) => <PolicyCard key={s.group} server={s} />)}
          {model.servers.every((s) => !showsPolicy(s)) ? (
            <p className="muted">
              {model.overview.totals.offers === 0 && (model.overview.totals.offerUnknown ?? 0) > 0
                ? 'No offer was seen (a ClientHello not captured whole hides what it offered), so nothing can be said about the cache.'
                : 'No client offered a session, so nothing can be said about the cache.'}
            </p>
          ) : null}
        </div>
      </Section>
      <CapturesTable />
    </div>
  );
}

/** What the rate divides (the TLS 1.3 random session IDs it leaves out, when there are). */
function rateHint(compatibilityIds: number): string {
  if (!(compatibilityIds > 0)) return 'accepted ÷ answered offers';
  return `accepted ÷ answered offers, without ${formatCount(compatibilityIds)} TLS 1.3 random session ID${compatibilityIds === 1 ? '' : 's'} (most likely no offer)`;
}

function Headline() {
  const { model } = useView();
  const t = model.overview.totals;
  const top = model.findings.find((f) => f.severity !== 'info') ?? model.findings[0];
  const rate = model.overview.resumptionRate;
  // A TLS 1.3 client's random session ID, answered by TLS 1.2, is a refused offer by the rules
  // but most likely a first visit: the rate and this sentence leave them out, and say so.
  const compatibilityIds = model.overview.compatibilityIds ?? 0;
  const answered = t.accepted + t.rejected - compatibilityIds;
  const unknown = t.offerUnknown ?? 0;
  // Reports and state files written before the count existed have none.
  const cutHellos = t.offerCut ?? 0;
  // Every connection's offer unknown, all by the snap length: the headline's first sentence says so.
  const allHellosCut = unknown === t.connections && cutHellos === unknown;
  const rejected = t.rejected - compatibilityIds;
  const left = compatibilityIds > 0
    ? ` ${formatCount(compatibilityIds)} more ${compatibilityIds === 1 ? 'was' : 'were'} only a TLS 1.3 client's random session ID, most likely a first visit rather than an offer.`
    : '';
  return (
    <p className="headline" data-testid="headline">
      {answered > 0
        ? `${formatPercent(rate)} of ${formatCount(answered)} answered resumption offer${answered === 1 ? ' was' : 's were'} accepted; ${formatCount(rejected)} ${rejected === 1 ? 'was' : 'were'} rejected and paid a full handshake.${left}`
        : compatibilityIds > 0
          ? `No real resumption offer: ${formatCount(compatibilityIds)} TLS 1.3 random session ID${compatibilityIds === 1 ? '' : 's'} answered by TLS 1.2, most likely first visits.`
        : t.offers > 0
          ? `${formatCount(t.offers)} resumption offer${t.offers === 1 ? '' : 's'}, none answered in the capture: nothing to tell about the session cache.`
        : t.complete + t.aborted === 0
          // Not one handshake seen through (cut ClientHellos, hellos only): nothing to say about offers.
          ? `${formatCount(t.connections)} TLS ${t.connections === 1 ? 'connection, not seen through its handshake' : 'connections, none seen through its handshake'}: no resumption offer seen.`
          : allHellosCut
            ? `${formatCount(t.connections)} TLS ${t.connections === 1 ? 'connection, its ClientHello' : 'connections, their ClientHellos'} cut by the snap length: whether ${t.connections === 1 ? 'it' : 'they'} offered a session is unknown (capture again with tcpdump -s 0).`
          : unknown === t.connections
            ? `${formatCount(t.connections)} TLS ${t.connections === 1 ? 'connection, its ClientHello not captured' : 'connections, none with its ClientHello captured'}: no resumption offer seen.`
            : `${formatCount(t.connections)} TLS ${t.connections === 1 ? 'connection' : 'connections'}; no client offered a session to resume, so every handshake seen was a full one.`}
      {unknown > 0 && t.complete + t.aborted > 0 && !allHellosCut ? ` The ClientHello of ${formatCount(unknown)} connection${unknown === 1 ? ' was' : 's was'} not captured whole: whether ${unknown === 1 ? 'it' : 'they'} offered a session is unknown${cutHellos > 0 ? ` (${cutHellos === unknown ? 'cut' : `${formatCount(cutHellos)} cut`} by the snap length: capture again with tcpdump -s 0)` : ''}.` : null}
      {top ? <> <strong>Main finding:</strong> {top.title}.</> : null}
    </p>
  );
}

function Kpi({ id, label, value, tone, hint, note }: { id: string; label: string; value: string; tone?: 'good' | 'bad' | 'warn'; hint?: string; note?: string }) {
  return (
    <div className={`kpi${tone ? ' kpi-' + tone : ''}`} data-testid={`kpi-${id}`} title={hint}>
      <div className="kpi-value" data-testid={`kpi-${id}-value`}>{value}</div>
      <div className="kpi-label">{label}</div>
      {note ? <div className="kpi-note" data-testid={`kpi-${id}-note`}>{note}</div> : null}
    </div>
  );
}

/**
 * Findings whose connections are exactly one reason's in their group: past the 50 connections a
 * finding names, the table shows them all by that reason (the link stopped at the first 50 of 64).
 */
const FINDING_REASON: Record<string, string> = {
  'idle-timeout': 'idle-timeout', lifetime: 'lifetime', capacity: 'capacity',
  'purge-on-abort': 'purged-after-abort', 'no-shared-cache': 'other-backend', unexplained: 'unexplained',
};

function FindingItem({ finding }: { finding: Finding }) {
  const { model, showConnections } = useView();
  const [copied, setCopied] = useState(false);
  const reason = FINDING_REASON[finding.code];
  const server = finding.group === null ? undefined : model.servers.find((s) => s.group === finding.group);
  const all = reason === undefined || server === undefined ? 0 : (server.reasons as Record<string, number | undefined>)[reason] ?? 0;
  return (
    <li className={`finding severity-${finding.severity}`} data-testid="finding">
      <div className="finding-head">
        <span className={`badge badge-${finding.severity}`}>{SEVERITY_LABEL[finding.severity] ?? finding.severity}</span>
        <h3><TextWithTimes text={finding.title} /></h3>
      </div>
      <p><TextWithCode text={finding.detail} /></p>
      <div className="finding-actions">
        {finding.evidence.length > 0 ? (
          <button type="button" className="link" data-testid="finding-show-evidence" onClick={() => showConnections({ ids: finding.evidence })}>
            Show {finding.evidenceCount > finding.evidence.length ? `the first ${finding.evidence.length} of ${formatCount(finding.evidenceCount)}` : formatCount(finding.evidence.length)} connection{finding.evidenceCount === 1 ? '' : 's'}
          </button>
        ) : null}
        {all > finding.evidence.length ? (
          <button type="button" className="link" data-testid="finding-show-all" onClick={() => showConnections({ reason, server: finding.group! })}>
            Show all {formatCount(all)} ({reasonLabel(reason)} on {finding.group})
          </button>
        ) : null}
        {finding.wiresharkFilter ? (
          <button type="button" className="link" onClick={() => void copyText(finding.wiresharkFilter).then(setCopied)}>
            {copied ? 'Copied' : 'Copy Wireshark filter'}
          </button>
        ) : null}
      </div>
    </li>
  );
}

function OutcomeBreakdown() {
  const { model, palette, showConnections } = useView();
  const o = model.overview;
  const total = Math.max(1, o.totals.connections);
  // Offers answered in handshakes that did not finish: in Accepted/Rejected, not in resumed/rejected here.
  const unfinished = o.totals.accepted + o.totals.rejected - o.outcomes.resumed - o.outcomes.rejected;
  return (
    <Section title="Handshakes by outcome" testId="outcomes">
      <div className="bar-100" role="img" aria-label="share of connections per outcome">
        {OUTCOMES.map((k) => o.outcomes[k] > 0 ? <span key={k} style={{ width: `${(100 * o.outcomes[k]) / total}%`, background: palette.outcome[k] }} /> : null)}
      </div>
      <table className="plain">
        <tbody>
          {OUTCOMES.map((k) => (
            <tr key={k} title={OUTCOME_HELP[k]}>
              <td><Swatch color={palette.outcome[k]} /> <button type="button" className="link" onClick={() => showConnections({ outcome: k })}>{OUTCOME_LABEL[k]}</button></td>
              <td className="num" data-testid={`outcome-${k}`}>{formatCount(o.outcomes[k])}</td>
              <td className="num muted">{formatPercent(o.outcomes[k] / total, 1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {unfinished > 0 ? (
        <p className="small muted" data-testid="outcomes-unfinished">
          {formatCount(unfinished)} answered offer{unfinished === 1 ? ' is' : 's are'} counted here as aborted or incomplete, {unfinished === 1 ? 'its' : 'their'} handshake not finished; the Accepted and Rejected figures above count every answered offer.
        </p>
      ) : null}
      {o.reasons.length > 0 ? (
        <>
          <h3 className="subhead" title="Rejected offers by cause, and reconnections that offered nothing (or an older session) while the client held one the server would have resumed">Why resumption failed</h3>
          <table className="plain">
            <tbody>
              {o.reasons.map((r) => (
                <tr key={r.reason}>
                  <td><button type="button" className="link" onClick={() => showConnections({ reason: r.reason })}>{reasonLabel(r.reason)}</button></td>
                  <td className="num" data-testid={`reason-${r.reason}`}>{formatCount(r.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </Section>
  );
}

const MAX_WHAT_IF_ROWS = 6;

/** The diagnosis's what-ifs: each change replayed alone on the capture's offers, the most saving first. */
function WhatWouldHelp() {
  const { model } = useView();
  const rows = [...model.whatIf].sort((a, b) => b.fullHandshakesAvoided - a.fullHandshakesAvoided);
  if (rows.length === 0) return null;
  const several = new Set(rows.map((w) => w.group)).size > 1;
  return (
    <Section title="What would have helped" testId="what-if">
      <p className="muted small">Each change replayed alone on this capture's offers (where backends do not share their cache, also together with sharing it): the full handshakes it would have avoided, and what they cost beyond a resumption.</p>
      <table className="plain">
        <thead><tr><th>Change</th><th className="num" title="full handshakes avoided">Avoided</th><th className="num" title="bytes on the wire beyond a resumed handshake">Bytes</th><th className="num" title="round trips beyond a resumed handshake">Round trips</th></tr></thead>
        <tbody>
          {rows.slice(0, MAX_WHAT_IF_ROWS).map((w) => (
            <tr key={`${w.group}\u0000${w.scenario}`} data-testid="what-if-row">
              <td>{w.description}{several ? <span className="muted small"> · {w.group}</span> : null}</td>
              <td className="num">{formatCount(w.fullHandshakesAvoided)}</td>
              <td className="num">{formatBytes(w.bytesSaved)}</td>
              <td className="num">{formatCount(w.roundTripsSaved)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > MAX_WHAT_IF_ROWS ? <p className="small muted">{formatCount(rows.length - MAX_WHAT_IF_ROWS)} more in the exported JSON.</p> : null}
    </Section>
  );
}

function AbortBreakdown() {
  const { model } = useView();
  const aborts = model.overview.aborts;
  if (aborts.length === 0) return null;
  return (
    <Section title="Aborted handshakes by stage" testId="aborts">
      <table className="plain">
        <thead><tr><th>Stage</th><th>Who</th><th className="num">Count</th></tr></thead>
        <tbody>
          {aborts.map((a, i) => (
            <tr key={i}>
              <td>{STAGE_LABEL[a.stage] ?? a.stage}</td>
              <td>{a.by} {abortEndingLabel(a.how)}</td>
              <td className="num">{formatCount(a.count)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

/**
 * `measuredBy`: what the limit is on, when the value alone does not say it (an LRU cache's size).
 * `notReached`: the evidence when no limit showed, from the largest accepted value (its unit's words).
 */
function limitText(e: Estimate, unit: (x: number) => string, measuredBy = '', notReached = (low: string) => `offers up to ${low} were accepted; no limit shows below that`): { value: string; evidence: string } {
  if (e.seconds !== null) {
    return {
      value: `${unit(e.seconds)}${e.appliesTo === 'session-ids' ? ' (session IDs)' : e.appliesTo === 'tickets' ? ' (tickets)' : ''}`,
      evidence: `${measuredBy}accepted up to ${unit(e.low!)}, rejected from ${unit(e.high!)}: ${formatCount(e.rejectedAbove)} rejections above, ${formatCount(e.acceptedBelow)} acceptances below, ${formatCount(e.exceptions)} exception${e.exceptions === 1 ? '' : 's'}`,
    };
  }
  if (e.low !== null) return { value: `not reached`, evidence: notReached(unit(e.low)) };
  return { value: 'unknown', evidence: 'no accepted offer to measure' };
}

/** The capacity row's name by how the cache evicts (none: no size limit shows, or a document from before eviction was inferred). */
const CAPACITY_NAME: Record<string, string> = { fifo: 'Capacity (FIFO)', lru: 'Capacity (LRU)', unknown: 'Capacity (FIFO or LRU)', partitioned: 'Capacity (in parts)', none: 'Capacity' };

/** A group with offers, or one whose handshakes gave clients nothing to offer (that is its policy). */
function showsPolicy(s: ServerSummary): boolean {
  return s.offers > 0 || s.cachePolicy.issuesNoSessions?.detected === true || s.cachePolicy.tls13TicketsUnseen?.detected === true;
}

function PolicyCard({ server }: { server: ServerSummary }) {
  const p: CachePolicy = server.cachePolicy;
  const sessions = (x: number) => `${formatCount(Math.round(x))} ${Math.round(x) === 1 ? 'session' : 'sessions'}`;
  const idle = limitText(p.idleTimeout, formatDuration, '', (low) => `offers up to ${low} after the session's last use were accepted; no limit shows below that`);
  const life = limitText(p.lifetime, formatDuration, '', (low) => `offers up to ${low} after the session's issue were accepted; no limit shows below that`);
  // An LRU cache's limit is on the sessions used since a session's last use, not issued since its issue.
  const cap = p.capacity.eviction === 'partitioned' && p.capacity.seconds !== null
    // No sharp edge: the band where sessions went, ever more of them as churn grew.
    ? {
      value: sessions(p.capacity.seconds),
      evidence: `none rejected up to ${sessions(p.capacity.low!)}, all from ${sessions(p.capacity.high!)}; in between ever more: the cache evicts in parts (by session ID), about half were gone at ${sessions(p.capacity.seconds)} — ${formatCount(p.capacity.rejectedAbove)} rejections`,
    }
    : limitText(p.capacity, sessions, p.capacity.eviction === 'lru' ? 'by sessions used since the last use: ' : '',
      (low) => p.capacity.low !== null && p.capacity.low < 2
        ? 'too few sessions were issued between a session and its reuse to tell'
        : `the cache held at least ${low}: offers were accepted with that many sessions issued since (or used since, for a cache that evicts the least recently used); no limit shows below that`);
  const rows: { name: string; value: string; confidence: number | null; evidence: string; found: boolean }[] = [
    { name: 'Idle timeout', ...idle, confidence: p.idleTimeout.seconds !== null ? p.idleTimeout.confidence : null, found: p.idleTimeout.seconds !== null },
    { name: 'Lifetime', ...life, confidence: p.lifetime.seconds !== null ? p.lifetime.confidence : null, found: p.lifetime.seconds !== null },
    {
      name: CAPACITY_NAME[p.capacity.eviction ?? 'none'] ?? 'Capacity', ...cap,
      confidence: p.capacity.seconds !== null ? p.capacity.confidence : null, found: p.capacity.seconds !== null,
    },
    {
      name: 'Purge on abort', value: p.purgeOnAbort.detected ? 'yes' : p.purgeOnAbort.offersAfterAbort > 0 ? 'no' : 'not seen',
      confidence: p.purgeOnAbort.offersAfterAbort > 0 ? p.purgeOnAbort.confidence : null, found: p.purgeOnAbort.detected,
      evidence: p.purgeOnAbort.offersAfterAbort > 0
        ? `${formatCount(p.purgeOnAbort.rejectedAfterAbort)} of ${formatCount(p.purgeOnAbort.offersAfterAbort)} sessions offered after an aborted handshake were rejected (other offers: ${formatPercent(p.purgeOnAbort.baseRejectionRate, 0)})`
        : 'no session was offered again after an aborted handshake',
    },
    {
      name: 'Shared cache', value: p.sharedCache.shared === null ? 'unknown' : p.sharedCache.shared ? 'yes' : `no${p.sharedCache.backends ? ` (~${p.sharedCache.backends} backends)` : ''}`,
      confidence: p.sharedCache.shared === null ? null : p.sharedCache.confidence, found: p.sharedCache.shared === false,
      evidence: p.sharedCache.crossAddressOffers > 0
        ? `${formatCount(p.sharedCache.crossAddressRejected)} of ${formatCount(p.sharedCache.crossAddressOffers)} offers to another address than the issuer were rejected`
        : p.sharedCache.shared === false ? `rejections at a steady rate that no time or size limit explains${p.sharedCache.sameBackendShare != null ? `; of the offers no limit refused, about ${formatPercent(p.sharedCache.sameBackendShare, 0)} reached the backend holding their session` : ''}`
        : p.sharedCache.shared === true ? 'no steady share of refusals that no limit explains: whatever answers at this address shares one cache (or ticket keys)'
        : 'no session was offered to another address than its issuer',
    },
    {
      name: 'Flushes', value: p.flushes.length === 0 ? 'none' : `${p.flushes.length}`, confidence: null, found: p.flushes.length > 0,
      evidence: p.flushes.length === 0 ? 'no moment after which every older session was rejected' : p.flushes.map((f) => `${formatTime(f.time, false)} (${formatCount(f.sessionsLost)} sessions lost)`).join('; '),
    },
  ];
  if (p.issuesNoSessions?.detected) {
    rows.unshift({
      name: 'Issues sessions', value: 'no', confidence: null, found: true,
      evidence: `none of ${formatCount(p.issuesNoSessions.fullHandshakes)} full handshakes below TLS 1.3 carried a session ID or a ticket`,
    });
  }
  if (p.tls13TicketsUnseen?.detected) {
    rows.unshift({
      name: 'TLS 1.3 tickets', value: 'none offered', confidence: null, found: true,
      evidence: `${formatCount(p.tls13TicketsUnseen.reconnections)} TLS 1.3 reconnections offered no ticket; tickets travel encrypted, so whether the server sent any is not in the capture`,
    });
  }
  if (p.keepsNoSessions?.detected) {
    // Shown first: with nothing accepted, no limit above can be measured.
    rows.unshift({
      name: 'Keeps sessions', value: 'no', confidence: p.keepsNoSessions.confidence, found: true,
      evidence: `none of ${formatCount(p.keepsNoSessions.offers)} offers accepted, the soonest ${formatDuration(p.keepsNoSessions.soonest ?? 0)} after its session was issued`,
    });
  }
  if (p.tickets.offers > 0) {
    rows.push({
      name: 'Tickets', value: `${formatCount(p.tickets.accepted)} / ${formatCount(p.tickets.offers)} accepted`, confidence: null, found: p.tickets.rejectedWithinHint > 0,
      evidence: `lifetime hint ${p.tickets.lifetimeHint === null ? 'not seen' : formatDuration(p.tickets.lifetimeHint)}; ${formatCount(p.tickets.rejectedWithinHint)} rejected within the hint`,
    });
  }
  // (documents from before key names have neither field)
  const keyNames = p.tickets.keyNames ?? null;
  const unusedKey = p.tickets.rejectedUnusedKey ?? 0;
  if (keyNames !== null || unusedKey > 0) {
    rows.push({
      name: 'Ticket keys', value: unusedKey > 0 ? `${formatCount(unusedKey)} refused under a key not in use` : `${formatCount(keyNames ?? 0)} in use`, confidence: null, found: unusedKey > 0,
      evidence: `the tickets issued or accepted in the capture name ${keyNames === 1 ? 'one key' : `${formatCount(keyNames ?? 0)} keys`} (RFC 5077 §4: a ticket begins with its key's name)${unusedKey > 0 ? `; ${formatCount(unusedKey)} refused ${unusedKey === 1 ? 'ticket names' : 'tickets name'} another: a key the server no longer holds` : ''}`,
    });
  }
  const rotation = p.tickets.rotation ?? null;
  if (rotation !== null) {
    rows.push({
      name: 'Ticket key rotation', value: `every ${formatDuration(rotation.every)}`, confidence: null, found: true,
      // (older documents have no switchSpread)
      evidence: `${formatCount(rotation.keysReplaced)} of ${formatCount(rotation.keys)} keys seen replaced; tickets opened under ${rotation.keysOpen === 1 ? 'the newest key only' : `the ${formatCount(rotation.keysOpen)} newest keys`}; ${formatCount(rotation.refused)} refused under a replaced key${(rotation.switchSpread ?? 0) > 0 ? ` or while the servers switched keys, up to ${formatDuration(rotation.switchSpread)} apart` : ''}`,
    });
  }
  return (
    <div className="policy-card" data-testid="policy-card">
      <h3 title={server.group}>{server.group}</h3>
      <p className="muted small">{formatCount(server.offers)} offer{server.offers === 1 ? '' : 's'} · {formatCount(server.accepted)} accepted · {formatCount(server.rejected)} rejected · {server.addresses.length} address{server.addresses.length === 1 ? '' : 'es'}</p>
      <dl className="policy">
        {rows.map((r) => (
          <div key={r.name} className={r.found ? 'policy-row found' : 'policy-row'}>
            <dt>{r.name}</dt>
            <dd>
              <span className="policy-value">{r.value}</span>
              {r.confidence !== null ? <Confidence value={r.confidence} /> : null}
              <span className="policy-evidence">{r.evidence}</span>
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

function Confidence({ value }: { value: number }) {
  return (
    <span className="confidence" title={`confidence ${value.toFixed(2)}`}>
      <span className="confidence-bar"><span style={{ width: `${Math.round(value * 100)}%` }} /></span>
      <span className="small muted">{value.toFixed(2)}</span>
    </span>
  );
}

/** The files read; `udpNote`: with the TLS-over-UDP note (the empty state shows it itself). */
function CapturesTable({ udpNote = true }: { udpNote?: boolean }) {
  const { model } = useView();
  return (
    <Section title="Analysed files" testId="captures">
      <div className="table-scroll">
        <table className="plain captures">
          <thead><tr><th>File</th><th>Format</th><th className="num">Size</th><th className="num">Packets</th><th>First packet (UTC)</th><th>Last packet (UTC)</th><th className="num">Anomalies</th><th>SHA-256</th></tr></thead>
          <tbody>
            {model.captures.map((c, i) => {
              const file = model.files.find((f) => f.name === c.file);
              const tunnels = describeEncapsulation([c], formatCount);
              return (
                <tr key={i}>
                  <td className="wrap">{c.file}{c.error ? <span className="error-text"> — {c.error}</span> : null}</td>
                  <td>
                    {c.format}{c.compressed ? ' (gzip)' : ''}
                    {tunnels ? <div className="small muted" data-testid="capture-tunnels" title="packets found inside tunnels: the connections inside are analysed">{tunnels}</div> : null}
                  </td>
                  <td className="num">{formatBytes(file?.size ?? c.bytes)}</td>
                  <td className="num">{formatCount(c.packets)}</td>
                  <td>{formatTime(c.firstTime)}</td>
                  <td>{formatTime(c.lastTime)}</td>
                  <td className="num" title={c.anomalies.slice(0, 5).map((a) => `${a.code}: ${a.message}`).join('\n')}>{formatCount(c.anomalies.length)}</td>
                  <td className="mono hash" data-testid="file-hash">{file?.sha256 ?? (file?.hashPending ? 'computing…' : '—')}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {udpNote ? <TlsOverUdpNote /> : null}
      <MergedNote />
      <ProxiedNote />
      <CarriedNote />
      <p className="muted small">
        {formatCount(model.overview.packets)} packet{model.overview.packets === 1 ? '' : 's'}, {formatBytes(model.overview.bytes)} read · analysed {formatTime(Date.parse(model.analysedAt) / 1000, false)} UTC by {model.tool.name} {model.tool.version}
      </p>
    </Section>
  );
}

/** Handshakes the capture lost bytes of: incomplete, their outcome unknown, and how to capture them whole. */
/** A file's damage shown, as the CLI's warnings show it: the first few places each, then a count. */
const DAMAGE_SHOWN_PER_FILE = 3;

/**
 * What the readers read around (a damaged record header, a file cut mid-record, a compressed
 * stream that stopped): with file, byte offset and frame, in the page itself. Only a count in the
 * files table, with the messages in a tooltip, a damaged capture looked like a whole one.
 */
function CaptureDamageNote() {
  const { model } = useView();
  // A file's clock (a step back, an offset against another file) is no damage: CaptureClockNote.
  const damaged = model.captures.filter((c) => !c.error && c.anomalies.some((a) => a.kind !== 'clock'));
  if (damaged.length === 0) return null;
  const total = damaged.reduce((n, c) => n + c.anomalies.filter((a) => a.code !== 'more-anomalies' && a.kind !== 'clock').length, 0);
  return (
    <div className="capture-note damage" data-testid="capture-damage" role="status">
      <p>
        {damaged.length === 1 ? 'The capture file' : `${formatCount(damaged.length)} capture files`} could not be read whole ({formatCount(total)} place{total === 1 ? '' : 's'}); what could be read is analysed:
      </p>
      <ul>
        {damaged.flatMap((c) => {
          const listed = c.anomalies.filter((a) => a.code !== 'more-anomalies' && a.kind !== 'clock');
          const items = listed.slice(0, DAMAGE_SHOWN_PER_FILE).map((a, i) => {
            const where = [a.offset !== undefined ? `byte ${formatCount(a.offset)}` : null, a.frame !== undefined ? `frame ${a.frame}` : null].filter((x) => x !== null).join(', ');
            return <li key={`${c.file}-${i}`}><span className="mono">{c.file}</span>{where ? ` (${where})` : ''}: {a.message}</li>;
          });
          const more = listed.length - DAMAGE_SHOWN_PER_FILE;
          if (more > 0) items.push(<li key={`${c.file}-more`}><span className="mono">{c.file}</span>: {formatCount(more)} more (see the exported JSON)</li>);
          return items;
        })}
      </ul>
    </div>
  );
}

/** Clock notes shown; more are counted (a rotated direction moved onto another clock is a note per part). */
const CLOCK_NOTES_SHOWN = 4;

/**
 * What the files' clocks did: stepped back inside a file (captures appended, a clock set back),
 * or read off against another file's (parser/clock-offset.ts), and what the analysis did about it.
 * Every packet was read: listed as damage, it said the files "could not be read whole".
 */
function CaptureClockNote() {
  const { model } = useView();
  const notes = model.captures.flatMap((c) => c.anomalies.filter((a) => a.kind === 'clock').map((a) => ({ file: c.file, anomaly: a })));
  if (notes.length === 0) return null;
  const more = notes.length - CLOCK_NOTES_SHOWN;
  return (
    <div className="capture-note" data-testid="capture-clock" role="status">
      <p>The capture clock{notes.length === 1 ? '' : 's'} (every packet was read):</p>
      <ul>
        {notes.slice(0, CLOCK_NOTES_SHOWN).map(({ file, anomaly }, i) => (
          <li key={i}><span className="mono">{file}</span>{anomaly.frame !== undefined ? ` (frame ${anomaly.frame})` : ''}: {anomaly.message}</li>
        ))}
        {more > 0 ? <li>{formatCount(more)} more (see the exported JSON)</li> : null}
      </ul>
    </div>
  );
}

function CaptureLossNote() {
  const { model } = useView();
  const cut = model.overview.totals.handshakesCut;
  const total = cut.snaplen + cut.missing + cut.oneWay;
  if (total === 0) return null;
  return (
    <p className="capture-note" data-testid="capture-loss">
      {formatCount(total)} handshake{total === 1 ? '' : 's'} lost bytes in the capture, so {total === 1 ? 'its' : 'their'} outcome is unknown (counted as incomplete, not aborted):
      {[
        cut.snaplen > 0 ? <span key="snaplen"> {formatCount(cut.snaplen)} cut by the snap length — capture again with <code>tcpdump -s 0</code></span> : null,
        cut.oneWay > 0 ? <span key="one-way"> {formatCount(cut.oneWay)} with one direction only (asymmetric routing, a one-way tap) — capture where both directions pass</span> : null,
        cut.missing > 0 ? <span key="missing"> {formatCount(cut.missing)} with segments missing (the capture dropped packets, or a path the tap did not see)</span> : null,
      ].filter((part) => part !== null).flatMap((part, i) => (i === 0 ? [part] : [';', part]))}.
    </p>
  );
}

/** Files named in the merged-files note; more are counted. */
const MERGED_NAMED = 4;

function listOfNames(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Files read merged by packet time (parser/merged-reading.ts), as the CLI's summary says. */
function MergedNote() {
  const { model } = useView();
  const merged = model.files.filter((f) => f.readMerged);
  if (merged.length === 0) return null;
  // Overlapping captures (CaptureSummary.copiesDropped): the packets two of them held.
  const copies = model.captures.reduce((sum, c) => sum + (c.copiesDropped ?? 0), 0);
  return (
    <p className="capture-note" data-testid="merged-note">
      {merged.length <= MERGED_NAMED ? listOfNames(merged.map((f) => f.name)) : `${formatCount(merged.length)} of the files`} share connections (a file per direction
      of a tap, two taps of the same traffic, or a rotated capture's files that a connection spans): they were read merged by packet time, as <code>mergecap</code> would
      join them, so that each connection reads whole.
      {copies > 0 ? <> {formatCount(copies)} TCP packet{copies === 1 ? ' was' : 's were'} in two of them (captures that overlap in time): each was analysed once.</> : null}
    </p>
  );
}

/**
 * Connections a load balancer passed on with a PROXY protocol header: on the wire every one comes
 * from the balancer, so say that the clients shown are the header's. (Documents from before have no count.)
 */
function ProxiedNote() {
  const { model } = useView();
  const proxied = model.overview.totals.proxied ?? 0;
  const own = model.overview.totals.balancerOwn ?? 0;
  if (proxied === 0 && own === 0) return null;
  return (
    <p className="capture-note" data-testid="proxied-note">
      {proxied > 0 ? <>{formatCount(proxied)} connection{proxied === 1 ? '' : 's'} came through a load balancer that named its client in a PROXY protocol
      header: the clients shown are those it named, not the balancer's address the packets came from.</> : null}
      {proxied > 0 && own > 0 ? ' ' : null}
      {own > 0 ? <>{formatCount(own)} connection{own === 1 ? ' was' : 's were'} the balancer's own (a PROXY LOCAL header, naming no client: its health checks), shown under its address.</> : null}
    </p>
  );
}

/**
 * An analysis of one file of a series (the CLI's --state): sessions issued before its first packet
 * are known, with their age and idle time, so its refusals are explained as for one long capture.
 */
function CarriedNote() {
  const { model } = useView();
  const carried = model.overview.sessions.carriedIn ?? null;
  if (carried === null) return null;
  return (
    <p className="capture-note" data-testid="carried-note">
      {carried === 0
        ? 'The first analysis of a series: its sessions go to a state file, for the next.'
        : <>{formatCount(carried)} session{carried === 1 ? ' was' : 's were'} carried in from a state file of earlier analyses of this series: offers of
        them are known with their age and idle time, and flushes the earlier files saw explain the refusals they cost here.</>}
    </p>
  );
}

/**
 * TLS over UDP seen in the files (counted, not followed): a browser capture whose connections
 * went over QUIC otherwise shows few or no connections without saying why.
 */
function TlsOverUdpNote() {
  const { model } = useView();
  // Documents written before the count existed have no tlsOverUdp.
  const quic = model.captures.reduce((sum, c) => sum + (c.tlsOverUdp?.quicHandshakeDatagrams ?? 0), 0);
  const dtls = model.captures.reduce((sum, c) => sum + (c.tlsOverUdp?.dtlsDatagrams ?? 0), 0);
  if (quic + dtls === 0) return null;
  const seen = [
    quic > 0 ? `${formatCount(quic)} QUIC handshake datagram${quic === 1 ? '' : 's'}` : null,
    dtls > 0 ? `${formatCount(dtls)} DTLS datagram${dtls === 1 ? '' : 's'}` : null,
  ].filter((x) => x !== null).join(' and ');
  return (
    <p className="capture-note" data-testid="tls-over-udp">
      The files also hold {seen}: TLS over UDP, which resumescope does not follow (it reads TLS over TCP).
      {quic > 0 ? <> Browsers resume sessions over QUIC (HTTP/3) where a server offers it; to see their TLS over TCP, capture with QUIC off (Chromium: <code>--disable-quic</code>) or with UDP port 443 blocked.</> : null}
    </p>
  );
}

function NoTls() {
  const { model } = useView();
  const unreadable = model.captures.filter((c) => c.error);
  return (
    <div className="view" data-testid="view-overview">
      <EmptyState title="No TLS connections in this capture">
        <p data-testid="no-tls">
          resumescope read {formatCount(model.overview.packets)} packet{model.overview.packets === 1 ? '' : 's'} from {model.captures.length} file{model.captures.length === 1 ? '' : 's'} and found no TLS handshake over TCP.
          {' '}Check that the capture filter kept the TLS port (e.g. <code>tcp port 443</code>) and that the snap length keeps the handshake (use <code>-s 0</code>).
        </p>
        {unreadable.length > 0 ? <ul>{unreadable.map((c) => <li key={c.file}>{c.file}: {c.error}</li>)}</ul> : null}
        <CaptureDamageNote />
        <TlsOverUdpNote />
      </EmptyState>
      <CapturesTable udpNote={false} />
    </div>
  );
}
