// Reads a decoder's ONNX graph (GPT-2 or the Llama family): finds the embeddings, the residual stream entering each
// layer, the attention softmaxes, the final norm and the LM head, by pattern rather than by name, and says plainly
// what it could not find.
import type { onnx } from 'onnx-proto';
import { floatData, intData, isFloatType, num, tensorDims, tensorSize, type Int64 } from './proto';
import { cleanText, quoteName } from '../model/untrusted';

/**
 * A layer norm: fused (one LayerNormalization node), decomposed (ReduceMean, Sub, Pow, ... Add), an RMS norm
 * written out (Pow, ReduceMean, Add eps, Sqrt, reciprocal, Mul, Mul weight: no mean subtracted, no bias), or an RMS
 * norm in one node (rmsFused: SimplifiedLayerNormalization, or SkipSimplifiedLayerNormalization, which first adds
 * its two inputs, the residual stream and a block's output, and normalises the sum).
 */
export interface NormUnit {
  kind: 'fused' | 'decomposed' | 'rms' | 'rmsFused';
  /**
   * A SkipSimplifiedLayerNormalization: `input` is its sum (its 4th output). Builds of onnxruntime-genai leave that
   * output off the final norm: then `sumMissing` and the instrumentation adds it under the name `input`.
   */
  skip?: { node: number; sumMissing: boolean };
  input: string;
  output: string;
  /** Names of gamma and beta as the graph reads them, when constant (initializers, maybe through Identity). */
  scale?: string;
  bias?: string;
  epsilon: number;
  /** Indices of the nodes that make up the norm, in graph order. */
  nodes: number[];
}

export interface LayerStructure {
  /** The residual stream entering the layer (the first norm's input). */
  input: string;
  norm1: NormUnit;
  /** Residual stream after attention (the second norm's input). */
  mid: string;
  norm2: NormUnit;
  /** Residual stream leaving the layer. */
  output: string;
  /** Attention softmax output [batch, heads, q, k], when found. */
  softmax?: string;
  /**
   * A GroupQueryAttention node without its probabilities output: the instrumentation asks for them (qk_output = 2,
   * the softmax after the causal mask) as a 4th output named `softmax`.
   */
  gqaProbs?: number;
  /** Name of a fused attention operator, when the layer has one instead of a softmax. */
  fusedAttention?: string;
  /** Node indices of the attention and MLP blocks (norms excluded). */
  attentionNodes: number[];
  mlpNodes: number[];
}

export interface LmHead {
  /** Node indices from the final norm's output to the logits (MatMul/Gemm, bias, reshapes; a quantized chain). */
  nodes: number[];
  /**
   * float: MatMul/Gemm of a float weight. q4: one MatMulNBits (4-bit blocks). q8: DynamicQuantizeLinear ->
   * MatMulInteger -> Cast -> Mul (8-bit weights, activations quantized on the fly).
   */
  kind: 'float' | 'q4' | 'q8';
  /** The weight initializer as stored (packed or 8-bit for the quantized kinds). */
  weight: string;
  /** Stored as [vocab, d] (used transposed) rather than [d, vocab]. */
  vocabMajor: boolean;
  bias?: string;
  /** Rows of the logits, for the quantized kinds (whose weight's shape is packed). */
  vocab?: number;
  /**
   * Tied: the weight is the token embedding, or a transposed copy of it; 'declared': config.json says tied and the
   * head is quantized, so its values cannot be compared with the embedding's.
   */
  tied: 'same' | 'copy' | 'declared' | false;
  logits: string;
}

export interface GraphStructure {
  opset: number;
  inputs: string[];
  /**
   * The Gather of the embedding matrix by input_ids; `output` is the float embedding (after a DequantizeLinear when
   * the matrix is stored in 8 bits, with its scale and zero point).
   */
  tokenEmbedding?: { initializer: string; vocab: number; d: number; gather: number; output: string; quantized?: { scale: string; zeroPoint?: string }; transposed?: boolean };
  positionEmbedding?: { initializer: string; rows: number; gather: number };
  /** How positions enter: a learned table added to the embedding (GPT-2) or rotary embeddings inside attention. */
  positions?: 'learned' | 'rotary';
  /** h_0: token + position embedding, the residual stream entering layer 0. */
  embeddingOutput?: string;
  layers: LayerStructure[];
  finalNorm?: NormUnit;
  lmHead?: LmHead;
  missing: string[];
}

