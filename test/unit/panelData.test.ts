// The panels' pure parts: quantized matrices, what a message may carry, the model card's table,
// text checks before the model runs, the webview protocol's validation, and token text made visible.
import * as assert from 'node:assert/strict';
import { encodeGrid, hasHead, toPanelAnalysis, tokenAt } from '../../src/host/panelData';
import { MINIFIED_LINE_CHARS, textProblem } from '../../src/core/analysis/textCheck';
import { gpt2Formulas, modelCardRows } from '../../src/host/modelCardData';
import { isWebviewToHostMessage, MAX_WEBVIEW_LOG_CHARS } from '../../src/protocol/webview';
import { byteSize, tokenLabel, tokenPieces } from '../../src/webview/format';
import type { Analysis, ModelSpec, ParameterBreakdown } from '../../src/protocol/analysis';
import { matrixRows, toMatrix } from '../../src/protocol/analysis';

const spec: ModelSpec = { name: 'tiny', source: 'built-in', modelType: 'gpt2', vocabSize: 8192, dModel: 128, nLayer: 4, nHead: 4, nKvHeads: 4, headDim: 32, architecture: 'gpt2', nCtx: 1024, fileBytes: 1 };

function decode(g: ReturnType<typeof encodeGrid>): number[] {
  const bytes = Buffer.from(g.data, 'base64');
  return [...bytes].map((b) => (g.kind === 'unsigned' ? (b / 255) * g.max : ((b - 128) / 127) * g.max));
}

function analysis(T: number, s: ModelSpec = spec, layers: number[] = [0]): Analysis {
  const L = s.nLayer;
  const row = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
  const causal = toMatrix(row(T, (q) => row(T, (k) => (k <= q ? 1 / (q + 1) : 0))));
  return {
    model: s,
    text: 'x'.repeat(T),
    tokens: row(T, (i) => ({ index: i, id: i, text: 'x', bytes: [120], start: i, end: i + 1, partial: false })),
    embeddings: toMatrix(row(T, (i) => row(s.dModel, (d) => Math.sin(i + d)))),
    embeddingNorms: row(T, () => 1),
    hiddenNorms: row(L + 1, () => row(T, () => 1)),
    layerCosine: row(L, () => row(T, () => 0.9)),
    logitLens: row(L + 1, () => row(T, () => [])),
    predictions: row(T, () => ({ top: [] })),
    similarity: toMatrix(row(T, (i) => row(T, (j) => (i === j ? 1 : 0.5)))),
    attention: layers.flatMap((layer) => [...row(s.nHead, (h) => ({ layer, head: h, weights: causal })), { layer, head: -1, weights: causal }]),
    pca: { layer: -1, points: row(T, (i) => [i, -i] as [number, number]), explained: [0.5, 0.2] },
    timings: { tokenizeMs: 0, runMs: 0, reduceMs: 0 },
  };
}

describe('panel data', () => {
  it('quantizes a signed matrix to bytes within half a step of each value', () => {
    const m = [
      [0.5, -1, 0],
      [0.25, 2, -2],
    ];
    const g = encodeGrid(m, 'signed');
    assert.equal(g.rows, 2);
    assert.equal(g.cols, 3);
    assert.equal(g.max, 2);
    decode(g).forEach((v, i) => assert.ok(Math.abs(v - m.flat()[i]) <= 2 / 127 / 2 + 1e-9, `${v} vs ${m.flat()[i]}`));
  });

  it('quantizes probabilities against 1 and survives NaN and infinities', () => {
    const g = encodeGrid([[0, 0.5, 1, NaN, Infinity]], 'unsigned', 1);
    assert.deepEqual([...Buffer.from(g.data, 'base64')], [0, 128, 255, 0, 0]);
  });

  it('sends every head of the shown layer while they fit, only the shown head and the average beyond', async () => {
    const small = await toPanelAnalysis(analysis(8), 1, 0, 2);
    assert.equal(small.attention?.heads.filter(Boolean).length, 4);
    assert.ok(small.attention?.average);
    assert.ok(hasHead(small, 0, 3));
    assert.ok(!hasHead(small, 1, 3), 'another layer is not in the payload');
    // A budget that holds two 8 x 8 matrices, not five.
    const big = await toPanelAnalysis(analysis(8), 1, 0, 2, 8 * 8 * 2);
    assert.deepEqual(big.attention?.heads.map((h) => h !== null), [false, false, true, false]);
    assert.ok(big.attention?.average);
    assert.ok(!hasHead(big, 0, 1));
    assert.ok(hasHead(big, 0, -1));
  });

  it('keeps exact norms of the input embeddings next to the quantized rows', async () => {
    const a = analysis(3);
    const p = await toPanelAnalysis(a, 7, 0, -1);
    assert.equal(p.seq, 7);
    matrixRows(a.embeddings).forEach((row, i) => assert.ok(Math.abs(p.inputNorms[i] - Math.hypot(...row)) < 1e-6));
  });

  it('pauses after each matrix it quantizes, so the host can turn its event loop in between', async () => {
    let pauses = 0;
    const p = await toPanelAnalysis(analysis(8), 1, 0, -1, undefined, async () => void pauses++);
    // Four heads and the average, the embeddings, the similarity matrix.
    assert.equal(pauses, 7);
    assert.equal(p.attention?.heads.filter(Boolean).length, 4);
  });

  it('writes file sizes with a decimal unit, not a number with "B" glued on', () => {
    assert.equal(byteSize(7_940_000), '7.94 MB');
    assert.equal(byteSize(512), '512 byte');
    assert.equal(byteSize(1_500_000_000), '1.5 GB');
  });

  it('finds the token under an offset', () => {
    const a = { tokens: [0, 3, 4, 9].map((start, i, all) => ({ index: i, id: i, text: '', bytes: [], start, end: all[i + 1] ?? 12, partial: false })) };
    assert.deepEqual([0, 2, 3, 4, 8, 9, 12].map((o) => tokenAt(a, o)), [0, 0, 1, 2, 2, 3, 3]);
  });
});

