import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { OUTCOMES, type Outcome } from '../../../../parser/report/report-model.js';
import { clientAddress, type ConnectionRecord } from '../../../../parser/report/types.js';
import { EMPTY_FILTER, type ConnectionFilter, type ConnectionRow, type ConnectionSort, type SortKey } from '../data/connection-query.js';
import { formatCount, formatDelta, formatTime, parseTime } from '../data/format.js';
import { copyText } from '../data/host.js';
import { OUTCOME_LABEL, REASON_LABEL, reasonLabel } from '../data/labels.js';
import { Swatch, useView } from './common.js';
import { HandshakeLadder } from './ladder.js';
import { VirtualList } from './virtual-list.js';

const ROW_HEIGHT = 30;
/** The reason cell of a refused TLS 1.3 random session ID (ConnectionRow.randomSessionId). */
const RANDOM_ID_LABEL = 'TLS 1.3 random ID (no offer?)';
const PAGE_SIZE = 100;

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'time', label: 'Time (UTC)' },
  { key: 'client', label: 'Client' },
  { key: 'server', label: 'Server' },
  { key: 'sni', label: 'SNI' },
  { key: 'outcome', label: 'Outcome' },
  { key: 'reason', label: 'Reason' },
  { key: 'version', label: 'Version' },
  { key: 'duration', label: 'Duration' },
];

