// HTTPS_PROXY / HTTP_PROXY / NO_PROXY for the command-line downloader. Node's http and https modules ignore these
// variables (Node 20 entirely; later versions only with NODE_USE_ENV_PROXY=1), so behind a corporate proxy the CLI
// could not reach the hub. Each request to the hub or its storage goes through an HTTP CONNECT tunnel opened
// with node:http, and TLS runs inside the tunnel end to end: the proxy sees the host name, never the token or the
// bytes. The extension host does not need this: VS Code patches http/https there and applies its own proxy setting.
import * as http from 'node:http';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { HubProxyError } from './errors';

/** How long the proxy may take to open the tunnel. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * The proxy for a URL from the environment, as curl and Node's own proxy support read it: `https_proxy` or
 * `HTTPS_PROXY` for https:// URLs, `http_proxy` or `HTTP_PROXY` for http:// ones (the lower-case name first), none
 * for a host NO_PROXY names or for this machine (a token may go to a local hub over plain http, never to a proxy).
 */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const https = url.protocol === 'https:';
  const value = (https ? (env.https_proxy ?? env.HTTPS_PROXY) : (env.http_proxy ?? env.HTTP_PROXY))?.trim();
  if (!value) return undefined;
  if (isLoopbackHost(url.hostname) || noProxy(url, env.no_proxy ?? env.NO_PROXY ?? '')) return undefined;
  let proxy: URL;
  try {
    // `host:port` without a scheme is common in these variables: an http proxy.
    proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new HubProxyError(JSON.stringify(value), url.host, 'not a proxy URL');
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') throw new HubProxyError(shownProxy(proxy), url.host, `${proxy.protocol} proxies are not supported, only http:// and https://`);
  return proxy;
}

/**
 * True when a NO_PROXY list (commas or spaces) names the URL's host: `*` for every host; a name matches itself and
 * its subdomains (`example.com`, `.example.com` and `*.example.com` all match `hub.example.com`); an IP address
 * matches itself; `:port` limits an entry to that port. CIDR ranges are not understood.
 */
