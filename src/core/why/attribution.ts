// Direct logit attribution: the residual stream entering the final norm is the embedding plus what every attention
// block (head by head) and every MLP added; read through the final norm and the LM head, each part gets its share of
// a logit (or of a logit difference). The norm is made linear the way the literature does it: its scale (1/σ for
// LayerNorm, 1/rms for RMSNorm) is taken from the whole stream and frozen; LayerNorm's mean subtraction is linear
// and stays (each part is centred), and its β, with the head's bias, is a constant term.
import type { WhyAttribution, WhyComponent } from '../../protocol/why';
import type { LoadedModel } from '../session/modelSession';
import { headColumn } from './headColumn';
import { normStats } from '../onnx/lensHead';
import type { WhyRun } from './forward';

export function attribute(model: LoadedModel, r: WhyRun, ids: number[], label: string): WhyAttribution {
  const head = model.lensHead;
  const L = model.nLayers;
  const d = model.dModel;
  const H = model.nHeads;
  const p = r.position;
  const total = ids.length === 2 ? r.logits[ids[0]] - r.logits[ids[1]] : r.logits[ids[0]];
  if (!head) {
    return { label, tokenIds: ids, total, sum: NaN, embedding: NaN, attention: [], mlp: [], heads: [], bias: NaN, top: [], normScale: NaN, headsUnavailable: "the final norm or the LM head is not a constant the lens can read: no attribution" };
  }
  // u: the direction in the normed stream that the explained quantity reads.
  const u = headColumn(head.head, ids[0], d);
  let headBias = head.bias ? head.bias[ids[0]] : 0;
  if (ids.length === 2) {
    const b = headColumn(head.head, ids[1], d);
    for (let j = 0; j < d; j++) u[j] -= b[j];
    headBias -= head.bias ? head.bias[ids[1]] : 0;
  }
  // The frozen scale, from the full stream at the position.
  const x = r.hidden[L].subarray(p * d, (p + 1) * d);
  const layer = head.norm === 'layer';
  const scale = normStats(head, x).inv;
  // w: what a part c contributes is c · w; LayerNorm's centring moves onto w (Σ (c - mean c) w = c · (w - mean w)).
  const w = new Float64Array(d);
  for (let j = 0; j < d; j++) w[j] = head.gamma[j] * u[j] * scale;
  if (layer) {
    let mw = 0;
    for (let j = 0; j < d; j++) mw += w[j];
    mw /= d;
    for (let j = 0; j < d; j++) w[j] -= mw;
  }
  const dotRow = (a: Float32Array, b?: Float32Array) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (a[p * d + j] - (b ? b[p * d + j] : 0)) * w[j];
    return s;
  };
  const dotVec = (a: ArrayLike<number>) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += a[j] * w[j];
    return s;
  };
  let bias = headBias;
  if (head.beta) for (let j = 0; j < d; j++) bias += head.beta[j] * u[j];
  const embedding = dotRow(r.hidden[0]);
  const attention: number[] = [];
  const mlp: number[] = [];
  const heads: number[][] = [];
  const missingHeads: number[] = [];
  for (let l = 0; l < L; l++) {
    const proj = model.outProjections[l];
    // The output projection's bias belongs to no head: it goes to `bias`, and out of the layer's attention.
    const ob = proj?.bias ? dotVec(proj.bias) : 0;
    bias += ob;
    attention.push(dotRow(r.mid[l], r.hidden[l]) - ob);
    mlp.push(dotRow(r.hidden[l + 1], r.mid[l]));
    const z = r.z[l];
    if (!proj || !z) {
      missingHeads.push(l);
      heads.push([]);
      continue;
    }
    // Head h's share: its slice of z times the matching rows of W_O, dotted with w; W_O · w first, once per layer.
    const width = proj.width;
    const hd = width / H;
    const ow = new Float64Array(width);
    for (let i = 0; i < width; i++) {
      let s = 0;
      const o = i * d;
      for (let j = 0; j < d; j++) s += proj.weight[o + j] * w[j];
      ow[i] = s;
    }
    const zp = z.subarray(p * width, (p + 1) * width);
    heads.push(
      Array.from({ length: H }, (_, h) => {
        let s = 0;
        for (let i = h * hd; i < (h + 1) * hd; i++) s += zp[i] * ow[i];
        return s;
      }),
    );
  }
  const sum = embedding + attention.reduce((a, b) => a + b, 0) + mlp.reduce((a, b) => a + b, 0) + bias;
  const parts: WhyComponent[] = [{ kind: 'embedding', value: embedding }];
  attention.forEach((value, layer) => parts.push({ kind: 'attention', layer, value }));
  mlp.forEach((value, layer) => parts.push({ kind: 'mlp', layer, value }));
  heads.forEach((hs, layer) => hs.forEach((value, h) => parts.push({ kind: 'head', layer, head: h, value })));
  parts.push({ kind: 'bias', value: bias });
  const top = parts.sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, 8);
  const result: WhyAttribution = { label, tokenIds: ids, total, sum, embedding, attention, mlp, heads, bias, top, normScale: scale };
  if (missingHeads.length) {
    result.headsUnavailable = `layers ${missingHeads.join(', ')}: the heads' results (the output projection's input) or its float weight were not found in the graph (a quantized or fused projection); those layers are attributed as a whole`;
  }
  return result;
}
