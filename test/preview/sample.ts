// Dev-only: a hand-made Analysis with the shape of the real one (GPT-2 tokens, structured random
// vectors and attention), for looking at the panels before/without the model.
import { encode, decode } from 'gpt-tokenizer/encoding/r50k_base';
import type { Analysis, AnalyzeOptions, ModelSpec, ParameterBreakdown, InstrumentationReport, Prediction } from '../../src/protocol/analysis';
import { toMatrix } from '../../src/protocol/analysis';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) % 1_000_000) / 1_000_000;
  };
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-9)) * Math.cos(2 * Math.PI * r());

export const spec: ModelSpec = { name: 'lens-tiny', source: 'built-in', modelType: 'gpt2', vocabSize: 8192, dModel: 128, nLayer: 4, nHead: 4, nKvHeads: 4, headDim: 32, architecture: 'gpt2', nCtx: 1024, eosTokenId: 0, fileBytes: 7916167 };

export function parameters(s: ModelSpec = spec): ParameterBreakdown {
  const d = s.dModel;
  const groups: ParameterBreakdown['groups'] = [
    { role: 'tokenEmbedding', weights: s.vocabSize * d, biases: 0, formula: 'V × d', tensors: ['transformer.wte.weight'] },
    { role: 'positionEmbedding', weights: s.nCtx * d, biases: 0, formula: 'n_ctx × d', tensors: ['transformer.wpe.weight'] },
  ];
  for (let l = 0; l < s.nLayer; l++) {
    groups.push({ role: 'attention', layer: l, weights: 4 * d * d, biases: 4 * d, formula: '4d² + 4d', tensors: [`h.${l}.attn.c_attn.weight`] });
    groups.push({ role: 'mlp', layer: l, weights: 8 * d * d, biases: 5 * d, formula: '8d² + 5d', tensors: [`h.${l}.mlp.c_fc.weight`] });
    groups.push({ role: 'norm', layer: l, weights: 2 * d, biases: 2 * d, formula: '4d', tensors: [`h.${l}.ln_1.weight`] });
  }
  groups.push({ role: 'norm', weights: d, biases: d, formula: '2d', tensors: ['ln_f.weight'] });
  const weights = groups.reduce((a, g) => a + g.weights, 0);
  const biases = groups.reduce((a, g) => a + g.biases, 0);
  return { total: weights + biases, weights, biases, groups, tiedLmHead: true };
}

export const instrumentation: InstrumentationReport = {
  tokenEmbedding: 'transformer.wte.weight',
  positionEmbedding: 'transformer.wpe.weight',
  layerInputs: ['/h.0/ln_1/input', '/h.1/ln_1/input', '/h.2/ln_1/input', '/h.3/ln_1/input'],
  attentionProbs: ['/h.0/attn/Softmax_output_0', '/h.1/attn/Softmax_output_0', '/h.2/attn/Softmax_output_0', '/h.3/attn/Softmax_output_0'],
  finalNorm: '/ln_f/LayerNormalization',
  lmHead: '/lm_head/MatMul',
  missing: [],
};

/** A Llama-family model with SmolLM2-135M's shape: 9 query heads on 3 key/value heads, a gated MLP of width 1536, RMS norms, rotary positions. */
export const llamaSpec: ModelSpec = { name: 'SmolLM2-135M', source: 'hf:HuggingFaceTB/SmolLM2-135M@main', modelType: 'llama', vocabSize: 49152, dModel: 576, nLayer: 30, nHead: 9, nKvHeads: 3, headDim: 64, architecture: 'llama', nCtx: 8192, eosTokenId: 0, fileBytes: 538_000_000 };