const PASS_THROUGH = new Set(['Identity', 'Dropout', 'Cast']);
const INT8_TYPES = new Set([2, 3]); // uint8, int8
const FUSED_ATTENTION = new Set(['Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedAttention', 'PackedMultiHeadAttention', 'DecoderMaskedMultiHeadAttention', 'SparseAttention']);

/** Producers, consumers and constants of a graph, for pattern matching. */
export class GraphIndex {
  readonly nodes: onnx.INodeProto[];
  readonly producer = new Map<string, number>();
  readonly consumers = new Map<string, number[]>();
  readonly initializers = new Map<string, onnx.ITensorProto>();
  /** Outputs of Constant nodes, as tensors. */
  readonly constants = new Map<string, onnx.ITensorProto>();
  readonly inputs: string[];
  readonly opset: number;

  constructor(readonly model: onnx.IModelProto) {
    const g = model.graph!;
    this.nodes = g.node ?? [];
    this.opset = num((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version as Int64 | undefined);
    for (const t of g.initializer ?? []) this.initializers.set(t.name ?? '', t);
    this.nodes.forEach((n, i) => {
      for (const o of n.output ?? []) if (o) this.producer.set(o, i);
      for (const x of n.input ?? []) {
        if (!x) continue;
        const list = this.consumers.get(x);
        if (list) list.push(i);
        else this.consumers.set(x, [i]);
      }
      if (n.opType === 'Constant') {
        const a = (n.attribute ?? []).find((x) => x.name === 'value');
        if (a?.t && n.output?.[0]) this.constants.set(n.output[0], a.t);
      }
    });
    const initNames = this.initializers;
    this.inputs = (g.input ?? []).map((v) => v.name ?? '').filter((n) => !initNames.has(n));
  }

  op(i: number): string {
    return this.nodes[i].opType ?? '';
  }

  inputsOf(i: number): string[] {
    return this.nodes[i].input ?? [];
  }

  outputOf(i: number): string {
    return this.nodes[i].output?.[0] ?? '';
  }

  consumersOf(t: string): number[] {
    return this.consumers.get(t) ?? [];
  }

  /** The tensor a constant name stands for: an initializer or a Constant node's value. */
  constTensor(name: string): onnx.ITensorProto | undefined {
    return this.initializers.get(name) ?? this.constants.get(name);
  }

  /** A small constant's values as numbers (float or integer). */
  constValues(name: string): number[] | undefined {
    const t = this.constTensor(name);
    if (!t || tensorSize(t) > 64) return undefined;
    const f = floatData(t);
    return f ? Array.from(f) : intData(t);
  }

  attr(i: number, name: string): onnx.IAttributeProto | undefined {
    return (this.nodes[i].attribute ?? []).find((a) => a.name === name);
  }

  attrInt(i: number, name: string, dflt: number): number {
    const a = this.attr(i, name);
    return a ? num(a.i as Int64) : dflt;
  }

  attrFloat(i: number, name: string, dflt: number): number {
    const a = this.attr(i, name);
    return a ? (a.f ?? dflt) : dflt;
  }

  attrInts(i: number, name: string): number[] | undefined {
    const a = this.attr(i, name);
    return a ? (a.ints ?? []).map((x) => num(x as Int64)) : undefined;
  }

  /** Follows Identity/Dropout/Cast back to the real source of a tensor. */
  source(t: string): string {
    for (let guard = 0; guard < 16; guard++) {
      const p = this.producer.get(t);
      if (p === undefined || !PASS_THROUGH.has(this.op(p))) return t;
      t = this.inputsOf(p)[0];
    }
    return t;
  }

  /** Consumers of a tensor, looking through Identity/Dropout/Cast. */
  realConsumers(t: string): number[] {
    const out: number[] = [];
    const stack = [t];
    for (let guard = 0; stack.length && guard < 64; guard++) {
      for (const c of this.consumersOf(stack.pop()!)) {
        if (PASS_THROUGH.has(this.op(c))) stack.push(this.outputOf(c));
        else out.push(c);
      }
    }
    return out;
  }

  /**
   * Consumers of attention probabilities `p`, looking through what exporters put between the Softmax and the
   * MatMul with V without changing a finite value: Identity/Dropout/Cast, and the NaN guard of newer optimum
   * exports with a boolean mask, Where(IsNaN(p), 0, p), which zeroes the rows of a fully masked query. Matched by
   * structure (the condition is IsNaN of the very tensor the Where passes through), not by names.
   */
  probabilityConsumers(p: string): number[] {
    const out: number[] = [];
    const seen = new Set<string>();
    const stack = [p];
    for (let guard = 0; stack.length && guard < 64; guard++) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      for (const c of this.consumersOf(t)) {
        const op = this.op(c);
        if (PASS_THROUGH.has(op)) stack.push(this.outputOf(c));
        else if (op === 'Where' && this.isNaNGuard(c, t)) stack.push(this.outputOf(c));
        else out.push(c);
      }
    }
    return out;
  }

