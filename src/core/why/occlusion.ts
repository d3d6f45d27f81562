// Input attribution by occlusion: each context token in turn is replaced by a neutral token (or left out of the
// attention), the model runs again, and the change in the prediction's log-probability is that token's share. Many
// occluded copies go through one run in the batch dimension; the signal is honoured between runs, and progress is
// reported after each. Attribution, not causation: a token also shapes the text around it.
import type { OccludeParams, OccludeResult } from '../../protocol/why';
import type { LoadedModel } from '../session/modelSession';
import { InvalidOptionError } from '../analysis/errors';
import { UnsupportedModelError } from '../model/errors';
import { LENS } from '../onnx/instrument';
import { markNoBatch, pastPrefix, rowLogProbs, rowsPerRun, runChunk } from './batch';
import { CancelledError } from '../common/errors';
import { tensor, type Tensor } from '../runtime/runtime';
import { continuationIds, whyText } from './text';

export const DEFAULT_OCCLUSION_CAP = 256;

export interface OccludeOptions {
  /** Run the prefix before each batch of occluded tokens once and feed it as their past (default true where the graph allows). */
  reusePrefix?: boolean;
  /** Occluded copies per run with a shared prefix (default 8, fewer for long rows). */
  rowsPerChunk?: number;
}

export async function occlude(model: LoadedModel, params: OccludeParams, signal?: AbortSignal, onProgress?: (done: number, total: number) => void, options: OccludeOptions = {}): Promise<OccludeResult> {
  const t0 = performance.now();
  if (typeof params !== 'object' || params === null) throw new InvalidOptionError('occlude needs {text, ...}.');
  const { ids, tokens, position: p } = whyText(model, params.text, params.position);
  const method = params.method ?? 'mask';
  if (method !== 'mask' && method !== 'drop') throw new InvalidOptionError(`method must be 'mask' or 'drop', not ${JSON.stringify(params.method)}.`);
  const cap = params.cap ?? DEFAULT_OCCLUSION_CAP;
  if (!Number.isInteger(cap) || cap < 1) throw new InvalidOptionError(`cap must be a positive integer, not ${JSON.stringify(params.cap)}.`);
  if (method === 'drop' && !model.whyPoints?.kinds.includes('edge')) {
    // A fused attention operator (GroupQueryAttention) turns the mask into sequence lengths: a hole in the middle
    // would shorten the text instead.
    throw new UnsupportedModelError(model.spec.name, "its attention is a fused operator that reads the attention mask as lengths: tokens cannot be dropped from the middle ('mask' works).");
  }
  // Only the text up to the position matters to the prediction (attention is causal), then the continuation itself:
  // its tokens are read at p, p+1, ...; the last one is never an input, so no row carries it.
  let target = params.target !== undefined ? continuationIds(model, params.target) : undefined;
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const prefix = ids.slice(0, p + 1);
  const mask = maskToken(model);
  // The nearest tokens first: the cap keeps those.
  const order = Array.from({ length: p + 1 }, (_, i) => p - i).slice(0, cap);
  const occludedRow = (row: number[], i: number) => (method === 'mask' ? row.map((id, t) => (t === i ? mask : id)) : row);
  const dropMask = (length: number, i: number) => Array.from({ length }, (_, t) => (t === i ? 0 : 1));
  const total = order.length + 1;
  onProgress?.(0, total);
  let baseline: number;
  let values: number[][];
  let runs: number;
  const presents = model.whyPoints?.presents ?? [];
  if (options.reusePrefix !== false && presents.length) {
    ({ baseline, target, values, runs } = await withSharedPrefix(model, prefix, target, order, occludedRow, method === 'drop' ? dropMask : undefined, presents, signal, (done) => onProgress?.(done, total), options.rowsPerChunk));
  } else {
    runs = 0;
    if (!target) {
      // The model's own top token after the position, from a run of the prefix.
      const out = await model.runRaw({ rows: [prefix], topK: 1, fetches: [LENS.predTopI], signal });
      target = [Number((out[LENS.predTopI].data as BigInt64Array)[p])];
      runs++;
    }
    const base = [...prefix, ...target.slice(0, -1)];
    const at = target.map((_, j) => p + j);
    const rows = [base, ...order.map((i) => occludedRow(base, i))];
    const masks = method === 'drop' ? rows.map((_, r) => (r === 0 ? dropMask(base.length, -1) : dropMask(base.length, order[r - 1]))) : undefined;
    const got = await rowLogProbs(model, rows, masks, at, () => ({}), { signal, next: target, onBatch: (done) => onProgress?.(done, total) });
    runs += got.runs;
    baseline = sum(got.values[0]);
    values = got.values.slice(1);
  }
  const delta = new Array<number>(ids.length).fill(NaN);
  order.forEach((i, r) => (delta[i] = sum(values[r]) - baseline));
  return {
    tokens,
    position: p,
    target: { text: params.target ?? model.tokenizer.tokenText(target[0]), tokenIds: target, logProb: baseline },
    method,
    delta,
    occluded: order.length,
    skipped: p + 1 - order.length,
    batches: runs,
    ...(method === 'mask' ? { maskToken: { id: mask, text: model.tokenizer.tokenText(mask) } } : {}),
    timings: { totalMs: performance.now() - t0 },
  };
}

