// Float16 files (model_fp16, model_q4f16, as transformers.js' float16 converter writes them) read as the float32 graph
// they were made from (src/core/onnx/upcast.ts): nothing float16 left, the converter's Casts taken out so the graph is
// the float32 export's again, inputs and outputs float32 (also where the file declares them float16), the memory
// estimate counting float16 bytes twice. The lens on these files against PyTorch is in llamaLens.test.ts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { decodeModel, readModelFile } from '../../src/core/onnx/proto';
import { hasFloat16, upcastFloat16 } from '../../src/core/onnx/upcast';
import { checkModelMemory, estimateFolderMemory, float16FileBytes } from '../../src/core/model/memory';
import { ModelMemoryError } from '../../src/core/model/errors';
import type { InferenceRuntime } from '../../src/core/runtime/runtime';
import { configureRuntime, webRuntime } from '../../src/core/runtime/web';
import { LoadedModel } from '../../src/core/session/modelSession';
import { Generator } from '../../src/core/session/generate';
import { testRuntimes } from './helpers/runtimes';

const root = path.resolve(__dirname, '..', '..', '..');
const fixture = (name: string) => path.join(root, 'test', 'fixtures', name);
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
// The GPT-2 float16 file against its float32 twin, measured 8.8e-5 (hidden) and 1.5e-5 (attention) on both runtimes:
// about twice that.
const HIDDEN_TOL = 2e-4;
const ATTN_TOL = 3e-5;

const read = (name: string, file: string) => readModelFile(path.join(fixture(name), 'onnx', file), { folder: fixture(name), maxBytes: 1 << 30 });
const ops = (m: onnx.IModelProto) => {
  const c = new Map<string, number>();
  for (const n of m.graph!.node ?? []) c.set(n.opType!, (c.get(n.opType!) ?? 0) + 1);
  return c;
};
const io = (m: onnx.IModelProto) => [...(m.graph!.input ?? []), ...(m.graph!.output ?? [])].map((v) => [v.name, v.type?.tensorType?.elemType]);

