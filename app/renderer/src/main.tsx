// The app entry (Electron, `resumescope ui`): analysis in a Web Worker.
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { AnalysisWorkerClient } from './data/worker-client.js';
import './styles.css';

createRoot(document.getElementById('root')!).render(<App mode="live" worker={new AnalysisWorkerClient()} />);
