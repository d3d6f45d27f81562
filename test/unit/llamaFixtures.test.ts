// The Llama-family test models (issue #14), made offline by models/train/make_llama_testmodels.py in the published
// layouts: our tokenizer reads their tokenizer.json to the ids PyTorch used, and both runtimes run every variant
// (fp32, q4 MatMulNBits, q8 MatMulInteger, and fp16 / q4f16 as published, with float16 activations and, in qwen2-tiny,
// float16 past key/values and logits) to PyTorch's logits, or to the simulation of the quantized (or float16-rounded)
// arithmetic. The raw graphs on both runtimes; what the lens reads from them (float16 files upcast to float32) is
// checked in llamaLens.test.ts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../../src/core/tokenizer/tokenizer';
import type { Tensor } from '../../src/core/runtime/runtime';
import { testRuntimes } from './helpers/runtimes';
import { halfToFloat } from '../../src/core/onnx/upcast';

const root = path.resolve(__dirname, '..', '..', '..');
const dist = path.join(root, 'dist');

interface Reference {
  text: string;
  ids: number[];
  logits: Record<string, number[]>;
  config: { num_hidden_layers: number; num_key_value_heads: number; num_attention_heads: number; hidden_size: number; head_dim?: number };
  variants: Record<string, { file: string; tolerance?: number; simulated_logits?: Record<string, number[]>; tolerance_vs_simulated?: number; io?: 'float16' | 'float32' }>;
}

function feeds(ref: Reference, io: 'float16' | 'float32' = 'float32'): Record<string, Tensor> {
  const T = ref.ids.length;
  const c = ref.config;
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  const f: Record<string, Tensor> = {
    input_ids: { type: 'int64', data: BigInt64Array.from(ref.ids, BigInt), dims: [1, T] },
    attention_mask: { type: 'int64', data: new BigInt64Array(T).fill(1n), dims: [1, T] },
    position_ids: { type: 'int64', data: BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), dims: [1, T] },
  };
  // Past length 0 on the first step, [batch, kv_heads, past, head_dim]: the key/value heads, not the query heads.
  for (let l = 0; l < c.num_hidden_layers; l++) {
    for (const kv of ['key', 'value']) {
      const dims = [1, c.num_key_value_heads, 0, headDim];
      f[`past_key_values.${l}.${kv}`] = io === 'float16' ? { type: 'float16', data: new Uint16Array(0), dims } : { type: 'float32', data: new Float32Array(0), dims };
    }
  }
  return f;
}

for (const name of ['llama-tiny', 'qwen2-tiny']) {
  const dir = path.join(root, 'test/fixtures', name);
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;

  describe(`Llama-family test model ${name}`, function () {
    it('our tokenizer gives the ids PyTorch read', () => {
      assert.deepEqual(Tokenizer.fromFile(path.join(dir, 'tokenizer.json')).ids(ref.text), ref.ids);
    });

    for (const rt of testRuntimes(dist)) {
      for (const [variant, v] of Object.entries(ref.variants)) {
        it(`${variant} (${v.file}) on ${rt.name}: logits as PyTorch's${v.simulated_logits ? ' simulation of the quantized arithmetic' : ''}`, async () => {
          const session = await rt.runtime.createSession(fs.readFileSync(path.join(dir, v.file)));
          try {
            const out = await session.run(feeds(ref, v.io), ['logits']);
            const logits = out.logits.type === 'float16' ? Float32Array.from(out.logits.data as Uint16Array, halfToFloat) : (out.logits.data as Float32Array);
            const V = out.logits.dims[2];
            const want = v.simulated_logits ?? ref.logits;
            const tol = v.simulated_logits ? v.tolerance_vs_simulated! : v.tolerance!;
            for (const [pos, expected] of Object.entries(want)) {
              const got = logits.subarray(Number(pos) * V, (Number(pos) + 1) * V);
              const err = Math.max(...expected.map((x, i) => Math.abs(x - got[i])));
              assert.ok(err <= tol, `position ${pos}: max logit error ${err} > ${tol}`);
            }
          } finally {
            await session.release();
          }
        });
      }
    }
  });
}
