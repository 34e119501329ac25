import { createContext, useContext, type ReactNode } from 'react';
import type { ReportModel } from '../../../../parser/report/report-model.js';
import type { ConnectionFilter } from '../data/connection-query.js';
import type { ConnectionStore } from '../data/store.js';
import type { ChartPalette } from './theme.js';

export type ViewName = 'overview' | 'timeline' | 'reuse' | 'servers' | 'clients' | 'connections';

export const VIEWS: { name: ViewName; label: string }[] = [
  { name: 'overview', label: 'Overview' },
  { name: 'timeline', label: 'Timeline' },
  { name: 'reuse', label: 'Reuse gap' },
  { name: 'servers', label: 'Servers' },
  { name: 'clients', label: 'Clients' },
  { name: 'connections', label: 'Connections' },
];

export interface ViewContext {
  model: ReportModel;
  store: ConnectionStore;
  palette: ChartPalette;
  /** The static HTML report (capped connection list, no worker). */
  reportMode: boolean;
  /** Switch view, optionally showing the connections that match a filter. */
  showConnections(filter: Partial<ConnectionFilter>): void;
  showClient(ip: string): void;
}

export const ViewContextValue = createContext<ViewContext | null>(null);

export function useView(): ViewContext {
  const value = useContext(ViewContextValue);
  if (value === null) throw new Error('view context missing');
  return value;
}

export function Section({ title, children, actions, testId }: { title: string; children: ReactNode; actions?: ReactNode; testId?: string }) {
  return (
    <section className="card" data-testid={testId}>
      <header className="card-head">
        <h2>{title}</h2>
        {actions ? <div className="card-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state" role="status">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function Swatch({ color }: { color: string }) {
  return <span className="swatch" style={{ background: color }} aria-hidden="true" />;
}

/**
 * A finding's text, whose configuration names are written between backticks (as in Markdown):
 * those parts as code, the rest as it is. Shown raw, the backticks read as stray punctuation.
 */
export function TextWithCode({ text }: { text: string }) {
  const parts = text.split('`');
  // An odd count of backticks: not pairs, so nothing to mark.
  if (parts.length % 2 === 0) return <TextWithTimes text={text} />;
  return <>{parts.map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : <TextWithTimes key={i} text={part} />))}</>;
}

/** An ISO time (2026-11-28T12:12:34.938Z) or a time of day (12:12:36.080Z) in a finding's text. */
const TIME_IN_TEXT = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|\b\d\d:\d\d:\d\d(?:\.\d+)?Z)/;

/** Text whose times never break across lines (a narrow column broke them at a date's hyphens). */
export function TextWithTimes({ text }: { text: string }) {
  const parts = text.split(TIME_IN_TEXT);
  if (parts.length === 1) return <>{text}</>;
  return <>{parts.map((part, i) => (i % 2 === 1 ? <span key={i} className="nowrap">{part}</span> : part))}</>;
}

/** One line of a chart's tooltip: a series, its colour and its count. */
export interface TooltipRow {
  name: string;
  value: number;
  color: string;
}

/**
 * A chart tooltip in the page's text colour (Recharts writes each line in its series' colour, pale
 * orange and blue on white), listing the series that count something, top of the stack first, as
 * the bars read (its default listed the zeros too, bottom first).
 */
export function ChartTooltip({ title, rows }: { title: string; rows: TooltipRow[] }) {
  const shown = rows.filter((r) => r.value > 0);
  return (
    <div className="tooltip" data-testid="chart-tooltip">
      <div className="tooltip-title">{title}</div>
      {shown.length === 0 ? <div className="muted">none</div> : shown.map((r) => (
        <div key={r.name} className="tooltip-row"><Swatch color={r.color} /> {r.name} <strong>{r.value.toLocaleString('en-US')}</strong></div>
      ))}
    </div>
  );
}
