// UI step: a model downloaded through "LLM Lens: Select Model" > "Download from Hugging Face..." (from
// a local fake hub that llmLens.hub.endpoint points at) analyzes text and has its own model card;
// then the built-in model is selected again and the setting is reset, so later steps are unaffected.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { DEFAULT_ENDPOINT, ENDPOINT_KEY, downloadVariant, loadFakeHub, openVariantPick, setEndpoint, statusModel, until } = require('../lib/hubSteps');

const REPO = 'lens-test/lens-tiny';

module.exports = {
  title: 'a model downloaded with "Select Model" > "Download from Hugging Face..." analyzes text and shows its own model card',
  async run(ui) {
    const { startFakeHub } = loadFakeHub();
    const hub = await startFakeHub({ repo: REPO });
    let endpointSet = false;
    let switched = false;
    try {
      await setEndpoint(ui, hub.endpoint);
      endpointSet = true;

      // Select Model > Download from Hugging Face... > the repository > the recommended variant.
      await openVariantPick(ui, REPO);
      ui.assert.match(await ui.rowLabelled('model').innerText(), /recommended/);
      switched = true;
      // Downloaded, loaded, and the model in use: the status bar names the repository.
      await downloadVariant(ui, REPO, 'model');
      ui.assert.ok(hub.requests.some((r) => r.server === 'cdn'), 'the ONNX file did not come from the fake hub');

      // It reads text: the analysis panel names it.
      await ui.openFile('english.md');
      await ui.page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
      await ui.page.keyboard.press('Control+A');
      await ui.runCommand('LLM Lens: Analyze Selection');
      await ui.webview('analysis', new RegExp(`${REPO}@main[\\s\\S]*token 1 of \\d+`), { timeoutMs: 60_000 });
      await ui.closeAllEditors();

      // Its model card (the whole editor area, so the parameter table fits): named by its hub id, its source the
      // hub repository and revision, its parameters.
      await ui.runCommand('LLM Lens: Show Model Card');
      const { text } = await ui.webview('modelCard', new RegExp(`${REPO}@main[\\s\\S]*Parameters: [\\d,.]+`), { timeoutMs: 60_000 });
      ui.assert.match(text, new RegExp(`Source: hf:${REPO}@main · architecture: gpt2`));
      ui.assert.doesNotMatch(text, /built-in/);
      const downloadedParams = /Parameters: ([\d,.]+)/.exec(text)[1];
      await ui.clearNotifications();
      await ui.screenshot('model-card-downloaded');

      // Back to the built-in model: the open card follows, with the same count (the hub served lens-tiny's files).
      await ui.pickFromCommand('LLM Lens: Select Model', 'lens-tiny');
      switched = false;
      const builtin = await ui.webviewText('modelCard', /Source: built-in[\s\S]*Parameters: [\d,.]+/, { timeoutMs: 60_000 });
      ui.assert.equal(/Parameters: ([\d,.]+)/.exec(builtin)[1], downloadedParams);
      await until('the status bar naming the built-in model', async () => /lens-tiny \(built-in\)/.test(await statusModel(ui)));
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
