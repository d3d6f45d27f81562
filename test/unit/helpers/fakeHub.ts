// A stand-in for the Hugging Face hub on 127.0.0.1: resolve URLs (small files answered directly, large
// ones redirected to a second "CDN" server on another port with X-Linked-Etag/X-Linked-Size), the
// revision API with LFS sizes and hashes, and switchable faults (cut transfers, wrong checksums,
// error statuses, HTML pages, stalls), and a hostile endpoint's tricks (listed names that climb out of the
// folder, redirect chains that come back to the hub, git blob ids that do not match), and 429s with the
// hub's Retry-After or RateLimit headers, and a file whose size is never said (none in the listing, no X-Linked-Size,
// no Content-Length) that may stream forever. It records every request, and whether a token reached the CDN.
// Beside it, an HTTP CONNECT proxy for the CLI's HTTPS_PROXY.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export type Where = 'api' | 'resolve' | 'cdn';

export interface Faults {
  /**
   * Answer `code` (with the hub's X-Error-Code when given) to matching requests, `times` times (default always);
   * `retryAfter` (seconds or an HTTP date) and `headers` (a RateLimit header) go with it.
   */
  status?: { code: number; where: Where; file?: string; errorCode?: string; retryAfter?: number | string; headers?: Record<string, string>; times?: number };
  /** Answer 200 with an HTML page (a proxy or captive portal) instead of the content. */
  html?: { where: Where; file?: string };
  /** Close the connection once the transfer reaches byte `at` of the file (default half; half of what is left for a later range), `times` times. */
  cut?: { file?: string; at?: number; times: number };
  /** Publish a SHA-256 (API and X-Linked-Etag) that does not match the bytes served. */
  wrongSha256?: { file: string };
  /** Publish the right SHA-256 in the API but another in X-Linked-Etag. */
  conflictingSha256?: { file: string };
  /** Serve plain 200 for Range requests, as a server without range support would. */
  ignoreRange?: boolean;
  /** Send headers and `after` bytes, then nothing (a stalled connection). */
  stall?: { file?: string; after?: number };
  /** Serve config.json with this content instead of the real one. */
  config?: unknown;
  /** List a git blob id (for a file outside LFS) that does not match the bytes served. */
  wrongBlobId?: { file: string };
  /** Redirect the resolve request for `file` to the CDN host, which redirects back to the hub (`?bounced=1`), which serves it. */
  bounce?: { file: string };
  /**
   * Give no size for `file` anywhere: the listing has neither `size` nor `lfs` (only the git blob id), the redirect no
   * X-Linked-*, and the CDN answers without Content-Length (chunked) unless `length`. `endless` streams bytes that never
   * end instead of the file (stopped at 256 MiB, should a client fail to hang up); `sent` counts what the CDN wrote.
   */
  unsized?: { file: string; length?: boolean; endless?: boolean; sent?: number };
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

export interface FakeHubOptions {
  repo?: string;
  /** Files of the repository by path; default: the built-in model's files (models/lens-tiny) or synthetic ones. */
  files?: Map<string, Buffer>;
  /** Files at least this large are served as LFS files through the CDN. ONNX files always are. */
  lfsMinBytes?: number;
  /** When set, the hub answers 401 unless `Authorization: Bearer <token>` is sent. */
  token?: string;
  /** Old repository ids that redirect (307, relative Location) to `repo`, as renamed repositories do. */
  aliases?: string[];
  /** Files served from git by the hub itself (no LFS, no CDN, only a git blob id in the listing), ONNX files included. */
  plainFiles?: string[];
  /**
   * Names a hostile endpoint lists besides the repository's files (`onnx/model.onnx_data/../../x`, `/etc/x`), with
   * the bytes it answers, outside LFS, at whatever path the name's resolve URL normalises to.
   */
  hostile?: Map<string, Buffer>;
  /**
   * The API's summary of config.json (its `config` field: model_type, architectures), which the real hub sends:
   * by default read from the served config.json; `null` leaves it out (an endpoint that does not send it), an object
   * replaces it (a summary that disagrees with config.json).
   */
  apiConfig?: Record<string, unknown> | null;
}

export interface FakeHub {
  endpoint: string;
  cdnOrigin: string;
  repo: string;
  commit: string;
  files: Map<string, Buffer>;
  faults: Faults;
  requests: LoggedRequest[];
  /** Requests that reached the CDN with an Authorization header: must stay 0. */
  authLeaks: number;
  sha256(file: string): string;
  close(): Promise<void>;
}

function findRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** The built-in model's files when they exist (models/lens-tiny), otherwise small synthetic stand-ins. */
export function defaultModelFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const tiny = path.join(findRoot(), 'models', 'lens-tiny');
  if (fs.existsSync(path.join(tiny, 'onnx', 'model.onnx')) && fs.existsSync(path.join(tiny, 'tokenizer.json'))) {
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
      if (fs.existsSync(path.join(tiny, f))) files.set(f, fs.readFileSync(path.join(tiny, f)));
    }
  } else {
    files.set('config.json', json({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_layer: 2, n_head: 2, n_embd: 64, n_positions: 128, vocab_size: 256 }));
    files.set('generation_config.json', json({ bos_token_id: 0, eos_token_id: 0 }));
    files.set('tokenizer.json', json({ version: '1.0', model: { type: 'BPE', vocab: { a: 0 }, merges: [] } }));
    files.set('tokenizer_config.json', json({ model_max_length: 128 }));
    files.set('onnx/model.onnx', pseudoRandom(512 * 1024, 1));
  }
  // More variants, as transformers.js repositories have: one LLM Lens can read (random bytes: it fails to load),
  // and a quantized one it refuses to download.
  files.set('onnx/decoder_model.onnx', pseudoRandom(200 * 1024, 2));
  files.set('onnx/model_quantized.onnx', pseudoRandom(100 * 1024, 3));
  files.set('README.md', Buffer.from('# lens-tiny\n'));
  files.set('.gitattributes', Buffer.from('*.onnx filter=lfs diff=lfs merge=lfs -text\n'));
  return files;
}

