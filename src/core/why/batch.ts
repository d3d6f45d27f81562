// Runs many rows of one length through the instrumented graph, as few runs as the graph allows: several per run in
// the batch dimension when it is dynamic, else one by one (a graph exported with batch 1 fails the first batched
// run; that is remembered per model).
import type { LoadedModel } from '../session/modelSession';
import type { Tensor } from '../runtime/runtime';
import { WHY } from '../onnx/interventions';
import { LENS } from '../onnx/instrument';
import { tensor } from '../runtime/runtime';
import { CancelledError } from '../common/errors';

const noBatch = new WeakSet<LoadedModel>();

/** Rows per run: about `budget` tokens in all, at most 32 rows. */
export function rowsPerRun(model: LoadedModel, T: number, budget = 4096): number {
  if (noBatch.has(model)) return 1;
  return Math.max(1, Math.min(32, Math.floor(budget / T)));
}

/**
 * One run of equal-length rows: the log-probability, at each t of `at`, of the token `next[j]` (the same for every
 * row: an occluded copy's target), else of the row's own token t+1. `pastLength` tokens come before the rows, from
 * past_key_values.* in `feeds` (positions and masks then count them).
 */
export async function runChunk(model: LoadedModel, chunk: number[][], masks: number[][] | undefined, at: number[], feeds: Record<string, Tensor>, signal?: AbortSignal, pastLength = 0, next?: readonly number[]): Promise<number[][]> {
  const T = chunk[0].length;
  const A = at.length;
  const wanted = chunk.flatMap((_, b) => at.map((t) => b * T + t));
  const ids = chunk.flatMap((row) => at.map((t, j) => next?.[j] ?? row[t + 1]));
  // The graph's own log-sum-exp and the chosen token's logit, per row the LM head computes: no [rows, V] logits
  // come back and no exp() runs here. Where the graph lets the head read chosen rows, it computes those only.
  const selected: Record<string, Tensor> = {};
  let index: (r: number) => number;
  if (model.whyPoints?.hasRows) {
    selected[WHY.rows] = tensor.i64(wanted, [wanted.length]);
    selected[LENS.nextIds] = tensor.i64(ids, [ids.length, 1]);
    index = (r) => r;
  } else {
    const all = new Array<number>(chunk.length * T).fill(0);
    wanted.forEach((w, r) => (all[w] = ids[r]));
    selected[LENS.nextIds] = tensor.i64(all, [all.length, 1]);
    index = (r) => wanted[r];
  }
  const out = await model.runRaw({ rows: chunk, masks, pastLength, topK: 1, feeds: { ...feeds, ...selected }, fetches: [LENS.predLse, LENS.predActual], signal });
  const lse = out[LENS.predLse].data as Float32Array;
  const actual = out[LENS.predActual].data as Float32Array;
  return chunk.map((_, b) => at.map((__, j) => actual[index(b * A + j)] - lse[index(b * A + j)]));
}

/** Remembers that a model's graph has a fixed batch of 1 (a batched run failed). */
export function markNoBatch(model: LoadedModel): void {
  noBatch.add(model);
}

/**
 * Log-probability of the tokens at the positions `at` (the token `next[j]` if given, else each row's token t+1, given
 * the tokens up to t): one list per row, in the order of `at`; and how many runs it took.
 */
export async function rowLogProbs(
  model: LoadedModel,
  rows: number[][],
  masks: number[][] | undefined,
  at: number[],
  /** Extra feeds for a run of `batch` rows of `rowLength` tokens. */
  feeds: (rowLength: number, batch: number) => Record<string, Tensor>,
  options: { signal?: AbortSignal; onBatch?: (done: number) => void; batch?: number; next?: readonly number[]; pastLength?: number },
): Promise<{ values: number[][]; runs: number }> {
  const T = rows[0].length;
  const values: number[][] = [];
  let runs = 0;
  let per = options.batch ?? rowsPerRun(model, T);
  for (let i = 0; i < rows.length; ) {
    const n = Math.min(per, rows.length - i);
    const chunk = rows.slice(i, i + n);
    let got: number[][];
    try {
      got = await runChunk(model, chunk, masks?.slice(i, i + n), at, feeds(T, n), options.signal, options.pastLength ?? 0, options.next);
    } catch (e) {
      if (n === 1 || e instanceof CancelledError) throw e;
      // A fixed batch of 1 in the graph: one row per run from now on, for this model.
      noBatch.add(model);
      per = 1;
      continue;
    }
    runs++;
    values.push(...got);
    i += n;
    options.onBatch?.(i);
  }
  return { values, runs };
}

/** The first `a` positions of a [1, heads, T, headDim] key or value tensor, repeated for `B` rows. */
export function pastPrefix(t: Tensor, a: number, B: number): Tensor {
  const [, H, T, hd] = t.dims;
  const src = t.data as Float32Array;
  const per = H * a * hd;
  const out = new Float32Array(B * per);
  for (let h = 0; h < H; h++) out.set(src.subarray(h * T * hd, h * T * hd + a * hd), h * a * hd);
  const one = out.subarray(0, per);
  for (let b = 1; b < B; b++) out.set(one, b * per);
  return tensor.f32(out, [B, H, a, hd]);
}
