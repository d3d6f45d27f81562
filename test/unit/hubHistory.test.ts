// What real hub repositories and networks did to downloads, against the local fake hub over real HTTP:
// Xenova/gpt2's decoder_with_past_model (one token per run) and graphs whose "merged" name lies either way,
// external data over the size limit, 429s with Retry-After or the hub's RateLimit header, an expired storage
// link, the token in huggingface_hub's token file, and an HTTPS proxy.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledError } from '../../src/core/common/errors';
import { downloadModel, listVariants, MANIFEST_FILE, STAGING_DIR, type DownloadOptions } from '../../src/core/hub/download';
import { HubMergedGraphError, HubOfflineError, HubProxyError, HubRateLimitedError, HubUnreadableVariantError } from '../../src/core/hub/errors';
import { hubRequest, readAll, retryAfterSeconds } from '../../src/core/hub/http';
import { noProxy, proxyAgentsFromEnv, proxyFor } from '../../src/core/hub/proxy';
import { listOnnxVariants, pickVariant } from '../../src/core/hub/repo';
import { hubToken, hubTokenPath } from '../../src/core/hub/token';
import { ModelTooLargeError } from '../../src/core/model/errors';
import { DataType, encodeModel, floatTensor, node, onnx, valueInfo } from '../../src/core/onnx/build';
import { mergedDecoderEvidence } from '../../src/core/onnx/merged';
import { decodeModel } from '../../src/core/onnx/proto';
import { defaultModelFiles, pseudoRandom, startConnectProxy, startFakeHub, type FakeHub } from './helpers/fakeHub';
import { buildSyntheticGpt2 } from './helpers/syntheticGpt2';

/**
 * A tiny graph shaped like Optimum's merged decoder: an If on `use_cache_branch` whose two branches hold the work
 * (here an Identity each). `useCacheInput: false` keeps the If but drops the input, as a hand-made merge might.
 */
function mergedGraph(useCacheInput = true): Buffer {
  const GRAPH = onnx.AttributeProto.AttributeType.GRAPH;
  const branch = (name: string): onnx.IGraphProto => ({ name, node: [node('Identity', ['w'], [`${name}_logits`])], output: [valueInfo(`${name}_logits`, DataType.FLOAT, [1])] });
  const cond = useCacheInput ? 'use_cache_branch' : 'flag';
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'merged',
      node: [
        ...(useCacheInput ? [] : [node('Constant', [], ['flag'], { value: { tensor: { name: 'f', dims: [1], dataType: DataType.BOOL, int32Data: [1] } } })]),
        {
          opType: 'If',
          name: 'optimum::if',
          domain: '',
          input: [cond],
          output: ['logits'],
          attribute: [
            { name: 'then_branch', type: GRAPH, g: branch('then') },
            { name: 'else_branch', type: GRAPH, g: branch('else') },
          ],
        },
      ],
      input: [valueInfo('input_ids', DataType.INT64, ['batch', 'seq']), ...(useCacheInput ? [valueInfo('use_cache_branch', DataType.BOOL, [1])] : [])],
      output: [valueInfo('logits', DataType.FLOAT, [1])],
      initializer: [floatTensor('w', [1], [0])],
    },
  };
  return Buffer.from(encodeModel(model));
}

/** A plain GPT-2-shaped graph (no If, no use_cache_branch), with past key/values inputs as transformers.js exports have. */
function plainGraph(): Buffer {
  return Buffer.from(buildSyntheticGpt2({ vocab: 32, dModel: 8, nLayer: 1, nHead: 2, nCtx: 16 }).bytes);
}

/** The default files with the ONNX ones replaced by `onnx` (names under onnx/ without .onnx). */
function filesWith(onnxFiles: Record<string, Buffer>): Map<string, Buffer> {
  const files = new Map([...defaultModelFiles()].filter(([f]) => !f.startsWith('onnx/')));
  for (const [name, bytes] of Object.entries(onnxFiles)) files.set(`onnx/${name}`, bytes);
  return files;
}

