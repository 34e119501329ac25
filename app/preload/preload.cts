// The bridge between the sandboxed page and the main process: exactly the operations of
// app/shared/ipc.ts, nothing else (no ipcRenderer, no Node). CommonJS (.cts) because sandboxed
// preloads cannot be ES modules, and it may require only 'electron': the channel map is types only.
import { contextBridge, ipcRenderer } from 'electron';
import type { EventChannel, InvokeChannel, InvokeChannels, ResumescopeBridge, SaveFileRequest } from '../shared/ipc.js' with { 'resolution-mode': 'import' };

function invoke<K extends InvokeChannel>(channel: K, request: InvokeChannels[K]['request']): Promise<InvokeChannels[K]['result']> {
  return ipcRenderer.invoke(channel, request) as Promise<InvokeChannels[K]['result']>;
}

function subscribe(channel: EventChannel, listener: () => void): () => void {
  const wrapped = () => listener();
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.removeListener(channel, wrapped);
  };
}

const bridge: ResumescopeBridge = {
  saveFile: (request: SaveFileRequest) => invoke('resumescope:save-file', {
    suggestedName: String(request.suggestedName),
    filter: { name: String(request.filter.name), extensions: request.filter.extensions.map(String) },
    content: request.content instanceof Uint8Array ? new Uint8Array(request.content) : String(request.content),
  }),
  onCapturesChanged: (listener) => subscribe('resumescope:captures-changed', listener),
  onExportReport: (listener) => subscribe('resumescope:export-report', listener),
};

contextBridge.exposeInMainWorld('resumescope', bridge);
