// The default model through the built worker: what loadModel/inspect report (the model card's numbers), an analysis
// with every option, and unloading.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkerClient } from '../../src/worker/client';
import { silentLogger } from '../../src/core/common/logger';
import { lensTiny, lensTinyConfig, root } from './helpers/modelFolders';
import { gpt2ParameterCount } from './helpers/syntheticGpt2';
import { analyzeOptions, chosenPatch, defaultUi, toPanelAnalysis } from '../../src/host/panelData';

const dist = path.join(root, 'dist');

/** The count the training pipeline reports (PyTorch's), from the model card, when it states one. */
function cardParameterCount(): number | undefined {
  const readme = path.join(lensTiny, 'README.md');
  if (!fs.existsSync(readme)) return undefined;
  const m = /\|\s*parameters\s*\|\s*([\d,]+)\s*\|/i.exec(fs.readFileSync(readme, 'utf8'));
  return m ? Number(m[1].replace(/,/g, '')) : undefined;
}

describe('the default model through the worker', function () {
  this.timeout(60000);
  let client: WorkerClient;
  before(() => {
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
  });
  after(async () => client?.dispose());

  it('loadModel: spec from config.json, parameters as PyTorch counts them, instrumentation with nothing missing', async () => {
    const c = lensTinyConfig() as Record<string, number>;
    const info = await client.request('loadModel', { folder: lensTiny, source: 'built-in' });
    assert.deepEqual(
      { ...info.spec, fileBytes: 0 },
      {
        name: 'lens-tiny',
        source: 'built-in',
        modelType: 'gpt2',
        vocabSize: c.vocab_size,
        dModel: c.n_embd,
        nLayer: c.n_layer,
        nHead: c.n_head,
        nKvHeads: c.n_head,
        headDim: c.n_embd / c.n_head,
        architecture: 'gpt2',
        nCtx: c.n_positions,
        eosTokenId: c.eos_token_id,
        fim: { prefix: c.fim_prefix_token_id, middle: c.fim_middle_token_id, suffix: c.fim_suffix_token_id },
        fileBytes: 0,
      },
    );
    assert.equal(info.spec.fileBytes, fs.statSync(path.join(lensTiny, 'onnx/model.onnx')).size);
    const p = info.parameters;
    const expected = gpt2ParameterCount(c.vocab_size, c.n_embd, c.n_layer, c.n_positions, true);
    assert.equal(p.total, expected);
    assert.equal(p.formulaValue, expected);
    const card = cardParameterCount();
    if (card !== undefined) assert.equal(p.total, card, 'the model card (PyTorch) count');
    assert.equal(p.tiedLmHead, true);
    assert.equal(p.groups.filter((g) => g.role === 'attention').length, c.n_layer);
    const r = info.instrumentation;
    assert.deepEqual(r.missing, []);
    assert.equal(r.layers, c.n_layer);
    assert.equal(r.layerNorm, 'fused');
    assert.equal(r.attentionProbs.filter(Boolean).length, c.n_layer);
    // inspect reads the same without keeping a session.
    const inspected = await client.request('inspect', { folder: lensTiny, source: 'built-in' });
    assert.deepEqual(inspected.parameters, p);
    assert.deepEqual(inspected.spec, info.spec);
  });

  it('analyze with every option: sizes match the model and the text', async () => {
    const c = lensTinyConfig() as Record<string, number>;
    const text = 'export function add(a: number, b: number): number {\r\n\treturn a + b; // 🙂\n}\n';
    const a = await client.request('analyze', {
      text,
      options: { topK: 3, attentionLayers: [0, c.n_layer - 1], attentionThumbnails: true, chosenToken: 2, neighbours: 4, pcaLayer: 1, logitLens: 'all' },
    });
    const T = a.tokens.length;
    const L = c.n_layer;
    assert.equal(a.text, text);
    assert.equal(a.tokens.map((t) => t.bytes).flat().length, Buffer.byteLength(text));
    // The big matrices cross from the worker as Float32Arrays (transferred), not as number[][].
    assert.ok(a.embeddings.data instanceof Float32Array);
    assert.deepEqual([a.embeddings.rows, a.embeddings.cols, a.embeddings.data.length], [T, c.n_embd, T * c.n_embd]);
    assert.equal(a.hiddenNorms.length, L + 1);
    assert.equal(a.layerCosine.length, L);
    assert.equal(a.logitLens.length, L + 1);
    assert.ok(a.logitLens.every((layer) => layer.length === T && layer.every((row) => row.length === 3)));
    assert.equal(a.predictions.length, T);
    assert.ok(a.predictions.slice(0, -1).every((p) => p.actual && p.actual.rank >= 1 && p.actual.surprisalBits >= 0));
    assert.equal(a.predictions[T - 1].actual, undefined);
    assert.deepEqual([a.similarity.rows, a.similarity.cols, a.similarity.data.length], [T, T, T * T]);
    assert.ok(a.attention.every((m) => m.weights.data instanceof Float32Array && m.weights.data.length === T * T));
    assert.equal(a.attention.length, 2 * (c.n_head + 1));
    assert.equal(a.attentionThumbnails!.length, L);
    assert.equal(a.chosen!.index, 2);
    assert.equal(a.chosen!.hidden.length, L + 1);
    assert.equal(a.chosen!.neighbours.length, 4);
    assert.equal(a.pca!.layer, 1);
    assert.equal(a.pca!.points.length, T);
    assert.ok(a.timings.runMs > 0 && a.timings.reduceMs >= 0);
  });

  it('chosen: another token\'s vectors, neighbours and logit lens from the last analysis, as a new run gives them', async () => {
    const text = 'Language models do not read words the way people do. Before a model sees any text, a tokenizer cuts it.';
    const options = { topK: 5, neighbours: 6 };
    const a = await client.request('analyze', { text, options: { ...options, chosenToken: 3 } });
    const L = a.model.nLayer;
    for (const index of [3, 0, 11, a.tokens.length - 1]) {
      const fresh = await client.request('analyze', { text, options: { ...options, chosenToken: index } });
      // A new analysis replaced the one `a` names: the worker says so instead of answering from the wrong text.
      await assert.rejects(client.request('chosen', { runId: a.runId!, index }), (e: Error & { code?: string }) => e.code === 'staleAnalysis');
      const c = await client.request('chosen', { runId: fresh.runId!, index, ...options });
      assert.equal(c.index, index);
      assert.deepEqual(c.hidden, fresh.chosen!.hidden);
      assert.deepEqual(c.neighbours, fresh.chosen!.neighbours);
      assert.equal(c.lens.length, L);
      for (let l = 0; l < L; l++) {
        // The graph's lens (float32 in onnxruntime) and the JS one (float64): same tokens, probabilities within 1e-4.
        const graph = fresh.logitLens[l][index];
        assert.equal(graph.length, 5);
        assert.deepEqual(c.lens[l].map((p) => p.id), graph.map((p) => p.id), `layer ${l}, token ${index}`);
        c.lens[l].forEach((p, j) => assert.ok(Math.abs(p.prob - graph[j].prob) < 1e-4, `layer ${l} #${j}: ${p.prob} vs ${graph[j].prob}`));
      }
    }
    const last = await client.request('analyze', { text, options });
    await assert.rejects(client.request('chosen', { runId: last.runId!, index: 999 }), (e: Error & { code?: string }) => e.code === 'invalidOption');
  });

  it('pca: the map of a layer from the last analysis, as an analysis with the map gives it; none on the panel\'s default tab', async () => {
    const text = 'Language models do not read words the way people do. Before a model sees any text, a tokenizer cuts it.';
    const eager = await client.request('analyze', { text, options: { pcaLayer: 3 } });
    const ui = defaultUi();
    assert.equal(ui.tab, 'tokens');
    const a = await client.request('analyze', { text, options: analyzeOptions(ui, eager.model.nLayer) });
    assert.equal(a.pca, undefined, 'the tokens tab does not draw the map: the analysis skips it');
    const later = await client.request('pca', { runId: a.runId!, layer: 3 });
    assert.equal(later.layer, 3);
    assert.equal(later.points.length, eager.pca!.points.length);
    later.points.forEach((p, i) => p.forEach((v, c) => assert.ok(Math.abs(v - eager.pca!.points[i][c]) <= 1e-6, `token ${i} PC${c + 1}: ${v} vs ${eager.pca!.points[i][c]}`)));
    later.explained.forEach((v, c) => assert.ok(Math.abs(v - eager.pca!.explained[c]) <= 1e-6));
    await assert.rejects(client.request('pca', { runId: a.runId!, layer: 99 }), (e: Error & { code?: string }) => e.code === 'invalidOption');
    // A newer analysis replaced the run: the worker refuses rather than answer from another text.
    await client.request('analyze', { text: 'another text', options: { pca: false } });
    await assert.rejects(client.request('pca', { runId: a.runId!, layer: 3 }), (e: Error & { code?: string }) => e.code === 'staleAnalysis');
  });

  it('a refusal crosses the worker boundary with its facts, for the host to word in the display language', async () => {
    const text = 'one two three four five six seven eight nine ten';
    const count = (await client.request('analyze', { text })).tokens.length;
    await assert.rejects(client.request('analyze', { text, options: { maxTokens: 8 } }), (e: Error & { code?: string; details?: unknown }) => {
      assert.equal(e.code, 'tooManyTokens');
      assert.deepEqual(e.details, { tokens: count, limit: 8, atLeast: false, reason: 'setting' });
      return true;
    });
    await assert.rejects(client.request('analyze', { text: 'a\u0001b\u0002c\u0003d\u0004' }), (e: Error & { code?: string; details?: unknown }) => {
      assert.equal(e.code, 'binaryText');
      assert.deepEqual(e.details, { controlChars: 4, length: 8 });
      return true;
    });
  });

  it('choosing another token in a 512-token analysis posts a patch at least 10x smaller than the whole state', async () => {
    const source = fs.readFileSync(path.join(root, 'src', 'host', 'analysis', 'analysisPanel.ts'), 'utf8').slice(0, 2600);
    // The first 512 tokens of a real source file, analysed with the panel's options at the settings' defaults.
    const probe = await client.request('analyze', { text: source, options: { maxTokens: 4096, logitLens: 'none' } });
    assert.ok(probe.tokens.length > 512, `${probe.tokens.length} tokens`);
    const text = source.slice(0, probe.tokens[512].start);
    const ui = { ...defaultUi(), chosen: 0 };
    const a = await client.request('analyze', { text, options: analyzeOptions(ui, probe.model.nLayer) });
    assert.ok(Math.abs(a.tokens.length - 512) <= 2, `${a.tokens.length} tokens`);
    const state = await toPanelAnalysis(a, 1, ui.layer, ui.head);
    const index = Math.floor(a.tokens.length / 2);
    const c = await client.request('chosen', { runId: a.runId!, index, topK: 5, neighbours: 8 });
    a.chosen = { index: c.index, hidden: c.hidden, neighbours: c.neighbours };
    c.lens.forEach((predictions, l) => (a.logitLens[l][index] = predictions));
    const patch = chosenPatch(state.seq, a, index);
    const ratio = JSON.stringify(state).length / JSON.stringify(patch).length;
    assert.ok(ratio >= 10, `whole state / patch = ${ratio.toFixed(1)}`);
    assert.equal(patch.lens.length, a.model.nLayer + 1);
    assert.equal(patch.chosen.index, index);
  });

  it('unloadModel: later analyses need a load again', async () => {
    assert.deepEqual(await client.request('unloadModel', {}), { unloaded: true });
    await assert.rejects(client.request('analyze', { text: 'x' }), (e: Error & { code?: string }) => e.code === 'noModel');
    assert.deepEqual(await client.request('unloadModel', {}), { unloaded: false });
  });
});
