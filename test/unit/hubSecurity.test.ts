// A hostile or broken hub endpoint against the downloader, over real HTTP on 127.0.0.1: listed names that
// climb out of the models folder, are absolute, or hold backslashes or control characters; revisions that
// URL normalisation would rewrite; a redirect chain that brings the token back to the hub; a token over
// plain http; and git blob ids that do not match the bytes served.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadModel, listVariants, stagingPath, STAGING_DIR, type DownloadOptions } from '../../src/core/hub/download';
import { HubBadRevisionError, HubChecksumError, HubDnsError, HubInsecureTokenError, HubUnsafeFileNameError, quoteName } from '../../src/core/hub/errors';
import { listOnnxVariants, type Sibling } from '../../src/core/hub/repo';
import { apiRevisionUrl, parseRepoInput, resolveUrl } from '../../src/core/hub/urls';
import { startFakeHub, type FakeHub } from './helpers/fakeHub';

describe('hub download security', function () {
  this.timeout(20000);
  let hub: FakeHub | undefined;
  /** Holds the models folder, so that a write that climbs out of it lands somewhere the test sees. */
  let outer: string;
  let dir: string;
  const MODEL = 'onnx/model.onnx';
  const EXPECTED = ['config.json', 'generation_config.json', 'lens-download.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json'];

  const opts = (h: FakeHub, more: Partial<DownloadOptions> = {}): DownloadOptions => ({ repo: h.repo, endpoint: h.endpoint, dir, ...more });
  /** Every file under `root`, as /-separated paths relative to it. */
  const allFiles = (root: string) =>
    (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
      .filter((e) => !e.isDirectory())
      .map((e) => path.relative(root, path.join((e as unknown as { parentPath?: string; path: string }).parentPath ?? e.path, e.name)).split(path.sep).join('/'))
      .sort();

  /** Asserts a typed error whose message is one line of printable text. */
  async function failsWith<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T, message: RegExp): Promise<T> {
    let caught: unknown;
    await p.then(
      () => undefined,
      (e: unknown) => (caught = e),
    );
    assert.ok(caught instanceof type, `expected ${type.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
    assert.match(caught.message, message);
    assert.ok(!/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/.test(caught.message), `one line of printable text: ${JSON.stringify(caught.message)}`);
    return caught;
  }

  beforeEach(() => {
    outer = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-hubs-'));
    dir = path.join(outer, 'models');
    fs.mkdirSync(dir);
  });
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
    fs.rmSync(outer, { recursive: true, force: true });
  });

  describe('file names from the listing', () => {
    it('refuses a listed external-data name that climbs out of the folder (onnx/model.onnx_data/../../../x), writing nothing', async () => {
      const climbing = [
        'onnx/model.onnx_data/../../../x',
        'onnx/model.onnx_data/../../../../../x',
        'onnx/model.onnx_data_1/../../../../x',
        'onnx/model.onnx_data\\..\\..\\..\\x',
        'onnx/model.onnx_data\u001b[2J\nx',
      ];
      for (const name of climbing) {
        hub = await startFakeHub({ hostile: new Map([[name, Buffer.from('{"pwned":true}')]]) });
        const e = await failsWith(downloadModel(opts(hub)), HubUnsafeFileNameError, /^The hub's file list for lens-test\/lens-tiny names a file ".+" \(.+\); LLM Lens only writes .*nothing was downloaded/);
        assert.ok(e.message.includes(quoteName(name)), e.message);
        assert.deepEqual(allFiles(outer), [], `nothing written anywhere for ${JSON.stringify(name)}`);
        assert.ok(hub.requests.every((r) => r.url.startsWith('/api/')), 'refused from the listing, before any file is fetched');
        await hub.close();
        hub = undefined;
      }
    });

    it('names the offending file escaped and cut short, never quoting the hub text verbatim', async () => {
      const name = `onnx/model.onnx_data/../${'A'.repeat(5000)}\n\u202e[info] download complete`;
      hub = await startFakeHub({ hostile: new Map([[name, Buffer.from('{}')]]) });
      const e = await failsWith(downloadModel(opts(hub)), HubUnsafeFileNameError, /"onnx\/model\.onnx_data\/\.\.\/A+\.\.\." \(control characters in the name\)/);
      assert.ok(e.message.length < 500, `${e.message.length} characters`);
      assert.ok(!e.message.includes('download complete'));
      assert.equal(quoteName('onnx\\..\\x\u0007\u202e'), '"onnx\\\\..\\\\x\\u0007\\u202e"');
      assert.deepEqual(allFiles(outer), []);
    });

    it('ignores absolute, backslash, climbing and control-character names elsewhere in the listing: only the exact ONNX shapes are fetched', async () => {
      const ignored = ['/etc/x', 'onnx\\..\\x', '../x', 'onnx/..\\x.onnx', 'onnx/..\\x.onnx_data', 'onnx/model.onnx.data/../../x', 'onnx/model\u0007.onnx', 'onnx/sub/../../x.onnx'];
      hub = await startFakeHub({ hostile: new Map(ignored.map((n) => [n, Buffer.from('{"pwned":true}')])) });
      const { variants } = await listVariants({ repo: hub.repo, endpoint: hub.endpoint });
      assert.deepEqual(
        variants.map((v) => [v.name, v.data.map((d) => d.rfilename)]),
        [
          ['decoder_model', []],
          ['model', []],
          ['model_quantized', []],
        ],
      );
      const result = await downloadModel(opts(hub));
      assert.deepEqual(allFiles(outer), EXPECTED.map((f) => `models/lens-test--lens-tiny@main/${f}`));
      assert.ok(fs.readFileSync(path.join(result.folder, MODEL)).equals(hub.files.get(MODEL)!));
      const fetched = hub.requests.filter((r) => r.server === 'hub' && r.url.includes('/resolve/')).map((r) => decodeURIComponent(r.url.replace(/^.*\/resolve\/[^/]+\//, '')));
      assert.deepEqual(fetched.sort(), EXPECTED.filter((f) => f !== 'lens-download.json').sort());
    });

    it('takes only onnx/<name>.onnx as a variant, and only <name>.onnx_data and <name>.onnx_data_<N> as its external data', () => {
      const names = [
        'onnx/model.onnx',
        'onnx/model.onnx_data',
        'onnx/model.onnx_data_1',
        'onnx/model.onnx_data_12',
        'onnx/model.onnx.data',
        'onnx/model.onnx_data.bak',
        'onnx/model.onnx_data_x',
        'onnx/model.onnx_data_1/x',
        'onnx/model.onnx_data/../../x',
        'onnx/..\\evil.onnx',
        'onnx/ev il.onnx',
        'onnx/.hidden.onnx',
        'onnx/a:b.onnx',
      ];
      const v = listOnnxVariants(names.map((rfilename): Sibling => ({ rfilename, size: 1 })));
      assert.deepEqual(
        v.map((x) => [x.name, x.data.map((d) => d.rfilename), x.unsafe, x.size]),
        [['model', ['onnx/model.onnx_data', 'onnx/model.onnx_data_1', 'onnx/model.onnx_data_12'], ['onnx/model.onnx_data/../../x'], 4]],
      );
    });

    it('checks that every local path stays inside the staging folder before it is written', () => {
      const staging = path.join(dir, STAGING_DIR, 'lens-test--lens-tiny@main');
      assert.equal(stagingPath(staging, 'r', 'onnx/model.onnx_data_1'), path.join(path.resolve(staging), 'onnx', 'model.onnx_data_1'));
      assert.equal(stagingPath(staging, 'r', 'config.json'), path.join(path.resolve(staging), 'config.json'));
      const bad: [string, RegExp][] = [
        ['../x', /climbs out/],
        ['onnx/../../x', /climbs out/],
        ['onnx/..', /climbs out/],
        ['onnx/./x', /"\." path segment/],
        ['onnx//x', /empty or "\." path segment/],
        ['/etc/x', /absolute path/],
        ['C:/x', /absolute path/],
        ['C:\\x', /backslash|absolute/],
        ['onnx\\..\\x', /backslash/],
        ['onnx/model.onnx:evil', /colon/],
        ['a\u0000b', /control characters/],
        ['a\nb', /control characters/],
        ['', /empty name/],
      ];
      for (const [name, why] of bad) {
        assert.throws(
          () => stagingPath(staging, 'r', name),
          (e: Error) => e instanceof HubUnsafeFileNameError && why.test(e.message) && !/[\x00-\x1f]/.test(e.message),
          JSON.stringify(name),
        );
      }
    });
  });

  describe('revisions and file URLs', () => {
    it('refuses a revision of "." or "..", before any request', async () => {
      for (const rev of ['.', '..']) {
        assert.throws(() => resolveUrl('https://huggingface.co', 'a/b', rev, 'config.json'), HubBadRevisionError, rev);
        assert.throws(() => apiRevisionUrl('https://huggingface.co', 'a/b', rev), HubBadRevisionError, rev);
        assert.throws(() => parseRepoInput(`a/b@${rev}`), HubBadRevisionError, rev);
        assert.throws(() => parseRepoInput(`https://huggingface.co/a/b/tree/${rev === '.' ? '%2E' : '%2E%2E'}`), HubBadRevisionError, rev);
      }
      hub = await startFakeHub();
      await failsWith(downloadModel(opts(hub, { revision: '..' })), HubBadRevisionError, /^"\.\." is not a revision: expected a branch, tag or commit/);
      await failsWith(listVariants({ repo: hub.repo, endpoint: hub.endpoint, revision: '.' }), HubBadRevisionError, /^"\." is not a revision/);
      assert.equal(hub.requests.length, 0);
      assert.deepEqual(allFiles(outer), []);
    });

    it('encodes every segment of a file URL and refuses a file name URL normalisation would rewrite', () => {
      const url = resolveUrl('https://hf.example/', 'a/b', 'refs/pr/1', 'onnx/a b#?%&.onnx');
      assert.equal(url, 'https://hf.example/a/b/resolve/refs%2Fpr%2F1/onnx/a%20b%23%3F%25%26.onnx');
      assert.equal(new URL(url).pathname, '/a/b/resolve/refs%2Fpr%2F1/onnx/a%20b%23%3F%25%26.onnx');
      for (const file of ['onnx/../x', '../x', 'onnx/./x', '/etc/x', 'onnx\\..\\x']) {
        assert.throws(() => resolveUrl('https://hf.example', 'a/b', 'main', file), HubUnsafeFileNameError, file);
      }
    });
  });

  describe('the token', () => {
    it('is not sent again to the hub once a redirect chain has left its origin (hub -> other origin -> hub)', async () => {
      hub = await startFakeHub();
      hub.faults.bounce = { file: 'config.json' };
      await downloadModel(opts(hub, { token: 'hf_secret' }));
      const config = hub.requests.filter((r) => r.url.includes('/config.json') || r.url.startsWith('/bounce'));
      assert.deepEqual(
        config.map((r) => [r.server, r.url.includes('bounced=1') ? 'back' : r.server === 'cdn' ? 'away' : 'first', r.authorization]),
        [
          ['hub', 'first', 'Bearer hf_secret'],
          ['cdn', 'away', undefined],
          ['hub', 'back', undefined],
        ],
      );
      // A new chain starts with the token again.
      assert.equal(hub.requests.find((r) => r.url.includes('/tokenizer.json'))?.authorization, 'Bearer hf_secret');
      assert.equal(hub.authLeaks, 0);
    });

    it('is never sent over plain http to another machine, and the error says why; http without a token, or on this machine, still works', async () => {
      const insecure = /^Refusing to send the access token \(HF_TOKEN\) to http:\/\/lens-hub\.invalid: plain http:\/\/ is not encrypted.*Use an https:\/\/ endpoint/;
      await failsWith(downloadModel({ repo: 'a/b', endpoint: 'http://lens-hub.invalid', dir, token: 'hf_secret' }), HubInsecureTokenError, insecure);
      await failsWith(listVariants({ repo: 'a/b', endpoint: 'http://lens-hub.invalid', token: 'hf_secret' }), HubInsecureTokenError, insecure);
      await failsWith(downloadModel({ repo: 'a/b', endpoint: 'http://lens-hub.invalid', dir }), HubDnsError, /lens-hub\.invalid could not be resolved/);
      hub = await startFakeHub({ token: 'hf_local' });
      const result = await downloadModel(opts(hub, { token: 'hf_local' }));
      assert.ok(fs.existsSync(path.join(result.folder, MODEL)));
    });
  });

  describe('git blob ids', () => {
    it('refuses a small file whose git blob id does not match its bytes', async () => {
      hub = await startFakeHub();
      hub.faults.wrongBlobId = { file: 'tokenizer.json' };
      await failsWith(downloadModel(opts(hub)), HubChecksumError, /^tokenizer\.json arrived corrupted \(git blob hash [0-9a-f]{12}\.\.\. where the hub lists [0-9a-f]{12}\.\.\.\)/);
      assert.ok(!fs.existsSync(path.join(dir, 'lens-test--lens-tiny@main')));
    });

    it('refuses an ONNX graph kept in git (no SHA-256 listed) whose git blob id does not match, instead of trusting its length', async () => {
      hub = await startFakeHub({ plainFiles: [MODEL] });
      hub.faults.wrongBlobId = { file: MODEL };
      await failsWith(downloadModel(opts(hub)), HubChecksumError, /^onnx\/model\.onnx arrived corrupted \(git blob hash [0-9a-f]{12}\.\.\. where the hub lists [0-9a-f]{12}\.\.\.\); the damaged file was deleted/);
      assert.ok(!fs.existsSync(path.join(dir, 'lens-test--lens-tiny@main')));
      const staged = fs.existsSync(path.join(dir, STAGING_DIR)) ? allFiles(path.join(dir, STAGING_DIR)) : [];
      assert.deepEqual(staged.filter((f) => f.endsWith('.part') || f.endsWith('model.onnx')), []);
      assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 0, 'served by the hub itself, outside LFS');

      // With the right blob id it is accepted.
      hub.faults.wrongBlobId = undefined;
      const result = await downloadModel(opts(hub));
      assert.ok(fs.readFileSync(path.join(result.folder, MODEL)).equals(hub.files.get(MODEL)!));
    });
  });
});