describe('text checks before analysis', () => {
  it('names empty, whitespace-only and binary text', () => {
    assert.deepEqual(textProblem('', { maxTokens: 1024 }), { kind: 'empty' });
    assert.deepEqual(textProblem(' \n\t ', { maxTokens: 1024 }), { kind: 'whitespace' });
    assert.deepEqual(textProblem('PK\u0003\u0004\u0000abc', { maxTokens: 1024 }), { kind: 'binary', nul: true, controlChars: 3 });
    assert.deepEqual(textProblem('\u0001\u0002\u0003\u0004\u0005 mostly control', { maxTokens: 1024 }), { kind: 'binary', nul: false, controlChars: 5 });
    assert.equal(textProblem('const a = 1;\n\tb();\r\n', { maxTokens: 1024 }), undefined);
  });

  it('refuses text far longer than the token limit could hold, and a huge current line', () => {
    assert.equal(textProblem('a'.repeat(100 * 64 + 1), { maxTokens: 100 })?.kind, 'tooLong');
    assert.equal(textProblem('a'.repeat(100 * 64), { maxTokens: 100 }), undefined);
    assert.equal(textProblem('x'.repeat(MINIFIED_LINE_CHARS + 1), { maxTokens: 8192, wholeLine: true })?.kind, 'minifiedLine');
    assert.equal(textProblem('x'.repeat(MINIFIED_LINE_CHARS + 1), { maxTokens: 8192, wholeLine: false }), undefined);
  });
});

describe('model card table', () => {
  function gpt2Breakdown(s: ModelSpec): ParameterBreakdown {
    const d = s.dModel;
    const groups: ParameterBreakdown['groups'] = [
      { role: 'tokenEmbedding', weights: s.vocabSize * d, biases: 0, tensors: [] },
      { role: 'positionEmbedding', weights: s.nCtx * d, biases: 0, tensors: [] },
    ];
    for (let l = 0; l < s.nLayer; l++) {
      groups.push({ role: 'attention', layer: l, weights: 4 * d * d, biases: 4 * d, tensors: [] });
      groups.push({ role: 'mlp', layer: l, weights: 8 * d * d, biases: 5 * d, tensors: [] });
      groups.push({ role: 'norm', layer: l, weights: 2 * d, biases: 2 * d, tensors: [] });
    }
    groups.push({ role: 'norm', weights: d, biases: d, tensors: [] });
    const weights = groups.reduce((a, g) => a + g.weights, 0);
    const biases = groups.reduce((a, g) => a + g.biases, 0);
    return { total: weights + biases, weights, biases, groups, tiedLmHead: true };
  }

  it('groups the breakdown by part with per-layer counts, checked formulas and shares adding up to 1', () => {
    const rows = modelCardRows(spec, gpt2Breakdown(spec));
    assert.deepEqual(
      rows.map((r) => r.part),
      ['tokenEmbedding', 'positionEmbedding', 'attention', 'mlp', 'layerNorms', 'finalNorm'],
    );
    const attention = rows.find((r) => r.part === 'attention')!;
    assert.equal(attention.perLayer, 4 * 128 * 128 + 4 * 128);
    assert.equal(attention.layers, 4);
    assert.equal(attention.formula, '4d² + 4d');
    assert.equal(attention.formulaFilled, '4 × 128² + 4 × 128');
    assert.ok(rows.every((r) => r.formulaMatches === true));
    assert.ok(Math.abs(rows.reduce((s, r) => s + r.share, 0) - 1) < 1e-12);
    assert.equal(rows.find((r) => r.part === 'tokenEmbedding')!.total, gpt2Formulas(spec).tokenEmbedding.value);
  });

  it('shows a tied LM head as reusing the token embeddings, without a formula to check', () => {
    const p = gpt2Breakdown(spec);
    p.groups.push({ role: 'lmHead', weights: 0, biases: 0, tensors: [] });
    const head = modelCardRows(spec, p).find((r) => r.part === 'lmHead')!;
    assert.equal(head.tied, true);
    assert.equal(head.formulaMatches, undefined);
  });

  it('says so when a model does not follow the GPT-2 formula (an MLP wider than 4d)', () => {
    const p = gpt2Breakdown(spec);
    for (const g of p.groups) if (g.role === 'mlp') g.weights += 128;
    const mlp = modelCardRows(spec, p).find((r) => r.part === 'mlp')!;
    assert.equal(mlp.formulaMatches, false);
    assert.equal(mlp.formulaFilled, undefined);
  });
});

