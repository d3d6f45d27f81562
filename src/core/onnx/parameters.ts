// Counts a model's parameters from its graph's initializers, by role, the way PyTorch counts them:
// tied weights once, buffers and constants (causal masks, shapes, scalars) not at all.
import type { ParameterBreakdown, ParameterGroup, ParameterRole } from '../../protocol/analysis';
import type { GraphIndex, GraphStructure, NormUnit } from './graph';
import { isFloatType, tensorSize } from './proto';

const WEIGHT_OPS = new Set(['MatMul', 'Gemm', 'Conv', 'MatMulInteger', 'FusedMatMul', 'MatMulNBits']);
const INT8_TYPES = new Set([2, 3]); // uint8, int8: MatMulInteger's and the q8 embedding's weights

/** What the formulas need beyond the graph (config.json's shape of a Llama-family model). */
export interface ParameterShape {
  architecture: 'gpt2' | 'llama';
  nHead: number;
  nKvHeads: number;
  headDim: number;
  /** The gated MLP's width m (intermediate_size). */
  intermediate?: number;
  /** config.json's q/k/v biases (qwen2). */
  qkvBias?: boolean;
}

/**
 * Counts parameters from logical shapes: a weight stored as 4-bit blocks (MatMulNBits: K x N) or in 8 bits counts
 * as many parameters as its float twin, so a q4 file reports what its fp32 export does.
 */
