// Bench section "hover": the editor surfaces' path without VS Code (the score cache over the worker, as the host
// uses it): a hover answered from the cache, a cold hover with 256 tokens of context, highlighting 60 lines.
import type { BenchContext, BenchRow, BenchSection } from './shared';
import { ScoreCache, type ScoredDocument, type ScoreFunction, type ScoreOptions } from '../../core/scoring/scoreCache';
import { lineIndexOf, segmentAt, windowFor } from '../../core/scoring/textWindow';
import type { WorkerClient } from '../../worker/client';

const CONTEXT = 256;

function median(xs: number[]): number {
  const t = xs.slice().sort((a, b) => a - b);
  return t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
}

/** Wall time, and CPU time of the whole process (this thread, the worker and its runtime): the machine is shared, so both. */
async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, value };
}

export const hoverSection: BenchSection = {
  id: 'hover',
  title: 'Editor surfaces: hover cards and surprisal highlighting (score cache over the worker)',
  perRuntime: true,
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const client: WorkerClient = ctx.client();
    await client.request('loadModel', { folder: ctx.modelDir });
    const text = ctx.heldOutText;
    const lines = lineIndexOf(text);
    if (lines.lineCount < 200) throw new Error(`the held-out text has only ${lines.lineCount} lines; the hover bench needs 200`);
    let version = 0;
    // Each cold measurement gets a document version of its own, so nothing is answered from a cache.
    const doc = (): ScoredDocument => ({ key: `bench|${++version}`, lines, text: (from, to) => text.slice(from, to) });
    const o: ScoreOptions = { window: { contextTokens: CONTEXT }, maxTokens: 2048, topK: 5 };
    // Model time inside the worker, summed over the score requests of one measurement.
    let modelMs = 0;
    const score: ScoreFunction = async (p, s) => {
      const r = await client.request('score', p, s);
      modelMs += r.timings.runMs;
      return r;
    };
    const hoverLine = 120;
    const offset = lines.lineStart(hoverLine) + 4;
    const neighbours = (id: number) => client.request('neighbours', { ids: [id], count: 8 });

    // Warm-up: the first runs of a session are slower (allocation, JIT).
    for (let i = 0; i < 2; i++) await new ScoreCache(score).tokenAt(doc(), offset, o);

    // Cold hover: nothing cached; the segment with 256 tokens of context, then the token's neighbours.
    const cold: number[] = [];
    const coldCpu: number[] = [];
    const coldModel: number[] = [];
    let coldTokens = 0;
    let coldContext = 0;
    for (let i = 0; i < ctx.runs; i++) {
      const cache = new ScoreCache(score);
      modelMs = 0;
      const r = await timed(async () => {
        const t = await cache.tokenAt(doc(), offset, o);
        if (!t) throw new Error('no token under the hover');
        await neighbours(t.id);
        return t;
      });
      cold.push(r.ms);
      coldCpu.push(r.cpuMs);
      coldModel.push(modelMs);
      coldContext = r.value.context;
    }
    {
      const seg = segmentAt(lines, offset, o.window)!;
      const w = windowFor(lines, seg, o.window);
      const s = await client.request('score', { text: text.slice(w.textStart, w.textEnd), scoreFrom: seg.from - w.textStart, scoreTo: seg.to - w.textStart, contextTokens: CONTEXT, topK: 5 });
      coldTokens = s.tokens.length + (s.tokens[0]?.context ?? 0);
    }
    // The same text through the panels' full analysis, for the ratio.
    const seg = segmentAt(lines, offset, o.window)!;
    const firstScored = await new ScoreCache(score).tokenAt(doc(), seg.from, o);
    const analyzeText = text.slice(firstScored?.contextStart ?? seg.from, seg.to);
    const analyzeMs: number[] = [];
    for (let i = 0; i < ctx.runs; i++) analyzeMs.push((await timed(() => client.request('analyze', { text: analyzeText, options: { topK: 5, chosenToken: 0 } }))).ms);

    // Cached hover: another word of the same block; its segment is cached, the neighbours are asked of the worker
    // (the host caches those too; both cached, a hover is a map lookup).
    const cache = new ScoreCache(score);
    const d = doc();
    await cache.tokenAt(d, offset, o);
    const cachedWithNeighbours: number[] = [];
    const cachedAll: number[] = [];
    for (let i = 0; i < ctx.runs * 4; i++) {
      const at = lines.lineStart(hoverLine + 1 + (i % 5)) + 2;
      cachedWithNeighbours.push(
        (
          await timed(async () => {
            const t = await cache.tokenAt(d, at, o);
            await neighbours(t!.id);
          })
        ).ms,
      );
      cachedAll.push((await timed(() => cache.tokenAt(d, at, o))).ms);
    }
    if (cache.stats.requests !== 1) throw new Error(`cached hovers sent ${cache.stats.requests - 1} extra score requests`);

    // Highlighting 60 visible lines, cold (a pass after opening a file), then after scrolling 10 lines.
    const from = lines.lineStart(200);
    const to = lines.lineStart(260);
    const pass: number[] = [];
    const passCpu: number[] = [];
    const passModel: number[] = [];
    const scroll: number[] = [];
    let passTokens = 0;
    for (let i = 0; i < ctx.runs; i++) {
      const c = new ScoreCache(score);
      const dd = doc();
      modelMs = 0;
      const r = await timed(() => c.range(dd, from, to, o));
      pass.push(r.ms);
      passCpu.push(r.cpuMs);
      passModel.push(modelMs);
      passTokens = r.value.tokens.length;
      scroll.push((await timed(() => c.range(dd, lines.lineStart(210), lines.lineStart(270), o))).ms);
    }
    const am = median(analyzeMs);
    const cm = median(cold);
    const row = (name: string, value: number, target: number | undefined, extra: Partial<BenchRow> = {}): BenchRow => ({
      name,
      value,
      unit: 'ms',
      ...(target === undefined ? {} : { target: `<= ${target} ms`, ok: value <= target, ratio: value / target, ratioTo: 'target' }),
      ...extra,
    });
    return [
      row('hover from the cache (segment and neighbours cached)', median(cachedAll), 30),
      row('hover from the cache, neighbours asked of the worker', median(cachedWithNeighbours), 30),
      row(`cold hover: ${coldTokens} tokens (${coldContext} of context), then neighbours`, cm, 300, { note: `min ${Math.min(...cold).toFixed(0)} ms; CPU ${median(coldCpu).toFixed(0)} ms, model run ${median(coldModel).toFixed(0)} ms` }),
      row(`panels' analyze of the same ${coldTokens} tokens`, am, undefined, { ratio: am / cm, ratioTo: 'cold hover', note: 'what a hover would cost through analyze' }),
      row(`highlighting 60 lines (${passTokens} tokens + ${CONTEXT} of context), cold`, median(pass), 500, { note: `min ${Math.min(...pass).toFixed(0)} ms; CPU ${median(passCpu).toFixed(0)} ms, model run ${median(passModel).toFixed(0)} ms` }),
      row('highlighting after scrolling 10 lines (one new block)', median(scroll), 500),
    ];
  },
};
