// The built worker (dist/worker.js) loads onnxruntime-web from dist/ and answers typed requests.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { WorkerClient } from '../../src/worker/client';
import { silentLogger } from '../../src/core/common/logger';
import { CancelledError } from '../../src/core/common/errors';

const dist = path.resolve(__dirname, '../../../dist');

describe('inference worker', function () {
  this.timeout(30000);
  let client: WorkerClient;
  afterEach(async () => client?.dispose());

  it('answers ping and reports the onnxruntime-web version from dist/', async () => {
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
    const pong = await client.request('ping', {});
    assert.equal(pong.pong, true);
    const info = await client.request('version', {});
    assert.match(info.onnxruntimeVersion, /^1\.\d+\.\d+/);
    assert.equal(info.numThreads, 1);
    assert.ok(info.wasmPaths.startsWith('file://'), info.wasmPaths);
  });

  it('fails clearly, and stays alive, when the wasm files are missing', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-nowasm-'));
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: empty, numThreads: 1 }, silentLogger);
    await assert.rejects(client.request('version', {}), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'runtimeUnavailable');
      assert.match(e.message, /ort-wasm-simd-threaded\.mjs is missing/);
      return true;
    });
    assert.equal((await client.request('ping', {})).pong, true);
  });

  it('rejects a request cancelled before it ran', async () => {
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(client.request('ping', {}, ac.signal), CancelledError);
  });

  it('fails pending requests when the worker dies, then restarts on the next request', async () => {
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
    await client.request('ping', {});
    const pending = client.request('version', {});
    await client.restart();
    await assert.rejects(pending, /restarted/);
    assert.equal((await client.request('ping', {})).pong, true);
  });
});