/**
 * The neutral token put in an occluded token's place: a lone space when the vocabulary has it as one token (it carries
 * the least meaning of any text token and keeps the text's length in tokens), else the end-of-text token, else id 0.
 */
export function maskToken(model: LoadedModel): number {
  const space = model.tokenizer.ids(' ');
  if (space.length === 1) return space[0];
  return model.spec.eosTokenId ?? 0;
}

/**
 * Occlusion with the shared prefix computed once: a token changes nothing before it (attention is causal), so the
 * copies that occlude tokens a.. share the clean keys and values of tokens 0..a-1, fed as their past, and run only
 * from a on. The nearest tokens come first and have the shortest rows: each run takes as many copies as fit. The clean
 * run gives the baseline and, when no continuation was asked for, the model's own top token: one run for both.
 */
async function withSharedPrefix(
  model: LoadedModel,
  prefix: number[],
  asked: number[] | undefined,
  order: number[],
  occludedRow: (row: number[], i: number) => number[],
  dropMask: ((length: number, i: number) => number[]) | undefined,
  presents: string[],
  signal: AbortSignal | undefined,
  onBatch: (done: number) => void,
  rowsPerChunk?: number,
): Promise<{ baseline: number; target: number[]; values: number[][]; runs: number }> {
  const p = prefix.length - 1;
  const row = asked ? [...prefix, ...asked.slice(0, -1)] : prefix;
  // The clean run: every layer's keys and values, and each position's log-sum-exp and the logit of the token after
  // it (the continuation's last token after the last position).
  const next = [...row.slice(1), asked ? asked[asked.length - 1] : 0];
  const first = await model.runRaw({
    rows: [row],
    topK: 1,
    feeds: { [LENS.nextIds]: tensor.i64(next, [next.length, 1]) },
    fetches: [...presents, LENS.predLse, LENS.predActual, LENS.predTopV, LENS.predTopI],
    signal,
  });
  const lse = first[LENS.predLse].data as Float32Array;
  const actual = first[LENS.predActual].data as Float32Array;
  let target: number[];
  let baseline = 0;
  if (asked) {
    target = asked;
    for (let j = 0; j < asked.length; j++) baseline += actual[p + j] - lse[p + j];
  } else {
    target = [Number((first[LENS.predTopI].data as BigInt64Array)[p])];
    baseline = (first[LENS.predTopV].data as Float32Array)[p] - lse[p];
  }
  const cache = presents.map((name) => ({ past: name.replace(/^present\./, 'past_key_values.'), t: first[name] }));
  const at = target.map((_, j) => p + j);
  const base = [...prefix, ...target.slice(0, -1)];
  const Tb = base.length;
  const values: number[][] = [];
  let runs = 1;
  onBatch(1);
  let noBatch = false;
  for (let i = 0; i < order.length; ) {
    // Small chunks: every copy in a chunk reruns from the chunk's farthest token, so a chunk of k copies wastes about
    // k/2 tokens per copy; 8 copies per run measured ~20% faster than 32 on lens-tiny at 128 tokens.
    const per = noBatch ? 1 : Math.min(rowsPerChunk ?? Math.min(8, rowsPerRun(model, Tb - order[i])), order.length - i);
    const chunk = order.slice(i, i + per);
    const a = Math.min(...chunk);
    const rows = chunk.map((k) => occludedRow(base, k).slice(a));
    const feeds: Record<string, Tensor> = {};
    if (a > 0) for (const c of cache) feeds[c.past] = pastPrefix(c.t, a, chunk.length);
    const masks = dropMask ? chunk.map((k) => dropMask(Tb, k)) : undefined;
    let got: number[][];
    try {
      got = await runChunk(model, rows, masks, at.map((t) => t - a), feeds, signal, a, target);
    } catch (e) {
      if (per === 1 || e instanceof CancelledError) throw e;
      markNoBatch(model);
      noBatch = true;
      continue;
    }
    runs++;
    values.push(...got);
    i += chunk.length;
    onBatch(i + 1);
  }
  return { baseline, target, values, runs };
}
