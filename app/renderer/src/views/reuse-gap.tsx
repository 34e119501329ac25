import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { binStartingAt, type Histogram, type HistogramSet } from '../../../../parser/report/report-model.js';
import { formatCount, formatEdge } from '../data/format.js';
import { EmptyState, Section, useView } from './common.js';

const METRIC_TEXT = {
  reuseGap: {
    title: 'Reuse gap: time since the session was last used',
    help: 'If every offer to the right of a line is rejected and every offer to its left accepted, the server forgets sessions that sit idle that long.',
    axis: 'idle time before the offer',
    filter: 'reuse gap',
  },
  age: {
    title: 'Age: time since the session was issued',
    help: 'A cliff here, and not in the reuse gap, means an absolute lifetime: sessions expire however often they are used.',
    axis: 'session age at the offer',
    filter: 'session age',
  },
  churn: {
    title: 'Churn: new sessions the server issued since this one',
    help: 'A cliff here means a full cache that evicts the earliest issued session once this many newer ones exist.',
    axis: 'newer sessions issued',
    filter: 'newer sessions issued',
  },
  usedSince: {
    title: 'Used since: other sessions the server issued or resumed since this one was last used',
    help: 'A cliff here, and not in the churn, means a full cache that evicts the least recently used session: one resumed often stays however many newer ones exist.',
    axis: 'other sessions used since its last use',
    filter: 'other sessions used since',
  },
} as const;

export function ReuseGapView() {
  const { model } = useView();
  const [group, setGroup] = useState(() => pickDefaultGroup(model.histograms));
  const set = model.histograms.find((h) => h.group === group) ?? model.histograms[0];
  // Answered offers of the group (all groups for ''), to say how many a chart cannot place.
  const answered = model.servers.filter((s) => set === undefined || set.group === '' || s.group === set.group).reduce((n, s) => n + s.accepted + s.rejected, 0);
  if (!set || set.reuseGap.samples + set.age.samples + set.churn.samples + set.usedSince.samples === 0) {
    return (
      <div className="view" data-testid="view-reuse">
        <EmptyState title="No session was offered again">
          <p>
            Reuse gap, age and churn exist only for offers of sessions seen earlier in the capture.
            {model.servers.length > 0 && model.servers.every((s) => s.cachePolicy.issuesNoSessions.detected || s.cachePolicy.keepsNoSessions.detected)
              ? ' The servers here gave clients no session to come back with, or kept none (see the Overview): a longer capture would show no more.'
              : ' A longer capture shows more.'}
          </p>
        </EmptyState>
      </div>
    );
  }
  // All servers' offers in one chart (more than one server): each limit line is one server's.
  const pooled = set.group === '' && model.servers.length > 1;
  return (
    <div className="view" data-testid="view-reuse">
      <div className="toolbar">
        <label>
          Server group{' '}
          <select value={group} onChange={(e) => setGroup(e.target.value)} data-testid="histogram-group">
            {model.histograms.map((h) => <option key={h.group} value={h.group}>{h.group === '' ? 'All servers' : h.group}</option>)}
          </select>
        </label>
        <span className="muted small">Blue: offers accepted · orange: offers rejected. Red lines: the limits resumescope inferred.</span>
      </div>
      <HistogramChart histogram={set.reuseGap} group={set.group} answered={answered} pooled={pooled} testId="chart-reuse-gap" />
      <HistogramChart histogram={set.age} group={set.group} answered={answered} pooled={pooled} testId="chart-age" />
      <HistogramChart histogram={set.churn} group={set.group} answered={answered} pooled={pooled} testId="chart-churn" />
      <HistogramChart histogram={set.usedSince} group={set.group} answered={answered} pooled={pooled} testId="chart-used-since" />
    </div>
  );
}

/**
 * The group with the clearest inferred limit, so the cliff is what the user sees first; mixing
 * groups with different limits into "All servers" would blur every cliff.
 */
function pickDefaultGroup(sets: HistogramSet[]): string {
  const groups = sets.filter((s) => s.group !== '');
  if (groups.length === 1) return groups[0]!.group;
  const score = (s: HistogramSet) => Math.max(0, ...[s.reuseGap, s.age, s.churn, s.usedSince].flatMap((h) => h.references.map((r) => r.confidence * h.samples)));
  const best = groups.reduce<HistogramSet | null>((b, s) => (score(s) > (b ? score(b) : 0) ? s : b), null);
  return best?.group ?? '';
}

interface EdgeTickProps {
  x?: number | string;
  y?: number | string;
  payload?: { value?: unknown; offset?: number };
  fill?: string;
}

/**
 * A bar's label is its bin's lower edge: drawn at that edge, with a tick mark, not under the bar's
 * middle, where "5m00s" sat half a bar right of the 5m00s limit line drawn on the same edge.
 */
function EdgeTick({ x, y, payload, fill }: EdgeTickProps) {
  const edge = Number(x ?? 0) - (payload?.offset ?? 0);
  const top = Number(y ?? 0);
  return (
    <g className="edge-tick">
      <line x1={edge} x2={edge} y1={top - 8} y2={top - 2} stroke={fill} />
      <text x={edge} y={top} dy="0.9em" textAnchor="middle" fill={fill} fontSize={12}>{String(payload?.value ?? '')}</text>
    </g>
  );
}

