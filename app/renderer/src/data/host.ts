// What the page runs inside: Electron (preload bridge), the `resumescope ui` server, or a plain
// file (the HTML report). The first two serve the command-line captures at /api/captures.
import { CAPTURES_API, type HostedCapture, type ResumescopeBridge } from '../../../shared/ipc.js';

declare global {
  interface Window {
    resumescope?: ResumescopeBridge;
  }
}

export function electronBridge(): ResumescopeBridge | null {
  return typeof window !== 'undefined' && window.resumescope ? window.resumescope : null;
}

/** Captures given on the command line (or File › Open in Electron); empty when there is no host. */
export async function hostedCaptures(): Promise<HostedCapture[]> {
  if (location.protocol === 'file:') return [];
  try {
    const response = await fetch(CAPTURES_API, { headers: { accept: 'application/json' } });
    if (!response.ok) return [];
    const list = (await response.json()) as unknown;
    return Array.isArray(list) ? (list as HostedCapture[]) : [];
  } catch {
    return [];
  }
}

/** Saves text (or bytes) through Electron's save dialog, or as a browser download. */
export async function saveToFile(suggestedName: string, mime: string, filter: { name: string; extensions: string[] }, content: string | Uint8Array): Promise<string | null> {
  const bridge = electronBridge();
  if (bridge) {
    const result = await bridge.saveFile({ suggestedName, filter, content });
    return result.saved ? result.path : null;
  }
  const url = URL.createObjectURL(new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type: mime }));
  const link = document.createElement('a');
  link.href = url;
  link.download = suggestedName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return suggestedName;
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (no permission, not focused): the old way through a hidden field.
    const field = document.createElement('textarea');
    field.value = text;
    field.setAttribute('readonly', '');
    field.className = 'offscreen';
    document.body.appendChild(field);
    field.select();
    const ok = document.execCommand('copy');
    field.remove();
    return ok;
  }
}
