// The memory estimate before a load (core/model/memory.ts): the figures at real shapes against what was measured, the
// WebAssembly heap's 4 GB against the machine's memory, external data counted, and the refusal's message with the
// figure and what would work, on the tiny test models.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelMemoryError } from '../../src/core/model/errors';
import { checkModelMemory, estimateFolderMemory, estimateMemory, judgeMemory, memoryLimitOf, modelFileBytes, type MemoryLimit } from '../../src/core/model/memory';
import { openModelFolder } from '../../src/core/model/folder';
import { decodeModel } from '../../src/core/onnx/proto';
import { encodeModel } from '../../src/core/onnx/build';
import { onnx } from 'onnx-proto';
import { LoadedModel } from '../../src/core/session/modelSession';
import type { InferenceRuntime } from '../../src/core/runtime/runtime';
import { configureRuntime, webRuntime, WASM_HEAP_BYTES } from '../../src/core/runtime/web';

const root = path.resolve(__dirname, '..', '..', '..');
const fixture = (name: string) => path.join(root, 'test', 'fixtures', name);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const wasm = (machineBytes = 16 * GiB): MemoryLimit => ({ kind: 'wasm', runtimeBytes: WASM_HEAP_BYTES, machineBytes });
const SHAPES = {
  smollm2: { vocabSize: 49152, dModel: 576, nLayer: 30, nHead: 9 },
  qwen05: { vocabSize: 151936, dModel: 896, nLayer: 24, nHead: 14 },
};
/** A runtime with a WebAssembly-like cap of `bytes`, running on onnxruntime-web. */
const capped = (bytes: number): InferenceRuntime => ({ ...webRuntime, memoryLimitBytes: bytes });

describe('model memory estimate', () => {
  it('agrees with the WebAssembly heap measured at real shapes: the load at or up to 20% above it, completions within 10%', () => {
    // onnxruntime-web 1.30, models/train/work/testmodels (see memory.ts): heap after the load, and with completions.
    const measured = [
      { what: 'SmolLM2-135M fp32', shape: SHAPES.smollm2, file: 652432638, load: 1887 * MiB, completions: 2609 * MiB },
      { what: 'SmolLM2-135M q4', shape: SHAPES.smollm2, file: 198594322, load: 537 * MiB, completions: 773 * MiB },
      { what: 'Qwen2.5-0.5B q4', shape: SHAPES.qwen05, file: 854587417, load: 2168 * MiB, completions: 3225 * MiB },
    ];
    for (const m of measured) {
      const e = estimateMemory({ fileBytes: m.file, ...m.shape });
      assert.ok(e.sessionBytes >= m.load && e.sessionBytes < 1.2 * m.load, `${m.what}: session ${e.sessionBytes / MiB} MiB vs ${m.load / MiB}`);
      assert.ok(Math.abs(e.runtimeWithCompletionsBytes - m.completions) / m.completions < 0.1, `${m.what}: with completions ${e.runtimeWithCompletionsBytes / MiB} MiB vs ${m.completions / MiB}`);
      assert.ok(e.runtimeBytes >= m.load, `${m.what}: never below what the load alone took`);
    }
  });

  it('fits Qwen2.5-Coder-0.5B q4 in the 4 GB heap, with completions, and not its fp32 file', () => {
    const q4 = estimateMemory({ fileBytes: 862e6, ...SHAPES.qwen05 });
    assert.equal(judgeMemory(q4, wasm()).over, undefined);
    assert.equal(judgeMemory(q4, wasm(), 'completions').over, undefined);
    assert.ok(q4.runtimeWithCompletionsBytes > 3 * GiB && q4.runtimeWithCompletionsBytes < 3.5 * GiB);
    // The fp32 weights (494 M parameters, 1.98 GB) need about 5.7 GB to create the session alone.
    const fp32 = estimateMemory({ fileBytes: 1.98e9, ...SHAPES.qwen05 });
    const v = judgeMemory(fp32, wasm());
    assert.equal(v.over, 'runtime');
    assert.ok(v.neededBytes > 5.5 * GiB, `${v.neededBytes / GiB}`);
    // Natively only the machine bounds it: 16 GB holds it, 4 GB does not.
    assert.equal(judgeMemory(fp32, { kind: 'native', machineBytes: 16 * GiB }).over, undefined);
    assert.equal(judgeMemory(fp32, { kind: 'native', machineBytes: 4 * GiB }).over, 'machine');
  });

  it('counts the host side: the graph twice, the float embedding, an untied head', () => {
    const tied = estimateMemory({ fileBytes: 100 * MiB, vocabSize: 1000, dModel: 100, nLayer: 2, nHead: 2 });
    assert.deepEqual(tied.host, { graph: 100 * MiB, instrumented: 100 * MiB, embedding: 1000 * 100 * 4 + 1000 * 4, head: 0 });
    const untied = estimateMemory({ fileBytes: 100 * MiB, vocabSize: 1000, dModel: 100, nLayer: 2, nHead: 2, untiedHead: true });
    assert.equal(untied.hostBytes - tied.hostBytes, 1000 * 100 * 4);
    assert.equal(untied.totalBytes, untied.hostBytes + untied.runtimeBytes);
    // A long text's attention and logits can outgrow the session's peak.
    const long = estimateMemory({ fileBytes: 10 * MiB, vocabSize: 50000, dModel: 64, nLayer: 12, nHead: 12 }, 2048);
    assert.equal(long.runtimeBytes, 2 * 10 * MiB + long.runBytes);
  });

  it('bounds config.json\'s sizes by the file: a config claiming more is the load\'s mismatch to name, not a memory refusal', () => {
    const claimed = estimateMemory({ fileBytes: 5 * MiB, vocabSize: 20_000_000, dModel: 128, nLayer: 100_000, nHead: 1000 });
    assert.equal(claimed.runBytes, estimateMemory({ fileBytes: 5 * MiB, vocabSize: 40960, dModel: 128, nLayer: 160, nHead: 128 }).runBytes);
    const damaged = estimateMemory({ fileBytes: 5 * MiB, vocabSize: 20_000_000, dModel: 128, nLayer: 2, nHead: 2 });
    const honest = estimateMemory({ fileBytes: 5 * MiB, vocabSize: Math.floor((5 * MiB) / 128), dModel: 128, nLayer: Math.floor((5 * MiB) / (2 * 128 * 128)), nHead: 128 });
    assert.deepEqual(claimed, honest);
    // The damaged embedding of badInput.test.ts: 20 M rows declared, none stored.
    assert.equal(judgeMemory(damaged, wasm()).over, undefined);
  });

  it('takes the limit from the runtime: onnxruntime-web\'s 4 GB heap, else the machine', () => {
    assert.deepEqual(memoryLimitOf(webRuntime, 8 * GiB), { kind: 'wasm', runtimeBytes: 4 * GiB, machineBytes: 8 * GiB });
    assert.deepEqual(memoryLimitOf({ name: 'native', createSession: () => Promise.reject(new Error('unused')) }, 8 * GiB), { kind: 'native', machineBytes: 8 * GiB });
    assert.equal(memoryLimitOf(webRuntime).machineBytes, os.totalmem());
  });
});

