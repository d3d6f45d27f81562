// Bad models and bad text, through the built worker (dist/worker.js): each a typed error with a clear message,
// and the worker still answers afterwards.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkerClient } from '../../src/worker/client';
import { silentLogger } from '../../src/core/common/logger';
import { CancelledError } from '../../src/core/common/errors';
import { onnx } from '../../src/core/onnx/build';
import { buildSyntheticGpt2 } from './helpers/syntheticGpt2';
import { lensTiny, lensTinyConfig, lensTinyOnnx, makeModelFolder, removeModelFolders, root } from './helpers/modelFolders';

const dist = path.join(root, 'dist');

describe('bad input through the worker', function () {
  this.timeout(60000);
  let client: WorkerClient;

  before(() => {
    client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
  });
  after(async () => {
    await client?.dispose();
    removeModelFolders();
  });

  /** The request fails with `code` and a message matching `message`; then the worker still analyzes. */
  async function failsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
    await assert.rejects(p, (e: Error & { code?: string }) => {
      assert.equal(e.code, code, `${e.code}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
    assert.equal((await client.request('ping', {})).pong, true);
  }

  async function stillAnalyzes(): Promise<void> {
    await client.request('loadModel', { folder: lensTiny });
    const a = await client.request('analyze', { text: 'const x = 1;' });
    assert.ok(a.tokens.length > 0);
  }

  it('analyze before any model is loaded: noModel', async () => {
    await failsWith(client.request('analyze', { text: 'hello' }), 'noModel', /No model is loaded/);
  });

  it('an empty ONNX file: modelFormat, "empty"', async () => {
    const dir = makeModelFolder({ config: lensTinyConfig(), onnx: new Uint8Array(0) });
    await failsWith(client.request('loadModel', { folder: dir }), 'modelFormat', /model\.onnx is not a usable ONNX model: the file is empty/);
  });

  it('a truncated ONNX file: modelFormat, "truncated"', async () => {
    const bytes = lensTinyOnnx();
    const dir = makeModelFolder({ config: lensTinyConfig(), onnx: bytes.subarray(0, Math.floor(bytes.length * 0.6)) });
    await failsWith(client.request('loadModel', { folder: dir }), 'modelFormat', /truncated/);
  });

  it('a corrupt ONNX file (random bytes, text): modelFormat', async () => {
    const junk = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251);
    const dir = makeModelFolder({ config: lensTinyConfig(), onnx: junk });
    await failsWith(client.request('loadModel', { folder: dir }), 'modelFormat', /not a usable ONNX model/);
    const dir2 = makeModelFolder({ config: lensTinyConfig(), onnx: new TextEncoder().encode('this is not a model\n'.repeat(50)) });
    await failsWith(client.request('loadModel', { folder: dir2 }), 'modelFormat', /not a usable ONNX model/);
    await stillAnalyzes();
  });

  it('a folder with no tokenizer: modelFileMissing naming tokenizer.json', async () => {
    const dir = makeModelFolder({ config: lensTinyConfig(), onnx: lensTinyOnnx(), tokenizer: false });
    await failsWith(client.request('loadModel', { folder: dir }), 'modelFileMissing', /has no tokenizer\.json/);
  });

  it('a folder with no ONNX file, a folder that does not exist: modelFileMissing, modelNotFound', async () => {
    const dir = makeModelFolder({ config: lensTinyConfig() });
    await failsWith(client.request('loadModel', { folder: dir }), 'modelFileMissing', /has no onnx\/model\.onnx/);
    await failsWith(client.request('loadModel', { folder: path.join(dir, 'nope') }), 'modelNotFound', /does not exist/);
  });

  it('an unsupported architecture: unsupportedModel naming the model_type', async () => {
    const dir = makeModelFolder({ config: { ...lensTinyConfig(), model_type: 'mistral' }, onnx: lensTinyOnnx() });
    await failsWith(client.request('loadModel', { folder: dir }), 'unsupportedModel', /model_type "mistral" is not supported; LLM Lens reads gpt2, llama, qwen2 models/);
  });

  it('a config that is not JSON, or lacks n_embd: modelConfig', async () => {
    const dir = makeModelFolder({ config: '{ "model_type": "gpt2", ', onnx: lensTinyOnnx() });
    await failsWith(client.request('loadModel', { folder: dir }), 'modelConfig', /config\.json cannot be used: it is not valid JSON \(it ends at position 24, line 1, before the value is complete\)/);
    // Where the text goes wrong, never the text: JSON.parse's own message quotes it.
    const dir1 = makeModelFolder({ config: 'root:x:0:0:root:/root:/bin/bash\n', onnx: lensTinyOnnx() });
    await failsWith(client.request('loadModel', { folder: dir1 }), 'modelConfig', /^(?![\s\S]*root:x)[\s\S]*config\.json cannot be used: it is not valid JSON \(at position 0, line 1 column 1\)\.$/);
    const c = lensTinyConfig();
    delete c.n_embd;
    const dir2 = makeModelFolder({ config: c, onnx: lensTinyOnnx() });
    await failsWith(client.request('loadModel', { folder: dir2 }), 'modelConfig', /has no "n_embd"/);
  });

  it('a config.json linked to a file outside the folder: unsafeModelFile, the file neither read nor quoted', async () => {
    const outside = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lens-outside-')), 'passwd');
    fs.writeFileSync(outside, 'root:x:0:0:root:/root:/bin/bash\n');
    try {
      const dir = makeModelFolder({ onnx: lensTinyOnnx() });
      fs.symlinkSync(outside, path.join(dir, 'config.json'));
      await failsWith(client.request('loadModel', { folder: dir }), 'unsafeModelFile', /^(?![\s\S]*(root:x|passwd))[\s\S]*config\.json in the model folder .* is a symbolic link to a file outside the model folder/);
    } finally {
      fs.rmSync(path.dirname(outside), { recursive: true, force: true });
    }
  });

  it('a tokenizer bigger than the model\'s vocabulary: vocabMismatch', async () => {
    const synthetic = buildSyntheticGpt2({ vocab: 4000, dModel: 16, nLayer: 1, nHead: 2, nCtx: 32 });
    const dir = makeModelFolder({ config: synthetic.config, onnx: synthetic.bytes });
    await failsWith(client.request('loadModel', { folder: dir }), 'vocabMismatch', /tokenizer .* has 8192 tokens but the model has 4000/);
  });

  it('an embedding that declares 20 M rows and stores none: modelFormat naming the tensor, before anything is allocated', async () => {
    const model = onnx.ModelProto.decode(lensTinyOnnx());
    const t = model.graph!.initializer!.find((x) => x.name === 'transformer.wte.weight')!;
    t.dims = [20_000_000, 128];
    t.rawData = new Uint8Array(0);
    const dir = makeModelFolder({ config: { ...lensTinyConfig(), vocab_size: 20_000_000 }, onnx: onnx.ModelProto.encode(model).finish() });
    await failsWith(client.request('loadModel', { folder: dir }), 'modelFormat', /tensor "transformer\.wte\.weight" \(FLOAT, dims \[20000000, 128\]\) should hold 2560000000 values \(10240000000 bytes\) but its data is empty/);
    await stillAnalyzes();
  });

  it('a model file over the size limit: modelTooLarge', async () => {
    await failsWith(client.request('loadModel', { folder: lensTiny, maxModelBytes: 1_000_000 }), 'modelTooLarge', /model\.onnx is \d+\.\d MB, more than the limit of 1\.0 MB/);
  });

  describe('ONNX external data', () => {
    /** lens-tiny with its position embedding moved to an external file at `location`. */
    function withExternal(location: string, place: (dir: string, data: Buffer) => void): string {
      const model = onnx.ModelProto.decode(lensTinyOnnx());
      const t = model.graph!.initializer!.find((x) => x.name === 'transformer.wpe.weight')!;
      const data = Buffer.from(t.rawData!);
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [{ key: 'location', value: location }, { key: 'offset', value: '0' }, { key: 'length', value: String(data.length) }];
      const dir = makeModelFolder({ config: lensTinyConfig(), onnx: onnx.ModelProto.encode(model).finish() });
      place(dir, data);
      return dir;
    }

    it('inside the folder: read and used', async () => {
      const dir = withExternal('model.onnx_data', (d, data) => fs.writeFileSync(path.join(d, 'onnx', 'model.onnx_data'), data));
      const info = await client.request('loadModel', { folder: dir });
      assert.equal(info.parameters.total, (await client.request('inspect', { folder: lensTiny })).parameters.total);
      assert.ok((await client.request('analyze', { text: 'let a = 2;' })).tokens.length > 0);
    });

    it('outside the folder: unsafeExternalData', async () => {
      const dir = withExternal('../../outside.bin', (d, data) => fs.writeFileSync(path.join(path.dirname(d), 'outside.bin'), data));
      await failsWith(client.request('loadModel', { folder: dir }), 'unsafeExternalData', /"\.\.\/\.\.\/outside\.bin" that lies outside the model folder/);
      fs.rmSync(path.join(path.dirname(dir), 'outside.bin'), { force: true });
    });

    it('an absolute path, or through a symbolic link: unsafeExternalData', async () => {
      const abs = withExternal('/etc/hostname', () => {});
      await failsWith(client.request('loadModel', { folder: abs }), 'unsafeExternalData', /is an absolute path/);
      const dir = withExternal('linked.bin', (d, data) => {
        fs.writeFileSync(path.join(d, 'real.bin'), data);
        fs.symlinkSync(path.join(d, 'real.bin'), path.join(d, 'onnx', 'linked.bin'));
      });
      await failsWith(client.request('loadModel', { folder: dir }), 'unsafeExternalData', /goes through a symbolic link/);
      await stillAnalyzes();
    });
  });

  describe('text', () => {
    before(stillAnalyzes);

    it('empty text: emptyText', async () => {
      await failsWith(client.request('analyze', { text: '' }), 'emptyText', /no text to analyze/);
    });

    it('text over the limit: tooManyTokens naming the limit and the setting, before running', async () => {
      await failsWith(client.request('analyze', { text: 'a '.repeat(150), options: { maxTokens: 100 } }), 'tooManyTokens', /has \d+ tokens; the limit is 100 tokens per analysis \(setting llmLens\.analysis\.maxTokens\)/);
      await failsWith(client.request('analyze', { text: 'one two three four five six seven', options: { maxTokens: 4 } }), 'tooManyTokens', /has (at least )?\d+ tokens; the limit is 4 tokens/);
      // A huge text is refused from a prefix, without tokenizing all of it.
      const t0 = performance.now();
      await failsWith(client.request('analyze', { text: 'word '.repeat(2_000_000) }), 'tooManyTokens', /at least \d+ tokens; the limit is 1024/);
      assert.ok(performance.now() - t0 < 5000);
    });

    it('binary garbage: binaryText', async () => {
      const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) % 256);
      const garbage = new TextDecoder('utf-8').decode(bytes);
      await failsWith(client.request('analyze', { text: garbage }), 'binaryText', /looks like binary data/);
      await failsWith(client.request('analyze', { text: 'abc\u0000def' }), 'binaryText', /looks like binary data/);
    });

    it('bad options: invalidOption', async () => {
      await failsWith(client.request('analyze', { text: 'abc', options: { attentionLayers: [99] } }), 'invalidOption', /99 is not a layer/);
      await failsWith(client.request('analyze', { text: 'abc', options: { topK: 0 } }), 'invalidOption', /topK/);
    });

    it('a cancelled analysis: CancelledError, and the next one runs', async () => {
      const ac = new AbortController();
      const p = client.request('analyze', { text: 'function f(a, b) { return a + b; }\n'.repeat(20), options: { attentionThumbnails: true } }, ac.signal);
      ac.abort();
      await assert.rejects(p, CancelledError);
      await stillAnalyzes();
    });
  });
});
