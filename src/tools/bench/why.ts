// Bench section "why" (issue #15): with the benchmark's model and 128 tokens of held-out text, the Why view's
// requests through the worker: candidates and direct logit attribution against the analysis of the same text,
// occlusion of every token against one forward pass of the model's own graph on the same runtime, and one head
// switched off.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchContext, BenchRow, BenchSection } from './shared';
import { loadedClient, loadOnnxruntimeNode, median, plainFeeds, prefixOfTokens, runtimeName, timeMedian, toNodeTensors } from './shared';
import { configureRuntime, createSession } from '../../core/runtime/web';

const TOKENS = 128;

export const whySection: BenchSection = {
  id: 'why',
  title: `Why: candidates, attribution, occlusion and interventions (${TOKENS} tokens)`,
  perRuntime: true,
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const client = await loadedClient(ctx);
    const tok = ctx.tokenizer();
    const { text, ids } = prefixOfTokens(tok, ctx.heldOutText, TOKENS);
    const T = ids.length;
    const n = Math.max(3, ctx.runs);
    const time = async (f: () => Promise<unknown>) => {
      const t0 = performance.now();
      await f();
      return performance.now() - t0;
    };
    // Two candidates from the model's own list, so both are real tokens.
    const first = await client.request('why', { text });
    const targets = [first.top[0].text, first.top[1].text];
    const analysis: number[] = [];
    const why: number[] = [];
    const forward: number[] = [];
    for (let i = 0; i <= n; i++) {
      // A new position each time: the worker keeps the last clean run, and this row is about a cold question.
      const position = T - 2 - (i % 2);
      const a = await time(() => client.request('analyze', { text, options: {} }));
      const w = await time(() => client.request('why', { text, position, targets }));
      if (i === 0) continue;
      analysis.push(a);
      why.push(w);
    }
    const aMs = median(analysis);
    const wMs = median(why);
    // The Why view's own run of the instrumented graph, back to back (a new position each time, so nothing is cached;
    // between analyses it is 1-2.5x slower and noisy).
    for (let i = 0; i <= 2 * n; i++) {
      const runMs = (await client.request('why', { text, position: T - 2 - (i % 2), targets })).timings.runMs;
      if (i > 0) forward.push(runMs);
    }
    const fMs = median(forward);
    // The forward pass the occlusion is held against: the model file's own graph on the same ids, on the runtime the
    // worker uses, with the same thread count (this thread; the worker is idle meanwhile).
    const pMs = await plainPass(ctx, ids, 2 * n + 1);
    const occ: number[] = [];
    let batches = 0;
    for (let i = 0; i <= Math.max(1, Math.floor(n / 2)); i++) {
      const ms = await time(async () => {
        batches = (await client.request('occlude', { text, cap: TOKENS })).batches;
      });
      if (i > 0) occ.push(ms);
    }
    const oMs = median(occ);
    const rowsAll = Math.round((T * (T + 1)) / 2);
    // One head off, the clean run of the same text kept from the request before (as when clicking a head in the panel).
    await client.request('why', { text, targets });
    const head: number[] = [];
    for (let i = 0; i <= n; i++) {
      const ms = await time(() => client.request('why', { text, targets, interventions: [{ kind: 'head', layer: i % 2, head: i % 3, mode: 'zero' }] }));
      if (i > 0) head.push(ms);
    }
    const hMs = median(head);
    const rt = runtimeName(ctx.backend);
    return [
      { name: `analysis, ${T} tokens (anchor)`, value: aMs, unit: 'ms', ratio: 1, ratioTo: 'analysis', note: rt },
      { name: 'why: 2 candidates, lens ranks, risers, attribution (clean run not cached)', value: wMs, unit: 'ms', ratio: wMs / aMs, ratioTo: 'analysis', target: '<= 1.5x', ok: wMs / aMs <= 1.5 },
      { name: `one forward pass: the model's own graph on ${runtimeName(ctx.backend)}`, value: pMs, unit: 'ms' },
      { name: 'the Why view\'s run of the instrumented graph (back to back)', value: fMs, unit: 'ms', ratio: fMs / pMs, ratioTo: 'forward pass' },
      {
        name: `occlusion of all ${T} tokens (${batches} batched runs)`,
        value: oMs,
        unit: 'ms',
        ratio: oMs / pMs,
        ratioTo: 'forward pass',
        target: '<= 20x',
        ok: oMs / pMs <= 20,
        // What bounds it: exact occlusion reruns tokens i..T for copy i (the prefix before it is fed as the past),
        // T²/2 token-rows in all against the forward pass's T: the ratio is that times what a batched token-row costs
        // against one of the forward pass (whose LM head reads every row; the copies' reads one).
        note: `${rowsAll} token-rows vs ${T}; a batched row costs ${((oMs / rowsAll / (pMs / T)) * 100).toFixed(0)}% of a forward-pass row`,
      },
      { name: 'one head switched off (why with an intervention, clean run kept)', value: hMs, unit: 'ms', target: '<= 300 ms', ok: hMs <= 300 },
    ];
  },
};

/** Median ms of the plain model file's forward pass over `ids`, on the runtime the benchmark's worker uses. */
async function plainPass(ctx: BenchContext, ids: number[], runs: number): Promise<number> {
  const file = path.join(ctx.modelDir, 'onnx', 'model.onnx');
  const ort = loadOnnxruntimeNode();
  const native = await ort.InferenceSession.create(file, { intraOpNumThreads: ctx.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  try {
    const feeds = plainFeeds(native, ids);
    if (ctx.backend === 'native') {
      const nodeFeeds = toNodeTensors(ort, feeds);
      return await timeMedian(runs, () => native.run(nodeFeeds));
    }
    configureRuntime(__dirname, ctx.threads);
    const web = await createSession(fs.readFileSync(file));
    try {
      return await timeMedian(runs, () => web.run(feeds));
    } finally {
      await web.release();
    }
  } finally {
    await native.release();
  }
}
