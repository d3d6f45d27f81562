// UI step: a model downloaded through "LLM Lens: Select Model" > "Download from Hugging Face..." (from
// a local fake hub that llmLens.hub.endpoint points at) analyzes text and has its own model card;
// then the built-in model is selected again and the setting is reset, so later steps are unaffected.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../../..');
const REPO = 'lens-test/lens-tiny';
const ENDPOINT_KEY = 'llmLens.hub.endpoint';
const DEFAULT_ENDPOINT = 'https://huggingface.co';

/**
 * The unit tier's fake hub (test/unit/helpers/fakeHub.ts, Node built-ins only), compiled from its
 * TypeScript here, so that the step serves the very files the suite's download tests use.
 */
function loadFakeHub() {
  const file = path.join(ROOT, 'test', 'unit', 'helpers', 'fakeHub.ts');
  const { code } = require('esbuild').transformSync(fs.readFileSync(file, 'utf8'), { loader: 'ts', format: 'cjs', platform: 'node', target: 'node20', sourcefile: file });
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  m._compile(code, file);
  return m.exports;
}

/** The value of `key` in the user settings.json on disk (the workbench writes it there); undefined when unset. */
function userSetting(ui, key) {
  try {
    return JSON.parse(fs.readFileSync(ui.settingsFile, 'utf8'))[key];
  } catch {
    return undefined; // mid-write or JSON with comments: ask again
  }
}

async function until(what, test, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Sets llmLens.hub.endpoint in the Settings editor as a person would; the default value resets it. */
async function setEndpoint(ui, value) {
  const page = ui.page;
  await ui.runCommand('Preferences: Open User Settings');
  const search = page.locator('.settings-editor .settings-header .suggest-input-container .monaco-editor textarea').first();
  await search.waitFor({ state: 'attached', timeout: 20_000 });
  await search.focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(ENDPOINT_KEY);
  const input = page.locator(`.settings-editor .setting-item-contents[data-key="${ENDPOINT_KEY}"] .setting-item-control input`).first();
  await input.waitFor({ state: 'visible', timeout: 20_000 });
  await input.fill(value);
  const expected = value === DEFAULT_ENDPOINT ? undefined : value;
  // The editor saves after a short debounce; settings.json on disk says when.
  await until(`${ENDPOINT_KEY} = ${JSON.stringify(expected)} in the user settings`, () => userSetting(ui, ENDPOINT_KEY) === expected);
  await ui.closeAllEditors();
}

/** The quick input (pick or box) once its title reads `title`. */
async function quickInputTitled(ui, title) {
  await ui.page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first().waitFor({ state: 'visible', timeout: 20_000 });
  return ui.page.locator('.quick-input-widget .quick-input-box input');
}

/** The "LLM Lens Model" status bar item's text. */
async function statusModel(ui) {
  return ui.page.locator('.statusbar-item', { has: ui.page.locator('.codicon-telescope') }).first().innerText().catch(() => '');
}

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
      await ui.dismissQuickInput();
      await ui.page.keyboard.press('F1');
      let input = ui.page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ state: 'visible', timeout: 15_000 });
      await input.fill('>LLM Lens: Select Model');
      await ui.rowLabelled('LLM Lens: Select Model').click();
      input = await quickInputTitled(ui, 'LLM Lens: Select Model');
      await input.fill('Download from Hugging Face');
      await ui.rowLabelled('Download from Hugging Face...').click();
      input = await quickInputTitled(ui, 'Download from Hugging Face');
      await input.fill(REPO);
      await ui.page.keyboard.press('Enter');
      input = await quickInputTitled(ui, `ONNX variant of ${REPO}`);
      await ui.rowLabelled('model').waitFor({ state: 'visible', timeout: 15_000 });
      ui.assert.match(await ui.rowLabelled('model').innerText(), /recommended/);
      await ui.rowLabelled('model').click();
      switched = true;
      // Downloaded, loaded, and the model in use: the status bar names the repository.
      await ui.page.locator('.notification-toast', { hasText: `Downloaded ${REPO}@main` }).first().waitFor({ state: 'visible', timeout: 60_000 });
      await until('the status bar naming the downloaded model', async () => (await statusModel(ui)).includes(`${REPO}@main`), 60_000);
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
