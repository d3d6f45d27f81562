// Hostile and unusual model folders, read in process: nothing from a model's files is echoed into messages
// unbounded, links out of the folder are refused, tensors whose data does not match their dims are refused by
// name, the context length comes from the graph when it is shorter than config.json says, and the attention
// probabilities are found behind the NaN guards of newer exports.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModelFolder } from '../../src/core/model/folder';
import { jsonErrorOffset, quoteName } from '../../src/core/model/untrusted';
import { decodeModel, readModelFile } from '../../src/core/onnx/proto';
import { onnx, valueInfo, DataType } from '../../src/core/onnx/build';
import { GraphIndex, findStructure } from '../../src/core/onnx/graph';
import { inspectModel, LoadedModel } from '../../src/core/session/modelSession';
import { analyze } from '../../src/core/analysis/analysis';
import { TooManyTokensError } from '../../src/core/analysis/errors';
import { configureRuntime, createSession } from '../../src/core/runtime/web';
import { tensor, type RuntimeSession } from '../../src/core/runtime/runtime';
import { buildSyntheticGpt2, type SyntheticOptions } from './helpers/syntheticGpt2';
import { lensTiny, lensTinyConfig, lensTinyOnnx, makeModelFolder, removeModelFolders, root } from './helpers/modelFolders';

const V = 8192; // lens-tiny's tokenizer fits
const small: SyntheticOptions = { vocab: V, dModel: 32, nLayer: 2, nHead: 4, nCtx: 64, past: false };