  /** Where node `w` passes `t` through unless IsNaN(t): its condition is IsNaN of `t` and `t` is the branch taken where that is false. */
  private isNaNGuard(w: number, t: string): boolean {
    const [cond, a, b] = this.inputsOf(w);
    const p = this.producer.get(cond);
    if (p === undefined || this.op(p) !== 'IsNaN') return false;
    const tested = this.source(this.inputsOf(p)[0]);
    // Where(IsNaN(p), 0, p): p is the value kept where it is not NaN (the second branch); the first replaces NaN
    // (a 0 in the exports seen, not required).
    return b === t && a !== t && tested === this.source(t);
  }

  /** The float initializer behind a weight input, through pass-through ops and Transpose. */
  weightSource(t: string): { name: string; transposed: boolean } | undefined {
    let transposed = false;
    for (let guard = 0; guard < 8; guard++) {
      const init = this.initializers.get(t);
      if (init) return isFloatType(init.dataType) ? { name: t, transposed } : undefined;
      const p = this.producer.get(t);
      if (p === undefined) return undefined;
      const op = this.op(p);
      if (op === 'Transpose') transposed = !transposed;
      else if (!PASS_THROUGH.has(op)) return undefined;
      t = this.inputsOf(p)[0];
    }
    return undefined;
  }

  /** True when tensor t depends on graph input `input` (backwards search). */
  dependsOn(t: string, input: string, limit = 64): boolean {
    const seen = new Set<string>();
    const stack = [t];
    while (stack.length && seen.size < limit) {
      const x = stack.pop()!;
      if (x === input) return true;
      if (seen.has(x)) continue;
      seen.add(x);
      const p = this.producer.get(x);
      if (p !== undefined) stack.push(...this.inputsOf(p).filter(Boolean));
    }
    return false;
  }

  /** Nodes on some path from tensor `from` to node `to` (both ends included when on a path). */
  between(from: string, to: number): number[] {
    const forward = new Set<number>();
    const stack = [...this.consumersOf(from)];
    while (stack.length) {
      const i = stack.pop()!;
      if (forward.has(i)) continue;
      forward.add(i);
      if (i === to) continue;
      for (const o of this.nodes[i].output ?? []) stack.push(...this.consumersOf(o));
    }
    const out = new Set<number>();
    const back = [to];
    while (back.length) {
      const i = back.pop()!;
      if (out.has(i) || !forward.has(i)) continue;
      out.add(i);
      for (const x of this.inputsOf(i)) {
        const p = this.producer.get(x);
        if (p !== undefined) back.push(p);
      }
    }
    return [...out].sort((a, b) => a - b);
  }
}

/** Finds every layer norm, fused or decomposed, keyed by the tensor it normalises. */
export function findNorms(g: GraphIndex): Map<string, NormUnit> {
  const norms = new Map<string, NormUnit>();
  g.nodes.forEach((n, i) => {
    if (n.opType === 'SimplifiedLayerNormalization' || n.opType === 'SkipSimplifiedLayerNormalization') {
      const skip = n.opType === 'SkipSimplifiedLayerNormalization';
      const ins = n.input ?? [];
      const scale = skip ? ins[2] : ins[1];
      const given = skip ? (n.output ?? [])[3] : undefined;
      const input = skip ? given || `${n.name || `node${i}`}/lens.residualSum` : ins[0];
      norms.set(input, {
        kind: 'rmsFused',
        input,
        output: n.output?.[0] ?? '',
        scale: scale && g.weightSource(scale) ? scale : undefined,
        epsilon: g.attrFloat(i, 'epsilon', 1e-5),
        nodes: [i],
        ...(skip ? { skip: { node: i, sumMissing: !given } } : {}),
      });
    } else if (n.opType === 'LayerNormalization') {
      const [x, scale, bias] = n.input ?? [];
      norms.set(x, {
        kind: 'fused',
        input: x,
        output: n.output?.[0] ?? '',
        scale: scale && g.weightSource(scale) ? scale : undefined,
        bias: bias && g.weightSource(bias) ? bias : undefined,
        epsilon: g.attrFloat(i, 'epsilon', 1e-5),
        nodes: [i],
      });
    } else if (n.opType === 'ReduceMean') {
      const unit = matchDecomposedNorm(g, i) ?? matchRmsNorm(g, i);
      if (unit) norms.set(unit.input, unit);
    }
  });
  return norms;
}

