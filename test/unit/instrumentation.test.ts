// Graph instrumentation and the parameter breakdown on synthetic GPT-2 graphs exported differently from the
// default model (decomposed LayerNorm, older opsets, Gemm or transposed-copy LM heads, mask buffers).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { configureRuntime, createSession } from '../../src/core/runtime/web';
import { tensor, type RuntimeSession } from '../../src/core/runtime/runtime';
import { decodeModel, floatData } from '../../src/core/onnx/proto';
import { GraphIndex, findStructure } from '../../src/core/onnx/graph';
import { inspectModel, LoadedModel } from '../../src/core/session/modelSession';
import { analyzeTokens } from '../../src/core/analysis/analysis';
import type { TokenInfo } from '../../src/protocol/analysis';
import { buildSyntheticGpt2, gpt2ParameterCount, type SyntheticOptions } from './helpers/syntheticGpt2';
import { mulberry32 } from '../../src/core/common/random';
import { makeModelFolder, removeModelFolders, root } from './helpers/modelFolders';
import { matrixRow, matrixRows } from '../../src/protocol/analysis';
import { chosenDetail } from '../../src/core/analysis/chosen';
import { RunMemory } from '../../src/core/analysis/runMemory';

const V = 8192; // lens-tiny's tokenizer fits
const base = { vocab: V, dModel: 32, nLayer: 3, nHead: 4, nCtx: 64 };
/** The "second graph": what an older exporter writes. */
const older: SyntheticOptions = { ...base, opset: 13, layerNorm: 'decomposed', lmHead: 'gemm', names: 'anonymous', maskBuffers: true, past: false, gelu: 'erf', seed: 7 };

function folderFor(o: SyntheticOptions) {
  const m = buildSyntheticGpt2(o);
  return { m, dir: makeModelFolder({ config: m.config, onnx: m.bytes }, 'lens-synth-') };
}

