// The final norm and the LM head read from the graph as arrays, for the logit lens of one vector in JS; and the token
// embedding matrix as floats (dequantized when the file stores it in 8 bits).
import type { GraphIndex, GraphStructure } from './graph';
import { floatData, intData, tensorDims } from './proto';
import { UnsupportedModelError } from '../model/errors';

/** The LM head's weight as the file stores it: float, 4-bit blocks (MatMulNBits) or 8 bits (MatMulInteger). */
export type HeadWeight =
  /** [V, d] (vocabMajor, e.g. the tied token embedding) or [d, V]. */
  | { kind: 'float'; weight: Float32Array; vocabMajor: boolean }
  /** MatMulNBits: row n of [N=V, blocks, blockSize/2] bytes holds column n of the [K=d, N] weight, low nibble first. */
  | { kind: 'q4'; packed: Uint8Array; scales: Float32Array; zeroPoints?: Uint8Array; K: number; N: number; blockSize: number }
  /** MatMulInteger's [d, V] 8-bit weight with a per-tensor or per-column scale and zero point. */
  | { kind: 'q8'; q: Int8Array | Uint8Array; scale: Float32Array; zeroPoint: Int32Array; d: number; V: number };

/** The final norm and the LM head as arrays: enough to apply them to one vector. */
export interface LensHead {
  /** layer: (x - mean) / std · gamma + beta (GPT-2); rms: x / rms(x) · gamma (the Llama family). */
  norm: 'layer' | 'rms';
  gamma: Float32Array;
  beta?: Float32Array;
  epsilon: number;
  head: HeadWeight;
  bias?: Float32Array;
}

/**
 * The final norm's weights and epsilon and the LM head's weight, read from the graph at load; undefined when one is
 * not a constant the graph names (then the logit lens is left empty, as the instrumented graph leaves it). A tied
 * float head reuses the token embedding already in memory; a quantized head stays packed (a Qwen2.5 head in floats
 * would take 545 MB).
 */
export function lensHeadOf(g: GraphIndex, s: GraphStructure, embedding: Float32Array): LensHead | undefined {
  const fn = s.finalNorm;
  const lm = s.lmHead;
  if (!fn || !lm || !fn.scale) return undefined;
  const rms = fn.kind === 'rms' || fn.kind === 'rmsFused';
  if (!rms && !fn.bias) return undefined;
  const f = (name: string | undefined) => (name ? g.initializers.get(name) : undefined);
  const gamma = f(fn.scale) && floatData(f(fn.scale)!);
  const beta = rms ? undefined : f(fn.bias) && floatData(f(fn.bias)!);
  const bias = lm.bias ? f(lm.bias) && floatData(f(lm.bias)!) : undefined;
  if (!gamma || (!rms && !beta) || (lm.bias && !bias)) return undefined;
  const head = headWeight(g, s, embedding);
  if (!head) return undefined;
  return { norm: rms ? 'rms' : 'layer', gamma, ...(beta ? { beta } : {}), epsilon: fn.epsilon, head, ...(bias ? { bias } : {}) };
}

