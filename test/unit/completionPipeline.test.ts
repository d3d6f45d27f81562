// The completion pipeline (src/core/completion/pipeline.ts) with a scripted backend: cache before debounce, one
// request at a time (a newer one supersedes the older, during its debounce or its generation), the caller's
// cancellation, what is cached, and which errors mean "the worker lost its model".
import * as assert from 'node:assert/strict';
import { CompletionPipeline, lostModel, type CompletionBackend } from '../../src/core/completion/pipeline';
import { CancelledError, LensError, WorkerCrashedError } from '../../src/core/common/errors';
import type { CompleteParams, CompleteResult } from '../../src/protocol/completion';

function result(text: string, stopReason: CompleteResult['stopReason'] = 'stop'): CompleteResult {
  return {
    text,
    rawText: text,
    tokens: 1,
    promptTokens: 1,
    prefixReused: 0,
    prefilled: 1,
    fim: false,
    promptStart: 0,
    stopReason,
    timings: { promptMs: 0, prefillMs: 0, decodeMs: 0, totalMs: 0 },
    engine: { generations: 1, cancelled: 0, maxRunning: 1 },
  };
}

/** A backend that answers after `ms`, or rejects with CancelledError when aborted first, like the worker. */
function scripted(answer: (p: CompleteParams) => CompleteResult | Error, ms = 20): CompletionBackend & { calls: string[]; running: number; maxRunning: number } {
  const b = {
    calls: [] as string[],
    running: 0,
    maxRunning: 0,
    complete(p: CompleteParams, signal: AbortSignal): Promise<CompleteResult> {
      b.calls.push(p.prefix);
      b.running++;
      b.maxRunning = Math.max(b.maxRunning, b.running);
      return new Promise<CompleteResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          b.running--;
          const a = answer(p);
          if (a instanceof Error) reject(a);
          else resolve(a);
        }, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          b.running--;
          reject(new CancelledError());
        });
      });
    },
  };
  return b;
}

const options = { maxTokens: 8 };

describe('completion pipeline', () => {
  it('answers a repeat from the cache, before the debounce, without the backend', async () => {
    const b = scripted((p) => result(`after ${p.prefix}`));
    const pipe = new CompletionPipeline(b);
    const first = await pipe.request({ prefix: 'a', suffix: '', options, debounceMs: 10 });
    assert.equal(first?.text, 'after a');
    assert.equal(first?.cached, false);
    const t0 = performance.now();
    const again = await pipe.request({ prefix: 'a', suffix: '', options, debounceMs: 10_000 });
    assert.ok(performance.now() - t0 < 5_000, 'the debounce was not waited for');
    assert.deepEqual([again?.text, again?.cached], ['after a', true]);
    const through = await pipe.request({ prefix: 'aaf', suffix: '', options });
    assert.deepEqual([through?.text, through?.typed], ['ter a', 2]);
    assert.deepEqual(b.calls, ['a']);
    assert.equal(pipe.stats.cacheHits, 2);
  });

  it('supersedes an older request during its debounce (it never reaches the backend) and during its generation', async () => {
    const b = scripted((p) => result(`after ${p.prefix}`), 50);
    const pipe = new CompletionPipeline(b);
    const a = pipe.request({ prefix: 'a', suffix: '', options, debounceMs: 30 });
    const bb = pipe.request({ prefix: 'b', suffix: '', options, debounceMs: 0 });
    await new Promise((r) => setTimeout(r, 10));
    const c = pipe.request({ prefix: 'c', suffix: '', options, debounceMs: 0 });
    assert.deepEqual(await Promise.all([a, bb, c]).then((rs) => rs.map((r) => r?.text)), [undefined, undefined, 'after c']);
    assert.deepEqual(b.calls, ['b', 'c'], '"a" was superseded while it waited');
    assert.equal(b.maxRunning, 1);
    assert.equal(pipe.stats.cancelled, 2);
  });

  it("stops when the caller cancels, and then answers the next request", async () => {
    const b = scripted(() => result('x'), 50);
    const pipe = new CompletionPipeline(b);
    const ac = new AbortController();
    const p = pipe.request({ prefix: 'q', suffix: '', options }, ac.signal);
    setTimeout(() => ac.abort(), 10);
    assert.equal(await p, undefined);
    assert.equal((await pipe.request({ prefix: 'r', suffix: '', options }, AbortSignal.abort())), undefined, 'already cancelled');
    assert.equal((await pipe.request({ prefix: 'r', suffix: '', options }))?.text, 'x');
  });

  it('does not keep a suggestion cut short by the time budget', async () => {
    let n = 0;
    const b = scripted(() => result(++n === 1 ? 'sh' : 'short and whole', n === 1 ? 'time' : 'stop'));
    const pipe = new CompletionPipeline(b);
    assert.equal((await pipe.request({ prefix: 'p', suffix: '', options }))?.text, 'sh');
    assert.equal((await pipe.request({ prefix: 'p', suffix: '', options }))?.text, 'short and whole');
    assert.equal((await pipe.request({ prefix: 'p', suffix: '', options }))?.cached, true);
  });

  it('tells the model being busy to a listener, and passes on errors other than cancellation', async () => {
    const busy: boolean[] = [];
    const pipe = new CompletionPipeline(scripted(() => new WorkerCrashedError('exit code 1')), undefined, (x) => busy.push(x));
    await assert.rejects(pipe.request({ prefix: 'z', suffix: '', options }), (e) => lostModel(e));
    assert.deepEqual(busy, [true, false]);
    assert.ok(lostModel(new LensError('noModel', 'x')));
    assert.ok(lostModel(new LensError('restarted', 'x')));
    assert.ok(!lostModel(new LensError('invalidOption', 'x')));
    assert.ok(!lostModel(new Error('x')));
  });
});