describe('webview messages', () => {
  it('accepts the protocol and rejects everything else', () => {
    const ok: unknown[] = [
      { type: 'ready' },
      { type: 'choose', index: 3 },
      { type: 'choose', index: 3, seq: 12 },
      { type: 'setUi', ui: { tab: 'layers' }, seq: 13 },
      { type: 'setUi', ui: { tab: 'attention', layer: 2, head: -1, pinned: true } },
      { type: 'command', command: 'showModelCard' },
      { type: 'log', level: 'warn', message: 'x' },
    ];
    const bad: unknown[] = [
      null,
      'ready',
      { type: 'nonsense' },
      { type: 'choose', index: -1 },
      { type: 'choose', index: 1.5 },
      { type: 'choose', index: '1' },
      { type: 'choose', index: 1, seq: -1 },
      { type: 'setUi', ui: {}, seq: 'x' },
      { type: 'setUi', ui: { tab: '<img src=x>' } },
      { type: 'setUi', ui: { layer: 2, evil: true } },
      { type: 'setUi', ui: [] },
      { type: 'command', command: 'workbench.action.closeWindow' },
      { type: 'log', level: 'info', message: 'x' },
      // A saved chosen token of -1 broke the panel after a reload; a log line has a size bound.
      { type: 'setUi', ui: { chosen: -1 } },
      { type: 'setUi', ui: { layer: -1 } },
      { type: 'log', level: 'warn', message: 'x'.repeat(MAX_WEBVIEW_LOG_CHARS + 1) },
    ];
    for (const m of ok) assert.ok(isWebviewToHostMessage(m, 'analysis'), JSON.stringify(m));
    for (const m of bad) assert.ok(!isWebviewToHostMessage(m, 'analysis'), JSON.stringify(m));
    // The analysis panel's own messages are refused from the other panels.
    for (const m of ok) assert.equal(isWebviewToHostMessage(m, 'modelCard'), !['choose', 'setUi'].includes((m as { type: string }).type), JSON.stringify(m));
  });
});

describe('token text made visible', () => {
  const tok = (text: string, bytes: number[] = [...Buffer.from(text)], partial = false) => ({ text, bytes, partial });

  it('marks spaces, tabs and line breaks, and keeps a real break after ↵', () => {
    assert.deepEqual(tokenPieces(tok(' a\tb\r\n'), true), [
      { text: '·', mark: true },
      { text: 'a', mark: false },
      { text: '→', mark: true },
      { text: 'b', mark: false },
      { text: '↵', mark: true },
      { text: '\n', mark: false },
    ]);
    assert.equal(tokenLabel(tok(' if\n')), '·if↵');
  });

  it('shows a partial UTF-8 token as its bytes, with ASCII bytes as characters', () => {
    assert.equal(tokenLabel(tok('\ufffd', [0x20, 0xe2, 0x80], true), 40), '·<0xE2><0x80>');
  });

  it('shows control and bidi characters as escapes, never applies them', () => {
    assert.equal(tokenLabel(tok('\u0007x\u202Ey'), 40), '␇x<U+202E>y');
    assert.equal(tokenLabel(tok('<img src=x onerror=alert(1)>'), 60), '<img·src=x·onerror=alert(1)>');
  });

  it('cuts long labels with an ellipsis, counting code points', () => {
    assert.equal(tokenLabel(tok('😀'.repeat(20)), 5), '😀😀😀😀…');
  });
});
