// A local stand-in for the Hugging Face hub, for download and cache tests and the app's end-to-end tests.
// A repository is a folder ${root}/${owner}/${name}; its files are served at every commit.
//   GET|HEAD /${owner}/${name}/resolve/${revision}/${file}       the file (Range: one range -> 206, 416 when bad)
//        headers: X-Repo-Commit (the resolved commit), ETag (LFS files: "sha256"; others: "git blob sha1"),
//                 X-Linked-Etag + X-Linked-Size for LFS files (*.safetensors, *.gguf and files of 10 MB or more)
//   GET /api/models/${owner}/${name}/revision/${revision}         { id, sha, siblings: [{ rfilename }] }
//   GET /api/models/${owner}/${name}/tree/${revision}             [{ type, path, size, oid, lfs?: { oid, size } }]
//       ?recursive=true (or 1): the folders' entries too, each path from the repository root ('sub/x.gguf'),
//       a folder listed before its contents, as the hub does; `treePageSize` pages the answer as the hub
//       does past its page size: a Link header `<...&cursor=N>; rel="next"` names the next page
// Revisions: 'main' (a commit computed from the folder's listing), names given in `refs` (moveRef changes one at
// run time: a branch that moved), and any 40-hex commit. Unknown repository or revision -> 404 with
// X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound, as the hub does. A repository in `auth` answers
// 401 (X-Error-Code GatedRepo, or RepoNotFound for a private one) unless the request has its bearer token.
// CORS: any origin; Range and Authorization allowed; the headers above exposed.
// Faults (mutable at run time through server.faults), limited to files named `only` when set:
//   dropAfterBytes / cutAtFraction   cut the first `times` GETs of each file after that many bytes / that share
//   corruptByte                      flip one byte (the middle of the file) in every body that covers it
//   ignoreRange                      answer every Range request with the whole file (200)
//   failStatus / apiFailStatus       answer file GETs / API calls with that status
//   bytesPerSecond                   throttle bodies
// Run: npx tsx scripts/hub-server.ts --root DIR [--port N] [--host H]   (prints the URL)
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface HubFaults {
  /** cut the connection after this many body bytes */
  dropAfterBytes?: number;
  /** cut the connection after this share (0..1) of the body */
  cutAtFraction?: number;
  /** ...for the first `times` GETs of each file (default 1) */
  times?: number;
  /** ignore Range headers: always 200 with the whole file */
  ignoreRange?: boolean;
  /** answer every file GET with this HTTP status */
  failStatus?: number;
  /** answer every API call (revision, tree) with this HTTP status */
  apiFailStatus?: number;
  /** flip the byte in the middle of the file in every body that covers it */
  corruptByte?: boolean;
  /** throttle bodies to about this rate */
  bytesPerSecond?: number;
  /** apply the file faults only to this file name (e.g. 'model.safetensors') */
  only?: string;
}

export interface HubServerOptions {
  root: string;
  /** 0 (default) = any free port */
  port?: number;
  host?: string;
  faults?: HubFaults;
  /** branch or tag name -> commit, for every repository (main defaults to the folder's own commit) */
  refs?: Record<string, string>;
  /** repositories that need a token: 'gated' answers GatedRepo, 'private' answers RepoNotFound */
  auth?: Record<string, { token: string; kind: 'gated' | 'private' }>;
  /** tree entries per page (default: all in one) */
  treePageSize?: number;
}

export interface HubRequestLog {
  method: string;
  path: string;
  range: string | null;
  status: number;
  /** true when the connection was cut on purpose */
  dropped: boolean;
  /** the Authorization header, when one was sent */
  authorization: string | null;
}

