// One full run of the instrumented graph for the Why view: the residual stream at every stage (entering each layer,
// after each attention add), each layer's z, the model's own logits and the full logit lens rows at the position
// explained, and the surprisal of every token. Both the clean and the intervened run are this.
import type { LoadedModel } from '../session/modelSession';
import { LENS } from '../onnx/instrument';
import { WHY } from '../onnx/interventions';
import { tensor, type Tensor } from '../runtime/runtime';
import type { CleanMeans } from './interventionFeeds';

export interface WhyRun {
  T: number;
  position: number;
  /** [L+1][T*d] entering each layer, then entering the final norm. */
  hidden: Float32Array[];
  /** [L][T*d] after each layer's attention add. */
  mid: Float32Array[];
  /** [L][T*width] each layer's z (after the gates), where exposed. */
  z: (Float32Array | undefined)[];
  /** [V] the model's own logits at `position`. */
  logits: Float32Array;
  /** [L][V] the logit lens entering each layer at `position` (empty when the graph has no lens). */
  lens: Float32Array[];
  /** [T] log-probability of each token given the ones before (entry 0 NaN). */
  logProbs: number[];
  /** log-sum-exp of `logits`, and of each lens row (the graph's own reductions). */
  lse: number;
  lensLse: number[];
  /** Every layer's keys and values (present.*), where the graph exposes them: a continuation runs on from them. */
  presents?: Record<string, Tensor>;
  runMs: number;
}

export async function whyRun(model: LoadedModel, ids: number[], position: number, feeds: Record<string, Tensor>, signal?: AbortSignal): Promise<WhyRun> {
  const L = model.nLayers;
  const points = model.whyPoints!;
  const T = ids.length;
  const zLayers = points.layers.map((l, i) => (l.z ? i : -1)).filter((i) => i >= 0);
  const fetches = [
    ...Array.from({ length: L + 1 }, (_, i) => LENS.hidden(i)),
    ...Array.from({ length: L }, (_, i) => WHY.mid(i)),
    ...zLayers.map((i) => WHY.z(i)),
    LENS.predActual,
    LENS.predLse,
    WHY.logitsAt,
    ...(model.hasLens ? [WHY.lensLogits, LENS.lensLse] : []),
    ...points.presents,
  ];
  const t0 = performance.now();
  const out = await model.runRaw({ rows: [ids], topK: 1, lensPositions: [position], feeds: { ...feeds, [WHY.position]: tensor.i64([position], [1]) }, fetches, signal });
  const runMs = performance.now() - t0;
  const f = (name: string) => (out[name].data as Float32Array).slice();
  const V = out[WHY.logitsAt].data.length;
  const lensAll = model.hasLens ? (out[WHY.lensLogits].data as Float32Array) : undefined;
  const actual = out[LENS.predActual].data as Float32Array;
  const lse = out[LENS.predLse].data as Float32Array;
  const presents = points.presents.length ? Object.fromEntries(points.presents.map((n) => [n, out[n]])) : undefined;
  return {
    T,
    position,
    hidden: Array.from({ length: L + 1 }, (_, i) => f(LENS.hidden(i))),
    mid: Array.from({ length: L }, (_, i) => f(WHY.mid(i))),
    z: Array.from({ length: L }, (_, i) => (zLayers.includes(i) ? f(WHY.z(i)) : undefined)),
    logits: f(WHY.logitsAt),
    lens: lensAll ? Array.from({ length: L }, (_, l) => lensAll.slice(l * V, (l + 1) * V)) : [],
    logProbs: Array.from({ length: T }, (_, t) => (t === 0 ? NaN : actual[t - 1] - lse[t - 1])),
    lse: lse[position],
    lensLse: lensAll ? Array.from(out[LENS.lensLse].data as Float32Array) : [],
    presents,
    runMs,
  };
}

/** The means over positions that mean ablation adds back: of z, of each attention block's and each MLP's output. */
export function cleanMeans(model: LoadedModel, r: WhyRun): CleanMeans {
  const d = model.dModel;
  const T = r.T;
  const meanOf = (rows: (t: number, j: number) => number, width: number) => {
    const m = new Float64Array(width);
    for (let t = 0; t < T; t++) for (let j = 0; j < width; j++) m[j] += rows(t, j);
    return Float32Array.from(m, (x) => x / T);
  };
  const L = model.nLayers;
  return {
    z: r.z.map((z) => (z ? meanOf((t, j) => z[t * (z.length / T) + j], z.length / T) : undefined)),
    attn: Array.from({ length: L }, (_, l) => meanOf((t, j) => r.mid[l][t * d + j] - r.hidden[l][t * d + j], d)),
    mlp: Array.from({ length: L }, (_, l) => meanOf((t, j) => r.hidden[l + 1][t * d + j] - r.mid[l][t * d + j], d)),
  };
}

/** log-sum-exp of a row, in float64. */
export function logSumExp(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
  return m + Math.log(s);
}

/** 1 + how many entries beat entry `id`: its rank, 1 = top. */
export function rankOf(x: ArrayLike<number>, id: number): number {
  const v = x[id];
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i] > v) n++;
  return n + 1;
}
