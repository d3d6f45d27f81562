// Interventions (protocol/why.ts) as feeds of the instrumented graph's Why inputs (onnx/interventions.ts): a zeroed
// slice of a layer's z gate for a head, a zero gate on a block's output, -1e9 on the attention scores of a cut edge.
// Mean ablation adds the part's mean over the text's positions, taken from the clean run.
import type { Intervention } from '../../protocol/why';
import type { LoadedModel } from '../session/modelSession';
import { WHY } from '../onnx/interventions';
import { tensor, type Tensor } from '../runtime/runtime';
import { InvalidOptionError } from '../analysis/errors';

/** What a clean run gives the mean ablations: per layer, the mean over positions of z, attention and MLP outputs. */
export interface CleanMeans {
  z: (Float32Array | undefined)[];
  attn: Float32Array[];
  mlp: Float32Array[];
}

/**
 * A cut edge's score. Large enough that exp() of it is 0 next to any real score, small enough that adding it to the
 * exports' own mask value (float32's lowest) stays finite; a query whose every key is cut keeps a uniform row rather
 * than NaN (the Softmax still sums to 1).
 */
export const EDGE_CUT = -1e9;

export function checkInterventions(model: LoadedModel, list: unknown, T: number): Intervention[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new InvalidOptionError('interventions must be a list.');
  if (list.length > 64) throw new InvalidOptionError('at most 64 interventions at once.');
  const points = model.whyPoints;
  const L = model.nLayers;
  const H = model.nHeads;
  const isInt = (x: unknown, lo: number, hi: number) => Number.isInteger(x) && (x as number) >= lo && (x as number) < hi;
  return list.map((raw) => {
    const i = raw as Intervention;
    const where = JSON.stringify(raw);
    if (typeof i !== 'object' || i === null) throw new InvalidOptionError(`intervention ${where} is not an object.`);
    const needs = (kind: Intervention['kind']) => {
      if (!points || !points.kinds.includes(kind)) throw new InvalidOptionError(`this model's graph does not let the lens switch off ${kind === 'edge' ? 'attention edges' : `a ${kind}`}: ${points?.unavailable[kind] ?? 'the graph was instrumented without the Why points'}.`);
    };
    if (i.kind === 'edge') {
      needs('edge');
      if (!isInt(i.to, 0, T) || !isInt(i.from, 0, T) || i.from > i.to) throw new InvalidOptionError(`edge ${where}: from and to must be token indices with from <= to < ${T}.`);
      return { kind: 'edge', from: i.from, to: i.to };
    }
    if (i.kind !== 'head' && i.kind !== 'attention' && i.kind !== 'mlp') throw new InvalidOptionError(`intervention ${where}: kind must be head, attention, mlp or edge.`);
    needs(i.kind);
    if (!isInt(i.layer, 0, L)) throw new InvalidOptionError(`intervention ${where}: layer must be 0..${L - 1}.`);
    if (i.mode !== 'zero' && i.mode !== 'mean') throw new InvalidOptionError(`intervention ${where}: mode must be zero or mean.`);
    if (i.kind === 'head') {
      if (!isInt(i.head, 0, H)) throw new InvalidOptionError(`intervention ${where}: head must be 0..${H - 1}.`);
      return { kind: 'head', layer: i.layer, head: i.head, mode: i.mode };
    }
    return { kind: i.kind, layer: i.layer, mode: i.mode };
  });
}

/** Feeds for a run of rows of length T with these interventions; {} for none (the graph's defaults are the clean run). */
export function interventionFeeds(model: LoadedModel, list: Intervention[], T: number, means?: CleanMeans): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  const points = model.whyPoints;
  if (!points || list.length === 0) return feeds;
  const d = model.dModel;
  const H = model.nHeads;
  const vec = (name: string, n: number, fill: number): Float32Array => {
    const t = feeds[name];
    if (t) return t.data as Float32Array;
    const a = new Float32Array(n).fill(fill);
    feeds[name] = tensor.f32(a, [n]);
    return a;
  };
  for (const i of list) {
    if (i.kind === 'edge') {
      const m = feeds[WHY.scoreMask] ? (feeds[WHY.scoreMask].data as Float32Array) : new Float32Array(T * T);
      feeds[WHY.scoreMask] = tensor.f32(m, [T, T]);
      m[i.to * T + i.from] = EDGE_CUT;
      continue;
    }
    const mean = i.mode === 'mean';
    if (mean && !means) throw new Error('mean ablation needs the clean run');
    if (i.kind === 'head') {
      const width = points.layers[i.layer].z!.width;
      const hd = width / H;
      const gate = vec(WHY.zGate(i.layer), width, 1);
      const add = vec(WHY.zAdd(i.layer), width, 0);
      for (let j = i.head * hd; j < (i.head + 1) * hd; j++) {
        gate[j] = 0;
        add[j] = mean ? means!.z[i.layer]![j] : 0;
      }
    } else {
      const gateName = i.kind === 'attention' ? WHY.attnGate(i.layer) : WHY.mlpGate(i.layer);
      const addName = i.kind === 'attention' ? WHY.attnAdd(i.layer) : WHY.mlpAdd(i.layer);
      vec(gateName, 1, 1)[0] = 0;
      const add = vec(addName, d, 0);
      const m = i.kind === 'attention' ? means?.attn[i.layer] : means?.mlp[i.layer];
      for (let j = 0; j < d; j++) add[j] = mean ? m![j] : 0;
    }
  }
  return feeds;
}
