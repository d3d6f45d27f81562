// Counts a model's parameters from its graph's initializers, by role, the way PyTorch counts them:
// tied weights once, buffers and constants (causal masks, shapes, scalars) not at all.
import type { ParameterBreakdown, ParameterGroup, ParameterRole } from '../../protocol/analysis';
import type { GraphIndex, GraphStructure, NormUnit } from './graph';
import { isFloatType, tensorSize } from './proto';

const WEIGHT_OPS = new Set(['MatMul', 'Gemm', 'Conv', 'MatMulInteger', 'FusedMatMul']);

export function parameterBreakdown(g: GraphIndex, s: GraphStructure, nCtx?: number): ParameterBreakdown {
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
  const add = (gr: ParameterGroup, ref: string | undefined, kind: 'weight' | 'bias', site: string) => {
    if (!ref || sites.has(site)) return;
    const src = g.weightSource(ref);
    const t = src && g.initializers.get(src.name);
    if (!src || !t || !isFloatType(t.dataType)) return;
    sites.add(site);
    used.add(src.name);
    // Show the name the node reads (the PyTorch name when the exporter merged equal tensors), unless transposed.
    const shown = src.transposed ? src.name : ref;
    if (!gr.tensors.includes(shown)) gr.tensors.push(shown);
    if (kind === 'weight') gr.weights += tensorSize(t);
    else gr.biases += tensorSize(t);
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
      if (WEIGHT_OPS.has(op)) {
        ins.slice(0, 2).forEach((x, k) => add(gr, x, 'weight', `${i}:${k}`));
        if (op === 'Gemm' && ins[2]) add(gr, ins[2], 'bias', `${i}:2`);
      } else if (op === 'Add') {
        // A bias: a 1-D constant added to the output of a weight op of this block.
        const fromWeightOp = ins.some((x) => {
          const p = g.producer.get(g.source(x));
          return p !== undefined && inBlock.has(p) && WEIGHT_OPS.has(g.op(p));
        });
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
  s.layers.forEach((L, i) => {
    addBlock(group('attention', i, { text: '4d² + 4d', value: 4 * d * d + 4 * d }), L.attentionNodes);
    addBlock(group('mlp', i, { text: '8d² + 5d', value: 8 * d * d + 5 * d }), L.mlpNodes);
    const norm = group('norm', i, { text: '4d', value: 4 * d });
    addNorm(norm, L.norm1);
    addNorm(norm, L.norm2);
  });
  if (s.finalNorm) addNorm(group('norm', undefined, { text: '2d', value: 2 * d }), s.finalNorm);
  if (s.lmHead) {
    const head = s.lmHead;
    const gr = group('lmHead', undefined, head.tied ? { text: 'tied to the token embedding: counted once', value: 0 } : { text: `V·d = ${fmt(V)}·${d}`, value: V * d });
    if (head.tied) gr.tensors.push(head.weight);
    else add(gr, head.weight, 'weight', 'lmHead');
    add(gr, head.bias, 'bias', 'lmHeadBias');
  }

  // Anything else a weight op reads is a parameter we could not place; everything else is a constant.
  const other = group('other', undefined);
  const constants: string[] = [];
  let constantElements = 0;
  const tiedCopy = s.lmHead?.tied === 'copy' ? s.lmHead.weight : undefined;
  for (const [name, t] of g.initializers) {
    if (used.has(name) || name === tiedCopy) continue;
    const readByWeightOp = isFloatType(t.dataType) && tensorSize(t) > 1 && g.consumersOf(name).some((c) => WEIGHT_OPS.has(g.op(c)) || g.op(c) === 'Gather' || g.op(c) === 'LayerNormalization');
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
  const formulaValue = V * d + rows * d + L * (12 * d * d + 13 * d) + 2 * d + (tied ? 0 : V * d);
  return {
    total: weights + biases,
    weights,
    biases,
    groups: kept,
    tiedLmHead: tied,
    formula: `V·d + n_ctx·d + L·(12d² + 13d) + 2d${tied ? '' : ' + V·d'} with V=${fmt(V)}, n_ctx=${fmt(rows)}, d=${d}, L=${L}`,
    formulaValue,
    constants: { tensors: constants.length, elements: constantElements },
  };
}
