import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from 'react';
import { connectionsToCsv } from '../../../parser/report/csv.js';
import type { ReportModel } from '../../../parser/report/report-model.js';
import { exportBaseName, fillReportTemplate, reportFileName } from '../../report/report-html.js';
import { EMPTY_FILTER, type ConnectionFilter } from './data/connection-query.js';
import { formatBytes, formatCount } from './data/format.js';
import { electronBridge, hostedCaptures, saveToFile } from './data/host.js';
import type { ConnectionStore } from './data/store.js';
import type { AnalysisWorkerClient } from './data/worker-client.js';
import type { AnalysisProgress, CaptureSource } from './worker/protocol.js';
import { ClientsView } from './views/clients.js';
import { VIEWS, ViewContextValue, type ViewContext, type ViewName } from './views/common.js';
import { ConnectionsView } from './views/connections.js';
import { OverviewView } from './views/overview.js';
import { ReuseGapView } from './views/reuse-gap.js';
import { ServersView } from './views/servers.js';
import { PALETTES, type ThemeName } from './views/theme.js';
import { TimelineView } from './views/timeline.js';

const REPORT_CONNECTION_CAP = 20_000;
const DEFAULT_STATE_NAME = 'resumescope.state';

/** A --state file, by its name. */
function isStateName(name: string): boolean {
  return name.toLowerCase().endsWith('.state');
}

/**
 * Files opened together: captures, and at most one state file of their series (as --state). What
 * is wrong with the choice, or null.
 */
function seriesProblem(stateNames: string[], captureCount: number): string | null {
  if (stateNames.length > 1) return `Open one state file at a time (${stateNames.join(', ')}): it holds the sessions of every earlier capture of its series.`;
  if (stateNames.length === 1 && captureCount === 0) return `${stateNames[0]} holds sessions carried from earlier captures: open it together with the capture files that follow them.`;
  return null;
}

type Phase =
  | { kind: 'empty' }
  | { kind: 'analysing'; progress: AnalysisProgress | null; names: string[] }
  | { kind: 'ready'; model: ReportModel; problems: { file: string; reason: string }[] }
  | { kind: 'failed'; message: string };

export type AppProps =
  | { mode: 'live'; worker: AnalysisWorkerClient }
  | { mode: 'report'; model: ReportModel; store: ConnectionStore };

