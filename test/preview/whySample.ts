// Dev-only: hand-made answers of the Why tab (WhyResult, OccludeResult) with the shape of the worker's, for the
// classic "why Mary and not John" sentence: the panel's Why views drawn before (or without) the worker's handlers.
import { encode, decode } from 'gpt-tokenizer/encoding/r50k_base';
import type { Analysis, Prediction } from '../../src/protocol/analysis';
import type { Intervention, OccludeResult, WhyComponent, WhyResult } from '../../src/protocol/why';

export const WHY_TEXT = 'When Mary and John went to the store, John gave a drink to Mary. They both smiled.';

const tok = (text: string) => ({ id: encode(text)[0], text });
const pred = (text: string, p: number): Prediction => ({ ...tok(text), prob: p });

/** The position of the token after which the sample explains the prediction: " to" before " Mary". */
export function whyPosition(a: Analysis): number {
  const i = a.tokens.findIndex((t, k) => t.text === ' to' && a.tokens[k + 1]?.text === ' Mary');
  return i >= 0 ? i : a.tokens.length - 1;
}

export function sampleWhy(a: Analysis, position: number, interventions: Intervention[] = []): WhyResult {
  const L = a.model.nLayer;
  const H = a.model.nHead;
  const off = (l: number, h?: number) => interventions.some((iv) => (iv.kind === 'head' && iv.layer === l && iv.head === h) || (h === undefined && iv.kind !== 'edge' && iv.kind !== 'head' && iv.layer === l));
  // Head 3.1 moves the name that was not repeated (a name mover); 2.3 holds back the repeated one.
  const base = [
    [0.12, -0.08, 0.21, 0.05],
    [0.31, 0.18, -0.22, 0.09],
    [0.44, -0.12, 0.27, -0.96],
    [0.35, 2.14, -0.41, 0.62],
  ];
  const heads = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => (off(l, h) ? 0 : (base[l % 4][h % 4] ?? 0) * (1 + Math.floor(l / 4) * 0.1))));
  const attention = heads.map((row) => row.reduce((x, y) => x + y, 0));
  const mlpBase = [0.18, -0.34, 0.87, 0.52];
  const mlp = Array.from({ length: L }, (_, l) => (interventions.some((iv) => iv.kind === 'mlp' && iv.layer === l) ? 0 : mlpBase[l % 4]));
  attention.forEach((_, l) => {
    if (interventions.some((iv) => iv.kind === 'attention' && iv.layer === l)) {
      attention[l] = 0;
      heads[l] = heads[l].map(() => 0);
    }
  });
  const embedding = 0.07;
  const bias = -0.11;
  const sum = embedding + bias + attention.reduce((x, y) => x + y, 0) + mlp.reduce((x, y) => x + y, 0);
  const comps: WhyComponent[] = [
    { kind: 'embedding', value: embedding },
    { kind: 'bias', value: bias },
    ...attention.map((v, l) => ({ kind: 'attention' as const, layer: l, value: v })),
    ...mlp.map((v, l) => ({ kind: 'mlp' as const, layer: l, value: v })),
    ...heads.flatMap((row, l) => row.map((v, h) => ({ kind: 'head' as const, layer: l, head: h, value: v }))),
  ];
  const top = comps
    .filter((c) => c.kind !== 'attention')
    .sort((p, q) => Math.abs(q.value) - Math.abs(p.value))
    .slice(0, 8);
  const intervened = interventions.length > 0;
  const clean: Prediction[] = [pred(' Mary', 0.41), pred(' John', 0.12), pred(' them', 0.061), pred(' the', 0.048), pred(' her', 0.037), pred(' him', 0.029), pred(' a', 0.022), pred(' his', 0.017), pred(' Sarah', 0.011), pred(' everyone', 0.009)];
  const hurt: Prediction[] = [pred(' John', 0.19), pred(' Mary', 0.16), pred(' the', 0.071), pred(' them', 0.066), pred(' her', 0.044), pred(' him', 0.038), pred(' a', 0.031), pred(' his', 0.02), pred(' it', 0.013), pred(' Sarah', 0.012)];
  const topList = intervened ? hurt : clean;
  const lens: Prediction[][] = [
    [pred(' the', 0.08), pred(' be', 0.05), pred(' a', 0.04), pred(' get', 0.03), pred(' and', 0.02)],
    [pred(' the', 0.12), pred(' a', 0.07), pred(' them', 0.05), pred(' him', 0.03), pred(' her', 0.03)],
    [pred(' her', 0.14), pred(' the', 0.1), pred(' them', 0.07), pred(' Mary', 0.05), pred(' John', 0.05)],
    [pred(' John', 0.2), pred(' Mary', 0.18), pred(' her', 0.09), pred(' the', 0.06), pred(' them', 0.04)],
  ];
  while (lens.length < L) lens.push(lens[lens.length - 1]);
  lens.length = L;
  lens.push(topList.slice(0, 5));
  const rank = (final: number, path: number[]) => Array.from({ length: L + 1 }, (_, l) => (l === L ? final : path[Math.min(l, path.length - 1)]));
  const surprisal = a.predictions.map((_, i) => (i === 0 ? NaN : (a.predictions[i - 1]?.actual?.surprisalBits ?? 6)));
  // The clean run reads " Mary" easily; switching the name mover off makes it (and a little of the rest) harder.
  const cleanSurprisal = surprisal.map((b, i) => (i === position + 1 ? 1.29 : b));
  const hurtSurprisal = cleanSurprisal.map((b, i) => (Number.isFinite(b) ? (i === position + 1 ? 2.64 : b + (i % 5) * 0.04) : b));
  const maryP = intervened ? 0.16 : 0.41;
  const johnP = intervened ? 0.19 : 0.12;
  const diff = intervened ? [0.02, -0.18, -0.47, -0.62, -0.17] : [0.02, 0.11, 0.36, -0.07, 1.23];
  while (diff.length < L + 1) diff.splice(diff.length - 1, 0, diff[diff.length - 2]);
  diff.length = L + 1;
  return {
    tokens: a.tokens.map((t) => ({ id: t.id, text: t.text })),
    position,
    interventions,
    top: topList,
    ...(intervened ? { cleanTop: clean, cleanSurprisal } : {}),
    surprisal: intervened ? hurtSurprisal : cleanSurprisal,
    lens,
    targets: [
      { text: ' Mary', tokenIds: [tok(' Mary').id], tokens: [' Mary'], prob: maryP, logProb: Math.log(maryP), rankByLayer: rank(intervened ? 2 : 1, [812, 95, 4, 2]), logitByLayer: rank(8.1, [1.2, 3.4, 5.9, 7.2]) },
      { text: ' John', tokenIds: [tok(' John').id], tokens: [' John'], prob: johnP, logProb: Math.log(johnP), rankByLayer: rank(intervened ? 1 : 2, [640, 41, 5, 1]), logitByLayer: rank(6.9, [1.1, 3.3, 5.5, 7.3]) },
      ...(intervened ? [] : [{ text: ' Mary Ann', tokenIds: encode(' Mary Ann'), tokens: encode(' Mary Ann').map((id) => decode([id])), prob: 0.0031, logProb: Math.log(0.0031), rankByLayer: rank(1, [812, 95, 4, 2]), logitByLayer: rank(8.1, [1.2, 3.4, 5.9, 7.2]) }]),
    ],
    risers: [
      { ...tok(' her'), bestRank: 1, layer: 2, finalRank: 5 },
      { ...tok(' Sarah'), bestRank: 3, layer: 1, finalRank: 9 },
      { ...tok(' everyone'), bestRank: 4, layer: 2, finalRank: 10 },
    ],
    difference: diff,
    attribution: { label: ' Mary − John', tokenIds: [tok(' Mary').id, tok(' John').id], total: sum, sum, embedding, attention, mlp, heads, bias, top, normScale: 0.1834 },
    timings: { runMs: 38, totalMs: 46 },
  };
}

/** Occlusion of the context before `position`: the first " Mary" carries the prediction, the repeated " John" works against it. */
export function sampleOcclusion(a: Analysis, position: number): OccludeResult {
  const delta = a.tokens.map((t, i) => {
    if (i > position) return NaN;
    const k = a.tokens.slice(0, i).filter((x) => x.text === t.text).length;
    if (t.text === ' Mary') return -2.41;
    if (t.text === ' John') return k === 0 ? -0.38 : 1.12;
    if (t.text === ' gave') return -0.63;
    if (t.text === ' drink') return -0.29;
    if (t.text === ' to' && i === position) return -0.84;
    return (((i * 37) % 11) - 5) * 0.03;
  });
  return {
    tokens: a.tokens.map((t) => ({ id: t.id, text: t.text })),
    position,
    target: { text: ' Mary', tokenIds: [tok(' Mary').id], logProb: Math.log(0.41) },
    method: 'mask',
    delta,
    occluded: position + 1,
    skipped: 0,
    batches: 1,
    timings: { totalMs: 212 },
  };
}
