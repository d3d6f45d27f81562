// The model card's parameter table: the breakdown grouped by part, each with its architecture's formula
// (GPT-2 or Llama family) filled with this model's numbers and checked against the count. No vscode import.
import type { ModelSpec, ParameterBreakdown, ParameterGroup } from '../protocol/analysis';
import type { ModelCardRow } from '../protocol/webview';

interface Formula {
  text: string;
  filled: string;
  value: number;
}

/** The GPT-2 formulas for each part, in this model's numbers. */
export function gpt2Formulas(spec: ModelSpec): Record<string, Formula> {
  const { dModel: d, vocabSize: V, nCtx: n } = spec;
  return {
    tokenEmbedding: { text: 'V × d', filled: `${V} × ${d}`, value: V * d },
    positionEmbedding: { text: 'n_ctx × d', filled: `${n} × ${d}`, value: n * d },
    attention: { text: '4d² + 4d', filled: `4 × ${d}² + 4 × ${d}`, value: 4 * d * d + 4 * d },
    mlp: { text: '8d² + 5d', filled: `8 × ${d}² + 5 × ${d}`, value: 8 * d * d + 5 * d },
    layerNorms: { text: '4d', filled: `4 × ${d}`, value: 4 * d },
    finalNorm: { text: '2d', filled: `2 × ${d}`, value: 2 * d },
    lmHead: { text: 'V × d', filled: `${V} × ${d}`, value: V * d },
  };
}

/**
 * The gated MLP's width m, from layer 0's MLP weights (three d x m matrices). ModelSpec has no intermediate size, and
 * a genai_config.json folder declares none, so the graph is the one source every layout has. Undefined when the count
 * is not a whole 3d·m.
 */
export function mlpWidth(spec: ModelSpec, p: ParameterBreakdown): number | undefined {
  const mlp = p.groups.filter((g) => g.role === 'mlp' && g.layer !== undefined).sort((a, b) => a.layer! - b.layer!)[0];
  const d = spec.dModel;
  if (!mlp || d <= 0) return undefined;
  const m = mlp.weights / (3 * d);
  return Number.isInteger(m) && m > 0 ? m : undefined;
}

/**
 * Whether the attention projections carry biases: qwen2 has them on q, k and v (config.json says nothing, the
 * architecture does); a llama config with attention_bias shows them in the count.
 */
export function hasQkvBias(spec: ModelSpec, p: ParameterBreakdown): boolean {
  return spec.modelType === 'qwen2' || p.groups.some((g) => g.role === 'attention' && g.biases > 0);
}

/**
 * The Llama-family formulas (llama, qwen2): q and out projections d × H·h_d, k and v d × H_kv·h_d (grouped key/value
 * heads), q/k/v biases in qwen2 only, a gated MLP of three d × m matrices, RMS norms with one weight per dimension,
 * no position table.
 */
export function llamaFormulas(spec: ModelSpec, m: number | undefined, qkvBias: boolean): Record<string, Formula> {
  const { dModel: d, vocabSize: V, nHead: H, nKvHeads: K, headDim: h } = spec;
  const weights = 2 * d * H * h + 2 * d * K * h;
  const attention: Formula = qkvBias
    ? { text: '2d·H·h_d + 2d·H_kv·h_d + (H + 2H_kv)·h_d', filled: `2 × ${d} × ${H} × ${h} + 2 × ${d} × ${K} × ${h} + (${H} + 2 × ${K}) × ${h}`, value: weights + (H + 2 * K) * h }
    : { text: '2d·H·h_d + 2d·H_kv·h_d', filled: `2 × ${d} × ${H} × ${h} + 2 × ${d} × ${K} × ${h}`, value: weights };
  const f: Record<string, Formula> = {
    tokenEmbedding: { text: 'V × d', filled: `${V} × ${d}`, value: V * d },
    attention,
    layerNorms: { text: '2d', filled: `2 × ${d}`, value: 2 * d },
    finalNorm: { text: 'd', filled: `${d}`, value: d },
    lmHead: { text: 'V × d', filled: `${V} × ${d}`, value: V * d },
  };
  // m comes from the MLP's own weights, so this checks what else the formula says: no biases, the same width in every
  // layer. Without a whole m the MLP is not three d × m matrices: NaN matches no count, and the card says it differs.
  f.mlp = m !== undefined ? { text: '3d·m', filled: `3 × ${d} × ${m}`, value: 3 * d * m } : { text: '3d·m', filled: '', value: NaN };
  return f;
}