export function ConnectionsView({ filter, onFilterChange }: { filter: ConnectionFilter; onFilterChange(f: ConnectionFilter): void }) {
  const { model, store, reportMode } = useView();
  const [sort, setSort] = useState<ConnectionSort>({ key: 'time', descending: false });
  const [result, setResult] = useState<{ queryId: number; count: number } | null>(null);
  const [pages, setPages] = useState<Map<number, ConnectionRow[]>>(new Map());
  const requested = useRef(new Set<string>());
  const [selectedIndex, setSelectedIndex] = useState<number | null>(null);
  // The connection in the detail pane: chosen by a row, it stays open when the rows are sorted or
  // filtered again (sorting closed it), and its row is marked again once it is among the rows loaded.
  const [openId, setOpenId] = useState<number | null>(null);
  const [detail, setDetail] = useState<ConnectionRecord | null>(null);

  // Pages belong to one query: a late page of an earlier query must never fill the new table.
  const currentQuery = useRef(0);
  useEffect(() => {
    let live = true;
    void store.query(filter, sort).then((r) => {
      if (!live) return;
      currentQuery.current = r.queryId;
      requested.current = new Set();
      setPages(new Map());
      setResult(r);
      setSelectedIndex(null);
    });
    return () => { live = false; };
  }, [store, filter, sort]);

  const onRangeChange = useCallback((first: number, last: number) => {
    if (!result) return;
    const queryId = result.queryId;
    for (let page = Math.floor(first / PAGE_SIZE); page <= Math.floor(last / PAGE_SIZE); page++) {
      // Keyed by query too: a request made for an earlier query must not stand in for this one.
      const key = `${queryId}:${page}`;
      if (requested.current.has(key)) continue;
      requested.current.add(key);
      void store.rows(queryId, page * PAGE_SIZE, (page + 1) * PAGE_SIZE).then((rows) => {
        if (queryId !== currentQuery.current) return;
        setPages((old) => {
          const next = new Map(old);
          next.set(page, rows);
          return next;
        });
      });
    }
  }, [result, store]);

  const rowAt = (index: number): ConnectionRow | undefined => pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  const selectedRow = selectedIndex === null ? undefined : rowAt(selectedIndex);
  const selectedId = selectedRow?.id ?? null;
  useEffect(() => { if (selectedId !== null) setOpenId(selectedId); }, [selectedId]);
  // After a new sort or filter, the open connection's row is marked again when its page is in.
  useEffect(() => {
    if (openId === null || selectedIndex !== null) return;
    for (const [page, rows] of pages) {
      const at = rows.findIndex((r) => r.id === openId);
      if (at >= 0) { setSelectedIndex(page * PAGE_SIZE + at); return; }
    }
  }, [pages, openId, selectedIndex]);

  useEffect(() => {
    if (openId === null) { setDetail(null); return; }
    let live = true;
    void store.connection(openId).then((c) => { if (live) setDetail(c); });
    return () => { live = false; };
  }, [openId, store]);
  const closeDetail = () => {
    // The pane and its focused button go away: the focus returns to the list (with no row to
    // list, to the filters), not to the page.
    (tableBox.current?.querySelector<HTMLElement>('.vlist') ?? document.querySelector<HTMLElement>('[data-testid="filter-outcome"]'))?.focus();
    setSelectedIndex(null);
    setOpenId(null);
  };

  // A single match (e.g. "show this connection" from elsewhere) opens straight away, once per
  // query: closed, it stays closed (it reopened at once, so neither Esc nor ✕ could close it).
  const autoOpened = useRef<number | null>(null);
  useEffect(() => {
    if (result?.count === 1 && selectedIndex === null && autoOpened.current !== result.queryId) {
      autoOpened.current = result.queryId;
      setSelectedIndex(0);
    }
  }, [result, selectedIndex]);

  const toggleSort = (key: SortKey) => setSort((s) => ({ key, descending: s.key === key ? !s.descending : false }));

  // The rows scroll sideways inside the list; the header sits outside it, so it follows the list's
  // scrollLeft (and the list follows the header when focus moves to a header cell out of view).
  const tableBox = useRef<HTMLDivElement>(null);
  const headRow = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const box = tableBox.current;
    if (!box) return;
    const onScroll = (e: Event) => {
      const head = headRow.current;
      const list = box.querySelector<HTMLElement>('.vlist');
      if (!head || !list) return;
      if (e.target === list && head.scrollLeft !== list.scrollLeft) head.scrollLeft = list.scrollLeft;
      else if (e.target === head && list.scrollLeft !== head.scrollLeft) list.scrollLeft = head.scrollLeft;
    };
    // Scroll events do not bubble, but they do pass ancestors in the capture phase.
    box.addEventListener('scroll', onScroll, true);
    return () => box.removeEventListener('scroll', onScroll, true);
  }, []);
  // A list mounted afresh (after "no match", or the detail pane changing the columns) starts at the left.
  useLayoutEffect(() => {
    const list = tableBox.current?.querySelector<HTMLElement>('.vlist');
    if (list && headRow.current && headRow.current.scrollLeft !== list.scrollLeft) headRow.current.scrollLeft = list.scrollLeft;
  });

  return (
    <div className="view connections-view" data-testid="view-connections">
      <FilterBar filter={filter} onChange={onFilterChange} />
      <div className="table-status" data-testid="table-status">
        <span data-testid="match-count">{result ? formatCount(result.count) : '…'}</span> of {formatCount(store.total)} connections
        {reportMode && model.connections.total > model.connections.rows.length
          ? <strong className="cap-note" data-testid="cap-note"> — this report lists {formatCount(model.connections.rows.length)} of {formatCount(model.connections.total)} connections ({model.connections.selection}); the charts and totals count all of them.</strong>
          : null}
      </div>
      <div className={detail ? 'table-and-detail with-detail' : 'table-and-detail'}
        // Esc closes the pane wherever the focus is, in it or in the table.
        onKeyDown={(e) => { if (e.key === 'Escape' && detail) { e.preventDefault(); closeDetail(); } }}>
        <div className="ctable" role="presentation" ref={tableBox}>
          <div className="ctable-head" role="row" ref={headRow} data-testid="connection-table-head">
            {COLUMNS.map((c) => (
              <button key={c.key} type="button" role="columnheader" className="th"
                aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'}
                onClick={() => toggleSort(c.key)} data-testid={`sort-${c.key}`}>
                {c.label}{sort.key === c.key ? (sort.descending ? ' ▼' : ' ▲') : ''}
              </button>
            ))}
          </div>
          {result && result.count === 0 ? (
            <div className="empty-table" role="status">No connection matches these filters.</div>
          ) : (
            <VirtualList
              rowCount={result?.count ?? 0}
              rowHeight={ROW_HEIGHT}
              onRangeChange={onRangeChange}
              selectedIndex={selectedIndex}
              onSelect={setSelectedIndex}
              ariaLabel="Connections"
              testId="connection-table"
              renderRow={(index) => <Row row={rowAt(index)} selected={index === selectedIndex} onClick={() => setSelectedIndex(index)} />}
            />
          )}
        </div>
        {detail ? <DetailPane connection={detail} onClose={closeDetail} /> : null}
      </div>
    </div>
  );
}