/** x -> ReduceMean -> Sub(x, mean) -> Pow 2 -> ReduceMean -> Add eps -> Sqrt -> Div -> [Mul gamma] -> [Add beta]. */
function matchDecomposedNorm(g: GraphIndex, rm: number): NormUnit | undefined {
  const x = g.inputsOf(rm)[0];
  const mean = g.outputOf(rm);
  const sub = g.consumersOf(mean).find((c) => g.op(c) === 'Sub' && g.inputsOf(c)[0] === x && g.inputsOf(c)[1] === mean);
  if (sub === undefined) return undefined;
  const diff = g.outputOf(sub);
  const nodes = [rm, sub];
  // Variance branch: Pow(diff, 2) or Mul(diff, diff), then ReduceMean, Add eps, Sqrt.
  const sq = g.consumersOf(diff).find((c) => (g.op(c) === 'Pow' && (g.constValues(g.inputsOf(c)[1])?.[0] ?? 0) === 2) || (g.op(c) === 'Mul' && g.inputsOf(c)[0] === diff && g.inputsOf(c)[1] === diff));
  if (sq === undefined) return undefined;
  const rm2 = g.consumersOf(g.outputOf(sq)).find((c) => g.op(c) === 'ReduceMean');
  if (rm2 === undefined) return undefined;
  const addEps = g.consumersOf(g.outputOf(rm2)).find((c) => g.op(c) === 'Add');
  if (addEps === undefined) return undefined;
  const epsName = g.inputsOf(addEps).find((t) => t !== g.outputOf(rm2)) ?? '';
  const epsilon = g.constValues(epsName)?.[0];
  if (epsilon === undefined) return undefined;
  const sqrt = g.consumersOf(g.outputOf(addEps)).find((c) => g.op(c) === 'Sqrt');
  if (sqrt === undefined) return undefined;
  nodes.push(sq, rm2, addEps, sqrt);
  let normed: string | undefined;
  const div = g.consumersOf(g.outputOf(sqrt)).find((c) => g.op(c) === 'Div' && g.inputsOf(c)[0] === diff);
  if (div !== undefined) {
    nodes.push(div);
    normed = g.outputOf(div);
  } else {
    const recip = g.consumersOf(g.outputOf(sqrt)).find((c) => g.op(c) === 'Reciprocal');
    const mul = recip === undefined ? undefined : g.consumersOf(g.outputOf(recip)).find((c) => g.op(c) === 'Mul' && g.inputsOf(c).includes(diff));
    if (recip === undefined || mul === undefined) return undefined;
    nodes.push(recip, mul);
    normed = g.outputOf(mul);
  }
  let output = normed;
  let scale: string | undefined;
  let bias: string | undefined;
  const constOther = (c: number, t: string) => {
    return g.inputsOf(c).find((x) => x !== t && g.weightSource(x) !== undefined);
  };
  const mulG = g.consumersOf(output).find((c) => g.op(c) === 'Mul' && constOther(c, output!) !== undefined);
  if (mulG !== undefined && g.consumersOf(output).length === 1) {
    scale = constOther(mulG, output);
    nodes.push(mulG);
    output = g.outputOf(mulG);
    const addB = g.consumersOf(output).find((c) => g.op(c) === 'Add' && constOther(c, output!) !== undefined);
    if (addB !== undefined && g.consumersOf(output).length === 1) {
      bias = constOther(addB, output);
      nodes.push(addB);
      output = g.outputOf(addB);
    }
  }
  return { kind: 'decomposed', input: x, output, scale, bias, epsilon, nodes: nodes.sort((a, b) => a - b) };
}

