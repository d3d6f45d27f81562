// The Why view's points in the instrumented graph (issue #15): the residual stream after each attention block, each
// layer's per-head attention result z (the output projection's input), the logits of one position, and the inputs
// that switch parts off: a gate and an additive vector on z, on each attention block's output and on each MLP's
// output, and an additive mask on the attention scores. Every added input has a default value (WhyPoints.defaults;
// onnxruntime's JavaScript APIs refuse feeds for initializers, so the session feeds them itself on every run), and
// the defaults (gates of 1, additions of 0) give the uninstrumented numbers bit for bit: x · 1 + 0 = x in IEEE floats.
import { onnx } from 'onnx-proto';
import { node, floatTensor, int64Tensor, valueInfo, DataType } from './build';
import type { GraphIndex, GraphStructure, LayerStructure } from './graph';
import { tensorDims } from './proto';

/** Names of the tensors the Why instrumentation adds (inputs with defaults, and outputs). */
export const WHY = {
  /** int64 [P]: the positions whose full logits `logitsAt` returns (default [0]). */
  position: 'why.position',
  /** [P, V]: the model's own logits at `position`. */
  logitsAt: 'why.logitsAt',
  /** [L*P, V]: the logit lens' full rows at the lens positions (the lens branch's own tensor, exposed). */
  lensLogits: 'lens.lensLogits',
  /** [B, T, d]: the residual stream after layer l's attention add. */
  mid: (l: number) => `why.mid.${l}`,
  /** [B, T, H*hd]: what layer l's output projection reads (the heads' results side by side), after the gate. */
  z: (l: number) => `why.z.${l}`,
  /** [H*hd] multiplied onto z, then [H*hd] added: a head's slice at 0 and its mean added is its mean ablation. */
  zGate: (l: number) => `why.zGate.${l}`,
  zAdd: (l: number) => `why.zAdd.${l}`,
  /** [1] multiplied onto the attention block's output, then [d] added (zero or mean ablation of the block). */
  attnGate: (l: number) => `why.attnGate.${l}`,
  attnAdd: (l: number) => `why.attnAdd.${l}`,
  mlpGate: (l: number) => `why.mlpGate.${l}`,
  mlpAdd: (l: number) => `why.mlpAdd.${l}`,
  /** Added to every layer's attention scores before the Softmax: [1, 1] zeros by default, [T, T] to cut edges. */
  scoreMask: 'why.scoreMask',
  /**
   * int64 [R]: the rows (of batch x positions, flattened) the LM head computes; every run feeds it, all rows by
   * default. Occlusion needs a few rows of each occluded copy, and the head over the whole vocabulary is half the
   * small models' cost per token.
   */
  rows: 'why.rows',
} as const;

/** What the output projection of a layer is, for splitting its output per head. */
export interface OutputProjection {
  /** The float weight initializer [H*hd, d] (or stored [d, H*hd] and used transposed). */
  weight?: string;
  transposed: boolean;
  bias?: string;
  /** Width of z (H*hd). */
  width: number;
}

export interface WhyPoints {
  /** Per layer: what was found and instrumented. */
  layers: {
    mid: boolean;
    /** z gated and exposed; its projection's weight when it is a float matrix (per-head attribution needs it). */
    z?: OutputProjection;
    attn: boolean;
    mlp: boolean;
    /** The attention scores take the edge mask. */
    edge: boolean;
  }[];
  hasLogitsAt: boolean;
  /** The LM head reads only the rows fed as `why.rows` (absent: it reads them all and the input does not exist). */
  hasRows: boolean;
  /**
   * The model's present.* outputs (keys and values with the past), exposed so that occlusion can run a shared prefix
   * once and feed it as the past of every copy; empty where attention is a fused operator (its cache layout differs).
   */
  presents: string[];
  /** What each added input gets when a run does not intervene. */
  defaults: Record<string, { type: 'float32' | 'int64'; dims: number[]; values: number[] }>;
  /** Intervention kinds every layer supports. */
  kinds: ('head' | 'attention' | 'mlp' | 'edge')[];
  /** Why a kind is not in `kinds`, in words without the layer numbers (for the Why view's controls). */
  unavailable: Partial<Record<WhyPoints['kinds'][number], string>>;
  /** What is missing, in words (for the model card and the Why view). */
  notes: string[];
}

