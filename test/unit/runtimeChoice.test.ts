// Which runtime the worker picks (llmLens.runtime.backend), the fallback to WebAssembly when native cannot load or
// fails its first session, and the same analysis on both through the real worker.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { chooseRuntime } from '../../src/worker/runtimeChoice';
import { loadNativeRuntime } from '../../src/core/runtime/native';
import { WorkerClient } from '../../src/worker/client';
import type { Logger } from '../../src/core/common/logger';
import { silentLogger } from '../../src/core/common/logger';
import { lensTiny, root } from './helpers/modelFolders';
import { configureRuntime, webRuntime } from '../../src/core/runtime/web';
import { probeSession, tensor, TRIVIAL_MODEL_BYTES } from '../../src/core/runtime/runtime';
import type { InferenceRuntime } from '../../src/core/runtime/runtime';

const dist = path.join(root, 'dist');

function recorder(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (m: string) => void warnings.push(m) };
}

describe('inference runtime choice', function () {
  this.timeout(60000);

  it('web: onnxruntime-web, saying why; nothing native is tried', async () => {
    let tried = false;
    const c = await chooseRuntime({ wasmDir: dist, numThreads: 1, backend: 'web' }, silentLogger, (t) => ((tried = true), loadNativeRuntime(t)));
    assert.equal(c.info.backend, 'web');
    assert.match(c.info.backendReason, /"web"/);
    assert.equal(tried, false);
  });

  it('auto: native when the addon loads', async () => {
    const c = await chooseRuntime({ wasmDir: dist, numThreads: 1, backend: 'auto' }, silentLogger);
    assert.equal(c.info.backend, 'native');
    assert.match(c.info.backendReason, /native addon loaded/);
    assert.match(c.info.onnxruntimeVersion, /^\d+\.\d+\.\d+/);
    assert.notEqual(c.runtime, c.web);
  });

  it('auto with the addon missing: WebAssembly, the reason said once in the log', async () => {
    const log = recorder();
    const c = await chooseRuntime({ wasmDir: dist, numThreads: 1, backend: 'auto' }, log, () => ({ why: { code: 'addonMissing' as const, platform: 'linux-arm64' } }));
    assert.equal(c.info.backend, 'web');
    assert.equal(c.info.backendReason, 'native addon missing for linux-arm64; using WebAssembly');
    assert.equal(log.warnings.length, 1);
  });

  it('native that fails its first session (a corrupt binary): WebAssembly takes over', async () => {
    const log = recorder();
    const broken = () => ({ runtime: { name: 'broken', version: '0', numThreads: 1, createSession: async () => Promise.reject(new Error('the addon crashed')) } });
    const c = await chooseRuntime({ wasmDir: dist, numThreads: 1, backend: 'native' }, log, broken);
    assert.equal(c.info.backend, 'web');
    assert.match(c.info.backendReason, /failed its first session \(the addon crashed\); using WebAssembly/);
    assert.equal(log.warnings.length, 1);
  });

  it('native is the addon even where onnxruntime-web shares its onnxruntime-common and was loaded first', async () => {
    // This file's bundle leaves packages external, so both runtimes register with one onnxruntime-common; web is
    // loaded and initialised first. A wrongly typed feed tells them apart: the WebAssembly build wraps every error in
    // "failed to call OrtRun()", the addon does not. (Before the fix, "native" sessions here ran on WebAssembly.)
    configureRuntime(dist, 1);
    await probeSession(webRuntime);
    const loaded = loadNativeRuntime(1);
    assert.ok('runtime' in loaded);
    const bad = async (rt: InferenceRuntime) => {
      const s = await rt.createSession(Uint8Array.from(TRIVIAL_MODEL_BYTES));
      try {
        await s.run({ x: tensor.i64([1, 2], [2]) });
        return '';
      } catch (e) {
        return String((e as Error).message);
      } finally {
        await s.release();
      }
    };
    const web = await bad(webRuntime);
    const native = await bad(loaded.runtime);
    assert.match(web, /OrtRun\(\)/, web);
    assert.match(native, /data type/i, native);
    assert.doesNotMatch(native, /OrtRun\(\)/, native);
  });

  it('the worker on each runtime: the same analysis of lens-tiny (probabilities within 1e-4, same top tokens)', async () => {
    const text = 'function add(a, b) {\n  return a + b;\n}\nconst total = add(1, 2);\n';
    const results = [];
    for (const backend of ['web', 'native'] as const) {
      const client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1, backend }, silentLogger);
      try {
        const info = await client.request('version', {});
        assert.equal(info.backend, backend);
        await client.request('loadModel', { folder: lensTiny, source: 'built-in' });
        results.push(await client.request('analyze', { text, options: { topK: 5 } }));
      } finally {
        await client.dispose();
      }
    }
    const [web, native] = results;
    assert.equal(web.tokens.length, native.tokens.length);
    web.predictions.forEach((p, t) => {
      const q = native.predictions[t];
      assert.equal(p.top[0].id, q.top[0].id, `token ${t}`);
      p.top.forEach((x, j) => assert.ok(Math.abs(x.prob - q.top[j].prob) < 1e-4 || x.id !== q.top[j].id, `token ${t} #${j}: ${x.prob} vs ${q.top[j].prob}`));
    });
  });
});

