// HTTP for the hub with Node's http/https: redirects followed by hand so that the token never leaves
// the hub's origin (nor comes back to it once a redirect has left), never travels over plain http to
// another machine, the hub's X-Linked-* headers kept from the redirect hop, a 429 waited out as the hub
// asks (bounded, cancellable), an expired storage link resolved again once, and network and status
// failures turned into typed errors.
import * as http from 'node:http';
import * as https from 'node:https';
import { CancelledError, errorMessage } from '../common/errors';
import {
  HubDnsError,
  HubError,
  HubHtmlPageError,
  HubHttpError,
  HubInsecureTokenError,
  HubNotFoundError,
  HubOfflineError,
  HubRateLimitedError,
  HubServerError,
  HubTimeoutError,
  HubTooManyRedirectsError,
  HubUnauthorizedError,
  HubBadResponseError,
} from './errors';

export interface HubRequestOptions {
  /**
   * Sent as `Authorization: Bearer` to the origin of the first URL only, never to a redirect target elsewhere nor,
   * once a redirect has left that origin, to a later hop back to it; refused for plain http:// except to this machine.
   */
  token?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  method?: 'GET' | 'HEAD';
  /** Socket idle time before giving up; the hub's CDN can pause, so this is generous. */
  idleTimeoutMs?: number;
  maxRedirects?: number;
  /** How a 429 is waited out; see RateLimitPolicy for the defaults. */
  rateLimit?: RateLimitPolicy;
  /**
   * The agent for a URL (a proxy tunnel, see proxy.ts), or undefined for Node's default. Node's http/https ignore
   * HTTPS_PROXY and the like; inside VS Code its own proxy setting applies, since VS Code patches these modules there.
   */
  agent?: (url: URL) => http.Agent | undefined;
}

/**
 * A 429 (the hub limits requests per token or address over a window of minutes) is retried after the wait the
 * hub asks for (Retry-After, else the reset time in its RateLimit header, else a short backoff), a bounded number
 * of times; a wait longer than `maxWaitSeconds` is not sat through: the typed error says when to try again.
 */
export interface RateLimitPolicy {
  /** Retries after a 429 before giving up (default 3). */
  retries?: number;
  /** Longest single wait (default 60 s). */
  maxWaitSeconds?: number;
  /** Waits `ms`, rejecting with CancelledError when `signal` aborts; tests pass one that does not sleep. */
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told before each wait (a log line, a progress message): the download is not stuck. */
  onWait?: (seconds: number, url: string) => void;
}

const RATE_LIMIT_RETRIES = 3;
const RATE_LIMIT_MAX_WAIT_S = 60;

/** What the hub says about a large file on the redirect hop (and what every hop said about the commit). */
export interface LinkedInfo {
  /** SHA-256 of the content (X-Linked-Etag without quotes), for files stored in LFS/Xet. */
  sha256?: string;
  size?: number;
  commit?: string;
}

export interface HubResponse {
  status: number;
  /** For a final 429: how many times it was waited out and retried before this answer. */
  rateLimitRetries?: number;
  headers: http.IncomingHttpHeaders;
  url: string;
  linked: LinkedInfo;
  body: http.IncomingMessage;
  /** Maps an error thrown while reading `body` to the typed error (cancel, timeout) or returns undefined. */
  failure(): HubError | CancelledError | undefined;
}

const USER_AGENT = 'llm-lens/0.1 (vscode-extension; node)';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function unquoteEtag(v: string | undefined): string | undefined {
  if (!v) return undefined;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Turns a socket-level error into a typed one naming the host. */
export function networkError(e: unknown, url: string, signal?: AbortSignal): HubError | CancelledError {
  if (signal?.aborted) return new CancelledError();
  if (e instanceof HubError || e instanceof CancelledError) return e;
  const host = safeHost(url);
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  const message = errorMessage(e);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') return new HubDnsError(host);
  if (code === 'ETIMEDOUT') return new HubOfflineError(host, 'connection timed out');
  if (/^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS|ERR_SSL)/.test(code)) return new HubOfflineError(host, `TLS: ${message}`);
  return new HubOfflineError(host, code || message);
}

/** A URL for messages and logs: without its query, which on a storage host is a signature that grants access. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.split('?')[0];
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * One request, following redirects. Resolves when the final response's headers arrive; the caller
 * reads or discards `body`. Status codes are judged by `statusError`, except two that a new try can fix:
 * a 429 is retried after the wait the hub asks for (see RateLimitPolicy), and a 401/403 from a host other
 * than the first URL's (a storage link signed for a limited time, which may have expired while a resumed
 * download waited) is retried once from the first URL, which redirects to a freshly signed link.
 */