describe('float16 files read as float32', () => {
  before(() => configureRuntime(path.join(root, 'dist'), 1));
  for (const [name, fp16Io] of [['llama-tiny', false], ['qwen2-tiny', true]] as const) {
    for (const [file, twin] of [['model_fp16.onnx', 'model.onnx'], ['model_q4f16.onnx', 'model_q4.onnx']]) {
      it(`${name}/${file} (${fp16Io ? 'float16' : 'float32'} inputs and outputs) becomes ${twin}'s graph`, () => {
        const raw = decodeModel(fs.readFileSync(path.join(fixture(name), 'onnx', file)), file);
        assert.ok(hasFloat16(raw));
        const declared = (raw.graph!.input ?? []).find((v) => v.name === 'past_key_values.0.key')!.type!.tensorType!.elemType;
        assert.equal(declared, fp16Io ? FLOAT16 : FLOAT, 'the fixture is written as its generator says');
        const m = read(name, file);
        const f32 = read(name, twin);
        assert.equal(hasFloat16(m), false);
        for (const t of m.graph!.initializer ?? []) assert.notEqual(t.dataType, FLOAT16, t.name!);
        // The converter's Casts (after float inputs, before float outputs, around the ops it keeps in float32) are
        // gone: the same ops as the twin, the export's own Casts kept.
        assert.deepEqual(new Map([...ops(m)].sort()), new Map([...ops(f32)].sort()));
        assert.deepEqual(io(m), io(f32), 'inputs and outputs: the same names, float32');
        const casts = (g: onnx.IModelProto) => (g.graph!.node ?? []).filter((n) => n.opType === 'Cast').map((n) => n.name!).sort();
        assert.deepEqual(casts(m), casts(f32));
      });
    }
  }

  it('rounds nothing further: the weights are the float16 values as float32', () => {
    const m = read('llama-tiny', 'model_fp16.onnx');
    const f32 = read('llama-tiny', 'model.onnx');
    const byName = new Map((f32.graph!.initializer ?? []).map((t) => [t.name, t]));
    let compared = 0;
    for (const t of m.graph!.initializer ?? []) {
      const twin = byName.get(t.name);
      if (!twin || twin.dataType !== FLOAT || !t.rawData || !twin.rawData) continue;
      const a = new Float32Array(Uint8Array.from(t.rawData).buffer);
      const b = new Float32Array(Uint8Array.from(twin.rawData).buffer);
      assert.equal(a.length, b.length);
      for (let i = 0; i < a.length; i++) {
        // float16 keeps 11 significant bits (relative error 2^-11), or 2^-24 absolute below its normal range; the
        // converter clamps magnitudes under 1e-7 up to 1e-7.
        const tol = Math.max(Math.abs(b[i]) * 2 ** -11, 2 ** -24, Math.abs(b[i]) < 1e-7 ? 1e-7 : 0);
        if (Math.abs(a[i] - b[i]) > tol) assert.fail(`${t.name}[${i}]: ${a[i]} vs ${b[i]}`);
      }
      compared++;
    }
    assert.ok(compared > 5, `${compared} tensors compared`);
  });

  it('converts every kind of float16 it meets, keeps a Cast from integers, and the graph runs', async () => {
    const A = onnx.AttributeProto.AttributeType;
    // x (int64) -> Cast(to float16) -> Add(Constant float16 in int32_data) -> Mul(initializer float16, odd offset) ->
    // y (float16 output); ConstantOfShape with a float16 value -> z (float16 output).
    const half = (v: number) => ({ 1: 0x3c00, 0.5: 0x3800, 2: 0x4000, '-1.5': 0xbe00 })[String(v) as '1'];
    const raw = new Uint8Array(5).subarray(1);
    new DataView(raw.buffer, raw.byteOffset).setUint16(0, half(2), true);
    new DataView(raw.buffer, raw.byteOffset).setUint16(2, half(0.5), true);
    const model: onnx.IModelProto = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        input: [{ name: 'x', type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimValue: 2 }] } } } }],
        output: [
          { name: 'y', type: { tensorType: { elemType: FLOAT16, shape: { dim: [{ dimValue: 2 }] } } } },
          { name: 'z', type: { tensorType: { elemType: FLOAT16 } } },
        ],
        initializer: [{ name: 'w', dims: [2], dataType: FLOAT16, rawData: raw }, { name: 'shape', dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [3] }],
        node: [
          { opType: 'Cast', input: ['x'], output: ['xh'], name: 'cast', attribute: [{ name: 'to', type: A.INT, i: FLOAT16 }] },
          { opType: 'Constant', input: [], output: ['c'], name: 'c', attribute: [{ name: 'value', type: A.TENSOR, t: { dims: [2], dataType: FLOAT16, int32Data: [half(1), half(-1.5)] } }] },
          { opType: 'Add', input: ['xh', 'c'], output: ['s'], name: 'add' },
          { opType: 'Mul', input: ['s', 'w'], output: ['y'], name: 'mul' },
          { opType: 'ConstantOfShape', input: ['shape'], output: ['z'], name: 'fill', attribute: [{ name: 'value', type: A.TENSOR, t: { dims: [1], dataType: FLOAT16, int32Data: [half(0.5)] } }] },
        ],
      },
    };
    const report = upcastFloat16(model);
    assert.deepEqual(report, { tensors: 3, elements: 5, castsRemoved: 0 });
    assert.equal(hasFloat16(model), false);
    assert.equal(model.graph!.node![0].attribute![0].i, FLOAT, 'the Cast from int64 stays, to float32');
    const session = await webRuntime.createSession(onnx.ModelProto.encode(model).finish());
    try {
      const out = await session.run({ x: { type: 'int64', data: BigInt64Array.from([3n, 5n]), dims: [2] } }, ['y', 'z']);
      assert.equal(out.y.type, 'float32');
      assert.deepEqual(Array.from(out.y.data as Float32Array), [(3 + 1) * 2, (5 - 1.5) * 0.5]);
      assert.deepEqual(Array.from(out.z.data as Float32Array), [0.5, 0.5, 0.5]);
    } finally {
      await session.release();
    }
  });

  it('leaves a float32 graph as it is', () => {
    const m = decodeModel(fs.readFileSync(path.join(fixture('llama-tiny'), 'onnx', 'model.onnx')), 'model.onnx');
    const before = onnx.ModelProto.encode(m).finish();
    assert.deepEqual(upcastFloat16(m), { tensors: 0, elements: 0, castsRemoved: 0 });
    assert.deepEqual(onnx.ModelProto.encode(m).finish(), before);
  });

  it('the memory estimate counts a float16 file as the float32 graph it becomes', () => {
    const dir = fixture('llama-tiny');
    const sizeOf = (f: string) => fs.statSync(path.join(dir, 'onnx', f)).size;
    for (const [file, twin] of [['onnx/model_fp16.onnx', 'model.onnx'], ['onnx/model_q4f16.onnx', 'model_q4.onnx']]) {
      const e = estimateFolderMemory(dir, { onnxFile: file }).estimate;
      const t = estimateFolderMemory(dir, { onnxFile: `onnx/${twin}` }).estimate;
      assert.equal(e.fileBytes, sizeOf(path.basename(file)));
      assert.ok(e.float16Bytes > 0 && t.float16Bytes === 0);
      assert.equal(e.graphBytes, e.fileBytes + e.float16Bytes);
      // Within 15% of the float32 twin's bytes: the rest is the graph's structure, to which the converter adds the
      // value info of its shape inference (35 kB here; nothing beside the weights of a real model).
      assert.ok(Math.abs(e.graphBytes - t.graphBytes) < 0.15 * t.graphBytes, `${file}: ${e.graphBytes} vs ${twin} ${t.graphBytes}`);
      assert.ok(Math.abs(e.runtimeBytes - t.runtimeBytes) < 0.15 * t.runtimeBytes);
    }
    // A graph too large to decode: by the variant's name.
    const big = { onnxPath: '/nonexistent/model_fp16.onnx', onnxBytes: 1e9 };
    const shape = { vocabSize: 151936, dModel: 896 };
    assert.equal(float16FileBytes(big, 1e9, 'model_fp16', shape), 1e9);
    assert.equal(float16FileBytes(big, 1e9, 'model_q4', shape), 0);
    const q4f16 = float16FileBytes(big, 4.6e8, 'model_q4f16', shape);
    assert.equal(q4f16, Math.round(2 * 151936 * 896 + (4.6e8 - 2 * 151936 * 896) / 9));
  });

  it('a refusal says the float16 file is read as float32', () => {
    const dir = fixture('llama-tiny');
    const capped: InferenceRuntime = { ...webRuntime, memoryLimitBytes: 1024 * 1024 };
    let e: unknown;
    try {
      checkModelMemory(dir, { onnxFile: 'onnx/model_fp16.onnx', runtime: capped, machineBytes: 16 * 1024 ** 3 });
    } catch (err) {
      e = err;
    }
    assert.ok(e instanceof ModelMemoryError, String(e));
    assert.match(e.message, /about three times the model's [\d.]+ MB \(its [\d.]+ MB file read as float32: its 16-bit floats take twice their bytes\)/);
  });
});