export function parameterBreakdown(g: GraphIndex, s: GraphStructure, nCtx?: number, shape?: ParameterShape): ParameterBreakdown {
  // torch.onnx merges initializers with equal values (e.g. the zero biases of an untrained model),
  // so one stored tensor can stand for several PyTorch parameters: count each use site once.
  // The one real tie of the GPT-2 family, the LM head reusing the token embedding, is found apart.
  const used = new Set<string>();
  const sites = new Set<string>();
  const groups: ParameterGroup[] = [];
  const d = s.tokenEmbedding?.d ?? 0;
  const V = s.tokenEmbedding?.vocab ?? 0;

  const group = (role: ParameterRole, layer: number | undefined, formula?: { text: string; value: number }): ParameterGroup => {
    const gr: ParameterGroup = { role, layer, weights: 0, biases: 0, tensors: [] };
    if (formula) {
      gr.formula = formula.text;
      gr.formulaValue = formula.value;
    }
    groups.push(gr);
    return gr;
  };
  /** Counts the initializer behind `ref` (a name as a node reads it) once for this use site. */
  const add = (gr: ParameterGroup, ref: string | undefined, kind: 'weight' | 'bias', site: string, logical?: number) => {
    if (!ref || sites.has(site)) return;
    const q = g.initializers.get(ref);
    const quantized = q && (logical !== undefined || INT8_TYPES.has(q.dataType ?? 0));
    const src = quantized ? { name: ref, transposed: false } : g.weightSource(ref);
    const t = src && g.initializers.get(src.name);
    if (!src || !t || !(quantized || isFloatType(t.dataType))) return;
    sites.add(site);
    used.add(src.name);
    // Show the name the node reads (the PyTorch name when the exporter merged equal tensors), unless transposed.
    const shown = src.transposed ? src.name : ref;
    if (!gr.tensors.includes(shown)) gr.tensors.push(shown);
    const n = logical ?? tensorSize(t);
    if (kind === 'weight') gr.weights += n;
    else gr.biases += n;
  };
  const addNorm = (gr: ParameterGroup, n: NormUnit) => {
    add(gr, n.scale, 'weight', `norm:${n.output}:scale`);
    add(gr, n.bias, 'bias', `norm:${n.output}:bias`);
  };
  /** Weights of MatMul/Gemm in a block, and the biases added to their outputs. */
  const addBlock = (gr: ParameterGroup, nodes: number[]) => {
    const inBlock = new Set(nodes);
    for (const i of nodes) {
      const op = g.op(i);
      const ins = g.inputsOf(i);
      if (op === 'MatMulNBits') {
        add(gr, ins[1], 'weight', `${i}:1`, g.attrInt(i, 'K', 0) * g.attrInt(i, 'N', 0));
        if (ins[5]) add(gr, ins[5], 'bias', `${i}:5`);
      } else if (op === 'MatMulInteger') add(gr, ins[1], 'weight', `${i}:1`);
      else if (WEIGHT_OPS.has(op)) {
        ins.slice(0, 2).forEach((x, k) => add(gr, x, 'weight', `${i}:${k}`));
        if (op === 'Gemm' && ins[2]) add(gr, ins[2], 'bias', `${i}:2`);
      } else if (op === 'Add') {
        // A bias: a 1-D constant added to the output of a weight op of this block (for q8, to the rescaled output:
        // MatMulInteger -> Cast -> Mul by the scales).
        const weightOpBehind = (x: string): boolean => {
          const p = g.producer.get(g.source(x));
          if (p === undefined || !inBlock.has(p)) return false;
          if (WEIGHT_OPS.has(g.op(p))) return true;
          return g.op(p) === 'Mul' && g.inputsOf(p).some((y) => {
            const c = g.producer.get(y);
            return c !== undefined && g.op(c) === 'Cast' && weightOpBehind(g.inputsOf(c)[0]);
          });
        };
        const fromWeightOp = ins.some(weightOpBehind);
        if (!fromWeightOp) continue;
        ins.forEach((x, k) => {
          const src = g.weightSource(x);
          const t = src && !src.transposed ? g.initializers.get(src.name) : undefined;
          if (t && (t.dims?.length ?? 0) === 1 && tensorSize(t) > 1) add(gr, x, 'bias', `${i}:${k}`);
        });
      }
    }
  };

  // Thousands separators without toLocaleString, whose first call loads ICU data (100+ ms).
  const fmt = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  if (s.tokenEmbedding) {
    add(group('tokenEmbedding', undefined, { text: `V·d = ${fmt(V)}·${d}`, value: V * d }), s.tokenEmbedding.initializer, 'weight', 'tokenEmbedding');
  }
  if (s.positionEmbedding) {
    const rows = s.positionEmbedding.rows;
    add(group('positionEmbedding', undefined, { text: `n_ctx·d = ${fmt(rows)}·${d}`, value: rows * d }), s.positionEmbedding.initializer, 'weight', 'positionEmbedding');
  }
  // The MLP's width, when the config does not say (genai_config.json): layer 0's three matrices are 3·d·m.
  const mlp0 = s.layers[0]?.mlpNodes;
  const shapeM = shape && shape.intermediate === undefined && mlp0 && d > 0 ? { ...shape, intermediate: mlpWidth(g, mlp0, d) } : shape;
  const f = formulas(d, shapeM);
  s.layers.forEach((L, i) => {
    addBlock(group('attention', i, f.attention), L.attentionNodes);
    addBlock(group('mlp', i, f.mlp), L.mlpNodes);
    const norm = group('norm', i, f.layerNorms);
    addNorm(norm, L.norm1);
    addNorm(norm, L.norm2);
  });
  if (s.finalNorm) addNorm(group('norm', undefined, f.finalNorm), s.finalNorm);
  if (s.lmHead) {
    const head = s.lmHead;
    const gr = group('lmHead', undefined, head.tied ? { text: 'tied to the token embedding: counted once', value: 0 } : { text: `V·d = ${fmt(V)}·${d}`, value: V * d });
    if (head.tied) gr.tensors.push(head.weight);
    else if (head.kind === 'q4') add(gr, head.weight, 'weight', 'lmHead', d * (head.vocab ?? V));
    else add(gr, head.weight, 'weight', 'lmHead');
    add(gr, head.bias, 'bias', 'lmHeadBias');
  }

  // Anything else a weight op reads is a parameter we could not place; everything else is a constant.
  const other = group('other', undefined);
  const constants: string[] = [];
  let constantElements = 0;
  const tiedCopy = s.lmHead?.tied === 'copy' || s.lmHead?.tied === 'declared' ? s.lmHead.weight : undefined;
  for (const [name, t] of g.initializers) {
    if (used.has(name) || name === tiedCopy) continue;
    // A quantized weight's scales (MatMulNBits' third input) are storage, not parameters: PyTorch has none.
    const asWeight = (c: number) => (g.op(c) === 'MatMulNBits' ? g.inputsOf(c)[1] === name : WEIGHT_OPS.has(g.op(c)) || g.op(c) === 'Gather' || g.op(c) === 'LayerNormalization');
    const readByWeightOp = isFloatType(t.dataType) && tensorSize(t) > 1 && g.consumersOf(name).some(asWeight);
    if (readByWeightOp) add(other, name, 'weight', `other:${name}`);
    else {
      constants.push(name);
      constantElements += tensorSize(t);
    }
  }
  const kept = groups.filter((x) => x.role !== 'other' || x.tensors.length > 0);
  const weights = kept.reduce((a, x) => a + x.weights, 0);
  const biases = kept.reduce((a, x) => a + x.biases, 0);
  const L = s.layers.length;
  const rows = s.positionEmbedding?.rows ?? nCtx ?? 0;
  const tied = !!s.lmHead?.tied;
  const llama = shape?.architecture === 'llama';
  const formulaValue = llama
    ? V * d + L * (f.attention.value + f.mlp.value + f.layerNorms.value) + f.finalNorm.value + (tied ? 0 : V * d)
    : V * d + rows * d + L * (12 * d * d + 13 * d) + 2 * d + (tied ? 0 : V * d);
  const formula = llama
    ? `V·d + L·(${f.attention.text} + ${f.mlp.text} + ${f.layerNorms.text}) + ${f.finalNorm.text}${tied ? '' : ' + V·d'} with V=${fmt(V)}, d=${d}, L=${L}, H=${shapeM!.nHead}, H_kv=${shapeM!.nKvHeads}, h_d=${shapeM!.headDim}, m=${fmt(shapeM!.intermediate ?? 0)}`
    : `V·d + n_ctx·d + L·(12d² + 13d) + 2d${tied ? '' : ' + V·d'} with V=${fmt(V)}, n_ctx=${fmt(rows)}, d=${d}, L=${L}`;
  return {
    total: weights + biases,
    weights,
    biases,
    groups: kept,
    tiedLmHead: tied,
    formula,
    formulaValue,
    constants: { tensors: constants.length, elements: constantElements },
  };
}

