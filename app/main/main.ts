// The Electron shell: one hardened window showing the same web UI as `resumescope ui`, served by
// the app:// scheme together with /api/captures (command-line files and File › Open). Thin on
// purpose: analysis, views and the report all live in the web UI.
import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, session, type MenuItemConstructorOptions } from 'electron';
import { writeFile } from 'node:fs/promises';
import { basename, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hostedReading, resolveInputs } from '../node/analyze-files.js';
import { CAPTURES_API, type EventChannel, type HostedCapture, type InvokeChannels } from '../shared/ipc.js';
import { saveFromPage } from './save-file.js';
import {
  APP_HOST, APP_ORIGIN, APP_SCHEME, APP_START_URL, CONTENT_SECURITY_POLICY, createWindowOptions, hardenWebContents, isAllowedNavigation, isPermissionAllowed,
} from './window-options.js';

const UI_ROOT = fileURLToPath(new URL('../../../dist-ui/', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../preload/preload.cjs', import.meta.url));

// Must precede 'ready': app:// behaves like https (secure context, fetch, streams) for the UI and its worker.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
]);

/** The captures the page may read: only what the user named on the command line or chose in File › Open. */
let captures: (HostedCapture & { path: string })[] = [];
let nextCaptureId = 0;
let mainWindow: BrowserWindow | null = null;

async function setCaptures(paths: string[]): Promise<void> {
  const { files } = await resolveInputs(paths);
  const readable = files.filter((f) => !f.stream);
  const reading = await hostedReading(readable.map((f) => f.path));
  captures = readable.map((f, i) => {
    const id = String(nextCaptureId++);
    return { id, name: basename(f.path), size: f.size, ...reading[i]!, url: `${CAPTURES_API.slice(1)}/${id}`, path: f.path };
  });
}

function withSecurityHeaders(response: Response, contentType?: string): Response {
  const headers = new Headers(response.headers);
  headers.set('content-security-policy', CONTENT_SECURITY_POLICY);
  headers.set('x-content-type-options', 'nosniff');
  if (contentType) headers.set('content-type', contentType);
  return new Response(response.body, { status: response.status, headers });
}

async function serveAppRequest(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host !== APP_HOST) return new Response('not found', { status: 404 });
  const path = decodeURIComponent(url.pathname);
  if (path === CAPTURES_API) {
    const list: HostedCapture[] = captures.map(({ path: _path, ...c }) => c);
    return withSecurityHeaders(new Response(JSON.stringify(list)), 'application/json');
  }
  if (path.startsWith(CAPTURES_API + '/')) {
    const capture = captures.find((c) => c.id === path.slice(CAPTURES_API.length + 1));
    if (!capture) return new Response('no such capture', { status: 404 });
    return withSecurityHeaders(await net.fetch(pathToFileURL(capture.path).href), 'application/octet-stream');
  }
  const file = normalize(join(UI_ROOT, path === '/' ? 'index.html' : path.slice(1)));
  if (!file.startsWith(normalize(UI_ROOT + sep))) return new Response('not found', { status: 404 });
  return withSecurityHeaders(await net.fetch(pathToFileURL(file).href));
}

function notify(channel: EventChannel): void {
  mainWindow?.webContents.send(channel);
}

async function openCapturesDialog(): Promise<void> {
  if (!mainWindow) return;
  const result = await dialog.showOpenDialog(mainWindow, {
    title: 'Open captures',
    properties: ['openFile', 'multiSelections'],
    filters: [{ name: 'Packet captures (and a state file of their series)', extensions: ['pcap', 'pcapng', 'cap', 'gz', 'state'] }, { name: 'All files', extensions: ['*'] }],
  });
  if (result.canceled || result.filePaths.length === 0) return;
  await setCaptures(result.filePaths);
  notify('resumescope:captures-changed');
}

function buildMenu(): void {
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => void openCapturesDialog() },
        { label: 'Export report…', accelerator: 'CmdOrCtrl+E', click: () => notify('resumescope:export-report') },
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }] },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function handle<K extends keyof InvokeChannels>(channel: K, handler: (request: InvokeChannels[K]['request']) => Promise<InvokeChannels[K]['result']>): void {
  ipcMain.handle(channel, async (event, request: InvokeChannels[K]['request']) => {
    // Only our own page may ask the main process for anything.
    if (!isAllowedNavigation(event.senderFrame?.url ?? '')) throw new Error('refused: request from a foreign page');
    return handler(request);
  });
}

function registerIpc(): void {
  handle('resumescope:save-file', async (request) => {
    const window = mainWindow;
    if (!window) return { saved: false };
    return saveFromPage(request, { showSaveDialog: (options) => dialog.showSaveDialog(window, options), writeFile: (path, content) => writeFile(path, content) });
  });
}

/** Capture paths from the command line: `electron . a.pcap` in development, `resumescope a.pcap` packaged. */
function commandLineCaptures(): string[] {
  const args = process.argv.slice(app.isPackaged ? 1 : 2);
  return args.filter((a) => !a.startsWith('-') && a !== '.');
}

async function createWindow(): Promise<void> {
  mainWindow = new BrowserWindow(createWindowOptions(PRELOAD));
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  mainWindow.on('closed', () => { mainWindow = null; });
  await mainWindow.loadURL(APP_START_URL);
}

app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

app.whenReady().then(async () => {
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback) => callback(isPermissionAllowed(permission)));
  session.defaultSession.setPermissionCheckHandler((_contents, permission) => isPermissionAllowed(permission));
  // No remote content: every request outside app:// (and devtools) is cancelled.
  session.defaultSession.webRequest.onBeforeRequest((details, callback) => {
    const allowed = details.url.startsWith(APP_ORIGIN + '/') || details.url.startsWith('devtools://') || details.url.startsWith('blob:app://');
    callback({ cancel: !allowed });
  });
  protocol.handle(APP_SCHEME, serveAppRequest);
  registerIpc();
  buildMenu();
  await setCaptures(commandLineCaptures());
  await createWindow();
  app.on('activate', () => { if (BrowserWindow.getAllWindows().length === 0) void createWindow(); });
}).catch((e: unknown) => {
  dialog.showErrorBox('resumescope', e instanceof Error ? e.message : String(e));
  app.quit();
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
