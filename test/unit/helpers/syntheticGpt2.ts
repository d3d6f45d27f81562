// Builds small GPT-2-like ONNX graphs with random weights, exported in different styles, for tests and benchmarks.
import { onnx, node, floatTensor, int64Tensor, uint8Tensor, valueInfo, DataType } from '../../../src/core/onnx/build';
import { mulberry32 } from '../../../src/core/common/random';

export interface SyntheticOptions {
  vocab: number;
  dModel: number;
  nLayer: number;
  nHead: number;
  nCtx: number;
  /** Default opset import. LayerNormalization is fused only at >= 17. */
  opset?: number;
  layerNorm?: 'fused' | 'decomposed';
  /**
   * How the LM head reuses (or not) the token embedding: 'transposedCopy' stores E^T as its own
   * initializer (what constant folding in torch.onnx does), 'transposeNode' keeps a Transpose of E,
   * 'gemm' uses Gemm(transB=1) on E, 'untied' a separate random matrix.
   */
  lmHead?: 'transposedCopy' | 'transposeNode' | 'gemm' | 'untied';
  /** past_key_values.{i}.key/value inputs and present.{i}.* outputs. */
  past?: boolean;
  /** HF-style causal-mask buffers `h.{i}.attn.bias` [1,1,nCtx,nCtx] (constants, not parameters). */
  maskBuffers?: boolean;
  /** 'hf' keeps parameter names; 'anonymous' renames weights like torch's `onnx::MatMul_123`. */
  names?: 'hf' | 'anonymous';
  gelu?: 'tanh' | 'erf';
  /**
   * What stands between the attention Softmax and the MatMul with V: nothing, or the NaN guard of newer optimum
   * exports with a boolean mask, `Where(IsNaN(p), 0, p)`, optionally followed by a Cast.
   */
  probsGuard?: 'none' | 'isNaN' | 'isNaNCast';
  seed?: number;
  /** Scale of random weights. */
  scale?: number;
}

export interface SyntheticModel {
  bytes: Uint8Array;
  /** What PyTorch would count: tied weights once, buffers not at all. */
  parameterCount: number;
  config: Record<string, unknown>;
  options: Required<SyntheticOptions>;
}