/**
 * `pooled`: the bars are every server group's offers together, so each limit line is one group's
 * and says whose (a line over all the bars read as every server's limit).
 */
function HistogramChart({ histogram, group, answered, pooled, testId }: { histogram: Histogram; group: string; answered: number; pooled: boolean; testId: string }) {
  const { palette, showConnections } = useView();
  const text = METRIC_TEXT[histogram.metric];
  const format = histogram.unit === 'seconds' ? (x: number) => formatEdge(x, histogram.binWidth) : (x: number) => formatCount(x);
  const data = histogram.bins.map((b, bin) => ({
    bin,
    label: b.end === null ? `≥ ${format(b.start)}` : format(b.start),
    range: b.end === null ? `${format(b.start)} or more` : `${format(b.start)} – ${format(b.end)}`,
    accepted: b.accepted,
    rejected: b.rejected,
  }));
  /**
   * A bar clicked: the offers it counts, by the chart's own binning, of its server group (all for
   * "All servers"). Taken from the bar's own data, as the timeline's (the chart's tooltip index at a
   * click is the one before).
   */
  const openBar = (bar: { bin?: number } | undefined) => {
    const bin = bar?.bin;
    if (bin === undefined || data[bin] === undefined) return;
    showConnections({
      server: group,
      offers: { metric: histogram.metric, binWidth: histogram.binWidth, bin, binCount: histogram.bins.length, text: `${METRIC_TEXT[histogram.metric].filter} ${data[bin]!.range}` },
    });
  };
  const references = histogram.references
    .map((r) => {
      const index = binStartingAt(histogram, r.value);
      return index >= 0 ? { ...r, label: data[index]!.label, text: r.label } : null;
    })
    .filter((r): r is NonNullable<typeof r> => r !== null);
  // Several groups may infer the same limit: draw each position once, naming its groups when pooled.
  const unique = references.filter((r, i) => references.findIndex((x) => x.label === r.label) === i).map((r) => {
    if (!pooled) return { ...r, chartText: r.text };
    const groups = references.filter((x) => x.label === r.label).map((x) => x.group);
    return { ...r, chartText: `${r.text} (${groups.length === 1 ? groups[0] : `${groups.length} servers`})` };
  });
  return (
    <Section title={text.title} testId={testId}>
      <p className="muted small">
        {text.help} {formatCount(histogram.samples)} offer{histogram.samples === 1 ? '' : 's'}; bars of {format(histogram.binWidth)}; click a bar to list its offers.
        {pooled ? ' All servers\' offers together: each red line is the limit of the server named on it, not of the others.' : ''}
        {answered > histogram.samples ? ` Not shown: ${formatCount(answered - histogram.samples)} offer${answered - histogram.samples === 1 ? '' : 's'} of sessions issued before the capture began (or unknown to it), whose ${text.axis} is unknown.` : ''}
      </p>
      {histogram.samples === 0 ? <p className="muted">No offer with a known {text.axis}.</p> : (
        <div className="chart">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={data} margin={{ top: 28, right: 24, bottom: 20, left: 8 }} barCategoryGap={1}>
              <CartesianGrid stroke={palette.grid} vertical={false} />
              <XAxis dataKey="label" stroke={palette.muted} tick={(props: EdgeTickProps) => <EdgeTick {...props} fill={palette.muted} />} tickLine={false} minTickGap={16}
                label={{ value: text.axis, position: 'insideBottom', offset: -12, fill: palette.muted, fontSize: 12 }} />
              <YAxis stroke={palette.muted} tick={{ fill: palette.muted, fontSize: 12 }} allowDecimals={false} width={56}
                label={{ value: 'offers', angle: -90, position: 'insideLeft', fill: palette.muted, fontSize: 12 }} />
              <Tooltip cursor={{ fill: palette.grid, opacity: 0.5 }} contentStyle={{ background: palette.surface, borderColor: palette.grid, color: palette.text }}
                labelFormatter={(_l, payload) => String((payload?.[0]?.payload as { range?: string } | undefined)?.range ?? '')}
                formatter={(value, name) => [formatCount(Number(value)), String(name)]} />
              <Legend verticalAlign="top" align="right" wrapperStyle={{ color: palette.text, top: 0 }} formatter={(value) => <span style={{ color: palette.text }}>{String(value)}</span>} />
              <Bar dataKey="accepted" name="accepted" stackId="offers" fill={palette.accepted} isAnimationActive={false} cursor="pointer" onClick={(item) => openBar(item.payload)} />
              <Bar dataKey="rejected" name="rejected" stackId="offers" fill={palette.rejected} isAnimationActive={false} cursor="pointer" onClick={(item) => openBar(item.payload)} />
              {unique.map((r) => (
                <ReferenceLine key={r.label} x={r.label} position="start" stroke={palette.reference} strokeWidth={2} strokeDasharray="6 3"
                  label={{ value: r.chartText, position: 'insideTopLeft', fill: palette.reference, fontSize: 13, fontWeight: 600 }} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
      {unique.length > 0 ? (
        <ul className="references" data-testid={`${testId}-references`}>
          {/* Every group's limit, also those drawn as one line with another's. */}
          {references.map((r) => <li key={`${r.label} ${r.group}`}><span className="ref-mark" /> {r.text} ({r.group}, confidence {r.confidence.toFixed(2)})</li>)}
        </ul>
      ) : null}
    </Section>
  );
}