/** Its parameters as the core counts them: no biases, no position table, the LM head tied to the token embedding. */
export function llamaParameters(s: ModelSpec = llamaSpec, m = 1536): ParameterBreakdown {
  const { dModel: d, nHead: H, nKvHeads: K, headDim: h } = s;
  const groups: ParameterBreakdown['groups'] = [{ role: 'tokenEmbedding', weights: s.vocabSize * d, biases: 0, formula: 'V·d', tensors: ['model.embed_tokens.weight'] }];
  for (let l = 0; l < s.nLayer; l++) {
    groups.push({ role: 'attention', layer: l, weights: 2 * d * H * h + 2 * d * K * h, biases: 0, formula: '2d·H·h_d + 2d·H_kv·h_d', tensors: [`model.layers.${l}.self_attn.q_proj.weight`] });
    groups.push({ role: 'mlp', layer: l, weights: 3 * d * m, biases: 0, formula: '3d·m', tensors: [`model.layers.${l}.mlp.gate_proj.weight`] });
    groups.push({ role: 'norm', layer: l, weights: 2 * d, biases: 0, formula: '2d', tensors: [`model.layers.${l}.input_layernorm.weight`] });
  }
  groups.push({ role: 'norm', weights: d, biases: 0, formula: 'd', tensors: ['model.norm.weight'] });
  groups.push({ role: 'lmHead', weights: 0, biases: 0, formula: 'tied to the token embedding: counted once', tensors: ['model.embed_tokens.weight'] });
  const weights = groups.reduce((a, g) => a + g.weights, 0);
  const biases = groups.reduce((a, g) => a + g.biases, 0);
  return { total: weights + biases, weights, biases, groups, tiedLmHead: true };
}

export const llamaInstrumentation: InstrumentationReport = {
  tokenEmbedding: 'model.embed_tokens.weight',
  layerInputs: Array.from({ length: 30 }, (_, l) => (l === 0 ? '/model/embed_tokens/Gather_output_0' : `/model/layers.${l - 1}/Add_1_output_0`)),
  attentionProbs: Array.from({ length: 30 }, (_, l) => `/model/layers.${l}/attn/GroupQueryAttention_output_3`),
  finalNorm: '/model/norm/SimplifiedLayerNormalization_output_0',
  lmHead: 'model.embed_tokens.weight',
  lmHeadTied: 'same',
  missing: [],
  opset: 21,
  layerNorm: 'rmsFused',
  layers: 30,
};

const cos = (a: number[], b: number[]) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb || 1);
};
const norm = (a: number[]) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));

