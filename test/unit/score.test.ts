// The lean `score` and `neighbours` requests through the built worker, on lens-tiny: the same numbers as a full
// analysis of the same tokens, context windows and several runs for long ranges, bad input as typed errors.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { WorkerClient } from '../../src/worker/client';
import { silentLogger } from '../../src/core/common/logger';
import { CancelledError } from '../../src/core/common/errors';
import { planRun } from '../../src/core/scoring/score';
import { lensTiny, root } from './helpers/modelFolders';

const dist = path.join(root, 'dist');

const CODE = `export function fibonacci(n: number): number[] {
  const out = [0, 1];
  while (out.length < n) {
    out.push(out[out.length - 1] + out[out.length - 2]);
  }
  return out.slice(0, n);
}
`;

describe('score and neighbours requests (lens-tiny, through the worker)', function () {
  this.timeout(60000);
  let client: WorkerClient;

  before(async () => {
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
    await client.request('loadModel', { folder: lensTiny });
  });
  after(async () => client?.dispose());

  it('gives each token the probability, surprisal, rank and top-k of a full analysis', async () => {
    const [s, a] = await Promise.all([client.request('score', { text: CODE, topK: 5 }), client.request('analyze', { text: CODE, options: { topK: 5, logitLens: 'none' } })]);
    assert.equal(s.tokens.length, a.tokens.length);
    assert.equal(s.runs, 1);
    assert.equal(s.truncated, 0);
    s.tokens.forEach((t, i) => {
      const ref = a.tokens[i];
      assert.deepEqual([t.id, t.start, t.end, t.text, t.partial, t.bytes], [ref.id, ref.start, ref.end, ref.text, ref.partial, ref.bytes]);
      assert.equal(t.context, i);
      if (i === 0) {
        // Nothing came before the first token: nothing to score it by.
        assert.equal(t.prob, undefined);
        assert.equal(t.top, undefined);
        return;
      }
      const actual = a.predictions[i - 1].actual!;
      assert.ok(Math.abs(t.prob! - actual.prob) < 1e-5, `token ${i}: ${t.prob} vs ${actual.prob}`);
      assert.ok(Math.abs(t.surprisalBits! + Math.log2(t.prob!)) < 1e-6, 'surprisal = -log2 p');
      assert.equal(t.rank, actual.rank);
      assert.deepEqual(
        t.top!.map((x) => x.id),
        a.predictions[i - 1].top.map((x) => x.id),
      );
      t.top!.forEach((x, m) => assert.ok(Math.abs(x.prob - a.predictions[i - 1].top[m].prob) < 1e-5));
    });
  });

  it('scores only tokens that start in [scoreFrom, scoreTo), each with at most contextTokens tokens before it', async () => {
    const all = await client.request('score', { text: CODE });
    // The token holding "while" (it may start with the space before it).
    const i = all.tokens.findIndex((t) => t.end > CODE.indexOf('while'));
    const from = all.tokens[i].start;
    const to = CODE.indexOf('return');
    const s = await client.request('score', { text: CODE, scoreFrom: from, scoreTo: to, contextTokens: 6 });
    assert.ok(s.tokens.length > 5);
    for (const t of s.tokens) {
      assert.ok(t.start >= from && t.start < to, `${t.start} outside [${from}, ${to})`);
      assert.ok(t.context <= 6 + s.tokens.length);
    }
    assert.equal(s.tokens[0].start, from);
    assert.equal(s.tokens[0].context, 6);
    assert.equal(s.tokens[0].contextStart, all.tokens[i - 6].start);
    // The first scored token, scored with 6 tokens of context, is what a full analysis of those 7 tokens says.
    const window = CODE.slice(all.tokens[i - 6].start, all.tokens[i].end);
    const a = await client.request('analyze', { text: window, options: { logitLens: 'none' } });
    assert.equal(a.tokens.length, 7);
    assert.ok(Math.abs(a.predictions[5].actual!.prob - s.tokens[0].prob!) < 1e-5);
  });

  it('scores a range longer than one run in several runs, every token once, and truncates at maxTokens', async () => {
    const text = CODE.repeat(4);
    const whole = await client.request('score', { text, contextTokens: 16, maxRunTokens: 48 });
    const n = (await client.request('score', { text, contextTokens: 100000 })).tokens.length;
    assert.equal(whole.tokens.length, n);
    assert.ok(whole.runs >= Math.ceil(n / 48), `${whole.runs} runs`);
    for (let i = 1; i < whole.tokens.length; i++) assert.ok(whole.tokens[i].start >= whole.tokens[i - 1].start);
    for (const [i, t] of whole.tokens.entries()) {
      assert.ok(t.context >= Math.min(16, i), `token ${i} had ${t.context} tokens of context`);
      assert.ok(t.context < 48);
    }
    const cut = await client.request('score', { text, maxTokens: 10 });
    assert.equal(cut.tokens.length, 10);
    assert.equal(cut.truncated, n - 10);
  });

  it('plans runs: as much context as asked for, at least half a run scored while more remains', () => {
    assert.deepEqual(planRun(0, 100, 256, 1024), { context: 0, scored: 100 });
    assert.deepEqual(planRun(5000, 100, 256, 1024), { context: 256, scored: 100 });
    assert.deepEqual(planRun(5000, 5000, 256, 1024), { context: 256, scored: 768 });
    assert.deepEqual(planRun(5000, 5000, 1000, 1024), { context: 512, scored: 512 });
    assert.deepEqual(planRun(5000, 3, 1000, 1024), { context: 1000, scored: 3 });
    assert.deepEqual(planRun(5000, 30, 0, 1024), { context: 0, scored: 30 });
  });

  it('neighbours: the embedding norm and the nearest tokens of a full analysis', async () => {
    const a = await client.request('analyze', { text: CODE, options: { chosenToken: 3, neighbours: 6, logitLens: 'none' } });
    const id = a.tokens[3].id;
    const r = await client.request('neighbours', { ids: [id, a.tokens[0].id], count: 6 });
    assert.equal(r.tokens.length, 2);
    assert.equal(r.tokens[0].id, id);
    assert.ok(Math.abs(r.tokens[0].norm - a.embeddingNorms[3]) < 1e-4);
    assert.deepEqual(
      r.tokens[0].neighbours.map((n) => n.id),
      a.chosen!.neighbours.map((n) => n.id),
    );
    assert.ok(!r.tokens[0].neighbours.some((n) => n.id === id), 'a token is not its own neighbour');
    assert.deepEqual(await client.request('neighbours', { ids: [] }), { tokens: [] });
  });

  it('bad input: typed errors, and the worker goes on', async () => {
    const fails = async (p: Promise<unknown>, code: string) =>
      assert.rejects(p, (e: Error & { code?: string }) => {
        assert.equal(e.code, code, e.message);
        return true;
      });
    await fails(client.request('score', { text: '' }), 'emptyText');
    await fails(client.request('score', { text: 'a\0b\0c\x01\x02\x03' }), 'binaryText');
    await fails(client.request('score', { text: 'abc', scoreFrom: 4 }), 'invalidOption');
    await fails(client.request('score', { text: 'abc', scoreFrom: 2, scoreTo: 1 }), 'invalidOption');
    await fails(client.request('score', { text: 'abc', topK: 1.5 }), 'invalidOption');
    await fails(client.request('score', { text: 'abc', maxRunTokens: 1 }), 'invalidOption');
    await fails(client.request('neighbours', { ids: [-1] }), 'invalidOption');
    await fails(client.request('neighbours', { ids: [1e9] }), 'invalidOption');
    await fails(client.request('neighbours', { ids: 'x' as unknown as number[] }), 'invalidOption');
    // An empty range is no error: nothing to score.
    const none = await client.request('score', { text: 'abc', scoreFrom: 3 });
    assert.deepEqual(none.tokens, []);
    // A partial UTF-8 token (an emoji split in bytes) is scored like any other, flagged partial.
    const emoji = await client.request('score', { text: 'ok 🦜🦜 done', topK: 2 });
    assert.ok(emoji.tokens.some((t) => t.partial));
    for (const t of emoji.tokens.slice(1)) assert.ok(t.prob! > 0 && t.prob! <= 1);
    assert.equal((await client.request('ping', {})).pong, true);
  });

  it('a cancelled score rejects with CancelledError and the worker still scores', async () => {
    const ac = new AbortController();
    const p = client.request('score', { text: CODE.repeat(6), contextTokens: 8, maxRunTokens: 16 }, ac.signal);
    // Whether the cancel lands before the first run or between runs, the request ends cancelled.
    setImmediate(() => ac.abort());
    await assert.rejects(p, CancelledError);
    const s = await client.request('score', { text: 'const x = 1;' });
    assert.ok(s.tokens.length > 0);
  });

  it('refuses to score before a model is loaded', async () => {
    const fresh = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
    try {
      await assert.rejects(fresh.request('score', { text: 'hello' }), (e: Error & { code?: string }) => e.code === 'noModel');
      await assert.rejects(fresh.request('neighbours', { ids: [1] }), (e: Error & { code?: string }) => e.code === 'noModel');
    } finally {
      await fresh.dispose();
    }
  });
});
