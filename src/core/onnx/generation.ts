// Prepares the plain (uninstrumented) graph for generation: the LM head reads only the last position, so a prefill
// of n tokens computes one row of logits instead of n (the LM head is most of a small model's work per token).
import type { onnx } from 'onnx-proto';
import { int64Tensor, valueInfo } from './build';
import { num, type Int64 } from './proto';
import type { GraphIndex, GraphStructure } from './graph';

/** Names of what the generation graph adds. */
export const GEN = {
  last: 'gen.lastHidden',
  starts: 'gen.sliceStarts',
  ends: 'gen.sliceEnds',
  axes: 'gen.sliceAxes',
} as const;

export interface GenerationGraph {
  model: onnx.IModelProto;
  /** True when logits are [batch, 1, vocab] (the last position); false: the model's own [batch, seq, vocab]. */
  lastOnly: boolean;
  /** Graph input names that are past key/values, in graph order. */
  pastInputs: string[];
  /** For each past input, the output that returns its present value (same index). */
  presentOutputs: string[];
  logits: string;
}

/**
 * Rewrites `model` in place when the LM head is a plain MatMul (+ bias) on the final norm's [batch, seq, d] output:
 * a Slice keeps the last position before it. Other shapes of LM head (reshapes around a Gemm) keep full logits, and
 * the generator reads the last row.
 */
export function generationGraph(model: onnx.IModelProto, g: GraphIndex, s: GraphStructure): GenerationGraph {
  const graph = model.graph!;
  const pastInputs = g.inputs.filter((n) => /^past_key_values\.\d+\.(key|value)$/.test(n));
  const outputs = (graph.output ?? []).map((o) => o.name ?? '');
  const presentOutputs = pastInputs.map((n) => n.replace(/^past_key_values/, 'present'));
  const hasPresent = presentOutputs.every((n) => outputs.includes(n));
  const head = s.lmHead;
  const logits = head?.logits ?? 'logits';
  const result: GenerationGraph = { model, lastOnly: false, pastInputs: hasPresent ? pastInputs : [], presentOutputs: hasPresent ? presentOutputs : [], logits };
  if (!head || !s.finalNorm || g.opset < 10 || !outputs.includes(head.logits)) return result;
  const first = g.nodes[head.nodes[0]];
  const plain = first.opType === 'MatMul' && first.input?.[0] === s.finalNorm.output && head.nodes.slice(1).every((i) => g.nodes[i].opType === 'Add');
  if (!plain) return result;
  const big = Number.MAX_SAFE_INTEGER;
  graph.initializer!.push(int64Tensor(GEN.starts, [1], [-1]), int64Tensor(GEN.ends, [1], [big]), int64Tensor(GEN.axes, [1], [1]));
  const slice: onnx.INodeProto = { opType: 'Slice', input: [s.finalNorm.output, GEN.starts, GEN.ends, GEN.axes], output: [GEN.last], name: GEN.last, domain: '' };
  first.input = [GEN.last, ...first.input!.slice(1)];
  // Right before the LM head: every input of the Slice exists by then.
  graph.node!.splice(head.nodes[0], 0, slice);
  const i = graph.output!.findIndex((o) => o.name === head.logits);
  const elem = graph.output![i].type?.tensorType?.elemType ?? 1;
  const vocab = graph.output![i].type?.tensorType?.shape?.dim?.[2];
  graph.output![i] = valueInfo(head.logits, elem, ['batch_size', 1, vocab?.dimValue ? num(vocab.dimValue as Int64) : 'vocab']);
  return { ...result, lastOnly: true };
}
