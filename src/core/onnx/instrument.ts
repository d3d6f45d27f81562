// Rewrites a decoder graph (GPT-2 or the Llama family) for analysis: exposes the residual stream, gates attention outputs behind
// runtime switches, and adds the reductions (top-k, log-sum-exp, ranks, similarity, thumbnails, logit lens) so that
// one run returns small tensors instead of whole logits.
import { onnx } from 'onnx-proto';
import { node, floatTensor, int64Tensor, valueInfo, DataType } from './build';
import type { GraphIndex, GraphStructure } from './graph';
import { tensorDims } from './proto';
import { UnsupportedModelError } from '../model/errors';
import { addWhyPoints, WHY, type WhyPoints } from './interventions';

/** Names of the tensors the instrumented graph takes and returns. */
export const LENS = {
  k: 'lens.k',
  lensPositions: 'lens.positions',
  nextIds: 'lens.nextIds',
  attnOn: (i: number) => `lens.attnOn.${i}`,
  thumbOn: 'lens.thumbOn',
  thumbPads: 'lens.thumbPads',
  thumbShape: 'lens.thumbShape',
  hidden: (i: number) => `lens.hidden.${i}`,
  attn: (i: number) => `lens.attn.${i}`,
  thumb: (i: number) => `lens.thumb.${i}`,
  lensTopV: 'lens.lensTopV',
  lensTopI: 'lens.lensTopI',
  lensLse: 'lens.lensLse',
  predTopV: 'lens.predTopV',
  predTopI: 'lens.predTopI',
  predLse: 'lens.predLse',
  predActual: 'lens.predActual',
  predRank: 'lens.predRank',
  similarity: 'lens.similarity',
  /** bool []: compute the similarity matrix (the Why view's batched runs leave it off: it is quadratic in the rows). */
  simOn: 'lens.simOn',
} as const;

export interface InstrumentedGraph {
  model: onnx.IModelProto;
  /** Hidden states exposed: L+1 (entering each layer, then entering the final norm). */
  hiddenCount: number;
  /** Layers whose attention probabilities can be fetched. */
  attentionLayers: number[];
  /** Logit lens over layers 0..L-1 is in the graph (the last row comes from the model's own logits). */
  hasLens: boolean;
  /** The model's own graph inputs, to be fed as a plain forward pass would. */
  modelInputs: string[];
  /** The Why view's points (interventions.ts): gates with default values, the mid-layer stream, z, one position's logits. */
  why?: WhyPoints;
}

/** Lowest default-domain opset the added nodes are written for (Pad, GatherElements, TopK with a K input). */
export const MIN_OPSET = 11;

/**
 * Builds the analysis graph. `model` is modified in place (its outputs replaced); the caller encodes it.
 * Throws UnsupportedModelError when the structure lacks what every analysis needs (embedding, layers, logits).
 */
export interface InstrumentOptions {
  /** Add the logit lens branch (default true). */
  lens?: boolean;
  /** Add the similarity matrix (default true). */
  similarity?: boolean;
  /** Add the Why view's gates and outputs (default true). */
  why?: boolean;
}