export async function hubRequest(url: string, opts: HubRequestOptions = {}): Promise<HubResponse> {
  const origin = new URL(url).origin;
  const policy = opts.rateLimit ?? {};
  const retries = policy.retries ?? RATE_LIMIT_RETRIES;
  const maxWait = policy.maxWaitSeconds ?? RATE_LIMIT_MAX_WAIT_S;
  let limited = 0;
  let relinked = false;
  for (;;) {
    const res = await followRedirects(url, opts);
    if (res.status === 429 && limited < retries) {
      // No header: 1, 2, 4 s. A wait longer than the bound is left to the person: the error says how long.
      const seconds = retryAfterSeconds(res.headers) ?? Math.min(maxWait, 2 ** limited);
      if (seconds <= maxWait) {
        res.body.resume();
        limited++;
        policy.onWait?.(seconds, shownUrl(res.url));
        await (policy.wait ?? delay)(seconds * 1000, opts.signal);
        continue;
      }
    }
    if ((res.status === 401 || res.status === 403) && !relinked && new URL(res.url).origin !== origin) {
      res.body.resume();
      relinked = true;
      continue;
    }
    if (res.status === 429) res.rateLimitRetries = limited;
    return res;
  }
}

/**
 * The wait a 429 asks for, in whole seconds: `Retry-After` as seconds or as an HTTP date, else the reset
 * time of an exhausted policy in the hub's `RateLimit` header (`"api";r=0;t=55`: r requests remain, t seconds until
 * the window resets). Undefined when neither says.
 */
export function retryAfterSeconds(headers: http.IncomingHttpHeaders, now = Date.now()): number | undefined {
  const ra = header(headers, 'retry-after')?.trim();
  if (ra) {
    if (/^\d+$/.test(ra)) return Number(ra);
    const at = Date.parse(ra);
    if (Number.isFinite(at)) return Math.max(0, Math.ceil((at - now) / 1000));
  }
  const rl = header(headers, 'ratelimit');
  if (rl) {
    // A list of policies, each `"name";r=N;t=N`: the longest reset among those with nothing remaining.
    let wait: number | undefined;
    for (const item of rl.split(',')) {
      const r = /;\s*r=(\d+)/.exec(item);
      const t = /;\s*t=(\d+)/.exec(item);
      if (t && (!r || Number(r[1]) === 0)) wait = Math.max(wait ?? 0, Number(t[1]));
    }
    return wait;
  }
  return undefined;
}

