// Which ONNX variants the hub code offers and downloads, by model type: q4, q4f16 and 8-bit files for Llama-family
// repositories (llama, qwen2), never for GPT-2; fp16 for every model type (read as float32); bitsandbytes for none;
// full precision by default.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadModel, listVariants, MANIFEST_FILE, STAGING_DIR } from '../../src/core/hub/download';
import { HubUnreadableVariantError, HubUnsupportedModelError } from '../../src/core/hub/errors';
import { listOnnxVariants, pickVariant, quantizedNote, variantChoiceNeedsModelType, variantFormat, variantNameProblem, variantProblem } from '../../src/core/hub/repo';
import { LoadedModel } from '../../src/core/session/modelSession';
import { downloadCommand } from '../../src/tools/cli/download';
import { configureRuntime, webRuntime } from '../../src/core/runtime/web';
import { LLAMA_REFUSED_VARIANTS, llamaFamilyFiles, startFakeHub, type FakeHub } from './helpers/fakeHub';

const root = path.resolve(__dirname, '..', '..', '..');
const ALL = ['model', 'model_bnb4', 'model_fp16', 'model_int8', 'model_q4', 'model_q4f16', 'model_quantized', 'model_uint8'];
const variants = (names: string[]) => listOnnxVariants(names.map((n) => ({ rfilename: `onnx/${n}.onnx` })));

