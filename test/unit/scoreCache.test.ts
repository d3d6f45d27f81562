// The cache behind hover cards and highlighting, over the real worker and lens-tiny: the token under an offset
// (also one that starts in the segment before), answers reused across hovers and between a highlighting pass and
// a hover, one request for a hover that arrives while a pass scores its segment, the token limit, cancellation.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { WorkerClient } from '../../src/worker/client';
import { silentLogger } from '../../src/core/common/logger';
import { CancelledError } from '../../src/core/common/errors';
import { ScoreCache, type ScoredDocument, type ScoreFunction, type ScoreOptions } from '../../src/core/scoring/scoreCache';
import { lineIndexOf } from '../../src/core/scoring/textWindow';
import { lensTiny, root } from './helpers/modelFolders';

const dist = path.join(root, 'dist');

function docOf(text: string, version = 1): ScoredDocument {
  return { key: `mem:doc|${version}`, lines: lineIndexOf(text), text: (from, to) => text.slice(from, to) };
}

// 40 short lines of code; lines 8, 16, ... (first lines of blocks) are indented.
const TEXT = Array.from({ length: 40 }, (_, i) => `${i % 8 === 0 ? '    ' : ''}let v${i} = compute(${i}, "x${i}");`).join('\n') + '\n';
const OPTS: ScoreOptions = { window: { contextTokens: 64, blockLines: 8 }, maxTokens: 2048, topK: 5 };

describe('score cache (lens-tiny, through the worker)', function () {
  this.timeout(60000);
  let client: WorkerClient;
  let calls = 0;
  const score: ScoreFunction = (params, signal) => {
    calls++;
    return client.request('score', params, signal);
  };

  before(async () => {
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
    await client.request('loadModel', { folder: lensTiny });
  });
  after(async () => client?.dispose());

  it('finds the token under any offset, with the numbers of a direct score of the same context', async () => {
    const cache = new ScoreCache(score);
    const doc = docOf(TEXT);
    // The first block needs no more context than the document has: the same as scoring the text directly.
    const direct = await client.request('score', { text: TEXT, topK: 5, scoreTo: lineIndexOf(TEXT).lineStart(8) });
    for (let offset = 0; offset < lineIndexOf(TEXT).lineStart(8); offset += 3) {
      const t = await cache.tokenAt(doc, offset, OPTS);
      assert.ok(t, `no token at ${offset}`);
      assert.ok(t.start <= offset && offset < t.end, `token [${t.start}, ${t.end}) does not hold ${offset}`);
      const ref = direct.tokens.find((x) => x.start === t.start)!;
      assert.equal(t.id, ref.id);
      assert.equal(t.prob, ref.prob);
    }
    assert.equal(cache.stats.requests, 1, 'one request for the whole block');
    assert.equal(await cache.tokenAt(doc, TEXT.length, OPTS), undefined);
    assert.equal(await cache.tokenAt(docOf(''), 0, OPTS), undefined);
  });

  it('finds a token that starts in the segment before (a line break with the indentation of the next line)', async () => {
    const cache = new ScoreCache(score);
    const doc = docOf(TEXT);
    const lineStart = lineIndexOf(TEXT).lineStart(8);
    const t = await cache.tokenAt(doc, lineStart + 1, OPTS);
    assert.ok(t && t.start < lineStart && t.end > lineStart + 1, `token [${t?.start}, ${t?.end})`);
    assert.match(TEXT.slice(t.start, t.end), /^\n +$/);
  });

  it('reuses answers: a second hover in the block, a hover after highlighting; a new version asks again', async () => {
    const cache = new ScoreCache(score);
    const doc = docOf(TEXT);
    const lines = lineIndexOf(TEXT);
    const r = await cache.range(doc, lines.lineStart(2), lines.lineStart(30), OPTS);
    assert.equal(cache.stats.requests, 1, 'adjacent segments go in one request');
    assert.ok(r.tokens.length > 100 && !r.truncated);
    assert.ok(r.tokens[0].end > lines.lineStart(2) && r.tokens[r.tokens.length - 1].start < lines.lineStart(30));
    const before = cache.stats.requests;
    for (const line of [3, 9, 20, 29]) {
      const t = await cache.tokenAt(doc, lines.lineStart(line) + 6, OPTS);
      assert.ok(t && r.tokens.includes(t), 'the same token object the pass scored');
    }
    assert.equal(cache.stats.requests, before, 'no request for hovers inside the highlighted range');
    // Scrolling down a little: only the new block is scored.
    await cache.range(doc, lines.lineStart(10), lines.lineStart(38), OPTS);
    assert.equal(cache.stats.requests, before + 1);
    await cache.tokenAt(docOf(TEXT, 2), 5, OPTS);
    assert.equal(cache.stats.requests, before + 2, 'another version of the document is another question');
    cache.clear();
    await cache.tokenAt(doc, 5, OPTS);
    assert.equal(cache.stats.requests, before + 3, 'cleared when the model changes');
  });

  it('a hover while a highlighting pass scores its block waits for that pass instead of asking again', async () => {
    const cache = new ScoreCache(score);
    const doc = docOf(TEXT);
    const lines = lineIndexOf(TEXT);
    const pass = cache.range(doc, 0, TEXT.length, OPTS);
    const hover = cache.tokenAt(doc, lines.lineStart(17) + 5, OPTS);
    const [r, t] = await Promise.all([pass, hover]);
    assert.equal(cache.stats.requests, 1);
    assert.equal(cache.stats.joined, 1);
    assert.ok(t && r.tokens.includes(t));
    // Two hovers at once over an unscored block share one request.
    const c2 = new ScoreCache(score);
    const [a, b] = await Promise.all([c2.tokenAt(doc, 3, OPTS), c2.tokenAt(doc, 40, OPTS)]);
    assert.ok(a && b);
    assert.equal(c2.stats.requests, 1);
  });

  it('honours the token limit: scores the first tokens, says so, and does not cache what it cut', async () => {
    const cache = new ScoreCache(score);
    const doc = docOf(TEXT);
    const r = await cache.range(doc, 0, TEXT.length, { ...OPTS, maxTokens: 40 });
    assert.equal(r.truncated, true);
    assert.equal(r.tokens.length, 40);
    const again = await cache.range(doc, 0, TEXT.length, OPTS);
    assert.equal(again.truncated, false);
    assert.ok(again.tokens.length > 300);
    assert.equal(cache.stats.requests, 2);
  });

  it('cancellation: a cancelled hover rejects, and the cache keeps working', async () => {
    const cache = new ScoreCache(score);
    const doc = docOf(TEXT);
    const ac = new AbortController();
    const p = cache.tokenAt(doc, 10, OPTS, ac.signal);
    ac.abort();
    await assert.rejects(p, CancelledError);
    const t = await cache.tokenAt(doc, 10, OPTS);
    assert.ok(t);
    assert.ok(calls > 0);
  });
});
