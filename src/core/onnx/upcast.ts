// Reads a float16 graph (transformers.js' model_fp16.onnx and model_q4f16.onnx) as the float32 graph it was made
// from: every float16 tensor, type and cast becomes float32, so the lens's instrumentation (float32 reductions beside
// the model's own tensors), its JS reading of the embedding and LM head, and the generator's float32 past key/values
// all work on it unchanged. The cost is memory: the weights take float32's four bytes in the runtime, as the fp32
// file's do (an fp16 file needs about twice its bytes; core/model/memory.ts counts that).
//
// Why not run the float16 graph as it is: onnxruntime-web 1.30 (WASM) and onnxruntime-node 1.30 both create and run
// the tiny fp16 and q4f16 test graphs as published (their CPU kernels lack float16 for most ops, and onnxruntime
// inserts Casts to float32 around those nodes itself; MatMulNBits has a float16 kernel), so the upcast is not forced
// by the runtimes. It is by the lens: the nodes it adds read the residual stream, the softmaxes and the final norm
// as float32, and its JS LM head reads float32 weights. Upcasting once keeps one path for every variant.
//
// What the converter (onnxconverter_common's float16, as transformers.js' scripts/float16.py runs it) leaves behind:
// Casts to float16 after the graph inputs and before the outputs (keep_io_types), and Casts around the ops it keeps in
// float32 (its op block list: Cast, Max, Min, CumSum, TopK, Range...). Once everything is float32 those Casts only
// copy, and the ones between float16 and float32 are taken out, so the graph the lens finds its structure in is the
// float32 export's again (a Cast between two float32 tensors that the export itself wrote is kept).
import { onnx } from 'onnx-proto';

const DT = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

/** An int64 field as protobufjs decodes it (a number or a Long); proto.ts's num(), which imports this module. */
const int = (x: unknown): number => (x === null || x === undefined ? 0 : typeof x === 'number' ? x : (x as { toNumber(): number }).toNumber());

export interface UpcastReport {
  /** Float16 tensors converted (initializers and attribute tensors). */
  tensors: number;
  /** Their values: float16 elements that now take four bytes. */
  elements: number;
  /** Casts between float16 and float32 taken out. */
  castsRemoved: number;
}

/** Whether the model holds any float16 tensor, type or cast (the check is a scan; nothing is converted). */
export function hasFloat16(model: onnx.IModelProto): boolean {
  let found = false;
  visitGraph(model.graph, {
    tensor: (t) => {
      if (t.dataType === DT.FLOAT16) found = true;
    },
    valueInfo: (v) => {
      if (v.type?.tensorType?.elemType === DT.FLOAT16) found = true;
    },
    attribute: (n, a) => {
      if (typeAttr(n, a) && int(a.i) === DT.FLOAT16) found = true;
    },
  });
  return found;
}

/**
 * Converts `model` in place from float16 to float32 (see the header); a model without float16 is left as it is.
 * Returns what was converted.
 */
export function upcastFloat16(model: onnx.IModelProto): UpcastReport {
  const report: UpcastReport = { tensors: 0, elements: 0, castsRemoved: 0 };
  if (!model.graph || !hasFloat16(model)) return report;
  // Before anything changes: which Casts convert between float16 and float32.
  const redundant = precisionCasts(model.graph);
  visitGraph(model.graph, {
    tensor: (t) => {
      if (t.dataType !== DT.FLOAT16) return;
      report.elements += toFloat32(t);
      report.tensors++;
    },
    valueInfo: (v) => {
      const tt = v.type?.tensorType;
      if (tt && tt.elemType === DT.FLOAT16) tt.elemType = DT.FLOAT;
    },
    attribute: (n, a) => {
      if (typeAttr(n, a) && int(a.i) === DT.FLOAT16) a.i = DT.FLOAT;
    },
  });
  report.castsRemoved = removeCasts(model.graph, redundant);
  return report;
}

interface Visitor {
  tensor(t: onnx.ITensorProto): void;
  valueInfo(v: onnx.IValueInfoProto): void;
  attribute(n: onnx.INodeProto, a: onnx.IAttributeProto): void;
}