describe('hub download: what real repositories and networks did', function () {
  this.timeout(20000);
  let hub: FakeHub | undefined;
  let dir: string;
  const opts = (h: FakeHub, more: Partial<DownloadOptions> = {}): DownloadOptions => ({ repo: h.repo, endpoint: h.endpoint, dir, ...more });
  const folder = () => path.join(dir, 'lens-test--lens-tiny@main');
  const resolved = (h: FakeHub, file: string) => h.requests.filter((r) => r.server === 'hub' && r.url.includes('/resolve/') && decodeURIComponent(r.url).endsWith(`/${file}`));

  async function failsWith<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T, message: RegExp): Promise<T> {
    let caught: unknown;
    await p.then(
      () => undefined,
      (e: unknown) => (caught = e),
    );
    assert.ok(caught instanceof type, `expected ${type.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
    assert.match(caught.message, message);
    assert.ok(!caught.message.includes('\n'), 'one line');
    return caught;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-hubh-'));
  });
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('decoder_with_past_model (item 10)', () => {
    it('is refused by name before the download, naming the file and what to pick instead; never the default', async () => {
      // Xenova/gpt2's layout: the plain decoder, the one with past key/values, and the merged one.
      hub = await startFakeHub({
        files: filesWith({ 'decoder_model.onnx': plainGraph(), 'decoder_with_past_model.onnx': pseudoRandom(64 * 1024, 5), 'decoder_model_merged.onnx': mergedGraph() }),
      });
      assert.equal((await listVariants({ repo: hub.repo, endpoint: hub.endpoint })).defaultVariant, 'decoder_model');
      await failsWith(
        downloadModel(opts(hub, { variant: 'decoder_with_past_model' })),
        HubUnreadableVariantError,
        /^lens-test\/lens-tiny: LLM Lens cannot read the ONNX variant "decoder_with_past_model" \(a decoder that takes past key\/values and exactly one new token per run.*\), so onnx\/decoder_with_past_model\.onnx was not downloaded\. Choose one of: decoder_model\.$/,
      );
      assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 0, 'nothing large was fetched');
      assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)));

      // Where it is the only float32 graph, it is not picked by default either.
      const only = listOnnxVariants(['decoder_with_past_model', 'decoder_model_quantized'].map((n) => ({ rfilename: `onnx/${n}.onnx` })));
      assert.throws(() => pickVariant('r', only), (e: Error) => e instanceof HubUnreadableVariantError && /no ONNX variant LLM Lens can read/.test(e.message));
      assert.throws(() => pickVariant('r', only, 'onnx/decoder_with_past_model.onnx'), (e: Error) => e instanceof HubUnreadableVariantError && /onnx\/decoder_with_past_model\.onnx was not downloaded\.$/.test(e.message));
    });
  });

  describe('merged or not, from the graph (item 11)', () => {
    it('tells a merged graph from a plain one by its use_cache_branch input or its If nodes', () => {
      assert.deepEqual(mergedDecoderEvidence(decodeModel(mergedGraph(), 'm.onnx')), ['a "use_cache_branch" input', '1 If node in its main graph']);
      assert.deepEqual(mergedDecoderEvidence(decodeModel(mergedGraph(false), 'm.onnx')), ['1 If node in its main graph']);
      assert.deepEqual(mergedDecoderEvidence(decodeModel(plainGraph(), 'p.onnx')), []);
    });

    it('keeps a file named decoder_model_merged that holds a plain graph, when asked for by name', async () => {
      const plain = plainGraph();
      hub = await startFakeHub({ files: filesWith({ 'decoder_model_merged.onnx': plain, 'decoder_model_merged_quantized.onnx': pseudoRandom(1024, 6) }) });
      // Not the default: by its name it is probably merged; the error says it can be asked for.
      await failsWith(downloadModel(opts(hub)), HubUnreadableVariantError, /no ONNX variant LLM Lens can read .*decoder_model_merged may hold a plain graph despite the name: asked for by name/);
      const result = await downloadModel(opts(hub, { variant: 'decoder_model_merged' }));
      assert.ok(fs.readFileSync(path.join(result.folder, 'onnx', 'model.onnx')).equals(plain));
      assert.equal(result.manifest.variant, 'decoder_model_merged');
    });

    it('refuses a merged graph named model.onnx after its graph is downloaded, before its external data, and moves nothing into place', async () => {
      hub = await startFakeHub({ files: filesWith({ 'model.onnx': mergedGraph(), 'model.onnx_data': pseudoRandom(256 * 1024, 7), 'decoder_model.onnx': plainGraph() }) });
      assert.equal((await listVariants({ repo: hub.repo, endpoint: hub.endpoint })).defaultVariant, 'model', 'nothing in its name says merged');
      await failsWith(
        downloadModel(opts(hub)),
        HubMergedGraphError,
        /^lens-test\/lens-tiny: onnx\/model\.onnx holds a merged decoder \(a "use_cache_branch" input; 1 If node in its main graph\): its layers sit inside If branches LLM Lens cannot instrument, so the download was discarded\. Choose one of: decoder_model\.$/,
      );
      assert.equal(resolved(hub, 'onnx/model.onnx').length, 1);
      assert.deepEqual(resolved(hub, 'onnx/model.onnx_data'), [], 'the external data was not fetched');
      assert.ok(!fs.existsSync(folder()));
      assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)), 'the staging folder was removed');
      // The plain one it suggests downloads.
      const result = await downloadModel(opts(hub, { variant: 'decoder_model' }));
      assert.ok(fs.existsSync(path.join(result.folder, MANIFEST_FILE)));
    });
  });

  describe('the size limit (item 13)', () => {
    it('counts the external data with the graph, before the first byte, and says the sizes', async () => {
      const graph = plainGraph();
      hub = await startFakeHub({ files: filesWith({ 'model.onnx': graph, 'model.onnx_data': pseudoRandom(300 * 1024, 8), 'model.onnx_data_1': pseudoRandom(200 * 1024, 9) }) });
      const e = await failsWith(
        downloadModel(opts(hub, { maxModelBytes: graph.length + 100 * 1024 })),
        ModelTooLargeError,
        /^lens-test\/lens-tiny\/onnx\/model\.onnx with its external data \(onnx\/model\.onnx [\d.]+ MB \+ onnx\/model\.onnx_data 0\.3 MB \+ onnx\/model\.onnx_data_1 0\.2 MB\) is [\d.]+ MB, more than the limit of [\d.]+ MB/,
      );
      assert.equal(e.bytes, graph.length + 500 * 1024);
      assert.ok(hub.requests.every((r) => r.url.startsWith('/api/')), 'refused from the listing');
      assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)));
      // Within the limit it downloads, data files included.
      const result = await downloadModel(opts(hub, { maxModelBytes: graph.length + 500 * 1024 }));
      assert.ok(fs.existsSync(path.join(result.folder, 'onnx', 'model.onnx_data_1')));
    });
  });

  describe('HTTP 429 (item 14a)', () => {
    const recorder = () => {
      const waits: number[] = [];
      return { waits, rateLimit: { wait: async (ms: number) => void waits.push(ms) } };
    };

    it('waits as Retry-After asks, then carries on', async () => {
      hub = await startFakeHub();
      hub.faults.status = { code: 429, where: 'resolve', file: 'config.json', retryAfter: 2, times: 2 };
      const { waits, rateLimit } = recorder();
      const result = await downloadModel(opts(hub, { rateLimit }));
      assert.deepEqual(waits, [2000, 2000]);
      assert.equal(resolved(hub, 'config.json').length, 3);
      assert.ok(fs.existsSync(path.join(result.folder, 'onnx', 'model.onnx')));
    });

    it('reads the hub\'s RateLimit header (t = seconds until the window resets), on the large file too', async () => {
      hub = await startFakeHub();
      hub.faults.status = { code: 429, where: 'resolve', file: 'onnx/model.onnx', headers: { ratelimit: '"api";r=0;t=55', 'ratelimit-policy': '"fixed window";"api";q=500;w=300' }, times: 1 };
      const { waits, rateLimit } = recorder();
      const told: number[] = [];
      await downloadModel(opts(hub, { rateLimit: { ...rateLimit, onWait: (s) => told.push(s) } }));
      assert.deepEqual(waits, [55_000]);
      assert.deepEqual(told, [55]);
    });

    it('reads Retry-After as an HTTP date', () => {
      const now = Date.parse('2026-01-01T12:00:00Z');
      assert.equal(retryAfterSeconds({ 'retry-after': 'Thu, 01 Jan 2026 12:00:42 GMT' }, now), 42);
      assert.equal(retryAfterSeconds({ 'retry-after': 'Thu, 01 Jan 2026 11:00:00 GMT' }, now), 0);
      assert.equal(retryAfterSeconds({ 'retry-after': '7' }, now), 7);
      assert.equal(retryAfterSeconds({ ratelimit: '"api";r=0;t=55' }, now), 55);
      assert.equal(retryAfterSeconds({ ratelimit: '"api";r=12;t=55' }, now), undefined, 'requests remain: no wait from it');
      assert.equal(retryAfterSeconds({ 'retry-after': 'soon' }, now), undefined);
      assert.equal(retryAfterSeconds({}, now), undefined);
    });

    it('gives up after a bounded number of waits, and at once when the hub asks for longer than the bound, saying when to retry', async () => {
      hub = await startFakeHub();
      hub.faults.status = { code: 429, where: 'api', retryAfter: 1 };
      let r = recorder();
      const e = await failsWith(downloadModel(opts(hub, { rateLimit: { ...r.rateLimit, retries: 2 } })), HubRateLimitedError, /HTTP 429, still after waiting 2 times\): try again in 1 s/);
      assert.equal(e.retries, 2);
      assert.deepEqual(r.waits, [1000, 1000]);

      hub.faults.status = { code: 429, where: 'api', retryAfter: 600 };
      r = recorder();
      await failsWith(downloadModel(opts(hub, { rateLimit: r.rateLimit })), HubRateLimitedError, /^The hub is limiting requests \(HTTP 429\): try again in 10 min/);
      assert.deepEqual(r.waits, [], 'not sat through');

      // No header at all: a short backoff.
      hub.faults.status = { code: 429, where: 'api' };
      r = recorder();
      await failsWith(downloadModel(opts(hub, { rateLimit: r.rateLimit })), HubRateLimitedError, /try again in a few minutes/);
      assert.deepEqual(r.waits, [1000, 2000, 4000]);
    });

    it('a wait is cancelled at once by the signal', async () => {
      hub = await startFakeHub();
      hub.faults.status = { code: 429, where: 'api', retryAfter: 30 };
      const ac = new AbortController();
      const started = Date.now();
      setTimeout(() => ac.abort(), 100);
      await failsWith(downloadModel(opts(hub, { signal: ac.signal })), CancelledError, /cancelled/);
      assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
    });
  });

  describe('an expired storage link (item 14b)', () => {
    it('a 403 from the storage host resolves the file at the hub again, once, for a fresh link; the token stays off the storage host', async () => {
      hub = await startFakeHub({ token: 'hf_t' });
      // The storage host refuses the first link, as it does once a signed link has expired.
      hub.faults.status = { code: 403, where: 'cdn', file: 'onnx/model.onnx', times: 1 };
      const result = await downloadModel(opts(hub, { token: 'hf_t' }));
      assert.ok(fs.readFileSync(path.join(result.folder, 'onnx', 'model.onnx')).equals(hub.files.get('onnx/model.onnx')!));
      assert.equal(resolved(hub, 'onnx/model.onnx').length, 2);
      assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 2);
      assert.ok(resolved(hub, 'onnx/model.onnx').every((r) => r.authorization === 'Bearer hf_t'));
      assert.equal(hub.authLeaks, 0);
    });

    it('a 403 from the hub itself is not retried', async () => {
      hub = await startFakeHub();
      hub.faults.status = { code: 403, where: 'resolve', file: 'onnx/model.onnx' };
      await assert.rejects(downloadModel(opts(hub)), /HTTP 403/);
      assert.equal(resolved(hub, 'onnx/model.onnx').length, 1);
    });
  });

  describe('the token file (item 14c)', () => {
    it('reads HF_TOKEN first, then $HF_TOKEN_PATH, $HF_HOME/token, $XDG_CACHE_HOME/huggingface/token, ~/.cache/huggingface/token', () => {
      const home = path.join(dir, 'home');
      const write = (p: string, text: string) => {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, text);
      };
      const base = { HOME: home, USERPROFILE: home };
      assert.equal(hubToken(base), undefined, 'no file, no token');
      write(path.join(home, '.cache', 'huggingface', 'token'), '  hf_home_default\n');
      assert.equal(hubTokenPath(base), path.join(home, '.cache', 'huggingface', 'token'));
      assert.equal(hubToken(base), 'hf_home_default');
      write(path.join(dir, 'xdg', 'huggingface', 'token'), 'hf_xdg');
      assert.equal(hubToken({ ...base, XDG_CACHE_HOME: path.join(dir, 'xdg') }), 'hf_xdg');
      write(path.join(dir, 'hf-home', 'token'), 'hf_hf_home\n');
      assert.equal(hubToken({ ...base, XDG_CACHE_HOME: path.join(dir, 'xdg'), HF_HOME: path.join(dir, 'hf-home') }), 'hf_hf_home');
      write(path.join(dir, 'elsewhere'), 'hf_path');
      assert.equal(hubToken({ ...base, HF_HOME: path.join(dir, 'hf-home'), HF_TOKEN_PATH: path.join(dir, 'elsewhere') }), 'hf_path');
      assert.equal(hubToken({ ...base, HF_TOKEN_PATH: '~/.cache/huggingface/token' }), 'hf_home_default', '~ expanded');
      assert.equal(hubToken({ ...base, HF_TOKEN_PATH: path.join(dir, 'elsewhere'), HF_TOKEN: 'hf_env' }), 'hf_env');
      assert.equal(hubToken({ ...base, HUGGING_FACE_HUB_TOKEN: 'hf_old_name' }), 'hf_old_name');
      // Not a token: ignored rather than sent.
      write(path.join(dir, 'garbage'), 'hf_a\nsecond line');
      assert.equal(hubToken({ ...base, HF_TOKEN_PATH: path.join(dir, 'garbage') }), undefined);
      assert.equal(hubToken({ ...base, HF_TOKEN_PATH: path.join(dir, 'missing') }), undefined, 'a missing HF_TOKEN_PATH does not fall back');
    });
  });

  describe('HTTPS_PROXY (item 14d)', () => {
    // A self-signed certificate for lens-hub.test, valid 2000-2100, made once with openssl; only these tests trust it.
    const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgB7nG5XIIB5jGXHxH
rh7W3SsgioVs2RyPzQvVt9SWUvahRANCAASDK/Z2fbCwZNovy8ye9+j9TYTBkWtq
Toz5phxJ+7BUsB6TMexKu9LuWUAS3jG24gTyi7XiTmX1CgV8mxYr7v0r
-----END PRIVATE KEY-----
`;
    const CERT = `-----BEGIN CERTIFICATE-----
MIIBbTCCAROgAwIBAgIBATAKBggqhkjOPQQDAjAYMRYwFAYDVQQDDA1sZW5zLWh1
Yi50ZXN0MCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAYMRYwFAYD
VQQDDA1sZW5zLWh1Yi50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgyv2
dn2wsGTaL8vMnvfo/U2EwZFrak6M+aYcSfuwVLAekzHsSrvS7llAEt4xtuIE8ou1
4k5l9QoFfJsWK+79K6NMMEowGAYDVR0RBBEwD4INbGVucy1odWIudGVzdDAPBgNV
HRMBAf8EBTADAQH/MB0GA1UdDgQWBBRoNF3pwSTGHSzXrPvHrLn5sB/CojAKBggq
hkjOPQQDAgNIADBFAiBarGtk9eGq+NlUj/Pckkl2MteXqVa/3sH3b2yvT/srEAIh
ANqj1V5C3Zz8pR3/ntwWboOX+ZGo5eHwyn6UCPPDsE42
-----END CERTIFICATE-----
`;

    it('chooses the proxy per URL: https_proxy before HTTPS_PROXY, HTTP_PROXY for http://, NO_PROXY and this machine bypass it', () => {
      const u = (s: string) => new URL(s);
      const env = { HTTPS_PROXY: 'http://big:3128', https_proxy: 'proxy.corp:8080', HTTP_PROXY: 'http://plain:80', NO_PROXY: 'internal.corp, .example.com,*.test,10.1.2.3,mirror:8443' };
      assert.equal(proxyFor(u('https://huggingface.co/x'), env)?.href, 'http://proxy.corp:8080/');
      assert.equal(proxyFor(u('http://mirror.lan/x'), env)?.href, 'http://plain/');
      assert.equal(proxyFor(u('https://huggingface.co/x'), { HTTP_PROXY: 'http://plain:80' }), undefined, 'https:// takes only HTTPS_PROXY, as curl and Node do');
      for (const direct of ['https://internal.corp/x', 'https://hub.internal.corp/x', 'https://example.com/x', 'https://a.example.com/x', 'https://x.test/', 'https://10.1.2.3/', 'https://mirror:8443/', 'https://127.0.0.1:9/', 'https://localhost/', 'http://[::1]:8/']) {
        assert.equal(proxyFor(u(direct), env), undefined, direct);
      }
      assert.ok(proxyFor(u('https://mirror/x'), env), 'the port in NO_PROXY must match');
      assert.ok(proxyFor(u('https://notexample.com/x'), env), 'a suffix matches whole labels only');
      assert.ok(noProxy(u('https://anything/'), '*'));
      assert.throws(() => proxyFor(u('https://h/'), { HTTPS_PROXY: 'socks5://p:1080' }), (e: Error) => e instanceof HubProxyError && /socks5: proxies are not supported/.test(e.message));
      assert.equal(proxyAgentsFromEnv({}), undefined, 'no variable, Node\'s default agents');
    });

    it('tunnels https:// through CONNECT with the proxy\'s credentials; TLS to the hub runs inside, so the proxy never sees the token', async () => {
      const seen: (string | undefined)[] = [];
      const server = https.createServer({ key: KEY, cert: CERT }, (req, res) => {
        seen.push(req.headers.authorization);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as AddressInfo).port;
      const proxy = await startConnectProxy({ auth: 'lens:p@ss word' });
      try {
        const url = `https://lens-hub.test:${port}/api/x`;
        const agent = proxyAgentsFromEnv({ HTTPS_PROXY: `http://lens:p%40ss%20word@${proxy.url.slice('http://'.length)}` }, { ca: CERT });
        const res = await hubRequest(url, { agent, token: 'hf_secret_token' });
        assert.equal(res.status, 200);
        assert.equal((await readAll(res, 1024, 'x')).toString(), '{"ok":true}');
        assert.deepEqual(seen, ['Bearer hf_secret_token']);
        assert.deepEqual(proxy.connects, [{ target: `lens-hub.test:${port}`, auth: `Basic ${Buffer.from('lens:p@ss word').toString('base64')}` }]);
        assert.ok(!Buffer.concat(proxy.tunnelled).includes('hf_secret_token'), 'only TLS records crossed the proxy');

        // The hub's certificate is still checked inside the tunnel.
        const untrusted = proxyAgentsFromEnv({ HTTPS_PROXY: `http://lens:p%40ss%20word@${proxy.url.slice('http://'.length)}` });
        await failsWith(hubRequest(url, { agent: untrusted }), HubOfflineError, /Could not reach lens-hub\.test:\d+ \(TLS: /);
        // Wrong credentials: the proxy's 407, named as the proxy's.
        const noAuth = proxyAgentsFromEnv({ HTTPS_PROXY: proxy.url }, { ca: CERT });
        await failsWith(hubRequest(url, { agent: noAuth }), HubProxyError, /^The proxy http:\/\/127\.0\.0\.1:\d+ could not open a connection to lens-hub\.test:\d+ \(HTTP 407: the proxy wants a user name and password in the proxy URL\)/);
      } finally {
        await proxy.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    });

    it('tunnels http:// too (HTTP_PROXY): a whole download from a hub only the proxy can reach, its storage on this machine reached directly', async () => {
      hub = await startFakeHub();
      const proxy = await startConnectProxy();
      try {
        const port = new URL(hub.endpoint).port;
        const agent = proxyAgentsFromEnv({ HTTP_PROXY: proxy.url });
        const result = await downloadModel({ repo: hub.repo, endpoint: `http://lens-hub.test:${port}`, dir, agent });
        assert.ok(fs.readFileSync(path.join(result.folder, 'onnx', 'model.onnx')).equals(hub.files.get('onnx/model.onnx')!));
        // One tunnel per request to the hub (no keep-alive); the CDN at 127.0.0.1 is not proxied.
        assert.ok(proxy.connects.length >= 5 && proxy.connects.every((c) => c.target === `lens-hub.test:${port}`), JSON.stringify(proxy.connects));
        assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 1);
      } finally {
        await proxy.close();
      }
    });

    it('a proxy that does not answer is named in the error', async () => {
      const dead = http.createServer();
      await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((r) => dead.close(() => r()));
      const agent = proxyAgentsFromEnv({ HTTPS_PROXY: `http://127.0.0.1:${port}` });
      await failsWith(hubRequest('https://huggingface.co/api/x', { agent }), HubProxyError, new RegExp(`^The proxy http://127\\.0\\.0\\.1:${port} could not open a connection to huggingface\\.co:443 \\(ECONNREFUSED\\)`));
    });
  });
});