export function sampleAnalysis(text: string, o: AnalyzeOptions = {}, s: ModelSpec = spec): Analysis {
  const ids = encode(text);
  const enc = new TextEncoder();
  let pos = 0;
  const tokens = ids.map((id, index) => {
    const t = decode([id]);
    const partial = t.includes('\ufffd');
    const len = partial ? (index + 1 < ids.length && decode([id, ids[index + 1]]).includes('\ufffd') ? 0 : 1) : t.length;
    const tok = { index, id, text: t, bytes: partial ? [0xe2, 0x80 + (index % 16)] : Array.from(enc.encode(t)), start: pos, end: Math.min(text.length, pos + Math.max(len, partial ? 1 : 0)), partial };
    pos = tok.end;
    return tok;
  });
  const T = tokens.length, d = s.dModel, L = s.nLayer, H = s.nHead;
  const vec = (seed: number, scale: number) => { const r = rng(seed); return Array.from({ length: d }, () => gauss(r) * scale); };
  const embeddings = tokens.map((t, i) => { const a = vec(t.id * 7 + 1, 0.12), p = vec(1000003 + i, 0.03); return a.map((x, k) => x + p[k] + (k === 17 ? 0.6 : 0)); });
  const embeddingNorms = tokens.map((t) => norm(vec(t.id * 7 + 1, 0.12)));
  const hidden: number[][][] = [embeddings];
  for (let l = 1; l <= L; l++) hidden.push(hidden[l - 1].map((v, i) => { const r = rng(l * 7919 + i * 31); return v.map((x, k) => x * 1.1 + gauss(r) * 0.08 * l + (k === 42 ? l * 0.5 : 0)); }));
  const hiddenNorms = hidden.map((layer) => layer.map(norm));
  const layerCosine = Array.from({ length: L }, (_, l) => hidden[l].map((v, i) => cos(v, hidden[l + 1][i])));
  const vocab = Array.from(new Set(ids)).slice(0, 200);
  const pred = (seed: number, k: number): Prediction[] => { const r = rng(seed); const ps = Array.from({ length: k }, () => r() ** 2).sort((a, b) => b - a); const z = ps.reduce((a, b) => a + b, 0) * 1.4; return ps.map((p) => { const id = vocab[Math.floor(r() * vocab.length)]; return { id, text: decode([id]), prob: p / z }; }); };
  const k = o.topK ?? 5;
  const logitLens = Array.from({ length: L + 1 }, (_, l) => tokens.map((_, i) => pred(l * 100003 + i, k)));
  const predictions = tokens.map((_, i) => {
    const top = logitLens[L][i];
    const next = tokens[i + 1];
    if (!next) return { top };
    const r = rng(i * 13 + 5)();
    const prob = Math.min(0.95, r ** 3 + 0.0005);
    return { top: i % 3 === 0 ? [{ id: next.id, text: next.text, prob }, ...top.slice(0, k - 1)] : top, actual: { id: next.id, prob, surprisalBits: -Math.log2(prob), rank: i % 3 === 0 ? 0 : Math.floor(r * 40) } };
  });
  const similarity = embeddings.map((a) => embeddings.map((b) => cos(a, b)));
  const attnFor = (l: number, h: number) => tokens.map((_, q) => {
    const r = rng(l * 1000 + h * 100 + q);
    const w = Array.from({ length: T }, (_, kk) => { if (kk > q) return 0; let x = r() * 0.5; if (h === 0 && kk === q - 1) x += 4; if (h === 1 && kk === 0) x += 3; if (h === 2 && tokens[kk].id === tokens[q].id) x += 3; if (h === 3) x += 1 / (1 + q - kk); return Math.exp(x * (1 + l * 0.5)); });
    const z = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / z);
  });
  const layers = o.attentionLayers ?? [];
  const attention: Analysis['attention'] = [];
  for (const l of layers) {
    const heads = Array.from({ length: H }, (_, h) => attnFor(l, h));
    heads.forEach((weights, h) => attention.push({ layer: l, head: h, weights: toMatrix(weights) }));
    attention.push({ layer: l, head: -1, weights: toMatrix(heads[0].map((row, q) => row.map((_, kk) => heads.reduce((a, m) => a + m[q][kk], 0) / H))) });
  }
  const thumb = (m: number[][]) => { const n = Math.min(32, m.length); const f = m.length / n; return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => { let sum = 0, cnt = 0; for (let i = Math.floor(r * f); i < Math.floor((r + 1) * f); i++) for (let j = Math.floor(c * f); j < Math.floor((c + 1) * f); j++) { sum += m[i][j]; cnt++; } return cnt ? sum / cnt : 0; })); };
  const attentionThumbnails = o.attentionThumbnails ? Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => thumb(attnFor(l, h)))) : undefined;
  const ci = o.chosenToken;
  const chosen = ci !== undefined && ci >= 0 && ci < T ? { index: ci, hidden: hidden.map((layer) => layer[ci]), neighbours: pred(ci * 17, o.neighbours ?? 8).map((p, j) => ({ id: p.id, text: p.text, cosine: 0.9 - j * 0.07 })) } : undefined;
  const pl = o.pcaLayer ?? -1;
  const src = pl < 0 ? embeddings : hidden[pl];
  const u = vec(99, 1), v = vec(98, 1);
  const points = src.map((x) => [cos(x, u) * norm(x), cos(x, v) * norm(x)] as [number, number]);
  return { model: s, text, tokens, embeddings: toMatrix(embeddings), embeddingNorms, hiddenNorms, layerCosine, logitLens, predictions, similarity: toMatrix(similarity), attention, attentionThumbnails, chosen, pca: { layer: pl, points, explained: [0.31, 0.17] }, timings: { tokenizeMs: 0.4, runMs: 42, reduceMs: 6 } };
}
