// Runs many rows of one length through the instrumented graph, as few runs as the graph allows: several per run in
// the batch dimension when it is dynamic, else one by one (a graph exported with batch 1 fails the first batched
// run; that is remembered per model).
import type { LoadedModel } from '../session/modelSession';
import type { Tensor } from '../runtime/runtime';
import { WHY } from '../onnx/interventions';
import { tensor } from '../runtime/runtime';
import { logSumExp } from './forward';
import { CancelledError } from '../common/errors';

const noBatch = new WeakSet<LoadedModel>();

/** Rows per run: about `budget` tokens in all, at most 32 rows. */
export function rowsPerRun(model: LoadedModel, T: number, budget = 4096): number {
  if (noBatch.has(model)) return 1;
  return Math.max(1, Math.min(32, Math.floor(budget / T)));
}

/**
 * One run of equal-length rows: the log-probability of each row's token t+1 at each t of `at`. `pastLength` tokens
 * come before the rows, from past_key_values.* in `feeds` (positions and masks then count them).
 */
export async function runChunk(model: LoadedModel, chunk: number[][], masks: number[][] | undefined, at: number[], feeds: Record<string, Tensor>, signal?: AbortSignal, pastLength = 0): Promise<number[][]> {
  const T = chunk[0].length;
  const wanted = chunk.flatMap((_, b) => at.map((t) => b * T + t));
  // Where the graph lets the LM head read chosen rows, it computes those only, and logitsAt returns them all; the
  // graph's own per-row reductions over [rows, V] are left unfetched and the log-softmax of these rows taken here.
  const selected: Record<string, Tensor> = model.whyPoints?.hasRows
    ? { [WHY.rows]: tensor.i64(wanted, [wanted.length]), [WHY.position]: tensor.i64(wanted.map((_, r) => r), [wanted.length]) }
    : { [WHY.position]: tensor.i64(wanted, [wanted.length]) };
  const out = await model.runRaw({ rows: chunk, masks, pastLength, topK: 1, feeds: { ...feeds, ...selected }, fetches: [WHY.logitsAt], signal });
  const logits = out[WHY.logitsAt].data as Float32Array;
  const V = logits.length / wanted.length;
  return chunk.map((row, b) =>
    at.map((t, j) => {
      const r = logits.subarray((b * at.length + j) * V, (b * at.length + j + 1) * V);
      return r[row[t + 1]] - logSumExp(r);
    }),
  );
}

/** Remembers that a model's graph has a fixed batch of 1 (a batched run failed). */
export function markNoBatch(model: LoadedModel): void {
  noBatch.add(model);
}

/**
 * Log-probability of each row's tokens at the positions `at` (the token at t+1 given the tokens up to t): one list
 * per row, in the order of `at`; and how many runs it took.
 */
export async function rowLogProbs(
  model: LoadedModel,
  rows: number[][],
  masks: number[][] | undefined,
  at: number[],
  feeds: (rowLength: number) => Record<string, Tensor>,
  options: { signal?: AbortSignal; onBatch?: (done: number) => void; batch?: number },
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
      got = await runChunk(model, chunk, masks?.slice(i, i + n), at, feeds(T), options.signal);
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