function headWeight(g: GraphIndex, s: GraphStructure, embedding: Float32Array): HeadWeight | undefined {
  const lm = s.lmHead!;
  const init = (name: string | undefined) => (name ? g.initializers.get(name) : undefined);
  if (lm.kind === 'float') {
    const tied = lm.tied === 'same' || lm.tied === 'copy';
    const weight = tied ? embedding : init(lm.weight) && floatData(init(lm.weight)!);
    return weight ? { kind: 'float', weight, vocabMajor: tied || lm.vocabMajor } : undefined;
  }
  const nodeOf = lm.nodes.find((i) => g.op(i) === (lm.kind === 'q4' ? 'MatMulNBits' : 'MatMulInteger'));
  if (nodeOf === undefined) return undefined;
  const ins = g.inputsOf(nodeOf);
  if (lm.kind === 'q4') {
    const packed = init(ins[1]);
    const scales = init(ins[2]) && floatData(init(ins[2])!);
    const zp = ins[3] ? init(ins[3]) : undefined;
    if (!packed?.rawData || !scales || (ins[3] && !zp?.rawData)) return undefined;
    return { kind: 'q4', packed: packed.rawData, scales, zeroPoints: zp?.rawData ?? undefined, K: g.attrInt(nodeOf, 'K', 0), N: g.attrInt(nodeOf, 'N', 0), blockSize: g.attrInt(nodeOf, 'block_size', 32) };
  }
  // q8: the weight's scale is the constant factor of the Mul that rescales MatMulInteger's output.
  const w = init(ins[1]);
  const zp = ins[3] ? init(ins[3]) : undefined;
  const mul = lm.nodes.find((i) => g.op(i) === 'Mul' && g.inputsOf(i).some((x) => g.constTensor(x) && (floatData(g.constTensor(x)!)?.length ?? 0) > 0));
  const scaleName = mul === undefined ? undefined : g.inputsOf(mul).find((x) => g.constTensor(x));
  const scale = scaleName ? floatData(g.constTensor(scaleName)!) : undefined;
  if (!w?.rawData || !scale) return undefined;
  const [d, V] = tensorDims(w);
  const signed = w.dataType === 3;
  const q = signed ? new Int8Array(w.rawData.buffer, w.rawData.byteOffset, w.rawData.byteLength) : w.rawData;
  const zpv = zp ? Int32Array.from(intData(zp) ?? [0]) : new Int32Array(1);
  return { kind: 'q8', q, scale, zeroPoint: zpv, d, V };
}

/**
 * What the final norm takes from a vector: the mean it subtracts (LayerNorm; 0 for RMSNorm) and the scale it
 * multiplies by, 1/σ or 1/rms (direct logit attribution freezes this scale).
 */
export function normStats(h: LensHead, x: ArrayLike<number>): { mean: number; inv: number } {
  const d = x.length;
  let mean = 0;
  if (h.norm === 'layer') {
    for (let j = 0; j < d; j++) mean += x[j];
    mean /= d;
  }
  let sq = 0;
  for (let j = 0; j < d; j++) sq += (x[j] - mean) ** 2;
  return { mean, inv: 1 / Math.sqrt(sq / d + h.epsilon) };
}

/** Applies the final norm and the LM head to one vector, in float64. */
export function lensLogits(h: LensHead, x: Float32Array): Float64Array {
  const d = x.length;
  const { mean, inv } = normStats(h, x);
  const y = new Float64Array(d);
  for (let j = 0; j < d; j++) y[j] = (x[j] - mean) * inv * h.gamma[j] + (h.beta ? h.beta[j] : 0);
  const logits = headTimes(h.head, y);
  if (h.bias) for (let v = 0; v < logits.length; v++) logits[v] += h.bias[v];
  return logits;
}

