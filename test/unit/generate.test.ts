// KV-cache generation with prefix reuse (src/core/generate.ts) against full recomputation on the real model and
// real onnxruntime-web: the same greedy tokens and close logits at several reuse points, PyTorch's own cached logits,
// cancellation between tokens, and graphs without a KV cache or with a Gemm LM head.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configureRuntime } from '../../src/core/runtime/web';
import { testRuntimes } from './helpers/runtimes';
import { Generator, commonPrefix } from '../../src/core/session/generate';
import { CancelledError } from '../../src/core/common/errors';
import { buildSyntheticGpt2, type SyntheticOptions } from './helpers/syntheticGpt2';
import { lensTiny, makeModelFolder, removeModelFolders, root } from './helpers/modelFolders';

const dist = path.join(root, 'dist');
const LOGIT_TOL = 1e-3;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Held-out code (semver is not in the training corpus), else the TypeScript sample. */
function heldOutIds(g: Generator, n: number): number[] {
  const candidates = [path.join(root, 'node_modules/semver/classes/range.js'), path.join(root, 'samples/greet.ts')];
  const text = candidates.filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  const ids = g.tokenizer.ids(text.repeat(Math.ceil((n * 8) / text.length)));
  return ids.slice(0, n);
}

for (const rt of testRuntimes(dist)) describe(`generation with the KV cache (lens-tiny, ${rt.name} runtime)`, function () {
  this.timeout(120000);
  let cached: Generator;
  let reference: Generator;
  let ids: number[];

  before(async () => {
    cached = await Generator.load(lensTiny, { runtime: rt.runtime });
    reference = await Generator.load(lensTiny, { cache: false, runtime: rt.runtime });
    ids = heldOutIds(cached, 400);
  });
  after(async () => {
    await cached?.dispose();
    await reference?.dispose();
  });

  it('reads the plain graph with past inputs and stops at every special token', () => {
    assert.equal(cached.hasKvCache, true);
    assert.equal(cached.lastPositionLogits, true);
    assert.ok(cached.stopIds.has(0), 'end of text');
    for (const id of [1, 2, 3, 4]) assert.ok(cached.stopIds.has(id), `FIM/pad token ${id}`);
  });

  it('gives the same next-token logits as full recomputation at several prefix-reuse points', async () => {
    cached.reset();
    // [prompt length, tokens reused from the call before]: cold, one token typed, several typed, a deletion
    // (the cache is sliced along the past axis), an edit in the middle (diverges at 150), and the same prompt again.
    const steps: { ids: number[]; reused: number }[] = [
      { ids: ids.slice(0, 200), reused: 0 },
      { ids: ids.slice(0, 201), reused: 200 },
      { ids: ids.slice(0, 240), reused: 201 },
      { ids: ids.slice(0, 180), reused: 179 },
      { ids: [...ids.slice(0, 150), ...ids.slice(300, 360)], reused: 150 },
      { ids: [...ids.slice(0, 150), ...ids.slice(300, 360)], reused: 209 },
      { ids: ids.slice(0, 1), reused: 0 },
    ];
    let worst = 0;
    for (const [i, s] of steps.entries()) {
      const got = await cached.nextLogits(s.ids);
      const want = await reference.nextLogits(s.ids);
      assert.equal(got.reused, s.reused, `step ${i}: reused tokens`);
      assert.equal(want.reused, 0);
      const d = maxDiff(got.logits, want.logits);
      worst = Math.max(worst, d);
      assert.ok(d < LOGIT_TOL, `step ${i}: logits differ by ${d}`);
      assert.deepEqual(cached.cachedIds, s.ids);
    }
    console.log(`      max logit difference, cached vs recomputed: ${worst.toExponential(2)}`);
  });

  it('generates the same greedy tokens as full recomputation, reusing the previous prompt', async () => {
    cached.reset();
    for (const [n, expectReused] of [
      [120, 0],
      [121, 120],
      [300, 121 + 0],
    ] as const) {
      const prompt = ids.slice(0, n);
      const a = await cached.generate(prompt, { maxNewTokens: 16 });
      const b = await reference.generate(prompt, { maxNewTokens: 16 });
      assert.deepEqual(a.ids, b.ids, `prompt of ${n}: tokens`);
      assert.equal(a.text, b.text);
      assert.ok(a.reusedTokens >= expectReused, `prompt of ${n}: reused ${a.reusedTokens}, expected at least ${expectReused}`);
      assert.equal(a.prefillTokens, n - a.reusedTokens);
      assert.equal(a.promptTokens, n);
      assert.ok(a.ids.length <= 16);
    }
  });

  it('matches PyTorch logits with 0, 4 and 100 tokens of past (test/fixtures/lens-tiny/kv-cache.json)', async function () {
    const file = path.join(root, 'test/fixtures/lens-tiny/kv-cache.json');
    if (!fs.existsSync(file)) this.skip();
    const fx = JSON.parse(fs.readFileSync(file, 'utf8')) as { cases: { past: number; ids: number[]; logits: number[][] }[] };
    for (const c of fx.cases) {
      cached.reset();
      if (c.past > 0) await cached.nextLogits(c.ids.slice(0, c.past));
      for (let j = 0; j < c.logits.length; j++) {
        const r = await cached.nextLogits(c.ids.slice(0, c.past + j + 1));
        assert.equal(r.reused, c.past + j === 0 ? 0 : c.past + j);
        const d = maxDiff(r.logits, c.logits[j]);
        assert.ok(d < LOGIT_TOL, `past ${c.past}, token ${j}: ${d}`);
      }
    }
  });

  it('stops between two tokens when cancelled, and the cache stays usable', async () => {
    cached.reset();
    const ac = new AbortController();
    let seen = 0;
    await assert.rejects(
      cached.generate(ids.slice(0, 100), {
        maxNewTokens: 16,
        signal: ac.signal,
        stop: () => {
          if (++seen === 3) ac.abort();
          return false;
        },
      }),
      CancelledError,
    );
    assert.equal(seen, 3, 'no token after the cancel');
    // The prompt and the tokens generated before the cancel are cached: the next request reuses them.
    assert.equal(cached.cachedIds.length, 100 + 2);
    const again = await cached.generate(ids.slice(0, 101), { maxNewTokens: 2 });
    assert.equal(again.reusedTokens, 100);
    // Aborted before it starts: nothing runs.
    await assert.rejects(cached.generate(ids.slice(0, 10), { maxNewTokens: 2, signal: AbortSignal.abort() }), CancelledError);
  });

  it('stops at the stop test, the token budget, the time budget and the context end', async () => {
    cached.reset();
    const byStop = await cached.generate(ids.slice(0, 50), { maxNewTokens: 16, stop: (t) => t.length > 0 });
    assert.equal(byStop.stopReason, 'stop');
    assert.equal(byStop.ids.length, 1);
    const byBudget = await cached.generate(ids.slice(0, 50), { maxNewTokens: 3 });
    assert.ok(byBudget.stopReason === 'maxTokens' || byBudget.stopReason === 'eos');
    assert.ok(byBudget.ids.length <= 3);
    const byTime = await cached.generate(ids.slice(0, 50), { maxNewTokens: 500, timeBudgetMs: 1 });
    assert.ok(byTime.stopReason === 'time' || byTime.stopReason === 'eos', byTime.stopReason);
    assert.ok(byTime.ids.length < 500);
    await assert.rejects(cached.generate(new Array(cached.nCtx).fill(10), { maxNewTokens: 1 }), /at most 1024/);
    await assert.rejects(cached.generate([], { maxNewTokens: 1 }), /at least one/);
  });

  it('heals the last prompt token: the first token starts with its bytes, and its text is left out', async () => {
    const tok = cached.tokenizer;
    const prompt = tok.ids('export function add(a: number, b: number) {\n  return a +');
    const last = prompt[prompt.length - 1];
    const healed = await cached.generate(prompt.slice(0, -1), { maxNewTokens: 4, heal: last });
    assert.ok(healed.ids.length >= 1);
    const first = tok.tokenBytes(healed.ids[0]);
    const head = tok.tokenBytes(last);
    assert.deepEqual(Array.from(first.subarray(0, head.length)), Array.from(head));
    assert.equal(healed.text, tok.decode(healed.ids).slice(tok.tokenText(last).length));
  });

  it('refuses a second generation on the same session while one runs', async () => {
    const first = cached.generate(ids.slice(0, 30), { maxNewTokens: 2 });
    await assert.rejects(cached.generate(ids.slice(0, 30), { maxNewTokens: 2 }), /already running/);
    await first;
  });

  it('finds common prefixes', () => {
    assert.equal(commonPrefix([1, 2, 3], [1, 2, 4]), 2);
    assert.equal(commonPrefix([], [1]), 0);
    assert.equal(commonPrefix([1, 2], [1, 2, 3]), 2);
  });
});