describe('hub variants by model type', () => {
  it('reads the number format from the transformers.js name', () => {
    assert.deepEqual(
      ALL.map((n) => [n, variantFormat(n)]),
      [
        ['model', 'fp32'],
        ['model_bnb4', 'bnb4'],
        ['model_fp16', 'fp16'],
        ['model_int8', 'q8'],
        ['model_q4', 'q4'],
        ['model_q4f16', 'q4f16'],
        ['model_quantized', 'q8'],
        ['model_uint8', 'q8'],
      ],
    );
    assert.equal(variantFormat('decoder_model_merged_quantized'), 'q8');
  });

  it('reads q4, q4f16 and 8-bit files of llama and qwen2 models, and of no other model type; fp16 of every one', () => {
    for (const type of ['llama', 'qwen2']) {
      assert.deepEqual(ALL.filter((n) => !variantProblem(n, type)), ['model', 'model_fp16', 'model_int8', 'model_q4', 'model_q4f16', 'model_quantized', 'model_uint8'], type);
    }
    for (const type of ['gpt2', undefined]) {
      assert.deepEqual(ALL.filter((n) => !variantProblem(n, type)), ['model', 'model_fp16'], String(type));
      assert.equal(variantNameProblem('model_q4', type), 'quantized weights');
      assert.equal(variantNameProblem('model_q4f16', type), 'quantized weights');
    }
    assert.match(quantizedNote('model_q4f16', 'gpt2')!, /this is a gpt2 model\./);
    assert.match(quantizedNote('model_q4', 'gpt2')!, /Llama-family models \(model_type llama, qwen2\) only, and this is a gpt2 model\./);
    assert.match(quantizedNote('model_quantized', undefined)!, /did not say its model type/);
    assert.equal(quantizedNote('model_q4', 'qwen2'), undefined);
    assert.equal(quantizedNote('model_fp16', 'gpt2'), undefined, 'not a quantized file');
  });

  it('refuses bitsandbytes files for every model type with its reason; reads 16-bit files', () => {
    for (const type of ['llama', 'qwen2', 'gpt2', undefined]) {
      assert.equal(variantNameProblem('model_fp16', type), undefined);
      assert.match(variantNameProblem('model_bnb4', type)!, /^bitsandbytes 4-bit weights, which LLM Lens does not read$/);
    }
    for (const type of ['llama', 'qwen2']) assert.equal(variantNameProblem('model_q4f16', type), undefined);
    // A quantized decoder that takes past key/values is still one token at a time.
    assert.match(variantNameProblem('decoder_with_past_model_quantized', 'llama')!, /past key\/values/);
    // A merged name stays a hint, whatever the format.
    assert.match(variantProblem('decoder_model_merged_quantized', 'qwen2')!, /merged decoder/);
    assert.equal(variantNameProblem('decoder_model_merged_quantized', 'qwen2'), undefined);
  });

  it('defaults to full precision for looking inside; without it, 16-bit, then 8-bit, then 4-bit', () => {
    assert.equal(pickVariant('r', variants(ALL), undefined, 'qwen2').name, 'model');
    assert.equal(pickVariant('r', variants(ALL.filter((n) => n !== 'model')), undefined, 'llama').name, 'model_fp16');
    assert.equal(pickVariant('r', variants(ALL.filter((n) => n !== 'model' && n !== 'model_fp16')), undefined, 'llama').name, 'model_int8');
    assert.equal(pickVariant('r', variants(['model_q4', 'model_uint8']), undefined, 'llama').name, 'model_uint8');
    assert.equal(pickVariant('r', variants(['model_fp16', 'model_q4']), undefined, 'llama').name, 'model_fp16');
    assert.equal(pickVariant('r', variants(['model_q4f16', 'model_q4']), undefined, 'qwen2').name, 'model_q4');
    assert.equal(pickVariant('r', variants(['model_bnb4', 'model_q4f16']), undefined, 'qwen2').name, 'model_q4f16');
    assert.equal(pickVariant('r', variants(['model_fp16', 'model_q4']), undefined, 'gpt2').name, 'model_fp16');
    assert.equal(pickVariant('r', variants(ALL), 'onnx/model_q4.onnx', 'qwen2').name, 'model_q4');
    assert.equal(pickVariant('r', variants(ALL), 'model_quantized', 'llama').name, 'model_quantized');
  });

  it('refuses a quantized file of a GPT-2 repository with the reason and what to choose instead', () => {
    assert.throws(
      () => pickVariant('Xenova/gpt2', variants(['model', 'model_q4', 'model_quantized']), 'model_q4', 'gpt2'),
      (e: Error) =>
        e instanceof HubUnreadableVariantError &&
        /^Xenova\/gpt2: LLM Lens cannot read the ONNX variant "model_q4" \(quantized weights\), so onnx\/model_q4\.onnx was not downloaded\. Choose one of: model\. LLM Lens reads quantized files of Llama-family models \(model_type llama, qwen2\) only, and this is a gpt2 model\.$/.test(e.message),
    );
    assert.throws(
      () => pickVariant('r', variants(['model_bnb4', 'model_q4', 'model_q4f16']), undefined, 'gpt2'),
      (e: Error) => e instanceof HubUnreadableVariantError && /no ONNX variant LLM Lens can read \(float32 or float16, or q4, q4f16 and 8-bit for Llama-family models;.*model_bnb4, model_q4, model_q4f16/.test(e.message),
    );
    assert.throws(() => pickVariant('r', variants(ALL), 'model_bnb4', 'qwen2'), (e: Error) => e instanceof HubUnreadableVariantError && /"model_bnb4" \(bitsandbytes 4-bit weights, which LLM Lens does not read\).*Choose one of: model, model_fp16, model_int8, model_q4, model_q4f16, model_quantized, model_uint8\.$/.test(e.message));
    assert.throws(() => pickVariant('Xenova/gpt2', variants(['model', 'model_fp16', 'model_q4f16']), 'model_q4f16', 'gpt2'), (e: Error) => e instanceof HubUnreadableVariantError && /"model_q4f16" \(quantized weights\).*Choose one of: model, model_fp16\. .*this is a gpt2 model\.$/.test(e.message));
  });

  it('needs the model type only when the choice is a quantized file', () => {
    assert.equal(variantChoiceNeedsModelType('r', variants(ALL)), false, 'the default is full precision');
    assert.equal(variantChoiceNeedsModelType('r', variants(ALL), 'model_q4'), true);
    assert.equal(variantChoiceNeedsModelType('r', variants(ALL), 'model_fp16'), false, 'read whatever the type');
    assert.equal(variantChoiceNeedsModelType('r', variants(ALL), 'model_q4f16'), true);
    assert.equal(variantChoiceNeedsModelType('r', variants(ALL), 'model_bnb4'), false, 'refused whatever the type');
    assert.equal(variantChoiceNeedsModelType('r', variants(['model_q4', 'model_fp16'])), false, 'the default is fp16, read for every type');
    assert.equal(variantChoiceNeedsModelType('r', variants(['model_q4', 'model_q4f16'])), true, 'the only readable default is quantized');
  });
});

describe('hub downloads of a Llama-family repository', function () {
  this.timeout(30_000);
  let hub: FakeHub | undefined;
  let dir: string;
  const repo = 'lens-test/qwen2-tiny';

  before(() => configureRuntime(path.join(root, 'dist'), 1));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-hubvar-'));
  });
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists fp16, q4, q4f16 and 8-bit as readable from the API\'s model type, full precision as the default', async () => {
    hub = await startFakeHub({ repo, files: llamaFamilyFiles() });
    const listed = await listVariants({ repo, endpoint: hub.endpoint });
    assert.equal(listed.modelType, 'qwen2');
    assert.equal(listed.defaultVariant, 'model');
    assert.deepEqual(listed.variants.filter((v) => !variantProblem(v.name, listed.modelType)).map((v) => v.name), ['model', 'model_fp16', 'model_q4', 'model_q4f16', 'model_quantized']);
    assert.deepEqual(listed.variants.filter((v) => variantProblem(v.name, listed.modelType)).map((v) => v.name), LLAMA_REFUSED_VARIANTS);
    assert.ok(hub.requests.every((r) => r.url.startsWith('/api/')), 'the API said the model type: config.json was not fetched');
  });

  it('downloads the q4 file as onnx/model.onnx, and it loads', async () => {
    hub = await startFakeHub({ repo, files: llamaFamilyFiles() });
    const result = await downloadModel({ repo, endpoint: hub.endpoint, dir, variant: 'model_q4' });
    assert.ok(fs.readFileSync(path.join(result.folder, 'onnx', 'model.onnx')).equals(hub.files.get('onnx/model_q4.onnx')!));
    assert.equal(result.manifest.variant, 'model_q4');
    assert.equal(JSON.parse(fs.readFileSync(path.join(result.folder, MANIFEST_FILE), 'utf8')).variant, 'model_q4');
    const model = await LoadedModel.load(result.folder, { runtime: webRuntime });
    try {
      assert.equal(model.spec.modelType, 'qwen2');
      assert.equal(model.spec.nKvHeads, 2);
    } finally {
      await model.dispose();
    }
  });

  it('fetches config.json first, once, when the API does not say the model type and the choice depends on it', async () => {
    hub = await startFakeHub({ repo, files: llamaFamilyFiles(), apiConfig: null });
    const listed = await listVariants({ repo, endpoint: hub.endpoint });
    assert.equal(listed.modelType, 'qwen2', 'read from config.json');
    hub.requests.length = 0;
    const result = await downloadModel({ repo, endpoint: hub.endpoint, dir, variant: 'model_quantized' });
    assert.equal(result.manifest.variant, 'model_quantized');
    const resolved = hub.requests.filter((r) => r.server === 'hub' && r.url.includes('/resolve/')).map((r) => r.url.replace(/^.*\/resolve\/[^/]+\//, ''));
    assert.equal(resolved[0], 'config.json', 'before anything else');
    assert.equal(resolved.filter((f) => f === 'config.json').length, 1, 'and only once');
    // The full-precision default needs no model type: config.json comes in its usual turn.
    hub.requests.length = 0;
    await downloadModel({ repo, revision: hub.commit, endpoint: hub.endpoint, dir });
    assert.equal(hub.requests.filter((r) => r.url.includes('/config.json')).length, 1);
  });

  it('refuses an unsupported model type from the early config.json, before anything large', async () => {
    hub = await startFakeHub({ repo, files: llamaFamilyFiles(), apiConfig: null });
    hub.faults.config = { model_type: 'mistral', architectures: ['MistralForCausalLM'] };
    await assert.rejects(downloadModel({ repo, endpoint: hub.endpoint, dir, variant: 'model_q4' }), HubUnsupportedModelError);
    assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 0);
    assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)));
  });

  it('lets config.json overrule an API summary that calls a GPT-2 repository Llama', async () => {
    hub = await startFakeHub({ repo: 'lens-test/lens-tiny', apiConfig: { model_type: 'llama' } });
    const e = await downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, variant: 'model_quantized' }).then(
      () => assert.fail('downloaded'),
      (err: Error) => err,
    );
    assert.ok(e instanceof HubUnreadableVariantError, e.message);
    assert.match(e.message, /"model_quantized" \(quantized weights\).*Choose one of: decoder_model, model\. .*this is a gpt2 model\.$/);
    assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 0, 'refused before the large file');
    assert.ok(!fs.existsSync(path.join(dir, STAGING_DIR)), 'the staging folder was removed');
  });

  it('download --list marks q4 and 8-bit readable, says the default is for looking inside and q4 for completions', async () => {
    hub = await startFakeHub({ repo, files: llamaFamilyFiles() });
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await downloadCommand([repo, '--endpoint', hub.endpoint, '--dir', dir, '--list'], { out: (l) => out.push(l), err: (l) => err.push(l) }), 0, err.join('\n'));
    assert.deepEqual(
      out.map((l) => l.replace(/ +[\d.]+ [KM]iB/, '').replace(/ {2,}/g, '  ')),
      [
        'model  (default)',
        'model_bnb4  (LLM Lens cannot read it: bitsandbytes 4-bit weights, which LLM Lens does not read)',
        'model_fp16',
        'model_q4',
        'model_q4f16',
        'model_quantized',
      ],
    );
    assert.deepEqual(err, ['llm-lens: the default, model, is full precision (float32), for looking inside; model_q4 is smaller and faster, for completions.']);
  });

  it('still refuses the quantized files of a GPT-2 repository from the listing', async () => {
    hub = await startFakeHub();
    const listed = await listVariants({ repo: hub.repo, endpoint: hub.endpoint });
    assert.equal(listed.modelType, 'gpt2');
    assert.equal(variantProblem('model_quantized', listed.modelType), 'quantized weights');
    hub.requests.length = 0;
    await assert.rejects(downloadModel({ repo: hub.repo, endpoint: hub.endpoint, dir, variant: 'model_quantized' }), /this is a gpt2 model\.$/);
    assert.ok(hub.requests.every((r) => r.url.startsWith('/api/')), 'refused from the listing');
  });
});
