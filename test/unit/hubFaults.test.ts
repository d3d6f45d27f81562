// Every fault of a hub download against the local fake hub over real HTTP: a typed error with a clear
// message, the partial file kept for resuming or removed, and an earlier model left untouched.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledError } from '../../src/core/common/errors';
import { downloadModel, STAGING_DIR, type DownloadOptions } from '../../src/core/hub/download';
import {
  HubChecksumError,
  HubDiskFullError,
  HubDnsError,
  HubHtmlPageError,
  HubMissingFileError,
  HubNotFoundError,
  HubOfflineError,
  HubRateLimitedError,
  HubServerError,
  HubTooLargeError,
  HubTruncatedError,
  HubUnauthorizedError,
  HubUnsupportedModelError,
  HubVariantError,
} from '../../src/core/hub/errors';
import { ModelConfigError, ModelTooLargeError } from '../../src/core/model/errors';
import { defaultModelFiles, startFakeHub, type FakeHub } from './helpers/fakeHub';

describe('hub download faults', function () {
  this.timeout(20000);
  let hub: FakeHub;
  let dir: string;
  let previous: string;
  const MODEL = 'onnx/model.onnx';

  const opts = (more: Partial<DownloadOptions> = {}): DownloadOptions => ({ repo: hub.repo, endpoint: hub.endpoint, dir, ...more });
  const partFiles = () =>
    fs.existsSync(path.join(dir, STAGING_DIR)) ? (fs.readdirSync(path.join(dir, STAGING_DIR), { recursive: true }) as string[]).filter((f) => f.endsWith('.part')) : [];
  const partPath = () => path.join(dir, STAGING_DIR, 'lens-test--lens-tiny@main', 'onnx', 'model.onnx.part');
  const finalModel = () => path.join(dir, 'lens-test--lens-tiny@main', MODEL);

  /** Asserts a typed error and that its message is one readable line. */
  async function failsWith<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T, message: RegExp): Promise<T> {
    let caught: unknown;
    await p.catch((e: unknown) => (caught = e));
    assert.ok(caught instanceof type, `expected ${type.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
    assert.match(caught.message, message);
    assert.ok(!caught.message.includes('\n'), 'one line');
    return caught;
  }

  /** An earlier model of another revision that no failure may touch (the "previous model still active"). */
  function assertPreviousIntact() {
    assert.equal(fs.readFileSync(path.join(previous, 'config.json'), 'utf8'), '{"model_type":"gpt2"}');
  }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-hubf-'));
    previous = path.join(dir, 'someone--earlier@main');
    fs.mkdirSync(previous);
    fs.writeFileSync(path.join(previous, 'config.json'), '{"model_type":"gpt2"}');
    hub = await startFakeHub();
  });
  afterEach(async () => {
    assertPreviousIntact();
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('no network: nothing listens at the endpoint', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await failsWith(downloadModel(opts({ endpoint: `http://127.0.0.1:${port}` })), HubOfflineError, new RegExp(`Could not reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    assert.deepEqual(partFiles(), []);
  });

  it('DNS failure: the endpoint host does not resolve', async () => {
    await failsWith(downloadModel(opts({ endpoint: 'http://lens-hub.invalid' })), HubDnsError, /lens-hub\.invalid could not be resolved/);
  });

  it('HTTP 401: a private repository without a token', async () => {
    await hub.close();
    hub = await startFakeHub({ token: 'hf_right' });
    await failsWith(downloadModel(opts()), HubUnauthorizedError, /refused access to lens-test\/lens-tiny \(HTTP 401\).*private.*HF_TOKEN/);
    await failsWith(downloadModel(opts({ token: 'hf_wrong' })), HubUnauthorizedError, /HTTP 401/);
  });

  it('HTTP 403 from the CDN on resume (an expired link): typed, and the kept bytes stay for the next try', async () => {
    hub.faults.cut = { file: MODEL, times: 1 };
    await failsWith(downloadModel(opts({ retries: 0 })), HubTruncatedError, /interrupted/);
    const kept = fs.statSync(partPath()).size;
    hub.faults.status = { code: 403, where: 'cdn', file: MODEL };
    const e = await failsWith(downloadModel(opts()), HubUnauthorizedError, /HTTP 403\): the storage server refused the download link/);
    assert.equal(e.partialKept, true);
    assert.equal(fs.statSync(partPath()).size, kept);
  });

  it('HTTP 404: unknown revision, missing file', async () => {
    await failsWith(downloadModel(opts({ revision: 'no-such-branch' })), HubNotFoundError, /Revision of lens-test\/lens-tiny was not found.*404/);
    hub.faults.status = { code: 404, where: 'resolve', file: 'tokenizer.json', errorCode: 'EntryNotFound' };
    await failsWith(downloadModel(opts()), HubNotFoundError, /tokenizer\.json in lens-test\/lens-tiny was not found/);
  });

  it('HTTP 429: rate limited, waited out as the hub asks a bounded number of times, then the wait it asks for', async () => {
    hub.faults.status = { code: 429, where: 'api', retryAfter: 30 };
    const waits: number[] = [];
    const wait = async (ms: number) => void waits.push(ms);
    const e = await failsWith(downloadModel(opts({ rateLimit: { wait } })), HubRateLimitedError, /HTTP 429, still after waiting 3 times\): try again in 30 s/);
    assert.equal(e.retryAfterSeconds, 30);
    assert.deepEqual(waits, [30_000, 30_000, 30_000]);
  });

  it('HTTP 500: server error on the large file, nothing half-done left as a model', async () => {
    hub.faults.status = { code: 500, where: 'cdn', file: MODEL };
    const e = await failsWith(downloadModel(opts()), HubServerError, /HTTP 500\) for http:\/\/127\.0\.0\.1:\d+\/repos\/[0-9a-f]{2}\/[0-9a-f]{64}: try again later/);
    assert.ok(!e.message.includes('Signature'), 'a signed storage URL is not shown');
    assert.ok(!fs.existsSync(finalModel()));
  });

  it('an HTML page instead of a small file (captive portal on the hub host)', async () => {
    hub.faults.html = { where: 'resolve', file: 'config.json' };
    await failsWith(downloadModel(opts()), HubHtmlPageError, /web page instead of config\.json/);
  });

  it('an HTML page instead of the ONNX file, on resume: the kept bytes stay intact', async () => {
    hub.faults.cut = { file: MODEL, times: 1 };
    await failsWith(downloadModel(opts({ retries: 0 })), HubTruncatedError, /interrupted/);
    const kept = fs.readFileSync(partPath());
    hub.faults.html = { where: 'cdn', file: MODEL };
    const e = await failsWith(downloadModel(opts()), HubHtmlPageError, /web page instead of onnx\/model\.onnx/);
    assert.equal(e.partialKept, true);
    assert.ok(fs.readFileSync(partPath()).equals(kept));
  });

  it('a truncated file: typed error, bytes kept, and the next run resumes with Range', async () => {
    const size = hub.files.get(MODEL)!.length;
    hub.faults.cut = { file: MODEL, times: Infinity };
    const e = await failsWith(downloadModel(opts({ retries: 1 })), HubTruncatedError, /onnx\/model\.onnx was interrupted after [\d.]+ [KM]iB of [\d.]+ [KM]iB: run the download again to resume\.$/);
    assert.equal(e.partialKept, true);
    assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 2, 'one automatic resume before giving up');
    const kept = fs.statSync(partPath()).size;
    assert.ok(kept > 0 && kept < size);
    assert.ok(!fs.existsSync(finalModel()));

    hub.faults.cut = undefined;
    hub.requests.length = 0;
    const result = await downloadModel(opts());
    assert.equal(result.resumedBytes, kept);
    assert.deepEqual(
      hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range),
      [`bytes=${kept}-`],
    );
    assert.ok(fs.readFileSync(finalModel()).equals(hub.files.get(MODEL)!));
    assert.deepEqual(partFiles(), []);
  });

  it('a stalled transfer times out and is handled like a cut one', async () => {
    hub.faults.stall = { file: MODEL, after: 4096 };
    const e = await failsWith(downloadModel(opts({ idleTimeoutMs: 300, retries: 0 })), HubTruncatedError, /interrupted after 4\.0 KiB/);
    assert.equal(e.partialKept, true);
  });

  it('a wrong checksum: the file is deleted, nothing is moved into place', async () => {
    hub.faults.wrongSha256 = { file: MODEL };
    await failsWith(downloadModel(opts()), HubChecksumError, /onnx\/model\.onnx arrived corrupted \(SHA-256 .* where the hub published .*\); the damaged file was deleted/);
    assert.deepEqual(partFiles(), []);
    assert.ok(!fs.existsSync(finalModel()));
  });

  it('a checksum in X-Linked-Etag that contradicts the API: refused before the transfer', async () => {
    hub.faults.conflictingSha256 = { file: MODEL };
    await failsWith(downloadModel(opts()), HubChecksumError, /two different SHA-256 values/);
    assert.deepEqual(partFiles(), []);
  });

  it('a full disk (ENOSPC): clear message, the partial file removed', async function () {
    if (process.platform !== 'linux' || !fs.existsSync('/dev/full')) this.skip();
    // Leave an unfinished download, then point its .part at /dev/full, whose writes fail with ENOSPC.
    hub.faults.cut = { file: MODEL, times: 1 };
    await failsWith(downloadModel(opts({ retries: 0 })), HubTruncatedError, /interrupted/);
    fs.rmSync(partPath());
    fs.symlinkSync('/dev/full', partPath());
    const e = await failsWith(downloadModel(opts()), HubDiskFullError, /disk is full while writing model\.onnx to .*: about [\d.]+ [KM]iB are needed; free some space/);
    assert.equal(e.partialKept, false);
    assert.ok(!fs.existsSync(partPath()));
  });

  it('cancel half-way: CancelledError, bytes kept, and a later run resumes', async () => {
    const ac = new AbortController();
    hub.faults.stall = { file: MODEL, after: 64 * 1024 };
    const p = downloadModel(opts({ signal: ac.signal }));
    // Cancel once the transfer is under way (and stalled, so it cannot finish first).
    const poll = setInterval(() => fs.existsSync(partPath()) && fs.statSync(partPath()).size >= 64 * 1024 && ac.abort(), 10);
    try {
      await failsWith(p, CancelledError, /cancelled/);
    } finally {
      clearInterval(poll);
    }
    const kept = fs.statSync(partPath()).size;
    assert.equal(kept, 64 * 1024);
    hub.faults.stall = undefined;
    const result = await downloadModel(opts());
    assert.equal(result.resumedBytes, kept);
    assert.ok(fs.readFileSync(finalModel()).equals(hub.files.get(MODEL)!));
  });

  it('cancel before the start: nothing is fetched', async () => {
    const ac = new AbortController();
    ac.abort();
    await failsWith(downloadModel(opts({ signal: ac.signal })), CancelledError, /cancelled/);
    assert.equal(hub.requests.length, 0);
  });

  it('an unsupported architecture: refused from config.json before anything large is fetched', async () => {
    hub.faults.config = { model_type: 'mistral', architectures: ['MistralForCausalLM'] };
    await failsWith(downloadModel(opts()), HubUnsupportedModelError, /"mistral" model \(MistralForCausalLM\); LLM Lens reads GPT-2 and Llama-family models.*Nothing large was downloaded/);
    assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 0);
    assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)));
  });

  it('a config.json the model folder check refuses (no n_embd): refused before the large file, naming the file', async () => {
    const config = JSON.parse(hub.files.get('config.json')!.toString());
    delete config.n_embd;
    hub.faults.config = config;
    await failsWith(downloadModel(opts()), ModelConfigError, /config\.json cannot be used: it has no "n_embd"/);
    assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 0);
    assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)));
  });

  it('an ONNX file over the size limit: refused before the transfer', async () => {
    await failsWith(downloadModel(opts({ maxModelBytes: 1000 })), ModelTooLargeError, /lens-test\/lens-tiny\/onnx\/model\.onnx is [\d.]+ MB, more than the limit/);
    assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 0);
  });

  it('a file whose size the hub never gives, streamed without end: stopped at the size limit, the partial file deleted', async () => {
    hub.faults.unsized = { file: MODEL, endless: true };
    const limit = 3 * 1024 * 1024;
    const e = await failsWith(
      downloadModel(opts({ maxModelBytes: limit })),
      HubTooLargeError,
      /^lens-test\/lens-tiny\/onnx\/model\.onnx grew past 3\.0 MiB, all that is left of the model size limit, although the server never said how large it is; the transfer was stopped and the partial file deleted/,
    );
    assert.equal(e.partialKept, false);
    assert.deepEqual(partFiles(), []);
    assert.ok(!fs.existsSync(finalModel()));
    // The server wrote little past the limit before the connection was closed (socket buffers), not its 256 MiB.
    assert.ok(hub.faults.unsized.sent! < 64 * 1024 * 1024, `${hub.faults.unsized.sent} bytes sent`);
  });

  it('a file whose size only Content-Length gives, over the limit: refused before a byte of it is written', async () => {
    hub.faults.unsized = { file: MODEL, length: true };
    const size = hub.files.get(MODEL)!.length;
    const limit = Math.floor(size / 2);
    const e = await failsWith(downloadModel(opts({ maxModelBytes: limit })), ModelTooLargeError, /^lens-test\/lens-tiny\/onnx\/model\.onnx is [\d.]+ MB, more than the limit/);
    assert.equal(e.bytes, size);
    assert.deepEqual(partFiles(), []);
  });

  it('a file whose size the hub never gives, within the limit: downloaded and checked against its git blob id', async () => {
    hub.faults.unsized = { file: MODEL };
    const result = await downloadModel(opts());
    assert.ok(fs.readFileSync(finalModel()).equals(hub.files.get(MODEL)!));
    assert.equal(result.manifest.files.find((f) => f.path === MODEL)?.size, undefined);
  });

  it('a further validation failure after the transfer: nothing moved into place, staging removed', async () => {
    const broken = new Error('onnx/model.onnx could not be loaded');
    await assert.rejects(downloadModel(opts({ validate: async () => Promise.reject(broken) })), (e) => e === broken);
    assert.ok(!fs.existsSync(finalModel()));
    assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)));
  });

  it('a repository without tokenizer.json, or without the asked variant', async () => {
    await hub.close();
    const files = new Map([...defaultModelFiles()].filter(([f]) => f !== 'tokenizer.json'));
    hub = await startFakeHub({ files });
    await failsWith(downloadModel(opts()), HubMissingFileError, /has no tokenizer\.json/);
    await hub.close();
    hub = await startFakeHub();
    await failsWith(downloadModel(opts({ variant: 'q4' })), HubVariantError, /no ONNX variant "q4"; it has: decoder_model, model, model_quantized/);
  });
});
