// `resumescope ui`: serves the built web UI (dist-ui/) on 127.0.0.1 and the captures named on the
// command line at /api/captures, for the browser's analysis worker. node:http only. Local files
// are reachable only through that list: the server never maps a URL to an arbitrary path.
import { spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAPTURES_API, type HostedCapture } from '../shared/ipc.js';
import type { UiArgs } from '../cli/args.js';
import type { CliIo } from '../cli/main.js';
import { describeFsError, hostedReading, resolveInputs } from '../node/analyze-files.js';
import { sniffFormat } from '../../parser/analysis.js';
import { STATE_MAGIC } from '../../parser/session/session-state.js';

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
  /** The file as opened at start: served from this descriptor, its size then, whatever the path becomes. */
  handle: fs.FileHandle;
}

export interface UiServer {
  /** The server's base address (http://127.0.0.1:PORT/). */
  url: string;
  /** The address to open: it carries the key that lets one browser read the captures (see startUiServer). */
  openUrl: string;
  close(): Promise<void>;
}

/** Where the key is given: /open/KEY sets it as a cookie and goes on to the page. */
const OPEN_PATH = '/open/';

/**
 * Starts the server; resolves once it listens.
 *
 * Who may read the captures: 127.0.0.1 is every local user's, so the page and the captures need a
 * key, made at start and known only to the one who started it (printed, and in the address opened):
 * /open/KEY sets it as a cookie for this port (HttpOnly, SameSite=Strict) and goes on to the page.
 * Without it another local account, or a page elsewhere that opened this port, got the captures.
 * The captures are opened once, at start: a path swapped for a link afterwards, or a capture still
 * growing, serves what was named then, with the size then.
 */
