// The one typed channel map between the Electron main process and the web UI (via the preload
// bridge). Main, preload and renderer all type-check against these names and shapes.

import type { ClockOffset } from '../../parser/clock-offset.js';

export interface SaveFileRequest {
  /** Suggested file name, e.g. "resumescope-report.html". */
  suggestedName: string;
  /** Dialog filter, e.g. { name: 'HTML report', extensions: ['html'] }. */
  filter: { name: string; extensions: string[] };
  /** Text (reports, JSON, CSV) or bytes (a state file). */
  content: string | Uint8Array;
}

export type SaveFileResult = { saved: true; path: string } | { saved: false };

/** renderer → main, request/response (ipcRenderer.invoke / ipcMain.handle). */
export interface InvokeChannels {
  'resumescope:save-file': { request: SaveFileRequest; result: SaveFileResult };
}

/** main → renderer notifications (webContents.send / ipcRenderer.on); no payload. */
export interface EventChannels {
  /** The list behind /api/captures changed (File › Open): analyse it. */
  'resumescope:captures-changed': null;
  /** File › Export report was chosen. */
  'resumescope:export-report': null;
}

export type InvokeChannel = keyof InvokeChannels;
export type EventChannel = keyof EventChannels;

/** What the preload exposes as window.resumescope (contextBridge). */
export interface ResumescopeBridge {
  saveFile(request: SaveFileRequest): Promise<SaveFileResult>;
  onCapturesChanged(listener: () => void): () => void;
  onExportReport(listener: () => void): () => void;
}

/** One capture the host (ui server or Electron) offers at /api/captures. */
/** How the host that serves captures to the app planned their reading (hostedReading). */
export interface HostedReading {
  /** Epoch seconds of the first packet, as the file holds it (orders the files as the CLI does), null when unknown. */
  firstPacketTime: number | null;
  /**
   * Captures of one group hold the same connections (a file per direction of a tap): the app reads
   * them merged by packet time, as the CLI does (parser/merged-reading.ts).
   */
  readGroup: number;
  /** The capture's clock is off against another of its group's: the shift of its packet times (parser/clock-offset.ts). */
  clockOffset?: ClockOffset;
}

export interface HostedCapture extends HostedReading {
  id: string;
  name: string;
  size: number;
  /** Where its bytes are served, relative to the page. */
  url: string;
}

export const CAPTURES_API = '/api/captures';
