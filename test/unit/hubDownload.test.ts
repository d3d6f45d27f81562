// The downloader against a local fake hub over real HTTP: layout, redirects to the CDN host, tokens
// kept off that host, variants, progress, resuming, and replacing an earlier download.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadModel, listVariants, MANIFEST_FILE, STAGING_DIR, type DownloadProgress } from '../../src/core/hub/download';
import { deleteStoredModel, listStoredModels } from '../../src/core/hub/store';
import { startFakeHub, type FakeHub } from './helpers/fakeHub';

describe('hub download', function () {
  this.timeout(20000);
  let hub: FakeHub;
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-hub-'));
  });
  afterEach(async () => {
    await hub?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fetches the transformers.js layout into <dir>/<owner>--<repo>@<rev>/, large files through the CDN', async () => {
    hub = await startFakeHub();
    const progress: DownloadProgress[] = [];
    const result = await downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, onProgress: (p) => progress.push(p) });

    const folder = path.join(dir, 'lens-test--lens-tiny@main');
    assert.equal(result.folder, folder);
    const files = (fs.readdirSync(folder, { recursive: true }) as string[]).map((f) => f.split(path.sep).join('/')).sort();
    assert.deepEqual(files, ['config.json', 'generation_config.json', MANIFEST_FILE, 'onnx', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json'].sort());
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
      assert.ok(fs.readFileSync(path.join(folder, f)).equals(hub.files.get(f)!), f);
    }
    assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)), 'no staging folder left behind');

    const manifest = JSON.parse(fs.readFileSync(path.join(folder, MANIFEST_FILE), 'utf8'));
    assert.equal(manifest.repo, hub.repo);
    assert.equal(manifest.commit, hub.commit);
    assert.equal(manifest.variant, 'model');
    assert.equal(manifest.complete, true);
    assert.equal(manifest.files.find((f: { path: string }) => f.path === 'onnx/model.onnx').sha256, hub.sha256('onnx/model.onnx'));

    // Files are resolved at the commit the API named, so they all belong together.
    const resolves = hub.requests.filter((r) => r.server === 'hub' && r.url.includes('/resolve/'));
    assert.ok(resolves.every((r) => r.url.includes(`/resolve/${hub.commit}/`)), JSON.stringify(resolves));
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    assert.equal(cdn.length, 1, 'only the ONNX file comes from the CDN');
    assert.match(cdn[0].url, /X-Amz-Signature/);

    const total = [...['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']].reduce((n, f) => n + hub.files.get(f)!.length, 0);
    assert.ok(progress.length >= 2);
    assert.ok(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1].bytes), 'progress only grows');
    assert.ok(progress.every((p) => p.total === total));
    assert.equal(progress[progress.length - 1].bytes, total);
    assert.ok(progress.every((p) => p.bytesPerSecond >= 0));
  });

  it('sends the token to the hub, follows the redirect, and never lets the token reach the CDN host', async () => {
    hub = await startFakeHub({ token: 'hf_secret' });
    await downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, token: 'hf_secret' });
    const toHub = hub.requests.filter((r) => r.server === 'hub');
    assert.ok(toHub.length >= 5 && toHub.every((r) => r.authorization === 'Bearer hf_secret'));
    const toCdn = hub.requests.filter((r) => r.server === 'cdn');
    assert.ok(toCdn.length >= 1);
    assert.ok(toCdn.every((r) => r.authorization === undefined));
    assert.equal(hub.authLeaks, 0);
  });

  it('follows a renamed repository (relative 307 on the same host) and keeps the token there', async () => {
    hub = await startFakeHub({ token: 't', aliases: ['old-owner/old-name'] });
    const result = await downloadModel({ repo: 'old-owner/old-name', endpoint: hub.endpoint, dir, token: 't' });
    assert.equal(path.basename(result.folder), 'old-owner--old-name@main');
    assert.ok(fs.existsSync(path.join(result.folder, 'onnx', 'model.onnx')));
    assert.equal(hub.authLeaks, 0);
  });

  it('lists the variants with sizes and saves the chosen one as onnx/model.onnx', async () => {
    hub = await startFakeHub();
    const { variants, defaultVariant } = await listVariants({ repo: hub.repo, endpoint: hub.endpoint });
    assert.deepEqual(
      variants.map((v) => [v.name, v.size]),
      [
        ['decoder_model', hub.files.get('onnx/decoder_model.onnx')!.length],
        ['model', hub.files.get('onnx/model.onnx')!.length],
        ['model_quantized', hub.files.get('onnx/model_quantized.onnx')!.length],
      ],
    );
    assert.equal(defaultVariant, 'model');
    const result = await downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, variant: 'decoder_model' });
    assert.ok(fs.readFileSync(path.join(result.folder, 'onnx', 'model.onnx')).equals(hub.files.get('onnx/decoder_model.onnx')!));
    assert.ok(!fs.existsSync(path.join(result.folder, 'onnx', 'decoder_model.onnx')));
    assert.equal(result.manifest.variant, 'decoder_model');
    // A variant the lens cannot read is refused before any large file is fetched.
    const before = hub.requests.length;
    await assert.rejects(downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, variant: 'model_quantized' }), /cannot read the ONNX variant "model_quantized"/);
    assert.ok(!hub.requests.slice(before).some((r) => r.server === 'cdn' || /\.onnx/.test(r.url ?? '')), 'nothing large was fetched');
  });

  it('resumes a transfer cut half-way with a Range request, within the same run', async () => {
    hub = await startFakeHub();
    const size = hub.files.get('onnx/model.onnx')!.length;
    hub.faults.cut = { file: 'onnx/model.onnx', times: 1 };
    const result = await downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir });
    assert.ok(fs.readFileSync(path.join(result.folder, 'onnx', 'model.onnx')).equals(hub.files.get('onnx/model.onnx')!));
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    assert.equal(cdn.length, 2);
    assert.equal(cdn[0].range, undefined);
    // Bytes already received but not yet read when the socket closed are dropped by Node: resume at or before the cut.
    const from = Number(/^bytes=(\d+)-$/.exec(cdn[1].range ?? '')?.[1]);
    assert.ok(from > 0 && from <= Math.floor(size / 2), cdn[1].range);
  });

  it('restarts from zero when the server ignores Range, and still verifies', async () => {
    hub = await startFakeHub();
    hub.faults.cut = { file: 'onnx/model.onnx', times: 1 };
    hub.faults.ignoreRange = true;
    const result = await downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir });
    assert.ok(fs.readFileSync(path.join(result.folder, 'onnx', 'model.onnx')).equals(hub.files.get('onnx/model.onnx')!));
  });

  it('replaces an earlier download of the same revision, and lists and deletes stored models', async () => {
    hub = await startFakeHub();
    await downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, variant: 'decoder_model' });
    const again = await downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, variant: 'model' });
    assert.ok(fs.readFileSync(path.join(again.folder, 'onnx', 'model.onnx')).equals(hub.files.get('onnx/model.onnx')!));
    assert.deepEqual(fs.readdirSync(dir), ['lens-test--lens-tiny@main']);

    // An unfinished download shows up as partial.
    hub.faults.cut = { file: 'onnx/model.onnx', times: Infinity };
    await assert.rejects(downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, revision: hub.commit, retries: 0 }));
    const stored = await listStoredModels(dir);
    assert.deepEqual(
      stored.map((m) => [m.name, m.partial, m.manifest?.variant]),
      [
        ['lens-test--lens-tiny@main', false, 'model'],
        [`lens-test--lens-tiny@${hub.commit}`, true, 'model'],
      ],
    );
    assert.ok(stored[0].bytes > hub.files.get('onnx/model.onnx')!.length);
    await assert.rejects(deleteStoredModel(dir, path.dirname(dir)));
    await assert.rejects(deleteStoredModel(dir, path.join(dir, 'lens-test--lens-tiny@main', 'onnx')));
    for (const m of stored) await deleteStoredModel(dir, m.path);
    assert.deepEqual(await listStoredModels(dir), []);
  });
});
