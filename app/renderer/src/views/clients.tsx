import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { CartesianGrid, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import { OUTCOMES, type ClientStep } from '../../../../parser/report/report-model.js';
import { formatCount, formatTime } from '../data/format.js';
import { OUTCOME_LABEL, reasonLabel } from '../data/labels.js';
import { EmptyState, Section, Swatch, useView } from './common.js';

export function ClientsView({ selected, onSelect }: { selected: string | null; onSelect(ip: string): void }) {
  const { model, store } = useView();
  const [filter, setFilter] = useState('');
  const ip = selected ?? model.clients[0]?.ip ?? null;
  const [steps, setSteps] = useState<ClientStep[] | null>(null);

  useEffect(() => {
    if (ip === null) return;
    let live = true;
    const known = model.clientSequences[ip];
    if (known) setSteps(known);
    else {
      setSteps(null);
      void store.clientSequence(ip).then((s) => { if (live) setSteps(s); });
    }
    return () => { live = false; };
  }, [ip, model, store]);

  const shown = useMemo(() => model.clients.filter((c) => c.ip.includes(filter.trim())), [model.clients, filter]);
  // The filter and the selection stay in step: a filter that hides the chosen client chooses the
  // first one it shows (the sequence of a client no longer listed stayed on screen).
  useEffect(() => {
    if (filter.trim() !== '' && shown.length > 0 && !shown.some((c) => c.ip === ip)) onSelect(shown[0]!.ip);
  }, [shown]); // eslint-disable-line react-hooks/exhaustive-deps
  // Arrow keys move the focus with the selection and keep it in view (it moved out of sight, the
  // focus ring left behind on the previous client).
  const list = useRef<HTMLUListElement>(null);
  useLayoutEffect(() => {
    const element = list.current;
    if (!element || !element.contains(document.activeElement)) return;
    const chosen = element.querySelector<HTMLElement>('[aria-selected="true"]');
    if (chosen && chosen !== document.activeElement) {
      chosen.focus({ preventScroll: true });
      chosen.scrollIntoView({ block: 'nearest' });
    }
  }, [ip]);
  if (model.clients.length === 0) return <div className="view" data-testid="view-clients"><EmptyState title="No clients" /></div>;
  const filtered = filter.trim() !== '';
  return (
    <div className="view clients-view" data-testid="view-clients">
      <Section title={filtered ? `Clients (${formatCount(shown.length)} of ${formatCount(model.clientsSummary.clients)})` : `Clients (${formatCount(model.clientsSummary.clients)})`} testId="client-list-section">
        <input type="search" placeholder="Filter by address" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter clients by address" data-testid="client-filter" />
        <p className="small muted">Most rejected offers first{model.clients.length < model.clientsSummary.clients ? ` (first ${formatCount(model.clients.length)})` : ''}.</p>
        {shown.length === 0 ? <p className="muted" role="status" data-testid="client-no-match">No client address contains “{filter.trim()}”.</p> : null}
        <ul className="client-list" role="listbox" aria-label="Clients" data-testid="client-list" ref={list}
          onKeyDown={(e) => {
            const index = shown.findIndex((c) => c.ip === ip);
            if (e.key === 'ArrowDown' && index + 1 < shown.length) { onSelect(shown[index + 1]!.ip); e.preventDefault(); }
            if (e.key === 'ArrowUp' && index > 0) { onSelect(shown[index - 1]!.ip); e.preventDefault(); }
          }}>
          {shown.slice(0, 1000).map((c) => (
            <li key={c.ip} role="option" aria-selected={c.ip === ip} tabIndex={c.ip === ip ? 0 : -1} className={c.ip === ip ? 'selected' : ''} onClick={() => onSelect(c.ip)}>
              <span className="mono">{c.ip}</span>
              <span className="small muted">{formatCount(c.connections)} conn · {formatCount(c.rejected)} rejected · {c.servers} server{c.servers === 1 ? '' : 's'}</span>
            </li>
          ))}
        </ul>
      </Section>
      <div className="stack">
        {ip !== null && shown.length > 0 ? <Sequence ip={ip} steps={steps} total={model.clients.find((c) => c.ip === ip)?.connections ?? null} /> : null}
      </div>
    </div>
  );
}

/** A dot's share of the chart's width within which dots of one row are taken to fall on each other. */
const DOTS_NEAR = 1 / 150;
/** How far (in rows) each further dot of a bunch moves up or down, and at most. */
const DOT_STEP = 0.12;
const DOT_REACH = 0.36;

/**
 * Each step as a dot: time across, server address down. A browser opens several connections at
 * once; their dots fell on one another and showed as one, whatever became of each. Dots of a row
 * closer than DOTS_NEAR of the time shown are moved up and down in turn (0, +1, −1, +2, … steps,
 * within the row's band), so each stays visible and keeps its tooltip; their times are unchanged.
 */
function spreadDots(steps: ClientStep[], servers: string[]): (ClientStep & { x: number; y: number })[] {
  const times = steps.map((s) => s.time);
  const near = Math.max(Math.max(...times) - Math.min(...times), 1e-3) * DOTS_NEAR;
  const lastOnRow = new Map<number, { time: number; k: number }>();
  const most = Math.floor(DOT_REACH / DOT_STEP) * 2 + 1;
  return steps.map((s) => {
    const row = servers.indexOf(s.server);
    const previous = lastOnRow.get(row);
    const k = previous !== undefined && Math.abs(s.time - previous.time) < near ? (previous.k + 1) % most : 0;
    lastOnRow.set(row, { time: s.time, k });
    const offset = k === 0 ? 0 : (k % 2 === 1 ? 1 : -1) * Math.ceil(k / 2) * DOT_STEP;
    return { ...s, x: s.time, y: row + offset };
  });
}

/** `total`: the client's connections in the analysis; a capped report may hold fewer of them. */
function Sequence({ ip, steps, total }: { ip: string; steps: ClientStep[] | null; total: number | null }) {
  const { palette, showConnections } = useView();
  if (steps === null) return <Section title={`Client ${ip}`}><p className="muted">Loading…</p></Section>;
  const servers = [...new Set(steps.map((s) => s.server))];
  const points = spreadDots(steps, servers);
  const crossAddress = steps.filter((s) => s.crossServer).length;
  // Refused as another backend's behind the same address: the backend is inferred, not on the chart.
  const otherBackend = steps.filter((s) => !s.crossServer && s.reason === 'other-backend').length;
  // Within a minute, seconds alone repeat on every tick: show milliseconds.
  const shortSpan = steps.length > 0 && steps[steps.length - 1]!.time - steps[0]!.time < 60;
  return (
    <>
      <Section title={`Client ${ip}: ${steps.length} connection${steps.length === 1 ? '' : 's'} to ${servers.length} server address${servers.length === 1 ? '' : 'es'}`} testId="client-sequence">
        {total !== null && total > steps.length ? (
          <p className="capture-note" data-testid="client-partial">
            This report holds {formatCount(steps.length)} of the client's {formatCount(total)} connections (it keeps a capped list of connections, failures first): the sequence below has gaps. The app, or a report of this client's capture alone, shows them all.
          </p>
        ) : null}
        <p className="muted small">
          Each dot is one connection: which server address it reached (row) and what happened to its offer (colour); dots at nearly the same moment are spread up and down within their row.
          {crossAddress > 0 ? ` ${crossAddress} offer${crossAddress === 1 ? '' : 's'} reached another server address than the one that issued the session: stickiness broke there.` : ''}
          {otherBackend > 0 ? ` ${otherBackend} offer${otherBackend === 1 ? ' was' : 's were'} refused as if ${otherBackend === 1 ? 'it' : 'they'} reached another backend behind the same address: a backend inferred from the refusals, which the chart cannot show.` : ''}
        </p>
        <div className="chart chart-short">
          <ResponsiveContainer width="100%" height="100%">
            <ScatterChart margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
              <CartesianGrid stroke={palette.grid} />
              <XAxis type="number" dataKey="x" domain={['dataMin', 'dataMax']} stroke={palette.muted} tick={{ fill: palette.muted, fontSize: 12 }}
                tickFormatter={(t: number) => formatTime(t, shortSpan).slice(11)} name="time" />
              <YAxis type="number" dataKey="y" domain={[-0.5, servers.length - 0.5]} ticks={servers.map((_, i) => i)} width={150}
                tickFormatter={(i: number) => servers[i] ?? ''} stroke={palette.muted} tick={{ fill: palette.muted, fontSize: 12 }} name="server" />
              <Tooltip contentStyle={{ background: palette.surface, borderColor: palette.grid, color: palette.text }}
                content={({ payload }) => {
                  const p = payload?.[0]?.payload as (ClientStep | undefined);
                  if (!p) return null;
                  return (
                    <div className="tooltip">
                      <div>ClientHello {formatTime(p.time)} UTC</div>
                      <div>{p.server} ({p.sni ?? 'no SNI'})</div>
                      <div>{OUTCOME_LABEL[p.outcome]}{p.reason ? ` — ${reasonLabel(p.reason)}` : ''}</div>
                    </div>
                  );
                }} />
              {OUTCOMES.map((k) => (
                <Scatter key={k} name={OUTCOME_LABEL[k]} data={points.filter((p) => p.outcome === k)} fill={palette.outcome[k]} isAnimationActive={false} />
              ))}
            </ScatterChart>
          </ResponsiveContainer>
        </div>
        <div className="legend-inline">{OUTCOMES.map((k) => <span key={k}><Swatch color={palette.outcome[k]} /> {OUTCOME_LABEL[k]}</span>)}</div>
      </Section>
      <Section title="Sessions in order">
        <div className="table-scroll sequence-scroll">
          <table className="plain sequence" data-testid="sequence-table">
            <thead><tr><th title="When the client sent its ClientHello: the order it offered sessions in (the Connections table shows each connection's first packet)">ClientHello (UTC)</th><th>Server</th><th>Offered</th><th>Outcome</th><th>Session after</th><th>Note</th></tr></thead>
            <tbody>
              {steps.map((s) => (
                <tr key={s.id} className={s.crossServer || s.outcome === 'rejected' ? 'flagged' : ''}>
                  <td><button type="button" className="link" onClick={() => showConnections({ ids: [s.id] })}>{formatTime(s.time)}</button></td>
                  <td className="mono">{s.server}{s.serverChanged ? <span className="tag">changed</span> : null}</td>
                  <td className="mono offered">{s.offered ? `${s.offeredKind} ${s.offered}` : '—'}</td>
                  <td><Swatch color={palette.outcome[s.outcome]} /> {OUTCOME_LABEL[s.outcome]}</td>
                  <td className="mono">{s.session ?? '—'}</td>
                  <td className="note">{s.crossServer ? 'offered to another server than its issuer' : ''}{s.reason ? `${s.crossServer ? '; ' : ''}${reasonLabel(s.reason)}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
    </>
  );
}