/** Variants a Llama-family repository lists that LLM Lens refuses by name (bitsandbytes): never fetched. */
export const LLAMA_REFUSED_VARIANTS = ['model_bnb4'];

/**
 * A Llama-family repository in the transformers.js layout, from a test model of test/fixtures (qwen2-tiny,
 * llama-tiny): its config and tokenizer files, onnx/model.onnx (fp32), onnx/model_fp16.onnx, onnx/model_q4.onnx
 * (MatMulNBits), onnx/model_q4f16.onnx and onnx/model_quantized.onnx (MatMulInteger), which all load; beside them the
 * variants LLM Lens refuses by name,
 * as the real repositories list them (random bytes: they are never downloaded).
 */
export function llamaFamilyFiles(fixture = 'qwen2-tiny'): Map<string, Buffer> {
  const dir = path.join(findRoot(), 'test', 'fixtures', fixture);
  const files = new Map<string, Buffer>();
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model_fp16.onnx', 'onnx/model_q4.onnx', 'onnx/model_q4f16.onnx', 'onnx/model_quantized.onnx']) {
    if (fs.existsSync(path.join(dir, f))) files.set(f, fs.readFileSync(path.join(dir, f)));
  }
  LLAMA_REFUSED_VARIANTS.forEach((v, i) => files.set(`onnx/${v}.onnx`, pseudoRandom(64 * 1024, 10 + i)));
  files.set('README.md', Buffer.from(`# ${fixture}\n`));
  return files;
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v, null, 2));
}

/** Deterministic bytes that do not look like text or HTML. */
export function pseudoRandom(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  b[0] = 0x08; // an ONNX ModelProto starts with field 1 (ir_version), varint
  return b;
}

const HTML = Buffer.from('<!DOCTYPE html>\n<html><head><title>Network login</title></head><body><h1>Please sign in to continue</h1></body></html>\n');