/** y (length d) times the head's [d, V] weight, whatever its storage. */
function headTimes(w: HeadWeight, y: Float64Array): Float64Array {
  const d = y.length;
  if (w.kind === 'float') {
    const W = w.weight;
    const V = W.length / d;
    const logits = new Float64Array(V);
    if (w.vocabMajor) {
      for (let v = 0; v < V; v++) {
        let acc = 0;
        const o = v * d;
        for (let j = 0; j < d; j++) acc += y[j] * W[o + j];
        logits[v] = acc;
      }
    } else {
      for (let j = 0; j < d; j++) {
        const yj = y[j];
        const o = j * V;
        for (let v = 0; v < V; v++) logits[v] += yj * W[o + v];
      }
    }
    return logits;
  }
  if (w.kind === 'q4') {
    const { K, N, blockSize, packed, scales, zeroPoints } = w;
    const blocks = Math.ceil(K / blockSize);
    const blob = blockSize / 2;
    const zpRow = Math.ceil(blocks / 2);
    const logits = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let b = 0; b < blocks; b++) {
        const s = scales[n * blocks + b];
        // Zero points: 4-bit, two per byte, a row of ceil(blocks/2) bytes per column; 8 when absent.
        const zp = zeroPoints ? (zeroPoints[n * zpRow + (b >> 1)] >> ((b & 1) * 4)) & 15 : 8;
        const o = (n * blocks + b) * blob;
        let part = 0;
        for (let i = 0; i < blob; i++) {
          const k = b * blockSize + 2 * i;
          const byte = packed[o + i];
          if (k < K) part += ((byte & 15) - zp) * y[k];
          if (k + 1 < K) part += ((byte >> 4) - zp) * y[k + 1];
        }
        acc += part * s;
      }
      logits[n] = acc;
    }
    return logits;
  }
  const { q, scale, zeroPoint, V } = w;
  const logits = new Float64Array(V);
  for (let j = 0; j < d; j++) {
    const yj = y[j];
    const o = j * V;
    if (zeroPoint.length === 1) {
      const z = zeroPoint[0];
      for (let v = 0; v < V; v++) logits[v] += yj * (q[o + v] - z);
    } else for (let v = 0; v < V; v++) logits[v] += yj * (q[o + v] - zeroPoint[v]);
  }
  for (let v = 0; v < V; v++) logits[v] *= scale.length === 1 ? scale[0] : scale[v];
  return logits;
}

/**
 * The token embedding matrix [V*d] as floats: the initializer itself, or (q8 exports) its 8-bit values through the
 * DequantizeLinear that follows the Gather: (q - zero point) · scale, per tensor or per row.
 */
export function embeddingMatrix(g: GraphIndex, s: GraphStructure, where: string): Float32Array {
  const e = s.tokenEmbedding!;
  const t = g.initializers.get(e.initializer)!;
  if (!e.quantized) {
    // float16 never gets here: the graph was read as float32 (onnx/upcast.ts). bfloat16 and the like do.
    if (t.dataType !== 1) throw new UnsupportedModelError(where, 'its token embedding is stored in a float format LLM Lens does not read; it reads float32, float16 and the q4/q8 variants (model.onnx, model_fp16.onnx, model_q4.onnx, model_quantized.onnx).');
    const f = floatData(t, where);
    if (!f) throw new UnsupportedModelError(where, 'the token embedding is not a float tensor.');
    if (!e.transposed) return f;
    // Stored [d, V] (the tied LM head's layout): the rows of the embedding are its columns.
    const out = new Float32Array(e.vocab * e.d);
    for (let j = 0; j < e.d; j++) for (let v = 0; v < e.vocab; v++) out[v * e.d + j] = f[j * e.vocab + v];
    return out;
  }
  const scaleT = g.constTensor(e.quantized.scale);
  const scale = scaleT && floatData(scaleT);
  const zpT = e.quantized.zeroPoint ? g.constTensor(e.quantized.zeroPoint) : undefined;
  const zp = zpT ? intData(zpT) : [0];
  const raw = t.rawData;
  if (!scale || !zp || !raw || raw.length !== e.vocab * e.d) throw new UnsupportedModelError(where, 'its 8-bit token embedding has no constant scale and zero point the lens can read.');
  const perRow = scale.length === e.vocab;
  if (!perRow && scale.length !== 1) throw new UnsupportedModelError(where, `its 8-bit token embedding has ${scale.length} scales; the lens reads one per tensor or one per row.`);
  const signed = t.dataType === 3;
  const out = new Float32Array(e.vocab * e.d);
  for (let v = 0; v < e.vocab; v++) {
    const s = perRow ? scale[v] : scale[0];
    const z = perRow && zp.length === e.vocab ? zp[v] : zp[0];
    for (let j = v * e.d; j < (v + 1) * e.d; j++) out[j] = ((signed ? (raw[j] << 24) >> 24 : raw[j]) - z) * s;
  }
  return out;
}
