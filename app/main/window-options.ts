// The Electron window's security settings, in a module without side effects and without
// Electron values (types only), so a plain unit test can import and check them.
import type { BrowserWindowConstructorOptions, Event as ElectronEvent, HandlerDetails, WindowOpenHandlerResponse } from 'electron';

/** The UI is served by the app's own privileged scheme, never from the network or file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'resumescope';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_START_URL = `${APP_ORIGIN}/index.html`;

import { CONTENT_SECURITY_POLICY } from '../shared/content-security-policy.js';

export { CONTENT_SECURITY_POLICY };

export function createWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'resumescope',
    show: false,
    backgroundColor: '#12151b',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  };
}

/** Only the app's own pages; everything else (links in capture data, drops of files) is refused. */
export function isAllowedNavigation(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

/** The parts of webContents the hardening touches (a structural type, so tests can pass a fake). */
export interface HardenableContents {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: ElectronEvent, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: ElectronEvent) => void): unknown;
  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void;
}

export function hardenWebContents(contents: HardenableContents): void {
  const refuseForeign = (event: ElectronEvent, url: string) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  };
  contents.on('will-navigate', refuseForeign);
  contents.on('will-redirect', refuseForeign);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** Permissions the page may get: clipboard writes (Copy Wireshark filter), nothing else. */
export function isPermissionAllowed(permission: string): boolean {
  return permission === 'clipboard-sanitized-write';
}