describe('generation on differently exported graphs', function () {
  this.timeout(60000);
  after(removeModelFolders);
  const base: SyntheticOptions = { vocab: 8192, dModel: 32, nLayer: 2, nHead: 4, nCtx: 64, scale: 0.5 };

  for (const [name, o, lastOnly] of [
    ['a graph without past inputs (every token recomputes the sequence)', { ...base, past: false }, true],
    ['a Gemm LM head behind reshapes (full logits, last row read)', { ...base, lmHead: 'gemm', opset: 13, layerNorm: 'decomposed', seed: 3 }, false],
    ['a transposed-copy LM head (logits of the last position only)', { ...base, seed: 5 }, true],
  ] as [string, SyntheticOptions, boolean][]) {
    it(`generates the same tokens with and without the cache: ${name}`, async () => {
      configureRuntime(dist, 1);
      const m = buildSyntheticGpt2(o);
      const dir = makeModelFolder({ config: m.config, onnx: m.bytes }, 'lens-gen-');
      const a = await Generator.load(dir);
      const b = await Generator.load(dir, { cache: false });
      try {
        assert.equal(a.hasKvCache, o.past !== false);
        assert.equal(a.lastPositionLogits, lastOnly);
        const prompt = [10, 20, 30, 40, 50, 60, 70, 80];
        const x = await a.generate(prompt, { maxNewTokens: 12 });
        const y = await b.generate(prompt, { maxNewTokens: 12 });
        assert.deepEqual(x.ids, y.ids);
        const more = await a.nextLogits([...prompt, 5, 6]);
        const ref = await b.nextLogits([...prompt, 5, 6]);
        assert.ok(maxDiff(more.logits, ref.logits) < LOGIT_TOL);
      } finally {
        await a.dispose();
        await b.dispose();
      }
    });
  }
});
