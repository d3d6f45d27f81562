// Compares models/lens-tiny/onnx/model.onnx (onnxruntime-node) with PyTorch's logits at past
// lengths 0, 4 and 100 (reference written by export.py to models/train/.cache/onnx-reference.json),
// running the prompt first to fill the cache, as generation does. Exits non-zero past tolerance.
//   node models/train/check_onnx.mjs [modelDir] [reference.json]
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const modelDir = process.argv[2] ?? join(root, 'models', 'lens-tiny');
const refPath = process.argv[3] ?? join(root, 'models', 'train', '.cache', 'onnx-reference.json');
const TOL = 1e-3;

const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
const ref = JSON.parse(readFileSync(refPath, 'utf8'));
const session = await ort.InferenceSession.create(join(modelDir, 'onnx', 'model.onnx'));
const L = config.n_layer, H = config.n_head, hd = config.n_embd / config.n_head;
const i64 = (arr, dims) => new ort.Tensor('int64', BigInt64Array.from(arr.map(BigInt)), dims);

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

let worst = 0;
for (const c of ref.cases) {
  const P = c.past;
  const past = P ? await run(c.ids.slice(0, P), 0, null) : null;
  const out = await run(c.ids.slice(P), P, past);
  const logits = out.logits.data;
  if (logits.length !== c.logits.length) throw new Error(`logits length ${logits.length} vs ${c.logits.length}`);
  let max = 0;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, Math.abs(logits[i] - c.logits[i]));
  const present = out['present.0.key'].dims;
  console.log(`past ${P}: max abs diff ${max.toExponential(2)} over ${ref.new_tokens} tokens; present.0.key dims [${present}]`);
  worst = Math.max(worst, max);
}
if (!(worst <= TOL)) {
  console.error(`FAIL: max abs diff ${worst} > ${TOL}`);
  process.exit(1);
}
console.log('onnx OK');
