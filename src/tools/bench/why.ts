// Bench section "why" (issue #15): with the benchmark's model and 128 tokens of held-out text, the Why view's
// requests through the worker: candidates and direct logit attribution against the analysis of the same text,
// occlusion of every token against one forward pass, and one head switched off.
import type { BenchContext, BenchRow, BenchSection } from './shared';
import { loadedClient, median, prefixOfTokens, runtimeName } from './shared';

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
    // The forward pass the occlusion is held against, timed on its own: the same clean run back to back (a new
    // position each time, so nothing is cached), not between analyses, whose different outputs make it 1-2.5x slower
    // and noisy.
    for (let i = 0; i <= 2 * n; i++) {
      const runMs = (await client.request('why', { text, position: T - 2 - (i % 2), targets })).timings.runMs;
      if (i > 0) forward.push(runMs);
    }
    const fMs = median(forward);
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
      { name: 'one forward pass (the why request\'s run of the instrumented graph, back to back)', value: fMs, unit: 'ms' },
      {
        name: `occlusion of all ${T} tokens (${batches} batched runs)`,
        value: oMs,
        unit: 'ms',
        ratio: oMs / fMs,
        ratioTo: 'forward pass',
        target: '<= 20x',
        ok: oMs / fMs <= 20,
        // What bounds it: exact occlusion reruns tokens i..T for copy i (the prefix before it is fed as the past),
        // T²/2 token-rows in all against the forward pass's T: the ratio is that times what a batched token-row costs
        // against one of the forward pass.
        note: `${rowsAll} token-rows vs ${T}; a batched row costs ${((oMs / rowsAll / (fMs / T)) * 100).toFixed(0)}% of a forward-pass row`,
      },
      { name: 'one head switched off (why with an intervention, clean run kept)', value: hMs, unit: 'ms', target: '<= 300 ms', ok: hMs <= 300 },
    ];
  },
};
