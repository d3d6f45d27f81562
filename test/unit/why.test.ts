// The Why view's core (issue #15) on real models, both runtimes: the built-in lens-tiny (GPT-2) and the Llama-family
// fixtures. Direct logit attribution adds up to the model's own logit (difference); gates left at their defaults, or
// fed as ones and zeros, give the plain graph's logits; each intervention does to the residual stream what it says;
// multi-token targets equal the product of their tokens' probabilities; occlusion's batched runs equal one-by-one
// runs and leave the tokens after the position alone.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/session/modelSession';
import { why } from '../../src/core/why/why';
import { occlude } from '../../src/core/why/occlusion';
import { whyRun } from '../../src/core/why/forward';
import { WHY } from '../../src/core/onnx/interventions';
import { tensor, type Tensor } from '../../src/core/runtime/runtime';
import { CancelledError } from '../../src/core/common/errors';
import { testRuntimes } from './helpers/runtimes';

const root = path.resolve(__dirname, '..', '..', '..');
const dist = path.join(root, 'dist');

const TEXT = 'The cat sat on the mat. The dog sat on the';

/** The model's plain graph (no instrumentation) run on the same ids: its logits at every position. */
async function plainLogits(model: LoadedModel, folder: string, ids: number[]): Promise<Float32Array> {
  const bytes = fs.readFileSync(path.join(folder, 'onnx', 'model.onnx'));
  const session = await model.runtime.createSession(bytes);
  try {
    const T = ids.length;
    const feeds: Record<string, Tensor> = {
      input_ids: tensor.i64(ids, [1, T]),
      attention_mask: tensor.i64(new Array(T).fill(1), [1, T]),
      position_ids: tensor.i64(Array.from({ length: T }, (_, i) => i), [1, T]),
    };
    const spec = model.spec;
    for (let l = 0; l < spec.nLayer; l++) {
      for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = tensor.emptyPast('float32', [1, spec.nKvHeads, 0, spec.headDim]);
    }
    const out = await session.run(feeds, ['logits']);
    return out.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

const fixtures = [
  { name: 'lens-tiny', dir: path.join(root, 'models/lens-tiny') },
  { name: 'llama-tiny', dir: path.join(root, 'test/fixtures/llama-tiny') },
  { name: 'qwen2-tiny', dir: path.join(root, 'test/fixtures/qwen2-tiny') },
];

for (const fx of fixtures) {
  for (const rt of testRuntimes(dist)) {
    describe(`why on ${fx.name} (${rt.name})`, function () {
      this.timeout(60_000);
      let model: LoadedModel;
      before(async () => {
        model = await LoadedModel.load(fx.dir, { runtime: rt.runtime });
      });
      after(() => model?.dispose());

      it('finds every intervention point, and says so in the instrumentation report', () => {
        assert.deepEqual(model.info.instrumentation.interventions?.available, ['head', 'attention', 'mlp', 'edge']);
        assert.deepEqual(model.info.instrumentation.interventions?.notes, []);
        assert.deepEqual(model.info.instrumentation.interventions?.unavailable, {});
        assert.equal(model.outProjections.filter(Boolean).length, model.nLayers);
      });

      it('gives the plain graph its own logits with the gates at their defaults and fed as ones and zeros', async () => {
        const ids = model.tokenizer.ids(TEXT);
        const T = ids.length;
        const V = model.spec.vocabSize;
        const plain = await plainLogits(model, fx.dir, ids);
        const p = T - 1;
        const defaults = await whyRun(model, ids, p, {});
        const feeds: Record<string, Tensor> = { [WHY.scoreMask]: tensor.f32(new Float32Array(T * T), [T, T]) };
        model.whyPoints!.layers.forEach((l, i) => {
          feeds[WHY.zGate(i)] = tensor.f32(new Float32Array(l.z!.width).fill(1), [l.z!.width]);
          feeds[WHY.zAdd(i)] = tensor.f32(new Float32Array(l.z!.width), [l.z!.width]);
          feeds[WHY.attnGate(i)] = tensor.f32(new Float32Array([1]), [1]);
          feeds[WHY.attnAdd(i)] = tensor.f32(new Float32Array(model.dModel), [model.dModel]);
          feeds[WHY.mlpGate(i)] = tensor.f32(new Float32Array([1]), [1]);
          feeds[WHY.mlpAdd(i)] = tensor.f32(new Float32Array(model.dModel), [model.dModel]);
        });
        const ones = await whyRun(model, ids, p, feeds);
        let worst = 0;
        for (let v = 0; v < V; v++) {
          worst = Math.max(worst, Math.abs(defaults.logits[v] - plain[p * V + v]), Math.abs(ones.logits[v] - plain[p * V + v]));
        }
        assert.ok(worst <= 1e-6, `instrumented logits differ from the plain graph's by ${worst}`);
      });

      it('attributes a target logit and a logit difference exactly (components sum to the model\'s own value within 1e-4)', async () => {
        const r1 = await why(model, { text: TEXT });
        const a = r1.attribution;
        assert.equal(a.tokenIds[0], r1.top[0].id, 'with no target the top token is explained');
        assert.ok(Math.abs(a.sum - a.total) <= 1e-4, `sum ${a.sum} vs total ${a.total}`);
        const parts = a.embedding + a.attention.reduce((x, y) => x + y, 0) + a.mlp.reduce((x, y) => x + y, 0) + a.bias;
        assert.ok(Math.abs(parts - a.sum) < 1e-9);
        // Heads partition their layer's attention (its output projection's bias is in `bias`).
        a.heads.forEach((hs, l) => {
          assert.equal(hs.length, model.nHeads);
          const s = hs.reduce((x, y) => x + y, 0);
          assert.ok(Math.abs(s - a.attention[l]) <= 1e-4 * Math.max(1, Math.abs(a.attention[l])), `layer ${l}: heads ${s} vs attention ${a.attention[l]}`);
        });
        assert.equal(a.headsUnavailable, undefined);
        assert.ok(a.normScale > 0);

        // Two of the top tokens whose text tokenizes back to them (a random model's top may be a piece of a character).
        const [A, B] = r1.top.filter((t) => JSON.stringify(model.tokenizer.ids(t.text)) === JSON.stringify([t.id])).map((t) => t.text);
        const rankA = r1.top.findIndex((t) => t.text === A) + 1;
        const rankB = r1.top.findIndex((t) => t.text === B) + 1;
        const r2 = await why(model, { text: TEXT, targets: [A, B] });
        const d = r2.attribution;
        assert.ok(Math.abs(d.sum - d.total) <= 1e-4, `difference: sum ${d.sum} vs total ${d.total}`);
        assert.ok(d.total > 0, 'the higher-ranked token beats the lower one');
        assert.ok(Math.abs(r2.difference![model.nLayers] - d.total) < 1e-6);
        assert.equal(r2.targets[0].rankByLayer[model.nLayers], rankA);
        assert.equal(r2.targets[1].rankByLayer[model.nLayers], rankB);
        assert.ok(Math.abs(r2.targets[0].prob - r1.top[rankA - 1].prob) < 1e-6);
        assert.equal(r2.lens.length, model.nLayers + 1);
        assert.equal(r2.surprisal.length, r2.tokens.length);
        assert.ok(Number.isNaN(r2.surprisal[0]) && r2.surprisal.slice(1).every((s) => s >= 0));
      });

      it('gives a multi-token continuation the product of its teacher-forced token probabilities', async () => {
        const cont = ' mat. The';
        const ids = model.tokenizer.ids(TEXT);
        const contIds = model.tokenizer.ids(cont);
        assert.ok(contIds.length > 1);
        const r = await why(model, { text: TEXT, targets: [cont] });
        // The same thing by scoring the text with the continuation appended.
        const full = await why(model, { text: TEXT + cont, position: ids.length - 1 });
        const whole = model.tokenizer.ids(TEXT + cont);
        assert.deepEqual(whole.slice(0, ids.length), ids);
        const lp = full.surprisal.slice(ids.length).reduce((s, b) => s - b * Math.LN2, 0);
        assert.ok(Math.abs(r.targets[0].logProb - lp) < 1e-4, `${r.targets[0].logProb} vs ${lp}`);
        assert.deepEqual(r.targets[0].tokenIds, contIds);
        // Under an intervention too: the continuation runs on from the intervened run's own keys and values.
        const off = [{ kind: 'mlp' as const, layer: 0, mode: 'zero' as const }];
        const ri = await why(model, { text: TEXT, targets: [cont], interventions: off });
        const fi = await why(model, { text: TEXT + cont, position: ids.length - 1, interventions: off });
        const lpi = fi.surprisal.slice(ids.length).reduce((s, b) => s - b * Math.LN2, 0);
        assert.ok(Math.abs(ri.targets[0].logProb - lpi) < 1e-4, `intervened: ${ri.targets[0].logProb} vs ${lpi}`);
        assert.ok(Math.abs(ri.targets[0].logProb - r.targets[0].logProb) > 1e-3, 'the intervention changes the continuation');
      });

      it('switches parts off as it says: a zeroed block adds nothing, a mean-ablated one adds its mean everywhere, a head\'s slice of z is zero', async () => {
        const ids = model.tokenizer.ids(TEXT);
        const T = ids.length;
        const d = model.dModel;
        const clean = await whyRun(model, ids, T - 1, {});
        const { interventionFeeds } = await import('../../src/core/why/interventionFeeds');
        const { cleanMeans } = await import('../../src/core/why/forward');
        const means = cleanMeans(model, clean);
        const z0 = await whyRun(model, ids, T - 1, interventionFeeds(model, [{ kind: 'attention', layer: 1, mode: 'zero' }, { kind: 'mlp', layer: 0, mode: 'zero' }], T, means));
        assert.deepEqual(z0.mid[1], z0.hidden[1], 'attention 1 zeroed: the stream after it is the stream entering it');
        assert.deepEqual(z0.hidden[1], z0.mid[0], 'MLP 0 zeroed');
        const m = await whyRun(model, ids, T - 1, interventionFeeds(model, [{ kind: 'attention', layer: 0, mode: 'mean' }], T, means));
        let worst = 0;
        for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) worst = Math.max(worst, Math.abs(m.mid[0][t * d + j] - m.hidden[0][t * d + j] - means.attn[0][j]));
        assert.ok(worst < 1e-5, `mean ablation adds the mean: off by ${worst}`);
        const H = model.nHeads;
        const width = clean.z[0]!.length / T;
        const hd = width / H;
        const h = await whyRun(model, ids, T - 1, interventionFeeds(model, [{ kind: 'head', layer: 0, head: 1, mode: 'zero' }], T, means));
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < width; j++) {
            const inHead = j >= hd && j < 2 * hd;
            if (inHead) assert.equal(h.z[0]![t * width + j], 0);
            else assert.equal(h.z[0]![t * width + j], clean.z[0]![t * width + j], 'the other heads are untouched in layer 0');
          }
        }
        assert.notDeepEqual(h.logits, clean.logits);
        // A why request with a head off: labelled, with the clean list beside it.
        const r = await why(model, { text: TEXT, interventions: [{ kind: 'head', layer: 0, head: 1, mode: 'mean' }] });
        assert.equal(r.interventions.length, 1);
        assert.ok(r.cleanTop && r.cleanSurprisal);
        assert.notDeepEqual(r.surprisal, r.cleanSurprisal);
        assert.ok(Math.abs(r.attribution.sum - r.attribution.total) <= 1e-4);
      });

      it('cuts an attention edge: positions before the query are untouched, the query changes', async () => {
        const clean = await why(model, { text: TEXT });
        const T = clean.tokens.length;
        const to = 6;
        const r = await why(model, { text: TEXT, interventions: [{ kind: 'edge', from: 2, to }] });
        for (let t = 1; t <= to; t++) assert.equal(r.surprisal[t], clean.surprisal[t], `token ${t} is predicted before the cut query`);
        assert.notEqual(r.surprisal[to + 1], clean.surprisal[to + 1]);
        assert.equal(r.surprisal.length, T);
      });

      it('occludes context tokens in batched runs equal to one-by-one runs, nearest first, with progress and a cap', async () => {
        const ids = model.tokenizer.ids(TEXT);
        const T = ids.length;
        const p = T - 3;
        const seen: [number, number][] = [];
        const r = await occlude(model, { text: TEXT, position: p }, undefined, (done, total) => seen.push([done, total]));
        assert.equal(r.occluded, p + 1);
        assert.equal(r.skipped, 0);
        assert.ok(r.batches < r.occluded, `batched: ${r.batches} runs for ${r.occluded}`);
        for (let t = p + 1; t < T; t++) assert.ok(Number.isNaN(r.delta[t]), 'tokens after the position are not occluded');
        assert.deepEqual(seen[seen.length - 1], [p + 2, p + 2]);
        assert.ok(seen.every(([done], i) => i === 0 || done > seen[i - 1][0]));
        // One by one: the same numbers.
        const { rowLogProbs } = await import('../../src/core/why/batch');
        const base = [...ids.slice(0, p + 1), ...r.target.tokenIds];
        const rows = [base, base.map((id, t) => (t === p - 1 ? r.maskToken!.id : id))];
        const single = await rowLogProbs(model, rows, undefined, [p], () => ({}), { batch: 1 });
        assert.equal(single.runs, 2);
        assert.ok(Math.abs(single.values[0][0] - r.target.logProb) < 1e-5);
        assert.ok(Math.abs(single.values[1][0] - single.values[0][0] - r.delta[p - 1]) < 1e-5);
        // The shared prefix fed as the past gives what full rows give.
        for (const method of ['mask', 'drop'] as const) {
          const full = await occlude(model, { text: TEXT, position: p, method }, undefined, undefined, { reusePrefix: false });
          const shared = await occlude(model, { text: TEXT, position: p, method });
          assert.ok(Math.abs(full.target.logProb - shared.target.logProb) < 1e-5);
          for (let t = 0; t <= p; t++) assert.ok(Math.abs(full.delta[t] - shared.delta[t]) < 1e-4, `${method} token ${t}: ${full.delta[t]} vs ${shared.delta[t]}`);
        }
        const capped = await occlude(model, { text: TEXT, position: p, cap: 3, method: 'drop' });
        assert.equal(capped.occluded, 3);
        assert.equal(capped.skipped, p + 1 - 3);
        assert.ok(Number.isFinite(capped.delta[p]) && Number.isFinite(capped.delta[p - 2]) && Number.isNaN(capped.delta[p - 3]));
      });

      it('stops occluding when cancelled', async () => {
        const c = new AbortController();
        c.abort();
        await assert.rejects(occlude(model, { text: TEXT }, c.signal), CancelledError);
      });
    });
  }
}