/**
 * RMSNorm as the Llama family exports it: x -> [Cast] -> Pow 2 (or Mul x x) -> ReduceMean -> Add eps -> Sqrt ->
 * Div(1, .) or Reciprocal -> Mul with x -> [Cast] -> Mul weight; or Div(x, Sqrt) directly. `rm` is the ReduceMean.
 */
function matchRmsNorm(g: GraphIndex, rm: number): NormUnit | undefined {
  const sq = g.producer.get(g.inputsOf(rm)[0]);
  if (sq === undefined) return undefined;
  const [a, b] = g.inputsOf(sq);
  const squares = (g.op(sq) === 'Pow' && g.constValues(b)?.[0] === 2) || (g.op(sq) === 'Mul' && a === b);
  if (!squares) return undefined;
  const xc = a;
  const addEps = g.consumersOf(g.outputOf(rm)).find((c) => g.op(c) === 'Add');
  if (addEps === undefined || g.consumersOf(g.outputOf(rm)).length !== 1) return undefined;
  const epsilon = g.constValues(g.inputsOf(addEps).find((t) => t !== g.outputOf(rm)) ?? '')?.[0];
  if (epsilon === undefined) return undefined;
  const sqrt = g.consumersOf(g.outputOf(addEps)).find((c) => g.op(c) === 'Sqrt');
  if (sqrt === undefined) return undefined;
  const nodes = [sq, rm, addEps, sqrt];
  let normed: string | undefined;
  const divX = g.consumersOf(g.outputOf(sqrt)).find((c) => g.op(c) === 'Div' && g.inputsOf(c)[0] === xc);
  if (divX !== undefined) {
    nodes.push(divX);
    normed = g.outputOf(divX);
  } else {
    const recip = g.consumersOf(g.outputOf(sqrt)).find((c) => g.op(c) === 'Reciprocal' || (g.op(c) === 'Div' && g.constValues(g.inputsOf(c)[0])?.[0] === 1));
    if (recip === undefined) return undefined;
    const r = g.outputOf(recip);
    const mul = g.consumersOf(r).find((c) => g.op(c) === 'Mul' && g.inputsOf(c).includes(xc));
    if (mul === undefined) return undefined;
    nodes.push(recip, mul);
    normed = g.outputOf(mul);
  }
  // The Casts to float32 and back that the export keeps around the arithmetic (no-ops in a float32 graph).
  let input = xc;
  for (let p = g.producer.get(input); p !== undefined && g.op(p) === 'Cast'; p = g.producer.get(input)) {
    nodes.push(p);
    input = g.inputsOf(p)[0];
  }
  let output = normed;
  for (let c = g.consumersOf(output); c.length === 1 && g.op(c[0]) === 'Cast'; c = g.consumersOf(output)) {
    nodes.push(c[0]);
    output = g.outputOf(c[0]);
  }
  let scale: string | undefined;
  const cs = g.consumersOf(output);
  const mulW = cs.length === 1 && g.op(cs[0]) === 'Mul' ? cs[0] : undefined;
  const w = mulW === undefined ? undefined : g.inputsOf(mulW).find((x) => x !== output && g.weightSource(x) !== undefined);
  if (mulW !== undefined && w !== undefined) {
    scale = w;
    nodes.push(mulW);
    output = g.outputOf(mulW);
  }
  return { kind: 'rms', input, output, scale, epsilon, nodes: nodes.sort((x, y) => x - y) };
}