/** Waits `ms`; rejects with CancelledError as soon as `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function followRedirects(url: string, opts: HubRequestOptions): Promise<HubResponse> {
  const first = new URL(url);
  const origin = first.origin;
  // A token over plain http can be read by anyone on the way; only a hub on this machine (tests, a local mirror) is spared.
  if (opts.token && first.protocol === 'http:' && !isLoopback(first.hostname)) throw new HubInsecureTokenError(origin);
  const linked: LinkedInfo = {};
  let current = url;
  let token = opts.token;
  for (let hop = 0; hop <= (opts.maxRedirects ?? 10); hop++) {
    // Once the chain has left the hub's origin, where it goes next is the other server's choice: a hop back to the
    // hub could carry that server's path and query, so the token is not sent again for the rest of this chain.
    if (new URL(current).origin !== origin) token = undefined;
    const res = await requestOnce(current, opts, token);
    const h = res.body.headers;
    const linkedEtag = unquoteEtag(header(h, 'x-linked-etag'));
    if (linkedEtag && /^[0-9a-f]{64}$/i.test(linkedEtag)) linked.sha256 ??= linkedEtag.toLowerCase();
    const linkedSize = Number(header(h, 'x-linked-size'));
    if (header(h, 'x-linked-size') !== undefined && Number.isSafeInteger(linkedSize) && linkedSize >= 0) linked.size ??= linkedSize;
    linked.commit ??= header(h, 'x-repo-commit');
    const status = res.body.statusCode ?? 0;
    const location = header(h, 'location');
    if (REDIRECTS.has(status) && location) {
      res.body.resume();
      current = new URL(location, current).toString();
      continue;
    }
    return { status, headers: h, url: current, linked, body: res.body, failure: res.failure };
  }
  throw new HubTooManyRedirectsError(shownUrl(url));
}

/** `localhost`, 127.0.0.0/8 or ::1 (as URL.hostname spells them): traffic that never leaves this machine. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function requestOnce(
  url: string,
  opts: HubRequestOptions,
  token: string | undefined,
): Promise<{ body: http.IncomingMessage; failure: HubResponse['failure'] }> {
  if (opts.signal?.aborted) return Promise.reject(new CancelledError());
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
  if (!mod) return Promise.reject(new HubBadResponseError(url, `unsupported protocol ${u.protocol}`));
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    // The size and hash checks are of the stored bytes: no transparent compression.
    'accept-encoding': 'identity',
    ...opts.headers,
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  let failure: HubError | CancelledError | undefined;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: opts.method ?? 'GET', headers, signal: opts.signal, agent: opts.agent?.(u) }, (res) => {
      resolve({ body: res, failure: () => failure ?? (opts.signal?.aborted ? new CancelledError() : undefined) });
    });
    req.setTimeout(idleMs, () => {
      failure = new HubTimeoutError(u.host, Math.round(idleMs / 1000));
      req.destroy(failure);
    });
    req.on('error', (e) => reject(failure ?? networkError(e, url, opts.signal)));
    req.end();
  });
}

/** The typed error for a non-success status, using the hub's X-Error-Code/X-Error-Message headers. */
export function statusError(res: Pick<HubResponse, 'status' | 'headers' | 'url' | 'rateLimitRetries'>, repo: string, what: string, hubOrigin?: string): HubError {
  const code = header(res.headers, 'x-error-code');
  const message = header(res.headers, 'x-error-message');
  const fromStorage = hubOrigin !== undefined && new URL(res.url).origin !== hubOrigin;
  switch (res.status) {
    case 401:
    case 403:
      return new HubUnauthorizedError(
        repo,
        res.status,
        fromStorage
          ? 'the storage server refused the download link, and a freshly signed one too: try again later; a proxy or firewall may be in the way.'
          : code === 'GatedRepo' || /gated|accept/i.test(message ?? '')
          ? 'the repository is gated: accept its terms on its hub page and set an access token (HF_TOKEN).'
          : code === 'RepoNotFound'
            ? 'it does not exist, or it is private and needs an access token (HF_TOKEN).'
            : 'it may be private or gated and need an access token (HF_TOKEN), or the token is wrong.',
      );
    case 404:
      return new HubNotFoundError(
        code === 'RevisionNotFound' ? `Revision of ${repo}` : code === 'EntryNotFound' ? `${what} in ${repo}` : code === 'RepoNotFound' ? `Repository ${repo}` : what,
      );
    case 429:
      return new HubRateLimitedError(retryAfterSeconds(res.headers), res.rateLimitRetries);
    default:
      if (res.status >= 500) return new HubServerError(res.status, shownUrl(res.url));
      return new HubHttpError(res.status, shownUrl(res.url), message);
  }
}

export function isHtml(headers: http.IncomingHttpHeaders, firstBytes: Uint8Array): boolean {
  if (/text\/html|application\/xhtml/i.test(header(headers, 'content-type') ?? '')) return true;
  const head = Buffer.from(firstBytes.subarray(0, 256)).toString('latin1').trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html') || head.startsWith('<head') || head.startsWith('<body');
}

/** Reads a whole (small) body, refusing more than `limit` bytes; a cut connection is a typed error. */
export async function readAll(res: HubResponse, limit: number, file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > limit) {
        res.body.destroy();
        throw new HubBadResponseError(file, `larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof HubError) throw e;
    throw res.failure() ?? networkError(e, res.url);
  }
  return Buffer.concat(chunks);
}

/** GET of a small file or API answer: the typed status error, HTML detection, whole body. */
export async function getSmall(url: string, repo: string, file: string, opts: HubRequestOptions, limit = 64 * 1024 * 1024): Promise<{ bytes: Buffer; res: HubResponse }> {
  const res = await hubRequest(url, opts);
  if (res.status !== 200) {
    res.body.resume();
    throw statusError(res, repo, file);
  }
  const bytes = await readAll(res, limit, file);
  if (isHtml(res.headers, bytes)) throw new HubHtmlPageError(file, shownUrl(res.url));
  return { bytes, res };
}

export function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    throw new HubBadResponseError(what, `not valid JSON (${errorMessage(e)})`);
  }
}