// GPT-2's fp16 file (the tiny GPT-2 of models/train/make_gpt2_fp16.py, converted as transformers.js converts): the lens
// reads it as it reads the float32 file, within the float16 rounding of the weights.
describe('a GPT-2 float16 file', function () {
  this.timeout(60_000);
  const dir = fixture('gpt2-tiny');
  const ids = [10, 200, 31, 400, 52, 60, 700, 81, 99, 1000, 7];
  for (const rt of testRuntimes(path.join(root, 'dist'))) {
    it(`on ${rt.name}: the same structure, parameters, predictions and attention as float32; greedy with the cache = without`, async () => {
      const a = await LoadedModel.load(dir, { runtime: rt.runtime });
      const b = await LoadedModel.load(dir, { onnxFile: 'onnx/model_fp16.onnx', runtime: rt.runtime });
      try {
        assert.equal(b.spec.architecture, 'gpt2');
        assert.deepEqual(b.info.instrumentation.missing, []);
        assert.deepEqual(b.attentionLayers, a.attentionLayers);
        assert.ok(b.hasLens && b.lensHead);
        assert.equal(b.info.parameters.total, a.info.parameters.total);
        assert.equal(b.info.parameters.total, 138_688);
        const layers = a.attentionLayers;
        const ra = await a.run({ ids, topK: 5, attentionLayers: layers });
        const rb = await b.run({ ids, topK: 5, attentionLayers: layers });
        let hidden = 0;
        ra.hidden.forEach((h, i) => h.forEach((x, j) => (hidden = Math.max(hidden, Math.abs(x - rb.hidden[i][j])))));
        let attn = 0;
        for (const l of layers) ra.attention.get(l)!.forEach((x, j) => (attn = Math.max(attn, Math.abs(x - rb.attention.get(l)![j]))));
        assert.ok(hidden <= HIDDEN_TOL, `hidden ${hidden}`);
        assert.ok(attn <= ATTN_TOL, `attention ${attn}`);
        assert.deepEqual(rb.predTopI, ra.predTopI);
      } finally {
        await a.dispose();
        await b.dispose();
      }
      const cached = await Generator.load(dir, { onnxFile: 'onnx/model_fp16.onnx', runtime: rt.runtime });
      const plain = await Generator.load(dir, { onnxFile: 'onnx/model_fp16.onnx', runtime: rt.runtime, cache: false });
      try {
        const x = await cached.generate(ids, { maxNewTokens: 8 });
        const y = await plain.generate(ids, { maxNewTokens: 8 });
        assert.ok(cached.hasKvCache);
        assert.deepEqual(x.ids, y.ids);
      } finally {
        await cached.dispose();
        await plain.dispose();
      }
    });
  }
});