/** Reads the structure of a decoder graph (GPT-2 or the Llama family). `nLayer` from config.json is checked, not assumed. */
export function findStructure(g: GraphIndex, expected?: { nLayer?: number; vocabSize?: number; tied?: boolean }): GraphStructure {
  const missing: string[] = [];
  const s: GraphStructure = { opset: g.opset, inputs: g.inputs, layers: [], missing };
  const idsInput = g.inputs.includes('input_ids') ? 'input_ids' : g.inputs[0];

  // Token embedding: a Gather of a 2-D float initializer by input_ids, or of an 8-bit one followed by a
  // DequantizeLinear (the q8 exports quantize the embedding too).
  g.nodes.forEach((n, i) => {
    if (s.tokenEmbedding || n.opType !== 'Gather') return;
    const [data, idx] = n.input ?? [];
    if (!(g.source(idx) === idsInput || g.dependsOn(idx, idsInput, 8))) return;
    // onnxruntime-genai builds store a tied matrix once, as the LM head's [d, V], and Gather from its Transpose.
    const src = g.initializers.has(data) ? undefined : g.weightSource(data);
    if (src?.transposed) {
      const w = g.initializers.get(src.name)!;
      if (tensorDims(w).length !== 2) return;
      const [d, vocab] = tensorDims(w);
      s.tokenEmbedding = { initializer: src.name, vocab, d, gather: i, output: g.outputOf(i), transposed: true };
      return;
    }
    const t = g.initializers.get(data);
    if (!t || tensorDims(t).length !== 2) return;
    const [vocab, d] = tensorDims(t);
    if (isFloatType(t.dataType)) {
      s.tokenEmbedding = { initializer: data, vocab, d, gather: i, output: g.outputOf(i) };
      return;
    }
    const dq = INT8_TYPES.has(t.dataType ?? 0) ? g.consumersOf(g.outputOf(i)) : [];
    if (dq.length === 1 && g.op(dq[0]) === 'DequantizeLinear') {
      const [, scale, zeroPoint] = g.inputsOf(dq[0]);
      s.tokenEmbedding = { initializer: data, vocab, d, gather: i, output: g.outputOf(dq[0]), quantized: { scale, zeroPoint: zeroPoint || undefined } };
    }
  });
  if (!s.tokenEmbedding) {
    missing.push(`token embedding: no Gather of a weight matrix by ${quoteName(idsInput, 40)} (the embedding may be quantized or fused)`);
    return s;
  }
  const d = s.tokenEmbedding.d;

  // h_0 = token embedding + position embedding (the Add that joins them).
  const tokOut = s.tokenEmbedding.output;
  // Only an Add with a Gather on its other side: in the Llama family the first Add reading the embedding is layer 0's
  // residual add, with attention's output.
  const gatherOther = (c: number) => {
    const other = g.inputsOf(c).find((t) => g.source(t) !== g.source(tokOut)) ?? '';
    const p = g.producer.get(g.source(other));
    return p !== undefined && g.op(p) === 'Gather' ? p : undefined;
  };
  const add = g.realConsumers(tokOut).find((c) => g.op(c) === 'Add' && gatherOther(c) !== undefined);
  if (add !== undefined) {
    const p = gatherOther(add)!;
    if (g.initializers.has(g.inputsOf(p)[0])) {
      const t = g.initializers.get(g.inputsOf(p)[0])!;
      if (tensorDims(t)[1] === d) s.positionEmbedding = { initializer: g.inputsOf(p)[0], rows: tensorDims(t)[0], gather: p };
    }
    s.embeddingOutput = g.outputOf(add);
  } else {
    // No learned positions (or positions added inside the layers): the stream starts at the token embedding.
    s.embeddingOutput = tokOut;
  }
  // Rotary positions: sines and cosines of the positions, rotated into q and k inside attention (decomposed exports),
  // or an operator that does it.
  const rotary = g.nodes.some((n) => n.opType === 'Sin' || n.opType === 'RotaryEmbedding' || n.opType === 'GroupQueryAttention');
  if (s.positionEmbedding) s.positions = 'learned';
  else if (rotary) s.positions = 'rotary';
  else missing.push('position embedding: no Gather of a position matrix added to the token embedding, and no rotary embedding');

  // Walk the residual stream: norm -> attention -> Add, norm -> MLP -> Add, ... -> final norm.
  const norms = findNorms(g);
  const normOf = (t: string) => norms.get(t) ?? [...norms.values()].find((n) => g.source(n.input) === g.source(t));
  // The Add that joins the residual stream and a block's output, or the SkipSimplifiedLayerNormalization that does it
  // before normalising; `sum` is the new residual stream.
  const skipAt = new Map([...norms.values()].filter((n) => n.skip).map((n) => [n.skip!.node, n]));
  const residualAdd = (h: string, norm: NormUnit): { node: number; sum: string } | undefined => {
    const inNorm = new Set(norm.nodes);
    const adds = g.realConsumers(h).filter((c) => (g.op(c) === 'Add' || skipAt.has(c)) && !inNorm.has(c));
    const c = adds.find((x) => g.between(norm.output, x).length > 0);
    return c === undefined ? undefined : { node: c, sum: skipAt.get(c)?.input ?? g.outputOf(c) };
  };
  let h = g.source(s.embeddingOutput);
  for (let layer = 0; layer < 1000; layer++) {
    const n1 = normOf(h);
    if (!n1) {
      missing.push(layer === 0 ? 'layers: no layer norm reads the embedding output (post-norm or an unknown norm)' : `final norm: nothing normalises the output of layer ${layer - 1}`);
      break;
    }
    const r1 = residualAdd(h, n1);
    if (r1 === undefined) {
      s.finalNorm = n1;
      break;
    }
    const mid = r1.sum;
    const n2 = normOf(mid);
    const r2 = n2 ? residualAdd(mid, n2) : undefined;
    if (!n2 || r2 === undefined) {
      missing.push(`layer ${layer}: the block after attention is not "norm -> MLP -> residual add" (parallel attention/MLP is not supported)`);
      break;
    }
    const attentionNodes = g.between(n1.output, r1.node).filter((i) => i !== r1.node);
    const mlpNodes = g.between(n2.output, r2.node).filter((i) => i !== r2.node);
    const L: LayerStructure = { input: h, norm1: n1, mid, norm2: n2, output: r2.sum, attentionNodes, mlpNodes };
    const softmaxes = attentionNodes.filter((i) => g.op(i) === 'Softmax' && g.probabilityConsumers(g.outputOf(i)).some((c) => g.op(c) === 'MatMul'));
    const fused = attentionNodes.find((i) => FUSED_ATTENTION.has(g.op(i)));
    if (softmaxes.length === 1) L.softmax = g.outputOf(softmaxes[0]);
    else if (fused !== undefined && g.op(fused) === 'GroupQueryAttention' && g.nodes[fused].domain === 'com.microsoft') {
      // Its 4th output, with qk_output = 2, is the probabilities [batch, heads, q, past + q].
      const given = g.attrInt(fused, 'qk_output', 0) === 2 ? (g.nodes[fused].output ?? [])[3] : undefined;
      L.fusedAttention = 'com.microsoft.GroupQueryAttention';
      if (given) L.softmax = given;
      else {
        L.softmax = `${g.nodes[fused].name || `node${fused}`}/lens.probs`;
        L.gqaProbs = fused;
      }
    } else if (fused !== undefined) {
      // The op type is one of FUSED_ATTENTION; the domain is the file's text.
      L.fusedAttention = `${cleanText(g.nodes[fused].domain || 'ai.onnx', 40)}.${g.op(fused)}`;
      missing.push(`layer ${layer} attention probabilities: attention is one fused operator (${L.fusedAttention}), which does not expose them`);
    } else missing.push(`layer ${layer} attention probabilities: ${softmaxes.length === 0 ? 'no Softmax feeding a MatMul' : `${softmaxes.length} candidate softmaxes`} in the attention block`);
    s.layers.push(L);
    h = g.source(L.output);
  }
  if (expected?.nLayer !== undefined && s.layers.length !== expected.nLayer && s.finalNorm) {
    missing.push(`layers: found ${s.layers.length} in the graph, config.json says ${expected.nLayer}`);
  }

  // LM head: the MatMul/Gemm reading the final norm.
  if (s.finalNorm) {
    s.lmHead = findLmHead(g, s.finalNorm.output, s.tokenEmbedding.initializer, d) ?? findQuantizedLmHead(g, s.finalNorm.output, d, !!expected?.tied);
    if (!s.lmHead) missing.push('LM head: no MatMul/Gemm of a [d, vocab] weight (or its 4-bit or 8-bit form) reads the final norm');
  }
  return s;
}