describe('model memory check on model folders', function () {
  this.timeout(30_000);
  let tmp: string;
  before(() => configureRuntime(path.join(root, 'dist'), 1));
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-memory-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('lets the tiny test models through on both limits', () => {
    for (const dir of [fixture('qwen2-tiny'), fixture('llama-tiny'), path.join(root, 'models', 'lens-tiny')]) {
      const e = checkModelMemory(dir, { runtime: webRuntime });
      assert.equal(e.fileBytes, fs.statSync(path.join(dir, 'onnx', 'model.onnx')).size, dir);
      checkModelMemory(dir, { runtime: { name: 'native', createSession: () => Promise.reject(new Error('unused')) } });
    }
  });

  it('refuses a model over the heap with the figure, the native runtime and the q4 file beside it', () => {
    const full = estimateFolderMemory(fixture('qwen2-tiny')).estimate;
    const q4 = estimateFolderMemory(fixture('qwen2-tiny'), { onnxFile: 'onnx/model_q4.onnx' }).estimate;
    assert.ok(q4.runtimeBytes < full.runtimeBytes);
    const limit = Math.floor((q4.runtimeBytes + full.runtimeBytes) / 2);
    const e = catchError(() => checkModelMemory(fixture('qwen2-tiny'), { runtime: capped(limit), machineBytes: 16 * GiB }));
    assert.ok(e instanceof ModelMemoryError, String(e));
    assert.equal(e.code, 'modelMemory');
    assert.equal(e.neededBytes, full.runtimeBytes);
    assert.equal(e.limitBytes, limit);
    assert.match(e.message, /^onnx\/model\.onnx in .*qwen2-tiny needs about [\d.]+ MB of the [\d.]+ MB of WebAssembly memory onnxruntime-web can use to load and analyse 512 tokens \([\d.]+ MB while the session is created, about three times the model's [\d.]+ MB; [\d.]+ MB for the run\), so LLM Lens did not load it\./);
    assert.match(e.message, /What would work: the native runtime \(onnxruntime-node: the llmLens\.runtime\.backend setting, auto or native\), which only this machine's 16\.0 GB bound; or its 4-bit file onnx\/model_q4\.onnx in the same folder \([\d.]+ MB, about [\d.]+ MB of memory to run\)\.$/);
  });

  it('suggests the hub\'s q4 variant when the folder has none, and no q4 for GPT-2 or a q4 download', () => {
    const folder = copyFolder(fixture('qwen2-tiny'), ['onnx/model.onnx']);
    const tiny = capped(1024 * 1024);
    assert.match(catchError(() => checkModelMemory(folder, { runtime: tiny, machineBytes: 16 * GiB })).message, /or its 4-bit \(q4\) variant, onnx\/model_q4\.onnx on the hub, .*Download from Hugging Face\.\.\.\.$/);
    // A q4 download is saved as onnx/model.onnx; its manifest says so.
    fs.writeFileSync(path.join(folder, 'lens-download.json'), JSON.stringify({ repo: 'a/b', revision: 'main', variant: 'model_q4' }));
    assert.doesNotMatch(catchError(() => checkModelMemory(folder, { runtime: tiny, machineBytes: 16 * GiB })).message, /4-bit/);
    assert.doesNotMatch(catchError(() => checkModelMemory(path.join(root, 'models', 'lens-tiny'), { runtime: tiny, machineBytes: 16 * GiB })).message, /4-bit/);
  });

  it('refuses natively only past the machine\'s memory, and then offers no other runtime', () => {
    const native: InferenceRuntime = { name: 'native', createSession: () => Promise.reject(new Error('unused')) };
    const e = catchError(() => checkModelMemory(fixture('qwen2-tiny'), { runtime: native, machineBytes: 4 * MiB }));
    assert.ok(e instanceof ModelMemoryError);
    assert.match(e.message, /needs about [\d.]+ MB of memory, and this machine has 4 MB to load and analyse 512 tokens \([\d.]+ MB outside the runtime .*; [\d.]+ MB in the runtime\)/);
    assert.doesNotMatch(e.message, /native runtime/);
  });

  it('counts external data files the graph names, once each, and nothing outside the folder', () => {
    const folder = copyFolder(fixture('qwen2-tiny'), []);
    const model = decodeModel(fs.readFileSync(path.join(fixture('qwen2-tiny'), 'onnx', 'model.onnx')), 'model.onnx');
    // The two largest initializers move to model.onnx_data, as optimum writes them.
    const big = [...(model.graph!.initializer ?? [])].sort((a, b) => (b.rawData?.length ?? 0) - (a.rawData?.length ?? 0)).slice(0, 2);
    let offset = 0;
    const chunks: Buffer[] = [];
    for (const t of big) {
      const data = Buffer.from(t.rawData!);
      t.externalData = [
        { key: 'location', value: 'model.onnx_data' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(data.length) },
      ];
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.rawData = new Uint8Array(0);
      chunks.push(data);
      offset += data.length;
    }
    fs.writeFileSync(path.join(folder, 'onnx', 'model.onnx'), encodeModel(model));
    fs.writeFileSync(path.join(folder, 'onnx', 'model.onnx_data'), Buffer.concat(chunks));
    fs.writeFileSync(path.join(folder, 'onnx', 'unrelated.bin'), Buffer.alloc(100_000));
    const f = openModelFolder(folder);
    assert.equal(modelFileBytes(f), f.onnxBytes + offset);
    // A location that climbs out of the folder is not counted here (the load refuses it by name).
    fs.writeFileSync(path.join(tmp, 'outside.bin'), Buffer.alloc(50_000));
    big[1].externalData = [{ key: 'location', value: '../../outside.bin' }];
    fs.writeFileSync(path.join(folder, 'onnx', 'model.onnx'), encodeModel(model));
    const g = openModelFolder(folder);
    assert.equal(modelFileBytes(g), g.onnxBytes + offset);
  });

  it('LoadedModel.load refuses before reading the graph, and loads the same folder within the limit', async () => {
    const need = estimateFolderMemory(fixture('qwen2-tiny')).estimate.runtimeBytes;
    await assert.rejects(LoadedModel.load(fixture('qwen2-tiny'), { runtime: capped(need - 1) }), ModelMemoryError);
    const model = await LoadedModel.load(fixture('qwen2-tiny'), { runtime: capped(need) });
    await model.dispose();
  });

  function copyFolder(from: string, onnxFiles: string[]): string {
    const to = path.join(tmp, path.basename(from));
    fs.mkdirSync(path.join(to, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', ...onnxFiles]) fs.copyFileSync(path.join(from, f), path.join(to, f));
    return to;
  }
});

function catchError(fn: () => unknown): Error & { code?: string; neededBytes?: number; limitBytes?: number } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  return assert.fail('no error');
}