export function instrument(model: onnx.IModelProto, g: GraphIndex, s: GraphStructure, where: string, options: InstrumentOptions = {}): InstrumentedGraph {
  const graph = model.graph!;
  if (g.opset < MIN_OPSET) throw new UnsupportedModelError(where, `the graph uses ONNX opset ${g.opset}; the lens needs opset ${MIN_OPSET} or newer (re-export the model).`);
  if (!s.tokenEmbedding || s.layers.length === 0) throw new UnsupportedModelError(where, `the graph's structure was not recognised: ${s.missing.join('; ') || 'no layers found'}.`);
  const logits = s.lmHead?.logits ?? (graph.output ?? []).find((o) => o.name === 'logits')?.name;
  if (!logits) throw new UnsupportedModelError(where, 'the graph has no "logits" output and no LM head was found.');
  const d = s.tokenEmbedding.d;
  const vocab = lmHeadVocab(g, s) ?? s.tokenEmbedding.vocab;
  const L = s.layers.length;
  const opset = g.opset;

  const added: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  const outputs: onnx.IValueInfoProto[] = [];
  const inputs: onnx.IValueInfoProto[] = [];
  /** Nodes to place right after a given node index (so their inputs can be freed early). */
  const after = new Map<number, onnx.INodeProto[]>();
  const placeAfter = (producerOf: string, n: onnx.INodeProto) => {
    const p = g.producer.get(producerOf);
    if (p === undefined) added.push(n);
    else after.set(p, [...(after.get(p) ?? []), n]);
  };
  const constI = (name: string, v: number[]) => {
    inits.push(int64Tensor(name, [v.length], v));
    return name;
  };
  const out = (name: string, type: number = DataType.FLOAT) => outputs.push(valueInfo(name, type));
  const reduce = (op: string, x: string, axes: number[], keepdims: number, y: string, list: onnx.INodeProto[] = added) => {
    // ReduceSum takes axes as an input from opset 13, the other reductions from opset 18.
    const asInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
    if (asInput) list.push(node(op, [x, constI(`${y}/axes`, axes)], [y], { keepdims }));
    else list.push(node(op, [x], [y], { axes, keepdims }));
  };

  /**
   * log-sum-exp of each row, as top logit - log(softmax at the top). ORT's ReduceLogSumExp costs as much as the
   * LM head itself; its Softmax is vectorised.
   */
  const first = [constI('lens.zero1', [0]), constI('lens.one1', [1]), constI('lens.axis1', [1])];
  const logSumExp = (logits: string, topV: string, topI: string, y: string) => {
    added.push(node('Softmax', [logits], [`${y}/p`], { axis: 1 }));
    added.push(node('Slice', [topI, ...first], [`${y}/i0`]));
    added.push(node('Slice', [topV, ...first], [`${y}/v0`]));
    added.push(node('GatherElements', [`${y}/p`, `${y}/i0`], [`${y}/p0`], { axis: 1 }));
    added.push(node('Log', [`${y}/p0`], [`${y}/logp0`]));
    added.push(node('Sub', [`${y}/v0`, `${y}/logp0`], [y]));
  };

  // Outputs the fused operators compute but the build left off: the residual sum of a SkipSimplifiedLayerNormalization
  // (the final norm's, in onnxruntime-genai builds) and GroupQueryAttention's probabilities.
  for (const n of [...s.layers.flatMap((l) => [l.norm1, l.norm2]), ...(s.finalNorm ? [s.finalNorm] : [])]) {
    if (n.skip?.sumMissing) setOutput(g.nodes[n.skip.node], 3, n.input);
  }
  for (const l of s.layers) {
    if (l.gqaProbs === undefined || !l.softmax) continue;
    const gqa = g.nodes[l.gqaProbs];
    setOutput(gqa, 3, l.softmax);
    gqa.attribute = [...(gqa.attribute ?? []).filter((a) => a.name !== 'qk_output'), { name: 'qk_output', type: onnx.AttributeProto.AttributeType.INT, i: 2 }];
  }

  // Hidden states: the residual stream entering each layer and the final norm.
  const hidden = [...s.layers.map((l) => l.input), s.layers[L - 1].output];
  hidden.forEach((h, i) => {
    placeAfter(h, node('Identity', [h], [LENS.hidden(i)]));
    out(LENS.hidden(i));
  });

  // Attention probabilities and thumbnails, each behind a boolean input so that unrequested ones cost nothing.
  inputs.push(valueInfo(LENS.thumbOn, DataType.BOOL, []), valueInfo(LENS.thumbPads, DataType.INT64, [8]), valueInfo(LENS.thumbShape, DataType.INT64, [5]));
  const axes24 = constI('lens.axes24', [2, 4]);
  const attentionLayers: number[] = [];
  s.layers.forEach((layer, i) => {
    if (!layer.softmax) return;
    attentionLayers.push(i);
    const probs = layer.softmax;
    inputs.push(valueInfo(LENS.attnOn(i), DataType.BOOL, []));
    placeAfter(probs, gate(LENS.attnOn(i), LENS.attn(i), [node('Identity', [probs], [`${LENS.attn(i)}/then`])], `${LENS.attn(i)}/then`));
    out(LENS.attn(i));
    // [1,H,T,T] -> pad to [1,H,T',T'] -> [H, n, b, n, b] -> sum over each b x b block -> [H, n, n].
    const thumbNodes: onnx.INodeProto[] = [
      node('Pad', [probs, LENS.thumbPads], [`${LENS.thumb(i)}/pad`], { mode: 'constant' }),
      node('Reshape', [`${LENS.thumb(i)}/pad`, LENS.thumbShape], [`${LENS.thumb(i)}/blocks`]),
    ];
    if (opset >= 13) thumbNodes.push(node('ReduceSum', [`${LENS.thumb(i)}/blocks`, axes24], [`${LENS.thumb(i)}/then`], { keepdims: 0 }));
    else thumbNodes.push(node('ReduceSum', [`${LENS.thumb(i)}/blocks`], [`${LENS.thumb(i)}/then`], { axes: [2, 4], keepdims: 0 }));
    placeAfter(probs, gate(LENS.thumbOn, LENS.thumb(i), thumbNodes, `${LENS.thumb(i)}/then`));
    out(LENS.thumb(i));
  });

  // Top-k, log-sum-exp, the next token's logit and rank, from the model's own logits.
  inputs.push(valueInfo(LENS.k, DataType.INT64, [1]), valueInfo(LENS.nextIds, DataType.INT64, ['seq', 1]));
  const shapeV = constI('lens.shapeV', [-1, vocab]);
  added.push(node('Reshape', [logits, shapeV], ['lens.logits2d']));
  added.push(node('TopK', ['lens.logits2d', LENS.k], [LENS.predTopV, LENS.predTopI], { axis: -1, largest: 1, sorted: 1 }));
  logSumExp('lens.logits2d', LENS.predTopV, LENS.predTopI, LENS.predLse);
  added.push(node('GatherElements', ['lens.logits2d', LENS.nextIds], [LENS.predActual], { axis: 1 }));
  added.push(node('Greater', ['lens.logits2d', LENS.predActual], ['lens.greater']));
  added.push(node('Cast', ['lens.greater'], ['lens.greaterF'], { to: DataType.FLOAT }));
  reduce('ReduceSum', 'lens.greaterF', [-1], 1, LENS.predRank);
  out(LENS.predTopV);
  out(LENS.predTopI, DataType.INT64);
  out(LENS.predLse);
  out(LENS.predActual);
  out(LENS.predRank);

  // Logit lens for layers 0..L-1: the final norm and LM head applied to the stacked hidden states.
  let hasLens = false;
  if (s.finalNorm && s.lmHead && L > 0 && options.lens !== false) {
    hasLens = true;
    // [L, T, d] -> the positions asked for -> [L, P, d]: the lens costs a full pass over the vocabulary per
    // row, so a caller that shows one token's lens asks for that token only.
    inputs.push(valueInfo(LENS.lensPositions, DataType.INT64, ['positions']));
    added.push(node('Concat', hidden.slice(0, L), ['lens.concat'], { axis: 0 }));
    added.push(node('Reshape', ['lens.concat', constI('lens.shapeLTd', [L, -1, d])], ['lens.stackAll']));
    added.push(node('Gather', ['lens.stackAll', LENS.lensPositions], ['lens.stack'], { axis: 1 }));
    const renamed = new Map<string, string>([[s.finalNorm.input, 'lens.stack']]);
    if (s.finalNorm.kind === 'rmsFused') {
      // One node that (with a skip input) also adds the last block's output: the norm alone, as a plain
      // SimplifiedLayerNormalization of the stacked states with the same weight and epsilon.
      renamed.set(s.finalNorm.output, 'lens.fn/normed');
      added.push(node('SimplifiedLayerNormalization', ['lens.stack', s.finalNorm.scale!], ['lens.fn/normed'], { axis: -1, epsilon: s.finalNorm.epsilon }));
    } else for (const i of s.finalNorm.nodes) {
      const n = g.nodes[i];
      const outs = (n.output ?? []).map((o) => (o ? `lens.fn/${o}` : o));
      (n.output ?? []).forEach((o, k) => o && renamed.set(o, outs[k]));
      added.push({ ...n, name: `lens.fn/${n.name ?? i}`, input: (n.input ?? []).map((x) => renamed.get(x) ?? x), output: outs });
    }
    const normed = renamed.get(s.finalNorm.output)!;
    added.push(node('Reshape', [normed, constI('lens.shape2d', [-1, d])], ['lens.normed2d']));
    if (s.lmHead.kind !== 'float') {
      // A quantized head runs as a copy of its own chain on the stacked rows (its weights are shared, not copied).
      // q8's DynamicQuantizeLinear then picks one activation scale for all the rows of all layers at once, where the
      // model's own run picks one for its T rows: the lens rows carry that extra rounding (well under the 8-bit
      // weights' own error).
      const chain = new Map<string, string>([[s.finalNorm.output, 'lens.normed2d'], [s.lmHead.logits, 'lens.lensLogits']]);
      for (const i of s.lmHead.nodes) {
        const n = g.nodes[i];
        const outs = (n.output ?? []).map((o) => (o ? chain.get(o) ?? `lens.head/${o}` : o));
        (n.output ?? []).forEach((o, k) => o && chain.set(o, outs[k]));
        added.push({ ...n, name: `lens.head/${n.name ?? i}`, input: (n.input ?? []).map((x) => chain.get(x) ?? x), output: outs });
      }
    } else {
      const head = s.lmHead.nodes.map((i) => g.nodes[i]).find((n) => n.opType === 'MatMul' || n.opType === 'Gemm')!;
      const headIdx = g.nodes.indexOf(head);
      const w = (head.input ?? [])[1];
      if (head.opType === 'Gemm') {
        const c = (head.input ?? [])[2];
        added.push(node('Gemm', ['lens.normed2d', w, ...(c ? [c] : [])], ['lens.lensLogits'], {
          transA: g.attrInt(headIdx, 'transA', 0),
          transB: g.attrInt(headIdx, 'transB', 0),
          alpha: g.attrFloat(headIdx, 'alpha', 1),
          beta: g.attrFloat(headIdx, 'beta', 1),
        }));
      } else {
        const mm = s.lmHead.bias ? 'lens.lensLogitsNoBias' : 'lens.lensLogits';
        added.push(node('MatMul', ['lens.normed2d', w], [mm]));
        if (s.lmHead.bias) added.push(node('Add', [mm, s.lmHead.bias], ['lens.lensLogits']));
      }
    }
    added.push(node('TopK', ['lens.lensLogits', LENS.k], [LENS.lensTopV, LENS.lensTopI], { axis: -1, largest: 1, sorted: 1 }));
    logSumExp('lens.lensLogits', LENS.lensTopV, LENS.lensTopI, LENS.lensLse);
    out(LENS.lensTopV);
    out(LENS.lensTopI, DataType.INT64);
    out(LENS.lensLse);
    // The full lens rows, for the ranks of chosen tokens at every layer (fetched by the Why view only).
    out(WHY.lensLogits);
  }

  // Issue #15: the points where the Why view reads and switches parts off (each added input has a default).
  const why = options.why === false ? undefined : addWhyPoints(g, s, { placeAfter, added, inits, inputs, out, d, logits2d: 'lens.logits2d' });

  // Cosine similarity of the input embeddings: normalise rows of h_0, then one MatMul.
  if (options.similarity !== false) {
  added.push(node('Reshape', [LENS.hidden(0), constI('lens.shape2dSim', [-1, d])], ['lens.h0']));
  reduce('ReduceL2', 'lens.h0', [-1], 1, 'lens.h0norm');
  added.push(node('Max', ['lens.h0norm', 'lens.tiny'], ['lens.h0normSafe']));
  inits.push(floatTensor('lens.tiny', [], [1e-12]));
  added.push(node('Div', ['lens.h0', 'lens.h0normSafe'], ['lens.h0unit']));
  added.push(node('Transpose', ['lens.h0unit'], ['lens.h0unitT'], { perm: [1, 0] }));
  inputs.push(valueInfo(LENS.simOn, DataType.BOOL, []));
  added.push(gate(LENS.simOn, LENS.similarity, [node('MatMul', ['lens.h0unit', 'lens.h0unitT'], [`${LENS.similarity}/then`])], `${LENS.similarity}/then`));
  out(LENS.similarity);
  }

  const modelInputs = g.inputs.slice();
  const nodes: onnx.INodeProto[] = [];
  g.nodes.forEach((n, i) => {
    nodes.push(n);
    for (const extra of after.get(i) ?? []) nodes.push(extra);
  });
  nodes.push(...added);
  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []), ...inits];
  graph.input = [...(graph.input ?? []), ...inputs];
  graph.output = outputs;
  return { model, hiddenCount: L + 1, attentionLayers, hasLens, modelInputs, ...(why ? { why } : {}) };
}

