// The Electron shell cannot run here (no binary), so its hardening is checked statically: the
// window options and handlers come from a side-effect-free module, and main.ts must use them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  APP_START_URL, CONTENT_SECURITY_POLICY, createWindowOptions, hardenWebContents, isAllowedNavigation, isPermissionAllowed, type HardenableContents,
} from '../../app/main/window-options.js';
import { ROOT } from './support.js';

describe('Electron window hardening', () => {
  const options = createWindowOptions('/app/dist/app/preload/preload.cjs');
  const prefs = options.webPreferences!;

  it('isolates and sandboxes the page', () => {
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
    expect(prefs.webSecurity).toBe(true);
    expect(prefs.allowRunningInsecureContent).toBe(false);
    expect(prefs.webviewTag).toBe(false);
    expect(prefs.preload).toMatch(/preload\.cjs$/);
  });

  it('has a strict content security policy', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
  });

  it('blocks navigation away from the app, new windows and webviews', () => {
    const listeners = new Map<string, (event: { preventDefault(): void }, url?: string) => void>();
    let openHandler: ((details: { url: string }) => { action: string }) | null = null;
    const fake = {
      on: (event: string, listener: (event: { preventDefault(): void }, url?: string) => void) => listeners.set(event, listener),
      setWindowOpenHandler: (handler: (details: { url: string }) => { action: string }) => { openHandler = handler; },
    } as unknown as HardenableContents;
    hardenWebContents(fake);
    const attempt = (event: string, url?: string) => {
      let prevented = false;
      listeners.get(event)!({ preventDefault: () => { prevented = true; } }, url);
      return prevented;
    };
    expect(attempt('will-navigate', 'https://evil.example/')).toBe(true);
    expect(attempt('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(attempt('will-redirect', 'http://127.0.0.1:8080/')).toBe(true);
    expect(attempt('will-navigate', APP_START_URL)).toBe(false);
    expect(attempt('will-attach-webview')).toBe(true);
    expect(openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(openHandler!({ url: APP_START_URL })).toEqual({ action: 'deny' });
    expect(isAllowedNavigation('app://resumescope.evil/index.html')).toBe(false);
    expect(isPermissionAllowed('clipboard-sanitized-write')).toBe(true);
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen']) expect(isPermissionAllowed(p)).toBe(false);
  });

  it('main.ts and the preload use these settings and expose only the typed bridge', () => {
    const main = readFileSync(join(ROOT, 'app/main/main.ts'), 'utf8');
    expect(main).toMatch(/new BrowserWindow\(createWindowOptions\(PRELOAD\)\)/);
    expect(main).toMatch(/app\.on\('web-contents-created', \(_event, contents\) => hardenWebContents\(contents\)\)/);
    expect(main).toMatch(/setPermissionRequestHandler/);
    expect(main).toMatch(/webRequest\.onBeforeRequest/); // no remote content
    expect(main).not.toMatch(/loadURL\(['"`]https?:/);
    expect(main).not.toMatch(/shell\.openExternal/);
    const preload = readFileSync(join(ROOT, 'app/preload/preload.cts'), 'utf8');
    expect(preload).toMatch(/contextBridge\.exposeInMainWorld\('resumescope', bridge\)/);
    expect(preload).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*\)/);
    expect(preload).not.toMatch(/require\(/);
    // The sandboxed preload must be CommonJS and require nothing but electron.
    const built = readFileSync(join(ROOT, 'dist/app/preload/preload.cjs'), 'utf8');
    expect([...built.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual(['electron']);
  });
});