export function buildSyntheticGpt2(opts: SyntheticOptions): SyntheticModel {
  const o: Required<SyntheticOptions> = {
    opset: 17,
    layerNorm: 'fused',
    lmHead: 'transposedCopy',
    past: true,
    maskBuffers: false,
    names: 'hf',
    gelu: 'tanh',
    probsGuard: 'none',
    seed: 1,
    scale: 0.08,
    ...opts,
  };
  if (o.layerNorm === 'fused' && o.opset < 17) throw new Error('fused LayerNormalization needs opset 17');
  const { vocab: V, dModel: d, nLayer: L, nHead: H, nCtx } = o;
  const hd = d / H;
  const rand = mulberry32(o.seed);
  const randn = (n: number, scale = o.scale) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale * 1.7;
    return a;
  };
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let anon = 100;
  const pname = (hf: string, op: string) => (o.names === 'hf' ? hf : `onnx::${op}_${anon++}`);
  let params = 0;
  const param = (name: string, dims: number[], data?: Float32Array) => {
    const n = dims.reduce((a, b) => a * b, 1);
    inits.push(floatTensor(name, dims, data ?? randn(n)));
    params += n;
    return name;
  };
  const constF = (name: string, v: number) => {
    inits.push(floatTensor(name, [], [v]));
    return name;
  };
  const constI = (name: string, v: number[]) => {
    inits.push(int64Tensor(name, [v.length], v));
    return name;
  };
  let tmp = 0;
  const t = (hint: string) => `/${hint}_${tmp++}`;
  // Ops whose axes moved from attribute to input: ReduceMean at 18, Unsqueeze/Squeeze at 13.
  const reduceMean = (x: string, out: string) => {
    if (o.opset >= 18) nodes.push(node('ReduceMean', [x, constI(t('axes'), [-1])], [out], { keepdims: 1 }));
    else nodes.push(node('ReduceMean', [x], [out], { axes: [-1], keepdims: 1 }));
  };
  const layerNorm = (x: string, prefix: string): string => {
    const w = param(`${prefix}.weight`, [d], Float32Array.from({ length: d }, () => 1 + (rand() - 0.5) * 0.2));
    const b = param(`${prefix}.bias`, [d], randn(d, 0.05));
    const out = t(`${prefix}/out`);
    if (o.layerNorm === 'fused') {
      nodes.push(node('LayerNormalization', [x, w, b], [out], { axis: -1, epsilon: 1e-5 }));
      return out;
    }
    const mean = t('mean'), diff = t('diff'), sq = t('sq'), v = t('var'), ve = t('vareps'), sd = t('std'), n = t('norm'), sc = t('scaled');
    reduceMean(x, mean);
    nodes.push(node('Sub', [x, mean], [diff]));
    nodes.push(node('Pow', [diff, constF(t('two'), 2)], [sq]));
    reduceMean(sq, v);
    nodes.push(node('Add', [v, constF(t('eps'), 1e-5)], [ve]));
    nodes.push(node('Sqrt', [ve], [sd]));
    nodes.push(node('Div', [diff, sd], [n]));
    nodes.push(node('Mul', [n, w], [sc]));
    nodes.push(node('Add', [sc, b], [out]));
    return out;
  };
  const linear = (x: string, prefix: string, nIn: number, nOut: number): string => {
    const w = param(pname(`${prefix}.weight`, 'MatMul'), [nIn, nOut]);
    const b = param(pname(`${prefix}.bias`, 'Add'), [nOut], randn(nOut, 0.02));
    const mm = t(`${prefix}/mm`), out = t(`${prefix}/out`);
    nodes.push(node('MatMul', [x, w], [mm]));
    nodes.push(node('Add', [b, mm], [out]));
    return out;
  };

  const inputs: onnx.IValueInfoProto[] = [
    valueInfo('input_ids', DataType.INT64, ['batch', 'seq']),
    valueInfo('attention_mask', DataType.INT64, ['batch', 'total']),
    valueInfo('position_ids', DataType.INT64, ['batch', 'seq']),
  ];
  const outputs: onnx.IValueInfoProto[] = [valueInfo('logits', DataType.FLOAT, ['batch', 'seq', V])];

  const wteData = randn(V * d, 0.1);
  const wte = param('transformer.wte.weight', [V, d], wteData);
  const wpe = param('transformer.wpe.weight', [nCtx, d], randn(nCtx * d, 0.02));
  nodes.push(node('Gather', [wte, 'input_ids'], ['/wte/out']));
  nodes.push(node('Gather', [wpe, 'position_ids'], ['/wpe/out']));
  nodes.push(node('Add', ['/wte/out', '/wpe/out'], ['/embed/out']));

  // Additive padding mask from attention_mask: (1 - m) * -1e4, as [batch, 1, 1, total].
  const amF = t('am_f'), amInv = t('am_inv'), amAdd = t('am_add'), amU = t('am_u');
  nodes.push(node('Cast', ['attention_mask'], [amF], { to: DataType.FLOAT }));
  nodes.push(node('Sub', [constF(t('one'), 1), amF], [amInv]));
  nodes.push(node('Mul', [amInv, constF(t('neg'), -1e4)], [amAdd]));
  if (o.opset >= 13) nodes.push(node('Unsqueeze', [amAdd, constI(t('ax'), [1, 2])], [amU]));
  else nodes.push(node('Unsqueeze', [amAdd], [amU], { axes: [1, 2] }));

  // Causal mask from shapes when there is no buffer: key position <= query position + past.
  let sharedCausal: string | undefined;
  const causalFromShapes = (scores: string): string => {
    if (sharedCausal) return sharedCausal;
    const shp = t('shape'), tq = t('tq'), tk = t('tk'), past = t('pastlen'), rq = t('rq'), rk = t('rk'), rq2 = t('rq2'), rqc = t('rqc'), gt = t('gt'), ok = t('ok');
    nodes.push(node('Shape', [scores], [shp]));
    nodes.push(node('Gather', [shp, constI(t('i2'), [2])], [tq], { axis: 0 }));
    nodes.push(node('Gather', [shp, constI(t('i3'), [3])], [tk], { axis: 0 }));
    nodes.push(node('Sub', [tk, tq], [past]));
    const zero = int64Tensor(t('zero'), [], [0]), oneI = int64Tensor(t('onei'), [], [1]);
    inits.push(zero, oneI);
    const tkS = t('tks'), tqS = t('tqs'), pastS = t('pasts');
    for (const [a, b] of [[tk, tkS], [tq, tqS], [past, pastS]]) {
      if (o.opset >= 13) nodes.push(node('Squeeze', [a, constI(t('ax0'), [0])], [b]));
      else nodes.push(node('Squeeze', [a], [b], { axes: [0] }));
    }
    nodes.push(node('Range', [zero.name!, tqS, oneI.name!], [rq]));
    nodes.push(node('Add', [rq, pastS], [rq2]));
    nodes.push(node('Range', [zero.name!, tkS, oneI.name!], [rk]));
    if (o.opset >= 13) nodes.push(node('Unsqueeze', [rq2, constI(t('ax1'), [1])], [rqc]));
    else nodes.push(node('Unsqueeze', [rq2], [rqc], { axes: [1] }));
    nodes.push(node('Greater', [rk, rqc], [gt]));
    nodes.push(node('Not', [gt], [ok]));
    sharedCausal = ok;
    return ok;
  };
  // HF's older GPT-2: a [1,1,nCtx,nCtx] buffer sliced to [.., past:past+T, :total].
  const causalFromBuffer = (scores: string, layer: number): string => {
    const buf = `transformer.h.${layer}.attn.bias`;
    const tri = new Uint8Array(nCtx * nCtx);
    for (let i = 0; i < nCtx; i++) for (let j = 0; j <= i; j++) tri[i * nCtx + j] = 1;
    inits.push(uint8Tensor(buf, [1, 1, nCtx, nCtx], tri));
    const shp = t('shape'), tq = t('tq'), tk = t('tk'), st = t('start'), sl = t('slice'), sl2 = t('slice2'), b = t('bool');
    nodes.push(node('Shape', [scores], [shp]));
    nodes.push(node('Gather', [shp, constI(t('i2'), [2])], [tq], { axis: 0 }));
    nodes.push(node('Gather', [shp, constI(t('i3'), [3])], [tk], { axis: 0 }));
    nodes.push(node('Sub', [tk, tq], [st]));
    nodes.push(node('Slice', [buf, st, tk, constI(t('ax2'), [2])], [sl]));
    nodes.push(node('Slice', [sl, constI(t('z'), [0]), tk, constI(t('ax3'), [3])], [sl2]));
    nodes.push(node('Cast', [sl2], [b], { to: DataType.BOOL }));
    return b;
  };

  let h = '/embed/out';
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}`;
    const a = layerNorm(h, `${p}.ln_1`);
    const qkv = linear(a, `${p}.attn.c_attn`, d, 3 * d);
    const heads: string[] = [];
    for (let j = 0; j < 3; j++) {
      const s = t(`${p}/attn/slice${j}`), r = t(`${p}/attn/reshape${j}`), tr = t(`${p}/attn/transpose${j}`);
      nodes.push(node('Slice', [qkv, constI(t('st'), [j * d]), constI(t('en'), [(j + 1) * d]), constI(t('ax'), [2])], [s]));
      nodes.push(node('Reshape', [s, constI(t('shape'), [0, 0, H, hd])], [r]));
      nodes.push(node('Transpose', [r], [tr], { perm: [0, 2, 1, 3] }));
      heads.push(tr);
    }
    const q = heads[0];
    let [, k, v] = heads;
    if (o.past) {
      const pk = `past_key_values.${i}.key`, pv = `past_key_values.${i}.value`;
      inputs.push(valueInfo(pk, DataType.FLOAT, ['batch', H, 'past', hd]), valueInfo(pv, DataType.FLOAT, ['batch', H, 'past', hd]));
      const k2 = `present.${i}.key`, v2 = `present.${i}.value`;
      nodes.push(node('Concat', [pk, k], [k2], { axis: 2 }));
      nodes.push(node('Concat', [pv, v], [v2], { axis: 2 }));
      outputs.push(valueInfo(k2, DataType.FLOAT, ['batch', H, 'total', hd]), valueInfo(v2, DataType.FLOAT, ['batch', H, 'total', hd]));
      k = k2;
      v = v2;
    }
    const kt = t(`${p}/attn/kt`), sc = t(`${p}/attn/scores`), scs = t(`${p}/attn/scaled`), msk = t(`${p}/attn/masked`), pm = t(`${p}/attn/padded`), pr = t(`${p}/attn/probs`);
    nodes.push(node('Transpose', [k], [kt], { perm: [0, 1, 3, 2] }));
    nodes.push(node('MatMul', [q, kt], [sc]));
    nodes.push(node('Div', [sc, constF(t('sqrt_hd'), Math.sqrt(hd))], [scs]));
    const causal = o.maskBuffers ? causalFromBuffer(scs, i) : causalFromShapes(scs);
    nodes.push(node('Where', [causal, scs, constF(t('minf'), -3.4028234663852886e38)], [msk]));
    nodes.push(node('Add', [msk, amU], [pm]));
    nodes.push(node('Softmax', [pm], [pr], { axis: o.opset >= 13 ? -1 : 3 }));
    let probs = pr;
    if (o.probsGuard !== 'none') {
      const nan = t(`${p}/attn/isnan`), guarded = t(`${p}/attn/guarded`);
      nodes.push(node('IsNaN', [pr], [nan]));
      nodes.push(node('Where', [nan, constF(t('zero'), 0), pr], [guarded]));
      probs = guarded;
      if (o.probsGuard === 'isNaNCast') {
        const cast = t(`${p}/attn/cast`);
        nodes.push(node('Cast', [guarded], [cast], { to: DataType.FLOAT }));
        probs = cast;
      }
    }
    const ctx = t(`${p}/attn/ctx`), ctxT = t(`${p}/attn/ctxT`), ctxR = t(`${p}/attn/merged`);
    nodes.push(node('MatMul', [probs, v], [ctx]));
    nodes.push(node('Transpose', [ctx], [ctxT], { perm: [0, 2, 1, 3] }));
    nodes.push(node('Reshape', [ctxT, constI(t('shape'), [0, 0, d])], [ctxR]));
    const ao = linear(ctxR, `${p}.attn.c_proj`, d, d);
    const mid = t(`${p}/resid1`);
    nodes.push(node('Add', [h, ao], [mid]));
    const m = layerNorm(mid, `${p}.ln_2`);
    const f = linear(m, `${p}.mlp.c_fc`, d, 4 * d);
    const g = gelu(f);
    const mo = linear(g, `${p}.mlp.c_proj`, 4 * d, d);
    const next = t(`${p}/resid2`);
    nodes.push(node('Add', [mid, mo], [next]));
    h = next;
  }
  const hf = layerNorm(h, 'transformer.ln_f');
  const logits3 = 'logits';
  switch (o.lmHead) {
    case 'transposedCopy': {
      const tr = new Float32Array(V * d);
      for (let r = 0; r < V; r++) for (let c = 0; c < d; c++) tr[c * V + r] = wteData[r * d + c];
      // Not a parameter of its own: PyTorch counts the tied matrix once.
      inits.push(floatTensor(o.names === 'hf' ? 'lm_head.weight_T' : `onnx::MatMul_${anon++}`, [d, V], tr));
      nodes.push(node('MatMul', [hf, inits[inits.length - 1].name!], [logits3]));
      break;
    }
    case 'transposeNode':
      nodes.push(node('Transpose', [wte], ['/lm_head/wT'], { perm: [1, 0] }));
      nodes.push(node('MatMul', [hf, '/lm_head/wT'], [logits3]));
      break;
    case 'gemm': {
      const flat = t('flat');
      nodes.push(node('Reshape', [hf, constI(t('shape'), [-1, d])], [flat]));
      nodes.push(node('Gemm', [flat, wte], ['/lm_head/gemm'], { transB: 1 }));
      const shp = t('shp'), bt = t('bt');
      nodes.push(node('Shape', ['input_ids'], [shp]));
      nodes.push(node('Concat', [shp, constI(t('v'), [V])], [bt], { axis: 0 }));
      nodes.push(node('Reshape', ['/lm_head/gemm', bt], [logits3]));
      break;
    }
    case 'untied':
      param(pname('lm_head.weight', 'MatMul'), [d, V]);
      nodes.push(node('MatMul', [hf, inits[inits.length - 1].name!], [logits3]));
      break;
  }

  function gelu(x: string): string {
    const out = t('gelu');
    if (o.gelu === 'erf') {
      const a = t('g'), b = t('g'), c = t('g'), e = t('g');
      nodes.push(node('Div', [x, constF(t('c'), Math.SQRT2)], [a]));
      nodes.push(node('Erf', [a], [b]));
      nodes.push(node('Add', [b, constF(t('c'), 1)], [c]));
      nodes.push(node('Mul', [x, c], [e]));
      nodes.push(node('Mul', [e, constF(t('c'), 0.5)], [out]));
      return out;
    }
    const p3 = t('g'), m1 = t('g'), a1 = t('g'), m2 = t('g'), th = t('g'), a2 = t('g'), m3 = t('g');
    nodes.push(node('Pow', [x, constF(t('c'), 3)], [p3]));
    nodes.push(node('Mul', [p3, constF(t('c'), 0.044715)], [m1]));
    nodes.push(node('Add', [x, m1], [a1]));
    nodes.push(node('Mul', [a1, constF(t('c'), Math.sqrt(2 / Math.PI))], [m2]));
    nodes.push(node('Tanh', [m2], [th]));
    nodes.push(node('Add', [th, constF(t('c'), 1)], [a2]));
    nodes.push(node('Mul', [x, a2], [m3]));
    nodes.push(node('Mul', [m3, constF(t('c'), 0.5)], [out]));
    return out;
  }

  const model: onnx.IModelProto = {
    irVersion: o.opset >= 17 ? 8 : 7,
    producerName: 'lens-synthetic',
    opsetImport: [{ domain: '', version: o.opset }],
    graph: { name: 'synthetic_gpt2', node: nodes, initializer: inits, input: inputs, output: outputs },
  };
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  return {
    bytes,
    parameterCount: params,
    options: o,
    config: {
      model_type: 'gpt2',
      vocab_size: V,
      n_embd: d,
      n_layer: L,
      n_head: H,
      n_positions: nCtx,
      n_ctx: nCtx,
      layer_norm_epsilon: 1e-5,
      tie_word_embeddings: o.lmHead !== 'untied',
      bos_token_id: 0,
      eos_token_id: 0,
    },
  };
}

/** Expected GPT-2 parameter count: the formula the breakdown must reproduce. */
export function gpt2ParameterCount(V: number, d: number, L: number, nCtx: number, tied = true): number {
  return V * d + nCtx * d + L * (12 * d * d + 13 * d) + 2 * d + (tied ? 0 : V * d);
}