/** Every tensor, value info and node attribute of a graph and of the graphs inside its nodes (If, Loop, Scan). */
function visitGraph(g: onnx.IGraphProto | null | undefined, v: Visitor): void {
  if (!g) return;
  for (const t of g.initializer ?? []) v.tensor(t);
  for (const s of g.sparseInitializer ?? []) if (s.values) v.tensor(s.values);
  for (const vi of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) v.valueInfo(vi);
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      v.attribute(n, a);
      if (a.t) v.tensor(a.t);
      for (const t of a.tensors ?? []) v.tensor(t);
      if (a.sparseTensor?.values) v.tensor(a.sparseTensor.values);
      visitGraph(a.g, v);
      for (const sub of a.graphs ?? []) visitGraph(sub, v);
    }
  }
}

/**
 * An attribute that names an element type: Cast's `to`, and `dtype` (RandomNormal, EyeLike, ...); the
 * `output_dtype`-style names of newer ops too. Tensor-valued attributes (ConstantOfShape's value) are tensors.
 */
function typeAttr(n: onnx.INodeProto, a: onnx.IAttributeProto): boolean {
  if (a.type !== A.INT) return false;
  return (n.opType === 'Cast' && a.name === 'to') || a.name === 'dtype' || a.name === 'output_dtype';
}

// float16 bit patterns -> float32 values, built on first use (256 KB).
let HALF: Float32Array | undefined;

function halfTable(): Float32Array {
  if (HALF) return HALF;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
  HALF = t;
  return t;
}

/** One float16 bit pattern's value (IEEE 754 binary16: subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Rewrites one float16 tensor as float32 raw data (its data already checked against its dims); returns its size. */
function toFloat32(t: onnx.ITensorProto): number {
  const n = (t.dims ?? []).reduce<number>((a, d) => a * int(d), 1);
  const table = halfTable();
  const out = new Float32Array(n);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (raw) {
    // An aligned view when the bytes allow one, else a copy (protobuf slices can start at any offset).
    // (Uint8Array.from: a copy; a Node Buffer's slice() is a view.)
    const bytes = raw.byteOffset % 2 === 0 ? raw : Uint8Array.from(raw);
    const half = new Uint16Array(bytes.buffer, bytes.byteOffset, Math.min(n, bytes.byteLength >> 1));
    for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
  } else {
    // float16 without raw data: one bit pattern per int32_data entry.
    const d = t.int32Data ?? [];
    for (let i = 0; i < n && i < d.length; i++) out[i] = table[d[i] & 0xffff];
  }
  t.dataType = DT.FLOAT;
  t.rawData = new Uint8Array(out.buffer);
  t.int32Data = [];
  return n;
}

// Ops whose output has the element type of their first input (the data input): enough to follow a float16 tensor from
// a typed one to the Cast that ends it (the converter writes no value info for the tensor before an output's Cast).
const SAME_TYPE = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Reciprocal', 'Neg', 'Abs', 'Exp', 'Log', 'Tanh', 'Sigmoid', 'Erf', 'Relu',
  'Gelu', 'FastGelu', 'Softmax', 'LogSoftmax', 'MatMul', 'Gemm', 'MatMulNBits', 'ReduceMean', 'ReduceSum', 'ReduceMax',
  'Reshape', 'Transpose', 'Concat', 'Slice', 'Gather', 'Unsqueeze', 'Squeeze', 'Expand', 'Split', 'Tile', 'Identity',
  'Cos', 'Sin', 'LayerNormalization', 'SimplifiedLayerNormalization', 'SkipSimplifiedLayerNormalization',
  'SkipLayerNormalization', 'RotaryEmbedding', 'GroupQueryAttention', 'MultiHeadAttention', 'Max', 'Min', 'Clip',
]);

/**
 * The Casts of the main graph that convert between float16 and float32 (in either direction), by the element types
 * known before the upcast: graph inputs, initializers, value info, Constants, Casts, and the ops above. A Cast whose
 * input type is not known is left alone (it is a copy after the upcast, only not removed).
 */