/** Each part's formula for this model's architecture. */
export function partFormulas(spec: ModelSpec, p: ParameterBreakdown): Record<string, Formula> {
  return spec.architecture === 'llama' ? llamaFormulas(spec, mlpWidth(spec, p), hasQkvBias(spec, p)) : gpt2Formulas(spec);
}

/**
 * The whole-model formula and whether it gives the counted total. GPT-2: the core's. Llama family: built from the
 * card's own part formulas, with m read from the graph, because the core takes m from config.json's intermediate_size
 * and a genai_config.json folder has none (its formula then says m=0).
 */
export function wholeModelFormula(spec: ModelSpec, p: ParameterBreakdown): { formula: string; matches: boolean } | undefined {
  const m = spec.architecture === 'llama' ? mlpWidth(spec, p) : undefined;
  if (m === undefined) return p.formula ? { formula: p.formula, matches: p.formulaValue === p.total } : undefined;
  const f = llamaFormulas(spec, m, hasQkvBias(spec, p));
  const { vocabSize: V, dModel: d, nLayer: L } = spec;
  const head = p.tiedLmHead ? 0 : f.lmHead.value;
  const value = f.tokenEmbedding.value + L * (f.attention.value + f.mlp.value + f.layerNorms.value) + f.finalNorm.value + head;
  const n = (x: number) => String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const formula =
    `V·d + L·(${f.attention.text} + ${f.mlp.text} + ${f.layerNorms.text}) + ${f.finalNorm.text}${p.tiedLmHead ? '' : ' + V·d'}` +
    ` with V=${n(V)}, d=${d}, L=${L}, H=${spec.nHead}, H_kv=${spec.nKvHeads}, h_d=${spec.headDim}, m=${n(m)}`;
  return { formula, matches: value === p.total };
}

function partOf(g: ParameterGroup): string {
  if (g.role === 'norm') return g.layer === undefined ? 'finalNorm' : 'layerNorms';
  return g.role;
}

const ORDER = ['tokenEmbedding', 'positionEmbedding', 'attention', 'mlp', 'layerNorms', 'finalNorm', 'lmHead', 'other'];

export function modelCardRows(spec: ModelSpec, p: ParameterBreakdown): ModelCardRow[] {
  const formulas = partFormulas(spec, p);
  const byPart = new Map<string, ParameterGroup[]>();
  for (const g of p.groups) {
    const k = partOf(g);
    byPart.set(k, [...(byPart.get(k) ?? []), g]);
  }
  const rows: ModelCardRow[] = [];
  for (const part of [...ORDER, ...[...byPart.keys()].filter((k) => !ORDER.includes(k))]) {
    const groups = byPart.get(part);
    if (!groups?.length) continue;
    const weights = groups.reduce((s, g) => s + g.weights, 0);
    const biases = groups.reduce((s, g) => s + g.biases, 0);
    const total = weights + biases;
    const layered = groups.every((g) => g.layer !== undefined);
    const sizes = new Set(groups.map((g) => g.weights + g.biases));
    const perLayer = layered && sizes.size === 1 ? groups[0].weights + groups[0].biases : undefined;
    if (part === 'lmHead' && p.tiedLmHead && total === 0) {
      rows.push({ part, tied: true, weights, biases, total, share: 0 });
      continue;
    }
    const f = formulas[part];
    const unit = perLayer ?? (layered ? undefined : total);
    const matches = f !== undefined && unit !== undefined && unit === f.value;
    rows.push({
      part,
      // Our symbolic formula (filled below with the numbers); the core's own text for parts we have none for.
      formula: f?.text ?? groups[0].formula,
      formulaFilled: matches ? f.filled : undefined,
      formulaMatches: f && unit !== undefined ? matches : undefined,
      perLayer,
      layers: layered ? groups.length : undefined,
      weights,
      biases,
      total,
      share: p.total > 0 ? total / p.total : 0,
    });
  }
  return rows;
}
