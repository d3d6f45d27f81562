// The models folder shared by several VS Code windows (several processes) and left behind by crashes: the lock
// that keeps two downloads out of one staging folder, stale locks taken over, and a model folder that an
// interrupted replacement left moved aside, put back or listed, never hidden.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadLockPath, downloadModel, LOCK_STALE_MS, MANIFEST_FILE, STAGING_DIR, type DownloadOptions } from '../../src/core/hub/download';
import { HubDownloadBusyError, HubTruncatedError } from '../../src/core/hub/errors';
import { deleteStoredModel, listStoredModels } from '../../src/core/hub/store';
import { startFakeHub, type FakeHub } from './helpers/fakeHub';

describe('hub models folder: locks and leftovers', function () {
  this.timeout(20000);
  let hub: FakeHub;
  let dir: string;
  let child: ChildProcess | undefined;
  const FOLDER = 'lens-test--lens-tiny@main';
  const MODEL = 'onnx/model.onnx';

  const opts = (more: Partial<DownloadOptions> = {}): DownloadOptions => ({ repo: hub.repo, endpoint: hub.endpoint, dir, ...more });
  const staging = () => path.join(dir, STAGING_DIR, FOLDER);
  const lockFile = () => downloadLockPath(dir, FOLDER);
  const cdnRequests = () => hub.requests.filter((r) => r.server === 'cdn').length;

  /** A lock file as another window's download writes it. */
  function writeLock(holder: { pid: number; host?: string }, ageMs = 0): string {
    fs.mkdirSync(path.dirname(lockFile()), { recursive: true });
    const text = JSON.stringify({ pid: holder.pid, host: holder.host ?? os.hostname(), since: new Date(Date.now() - ageMs).toISOString(), id: 'another-window' }) + '\n';
    fs.writeFileSync(lockFile(), text);
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(lockFile(), t, t);
    return text;
  }

  /** Another process that stays alive: "another VS Code window". */
  function liveProcess(): number {
    child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    return child.pid!;
  }

  /** The pid of a process that has exited. */
  function deadPid(): number {
    return spawnSync(process.execPath, ['-e', '']).pid;
  }

  /** A model folder as a download leaves it, with its manifest (variant named so that tests can tell copies apart). */
  function modelFolder(at: string, variant: string): void {
    fs.mkdirSync(path.join(at, 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(at, 'config.json'), '{"model_type":"gpt2"}');
    fs.writeFileSync(path.join(at, MODEL), Buffer.alloc(4096, 1));
    fs.writeFileSync(path.join(at, MANIFEST_FILE), JSON.stringify({ repo: hub.repo, revision: 'main', endpoint: hub.endpoint, variant, files: [], complete: true }));
  }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-hubd-'));
    hub = await startFakeHub();
  });
  afterEach(async () => {
    child?.kill();
    child = undefined;
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('the lock on the staging folder', () => {
    it('a download while another process holds the lock fails at once, writing nothing', async () => {
      // An earlier attempt's bytes, which the second download must not touch.
      hub.faults.cut = { file: MODEL, times: 1 };
      await assert.rejects(downloadModel(opts({ retries: 0 })), HubTruncatedError);
      const part = path.join(staging(), 'onnx', 'model.onnx.part');
      const kept = fs.readFileSync(part);
      const pid = liveProcess();
      const lock = writeLock({ pid });
      hub.requests.length = 0;

      await assert.rejects(downloadModel(opts()), (e: unknown) => {
        assert.ok(e instanceof HubDownloadBusyError, String(e));
        assert.equal(e.pid, pid);
        assert.match(e.message, new RegExp(`^Another VS Code window or LLM Lens command \\(process ${pid}, since .*\\) is already downloading lens-test/lens-tiny@main: wait for it to finish or cancel it there, then try again\\. If nothing is downloading it, delete .*\\.lock\\.$`));
        assert.ok(!e.message.includes('\n'));
        return true;
      });
      assert.equal(cdnRequests(), 0, 'nothing large was fetched');
      assert.ok(fs.readFileSync(part).equals(kept), 'the other download’s bytes are untouched');
      assert.equal(fs.readFileSync(lockFile(), 'utf8'), lock, 'its lock too');
      // Nor may its unfinished download be deleted under it.
      await assert.rejects(deleteStoredModel(dir, staging()), HubDownloadBusyError);
      assert.ok(fs.existsSync(part));
    });

    it('two downloads of the same folder in one process: the second fails at once, the first’s bytes stay and resume', async () => {
      hub.faults.stall = { file: MODEL, after: 64 * 1024 };
      const ac = new AbortController();
      const first = downloadModel(opts({ signal: ac.signal }));
      const part = path.join(staging(), 'onnx', 'model.onnx.part');
      while (!(fs.existsSync(part) && fs.statSync(part).size >= 64 * 1024)) await new Promise((r) => setTimeout(r, 10));
      await assert.rejects(downloadModel(opts()), HubDownloadBusyError);
      assert.equal(fs.statSync(part).size, 64 * 1024);
      ac.abort();
      await assert.rejects(first, /cancelled/);
      // Released on the way out: the next download takes the lock and resumes.
      assert.ok(!fs.existsSync(lockFile()));
      hub.faults.stall = undefined;
      const result = await downloadModel(opts());
      assert.equal(result.resumedBytes, 64 * 1024);
      assert.ok(fs.readFileSync(path.join(result.folder, MODEL)).equals(hub.files.get(MODEL)!));
    });

    it('a lock of a process that has exited is taken over, and released once the model is in place', async () => {
      writeLock({ pid: deadPid() });
      const result = await downloadModel(opts());
      assert.ok(fs.readFileSync(path.join(result.folder, MODEL)).equals(hub.files.get(MODEL)!));
      assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)), 'no lock, no staging folder left');
    });

    it('a lock not refreshed for hours is taken over even if its pid runs (reused since a crash)', async () => {
      writeLock({ pid: liveProcess() }, LOCK_STALE_MS + 60_000);
      await downloadModel(opts());
      assert.ok(!fs.existsSync(lockFile()));
    });

    it('a recent lock from another machine sharing the folder is respected: its pid means nothing here', async () => {
      writeLock({ pid: deadPid(), host: 'another-machine' });
      await assert.rejects(downloadModel(opts()), /process \d+, on "another-machine", since .* is already downloading/);
      assert.equal(cdnRequests(), 0);
    });
  });

  describe('what an interrupted replacement leaves in .downloads/', () => {
    const aside = (name: string) => path.join(dir, STAGING_DIR, name);

    it('a crash between moving the old model aside and the new one in: the listing puts the old one back', async () => {
      // The old model moved aside, the new one complete in staging, no model folder: what the crash leaves.
      modelFolder(aside(`.replaced-4242-1700000000000-${FOLDER}`), 'old');
      modelFolder(staging(), 'new');
      assert.ok(!fs.existsSync(path.join(dir, FOLDER)));

      const stored = await listStoredModels(dir);
      assert.deepEqual(
        stored.map((m) => [m.name, m.partial, m.manifest?.variant]),
        [
          [FOLDER, false, 'old'],
          [FOLDER, true, 'new'],
        ],
      );
      assert.equal(stored[0].path, path.join(dir, FOLDER));
      assert.ok(stored[0].bytes >= 4096);
      assert.deepEqual(fs.readdirSync(path.join(dir, STAGING_DIR)), [FOLDER], 'nothing hidden left, no lock');
    });

    it('not while another window holds the lock: it may be between its two renames; the folder aside is listed instead', async () => {
      modelFolder(aside(`.replaced-4242-1700000000000-${FOLDER}`), 'old');
      writeLock({ pid: liveProcess() });
      const stored = await listStoredModels(dir);
      assert.ok(!fs.existsSync(path.join(dir, FOLDER)));
      assert.deepEqual(
        stored.map((m) => [m.name, m.partial, m.leftover]),
        [[`.replaced-4242-1700000000000-${FOLDER}`, true, true]],
      );
      await assert.rejects(deleteStoredModel(dir, stored[0].path), HubDownloadBusyError);
    });

    it('an older copy aside while the model is in place (an earlier version’s name): listed with its bytes, deletable', async () => {
      modelFolder(path.join(dir, FOLDER), 'new');
      modelFolder(aside('.replaced-4242-1700000000000'), 'old');
      const stored = await listStoredModels(dir);
      assert.deepEqual(
        stored.map((m) => [m.name, m.partial, m.leftover, m.manifest?.variant]),
        [
          [FOLDER, false, undefined, 'new'],
          ['.replaced-4242-1700000000000', true, true, 'old'],
        ],
      );
      assert.ok(stored[1].bytes >= 4096, 'its bytes count');
      await deleteStoredModel(dir, stored[1].path);
      assert.deepEqual((await listStoredModels(dir)).map((m) => m.name), [FOLDER]);
    });

    it('the next download of that model settles it: the folder aside is removed once the new model is in place', async () => {
      modelFolder(path.join(dir, FOLDER), 'old');
      modelFolder(aside('.replaced-4242-1700000000000'), 'older');
      const result = await downloadModel(opts());
      assert.equal(result.manifest.variant, 'model');
      assert.ok(fs.readFileSync(path.join(dir, FOLDER, MODEL)).equals(hub.files.get(MODEL)!));
      assert.deepEqual(fs.readdirSync(dir), [FOLDER], 'no .downloads/ left');
    });

    it('a download after a crash mid-replacement puts the old model back first, then replaces it', async () => {
      modelFolder(aside(`.replaced-4242-1700000000000-${FOLDER}`), 'old');
      await downloadModel(opts());
      assert.ok(fs.readFileSync(path.join(dir, FOLDER, MODEL)).equals(hub.files.get(MODEL)!));
      assert.deepEqual(fs.readdirSync(dir), [FOLDER]);
    });
  });
});