/** Names output `index` of node `n`, padding the outputs before it with '' (optional outputs left off). */
function setOutput(n: onnx.INodeProto, index: number, name: string): void {
  const outs = (n.output ?? []).slice();
  while (outs.length <= index) outs.push('');
  outs[index] = name;
  n.output = outs;
}

/** If(cond) then run `thenNodes` (whose last output is `thenOut`) else an empty float tensor. */
function gate(cond: string, output: string, thenNodes: onnx.INodeProto[], thenOut: string): onnx.INodeProto {
  const thenBranch: onnx.IGraphProto = { name: `${output}/then`, node: thenNodes, output: [valueInfo(thenOut, DataType.FLOAT)] };
  const empty = floatTensor(`${output}/empty`, [0], []);
  const elseBranch: onnx.IGraphProto = {
    name: `${output}/else`,
    node: [node('Constant', [], [`${output}/else`], { value: { tensor: empty } })],
    output: [valueInfo(`${output}/else`, DataType.FLOAT)],
  };
  return {
    opType: 'If',
    name: output,
    input: [cond],
    output: [output],
    attribute: [
      { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: thenBranch },
      { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: elseBranch },
    ],
  };
}

function lmHeadVocab(g: GraphIndex, s: GraphStructure): number | undefined {
  if (!s.lmHead) return undefined;
  if (s.lmHead.vocab !== undefined) return s.lmHead.vocab;
  const dims = tensorDims(g.initializers.get(s.lmHead.weight)!);
  return s.lmHead.vocabMajor ? dims[0] : dims[1];
}
