// Hub addresses, repository ids, ONNX variant listing and the architecture check, without a network.
import * as assert from 'node:assert/strict';
import { HubBadRepoIdError, HubUnreadableVariantError, HubUnsupportedModelError, HubVariantError } from '../../src/core/hub/errors';
import { checkSupportedConfig, listOnnxVariants, pickVariant, variantProblem, type Sibling } from '../../src/core/hub/repo';
import { apiRevisionUrl, modelFolderName, parseRepoInput, resolveUrl } from '../../src/core/hub/urls';

describe('hub addresses', () => {
  it('builds the resolve and API URLs the hub serves', () => {
    assert.equal(resolveUrl('https://huggingface.co/', 'Xenova/gpt2', 'main', 'onnx/model.onnx'), 'https://huggingface.co/Xenova/gpt2/resolve/main/onnx/model.onnx');
    assert.equal(resolveUrl('https://hf.example', 'a/b', 'refs/pr/1', 'config.json'), 'https://hf.example/a/b/resolve/refs%2Fpr%2F1/config.json');
    assert.equal(apiRevisionUrl('https://huggingface.co', 'Xenova/gpt2', 'main'), 'https://huggingface.co/api/models/Xenova/gpt2/revision/main?blobs=true');
  });

  it('names the folder owner--name@rev, safe on every OS', () => {
    assert.equal(modelFolderName('Xenova/gpt2', 'main'), 'Xenova--gpt2@main');
    assert.equal(modelFolderName('gpt2', 'refs/pr/1'), 'gpt2@refs_pr_1');
  });

  it('accepts ids, id@rev and hub page URLs, and refuses anything else', () => {
    assert.deepEqual(parseRepoInput(' Xenova/distilgpt2 '), { repo: 'Xenova/distilgpt2', revision: undefined });
    assert.deepEqual(parseRepoInput('Xenova/gpt2@v1.0'), { repo: 'Xenova/gpt2', revision: 'v1.0' });
    assert.deepEqual(parseRepoInput('https://huggingface.co/Xenova/gpt2/tree/dev'), { repo: 'Xenova/gpt2', revision: 'dev' });
    assert.deepEqual(parseRepoInput('https://huggingface.co/Xenova/gpt2'), { repo: 'Xenova/gpt2', revision: undefined });
    assert.deepEqual(parseRepoInput('gpt2'), { repo: 'gpt2', revision: undefined });
    for (const bad of ['', 'a/b/c', '../etc', 'a/..', 'owner/na me', 'a--b/c', '-a/b', 'a/b.']) {
      assert.throws(() => parseRepoInput(bad), HubBadRepoIdError, bad);
    }
  });
});

describe('hub repository contents', () => {
  const siblings: Sibling[] = [
    { rfilename: 'config.json', size: 10 },
    { rfilename: 'onnx/model.onnx', lfs: { sha256: 'a'.repeat(64), size: 1000 } },
    { rfilename: 'onnx/model_fp16.onnx', lfs: { sha256: 'b'.repeat(64), size: 100 } },
    { rfilename: 'onnx/model_fp16.onnx_data', lfs: { sha256: 'c'.repeat(64), size: 400 } },
    { rfilename: 'onnx/model_quantized.onnx', lfs: { sha256: 'd'.repeat(64), size: 250 } },
    { rfilename: 'onnx/sub/other.onnx', size: 5 },
  ];

  it('lists the ONNX variants under onnx/ with their sizes, external data included', () => {
    const v = listOnnxVariants(siblings);
    assert.deepEqual(
      v.map((x) => [x.name, x.size, x.data.map((d) => d.rfilename)]),
      [
        ['model', 1000, []],
        ['model_fp16', 500, ['onnx/model_fp16.onnx_data']],
        ['model_quantized', 250, []],
      ],
    );
  });

  it('picks the full-precision graph by default and a named one on request', () => {
    const v = listOnnxVariants(siblings);
    assert.equal(pickVariant('r', v).name, 'model');
    assert.equal(pickVariant('r', v, 'onnx/model.onnx').name, 'model');
    assert.throws(() => pickVariant('r', v, 'q4'), (e: Error) => e instanceof HubVariantError && /model, model_fp16, model_quantized/.test(e.message));
    assert.throws(() => pickVariant('r', []), HubVariantError);
  });

  it('refuses variants the lens cannot read, by name, before any download; never defaults to a merged decoder', () => {
    const v = listOnnxVariants(siblings);
    assert.throws(() => pickVariant('r', v, 'model_quantized'), (e: Error) => e instanceof HubUnreadableVariantError && /"model_quantized" \(quantized weights\).*Choose one of: model, model_fp16\./.test(e.message));
    assert.equal(pickVariant('r', v, 'onnx/model_fp16.onnx').name, 'model_fp16', 'read as float32 whatever the model type');
    assert.throws(() => pickVariant('r', v, 'onnx/model_q4f16.onnx'), HubVariantError);
    // The older transformers.js layout (e.g. Xenova/distilgpt2): the plain decoder, not the merged one.
    const older = listOnnxVariants(['decoder_model', 'decoder_model_merged', 'decoder_model_merged_quantized', 'decoder_with_past_model'].map((n) => ({ rfilename: `onnx/${n}.onnx` })));
    assert.equal(pickVariant('r', older).name, 'decoder_model');
    // A "merged" name is only a hint when asked for: the downloaded graph decides (hubHistory.test.ts).
    assert.equal(pickVariant('r', older, 'decoder_model_merged').name, 'decoder_model_merged');
    assert.throws(() => pickVariant('r', older, 'decoder_with_past_model'), (e: Error) => e instanceof HubUnreadableVariantError && /past key\/values/.test(e.message));
    const none = listOnnxVariants(['model_quantized', 'model_bnb4'].map((n) => ({ rfilename: `onnx/${n}.onnx` })));
    assert.throws(() => pickVariant('r', none), (e: Error) => e instanceof HubUnreadableVariantError && /no ONNX variant LLM Lens can read .*model_bnb4, model_quantized/.test(e.message));
    assert.deepEqual(['model', 'model_q4', 'decoder_with_past_model', 'model_bnb4', 'model_uint8'].map((n) => variantProblem(n) === undefined), [true, false, false, false, false]);
  });

  it('accepts GPT-2 and Llama-family configs and refuses others by name', () => {
    assert.deepEqual(checkSupportedConfig('r', { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }), { modelType: 'gpt2', architectures: ['GPT2LMHeadModel'] });
    assert.deepEqual(checkSupportedConfig('r', { model_type: 'llama', architectures: ['LlamaForCausalLM'] }), { modelType: 'llama', architectures: ['LlamaForCausalLM'] });
    assert.deepEqual(checkSupportedConfig('r', { model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] }), { modelType: 'qwen2', architectures: ['Qwen2ForCausalLM'] });
    assert.throws(
      () => checkSupportedConfig('org/mistral', { model_type: 'mistral', architectures: ['MistralForCausalLM'] }),
      (e: Error) => e instanceof HubUnsupportedModelError && /"mistral" model \(MistralForCausalLM\)/.test(e.message),
    );
    assert.throws(() => checkSupportedConfig('r', 'not an object'), HubUnsupportedModelError);
  });
});
