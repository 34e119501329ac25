import { Bar, BarChart, CartesianGrid, Legend, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { OUTCOMES } from '../../../../parser/report/report-model.js';
import { clockLabels, formatDuration, formatTime } from '../data/format.js';
import { OUTCOME_LABEL } from '../data/labels.js';
import type { ConnectionFilter } from '../data/connection-query.js';
import { ChartTooltip, EmptyState, Section, useView } from './common.js';

export function TimelineView() {
  const { model, palette, showConnections } = useView();
  const timeline = model.timeline;
  if (timeline.buckets.length === 0) {
    return <div className="view" data-testid="view-timeline"><EmptyState title="No TLS connections to draw" /></div>;
  }
  const width = timeline.bucketSeconds;
  const labels = clockLabels(timeline.buckets.map((b) => b.start), width);
  const data = timeline.buckets.map((b, i) => ({ ...b, label: labels[i]! }));
  const flushMarks = timeline.flushes.map((f) => {
    const bucket = timeline.buckets.findIndex((b) => f.time >= b.start && f.time < b.start + width);
    return bucket >= 0 ? { label: labels[bucket]!, flush: f } : null;
  }).filter((x) => x !== null);
  const peakAborted = timeline.buckets.reduce((m, b) => Math.max(m, b.aborted), 0);
  /**
   * A bar clicked: its bucket's connections. Taken from the bar's own data: the chart's
   * activeTooltipIndex at a click is the one before it (a click on a bar of the aborted chart listed
   * the bucket before the bar's, empty).
   */
  const openBucket = (bucket: { start?: number } | undefined, more: Partial<ConnectionFilter>) => {
    if (bucket?.start !== undefined) showConnections({ ...more, timeFrom: bucket.start, timeTo: bucket.start + width });
  };
  return (
    <div className="view" data-testid="view-timeline">
      <Section title="Handshakes over time, by outcome">
        <p className="muted small">
          One bar per {formatDuration(width)} (UTC, from {formatTime(timeline.buckets[0]!.start, false)}). Orange = a session was offered and rejected; blue = resumed.
          {timeline.flushes.length > 0 ? ` Dashed red lines: inferred cache flushes (${timeline.flushes.map((f) => `${f.group} at ${formatTime(f.time)}`).join('; ')}).` : ''} Click a bar to list its connections.
        </p>
        <div className="chart chart-tall" data-testid="timeline-chart">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={data} margin={{ top: 24, right: 24, bottom: 8, left: 8 }} barCategoryGap={1} maxBarSize={64}>
              <CartesianGrid stroke={palette.grid} vertical={false} />
              <XAxis dataKey="label" stroke={palette.muted} tick={{ fill: palette.muted, fontSize: 12 }} minTickGap={24} />
              <YAxis stroke={palette.muted} tick={{ fill: palette.muted, fontSize: 12 }} allowDecimals={false} width={56}
                label={{ value: 'handshakes', angle: -90, position: 'insideLeft', fill: palette.muted, fontSize: 12 }} />
              <Tooltip cursor={{ fill: palette.grid, opacity: 0.5 }}
                content={({ active, payload }) => {
                  const bucket = payload?.[0]?.payload as (typeof data)[number] | undefined;
                  if (!active || !bucket) return null;
                  // Top of the stack first, as the bar reads.
                  return <ChartTooltip title={`${formatTime(bucket.start, width < 1)} + ${formatDuration(width)}`}
                    rows={[...OUTCOMES].reverse().map((k) => ({ name: OUTCOME_LABEL[k], value: bucket[k], color: palette.outcome[k] }))} />;
                }} />
              <Legend wrapperStyle={{ color: palette.text }} itemSorter={(item) => OUTCOMES.indexOf(String(item.dataKey) as (typeof OUTCOMES)[number])}
                formatter={(value) => <span style={{ color: palette.text }}>{String(value)}</span>} />
              {OUTCOMES.map((k) => (
                <Bar key={k} dataKey={k} name={OUTCOME_LABEL[k]} stackId="outcome" fill={palette.outcome[k]} isAnimationActive={false} cursor="pointer"
                  onClick={(item) => openBucket(item.payload, {})} />
              ))}
              {flushMarks.map((m, i) => (
                <ReferenceLine key={i} x={m!.label} stroke={palette.reference} strokeDasharray="5 3" strokeWidth={2}
                  label={{ value: 'flush', position: 'top', fill: palette.reference, fontSize: 12 }} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
      </Section>
      {peakAborted > 0 ? (
        <Section title="Aborted handshakes over time">
          <p className="muted small">One bar per {formatDuration(width)}, as above: handshakes ended by a reset, a close or a fatal alert before they were established. Click a bar to list them.</p>
          <div className="chart" data-testid="aborted-chart">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={data} margin={{ top: 8, right: 24, bottom: 8, left: 8 }} barCategoryGap={1} maxBarSize={64}>
                <CartesianGrid stroke={palette.grid} vertical={false} />
                <XAxis dataKey="label" stroke={palette.muted} tick={{ fill: palette.muted, fontSize: 12 }} minTickGap={24} />
                <YAxis stroke={palette.muted} tick={{ fill: palette.muted, fontSize: 12 }} allowDecimals={false} width={56}
                  label={{ value: 'aborted', angle: -90, position: 'insideLeft', fill: palette.muted, fontSize: 12 }} />
                <Tooltip cursor={{ fill: palette.grid, opacity: 0.5 }}
                  content={({ active, payload }) => {
                    const bucket = payload?.[0]?.payload as (typeof data)[number] | undefined;
                    if (!active || !bucket) return null;
                    return <ChartTooltip title={`${formatTime(bucket.start, width < 1)} + ${formatDuration(width)}`} rows={[{ name: 'aborted', value: bucket.aborted, color: palette.outcome.aborted }]} />;
                  }} />
                <Bar dataKey="aborted" name="aborted" fill={palette.outcome.aborted} isAnimationActive={false} cursor="pointer"
                  onClick={(item) => openBucket(item.payload, { outcome: 'aborted' })} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </Section>
      ) : null}
    </div>
  );
}