export async function startFakeHub(opts: FakeHubOptions = {}): Promise<FakeHub> {
  const repo = opts.repo ?? 'lens-test/lens-tiny';
  const files = opts.files ?? defaultModelFiles();
  const lfsMin = opts.lfsMinBytes ?? 10 * 1024 * 1024;
  const commit = createHash('sha1').update(repo).digest('hex');
  const plain = new Set(opts.plainFiles ?? []);
  const isLfs = (f: string) => !plain.has(f) && (f.endsWith('.onnx') || f.includes('.onnx_data') || (files.get(f)?.length ?? 0) >= lfsMin);
  const sha256 = (f: string) => createHash('sha256').update(files.get(f)!).digest('hex');
  const gitBlob = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
  const faults: Faults = {};
  const requests: LoggedRequest[] = [];
  let authLeaks = 0;

  const publishedSha = (f: string, forHeader: boolean) => {
    if (faults.wrongSha256?.file === f) return createHash('sha256').update('not the content').digest('hex');
    if (forHeader && faults.conflictingSha256?.file === f) return createHash('sha256').update('another').digest('hex');
    return sha256(f);
  };
  const content = (f: string) => (f === 'config.json' && faults.config !== undefined ? json(faults.config) : files.get(f)!);
  const publishedBlob = (f: string) => (faults.wrongBlobId?.file === f ? gitBlob(Buffer.from('not the content')) : gitBlob(content(f)));
  const hostile = opts.hostile ?? new Map<string, Buffer>();
  // Where a client that encodes each segment but lets URL normalisation apply ends up for each hostile name.
  const hostilePaths = new Map<string, Buffer>();
  for (const [name, bytes] of hostile) {
    for (const rev of ['main', commit]) {
      const u = new URL(`http://hub/${repo}/resolve/${rev}/${name.split('/').map(encodeURIComponent).join('/')}`);
      hostilePaths.set(decodeURIComponent(u.pathname), bytes);
    }
  }

  const matches = (where: Where, file: string | undefined, fault?: { where?: Where; file?: string }) =>
    !!fault && (fault.where === undefined || fault.where === where) && (fault.file === undefined || fault.file === file);

  /** Applies the status and HTML faults; true when it answered. */
  function injected(where: Where, file: string | undefined, res: http.ServerResponse): boolean {
    const st = faults.status;
    if (st && matches(where, file, st) && (st.times === undefined || st.times > 0)) {
      if (st.times !== undefined) st.times--;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (st.errorCode) headers['x-error-code'] = st.errorCode;
      if (st.retryAfter !== undefined) headers['retry-after'] = String(st.retryAfter);
      Object.assign(headers, st.headers);
      res.writeHead(st.code, headers).end(JSON.stringify({ error: `fake hub: ${st.code}` }));
      return true;
    }
    if (matches(where, file, faults.html)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': HTML.length }).end(HTML);
      return true;
    }
    return false;
  }

  // --- CDN: serves blobs by key, with Range, cuts and stalls -------------------------------------
  const blobKeys = new Map<string, string>();
  for (const f of files.keys()) blobKeys.set(createHash('sha256').update(`${commit}/${f}`).digest('hex'), f);

  const cdn = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://cdn');
    requests.push({ server: 'cdn', method: req.method ?? '', url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization });
    if (url.pathname === '/bounce' && url.searchParams.get('to')) {
      // Another origin sending the client back to the hub: a token must not come back with it.
      res.writeHead(302, { location: url.searchParams.get('to')!, 'content-type': 'text/plain' }).end('Found.');
      return;
    }
    if (req.headers.authorization) {
      authLeaks++;
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Authorization must not be sent to the storage host');
      return;
    }
    const m = /^\/repos\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = m ? blobKeys.get(m[1]) : undefined;
    if (!file || !url.searchParams.get('X-Amz-Signature')) {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
      return;
    }
    if (injected('cdn', file, res)) return;
    const body = files.get(file)!;
    let start = 0;
    let end = body.length - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && !faults.ignoreRange) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
    }
    const unsized = faults.unsized?.file === file ? faults.unsized : undefined;
    if (unsized?.endless) {
      // A hostile server: headers without any length, then bytes for as long as the client keeps reading.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = pseudoRandom(64 * 1024, 7);
      let sent = 0;
      const pump = () => {
        while (!res.destroyed && sent < 256 * 1024 * 1024) {
          sent += chunk.length;
          unsized.sent = sent;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (unsized && !unsized.length) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(body);
      return;
    }
    const partial = !!range && !faults.ignoreRange;
    res.writeHead(partial ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
      etag: `"${sha256(file)}"`,
      ...(partial ? { 'content-range': `bytes ${start}-${end}/${body.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();

    const cut = faults.cut && (faults.cut.file === undefined || faults.cut.file === file) && faults.cut.times > 0 ? faults.cut : undefined;
    // At byte `at` (default: half the file); a response starting past it is cut half-way through itself.
    const at = cut ? (cut.at ?? Math.floor(body.length / 2)) : Infinity;
    const cutAt = at > start ? at : start + Math.floor((end - start + 1) / 2);
    const stall = faults.stall && (faults.stall.file === undefined || faults.stall.file === file) ? faults.stall : undefined;
    if (stall) {
      res.write(body.subarray(start, start + (stall.after ?? 1024)));
      return; // and never more; the client's idle timeout must fire
    }
    if (cut && cutAt > start && cutAt <= end) {
      cut.times--;
      res.write(body.subarray(start, cutAt), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start, end + 1));
  });

  // --- Hub: API and resolve URLs -----------------------------------------------------------------
  let cdnOrigin = '';
  const hub = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    requests.push({ server: 'hub', method: req.method ?? '', url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization });
    const p = decodeURIComponent(url.pathname);
    const hostileBytes = hostilePaths.get(p);
    if (hostileBytes) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': hostileBytes.length, 'x-repo-commit': commit }).end(hostileBytes);
      return;
    }

    for (const alias of opts.aliases ?? []) {
      if (url.pathname.startsWith(`/${alias}/`) || url.pathname.startsWith(`/api/models/${alias}/`)) {
        const to = url.pathname.replace(`/${alias}/`, `/${repo}/`) + url.search;
        res.writeHead(307, { location: to, 'content-type': 'text/plain' }).end(`Temporary Redirect. Redirecting to ${to}`);
        return;
      }
    }

    const authorized = !opts.token || req.headers.authorization === `Bearer ${opts.token}`;
    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(p);
    const resolve = api ? null : /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    const where: Where = api ? 'api' : 'resolve';
    const [, reqRepo, rev, file] = api ?? resolve ?? [];
    if (!reqRepo) {
      res.writeHead(404, { 'content-type': 'text/html' }).end(HTML);
      return;
    }
    if (injected(where, file, res)) return;
    if (resolve && faults.bounce?.file === file && !url.searchParams.has('bounced')) {
      const back = `http://${req.headers.host}${url.pathname}?bounced=1`;
      res.writeHead(302, { location: `${cdnOrigin}/bounce?to=${encodeURIComponent(back)}`, 'content-type': 'text/plain' }).end('Found.');
      return;
    }
    if (reqRepo !== repo || !authorized) {
      // The real hub does not tell anonymous users whether a private repository exists.
      res.writeHead(401, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Repository not found', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Repository not found' }));
      return;
    }
    if (rev !== 'main' && rev !== commit) {
      res.writeHead(404, { 'x-error-code': 'RevisionNotFound', 'x-error-message': 'Invalid rev id', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Invalid rev id' }));
      return;
    }
    if (api) {
      const blobs = url.searchParams.get('blobs') === 'true';
      const siblings = [...files.keys()].sort().map((f) => {
        const b = files.get(f)!;
        if (!blobs) return { rfilename: f };
        if (faults.unsized?.file === f) return { rfilename: f, blobId: gitBlob(b) };
        return isLfs(f)
          ? { rfilename: f, blobId: gitBlob(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f)}\nsize ${b.length}\n`)), size: b.length, lfs: { sha256: publishedSha(f, false), size: b.length, pointerSize: 134 } }
          : { rfilename: f, blobId: publishedBlob(f), size: content(f).length };
      });
      for (const [name, bytes] of hostile) siblings.push({ rfilename: name, blobId: gitBlob(bytes), size: bytes.length });
      const cfg = JSON.parse(content('config.json').toString()) as { model_type?: string; architectures?: string[] };
      const config = opts.apiConfig === null ? undefined : (opts.apiConfig ?? { model_type: cfg.model_type, architectures: cfg.architectures });
      const body = json({ _id: '0'.repeat(24), id: repo, modelId: repo, sha: commit, private: !!opts.token, ...(config ? { config } : {}), library_name: 'transformers.js', siblings });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length }).end(body);
      return;
    }
    if (!files.has(file)) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-error-message': 'Entry not found', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Entry not found' }));
      return;
    }
    if (isLfs(file)) {
      const key = createHash('sha256').update(`${commit}/${file}`).digest('hex');
      const location = `${cdnOrigin}/repos/${key.slice(0, 2)}/${key}?X-Amz-Signature=fake&X-Amz-Expires=3600`;
      res.writeHead(302, {
        location,
        ...(faults.unsized?.file === file ? {} : { 'x-linked-etag': `"${publishedSha(file, true)}"`, 'x-linked-size': String(files.get(file)!.length) }),
        'x-repo-commit': commit,
        etag: `"${publishedSha(file, true)}"`,
        'content-type': 'text/plain; charset=utf-8',
      });
      res.end(`Found. Redirecting to ${location}`);
      return;
    }
    const body = content(file);
    res.writeHead(200, {
      'content-type': file.endsWith('.json') ? 'application/json' : 'text/plain; charset=utf-8',
      'content-length': body.length,
      etag: `"${gitBlob(body)}"`,
      'x-repo-commit': commit,
      'accept-ranges': 'bytes',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });

  const listen = (s: http.Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
  const cdnPort = await listen(cdn);
  cdnOrigin = `http://127.0.0.1:${cdnPort}`;
  const hubPort = await listen(hub);

  return {
    endpoint: `http://127.0.0.1:${hubPort}`,
    cdnOrigin,
    repo,
    commit,
    files,
    faults,
    requests,
    get authLeaks() {
      return authLeaks;
    },
    sha256,
    async close() {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}

export interface ConnectProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every CONNECT asked for: the target (`host:port`) and the Proxy-Authorization header. */
  connects: { target: string; auth?: string }[];
  /** Bytes the client sent into the tunnels: TLS records, in which no token may be readable. */
  tunnelled: Buffer[];
  close(): Promise<void>;
}

/**
 * An HTTP CONNECT proxy on 127.0.0.1, as corporate networks have: it answers `answer` (default 200), or 407 without
 * the `auth` it wants (`user:password`), and tunnels to port `to` on 127.0.0.1 whatever host was asked for, so that
 * a name only the "proxy" knows (lens-hub.test) reaches a local server.
 */
export async function startConnectProxy(opts: { answer?: number; auth?: string; to?: number } = {}): Promise<ConnectProxy> {
  const connects: ConnectProxy['connects'] = [];
  const tunnelled: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const target = req.url ?? '';
    connects.push({ target, auth: req.headers['proxy-authorization'] });
    if (opts.auth && req.headers['proxy-authorization'] !== `Basic ${Buffer.from(opts.auth).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="lens"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (opts.answer !== undefined && opts.answer !== 200) {
      client.end(`HTTP/1.1 ${opts.answer} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const port = opts.to ?? Number(target.slice(target.lastIndexOf(':') + 1));
    const upstream = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      client.on('data', (d: Buffer) => tunnelled.push(Buffer.from(d)));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
  });
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    tunnelled,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
