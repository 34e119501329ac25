// The main process's side of the page's "save" (reports, JSON, CSV, a state file's bytes): a save
// dialog, then the content written as it came. No Electron import, so that it can be tested where
// no Electron binary runs (these machines): main.ts hands it the dialog and the file writer.
import { basename } from 'node:path';
import type { SaveFileRequest, SaveFileResult } from '../shared/ipc.js';

export interface SaveDialogOptions {
  title: string;
  defaultPath: string;
  filters: { name: string; extensions: string[] }[];
}

export interface SaveFileHost {
  /** Electron's dialog.showSaveDialog for the window. */
  showSaveDialog(options: SaveDialogOptions): Promise<{ canceled: boolean; filePath?: string }>;
  writeFile(path: string, content: string | Uint8Array): Promise<void>;
}

/**
 * A request from the page, checked as untrusted input: text or bytes only (IPC's structured
 * clone keeps a Uint8Array a Uint8Array), a suggested name reduced to a file name (no folder of
 * the page's choosing), and a filter of text. Nothing is written unless the user picks a path.
 */
export async function saveFromPage(request: unknown, host: SaveFileHost): Promise<SaveFileResult> {
  const r = request as Partial<SaveFileRequest> | null;
  if (r === null || typeof r !== 'object') return { saved: false };
  const content = r.content;
  if (typeof content !== 'string' && !(content instanceof Uint8Array)) return { saved: false };
  const filter = r.filter && typeof r.filter === 'object' && Array.isArray(r.filter.extensions)
    ? { name: String(r.filter.name), extensions: r.filter.extensions.map(String) }
    : { name: 'All files', extensions: ['*'] };
  const result = await host.showSaveDialog({
    title: 'Export',
    // Both separators: a name from the page may be written for another system's paths.
    defaultPath: basename(String(r.suggestedName || 'resumescope-report.html').replace(/\\/g, '/')) || 'resumescope-report.html',
    filters: [filter],
  });
  if (result.canceled || !result.filePath) return { saved: false };
  await host.writeFile(result.filePath, content);
  return { saved: true, path: result.filePath };
}
