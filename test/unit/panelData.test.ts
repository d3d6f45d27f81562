// The panels' pure parts: quantized matrices, what a message may carry, the model card's table,
// text checks before the model runs, the webview protocol's validation, and token text made visible.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeOptions, defaultUi, encodeGrid, hasHead, keptInterventions, needsPca, pcaPatch, toPanelAnalysis, tokenAt } from '../../src/host/panelData';
import { MINIFIED_LINE_CHARS, textProblem } from '../../src/core/analysis/textCheck';
import { gpt2Formulas, mlpWidth, modelCardRows, wholeModelFormula } from '../../src/host/modelCardData';
import { inspectModel } from '../../src/core/session/modelSession';
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

  it('asks for the PCA map only on the embeddings tab, and says when the analysis at hand lacks the one shown', async () => {
    const ui = defaultUi();
    assert.equal(analyzeOptions(ui, 4).pca, false, 'the default tab does not draw the map');
    assert.equal(analyzeOptions({ ...ui, tab: 'embeddings' }, 4).pca, true);
    assert.equal(analyzeOptions({ ...ui, tab: 'embeddings', pcaLayer: 9 }, 4).pcaLayer, -1, 'a layer the model lacks: the input embeddings');
    const a = analysis(3);
    const without = { ...a, pca: undefined };
    assert.equal(needsPca(without, ui), false, 'another tab shows: nothing to fetch');
    assert.equal(needsPca(without, { ...ui, tab: 'embeddings' }), true);
    assert.equal(needsPca(a, { ...ui, tab: 'embeddings' }), false, 'the map of layer -1 is there');
    assert.equal(needsPca(a, { ...ui, tab: 'embeddings', pcaLayer: 2 }), true, 'another layer chosen');
    assert.equal(needsPca({ ...a, pca: { ...a.pca!, layer: -1 } }, { ...ui, tab: 'embeddings', pcaLayer: 9 }), false, 'out of range: layer -1, held');
    const p = await toPanelAnalysis(without, 4, 0, -1);
    assert.ok(!('pca' in p), 'no map in the payload until it is computed');
    assert.deepEqual(pcaPatch(p.seq, a.pca!), { type: 'pca', seq: 4, pca: a.pca });
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

  /** A Llama-family breakdown as the core gives it: q/out d × H·h_d, k/v d × H_kv·h_d, q/k/v biases when asked, a 3d·m MLP, RMS norms. */
  function llamaBreakdown(s: ModelSpec, m: number, qkvBias: boolean): ParameterBreakdown {
    const { dModel: d, nHead: H, nKvHeads: K, headDim: h } = s;
    const groups: ParameterBreakdown['groups'] = [{ role: 'tokenEmbedding', weights: s.vocabSize * d, biases: 0, tensors: [] }];
    for (let l = 0; l < s.nLayer; l++) {
      groups.push({ role: 'attention', layer: l, weights: 2 * d * H * h + 2 * d * K * h, biases: qkvBias ? (H + 2 * K) * h : 0, tensors: [] });
      groups.push({ role: 'mlp', layer: l, weights: 3 * d * m, biases: 0, tensors: [] });
      groups.push({ role: 'norm', layer: l, weights: 2 * d, biases: 0, tensors: [] });
    }
    groups.push({ role: 'norm', weights: d, biases: 0, tensors: [] });
    groups.push({ role: 'lmHead', weights: 0, biases: 0, tensors: [] });
    const weights = groups.reduce((a, g) => a + g.weights, 0);
    const biases = groups.reduce((a, g) => a + g.biases, 0);
    return { total: weights + biases, weights, biases, groups, tiedLmHead: true };
  }
  // SmolLM2-135M's shape (9 query heads on 3 key/value heads) and Qwen2.5-0.5B's (14 on 2, q/k/v biases).
  const smol: ModelSpec = { ...spec, name: 'SmolLM2-135M', modelType: 'llama', architecture: 'llama', vocabSize: 49152, dModel: 576, nLayer: 30, nHead: 9, nKvHeads: 3, headDim: 64, nCtx: 8192 };
  const qwen: ModelSpec = { ...spec, name: 'Qwen2.5-0.5B', modelType: 'qwen2', architecture: 'llama', vocabSize: 151936, dModel: 896, nLayer: 24, nHead: 14, nKvHeads: 2, headDim: 64, nCtx: 32768 };

  it('fills and checks the Llama formulas: grouped key/value heads, a gated MLP, RMS norms, no position table', () => {
    const rows = modelCardRows(smol, llamaBreakdown(smol, 1536, false));
    assert.deepEqual(rows.map((r) => r.part), ['tokenEmbedding', 'attention', 'mlp', 'layerNorms', 'finalNorm', 'lmHead']);
    assert.ok(rows.filter((r) => !r.tied).every((r) => r.formulaMatches === true), JSON.stringify(rows));
    const attention = rows.find((r) => r.part === 'attention')!;
    assert.equal(attention.formula, '2d·H·h_d + 2d·H_kv·h_d');
    assert.equal(attention.formulaFilled, '2 × 576 × 9 × 64 + 2 × 576 × 3 × 64');
    assert.equal(attention.perLayer, 884736);
    assert.equal(rows.find((r) => r.part === 'mlp')!.formulaFilled, '3 × 576 × 1536');
    assert.equal(rows.find((r) => r.part === 'layerNorms')!.formula, '2d');
    assert.equal(rows.find((r) => r.part === 'finalNorm')!.formula, 'd');
    assert.equal(rows.find((r) => r.part === 'lmHead')!.tied, true);
    assert.equal(mlpWidth(smol, llamaBreakdown(smol, 1536, false)), 1536);
    const total = wholeModelFormula(smol, llamaBreakdown(smol, 1536, false))!;
    assert.ok(total.matches, total.formula);
    assert.match(total.formula, /H=9, H_kv=3, h_d=64, m=1,536$/);
  });

  it('adds the q/k/v biases to a qwen2 attention formula', () => {
    const p = llamaBreakdown(qwen, 4864, true);
    const rows = modelCardRows(qwen, p);
    assert.ok(rows.filter((r) => !r.tied).every((r) => r.formulaMatches === true), JSON.stringify(rows));
    const attention = rows.find((r) => r.part === 'attention')!;
    assert.equal(attention.formula, '2d·H·h_d + 2d·H_kv·h_d + (H + 2H_kv)·h_d');
    assert.equal(attention.formulaFilled, '2 × 896 × 14 × 64 + 2 × 896 × 2 × 64 + (14 + 2 × 2) × 64');
    assert.equal(attention.biases, 24 * 1152);
    assert.ok(wholeModelFormula(qwen, p)!.matches);
    // The same shape without the biases is not what a qwen2 model is: the card says it differs.
    assert.equal(modelCardRows(qwen, llamaBreakdown(qwen, 4864, false)).find((r) => r.part === 'attention')!.formulaMatches, false);
  });

  it('says a Llama MLP differs from 3d·m when it has biases or no whole m', () => {
    const p = llamaBreakdown(smol, 1536, false);
    for (const g of p.groups) if (g.role === 'mlp') g.biases += 1536;
    assert.equal(modelCardRows(smol, p).find((r) => r.part === 'mlp')!.formulaMatches, false);
    const q = llamaBreakdown(smol, 1536, false);
    for (const g of q.groups) if (g.role === 'mlp') g.weights += 1;
    const mlp = modelCardRows(smol, q).find((r) => r.part === 'mlp')!;
    assert.equal(mlp.formulaMatches, false);
    assert.equal(mlp.formula, '3d·m');
  });

  // The tiny Llama-family fixtures as the core reads them; PyTorch's counts are in each reference.json.
  for (const name of ['llama-tiny', 'llama-tiny-gqa', 'qwen2-tiny', 'qwen2-tiny-gqa']) {
    it(`checks every part of ${name}, read from its graph, against its formula`, () => {
      const folder = path.resolve(__dirname, '../../..', 'test/fixtures', name);
      const reference = JSON.parse(fs.readFileSync(path.join(folder, 'reference.json'), 'utf8')) as { parameter_count: number };
      const info = inspectModel(folder);
      assert.equal(info.spec.architecture, 'llama');
      assert.equal(info.parameters.total, reference.parameter_count);
      const rows = modelCardRows(info.spec, info.parameters);
      assert.deepEqual(rows.map((r) => r.part), ['tokenEmbedding', 'attention', 'mlp', 'layerNorms', 'finalNorm', 'lmHead']);
      assert.ok(rows.filter((r) => !r.tied).every((r) => r.formulaMatches === true), JSON.stringify(rows));
      assert.equal(rows.find((r) => r.part === 'attention')!.formula, name.startsWith('qwen2') ? '2d·H·h_d + 2d·H_kv·h_d + (H + 2H_kv)·h_d' : '2d·H·h_d + 2d·H_kv·h_d');
      assert.equal(rows.find((r) => r.part === 'mlp')!.formulaFilled, '3 × 64 × 128');
      // genai_config.json folders declare no intermediate_size: the card reads m from the graph and still adds up.
      const total = wholeModelFormula(info.spec, info.parameters)!;
      assert.ok(total.matches, total.formula);
      assert.match(total.formula, /m=128$/);
    });
  }
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

describe('interventions kept across a new analysis', () => {
  const list = [
    { kind: 'edge' as const, from: 1, to: 5 },
    { kind: 'head' as const, layer: 3, head: 4, mode: 'zero' as const },
    { kind: 'mlp' as const, layer: 1, mode: 'mean' as const },
  ];
  it('keeps everything for the same text and model', () => {
    assert.deepEqual(keptInterventions(list, { sameText: true, tokens: 9, nLayer: 4, nHead: 5 }), list);
  });
  it('drops cut edges for another text (their token positions name other tokens), keeps heads and blocks', () => {
    assert.deepEqual(keptInterventions(list, { sameText: false, tokens: 9, nLayer: 4, nHead: 5 }), list.slice(1));
  });
  it('drops an edge past the end of the text, and parts another model does not have', () => {
    assert.deepEqual(keptInterventions(list, { sameText: true, tokens: 5, nLayer: 4, nHead: 5 }), list.slice(1));
    assert.deepEqual(keptInterventions(list, { sameText: true, tokens: 9, nLayer: 3, nHead: 5 }), [list[0], list[2]]);
    assert.deepEqual(keptInterventions(list, { sameText: true, tokens: 9, nLayer: 4, nHead: 4 }), [list[0], list[2]]);
  });
});
