// `resumescope ui`: serves the built web UI (dist-ui/) on 127.0.0.1 and the captures named on the
// command line at /api/captures, for the browser's analysis worker. node:http only. Local files
// are reachable only through that list: the server never maps a URL to an arbitrary path.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAPTURES_API, type HostedCapture } from '../shared/ipc.js';
import type { UiArgs } from '../cli/args.js';
import type { CliIo } from '../cli/main.js';
import { firstPacketTime, resolveInputs } from '../node/analyze-files.js';

export { CONTENT_SECURITY_POLICY as UI_CONTENT_SECURITY_POLICY } from '../shared/content-security-policy.js';
import { CONTENT_SECURITY_POLICY as UI_CONTENT_SECURITY_POLICY } from '../shared/content-security-policy.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

export function uiDirectory(): string {
  return fileURLToPath(new URL('../../../dist-ui/', import.meta.url));
}

interface ServedCapture extends HostedCapture {
  path: string;
}

export interface UiServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export async function startUiServer(options: { port: number; captures: string[]; uiRoot?: string }): Promise<UiServer> {
  const root = options.uiRoot ?? uiDirectory();
  if (!existsSync(join(root, 'index.html'))) throw new Error(`the web UI is not built (${root}index.html missing): run npm run build`);
  const captures: ServedCapture[] = await Promise.all(options.captures.map(async (path, i) => ({
    id: String(i),
    name: basename(path),
    size: (await fs.stat(path)).size,
    firstPacketTime: finiteOrNull(await firstPacketTime(path)),
    url: `${CAPTURES_API.slice(1)}/${i}`,
    path,
  })));
  let allowedHosts = new Set<string>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${e instanceof Error ? e.message : String(e)}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DNS rebinding: a page from another site that resolves its name to 127.0.0.1 must not read the captures.
    if (!allowedHosts.has(req.headers.host ?? '')) return send(res, 421, 'text/plain; charset=utf-8', 'unexpected Host header');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (path === CAPTURES_API) {
      const list: HostedCapture[] = captures.map(({ path: _path, ...c }) => c);
      return send(res, 200, CONTENT_TYPES['.json']!, JSON.stringify(list), { 'cache-control': 'no-store' });
    }
    if (path.startsWith(CAPTURES_API + '/')) {
      const capture = captures.find((c) => c.id === path.slice(CAPTURES_API.length + 1));
      if (!capture) return send(res, 404, 'text/plain; charset=utf-8', 'no such capture');
      const stat = await fs.stat(capture.path);
      res.writeHead(200, { ...securityHeaders(), 'content-type': 'application/octet-stream', 'content-length': String(stat.size), 'cache-control': 'no-store' });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(capture.path).on('error', () => res.destroy()).pipe(res);
      return;
    }
    const relative = path === '/' ? 'index.html' : path.slice(1);
    const file = normalize(join(root, relative));
    if (!file.startsWith(normalize(root + sep)) && file !== normalize(root)) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    const stat = await fs.stat(file).catch(() => null);
    if (!stat || !stat.isFile()) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, { ...securityHeaders(), 'content-type': type, 'content-length': String(stat.size), 'cache-control': relative.startsWith('assets/') ? 'max-age=31536000, immutable' : 'no-cache' });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      // The one listen failure a user causes and can mend: say how.
      if (e.code === 'EADDRINUSE') reject(new Error(`port ${options.port} on 127.0.0.1 is in use (another resumescope ui?): choose another with --port N, or --port 0 for any free one`));
      else reject(e);
    });
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': UI_CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...securityHeaders(), 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Opens the URL in the default browser; failing to (no desktop, no xdg-open) is not an error. */
export function openBrowser(url: string): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]]
    : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]]
    : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser launcher: the printed URL is enough.
  }
}

export async function runUi(args: UiArgs, io: CliIo): Promise<number> {
  const { files, problems } = await resolveInputs(args.inputs);
  for (const p of problems) io.stderr(`resumescope: ${p.path}: ${p.reason}\n`);
  const readable = files.filter((f) => !f.stream);
  for (const f of files) if (f.stream) io.stderr(`resumescope: ${f.path === '-' ? 'stdin ("-")' : f.path}: ui cannot serve a stream (it reads a capture twice); open the capture in the page instead\n`);
  let server: UiServer;
  try {
    server = await startUiServer({ port: args.port, captures: readable.map((f) => f.path) });
  } catch (e) {
    io.stderr(`resumescope: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  io.stdout(`resumescope ui: ${server.url}\n`);
  io.stdout(readable.length > 0 ? `serving ${readable.length} capture${readable.length === 1 ? '' : 's'}; press Ctrl+C to stop\n` : 'open captures in the page; press Ctrl+C to stop\n');
  if (args.open) openBrowser(server.url);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  io.stdout('resumescope ui: stopped\n');
  return problems.length > 0 ? 1 : 0;
}