function Row({ row, selected, onClick }: { row: ConnectionRow | undefined; selected: boolean; onClick(): void }) {
  const { palette } = useView();
  if (!row) return <div className="vrow loading" />;
  return (
    <div className={selected ? 'vrow selected' : 'vrow'} onClick={onClick} data-testid="connection-row" data-id={row.id}>
      {/* Each cell's whole text on hover: a narrow column cuts addresses and reasons with an ellipsis. */}
      <span role="gridcell" className="mono" title={`${formatTime(row.startTime)} UTC`}>{formatTime(row.startTime)}</span>
      <span role="gridcell" className="mono" title={row.client}>{row.client}</span>
      <span role="gridcell" className="mono" title={row.server}>{row.server}</span>
      <span role="gridcell" className="sni" title={row.sni ?? ''}>{row.sni ?? '—'}</span>
      <span role="gridcell" title={OUTCOME_LABEL[row.outcome]}><Swatch color={palette.outcome[row.outcome]} /> {OUTCOME_LABEL[row.outcome]}</span>
      {row.randomSessionId
        ? <span role="gridcell" title={`${reasonLabel(row.reason)}: a TLS 1.3 client's random session ID (RFC 8446 §4.1.2), most likely no offer at all`}>{RANDOM_ID_LABEL}</span>
        : <span role="gridcell" title={reasonLabel(row.reason)}>{reasonLabel(row.reason)}</span>}
      <span role="gridcell" title={row.version ?? ''}>{row.version ?? '—'}</span>
      <span role="gridcell" className="num">{formatDelta(row.duration)}</span>
    </div>
  );
}

function FilterBar({ filter, onChange }: { filter: ConnectionFilter; onChange(f: ConnectionFilter): void }) {
  const { model } = useView();
  // Text fields apply after a short pause, so typing does not re-query a million rows per key.
  const [draft, setDraft] = useState({ sni: filter.sni, client: filter.client, from: timeText(filter.timeFrom), to: timeText(filter.timeTo) });
  // A filter changed elsewhere (a chart, Clear filters) shows in the fields; a time field whose
  // bound did not change keeps its text (a typo being fixed is not wiped by another filter's change).
  const shownFilter = useRef(filter);
  useEffect(() => {
    const before = shownFilter.current;
    shownFilter.current = filter;
    setDraft((d) => ({
      sni: filter.sni,
      client: filter.client,
      from: filter.timeFrom === before.timeFrom && filter !== before ? d.from : timeText(filter.timeFrom),
      to: filter.timeTo === before.timeTo && filter !== before ? d.to : timeText(filter.timeTo),
    }));
  }, [filter]);
  useEffect(() => {
    const timer = setTimeout(() => {
      // A bound that cannot be read keeps the last one that could (TimeField says it is ignored):
      // sent as "no bound", it dropped the bound and the field was emptied, typo and warning with it.
      const timeFrom = unreadableTime(draft.from) ? filter.timeFrom : parseTime(draft.from);
      const timeTo = unreadableTime(draft.to) ? filter.timeTo : parseTime(draft.to);
      if (draft.sni !== filter.sni || draft.client !== filter.client || timeFrom !== filter.timeFrom || timeTo !== filter.timeTo) {
        onChange({ ...filter, sni: draft.sni, client: draft.client, timeFrom, timeTo });
      }
    }, 250);
    return () => clearTimeout(timer);
  }, [draft]); // eslint-disable-line react-hooks/exhaustive-deps
  const reasons = model.overview.reasons.map((r) => r.reason);
  const active = JSON.stringify(filter) !== JSON.stringify(EMPTY_FILTER);
  return (
    <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter connections">
      <label>Outcome
        <select value={filter.outcome} onChange={(e) => onChange({ ...filter, outcome: e.target.value as Outcome | '' })} data-testid="filter-outcome">
          <option value="">any</option>
          {OUTCOMES.map((o) => <option key={o} value={o}>{OUTCOME_LABEL[o]}</option>)}
        </select>
      </label>
      <label>Reason
        <select value={filter.reason} onChange={(e) => onChange({ ...filter, reason: e.target.value })} data-testid="filter-reason"
          disabled={reasons.length === 0 && filter.reason === ''} title={reasons.length === 0 ? 'No refusal or forgotten session to give a reason for' : undefined}>
          <option value="">any</option>
          {reasons.map((r) => <option key={r} value={r}>{REASON_LABEL[r] ?? r}</option>)}
        </select>
      </label>
      <label>Server
        <select value={filter.server} onChange={(e) => onChange({ ...filter, server: e.target.value })} data-testid="filter-server">
          <option value="">any</option>
          {filter.server !== '' && !model.servers.some((s) => s.group === filter.server) ? <option value={filter.server}>{filter.server}</option> : null}
          {model.servers.map((s) => <option key={s.group} value={s.group}>{s.group}</option>)}
        </select>
      </label>
      <label>SNI
        <input type="search" value={draft.sni} placeholder="contains" onChange={(e) => setDraft({ ...draft, sni: e.target.value })} data-testid="filter-sni" />
      </label>
      <label>Client
        <input type="search" value={draft.client} placeholder="address" onChange={(e) => setDraft({ ...draft, client: e.target.value })} data-testid="filter-client" />
      </label>
      <TimeField label="From (UTC)" text={draft.from} onChange={(from) => setDraft({ ...draft, from })} testId="filter-from" />
      <TimeField label="To (UTC)" text={draft.to} onChange={(to) => setDraft({ ...draft, to })} testId="filter-to" />
      {filter.ids.length > 0 ? <span className="tag">{filter.ids.length} chosen connection{filter.ids.length === 1 ? '' : 's'}</span> : null}
      {filter.offers !== null ? (
        <span className="tag" data-testid="filter-offers" data-metric={filter.offers.metric} data-bin={filter.offers.bin} data-bin-width={filter.offers.binWidth} data-bin-count={filter.offers.binCount}>
          offers with {filter.offers.text}{' '}
          <button type="button" className="tag-remove" aria-label="Remove this filter" title="Remove this filter" onClick={() => onChange({ ...filter, offers: null })}>✕</button>
        </span>
      ) : null}
      {active ? <button type="button" className="button" onClick={() => onChange(EMPTY_FILTER)}>Clear filters</button> : null}
    </form>
  );
}

