// Checks models/lens-tiny/onnx/model.onnx in onnxruntime-node against what PyTorch computed
// (test/fixtures/lens-tiny/): logits after 0, 4 and 100 cached tokens (kv-cache.json, the cache
// filled by a first run, as generation does), and for each input fixture the full logits at its
// listed positions and the top-5 at every position, in one pass and with all but the last token
// cached. Exits non-zero past tolerance.
//   node models/train/check_onnx.mjs [modelDir] [fixturesDir]
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const modelDir = process.argv[2] ?? join(root, 'models', 'lens-tiny');
const fixDir = process.argv[3] ?? join(root, 'test', 'fixtures', 'lens-tiny');
const TOL_LOGIT = 1e-3;
const TOL_PROB = 1e-4;

const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
const session = await ort.InferenceSession.create(join(modelDir, 'onnx', 'model.onnx'));
const L = config.n_layer, H = config.n_head, hd = config.n_embd / config.n_head, V = config.vocab_size;
const i64 = (arr, dims) => new ort.Tensor('int64', BigInt64Array.from(arr.map(BigInt)), dims);
let failures = 0;
const fail = (m) => { failures++; console.error('FAIL ' + m); };

async function run(ids, start, past) {
  const t = ids.length, p = start;
  const feeds = {
    input_ids: i64(ids, [1, t]),
    attention_mask: i64(new Array(p + t).fill(1), [1, p + t]),
    position_ids: i64(ids.map((_, i) => p + i), [1, t]),
  };
  for (let i = 0; i < L; i++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kv}`] = past?.[`present.${i}.${kv}`]
        ?? new ort.Tensor('float32', new Float32Array(0), [1, H, 0, hd]);
    }
  }
  return session.run(feeds);
}

// Logits of ids[start..] after caching ids[..start].
async function logitsAfter(ids, start) {
  const past = start ? await run(ids.slice(0, start), 0, null) : null;
  const out = await run(ids.slice(start), start, past);
  const dims = out['present.0.key'].dims;
  if (dims[2] !== ids.length) fail(`present length ${dims[2]} != ${ids.length}`);
  return out.logits.data;
}

function maxDiff(a, aOff, b) {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[aOff + i] - b[i]));
  return m;
}

const kv = JSON.parse(readFileSync(join(fixDir, 'kv-cache.json'), 'utf8'));
for (const c of kv.cases) {
  const logits = await logitsAfter(c.ids, c.past);
  const m = Math.max(...c.logits.map((row, j) => maxDiff(logits, j * V, row)));
  console.log(`past ${c.past}: max abs logit diff ${m.toExponential(2)} (${c.logits.length} new tokens)`);
  if (!(m <= TOL_LOGIT)) fail(`past ${c.past}: ${m}`);
}

for (const f of readdirSync(fixDir).filter((f) => f.endsWith('.json') && f !== 'kv-cache.json')) {
  const fx = JSON.parse(readFileSync(join(fixDir, f), 'utf8'));
  const t = fx.ids.length;
  for (const start of [0, t - 1]) {
    const logits = await logitsAfter(fx.ids, start);
    let worstLogit = 0, worstProb = 0, topMismatch = 0;
    for (const [pos, ref] of Object.entries(fx.logits)) {
      if (+pos >= start) worstLogit = Math.max(worstLogit, maxDiff(logits, (+pos - start) * V, ref));
    }
    for (let p = start; p < t; p++) {
      const row = logits.subarray((p - start) * V, (p - start + 1) * V);
      let mx = -Infinity;
      for (const v of row) mx = Math.max(mx, v);
      let z = 0;
      for (const v of row) z += Math.exp(v - mx);
      const ref = fx.top5[p];
      ref.ids.forEach((id, k) => {
        worstProb = Math.max(worstProb, Math.abs(Math.exp(row[id] - mx) / z - ref.probs[k]));
      });
      const best = row.indexOf(mx);
      if (best !== ref.ids[0] && Math.abs(ref.probs[0] - ref.probs[1]) > 1e-4) topMismatch++;
    }
    console.log(`${f} (${t} tokens, ${start} cached): max abs logit diff ${worstLogit.toExponential(2)}, top-5 prob diff ${worstProb.toExponential(2)}`);
    if (!(worstLogit <= TOL_LOGIT) || !(worstProb <= TOL_PROB) || topMismatch) fail(`${f} start ${start}: top-1 mismatches ${topMismatch}`);
  }
}
// Batch of two with left padding: the padded row's real tokens must give the logits they give alone.
{
  const fx = JSON.parse(readFileSync(join(fixDir, 'english.json'), 'utf8'));
  const a = fx.ids.slice(0, 10), b = fx.ids.slice(0, 6), pad = a.length - b.length;
  const hdEmpty = () => new ort.Tensor('float32', new Float32Array(0), [2, H, 0, hd]);
  const feeds = {
    input_ids: i64([...a, ...new Array(pad).fill(config.pad_token_id ?? 0), ...b], [2, a.length]),
    attention_mask: i64([...a.map(() => 1), ...new Array(pad).fill(0), ...b.map(() => 1)], [2, a.length]),
    position_ids: i64([...a.map((_, i) => i), ...new Array(pad).fill(0), ...b.map((_, i) => i)], [2, a.length]),
  };
  for (let i = 0; i < L; i++) for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${kv}`] = hdEmpty();
  const both = (await session.run(feeds)).logits.data;
  const alone = (await run(b, 0, null)).logits.data;
  // Row 1 starts at a.length * V; its real tokens start after the pads.
  const m = maxDiff(both, (a.length + pad) * V, Array.from(alone));
  const mA = maxDiff(both, 0, Array.from((await run(a, 0, null)).logits.data));
  console.log(`batch of 2, left padding: max abs logit diff ${Math.max(m, mA).toExponential(2)}`);
  if (!(Math.max(m, mA) <= TOL_LOGIT)) fail(`batched/padded logits differ by ${Math.max(m, mA)}`);
}

if (failures) {
  console.error(`${failures} failures`);
  process.exit(1);
}
console.log('onnx OK');
