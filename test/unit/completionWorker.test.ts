// The `complete` request through the built worker (dist/worker.js) and the completion pipeline the VS Code provider
// runs: prefix reuse between keystrokes, 100 rapid requests with at most one generation running, a worker crash
// during generation, requests without a model and with bad options.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkerClient } from '../../src/worker/client';
import { silentLogger } from '../../src/core/common/logger';
import { CompletionPipeline, lostModel } from '../../src/core/completion/pipeline';
import type { CompleteOptions } from '../../src/protocol/completion';
import { lensTiny, root } from './helpers/modelFolders';

const dist = path.join(root, 'dist');
const sample = fs.readFileSync(path.join(root, 'samples/greet.ts'), 'utf8');
const cursor = sample.indexOf('  return out.slice');
const before = sample.slice(0, cursor);
const after = sample.slice(cursor);
const options: CompleteOptions = { maxTokens: 16 };

describe('completions through the worker', function () {
  this.timeout(120000);
  let client: WorkerClient;
  const backend = () => ({ complete: (p: Parameters<WorkerClient['request']>[1], s: AbortSignal) => client.request('complete', p as never, s) });

  beforeEach(async () => {
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
  });
  afterEach(async () => client?.dispose());

  it('refuses without a model, and with bad options, in words', async () => {
    await assert.rejects(client.request('complete', { prefix: 'a', suffix: '' }), (e: Error & { code?: string }) => e.code === 'noModel' && lostModel(e));
    await client.request('loadModel', { folder: lensTiny });
    await assert.rejects(client.request('complete', { prefix: 'a', suffix: '', options: { maxTokens: 0 } }), /maxTokens must be an integer from 1/);
    await assert.rejects(client.request('complete', { prefix: 'a', suffix: '', options: { mode: 'paragraph' as never } }), /mode must be/);
    await assert.rejects(client.request('complete', { prefix: 42 as never, suffix: '' }), /"prefix" and "suffix" strings/);
    await assert.rejects(client.request('complete', { prefix: '', suffix: '' }), /no text before the cursor/);
    // At the very start of a file, FIM still has the text after the cursor to go on.
    assert.equal((await client.request('complete', { prefix: '', suffix: 'x = 1;', options: { maxTokens: 1 } })).fim, true);
  });

  it('completes with FIM, then reuses the previous prompt when one more character is typed', async () => {
    await client.request('loadModel', { folder: lensTiny });
    const first = await client.request('complete', { prefix: before, suffix: after, options });
    assert.equal(first.fim, true);
    assert.equal(first.prefixReused, 0);
    assert.equal(first.prefilled, first.promptTokens);
    // The toy model may end at once (end of text): the count, not the content, is what is checked.
    assert.ok(first.tokens >= 0 && first.tokens <= 16);
    assert.equal(first.promptStart, 0, 'the sample fits the 512-token budget');
    assert.ok(first.timings.totalMs > 0 && first.timings.prefillMs > 0);
    const typed = await client.request('complete', { prefix: before + ' ', suffix: after, options });
    // PSM: everything up to the cursor's last word is reused; the suffix after it is prefilled again.
    assert.ok(typed.prefixReused >= first.promptTokens - 130 - 3, `reused ${typed.prefixReused} of ${typed.promptTokens}`);
    assert.ok(typed.prefilled < 140, `prefilled ${typed.prefilled}`);
    const plain = await client.request('complete', { prefix: before, suffix: '', options: { ...options, cold: true } });
    assert.equal(plain.fim, false);
    assert.equal(plain.prefixReused, 0, 'cold: the cache was dropped');
    const plainTyped = await client.request('complete', { prefix: before + 'c', suffix: '', options });
    assert.ok(plainTyped.prefilled <= 3, `without a suffix, one more character costs ${plainTyped.prefilled} tokens of prefill`);
    assert.equal(plainTyped.engine.maxRunning, 1);
  });

  it('leaves at most one generation running for 100 rapid requests, and answers the last', async () => {
    await client.request('loadModel', { folder: lensTiny });
    const busy: boolean[] = [];
    const pipeline = new CompletionPipeline(backend(), undefined, (b) => busy.push(b));
    const pending = [];
    for (let i = 0; i < 100; i++) {
      pending.push(pipeline.request({ prefix: before + 'x'.repeat(i), suffix: after, options, debounceMs: i % 2 ? 0 : 5 }));
      // Keystrokes about 50 ms apart would be 5 s; these come faster, which is harder.
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const results = await Promise.all(pending);
    // A generation can finish inside one of the 20 ms pauses on a quiet machine, so requests just
    // before a pause may be answered too; every other one is cancelled, and the newest is answered.
    const answered = results.filter((r) => r !== undefined);
    assert.ok(answered.length >= 1 && answered.length <= 11, `${answered.length} of 100 requests answered`);
    for (let i = 0; i < 99; i++) if (results[i] !== undefined) assert.equal(i % 10, 0, `request ${i} was answered though a newer one followed at once`);
    assert.equal(results[99]?.cached, false);
    const stats = pipeline.stats;
    assert.equal(stats.requests, 100);
    assert.equal(stats.cancelled, 100 - answered.length);
    const last = results[99]!.result!;
    assert.equal(last.engine.maxRunning, 1, 'the worker never ran two generations at once');
    assert.ok(last.engine.generations < 100, `${last.engine.generations} generations started for 100 requests`);
    console.log(`      100 requests: ${last.engine.generations} generations started, ${last.engine.cancelled} cancelled between tokens`);
    assert.equal(busy[busy.length - 1], false, 'the status ends idle');
    // A repeat of the last request is answered from the cache, without the model.
    const again = await pipeline.request({ prefix: before + 'x'.repeat(99), suffix: after, options, debounceMs: 150 });
    assert.equal(again?.cached, true);
    assert.equal(pipeline.stats.modelRuns, stats.modelRuns);
  });

  it('cancels a generation between two tokens when VS Code cancels it', async () => {
    await client.request('loadModel', { folder: lensTiny });
    const pipeline = new CompletionPipeline(backend());
    const ac = new AbortController();
    const p = pipeline.request({ prefix: before, suffix: after, options: { maxTokens: 400, raw: true, timeBudgetMs: 60000 } }, ac.signal);
    setTimeout(() => ac.abort(), 30);
    assert.equal(await p, undefined);
    const r = await client.request('complete', { prefix: before, suffix: after, options: { maxTokens: 4 } });
    assert.ok(r.engine.cancelled >= 1);
  });

  it('gives nothing when the worker dies during a generation, and the next request works after a reload', async () => {
    await client.request('loadModel', { folder: lensTiny });
    const pipeline = new CompletionPipeline(backend());
    const p = pipeline.request({ prefix: before, suffix: after, options: { maxTokens: 400, raw: true, timeBudgetMs: 60000 } });
    const failed = assert.rejects(p, (e) => lostModel(e));
    await new Promise((r) => setTimeout(r, 100));
    await client.restart();
    await failed;
    // The fresh worker has no model: the request says so (the provider then loads it again).
    await assert.rejects(pipeline.request({ prefix: before + 'a', suffix: after, options }), (e) => lostModel(e));
    await client.request('loadModel', { folder: lensTiny });
    const r = await pipeline.request({ prefix: before + 'b', suffix: after, options });
    assert.ok(r && !r.cached && r.result!.promptTokens > 0);
  });
});
