// `llm-lens download` against the local fake hub: the folder on stdout, progress and one clear line on stderr, exit codes,
// the token from huggingface_hub's token file, and HTTPS_PROXY.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadCommand, type DownloadIo } from '../../src/tools/cli/download';
import { startConnectProxy, startFakeHub, type FakeHub } from './helpers/fakeHub';

describe('llm-lens download', function () {
  this.timeout(20000);
  let hub: FakeHub;
  let dir: string;
  let out: string[];
  let err: string[];
  const io: DownloadIo = { out: (s) => out.push(s), err: (s) => err.push(s) };
  const run = (...args: string[]) => downloadCommand([...args, '--endpoint', hub.endpoint, '--dir', dir], io);

  // The variables the CLI reads, restored after each test; a token file or proxy on this machine must not leak in.
  const ENV = ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_TOKEN_PATH', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
  let saved: Record<string, string | undefined>;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-hubcli-'));
    out = [];
    err = [];
    saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
    for (const k of ENV) delete process.env[k];
    process.env.HF_TOKEN_PATH = path.join(dir, 'no-token-here');
    hub = await startFakeHub();
  });
  afterEach(async () => {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('prints progress on stderr and the model folder on stdout', async () => {
    assert.equal(await run(hub.repo, '--variant', 'decoder_model'), 0);
    const folder = path.join(dir, 'lens-test--lens-tiny@main');
    assert.deepEqual(out, [folder]);
    assert.ok(fs.existsSync(path.join(folder, 'onnx', 'model.onnx')));
    assert.ok(err.some((l) => /^onnx\/decoder_model\.onnx {2}[\d.]+ [KM]?i?B \/ [\d.]+ [KM]iB {2}100% {2}[\d.]+ [KM]?i?B\/s$/.test(l)), err.join('\n'));
    assert.match(err[err.length - 1], /^Downloaded lens-test\/lens-tiny@main \(variant decoder_model, [\d.]+ [KM]iB\) into:$/);
  });

  it('--list shows the variants with sizes and the default', async () => {
    assert.equal(await run(hub.repo, '--list'), 0);
    assert.equal(out.length, 3);
    assert.match(out[0], /^decoder_model +200 KiB$/);
    assert.match(out[1], /^model +[\d.]+ MiB {2}\(default\)$/);
    assert.match(out[2], /^model_quantized +100 KiB {2}\(LLM Lens cannot read it: quantized weights\)$/);
    assert.ok(!fs.readdirSync(dir).length, 'nothing downloaded');
  });

  it('fails with one line and status 1, and resumes when run again', async () => {
    assert.equal(await run(hub.repo, '--revision', 'nope'), 1);
    assert.deepEqual(err, ['llm-lens: Revision of lens-test/lens-tiny was not found on the hub (HTTP 404): check the repository id, the revision and the endpoint.']);

    err = [];
    hub.faults.cut = { file: 'onnx/model.onnx', times: Infinity };
    assert.equal(await run(hub.repo), 1);
    assert.match(err[err.length - 1], /^llm-lens: The download of onnx\/model\.onnx was interrupted after .*: run the download again to resume\.$/);
    hub.faults.cut = undefined;
    err = [];
    assert.equal(await run(hub.repo), 0);
    assert.match(err[err.length - 1], /resumed after [\d.]+ [KM]iB\) into:$/);
  });

  it('uses HF_TOKEN for a private repository', async () => {
    await hub.close();
    hub = await startFakeHub({ token: 'hf_cli' });
    assert.equal(await run(hub.repo), 1);
    assert.match(err[0], /^llm-lens: The hub refused access .*HTTP 401/);
    process.env.HF_TOKEN = 'hf_cli';
    assert.equal(await run(hub.repo), 0);
    assert.equal(hub.authLeaks, 0);
  });

  it('reads the token from huggingface_hub\'s token file when HF_TOKEN is not set', async () => {
    await hub.close();
    hub = await startFakeHub({ token: 'hf_from_file' });
    const file = path.join(dir, 'hf-home', 'token');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'hf_from_file\n');
    process.env.HF_TOKEN_PATH = file;
    const models = path.join(dir, 'models');
    assert.equal(await downloadCommand([hub.repo, '--endpoint', hub.endpoint, '--dir', models, '--list'], io), 0, err.join('\n'));
    assert.equal(await downloadCommand([hub.repo, '--endpoint', hub.endpoint, '--dir', models], io), 0, err.join('\n'));
    assert.ok(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_from_file'));
    // HF_TOKEN still comes first.
    process.env.HF_TOKEN = 'hf_wrong';
    assert.equal(await downloadCommand([hub.repo, '--endpoint', hub.endpoint, '--dir', models, '--list'], io), 1);
    assert.equal(hub.authLeaks, 0);
  });

  it('goes through HTTPS_PROXY (a CONNECT tunnel) for https:// URLs, and straight to this machine', async () => {
    const proxy = await startConnectProxy({ answer: 502 });
    try {
      process.env.HTTPS_PROXY = proxy.url;
      // Node's https alone would try to resolve lens-hub.invalid (a DNS error); the CLI asks the proxy instead.
      assert.equal(await downloadCommand(['a/b', '--endpoint', 'https://lens-hub.invalid', '--dir', dir, '--list'], io), 1);
      assert.equal(err[err.length - 1], `llm-lens: The proxy ${proxy.url} could not open a connection to lens-hub.invalid:443 (HTTP 502): check the HTTPS_PROXY, HTTP_PROXY and NO_PROXY environment variables.`);
      assert.deepEqual(proxy.connects.map((c) => c.target), ['lens-hub.invalid:443']);
      // A hub on this machine bypasses the proxy (and the http:// one too).
      process.env.HTTP_PROXY = proxy.url;
      assert.equal(await run(hub.repo), 0, err.join('\n'));
      assert.equal(proxy.connects.length, 1);
    } finally {
      await proxy.close();
    }
  });

  it('usage errors exit with status 2', async () => {
    assert.equal(await downloadCommand([], io), 2);
    assert.equal(await downloadCommand(['a/b', '--bogus'], io), 2);
    assert.equal(await downloadCommand(['a/b', '--endpoint', 'ftp://x'], io), 2);
    assert.equal(await downloadCommand(['not a repo'], io), 2);
    assert.ok(err.every((l) => l.startsWith('llm-lens: ')));
    assert.equal(await downloadCommand(['--help'], io), 0);
    assert.match(out[0], /llm-lens download <owner\/name>/);
  });
});