export interface WhyContext {
  placeAfter(producerOf: string, n: onnx.INodeProto): void;
  added: onnx.INodeProto[];
  inits: onnx.ITensorProto[];
  inputs: onnx.IValueInfoProto[];
  out(name: string, type?: number): void;
  d: number;
  /** 'lens.logits2d' when the instrumentation has it ([rows, V] model logits). */
  logits2d?: string;
}

/**
 * Adds the Why points to the graph being instrumented. Rewires in place the nodes that read a gated tensor (the
 * output projection, the residual adds, the Softmax), so the gates sit on the model's own path: the residual stream
 * the lens reads is the intervened one.
 */
export function addWhyPoints(g: GraphIndex, s: GraphStructure, ctx: WhyContext): WhyPoints {
  const { d } = ctx;
  const notes: string[] = [];
  const unavailable: WhyPoints['unavailable'] = {};
  /** A part of layer l that cannot be switched off: said in the notes, and (once, without the layer) for its kind. */
  const missing = (l: number, kind: WhyPoints['kinds'][number], why: string) => {
    notes.push(`layer ${l}: ${why}`);
    unavailable[kind] ??= why;
  };
  const defaults: WhyPoints['defaults'] = {};
  const withDefault = (name: string, t: onnx.ITensorProto, elem: number, dims: (number | string)[]) => {
    const shape = (t.dims ?? []).map(Number);
    const n = shape.reduce((a, b) => a * b, 1);
    const isInt = elem === DataType.INT64;
    const raw = t.rawData!;
    const values = isInt ? Array.from(new BigInt64Array(raw.slice().buffer), Number) : Array.from(new Float32Array(raw.slice().buffer, 0, n));
    defaults[name] = { type: isInt ? 'int64' : 'float32', dims: shape, values };
    ctx.inputs.push(valueInfo(name, elem, dims));
  };
  const gateAndAdd = (x: string, gateName: string, addName: string, width: number, gateWidth: number, y: string) => {
    withDefault(gateName, floatTensor(gateName, [gateWidth], new Float32Array(gateWidth).fill(1)), DataType.FLOAT, [gateWidth]);
    withDefault(addName, floatTensor(addName, [width], new Float32Array(width)), DataType.FLOAT, [width]);
    ctx.placeAfter(x, node('Mul', [x, gateName], [`${y}/gated`]));
    ctx.placeAfter(x, node('Add', [`${y}/gated`, addName], [y]));
  };
  const rewire = (nodeIndex: number, from: string, to: string) => {
    const n = g.nodes[nodeIndex];
    n.input = (n.input ?? []).map((x) => (x === from ? to : x));
  };

  let edgeInput = false;
  const layers = s.layers.map((layer, l) => {
    const info: WhyPoints['layers'][number] = { mid: false, attn: false, mlp: false, edge: false };
    // The stream after attention: the sum the second norm reads.
    ctx.placeAfter(layer.mid, node('Identity', [layer.mid], [WHY.mid(l)]));
    ctx.out(WHY.mid(l));
    info.mid = true;

    // z: the input of the output projection, found from the attention probabilities' MatMul with V (or from a fused
    // attention operator's output), through the Transpose and Reshape that put the heads side by side.
    const proj = outputProjection(g, layer);
    if (proj) {
      const zName = g.inputsOf(proj.node)[0];
      const y = `why.z.${l}/in`;
      gateAndAdd(zName, WHY.zGate(l), WHY.zAdd(l), proj.info.width, proj.info.width, y);
      rewire(proj.node, zName, y);
      ctx.placeAfter(zName, node('Identity', [y], [WHY.z(l)]));
      ctx.out(WHY.z(l));
      info.z = proj.info;
      if (!proj.info.weight) notes.push(`layer ${l}: the output projection's weight is not a float matrix (quantized?): per-head attribution is not available`);
    } else missing(l, 'head', 'the attention output projection was not found after the attention probabilities: heads cannot be switched off or attributed');

    // The two blocks' outputs, where they join the residual stream.
    const attnJoin = joinOf(g, layer.mid, layer.input, layer.norm2);
    if (attnJoin) {
      const y = `why.attnOut.${l}`;
      gateAndAdd(attnJoin.block, WHY.attnGate(l), WHY.attnAdd(l), d, 1, y);
      rewire(attnJoin.node, attnJoin.block, y);
      info.attn = true;
    } else missing(l, 'attention', 'the residual add after attention was not found: the attention block cannot be switched off');
    const next = l + 1 < s.layers.length ? s.layers[l + 1].norm1 : s.finalNorm;
    const mlpJoin = next ? joinOf(g, layer.output, layer.mid, next) : undefined;
    if (mlpJoin) {
      const y = `why.mlpOut.${l}`;
      gateAndAdd(mlpJoin.block, WHY.mlpGate(l), WHY.mlpAdd(l), d, 1, y);
      rewire(mlpJoin.node, mlpJoin.block, y);
      info.mlp = true;
    } else missing(l, 'mlp', 'the residual add after the MLP was not found: the MLP cannot be switched off');

    // Edges: an additive mask on the scores the Softmax reads. A fused attention operator keeps its scores inside.
    const sm = layer.softmax !== undefined && layer.gqaProbs === undefined && !layer.fusedAttention ? g.producer.get(layer.softmax) : undefined;
    if (sm !== undefined && g.op(sm) === 'Softmax') {
      const scores = g.inputsOf(sm)[0];
      if (!edgeInput) {
        withDefault(WHY.scoreMask, floatTensor(WHY.scoreMask, [1, 1], [0]), DataType.FLOAT, ['q', 'k']);
        edgeInput = true;
      }
      const y = `why.scores.${l}`;
      ctx.placeAfter(scores, node('Add', [scores, WHY.scoreMask], [y]));
      rewire(sm, scores, y);
      info.edge = true;
    } else missing(l, 'edge', `attention is ${layer.fusedAttention ? `one fused operator (${layer.fusedAttention})` : 'not a Softmax the lens found'}: attention edges cannot be cut`);
    return info;
  });

  let hasLogitsAt = false;
  if (ctx.logits2d) {
    withDefault(WHY.position, int64Tensor(WHY.position, [1], [0]), DataType.INT64, ['p']);
    ctx.added.push(node('Gather', [ctx.logits2d, WHY.position], [WHY.logitsAt], { axis: 0 }));
    ctx.out(WHY.logitsAt);
    hasLogitsAt = true;
  }
  // Row selection before the LM head: only where the head is a plain chain that takes rows of d (no reshapes that
  // would expect [batch, positions, d]).
  let hasRows = false;
  const lm = s.lmHead;
  if (lm && s.finalNorm && !lm.nodes.some((i) => ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'].includes(g.op(i)))) {
    const firstNode = lm.nodes.find((i) => g.inputsOf(i).includes(s.finalNorm!.output));
    if (firstNode !== undefined) {
      ctx.inputs.push(valueInfo(WHY.rows, DataType.INT64, ['rows']));
      ctx.inits.push(int64Tensor('why.shape2d', [2], [-1, d]));
      ctx.placeAfter(s.finalNorm.output, node('Reshape', [s.finalNorm.output, 'why.shape2d'], ['why.normed2d']));
      ctx.placeAfter(s.finalNorm.output, node('Gather', ['why.normed2d', WHY.rows], ['why.normedRows'], { axis: 0 }));
      rewire(firstNode, s.finalNorm.output, 'why.normedRows');
      hasRows = true;
    }
  }
  const fused = s.layers.some((l) => l.fusedAttention);
  const presents = fused ? [] : (g.model.graph?.output ?? []).map((o) => o.name ?? '').filter((n) => /^present\.\d+\.(key|value)$/.test(n) && g.producer.has(n));
  for (const n of presents) ctx.out(n);
  const kinds: WhyPoints['kinds'] = [];
  if (layers.length && layers.every((x) => x.z)) kinds.push('head');
  if (layers.length && layers.every((x) => x.attn)) kinds.push('attention');
  if (layers.length && layers.every((x) => x.mlp)) kinds.push('mlp');
  if (layers.length && layers.every((x) => x.edge)) kinds.push('edge');
  if (!layers.length) for (const k of ['head', 'attention', 'mlp', 'edge'] as const) unavailable[k] = 'the graph has no layers the lens found';
  return { layers, hasLogitsAt, hasRows, presents, defaults, kinds, unavailable, notes };
}

/** The output projection of a layer's attention: its node, and its weight and bias when they are float constants. */
function outputProjection(g: GraphIndex, layer: LayerStructure): { node: number; info: OutputProjection } | undefined {
  const inBlock = new Set(layer.attentionNodes);
  let t: string | undefined;
  const fused = layer.attentionNodes.find((i) => g.op(i) === 'GroupQueryAttention' || g.op(i) === 'MultiHeadAttention' || g.op(i) === 'Attention');
  if (fused !== undefined) t = g.outputOf(fused);
  else if (layer.softmax) {
    const sm = g.producer.get(layer.softmax);
    if (sm === undefined) return undefined;
    const pv = g.probabilityConsumers(layer.softmax).find((c) => g.op(c) === 'MatMul');
    if (pv === undefined) return undefined;
    t = g.outputOf(pv);
  }
  for (let guard = 0; t && guard < 8; guard++) {
    const cs = g.consumersOf(t).filter((c) => inBlock.has(c));
    if (cs.length !== 1) return undefined;
    const c = cs[0];
    const op = g.op(c);
    if (op === 'Transpose' || op === 'Reshape' || op === 'Identity' || op === 'Cast') {
      t = g.outputOf(c);
      continue;
    }
    if (op !== 'MatMul' && op !== 'MatMulNBits' && op !== 'Gemm') return undefined;
    if (g.inputsOf(c)[0] !== t) return undefined;
    const src = op === 'MatMulNBits' ? undefined : g.weightSource(g.inputsOf(c)[1]);
    const transposed = !!src && (src.transposed !== (op === 'Gemm' && g.attrInt(c, 'transB', 0) === 1));
    let width = 0;
    if (src) {
      const dims = tensorDims(g.initializers.get(src.name)!);
      width = transposed ? dims[1] : dims[0];
    } else if (op === 'MatMulNBits') width = g.attrInt(c, 'K', 0);
    if (!width) return undefined;
    // A bias: Gemm's third input, or an Add of a constant right after.
    let bias: string | undefined = op === 'Gemm' ? g.inputsOf(c)[2] || undefined : undefined;
    if (!bias) {
      const next = g.consumersOf(g.outputOf(c));
      if (next.length === 1 && g.op(next[0]) === 'Add') bias = g.inputsOf(next[0]).find((x) => x !== g.outputOf(c) && g.weightSource(x) !== undefined);
    }
    const biasSrc = bias ? g.weightSource(bias) : undefined;
    return { node: c, info: { ...(src ? { weight: src.name } : {}), transposed, ...(biasSrc ? { bias: biasSrc.name } : {}), width } };
  }
  return undefined;
}

/**
 * The node where a block's output joins the residual stream to make `sum`, and which of its inputs is the block's
 * output (the other is the stream `stream`): a plain Add, or the SkipSimplifiedLayerNormalization that adds them
 * before normalising (`norm` is the norm that reads `sum`).
 */
function joinOf(g: GraphIndex, sum: string, stream: string, norm: { skip?: { node: number } }): { node: number; block: string } | undefined {
  const n = norm.skip ? norm.skip.node : g.producer.get(sum);
  if (n === undefined) return undefined;
  const op = g.op(n);
  if (op !== 'Add' && op !== 'SkipSimplifiedLayerNormalization') return undefined;
  const [a, b] = g.inputsOf(n);
  const src = g.source(stream);
  const block = g.source(a) === src ? b : g.source(b) === src ? a : undefined;
  if (!block || g.constTensor(block)) return undefined;
  return { node: n, block };
}