describe('graph instrumentation on a differently exported graph', function () {
  this.timeout(60000);
  after(removeModelFolders);

  it('finds embeddings, every layer (decomposed norms), each softmax, the final norm and a Gemm LM head (opset 13)', () => {
    const { dir } = folderFor(older);
    const { instrumentation: r, spec } = inspectModel(dir);
    assert.equal(spec.nLayer, 3);
    assert.equal(r.opset, 13);
    assert.equal(r.layerNorm, 'decomposed');
    assert.equal(r.layers, 3);
    assert.equal(r.tokenEmbedding, 'transformer.wte.weight');
    assert.equal(r.positionEmbedding, 'transformer.wpe.weight');
    assert.equal(r.layerInputs.length, 3);
    assert.ok(r.attentionProbs.every((s) => s.length > 0), JSON.stringify(r.attentionProbs));
    assert.ok(r.finalNorm);
    assert.ok(r.lmHead);
    assert.ok(r.lmHeadTied, 'the LM head is found tied to the token embedding');
    assert.deepEqual(r.missing, []);
  });

  it('counts parameters as PyTorch does: tied head once, causal-mask buffers and constants not at all', () => {
    const { m, dir } = folderFor(older);
    const { parameters: p } = inspectModel(dir);
    const expected = gpt2ParameterCount(V, 32, 3, 64, true);
    assert.equal(m.parameterCount, expected);
    assert.equal(p.total, expected);
    assert.equal(p.formulaValue, expected);
    assert.equal(p.tiedLmHead, true);
    assert.equal(p.weights + p.biases, p.total);
    const d = 32;
    const byRole = (role: string, layer?: number) => p.groups.find((g) => g.role === role && g.layer === layer)!;
    assert.equal(byRole('tokenEmbedding').weights, V * d);
    assert.equal(byRole('positionEmbedding').weights, 64 * d);
    for (let l = 0; l < 3; l++) {
      assert.deepEqual([byRole('attention', l).weights, byRole('attention', l).biases], [4 * d * d, 4 * d]);
      assert.deepEqual([byRole('mlp', l).weights, byRole('mlp', l).biases], [8 * d * d, 5 * d]);
      assert.deepEqual([byRole('norm', l).weights, byRole('norm', l).biases], [2 * d, 2 * d]);
      for (const g of p.groups.filter((x) => x.layer === l)) assert.equal(g.weights + g.biases, g.formulaValue, `${g.role} ${l}`);
    }
    assert.equal(byRole('norm').weights + byRole('norm').biases, 2 * d);
    assert.equal(byRole('lmHead').weights, 0);
    assert.ok(!p.groups.some((g) => g.role === 'other'));
    // Three [1,1,64,64] mask buffers, plus shape and scalar constants, none counted.
    assert.ok(p.constants!.elements >= 3 * 64 * 64, JSON.stringify(p.constants));
  });

  const variants: [string, SyntheticOptions, boolean][] = [
    ['fused LayerNormalization, opset 17, tied head stored as a transposed copy, KV inputs', { ...base, opset: 17, lmHead: 'transposedCopy' }, true],
    ['decomposed, opset 11, untied head', { ...base, opset: 11, layerNorm: 'decomposed', lmHead: 'untied', seed: 3 }, false],
    ['decomposed, opset 18 (ReduceMean axes as input), head through a Transpose node', { ...base, opset: 18, layerNorm: 'decomposed', lmHead: 'transposeNode', seed: 4 }, true],
  ];
  for (const [label, o, tied] of variants) {
    it(`parameter count and structure: ${label}`, () => {
      const { m, dir } = folderFor(o);
      const { parameters: p, instrumentation: r } = inspectModel(dir);
      assert.equal(p.total, gpt2ParameterCount(V, 32, 3, 64, tied));
      assert.equal(p.total, m.parameterCount);
      assert.equal(p.tiedLmHead, tied);
      assert.deepEqual(r.missing, []);
    });
  }

  it('says plainly when a layer uses a fused attention operator', () => {
    const m = buildSyntheticGpt2(older);
    const model = decodeModel(m.bytes, 'synthetic');
    const softmax = model.graph!.node!.filter((n) => n.opType === 'Softmax')[1];
    softmax.opType = 'Attention';
    softmax.domain = 'com.microsoft';
    const s = findStructure(new GraphIndex(model));
    assert.equal(s.layers.length, 3);
    assert.equal(s.layers[1].softmax, undefined);
    assert.equal(s.layers[1].fusedAttention, 'com.microsoft.Attention');
    assert.match(s.missing.join('\n'), /layer 1 attention probabilities: attention is one fused operator \(com\.microsoft\.Attention\)/);
  });

  describe('running the instrumented graph', () => {
    let model: LoadedModel;
    let plain: RuntimeSession;
    let synthetic: ReturnType<typeof buildSyntheticGpt2>;
    const T = 40;
    const rand = mulberry32(11);
    const ids = Array.from({ length: T }, () => Math.floor(rand() * V));
    const tokens: TokenInfo[] = ids.map((id, index) => ({ index, id, text: '', bytes: [], start: 0, end: 0, partial: false }));

    before(async () => {
      configureRuntime(path.join(root, 'dist'), 1);
      const f = folderFor(older);
      synthetic = f.m;
      model = await LoadedModel.load(f.dir);
      plain = await createSession(f.m.bytes);
    });
    after(async () => {
      await model?.dispose();
      await plain?.release();
    });

    it('gives the uninstrumented graph\'s predictions, and the logit lens equals LN_f + LM head in plain JS', async () => {
      const a = await analyzeTokens(model, 'x', tokens, { topK: 4, attentionLayers: [0, 2], attentionThumbnails: true, chosenToken: 5, pcaLayer: 2, logitLens: 'all' });
      const i64 = (xs: number[]) => tensor.i64(xs, [1, xs.length]);
      const out = await plain.run({ input_ids: i64(ids), attention_mask: i64(ids.map(() => 1)), position_ids: i64(ids.map((_, i) => i)) });
      const logits = out.logits.data as Float32Array;
      for (let t = 0; t < T; t++) {
        const row = Array.from(logits.subarray(t * V, (t + 1) * V));
        const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
        const sorted = [...row].sort((x, y) => y - x);
        a.predictions[t].top.forEach((p, j) => assert.ok(Math.abs(Math.log(p.prob) + lse - sorted[j]) < 1e-4, `t ${t} j ${j}`));
        if (t + 1 < T) {
          const actual = a.predictions[t].actual!;
          assert.ok(Math.abs(Math.log(actual.prob) - (row[ids[t + 1]] - lse)) < 1e-4);
          assert.equal(actual.rank, row.filter((x) => x > row[ids[t + 1]]).length + 1);
        }
      }

      // h_0 = E[id] + P[pos]; the lens at layer 0 = LayerNorm_f(h_0) · E^T, in plain JS.
      const g = new GraphIndex(decodeModel(synthetic.bytes, 'synthetic'));
      const E = floatData(g.initializers.get('transformer.wte.weight')!)!;
      const P = floatData(g.initializers.get('transformer.wpe.weight')!)!;
      const gamma = floatData(g.initializers.get('transformer.ln_f.weight')!)!;
      const beta = floatData(g.initializers.get('transformer.ln_f.bias')!)!;
      const d = 32;
      for (const t of [0, 17, T - 1]) {
        const h0 = Array.from({ length: d }, (_, j) => E[ids[t] * d + j] + P[t * d + j]);
        h0.forEach((v, j) => assert.ok(Math.abs(matrixRow(a.embeddings, t)[j] - v) < 1e-6));
        const mean = h0.reduce((s, x) => s + x, 0) / d;
        const variance = h0.reduce((s, x) => s + (x - mean) ** 2, 0) / d;
        const n = h0.map((x, j) => ((x - mean) / Math.sqrt(variance + 1e-5)) * gamma[j] + beta[j]);
        const lens = Array.from({ length: V }, (_, v) => n.reduce((s, x, j) => s + x * E[v * d + j], 0));
        const lse = Math.log(lens.reduce((s, x) => s + Math.exp(x), 0));
        const order = lens.map((x, v) => [x, v]).sort((p, q) => q[0] - p[0]);
        a.logitLens[0][t].forEach((p, j) => {
          assert.equal(p.id, order[j][1]);
          assert.ok(Math.abs(p.prob - Math.exp(order[j][0] - lse)) < 1e-5);
        });
      }
    });

    it('the chosen token\'s lens in JS (decomposed final norm read from the graph) equals the graph\'s lens', async () => {
      const runs = new RunMemory();
      const a = await analyzeTokens(model, 'x', tokens, { topK: 4, logitLens: 'all' }, undefined, runs);
      assert.ok(model.lensHead, 'gamma, beta and the LM head were read from the graph');
      for (const index of [0, 9, T - 1]) {
        const c = chosenDetail(model, runs.get(model, a.runId), index, 4, 3);
        assert.equal(c.lens.length, 3);
        c.lens.forEach((preds, l) => {
          const graph = a.logitLens[l][index];
          assert.deepEqual(preds.map((p) => p.id), graph.map((p) => p.id), `layer ${l} token ${index}`);
          preds.forEach((p, j) => assert.ok(Math.abs(p.prob - graph[j].prob) < 1e-5));
        });
      }
    });

    it('returns causal attention for the layers asked, thumbnails for every layer, the chosen token and a PCA', async () => {
      const a = await analyzeTokens(model, 'x', tokens, { attentionLayers: [1], attentionThumbnails: true, chosenToken: 3, neighbours: 5, pcaLayer: 3 });
      assert.deepEqual([...new Set(a.attention.map((m) => m.layer))], [1]);
      assert.deepEqual(a.attention.map((m) => m.head), [0, 1, 2, 3, -1]);
      for (const m of a.attention) {
        assert.equal(m.weights.rows, T);
        matrixRows(m.weights).forEach((row, q) => {
          assert.equal(row.length, T);
          assert.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-5);
          for (let k = q + 1; k < T; k++) assert.equal(row[k], 0);
        });
      }
      const th = a.attentionThumbnails!;
      assert.equal(th.length, 3);
      for (const layer of th) {
        assert.equal(layer.length, 4);
        // 40 tokens -> blocks of 2 tokens -> 20 x 20 cells.
        for (const head of layer) {
          assert.equal(head.length, 20);
          for (const row of head) assert.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-4);
        }
      }
      assert.equal(a.chosen!.hidden.length, 4);
      assert.equal(a.chosen!.neighbours.length, 5);
      assert.ok(a.chosen!.neighbours.every((n, i, all) => n.id !== ids[3] && (i === 0 || all[i - 1].cosine >= n.cosine)));
      assert.equal(a.pca!.layer, 3);
      assert.equal(a.pca!.points.length, T);
      assert.ok(a.pca!.explained[0] >= a.pca!.explained[1] && a.pca!.explained[0] + a.pca!.explained[1] <= 1 + 1e-9);
      assert.equal(a.similarity.rows, T);
      matrixRows(a.similarity).forEach((row, i) => assert.ok(Math.abs(row[i] - 1) < 1e-5));
      assert.equal(a.layerCosine.length, 3);
      assert.equal(a.hiddenNorms.length, 4);
    });
  });
});