/** Control, C1, bidi and line-separator characters: none may reach a message from a file. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
const HOSTILE = 'evil\u001b[2J\u202e\r\nfake log line ' + 'A'.repeat(10_000);

/** `f` throws a LensError with `code`; returns it for more checks. */
function throwsCode(f: () => unknown, code: string): Error {
  try {
    f();
  } catch (e) {
    const err = e as Error & { code?: string };
    assert.equal(err.code, code, `${err.code}: ${err.message.slice(0, 500)}`);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { code?: string };
    assert.equal(err.code, code, `${err.code}: ${err.message.slice(0, 500)}`);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

/** The message is short and free of control characters and of the hostile text's bulk. */
function bounded(message: string): void {
  assert.ok(message.length < 800, `message of ${message.length} characters`);
  assert.doesNotMatch(message, CONTROL);
  assert.ok(!message.includes('A'.repeat(200)), 'kilobytes of the file are not echoed');
}

function outsideFile(content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-outside-'));
  const file = path.join(dir, 'secret.txt');
  fs.writeFileSync(file, content);
  return file;
}

describe('model hardening', function () {
  this.timeout(60000);
  const outside: string[] = [];
  after(() => {
    removeModelFolders();
    for (const f of outside) fs.rmSync(path.dirname(f), { recursive: true, force: true });
  });
  const secret = () => {
    const f = outsideFile('root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n');
    outside.push(f);
    return f;
  };

  describe('foreign text in messages', () => {
    it('a config.json that is not JSON: the message gives the position and none of the text', () => {
      const dir = makeModelFolder({ config: 'root:x:0:0:root:/root:/bin/bash\n', onnx: lensTinyOnnx() });
      const e = throwsCode(() => openModelFolder(dir), 'modelConfig');
      assert.match(e.message, /config\.json cannot be used: it is not valid JSON \(at position 0, line 1 column 1\)/);
      assert.ok(!e.message.includes('root'), e.message);
      const dir2 = makeModelFolder({ config: '{ "model_type": "gpt2",\n  "n_embd": 64,\n  "secret": "sk-abcdef', onnx: lensTinyOnnx() });
      const e2 = throwsCode(() => openModelFolder(dir2), 'modelConfig');
      assert.match(e2.message, /it is not valid JSON \(it ends at position \d+, line 3, before the value is complete\)/);
      assert.ok(!e2.message.includes('sk-abc'), e2.message);
    });

    it('config.json, tokenizer.json or the ONNX file linked to a file outside the folder: unsafeModelFile, the file unread', () => {
      const target = secret();
      const dir = makeModelFolder({ onnx: lensTinyOnnx() });
      fs.symlinkSync(target, path.join(dir, 'config.json'));
      const e = throwsCode(() => openModelFolder(dir), 'unsafeModelFile');
      assert.match(e.message, /config\.json .*is a symbolic link to a file outside the model folder/);
      assert.ok(!e.message.includes('root:x') && !e.message.includes(target), e.message);

      const dir2 = makeModelFolder({ config: lensTinyConfig(), onnx: lensTinyOnnx(), tokenizer: false });
      fs.symlinkSync(path.join(lensTiny, 'tokenizer.json'), path.join(dir2, 'tokenizer.json'));
      assert.match(throwsCode(() => openModelFolder(dir2), 'unsafeModelFile').message, /tokenizer\.json/);

      const dir3 = makeModelFolder({ config: lensTinyConfig() });
      fs.mkdirSync(path.join(dir3, 'onnx'));
      fs.symlinkSync(path.join(lensTiny, 'onnx', 'model.onnx'), path.join(dir3, 'onnx', 'model.onnx'));
      assert.match(throwsCode(() => openModelFolder(dir3), 'unsafeModelFile').message, /onnx\/model\.onnx/);

      // A whole onnx/ folder linked out of the model folder is the same escape.
      const dir4 = makeModelFolder({ config: lensTinyConfig() });
      fs.symlinkSync(path.join(lensTiny, 'onnx'), path.join(dir4, 'onnx'));
      throwsCode(() => openModelFolder(dir4), 'unsafeModelFile');
    });

    it('links that stay inside the folder are followed, and a linked model folder is read where it lies', () => {
      const dir = makeModelFolder({ onnx: lensTinyOnnx() });
      fs.writeFileSync(path.join(dir, 'config.real.json'), JSON.stringify(lensTinyConfig()));
      fs.symlinkSync('config.real.json', path.join(dir, 'config.json'));
      assert.equal(openModelFolder(dir).config.nLayer, lensTinyConfig().n_layer);
      const link = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lens-link-')), 'model');
      outside.push(link);
      fs.symlinkSync(dir, link);
      assert.equal(openModelFolder(link).folder, fs.realpathSync(dir));
    });

    it('config values and graph names from the file are bounded and escaped in messages', async () => {
      const e1 = throwsCode(() => openModelFolder(makeModelFolder({ config: { ...lensTinyConfig(), model_type: HOSTILE }, onnx: lensTinyOnnx() })), 'unsupportedModel');
      bounded(e1.message);
      assert.match(e1.message, /model_type "evil\\u001b\[2J\\u202e\\r\\nfake log line A+…" \(10\d\d\d characters\) is not supported/);
      const e2 = throwsCode(() => openModelFolder(makeModelFolder({ config: { ...lensTinyConfig(), n_embd: HOSTILE }, onnx: lensTinyOnnx() })), 'modelConfig');
      bounded(e2.message);
      assert.match(e2.message, /"n_embd" must be a positive integer, not "evil/);
      const e3 = throwsCode(() => openModelFolder(makeModelFolder({ config: { ...lensTinyConfig(), n_head: { nested: [HOSTILE] } }, onnx: lensTinyOnnx() })), 'modelConfig');
      assert.match(e3.message, /"n_head" must be a positive integer, not an object\./);

      // A graph input the lens cannot feed, with a hostile name.
      const m = buildSyntheticGpt2(small);
      const model = decodeModel(m.bytes, 'synthetic');
      model.graph!.input!.push(valueInfo(HOSTILE, DataType.FLOAT, [1]));
      const dir = makeModelFolder({ config: m.config, onnx: onnx.ModelProto.encode(model).finish() });
      const e4 = await rejectsCode(LoadedModel.load(dir), 'unsupportedModel');
      bounded(e4.message);
      assert.match(e4.message, /inputs the lens does not know how to feed: "evil/);

      // A hostile tensor name reaches the report (model card, CLI) bounded and escaped.
      const renamed = decodeModel(m.bytes, 'synthetic');
      for (const t of renamed.graph!.initializer!) if (t.name === 'transformer.wte.weight') t.name = HOSTILE;
      for (const n of renamed.graph!.node!) n.input = n.input!.map((x) => (x === 'transformer.wte.weight' ? HOSTILE : x));
      const r = inspectModel(makeModelFolder({ config: m.config, onnx: onnx.ModelProto.encode(renamed).finish() })).instrumentation;
      assert.ok(r.tokenEmbedding!.startsWith('evil\\u001b[2J\\u202e\\r\\nfake log line A'), r.tokenEmbedding);
      bounded(r.tokenEmbedding!);

      // External data at a hostile location.
      const ext = decodeModel(m.bytes, 'synthetic');
      const t = ext.graph!.initializer!.find((x) => x.name === 'transformer.wpe.weight')!;
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [{ key: 'location', value: `/${HOSTILE}` }];
      const dir2 = makeModelFolder({ config: m.config, onnx: onnx.ModelProto.encode(ext).finish() });
      const e5 = throwsCode(() => inspectModel(dir2), 'unsafeExternalData');
      bounded(e5.message);
    });

    it('quoteName escapes, cuts and quotes', () => {
      assert.equal(quoteName('transformer.wte.weight'), '"transformer.wte.weight"');
      assert.equal(quoteName('a"b\\c\u0000\u202e'), '"a\\"b\\\\c\\u0000\\u202e"');
      const long = quoteName('x'.repeat(1000), 20);
      assert.equal(long, `"${'x'.repeat(20)}…" (1000 characters)`);
      assert.doesNotMatch(quoteName('\ud83d'), /[\ud800-\udfff]/, 'a lone surrogate is escaped');
    });

    it('jsonErrorOffset agrees with JSON.parse on what is valid, and finds the first bad character', () => {
      const valid = ['{}', ' [ ] ', '{"a":[1,-2.5e+3,true,false,null,"x\\u00e9\\n"]}', '0', '"s"', '[[[]]]', '{"a":{"b":{}}}', '-0.0E1'];
      const invalid: [string, number][] = [
        ['root:x:0:0', 0],
        ['{"a":1,}', 7],
        ['{"a" 1}', 5],
        ['[1,2', 4],
        ['{"a":1} trailing', 8],
        ['{"a":"x\u0001"}', 7],
        ['01', 1],
        ['[tru]', 1],
        ['{"a":"\\q"}', 7],
        ['', 0],
        ['[1.]', 3],
        ['{"a":[}', 6],
      ];
      for (const s of valid) {
        JSON.parse(s);
        assert.equal(jsonErrorOffset(s), -1, s);
      }
      for (const [s, at] of invalid) {
        assert.throws(() => JSON.parse(s));
        assert.equal(jsonErrorOffset(s), at, s);
      }
      // Deep nesting is scanned without recursion.
      assert.equal(jsonErrorOffset('['.repeat(200_000)), 200_000);
    });
  });

  describe('tensor data that does not match its dims', () => {
    /** The synthetic model with `edit` applied to the token embedding; config.json agreeing with its dims. */
    function withEmbedding(edit: (t: onnx.ITensorProto) => void): { dir: string; model: onnx.ModelProto } {
      const m = buildSyntheticGpt2(small);
      const model = decodeModel(m.bytes, 'synthetic');
      const t = model.graph!.initializer!.find((x) => x.name === 'transformer.wte.weight')!;
      edit(t);
      // config.json agrees with the declared rows, so that nothing but the data is wrong.
      const rows = Number(t.dims![0]);
      return { dir: makeModelFolder({ config: { ...m.config, vocab_size: rows > 0 ? rows : V }, onnx: onnx.ModelProto.encode(model).finish() }), model };
    }

    it('an embedding declared with 20 M rows and no data: modelFormat naming the tensor and the sizes', () => {
      const { dir } = withEmbedding((t) => {
        t.dims = [20_000_000, 32];
        t.rawData = new Uint8Array(0);
      });
      const e = throwsCode(() => inspectModel(dir), 'modelFormat');
      assert.match(e.message, /model\.onnx is not a usable ONNX model: tensor "transformer\.wte\.weight" \(FLOAT, dims \[20000000, 32\]\) should hold 640000000 values \(2560000000 bytes\) but its data is empty/);
    });

    it('raw data shorter or longer than the dims, a float_data count that differs: modelFormat', () => {
      const short = withEmbedding((t) => (t.rawData = t.rawData!.subarray(0, t.rawData!.length - 4)));
      assert.match(throwsCode(() => inspectModel(short.dir), 'modelFormat').message, /tensor "transformer\.wte\.weight" \(FLOAT, dims \[8192, 32\]\) should hold 262144 values \(1048576 bytes\) but its raw data has 1048572 bytes/);
      const long = withEmbedding((t) => (t.rawData = new Uint8Array(t.rawData!.length + 4)));
      throwsCode(() => inspectModel(long.dir), 'modelFormat');
      const typed = withEmbedding((t) => {
        t.floatData = Array.from(new Float32Array(t.rawData!.buffer.slice(t.rawData!.byteOffset, t.rawData!.byteOffset + 64)));
        t.rawData = new Uint8Array(0);
      });
      assert.match(throwsCode(() => inspectModel(typed.dir), 'modelFormat').message, /should hold 262144 values but float_data has 16/);
      const negative = withEmbedding((t) => (t.dims = [-1, 32]));
      assert.match(throwsCode(() => inspectModel(negative.dir), 'modelFormat').message, /has an invalid dimension \(-1\)/);
    });

    it('external data shorter than the dims say: modelFormat', () => {
      const m = buildSyntheticGpt2(small);
      const model = decodeModel(m.bytes, 'synthetic');
      const t = model.graph!.initializer!.find((x) => x.name === 'transformer.wpe.weight')!;
      const data = Buffer.from(t.rawData!);
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [{ key: 'location', value: 'model.onnx_data' }, { key: 'offset', value: '0' }, { key: 'length', value: String(data.length / 2) }];
      const dir = makeModelFolder({ config: m.config, onnx: onnx.ModelProto.encode(model).finish() });
      fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx_data'), data);
      const e = throwsCode(() => readModelFile(path.join(dir, 'onnx', 'model.onnx'), { folder: dir, maxBytes: 1 << 30 }), 'modelFormat');
      assert.match(e.message, /tensor "transformer\.wpe\.weight" \(FLOAT, dims \[64, 32\]\) should hold 2048 values \(8192 bytes\) but its raw data has 4096 bytes/);
    });

    it('a small constant with too little data: modelFormat, not a RangeError', () => {
      const m = buildSyntheticGpt2({ ...small, layerNorm: 'decomposed', opset: 13 });
      const model = decodeModel(m.bytes, 'synthetic');
      // The epsilon of the first decomposed norm: a float scalar, now with two of its four bytes.
      const eps = model.graph!.initializer!.find((x) => x.name?.includes('eps'))!;
      eps.rawData = eps.rawData!.subarray(0, 2);
      const dir = makeModelFolder({ config: m.config, onnx: onnx.ModelProto.encode(model).finish() });
      assert.match(throwsCode(() => inspectModel(dir), 'modelFormat').message, /should hold 1 value \(4 bytes\) but its raw data has 2 bytes/);
    });
  });

  describe('the context length', () => {
    let model: LoadedModel | undefined;
    before(() => configureRuntime(path.join(root, 'dist'), 1));
    after(async () => model?.dispose());

    it('is the position table\'s rows when config.json claims more, and a longer text is refused as over the context', async () => {
      const m = buildSyntheticGpt2(small);
      const dir = makeModelFolder({ config: { ...m.config, n_positions: 128, n_ctx: 128 }, onnx: m.bytes });
      const info = inspectModel(dir);
      assert.equal(info.spec.nCtx, 64);
      assert.match(info.instrumentation.missing.join('\n'), /context: config\.json gives 128 positions but the graph's position embedding "transformer\.wpe\.weight" has 64 rows; texts are limited to 64 tokens/);
      model = await LoadedModel.load(dir);
      assert.equal(model.spec.nCtx, 64);
      const text = 'a '.repeat(100);
      assert.ok(model.tokenizer.encode(text).length > 64);
      await assert.rejects(analyze(model, text), (e: unknown) => {
        assert.ok(e instanceof TooManyTokensError, String(e));
        assert.equal(e.reason, 'context');
        assert.equal(e.limit, 64);
        return true;
      });
      // Up to the table's length it runs.
      const a = await analyze(model, 'a '.repeat(30));
      assert.ok(a.tokens.length > 0 && a.tokens.length <= 64);
    });

    it('a config.json that claims fewer positions than the table keeps its own limit', () => {
      const m = buildSyntheticGpt2(small);
      const dir = makeModelFolder({ config: { ...m.config, n_positions: 32, n_ctx: 32 }, onnx: m.bytes });
      const info = inspectModel(dir);
      assert.equal(info.spec.nCtx, 32);
      assert.doesNotMatch(info.instrumentation.missing.join('\n'), /context/);
    });
  });

  describe('attention probabilities behind a NaN guard (Where(IsNaN(p), 0, p))', () => {
    let model: LoadedModel | undefined;
    let plain: RuntimeSession | undefined;
    before(() => configureRuntime(path.join(root, 'dist'), 1));
    after(async () => {
      await model?.dispose();
      await plain?.release();
    });

    for (const guard of ['isNaN', 'isNaNCast'] as const) {
      it(`are found for every layer (${guard}) and are the Softmax outputs`, () => {
        const m = buildSyntheticGpt2({ ...small, nLayer: 3, probsGuard: guard });
        const g = new GraphIndex(decodeModel(m.bytes, 'synthetic'));
        const s = findStructure(g);
        const softmaxes = g.nodes.filter((n) => n.opType === 'Softmax').map((n) => n.output![0]);
        assert.equal(s.layers.length, 3);
        assert.deepEqual(s.layers.map((l) => l.softmax), softmaxes);
        assert.deepEqual(s.missing, []);
      });
    }

    it('the instrumented graph returns the Softmax output of each layer', async () => {
      const m = buildSyntheticGpt2({ ...small, nLayer: 3, probsGuard: 'isNaN', seed: 5 });
      const dir = makeModelFolder({ config: m.config, onnx: m.bytes });
      model = await LoadedModel.load(dir);
      assert.deepEqual(model.attentionLayers, [0, 1, 2]);
      assert.deepEqual(model.info.instrumentation.missing, []);
      // The plain graph with its softmax outputs exposed.
      const exposed = decodeModel(m.bytes, 'synthetic');
      const names = exposed.graph!.node!.filter((n) => n.opType === 'Softmax').map((n) => n.output![0]);
      exposed.graph!.output!.push(...names.map((n) => valueInfo(n, DataType.FLOAT)));
      plain = await createSession(onnx.ModelProto.encode(exposed).finish());
      const ids = [5, 17, 300, 4000, 12, 99, 8000, 1];
      const i64 = (xs: number[]) => tensor.i64(xs, [1, xs.length]);
      const out = await plain.run({ input_ids: i64(ids), attention_mask: i64(ids.map(() => 1)), position_ids: i64(ids.map((_, i) => i)) });
      const r = await model.run({ ids, topK: 1, attentionLayers: [0, 1, 2] });
      names.forEach((n, layer) => {
        const want = out[n].data as Float32Array;
        const got = r.attention.get(layer)!;
        assert.equal(got.length, 4 * ids.length * ids.length);
        assert.equal(got.length, want.length);
        got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6, `layer ${layer} [${i}]`));
      });
    });
  });
});