export function noProxy(url: URL, list: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (let entry of list.split(/[\s,]+/).filter(Boolean)) {
    entry = entry.toLowerCase();
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(entry);
    if (m) {
      entry = m[1].replace(/^\[|\]$/g, '');
      entryPort = m[2];
    }
    if (entryPort && entryPort !== port) continue;
    const name = entry.replace(/^\*?\./, '');
    if (name && (host === name || host.endsWith(`.${name}`))) return true;
  }
  return false;
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A proxy URL for messages: without its user name and password. */
function shownProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/**
 * The per-URL agent function for HubRequestOptions.agent, from the environment; undefined when no proxy variable is
 * set (Node's default agents then). `tlsOptions` (tests: a CA) apply to the TLS session with the hub inside the tunnel.
 */
export function proxyAgentsFromEnv(env: NodeJS.ProcessEnv = process.env, tlsOptions: tls.ConnectionOptions = {}): ((url: URL) => http.Agent | undefined) | undefined {
  if (!['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'].some((k) => env[k]?.trim())) return undefined;
  const agents = new Map<string, http.Agent>();
  return (url: URL) => {
    const proxy = proxyFor(url, env);
    if (!proxy) return undefined;
    const key = `${url.protocol}${proxy.href}`;
    let agent = agents.get(key);
    if (!agent) {
      agent = url.protocol === 'https:' ? new HttpsTunnelAgent(proxy, tlsOptions) : new HttpTunnelAgent(proxy);
      agents.set(key, agent);
    }
    return agent;
  };
}

type ConnectOptions = http.ClientRequestArgs & tls.ConnectionOptions;
type Callback = (err: Error | null, socket?: Duplex) => void;

/** Opens `CONNECT host:port` at the proxy and hands the raw tunnel to `done`. */
function openTunnel(proxy: URL, host: string, port: number, done: (err: Error | null, socket?: Duplex) => void): void {
  const target = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  const headers: Record<string, string> = { host: target };
  if (proxy.username || proxy.password) {
    const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(user).toString('base64')}`;
  }
  const proxyHost = proxy.hostname.replace(/^\[|\]$/g, '');
  const proxyPort = Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80);
  const req = http.request({
    host: proxyHost,
    port: proxyPort,
    method: 'CONNECT',
    path: target,
    headers,
    agent: false,
    // An https:// proxy: the CONNECT itself travels over TLS to the proxy.
    ...(proxy.protocol === 'https:' ? { createConnection: () => tls.connect({ host: proxyHost, port: proxyPort, servername: sniName(proxyHost) }) } : {}),
  });
  const refused = (status: number | undefined) =>
    new HubProxyError(shownProxy(proxy), target, status === 407 ? 'HTTP 407: the proxy wants a user name and password in the proxy URL' : `HTTP ${status}`);
  let settled = false;
  const finish = (err: Error | null, socket?: Duplex) => {
    if (settled) return socket?.destroy();
    settled = true;
    clearTimeout(timer);
    done(err, socket);
  };
  const timer = setTimeout(() => {
    req.destroy();
    finish(new HubProxyError(shownProxy(proxy), target, `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
  }, CONNECT_TIMEOUT_MS);
  // The tunnel's socket keeps the process alive while it matters; the timer alone must not.
  timer.unref();
  req.once('connect', (res, socket, head) => {
    if (res.statusCode !== 200) {
      socket.destroy();
      return finish(refused(res.statusCode));
    }
    // Bytes the proxy sent past its answer belong to the tunnel.
    if (head.length) socket.unshift(head);
    finish(null, socket);
  });
  // A refusal can also arrive as an ordinary response, depending on how the proxy frames it.
  req.once('response', (res) => {
    res.resume();
    finish(refused(res.statusCode));
  });
  req.once('error', (e) => finish(new HubProxyError(shownProxy(proxy), target, (e as NodeJS.ErrnoException).code ?? e.message)));
  req.end();
}

/** A TLS server name: a host name, never an IP address (which SNI does not carry). */
function sniName(host: string): string | undefined {
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}

/** https:// through the tunnel: TLS to the hub (or its storage) inside it, certificates checked as usual. */
class HttpsTunnelAgent extends http.Agent {
  constructor(
    private readonly proxy: URL,
    private readonly tlsOptions: tls.ConnectionOptions,
  ) {
    super({ keepAlive: false });
    // Agent's request options would otherwise say http: for an https URL.
    (this as unknown as { protocol: string }).protocol = 'https:';
    (this as unknown as { defaultPort: number }).defaultPort = 443;
  }

  // The documented asynchronous form: the socket is handed to the callback once the tunnel is open.
  override createConnection(options: ConnectOptions, callback: Callback): Duplex | undefined {
    const host = String(options.host ?? options.hostname ?? 'localhost');
    const port = Number(options.port) || 443;
    openTunnel(this.proxy, host, port, (err, raw) => {
      if (err || !raw) return callback(err ?? new HubProxyError(shownProxy(this.proxy), host, 'no tunnel'));
      const servername = options.servername || sniName(host);
      const socket = tls.connect({ ...this.tlsOptions, socket: raw, host, servername });
      let ready = false;
      socket.once('secureConnect', () => {
        ready = true;
        callback(null, socket);
      });
      socket.once('error', (e) => {
        if (!ready) callback(e);
      });
    });
    return undefined;
  }
}

/** http:// through the tunnel (a mirror on another machine): the raw tunnel is the connection. */
class HttpTunnelAgent extends http.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: false });
  }

  override createConnection(options: ConnectOptions, callback: Callback): Duplex | undefined {
    openTunnel(this.proxy, String(options.host ?? options.hostname ?? 'localhost'), Number(options.port) || 80, (err, raw) => callback(err, raw));
    return undefined;
  }
}