export function App(props: AppProps) {
  const [theme, setTheme] = useTheme();
  const [phase, setPhase] = useState<Phase>(props.mode === 'report' ? { kind: 'ready', model: props.model, problems: [] } : { kind: 'empty' });
  const [view, setView] = useState<ViewName>('overview');
  const [filter, setFilter] = useState<ConnectionFilter>(EMPTY_FILTER);
  const [client, setClient] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const worker = props.mode === 'live' ? props.worker : null;

  // The name a saved state file is offered under: the one opened with the captures (a series keeps one file), else a default.
  const [stateName, setStateName] = useState(DEFAULT_STATE_NAME);

  const analyse = useCallback((sources: CaptureSource[], state: File | null = null) => {
    if (!worker || sources.length === 0) return;
    const names = sources.map((s) => (s.kind === 'file' ? s.file.name : s.name));
    setPhase({ kind: 'analysing', progress: null, names });
    setFilter(EMPTY_FILTER);
    setClient(null);
    setView('overview');
    setNotice(null);
    setStateName(state?.name ?? DEFAULT_STATE_NAME);
    worker.analyze(sources, state, {
      onProgress: (progress) => setPhase({ kind: 'analysing', progress, names }),
      onDone: (model, problems) => setPhase({ kind: 'ready', model, problems }),
      onHashes: (files) => setPhase((p) => (p.kind === 'ready' ? { ...p, model: { ...p.model, files } } : p)),
      onCancelled: () => setPhase({ kind: 'empty' }),
      onFailed: (message) => setPhase({ kind: 'failed', message }),
    });
  }, [worker]);

  const openHosted = useCallback(async () => {
    const list = await hostedCaptures();
    const states = list.filter((c) => isStateName(c.name));
    const captures = list.filter((c) => !isStateName(c.name));
    const problem = seriesProblem(states.map((c) => c.name), captures.length);
    if (problem !== null) {
      setNotice(problem);
      return;
    }
    // Absolute URLs: the worker resolves relative ones against its own script (assets/), not the page.
    const absolute = (url: string) => new URL(url, location.href).href;
    let state: File | null = null;
    if (states.length === 1) {
      const response = await fetch(absolute(states[0]!.url));
      if (!response.ok) {
        setNotice(`${states[0]!.name}: could not be read (HTTP ${response.status})`);
        return;
      }
      state = new File([await response.blob()], states[0]!.name);
    }
    analyse(captures.map((c) => ({ kind: 'url', url: absolute(c.url), name: c.name, size: c.size, firstPacketTime: c.firstPacketTime, readGroup: c.readGroup, ...(c.clockOffset ? { clockOffset: c.clockOffset } : {}) })), state);
  }, [analyse]);

  // Captures given on the command line (ui server, Electron) are analysed on start.
  useEffect(() => {
    if (props.mode === 'live') void openHosted();
  }, [props.mode, openHosted]);

  const exportReport = useCallback(async () => {
    if (!worker || phase.kind !== 'ready') return;
    try {
      setNotice('Building the report…');
      const [model, template] = await Promise.all([
        worker.reportModel(REPORT_CONNECTION_CAP),
        fetch('report-template.html').then((r) => {
          if (!r.ok) throw new Error(`report template not found (HTTP ${r.status})`);
          return r.text();
        }),
      ]);
      const saved = await saveToFile(reportFileName(model), 'text/html', { name: 'HTML report', extensions: ['html'] }, fillReportTemplate(template, model));
      setNotice(saved ? `Report saved: ${saved}` : null);
    } catch (e) {
      setNotice(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, [worker, phase.kind]);

  const exportJson = useCallback(async () => {
    if (!worker || phase.kind !== 'ready') return;
    const document = await worker.document();
    const saved = await saveToFile(`${exportBaseName(document.captures[0]?.file)}.json`, 'application/json', { name: 'JSON', extensions: ['json'] }, JSON.stringify(document, null, 1) + '\n');
    setNotice(saved ? `JSON saved: ${saved}` : null);
  }, [worker, phase.kind]);

  const exportCsv = useCallback(async () => {
    if (!worker || phase.kind !== 'ready') return;
    const document = await worker.document();
    const saved = await saveToFile(`${exportBaseName(document.captures[0]?.file)}-connections.csv`, 'text/csv', { name: 'CSV', extensions: ['csv'] }, connectionsToCsv(document.connections));
    setNotice(saved ? `CSV saved: ${saved}` : null);
  }, [worker, phase.kind]);

  const saveState = useCallback(async () => {
    if (!worker || phase.kind !== 'ready') return;
    try {
      const bytes = await worker.stateFile();
      const saved = await saveToFile(stateName, 'application/octet-stream', { name: 'resumescope state', extensions: ['state'] }, bytes);
      setNotice(saved ? `Sessions saved: ${saved} — open it with the next capture of this series` : null);
    } catch (e) {
      setNotice(`Saving the sessions failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, [worker, phase.kind, stateName]);

  /** Files picked or dropped: captures, and at most one state file of the same series (as --state). */
  const openFiles = (list: File[]) => {
    const states = list.filter((f) => isStateName(f.name));
    const captures = list.filter((f) => !isStateName(f.name));
    const problem = seriesProblem(states.map((f) => f.name), captures.length);
    if (problem !== null) setNotice(problem);
    else analyse(captures.map((file) => ({ kind: 'file', file })), states[0] ?? null);
  };

  // Electron: File › Open (the hosted list changed) and File › Export report.
  useEffect(() => {
    const bridge = electronBridge();
    if (!bridge || props.mode !== 'live') return;
    const offOpen = bridge.onCapturesChanged(() => void openHosted());
    const offExport = bridge.onExportReport(() => void exportReport());
    return () => { offOpen(); offExport(); };
  }, [props.mode, openHosted, exportReport]);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    if (props.mode !== 'live') return;
    openFiles([...e.dataTransfer.files]);
  };

  const store: ConnectionStore | null = props.mode === 'report' ? props.store : worker;
  const context: ViewContext | null = useMemo(() => {
    if (phase.kind !== 'ready' || store === null) return null;
    return {
      model: phase.model,
      store,
      palette: PALETTES[theme],
      reportMode: props.mode === 'report',
      showConnections: (partial) => {
        setFilter({ ...EMPTY_FILTER, ...partial });
        setView('connections');
      },
      showClient: (ip) => {
        setClient(ip);
        setView('clients');
      },
    };
  }, [phase, store, theme, props.mode]);

  const files = phase.kind === 'ready' ? phase.model.files.map((f) => f.name.replace(/^.*[\\/]/, '')) : [];
  return (
    <div className={dragging ? 'app dragging' : 'app'} data-theme={theme}
      onDragOver={(e) => { if (props.mode === 'live') { e.preventDefault(); setDragging(true); } }}
      onDragLeave={(e) => { if (e.currentTarget === e.target) setDragging(false); }}
      onDrop={onDrop}>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">◔</span>
          <h1>resumescope</h1>
          {props.mode === 'report' ? <span className="tag">report</span> : null}
        </div>
        <div className="files" title={files.join('\n')} data-testid="file-names">{files.length > 0 ? files.join(', ') : null}</div>
        <div className="actions">
          {props.mode === 'live' ? (
            <>
              <input ref={fileInput} type="file" multiple className="offscreen" data-testid="file-input" aria-label="Open capture files" tabIndex={-1}
                accept=".pcap,.pcapng,.cap,.gz,.pcap.gz,.pcapng.gz,.state,application/vnd.tcpdump.pcap"
                onChange={(e) => {
                  const list = [...(e.target.files ?? [])];
                  e.target.value = '';
                  openFiles(list);
                }} />
              <button type="button" className="button primary" onClick={() => fileInput.current?.click()} data-testid="open-button">Open captures…</button>
              <button type="button" className="button" disabled={phase.kind !== 'ready'} onClick={() => void exportReport()} data-testid="export-report">Export report</button>
              <button type="button" className="button" disabled={phase.kind !== 'ready'} onClick={() => void exportJson()} data-testid="export-json">Export JSON</button>
              <button type="button" className="button" disabled={phase.kind !== 'ready'} onClick={() => void exportCsv()} data-testid="export-csv">Export CSV</button>
              <button type="button" className="button" disabled={phase.kind !== 'ready'} onClick={() => void saveState()} data-testid="save-state"
                title="Save the sessions this analysis ends with, to open with the next capture of the series (as the CLI's --state)">Save sessions</button>
            </>
          ) : null}
          <button type="button" className="button icon" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} data-testid="theme-toggle"
            aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`} title={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}>
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </div>
      </header>
      {notice ? <div className="notice" role="status" data-testid="notice">{notice} <button type="button" className="link" onClick={() => setNotice(null)}>dismiss</button></div> : null}
      {phase.kind === 'ready' && phase.problems.length > 0 ? (
        <div className="notice error" role="alert">{phase.problems.map((p) => `${p.file}: ${p.reason}`).join('; ')}</div>
      ) : null}
      {phase.kind === 'empty' ? <Welcome onOpen={() => fileInput.current?.click()} /> : null}
      {phase.kind === 'analysing' ? <Progress progress={phase.progress} names={phase.names} onCancel={() => worker?.cancel()} /> : null}
      {phase.kind === 'failed' ? (
        <div className="empty-state" role="alert"><h2>The analysis failed</h2><p>{phase.message}</p></div>
      ) : null}
      {context ? (
        <ViewContextValue.Provider value={context}>
          <Tabs view={view} onChange={setView} />
          <main className="main" id={`panel-${view}`} role="tabpanel" aria-labelledby={`tab-${view}`}>
            {view === 'overview' ? <OverviewView /> : null}
            {view === 'timeline' ? <TimelineView /> : null}
            {view === 'reuse' ? <ReuseGapView /> : null}
            {view === 'servers' ? <ServersView /> : null}
            {view === 'clients' ? <ClientsView selected={client} onSelect={setClient} /> : null}
            {view === 'connections' ? <ConnectionsView filter={filter} onFilterChange={setFilter} /> : null}
          </main>
        </ViewContextValue.Provider>
      ) : null}
      {dragging ? <div className="drop-overlay" aria-hidden="true">Drop capture files to analyse them together</div> : null}
    </div>
  );
}

function Tabs({ view, onChange }: { view: ViewName; onChange(v: ViewName): void }) {
  const refs = useRef(new Map<ViewName, HTMLButtonElement>());
  const onKeyDown = (e: KeyboardEvent) => {
    const index = VIEWS.findIndex((v) => v.name === view);
    let next = -1;
    if (e.key === 'ArrowRight') next = (index + 1) % VIEWS.length;
    else if (e.key === 'ArrowLeft') next = (index - 1 + VIEWS.length) % VIEWS.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = VIEWS.length - 1;
    else return;
    e.preventDefault();
    const target = VIEWS[next]!.name;
    onChange(target);
    refs.current.get(target)?.focus();
  };
  return (
    <nav className="tabs" role="tablist" aria-label="Views" onKeyDown={onKeyDown}>
      {VIEWS.map((v) => (
        <button key={v.name} ref={(el) => { if (el) refs.current.set(v.name, el); }} type="button" role="tab" id={`tab-${v.name}`}
          aria-selected={view === v.name} aria-controls={`panel-${v.name}`} tabIndex={view === v.name ? 0 : -1}
          className={view === v.name ? 'tab active' : 'tab'} onClick={() => onChange(v.name)} data-testid={`tab-${v.name}`}>
          {v.label}
        </button>
      ))}
    </nav>
  );
}

function Welcome({ onOpen }: { onOpen(): void }) {
  return (
    <div className="welcome" data-testid="welcome">
      <h2>Why does TLS session resumption fail?</h2>
      <p>Open one or more packet captures (pcap, pcapng, optionally .gz). Several files are analysed as one capture, in the order of their first packet.
        The analysis runs in your browser: nothing is uploaded.</p>
      <p className="muted">Captures of a series analysed one at a time: <em>Save sessions</em> after each, and open the saved .state file with the next
        capture, so that sessions issued in earlier captures are known (as the CLI's --state).</p>
      <button type="button" className="button primary big" onClick={onOpen}>Open captures…</button>
      <p className="muted">or drop files anywhere in this window</p>
    </div>
  );
}

function Progress({ progress, names, onCancel }: { progress: AnalysisProgress | null; names: string[]; onCancel(): void }) {
  const diagnosing = progress?.diagnosisDone !== undefined;
  const fraction = diagnosing ? progress!.diagnosisDone! : progress && progress.bytesTotal > 0 ? Math.min(1, progress.bytesRead / progress.bytesTotal) : 0;
  return (
    <div className="progress-panel" data-testid="progress" role="status" aria-live="polite">
      <h2>Analysing {names.length === 1 ? names[0] : `${names.length} files`}…</h2>
      <progress max={1} value={fraction} aria-label={diagnosing ? 'diagnosis' : 'bytes read'} data-testid="progress-bar" />
      <p className="muted">
        {progress?.diagnosis !== undefined ? `${formatBytes(progress.bytesTotal)} read · diagnosing ${formatCount(progress.connections)} connections: ${progress.diagnosis}`
          : progress ? `${formatBytes(progress.bytesRead)} of ${formatBytes(progress.bytesTotal)} read · ${formatCount(progress.connections)} connections so far · file ${progress.fileIndex + 1} of ${progress.fileCount}` : 'Starting…'}
      </p>
      <button type="button" className="button" onClick={onCancel} data-testid="cancel">Cancel</button>
    </div>
  );
}

function useTheme(): [ThemeName, (t: ThemeName) => void] {
  const [theme, setThemeState] = useState<ThemeName>(() => {
    const forced = new URLSearchParams(location.search).get('theme');
    if (forced === 'light' || forced === 'dark') return forced;
    try {
      const saved = localStorage.getItem('resumescope-theme');
      if (saved === 'light' || saved === 'dark') return saved;
    } catch {
      // Storage can be unavailable (file:// in some browsers): fall back to the system preference.
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  });
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const setTheme = (t: ThemeName) => {
    setThemeState(t);
    try {
      localStorage.setItem('resumescope-theme', t);
    } catch {
      // Not persisted: fine.
    }
  };
  return [theme, setTheme];
}