function findLmHead(g: GraphIndex, normOut: string, embedding: string, d: number): LmHead | undefined {
  const nodes: number[] = [];
  let x = normOut;
  for (let guard = 0; guard < 4; guard++) {
    const cs = g.realConsumers(x);
    if (cs.length !== 1) return undefined;
    const c = cs[0];
    const op = g.op(c);
    if (op === 'Reshape' || op === 'Flatten' || op === 'Squeeze' || op === 'Unsqueeze') {
      nodes.push(c);
      x = g.outputOf(c);
      continue;
    }
    if (op !== 'MatMul' && op !== 'Gemm') return undefined;
    nodes.push(c);
    const src = g.weightSource(g.inputsOf(c)[1]);
    if (!src) return undefined;
    const transB = op === 'Gemm' && g.attrInt(c, 'transB', 0) === 1;
    const dims = tensorDims(g.initializers.get(src.name)!);
    // As used, the weight is [d, vocab]; stored [vocab, d] when one transpose is applied.
    const vocabMajor = src.transposed !== transB;
    if ((vocabMajor ? dims[1] : dims[0]) !== d) return undefined;
    let bias: string | undefined = op === 'Gemm' && g.inputsOf(c)[2] ? g.inputsOf(c)[2] : undefined;
    let logits = g.outputOf(c);
    // A separate bias Add, then reshapes back to [batch, seq, vocab].
    for (let k = 0; k < 3; k++) {
      const next = g.realConsumers(logits);
      if (next.length !== 1) break;
      const n = next[0];
      const nop = g.op(n);
      if (nop === 'Add' && !bias) {
        const b = g.inputsOf(n).find((t) => t !== logits && g.weightSource(t) !== undefined);
        if (!b) break;
        bias = b;
      } else if (nop !== 'Reshape') break;
      nodes.push(n);
      logits = g.outputOf(n);
    }
    let tied: LmHead['tied'] = false;
    if (src.name === embedding) tied = 'same';
    else if (!vocabMajor && isTransposedCopy(g, src.name, embedding)) tied = 'copy';
    return { nodes, kind: 'float', weight: src.name, vocabMajor, bias, tied, logits };
  }
  return undefined;
}

