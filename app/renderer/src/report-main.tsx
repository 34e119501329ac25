// The HTML report entry: the same views over the analysis embedded in the page as JSON
// (<script id="report-data" type="application/json">), read as text, never evaluated.
import { createRoot } from 'react-dom/client';
import type { ReportModel } from '../../../parser/report/report-model.js';
import { App } from './app.js';
import { LocalConnectionStore } from './data/store.js';
import './styles.css';

const data = document.getElementById('report-data')?.textContent ?? '';
const root = createRoot(document.getElementById('root')!);
try {
  const model = JSON.parse(data) as ReportModel;
  root.render(<App mode="report" model={model} store={new LocalConnectionStore(model.connections.rows)} />);
} catch (e) {
  root.render(<p>This report holds no readable analysis ({e instanceof Error ? e.message : String(e)}).</p>);
}