/**
 * Each part's formula. GPT-2: fused q/k/v/out d x d with biases, a 4d MLP with biases, LayerNorms with gamma and beta.
 * Llama family: q and out projections H·h_d wide, k and v H_kv·h_d wide (grouped-query attention), no biases but q/k/v's
 * in qwen2; a gated MLP of three d x m matrices (gate, up, down) without biases; RMSNorms with a weight and no bias.
 */
function formulas(d: number, shape: ParameterShape | undefined): Record<'attention' | 'mlp' | 'layerNorms' | 'finalNorm', { text: string; value: number }> {
  if (shape?.architecture !== 'llama') {
    return {
      attention: { text: '4d² + 4d', value: 4 * d * d + 4 * d },
      mlp: { text: '8d² + 5d', value: 8 * d * d + 5 * d },
      layerNorms: { text: '4d', value: 4 * d },
      finalNorm: { text: '2d', value: 2 * d },
    };
  }
  const { nHead: H, nKvHeads: K, headDim: h } = shape;
  const m = shape.intermediate ?? 0;
  const qkv = (H + 2 * K) * h;
  return {
    attention: shape.qkvBias
      ? { text: '2d·H·h_d + 2d·H_kv·h_d + (H + 2H_kv)·h_d', value: 2 * d * H * h + 2 * d * K * h + qkv }
      : { text: '2d·H·h_d + 2d·H_kv·h_d', value: 2 * d * H * h + 2 * d * K * h },
    mlp: { text: '3d·m', value: 3 * d * m },
    layerNorms: { text: '2d', value: 2 * d },
    finalNorm: { text: 'd', value: d },
  };
}

/** m from the weights of a gated MLP's projections (gate, up, down: 3·d·m in all), float or quantized. */
function mlpWidth(g: GraphIndex, nodes: number[], d: number): number {
  let n = 0;
  for (const i of nodes) {
    const op = g.op(i);
    if (op === 'MatMulNBits') n += g.attrInt(i, 'K', 0) * g.attrInt(i, 'N', 0);
    else if (WEIGHT_OPS.has(op)) {
      const w = g.initializers.get(g.weightSource(g.inputsOf(i)[1])?.name ?? g.inputsOf(i)[1]);
      if (w) n += tensorSize(w);
    }
  }
  return Math.round(n / (3 * d));
}
