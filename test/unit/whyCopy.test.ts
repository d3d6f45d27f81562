// The Why view on a model whose answer is known (issue #15): test/fixtures/why-copy, written by
// models/train/make_why_fixture.py, predicts the previous token through one head (layer 0, head 0) and nothing else
// reads across positions. Direct logit attribution must name that head first, switching it off must remove the
// effect (and match PyTorch's own mean ablation), and occluding any token before the previous one changes nothing.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/session/modelSession';
import { why } from '../../src/core/why/why';
import { occlude } from '../../src/core/why/occlusion';
import { whyRun, cleanMeans } from '../../src/core/why/forward';
import { interventionFeeds } from '../../src/core/why/interventionFeeds';
import { testRuntimes } from './helpers/runtimes';

const root = path.resolve(__dirname, '..', '..', '..');
const dist = path.join(root, 'dist');
const dir = path.join(root, 'test/fixtures/why-copy');
const ref = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as { text: string; ids: number[]; clean: number[]; head0_zero: number[]; head0_mean: number[] };

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

for (const rt of testRuntimes(dist)) {
  describe(`why on the previous-token model (${rt.name})`, function () {
    this.timeout(60_000);
    let model: LoadedModel;
    before(async () => {
      model = await LoadedModel.load(dir, { runtime: rt.runtime });
    });
    after(() => model?.dispose());

    it('computes what PyTorch computes for the fixture', async () => {
      assert.deepEqual(model.tokenizer.ids(ref.text), ref.ids);
      const r = await whyRun(model, ref.ids, ref.ids.length - 1, {});
      assert.ok(maxAbs(r.logits, ref.clean) < 1e-4, `clean logits off by ${maxAbs(r.logits, ref.clean)}`);
    });

    it('predicts the previous token, and attributes it to head 0.0 first', async () => {
      const T = ref.ids.length;
      for (const p of [3, 7, T - 1]) {
        const prevId = ref.ids[p - 1];
        const r = await why(model, { text: ref.text, position: p });
        assert.equal(r.top[0].id, prevId, `after token ${p} the model predicts token ${p - 1}`);
        const a = r.attribution;
        assert.ok(Math.abs(a.sum - a.total) <= 1e-4, `sum ${a.sum} vs total ${a.total}`);
        const heads = a.heads.flatMap((hs, layer) => hs.map((value, head) => ({ layer, head, value })));
        heads.sort((x, y) => Math.abs(y.value) - Math.abs(x.value));
        assert.deepEqual([heads[0].layer, heads[0].head], [0, 0]);
        assert.ok(heads[0].value > 0.5 * a.total, `head 0.0 gives ${heads[0].value} of ${a.total}`);
        assert.deepEqual(a.top[0].kind === 'attention' ? [a.top[0].layer] : [a.top[0].layer, a.top[0].head], a.top[0].kind === 'attention' ? [0] : [0, 0]);
      }
    });

    it('loses the effect when head 0.0 is switched off, as PyTorch computes it (zero and mean ablation)', async () => {
      const T = ref.ids.length;
      const prevId = ref.ids[T - 2];
      const off = await why(model, { text: ref.text, interventions: [{ kind: 'head', layer: 0, head: 0, mode: 'zero' }] });
      assert.equal(off.cleanTop![0].id, prevId);
      assert.notEqual(off.top[0].id, prevId);
      const rankOff = off.top.findIndex((t) => t.id === prevId);
      assert.ok(rankOff === -1 || off.top[rankOff].prob < 0.01, 'the previous token is no longer likely');
      const clean = await whyRun(model, ref.ids, T - 1, {});
      const means = cleanMeans(model, clean);
      const zero = await whyRun(model, ref.ids, T - 1, interventionFeeds(model, [{ kind: 'head', layer: 0, head: 0, mode: 'zero' }], T, means));
      const mean = await whyRun(model, ref.ids, T - 1, interventionFeeds(model, [{ kind: 'head', layer: 0, head: 0, mode: 'mean' }], T, means));
      assert.ok(maxAbs(zero.logits, ref.head0_zero) < 1e-4, `zero ablation off by ${maxAbs(zero.logits, ref.head0_zero)}`);
      assert.ok(maxAbs(mean.logits, ref.head0_mean) < 1e-4, `mean ablation off by ${maxAbs(mean.logits, ref.head0_mean)}`);
      // Switching off another head leaves the prediction.
      const other = await why(model, { text: ref.text, interventions: [{ kind: 'head', layer: 1, head: 1, mode: 'zero' }] });
      assert.equal(other.top[0].id, prevId);
    });

    it('cutting the edge to the previous token removes the effect; other edges do nothing', async () => {
      const T = ref.ids.length;
      const p = T - 1;
      const clean = await why(model, { text: ref.text });
      const cut = await why(model, { text: ref.text, interventions: [{ kind: 'edge', from: p - 1, to: p }] });
      assert.notEqual(cut.top[0].id, ref.ids[p - 1]);
      const other = await why(model, { text: ref.text, interventions: [{ kind: 'edge', from: p - 3, to: p }] });
      assert.ok(Math.abs(other.top[0].prob - clean.top[0].prob) < 1e-6);
    });

    for (const method of ['mask', 'drop'] as const) {
      it(`occlusion (${method}): the previous token matters, the tokens before it change nothing`, async () => {
        const T = ref.ids.length;
        const p = T - 1;
        const r = await occlude(model, { text: ref.text, method });
        assert.equal(r.target.tokenIds[0], ref.ids[p - 1]);
        assert.ok(r.delta[p - 1] < -1, `occluding the previous token: ${r.delta[p - 1]}`);
        for (let t = 0; t < p - 1; t++) assert.ok(Math.abs(r.delta[t]) < 1e-5, `token ${t}: ${r.delta[t]}`);
      });
    }
  });
}