export interface HubServer {
  url: string;
  /** every request served, in order */
  requests: HubRequestLog[];
  /** the active faults; change them at run time */
  faults: HubFaults;
  /** points a branch at another commit (for every repository) */
  moveRef(name: string, commit: string): void;
  /** the commit `main` resolves to for a repository (its folder listing's hash, unless moved) */
  commitOf(repo: string): Promise<string>;
  close(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;
const LFS_MIN_BYTES = 10 * 1024 * 1024;
const EXPOSED = 'Content-Length, Content-Range, Accept-Ranges, ETag, Link, X-Linked-Etag, X-Linked-Size, X-Repo-Commit, X-Error-Code, X-Error-Message';
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': EXPOSED,
  'Access-Control-Allow-Headers': 'Range, Authorization',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
};

const isLfs = (name: string, size: number) => name.endsWith('.safetensors') || name.endsWith('.gguf') || size >= LFS_MIN_BYTES;

function validSegments(segs: string[]): boolean {
  return segs.length > 0 && segs.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
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

interface Hashes {
  sha256: string;
  gitSha1: string;
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const root = await realpath(resolve(opts.root));
  const faults: HubFaults = { ...(opts.faults ?? {}) };
  const refs = new Map(Object.entries(opts.refs ?? {}));
  const requests: HubRequestLog[] = [];
  const getsPerFile = new Map<string, number>();
  const hashCache = new Map<string, Promise<Hashes>>();

  const hashesOf = (file: string, size: number, mtime: number): Promise<Hashes> => {
    const key = `${file}:${size}:${mtime}`;
    let p = hashCache.get(key);
    if (!p) {
      p = new Promise<Hashes>((ok, fail) => {
        const sha = createHash('sha256');
        const git = createHash('sha1').update(`blob ${size}\0`);
        createReadStream(file)
          .on('data', (c) => {
            sha.update(c);
            git.update(c);
          })
          .on('error', fail)
          .on('end', () => ok({ sha256: sha.digest('hex'), gitSha1: git.digest('hex') }));
      });
      hashCache.set(key, p);
    }
    return p;
  };

  const repoDir = async (owner: string, name: string): Promise<string | null> => {
    if (!validSegments([owner, name])) return null;
    const dir = join(root, owner, name);
    const st = await stat(dir).catch(() => null);
    return st?.isDirectory() ? dir : null;
  };

  const listing = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    const out: Array<{ name: string; dir: boolean; size: number; mtime: number }> = [];
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!SEGMENT.test(e.name) || e.name.endsWith('.partial')) continue;
      const st = await stat(join(dir, e.name));
      out.push({ name: e.name, dir: st.isDirectory(), size: st.size, mtime: st.mtimeMs });
    }
    return out;
  };

  /** Every entry under dir, folders before their contents, each with its path from dir ('sub/x.gguf'). */
  const walk = async (dir: string, prefix = ''): Promise<Array<{ name: string; dir: boolean; size: number; mtime: number }>> => {
    const out = [];
    for (const e of await listing(join(dir, prefix))) {
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      out.push({ ...e, name: path });
      if (e.dir) out.push(...(await walk(dir, path)));
    }
    return out;
  };

  const contentCommit = async (dir: string): Promise<string> => {
    const h = createHash('sha1');
    for (const e of await walk(dir)) h.update(`${e.name}:${e.size}:${e.mtime}\n`);
    return h.digest('hex');
  };

  /** The commit a revision names, or null when the repository has no such revision. */
  const resolveRevision = async (dir: string, revision: string): Promise<string | null> => {
    if (refs.has(revision)) return refs.get(revision)!;
    if (revision === 'main') return contentCommit(dir);
    return COMMIT.test(revision) ? revision : null;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const reqUrl = new URL(req.url ?? '/', 'http://x');
    const pathname = reqUrl.pathname;
    const range = typeof req.headers.range === 'string' ? req.headers.range : null;
    const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : null;
    const log: HubRequestLog = { method, path: pathname, range, status: 0, dropped: false, authorization };
    requests.push(log);
    const reply = (status: number, headers: Record<string, string | number> = {}, body = '') => {
      log.status = status;
      res.writeHead(status, { ...CORS, ...headers });
      res.end(method === 'HEAD' ? undefined : body);
    };
    const hubError = (status: number, code: string, message: string) =>
      reply(status, { 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message }, JSON.stringify({ error: message }));

    if (method === 'OPTIONS') return reply(204, { 'Access-Control-Allow-Private-Network': 'true' });
    if (method !== 'GET' && method !== 'HEAD') return reply(405, { Allow: 'GET, HEAD, OPTIONS' });
    let parts: string[];
    try {
      parts = pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      return hubError(404, 'EntryNotFound', 'Entry not found');
    }
    // api / models / owner / name / (revision|tree) / revision   or   owner / name / resolve / revision / file...
    const api = parts[0] === 'api' && parts[1] === 'models' && parts.length === 6 && (parts[4] === 'revision' || parts[4] === 'tree');
    const resolveUrl = !api && parts.length >= 5 && parts[2] === 'resolve';
    if (!api && !resolveUrl) return hubError(404, 'EntryNotFound', 'Entry not found');
    const [owner, name, revision] = api ? [parts[2], parts[3], parts[5]] : [parts[0], parts[1], parts[3]];
    const repo = `${owner}/${name}`;
    const dir = await repoDir(owner, name);
    if (!dir) return hubError(404, 'RepoNotFound', `Repository not found: ${repo}`);
    const guard = opts.auth?.[repo];
    if (guard && authorization !== `Bearer ${guard.token}`) {
      return guard.kind === 'gated'
        ? hubError(401, 'GatedRepo', `Access to model ${repo} is restricted. You must have access to it and be authenticated to access it.`)
        : hubError(401, 'RepoNotFound', `Repository not found: ${repo}`);
    }
    const commit = await resolveRevision(dir, revision);
    if (!commit) return hubError(404, 'RevisionNotFound', `Invalid rev id: ${revision}`);

    if (api) {
      if (faults.apiFailStatus) return hubError(faults.apiFailStatus, 'Injected', 'injected failure');
      if (parts[4] === 'revision') {
        // the hub's siblings are every file of the repository, folders' included
        const body = { id: repo, sha: commit, siblings: (await walk(dir)).filter((e) => !e.dir).map((e) => ({ rfilename: e.name })) };
        return reply(200, { 'Content-Type': 'application/json' }, JSON.stringify(body));
      }
      const recursive = ['true', '1'].includes(reqUrl.searchParams.get('recursive') ?? '');
      const entries = recursive ? await walk(dir) : await listing(dir);
      const per = opts.treePageSize ?? entries.length;
      const cursor = Number(reqUrl.searchParams.get('cursor') ?? 0);
      if (!Number.isInteger(cursor) || cursor < 0 || cursor > entries.length) return hubError(400, 'BadRequest', 'Invalid cursor');
      const page = entries.slice(cursor, cursor + Math.max(1, per));
      const tree = [];
      for (const e of page) {
        if (e.dir) {
          tree.push({ type: 'directory', path: e.name, size: 0, oid: createHash('sha1').update(e.name).digest('hex') });
          continue;
        }
        const h = await hashesOf(join(dir, ...e.name.split('/')), e.size, e.mtime);
        tree.push({ type: 'file', path: e.name, size: e.size, oid: h.gitSha1, ...(isLfs(e.name, e.size) ? { lfs: { oid: h.sha256, size: e.size, pointerSize: 134 } } : {}) });
      }
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (cursor + page.length < entries.length) {
        const next = new URL(reqUrl.pathname, `http://${req.headers.host ?? '127.0.0.1'}`);
        if (recursive) next.searchParams.set('recursive', 'true');
        next.searchParams.set('cursor', String(cursor + page.length));
        headers.Link = `<${next.href}>; rel="next"`;
      }
      return reply(200, headers, JSON.stringify(tree));
    }

    const fileParts = parts.slice(4);
    if (!validSegments(fileParts)) return hubError(404, 'EntryNotFound', 'Entry not found');
    const file = join(dir, ...fileParts);
    if (!file.startsWith(dir + sep)) return hubError(404, 'EntryNotFound', 'Entry not found');
    const info = await stat(file).catch(() => null);
    if (!info || !info.isFile()) return hubError(404, 'EntryNotFound', 'Entry not found');
    const size = info.size;
    const fileName = fileParts.join('/');
    const faulty = faults.only === undefined || faults.only === fileName;

    let nth = 0;
    if (method === 'GET') {
      const key = `${repo}/${fileName}`;
      nth = (getsPerFile.get(key) ?? 0) + 1;
      getsPerFile.set(key, nth);
      if (faulty && faults.failStatus) return reply(faults.failStatus, { 'Content-Type': 'text/plain' }, 'injected failure');
    }

    const hashes = await hashesOf(file, size, info.mtimeMs);
    const lfs = isLfs(fileName, size);
    const r = faulty && faults.ignoreRange ? null : parseRange(range ?? undefined, size);
    if (r === 'bad') return reply(416, { 'Content-Range': `bytes */${size}`, 'X-Repo-Commit': commit });
    const [start, end] = r ?? [0, size - 1];
    const length = size === 0 ? 0 : end - start + 1;
    const headers: Record<string, string | number> = {
      ...CORS,
      'Content-Type': 'application/octet-stream',
      'Content-Length': length,
      'Accept-Ranges': faulty && faults.ignoreRange ? 'none' : 'bytes',
      ETag: `"${lfs ? hashes.sha256 : hashes.gitSha1}"`,
      'X-Repo-Commit': commit,
    };
    if (lfs) Object.assign(headers, { 'X-Linked-Etag': `"${hashes.sha256}"`, 'X-Linked-Size': size });
    if (r) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    log.status = r ? 206 : 200;
    res.writeHead(log.status, headers);
    if (method === 'HEAD' || length === 0) return void res.end();

    let cutAfter: number | undefined;
    if (faulty && nth <= (faults.times ?? 1)) {
      if (faults.dropAfterBytes !== undefined) cutAfter = faults.dropAfterBytes;
      else if (faults.cutAtFraction !== undefined) cutAfter = Math.floor(length * faults.cutAtFraction);
    }
    if (cutAfter !== undefined && cutAfter >= length) cutAfter = undefined;
    const corruptAt = faulty && faults.corruptByte ? Math.floor(size / 2) : -1;
    const rate = faulty ? faults.bytesPerSecond : undefined;
    if (cutAfter === undefined && corruptAt < 0 && !rate) return void createReadStream(file, { start, end }).pipe(res);
    log.dropped = cutAfter !== undefined;
    await sendBody(res, file, start, cutAfter === undefined ? length : cutAfter, corruptAt, rate);
    if (cutAfter !== undefined) res.socket?.end();
    else res.end();
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
    faults,
    moveRef: (name, commit) => void refs.set(name, commit),
    commitOf: async (repo) => {
      const [owner, name] = repo.split('/');
      const dir = await repoDir(owner, name);
      if (!dir) throw new Error(`no repository ${repo}`);
      return (await resolveRevision(dir, 'main'))!;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** Writes `count` bytes of the file from `start`, flipping the byte at `corruptAt`, at about `rate` bytes/s. */
async function sendBody(res: ServerResponse, file: string, start: number, count: number, corruptAt: number, rate: number | undefined): Promise<void> {
  const fh = await open(file, 'r');
  const began = Date.now();
  try {
    const buf = Buffer.alloc(64 * 1024);
    let sent = 0;
    while (sent < count && !res.destroyed) {
      const n = Math.min(buf.length, count - sent);
      const { bytesRead } = await fh.read(buf, 0, n, start + sent);
      if (bytesRead === 0) break;
      const chunk = Buffer.from(buf.subarray(0, bytesRead));
      const at = corruptAt - (start + sent);
      if (at >= 0 && at < bytesRead) chunk[at] ^= 0xff;
      sent += bytesRead;
      const ok = res.write(chunk);
      // a client that went away never drains: stop on close too
      if (!ok && !res.destroyed) {
        await new Promise<void>((r) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            r();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      if (rate) {
        const wait = (sent / rate) * 1000 - (Date.now() - began);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  } finally {
    await fh.close();
  }
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