/**
 * A quantized LM head on the final norm: MatMulNBits (q4), or DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul
 * (q8), then maybe a bias Add. Its nodes are everything from the norm's output to the logits, so the logit lens can
 * run a copy of the chain. Whether it is tied cannot be read from quantized values: config.json says.
 */
function findQuantizedLmHead(g: GraphIndex, normOut: string, d: number, declaredTied: boolean): LmHead | undefined {
  const cs = g.realConsumers(normOut);
  if (cs.length !== 1) return undefined;
  let c = cs[0];
  let kind: LmHead['kind'];
  let weight: string;
  let vocab: number;
  let end: number;
  if (g.op(c) === 'MatMulNBits') {
    if (g.attrInt(c, 'K', 0) !== d || g.attrInt(c, 'bits', 4) !== 4) return undefined;
    kind = 'q4';
    weight = g.inputsOf(c)[1];
    vocab = g.attrInt(c, 'N', 0);
    end = c;
  } else if (g.op(c) === 'DynamicQuantizeLinear') {
    const mm = g.consumersOf(g.outputOf(c)).find((x) => g.op(x) === 'MatMulInteger');
    const cast = mm === undefined ? undefined : g.consumersOf(g.outputOf(mm)).find((x) => g.op(x) === 'Cast');
    const mul = cast === undefined ? undefined : g.consumersOf(g.outputOf(cast)).find((x) => g.op(x) === 'Mul');
    if (mm === undefined || mul === undefined) return undefined;
    const w = g.initializers.get(g.inputsOf(mm)[1]);
    if (!w || tensorDims(w).length !== 2 || tensorDims(w)[0] !== d) return undefined;
    kind = 'q8';
    weight = g.inputsOf(mm)[1];
    vocab = tensorDims(w)[1];
    end = mul;
  } else return undefined;
  let logits = g.outputOf(end);
  let bias: string | undefined;
  const next = g.realConsumers(logits);
  if (next.length === 1 && g.op(next[0]) === 'Add') {
    bias = g.inputsOf(next[0]).find((t) => t !== logits && g.weightSource(t) !== undefined);
    if (bias) {
      end = next[0];
      logits = g.outputOf(end);
    }
  }
  if (!vocab) return undefined;
  c = end;
  return { nodes: g.between(normOut, c), kind, weight, vocabMajor: false, bias, tied: declaredTied ? 'declared' : false, logits, vocab };
}

/** True when initializer `w` [d, V] holds exactly the transpose of `e` [V, d] (a tied weight after constant folding). */
function isTransposedCopy(g: GraphIndex, w: string, e: string): boolean {
  const wt = g.initializers.get(w)!;
  const et = g.initializers.get(e)!;
  const [d, V] = tensorDims(wt);
  const [V2, d2] = tensorDims(et);
  if (V !== V2 || d !== d2 || wt.dataType !== et.dataType) return false;
  const W = floatData(wt);
  const E = floatData(et);
  if (!W || !E) return false;
  for (let r = 0; r < V; r++) {
    for (let c = 0; c < d; c++) if (W[c * V + r] !== E[r * d + c]) return false;
  }
  return true;
}
