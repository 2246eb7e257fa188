// A local stand-in for the Hugging Face hub's file endpoint, for download tests and the app's end-to-end tests:
//   GET|HEAD ${url}/${owner}/${name}/resolve/${revision}/${file}  ->  ${root}/${owner}/${name}/${file}
// Any revision is accepted. Content-Length, Accept-Ranges, Range (one range) -> 206, 416 for a bad range,
// 404, CORS (Access-Control-Allow-Origin: *, Content-Length/Content-Range exposed, Range allowed).
// Fault injection, per file: the first `times` GETs of each file are cut after `dropAfterBytes` body bytes;
// `ignoreRange` answers every Range request with the whole file (200); `failStatus` answers every GET with it.
// Run: npx tsx scripts/hub-server.ts --root DIR [--port N] [--host H]   (prints the URL)
import { createReadStream } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface HubFaults {
  /** cut the connection after this many body bytes */
  dropAfterBytes?: number;
  /** ...for the first `times` GETs of each file (default 1) */
  times?: number;
  /** ignore Range headers: always 200 with the whole file */
  ignoreRange?: boolean;
  /** answer every GET with this HTTP status */
  failStatus?: number;
}

export interface HubServerOptions {
  root: string;
  /** 0 (default) = any free port */
  port?: number;
  host?: string;
  faults?: HubFaults;
}

export interface HubRequestLog {
  method: string;
  path: string;
  range: string | null;
  status: number;
  /** true when the connection was cut on purpose */
  dropped: boolean;
}

export interface HubServer {
  url: string;
  /** every request served, in order */
  requests: HubRequestLog[];
  close(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges, ETag',
  'Access-Control-Allow-Headers': 'Range',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
};

/** The file a request path names, or null when the path is not a resolve URL or escapes the root. */
function fileFor(root: string, pathname: string): { file: string; key: string } | null {
  let parts: string[];
  try {
    parts = pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return null;
  }
  // owner / name / resolve / revision / file...
  if (parts.length < 5 || parts[2] !== 'resolve') return null;
  const [owner, name, , , ...fileParts] = parts;
  const segs = [owner, name, ...fileParts];
  if (segs.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) return null;
  const file = join(root, ...segs);
  if (!file.startsWith(root + sep)) return null;
  return { file, key: segs.join('/') };
}

/** "bytes=a-b" | "bytes=a-" | "bytes=-n" -> [start, end] inclusive; 'bad' when unsatisfiable; null when absent/ignored. */
function parseRange(h: string | undefined, size: number): [number, number] | 'bad' | null {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'bad';
  return [start, end];
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const root = await realpath(resolve(opts.root));
  const faults = opts.faults ?? {};
  const requests: HubRequestLog[] = [];
  const getsPerFile = new Map<string, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const range = typeof req.headers.range === 'string' ? req.headers.range : null;
    const log: HubRequestLog = { method, path: pathname, range, status: 0, dropped: false };
    requests.push(log);
    const reply = (status: number, headers: Record<string, string | number> = {}, body = '') => {
      log.status = status;
      res.writeHead(status, { ...CORS, ...headers });
      res.end(method === 'HEAD' ? undefined : body);
    };

    if (method === 'OPTIONS') return reply(204, { 'Access-Control-Allow-Private-Network': 'true' });
    if (method !== 'GET' && method !== 'HEAD') return reply(405, { Allow: 'GET, HEAD, OPTIONS' });
    const target = fileFor(root, pathname);
    const info = target ? await stat(target.file).catch(() => null) : null;
    if (!target || !info || !info.isFile()) return reply(404, { 'Content-Type': 'text/plain' }, 'Entry not found');
    const size = info.size;

    let nth = 0;
    if (method === 'GET') {
      nth = (getsPerFile.get(target.key) ?? 0) + 1;
      getsPerFile.set(target.key, nth);
      if (faults.failStatus) return reply(faults.failStatus, { 'Content-Type': 'text/plain' }, 'injected failure');
    }

    const r = faults.ignoreRange ? null : parseRange(range ?? undefined, size);
    if (r === 'bad') return reply(416, { 'Content-Range': `bytes */${size}` });
    const [start, end] = r ?? [0, size - 1];
    const length = size === 0 ? 0 : end - start + 1;
    const headers: Record<string, string | number> = {
      ...CORS,
      'Content-Type': 'application/octet-stream',
      'Content-Length': length,
      'Accept-Ranges': faults.ignoreRange ? 'none' : 'bytes',
      ETag: `"${size}-${info.mtimeMs}"`,
    };
    if (r) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    log.status = r ? 206 : 200;
    res.writeHead(log.status, headers);
    if (method === 'HEAD' || length === 0) return void res.end();

    const drop = faults.dropAfterBytes !== undefined && nth <= (faults.times ?? 1) && faults.dropAfterBytes < length;
    if (drop) {
      // send the first dropAfterBytes bytes, then close the socket: the client sees a body shorter than announced
      log.dropped = true;
      const n = faults.dropAfterBytes as number;
      const buf = Buffer.alloc(n);
      const fh = await open(target.file, 'r');
      try {
        await fh.read(buf, 0, n, start);
      } finally {
        await fh.close();
      }
      res.write(buf, () => res.socket?.end());
      return;
    }
    createReadStream(target.file, { start, end }).pipe(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, CORS);
      res.end(String(e));
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => ok());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const root = argValue(args, '--root');
  if (!root) {
    console.error('usage: npx tsx scripts/hub-server.ts --root DIR [--port N] [--host H]');
    process.exit(2);
  }
  const port = Number(argValue(args, '--port') ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`bad --port ${argValue(args, '--port')}`);
    process.exit(2);
  }
  const server = await startHubServer({ root, port, host: argValue(args, '--host') });
  console.log(server.url);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) void main();