export async function startUiServer(options: { port: number; captures: string[]; uiRoot?: string }): Promise<UiServer> {
  const root = options.uiRoot ?? uiDirectory();
  if (!existsSync(join(root, 'index.html'))) throw new Error(`the web UI is not built (${root}index.html missing): run npm run build`);
  const reading = await hostedReading(options.captures);
  const captures: ServedCapture[] = await Promise.all(options.captures.map(async (path, i) => {
    const handle = await fs.open(path, 'r');
    return {
      id: String(i),
      name: basename(path),
      size: (await handle.stat()).size,
      ...reading[i]!,
      url: `${CAPTURES_API.slice(1)}/${i}`,
      path,
      handle,
    };
  }));
  const key = randomBytes(24).toString('base64url');
  let cookieName = '';
  let allowedHosts = new Set<string>();
  const hasKey = (req: IncomingMessage): boolean => {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== cookieName) continue;
      const given = Buffer.from(part.slice(eq + 1).trim());
      const wanted = Buffer.from(key);
      if (given.length === wanted.length && timingSafeEqual(given, wanted)) return true;
    }
    return false;
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      // No message to the client: it could name the user's files.
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DNS rebinding: a page from another site that resolves its name to 127.0.0.1 must not read the captures.
    if (!allowedHosts.has(req.headers.host ?? '')) return send(res, 421, 'text/plain; charset=utf-8', 'unexpected Host header');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    let url: URL;
    let path: string;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      path = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'text/plain; charset=utf-8', 'bad request: the address does not parse');
    }
    if (path.startsWith(OPEN_PATH)) {
      const given = Buffer.from(path.slice(OPEN_PATH.length));
      const wanted = Buffer.from(key);
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return send(res, 403, 'text/plain; charset=utf-8', 'wrong key: open the address resumescope ui printed');
      return send(res, 303, 'text/plain; charset=utf-8', 'see /', {
        location: `/${url.search}`,
        'set-cookie': `${cookieName}=${key}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
      });
    }
    // The page's own code (assets) is no secret; the page itself and the captures need the key.
    if (!path.startsWith('/assets/') && !hasKey(req)) {
      return send(res, 403, 'text/plain; charset=utf-8', 'this page needs the key resumescope ui printed: open the whole address it printed (http://127.0.0.1:PORT/open/…)');
    }
    if (path === CAPTURES_API) {
      const list: HostedCapture[] = captures.map(({ path: _path, ...c }) => c);
      return send(res, 200, CONTENT_TYPES['.json']!, JSON.stringify(list), { 'cache-control': 'no-store' });
    }
    if (path.startsWith(CAPTURES_API + '/')) {
      const capture = captures.find((c) => c.id === path.slice(CAPTURES_API.length + 1));
      if (!capture) return send(res, 404, 'text/plain; charset=utf-8', 'no such capture');
      // The size at start, from the file opened then: a capture still being written grows past it,
      // and Content-Length must be what is sent.
      res.writeHead(200, { ...securityHeaders(), 'content-type': 'application/octet-stream', 'content-length': String(capture.size), 'cache-control': 'no-store' });
      if (req.method === 'HEAD' || capture.size === 0) return void res.end();
      createReadStream('', { fd: capture.handle.fd, start: 0, end: capture.size - 1, autoClose: false }).on('error', () => res.destroy()).pipe(res);
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
  // Browsers and curl leave the default port out of Host.
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, ...(port === 80 ? ['127.0.0.1', 'localhost'] : [])]);
  // A cookie is the host's, whatever the port: two servers at once keep keys of their own.
  cookieName = `resumescope-${port}`;
  return {
    url: `http://127.0.0.1:${port}/`,
    openUrl: `http://127.0.0.1:${port}${OPEN_PATH}${key}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      void Promise.all(captures.map((c) => c.handle.close().catch(() => undefined)));
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
  for (const f of files) if (f.stream) io.stderr(`resumescope: ${f.path === '-' ? 'stdin ("-")' : f.path}: ui cannot serve a stream (it reads a capture twice); open the capture in the page instead\n`);
  // A file that is not a capture is named now, as analyze does, not served for the page to refuse.
  const readable: typeof files = [];
  let refused = problems.length;
  for (const f of files) {
    if (f.stream) { refused++; continue; }
    const why = await whyNotACapture(f.path);
    if (why === null) readable.push(f);
    else { refused++; io.stderr(`resumescope: ${f.path}: ${why}\n`); }
  }
  // Captures named and none of them servable: nothing to show, exit 2 as analyze (no page opened).
  if (args.inputs.length > 0 && readable.length === 0) {
    io.stderr('resumescope: ui: none of the inputs is a capture it can serve\n');
    return 2;
  }
  let server: UiServer;
  try {
    server = await startUiServer({ port: args.port, captures: readable.map((f) => f.path) });
  } catch (e) {
    io.stderr(`resumescope: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  io.stdout(`resumescope ui: ${server.openUrl}\n`);
  const states = readable.filter((f) => /\.state$/i.test(f.path)).length;
  const captures = readable.length - states;
  io.stdout(readable.length > 0
    ? `serving ${captures} capture${captures === 1 ? '' : 's'}${states > 0 ? ` and ${states} state file${states === 1 ? '' : 's'}` : ''}; press Ctrl+C to stop\n`
    : 'open captures in the page; press Ctrl+C to stop\n');
  if (args.open) openBrowser(server.openUrl);
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
  return refused > 0 ? 1 : 0;
}

/**
 * Why the file at `path` is neither a capture nor a state file the page can read, by its first
 * bytes, or null. Only the start: a file damaged further on (a stub of a header, a cut first
 * record) is served, and the page says what analyze would (it reads it with the same core).
 */
async function whyNotACapture(path: string): Promise<string | null> {
  let handle: fs.FileHandle | null = null;
  try {
    handle = await fs.open(path, 'r');
    const head = new Uint8Array(32);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead === 0) return 'empty file';
    // As analyze says it: fewer bytes than a format's magic number tell nothing.
    if (bytesRead < 4) return `too short to be a capture (${bytesRead} bytes)`;
    if (sniffFormat(head.subarray(0, bytesRead)) !== 'unknown') return null;
    // The state file of a series (the page carries its sessions into the captures'): served as well.
    if (new TextDecoder().decode(head.subarray(0, STATE_MAGIC.length)) === STATE_MAGIC) return null;
    return `not a pcap or pcapng capture (starts with ${[...head.subarray(0, Math.min(4, bytesRead))].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
  } catch (e) {
    return describeFsError(e);
  } finally {
    await handle?.close();
  }
}
