// The model card's parameter table: the breakdown grouped by part, each with its GPT-2 formula
// filled with this model's numbers and checked against the count. No vscode import.
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

function partOf(g: ParameterGroup): string {
  if (g.role === 'norm') return g.layer === undefined ? 'finalNorm' : 'layerNorms';
  return g.role;
}

const ORDER = ['tokenEmbedding', 'positionEmbedding', 'attention', 'mlp', 'layerNorms', 'finalNorm', 'lmHead', 'other'];

export function modelCardRows(spec: ModelSpec, p: ParameterBreakdown): ModelCardRow[] {
  const formulas = gpt2Formulas(spec);
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
