// UI step: a Llama-family model (qwen2-tiny in the published layout, served by a local fake hub) chosen the way a
// person would: Select Model shows the recommended models first; Download from Hugging Face... offers its full
// precision, fp16, q4, q4f16 and 8-bit files and hides the bitsandbytes one; the full-precision download is analysed
// (all four views drawn) and has its model card; then its q4 file replaces it and the card counts the same
// parameters. The built-in model and the default hub are restored after.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { DEFAULT_ENDPOINT, ENDPOINT_KEY, loadFakeHub, downloadVariant, openSelectModel, openVariantPick, setEndpoint, until } = require('../lib/hubSteps');
const { clickIn, closeEditorTab, resetView, scrollTo, selectLines } = require('../lib/analysisSteps');

const REPO = 'lens-test/qwen2-tiny';

module.exports = {
  title: 'a Llama-family model downloaded with "Select Model": recommended list, its q4/8-bit variants, four views drawn, its model card',
  async run(ui) {
    const { startFakeHub, llamaFamilyFiles } = loadFakeHub();
    const hub = await startFakeHub({ repo: REPO, files: llamaFamilyFiles('qwen2-tiny') });
    let endpointSet = false;
    let switched = false;
    try {
      // Select Model starts with the curated list: what each is for, its download and the memory it needs.
      await ui.clearNotifications();
      let input = await openSelectModel(ui);
      for (const repo of ['HuggingFaceTB/SmolLM2-135M-Instruct', 'onnx-community/Qwen2.5-Coder-0.5B-Instruct', 'Xenova/gpt2']) {
        const row = ui.rowLabelled(repo);
        await row.waitFor({ state: 'visible', timeout: 15_000 });
        ui.assert.match(await row.innerText(), /MiB download · about [\d.]+ GiB of memory/);
      }
      ui.assert.match(await ui.rowLabelled('onnx-community/Qwen2.5-Coder-0.5B-Instruct').innerText(), /for completions[\s\S]*model_q4 · /);
      ui.assert.match(await ui.rowLabelled('HuggingFaceTB/SmolLM2-135M-Instruct').innerText(), /for looking inside[\s\S]*model · /);
      ui.assert.match(await ui.rowLabelled('lens-tiny').innerText(), /ships with LLM Lens · for learning how the lens reads text[\s\S]*about [\d.]+ MiB of memory/);
      await ui.screenshot('model-picker-recommended');
      await ui.dismissQuickInput();

      await setEndpoint(ui, hub.endpoint);
      endpointSet = true;

      // The variants a Llama-family repository offers: full precision (recommended), fp16, q4, q4f16 and 8-bit;
      // bitsandbytes hidden.
      await ui.clearNotifications();
      input = await openVariantPick(ui, REPO);
      for (const v of ['model', 'model_fp16', 'model_q4', 'model_q4f16', 'model_quantized']) await ui.rowLabelled(v).waitFor({ state: 'visible', timeout: 15_000 });
      ui.assert.match(await ui.rowLabelled('model').innerText(), /recommended[\s\S]*full precision \(float32\): for looking inside/);
      ui.assert.match(await ui.rowLabelled('model_q4').innerText(), /4-bit weights \(q4\)/);
      ui.assert.match(await ui.rowLabelled('model_fp16').innerText(), /16-bit floats \(fp16\)/);
      ui.assert.equal(await ui.rowLabelled('model_bnb4').count(), 0, 'model_bnb4 is offered');
      ui.assert.match(await input.getAttribute('placeholder'), /1 more not shown/);
      // The "Looking up" notification closes a moment after the list opens.
      await ui.page.locator('.notification-toast', { hasText: 'Looking up' }).first().waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
      await ui.screenshot('llama-variants');
      switched = true;
      await downloadVariant(ui, REPO, 'model');

      // It reads a paragraph, in all four views.
      // Two lines: the test model reads 256 tokens at most, and its tokenizer has 512 tokens, mostly bytes.
      await ui.openFile('english.md');
      await selectLines(ui, 3, 2);
      await ui.runCommand('LLM Lens: Analyze Selection');
      await ui.webview('analysis', /english\.md:3–4[\s\S]*token 1 of \d+/, { timeoutMs: 60_000 });
      const frame = await resetView(ui);
      await ui.clearNotifications();
      await closeEditorTab(ui, 'english.md');
      const tokens = await ui.webviewText('analysis', new RegExp(`${REPO}@main[\\s\\S]*characters per token`));
      ui.assert.match(tokens, /token 1 of \d+/);
      await ui.screenshot('llama-analysis-tokens');
      await clickIn(frame, '#tab-embeddings');
      await ui.webview('analysis', /Input vectors \(64 dimensions each\)[\s\S]*Map of the vectors/);
      ui.assert.ok(await frame.locator('canvas[data-key="emb-heatmap"]').isVisible(), 'the embeddings heatmap is drawn');
      await frame.waitForSelector('ol.bars', { timeout: 30_000 });
      await scrollTo(frame, 'h2');
      await ui.screenshot('llama-analysis-embeddings');
      await scrollTo(frame, 'body');
      await clickIn(frame, '#tab-layers');
      await ui.webview('analysis', /Layer by layer[\s\S]*Input \(embedding\)[\s\S]*After layer 1/);
      await ui.screenshot('llama-analysis-layers');
      await clickIn(frame, '#tab-attention');
      await ui.webview('analysis', /Attention matrix: Layer/);
      await frame.selectOption('#att-layer', '1');
      await ui.webview('analysis', /Attention matrix: Layer 1/, { timeoutMs: 60_000 });
      await scrollTo(frame, '.tabpanel h2');
      await ui.screenshot('llama-analysis-attention');
      await ui.closeAllEditors();

      // Its model card, and after the q4 file replaced it, the same parameter count from the q4 graph.
      await ui.runCommand('LLM Lens: Show Model Card');
      const { text } = await ui.webview('modelCard', new RegExp(`${REPO}@main[\\s\\S]*Parameters: [\\d,.]+`), { timeoutMs: 60_000 });
      ui.assert.match(text, /qwen2/);
      const params = /Parameters: ([\d,.]+)/.exec(text)[1];
      await ui.clearNotifications();
      await ui.screenshot('llama-model-card');
      await openVariantPick(ui, REPO);
      await downloadVariant(ui, REPO, 'model_q4');
      // The open card follows the model: the same name, another file (the built-in model may show in between).
      let q4 = text;
      await until('the model card of the q4 file', async () => {
        q4 = await ui.webviewText('modelCard', /Parameters: [\d,.]+/, { timeoutMs: 60_000 });
        return q4 !== text && q4.includes(`${REPO}@main`);
      }, 60_000);
      ui.assert.equal(/Parameters: ([\d,.]+)/.exec(q4)[1], params, 'the q4 file counts the same parameters as its fp32 twin');
      await ui.clearNotifications();
      await ui.screenshot('llama-model-card-q4');
    } finally {
      // Whatever failed above, later steps get the built-in model and the default hub.
      if (switched) await ui.pickFromCommand('LLM Lens: Select Model', 'lens-tiny').catch((e) => ui.log(`    (could not select the built-in model again: ${e.message})`));
      if (endpointSet) {
        await ui.dismissQuickInput().catch(() => {});
        await ui.closeAllEditors().catch(() => {});
        await setEndpoint(ui, DEFAULT_ENDPOINT).catch((e) => ui.log(`    (could not reset ${ENDPOINT_KEY}: ${e.message})`));
      }
      await hub.close();
    }
  },
};