/**
 * A time bound typed as text. One that cannot be read leaves the last readable bound (or none) in
 * force, and the field says so (a typo was ignored silently, every connection shown as if within
 * the bounds).
 */
function TimeField({ label, text, onChange, testId }: { label: string; text: string; onChange(text: string): void; testId: string }) {
  const unreadable = unreadableTime(text);
  return (
    <label>{label}
      <input type="text" value={text} placeholder="YYYY-MM-DD hh:mm:ss" onChange={(e) => onChange(e.target.value)}
        className={unreadable ? 'time-input invalid' : 'time-input'} aria-invalid={unreadable} data-testid={testId}
        title={unreadable ? 'Not a time: write it as YYYY-MM-DD hh:mm:ss (UTC); until then the last readable bound (or none) stands' : undefined} />
      {unreadable ? <span className="field-error" role="alert" data-testid={`${testId}-error`}>not a time (YYYY-MM-DD hh:mm:ss): the last readable bound stands</span> : null}
    </label>
  );
}

/** Text typed as a time bound that cannot be read (empty text is no bound, not unreadable). */
function unreadableTime(text: string): boolean {
  return text.trim() !== '' && parseTime(text) === null;
}

function timeText(t: number | null): string {
  return t === null ? '' : formatTime(t);
}

function DetailPane({ connection, onClose }: { connection: ConnectionRecord; onClose(): void }) {
  const { showClient } = useView();
  const [copied, setCopied] = useState(false);
  useEffect(() => setCopied(false), [connection]);
  return (
    <aside className="detail" aria-label={`Connection ${connection.id}`} data-testid="detail-pane">
      <header className="detail-head">
        <h2>Connection {connection.id}</h2>
        <div className="detail-actions">
          <button type="button" className="button" data-testid="copy-filter" onClick={() => void copyText(connection.wiresharkFilter).then(setCopied)}>
            {copied ? 'Copied' : 'Copy Wireshark filter'}
          </button>
          <button type="button" className="button" onClick={() => showClient(clientAddress(connection))}>This client's sessions</button>
          <button type="button" className="button icon" aria-label="Close detail" onClick={onClose}>✕</button>
        </div>
      </header>
      <code className="filter-text" data-testid="wireshark-filter">{connection.wiresharkFilter}</code>
      {connection.reason ? <p className="reason-line"><strong>{reasonLabel(connection.reason)}:</strong> {connection.reasonDetail}</p> : null}
      <HandshakeLadder connection={connection} />
      <h3 className="subhead">Every field</h3>
      <dl className="fields" data-testid="fields">
        {Object.entries(connection).map(([key, value]) => (
          <div key={key} className="field">
            <dt>{key}</dt>
            <dd className="mono">{fieldText(key, value)}</dd>
          </div>
        ))}
      </dl>
    </aside>
  );
}

function fieldText(key: string, value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number' && /Time$/.test(key)) return `${value} (${formatTime(value)} UTC)`;
  if (typeof value === 'object') return JSON.stringify(value, null, 1);
  return String(value);
}