function precisionCasts(g: onnx.IGraphProto): Set<onnx.INodeProto> {
  const type = new Map<string, number>();
  for (const v of [...(g.input ?? []), ...(g.valueInfo ?? []), ...(g.output ?? [])]) {
    const e = v.type?.tensorType?.elemType;
    if (v.name && e) type.set(v.name, e);
  }
  for (const t of g.initializer ?? []) if (t.name && t.dataType) type.set(t.name, t.dataType);
  const FLOATS = [DT.FLOAT, DT.FLOAT16];
  const casts = new Set<onnx.INodeProto>();
  for (const n of g.node ?? []) {
    const out = n.output?.[0];
    if (!out) continue;
    if (n.opType === 'Constant') {
      const t = n.attribute?.find((a) => a.t)?.t;
      if (t?.dataType && !type.has(out)) type.set(out, t.dataType);
    } else if (n.opType === 'Cast' && (n.domain ?? '') === '') {
      const to = int(n.attribute?.find((a) => a.name === 'to')?.i);
      const from = type.get(n.input?.[0] ?? '');
      if (from !== undefined && FLOATS.includes(from) && FLOATS.includes(to) && (from === DT.FLOAT16 || to === DT.FLOAT16)) casts.add(n);
      if (!type.has(out)) type.set(out, to);
    } else if (SAME_TYPE.has(n.opType ?? '')) {
      const from = type.get(n.input?.[0] ?? '');
      if (from !== undefined) for (const o of n.output ?? []) if (o && !type.has(o)) type.set(o, from);
    } else if (n.opType === 'Where') {
      const from = type.get(n.input?.[1] ?? '');
      if (from !== undefined && !type.has(out)) type.set(out, from);
    }
  }
  return casts;
}

/**
 * Takes the Casts out of the main graph: each one's consumers read its input instead; where its output is a graph
 * output, the node that made its input writes that output instead. A Cast between a graph input and a graph output
 * stays (a copy). Returns how many were removed.
 */
function removeCasts(g: onnx.IGraphProto, casts: Set<onnx.INodeProto>): number {
  if (!casts.size) return 0;
  const graphInputs = new Set((g.input ?? []).map((v) => v.name ?? ''));
  const graphOutputs = new Set((g.output ?? []).map((v) => v.name ?? ''));
  const initializers = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const rename = new Map<string, string>();
  const resolve = (name: string): string => {
    let r = name;
    for (let seen = 0; rename.has(r) && seen < 1000; seen++) r = rename.get(r)!;
    return r;
  };
  const removed = new Set<onnx.INodeProto>();
  const dropped = new Set<string>();
  for (const n of g.node ?? []) {
    if (!casts.has(n)) continue;
    const input = resolve(n.input?.[0] ?? '');
    const output = n.output?.[0] ?? '';
    if (!input || !output) continue;
    if (!graphOutputs.has(output)) {
      // Consumers (later in the sorted graph, or in subgraphs) read the input.
      rename.set(output, input);
      dropped.add(output);
      removed.add(n);
      continue;
    }
    const maker = producer.get(input);
    if (!maker || graphInputs.has(input) || graphOutputs.has(input) || initializers.has(input)) continue;
    // The input's producer writes the graph output directly, and whatever read the input reads it under that name.
    maker.output = (maker.output ?? []).map((o) => (o === input ? output : o));
    producer.set(output, maker);
    rename.set(input, output);
    dropped.add(input);
    removed.add(n);
  }
  if (!removed.size) return 0;
  g.node = (g.node ?? []).filter((n) => !removed.has(n));
  const renameIn = (graph: onnx.IGraphProto) => {
    for (const n of graph.node ?? []) {
      if (n.input) n.input = n.input.map((i) => (i ? resolve(i) : i));
      for (const a of n.attribute ?? []) {
        if (a.g) renameIn(a.g);
        for (const sub of a.graphs ?? []) renameIn(sub);
      }
    }
  };
  renameIn(g);
  g.valueInfo = (g.valueInfo ?? []).filter((v) => !dropped.has(v.name ?? ''));
  return removed.size;
}