// The other published layouts of the Llama-family fixtures: quantized output projections (no per-head attribution),
// the q8 head (activations quantized on the fly: the model's own logit is not exactly linear in the stream), and
// fused GroupQueryAttention (heads yes, edges and dropping a token from the attention no).
const variants = [
  { dir: 'test/fixtures/llama-tiny', file: 'onnx/model_q4.onnx', kinds: ['head', 'attention', 'mlp', 'edge'], heads: false, tol: 1e-4, drop: true },
  { dir: 'test/fixtures/llama-tiny', file: 'onnx/model_quantized.onnx', kinds: ['attention', 'mlp', 'edge'], heads: false, tol: 0.05, drop: true },
  { dir: 'test/fixtures/qwen2-tiny-gqa', file: 'model.onnx', kinds: ['head', 'attention', 'mlp'], heads: true, tol: 1e-4, drop: false },
];
describe('why on the quantized and fused Llama-family layouts (native)', function () {
  this.timeout(60_000);
  const native = testRuntimes(dist).find((r) => r.name === 'native')!;
  for (const v of variants) {
    it(`${v.dir.split('/').pop()} ${v.file}: says what it can switch off, and attributes within ${v.tol}`, async () => {
      const model = await LoadedModel.load(path.join(root, v.dir), { onnxFile: v.file, runtime: native.runtime });
      try {
        const iv = model.info.instrumentation.interventions!;
        assert.deepEqual(iv.available, v.kinds);
        assert.equal(iv.notes.length > 0, true);
        // Each kind missing says why, once, and only those.
        assert.deepEqual(Object.keys(iv.unavailable ?? {}).sort(), ['head', 'attention', 'mlp', 'edge'].filter((k) => !v.kinds.includes(k as 'head')).sort());
        if (!v.kinds.includes('edge')) assert.match(iv.unavailable!.edge!, /fused operator \([\w.]*GroupQueryAttention\)/);
        const r = await why(model, { text: TEXT, interventions: v.kinds.includes('head') ? [{ kind: 'head', layer: 1, head: 2, mode: 'zero' }] : [{ kind: 'mlp', layer: 1, mode: 'mean' }] });
        assert.ok(Math.abs(r.attribution.sum - r.attribution.total) <= v.tol, `sum ${r.attribution.sum} vs ${r.attribution.total}`);
        assert.equal(r.attribution.headsUnavailable === undefined, v.heads);
        if (!v.kinds.includes('edge')) await assert.rejects(why(model, { text: TEXT, interventions: [{ kind: 'edge', from: 1, to: 3 }] }), /attention edges: attention is one fused operator/);
        if (!v.kinds.includes('head')) await assert.rejects(why(model, { text: TEXT, interventions: [{ kind: 'head', layer: 0, head: 0, mode: 'zero' }] }), /switch off a head/);
        const o = await occlude(model, { text: TEXT });
        assert.equal(o.occluded, o.tokens.length);
        if (v.drop) assert.ok((await occlude(model, { text: TEXT, method: 'drop' })).delta.every((x) => Number.isFinite(x)));
        else await assert.rejects(occlude(model, { text: TEXT, method: 'drop' }), /fused operator/);
      } finally {
        await model.dispose();
      }
    });
  }
});
