// Shared by the UI steps that download from a local fake hub (ui/modelDownloaded.js, ui/llamaModel.js): the unit
// tier's fake hub compiled here, the hub endpoint set in the Settings editor, quick inputs and the status bar.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../../..');
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

/** Opens "LLM Lens: Select Model" from the command palette; returns its filter box. */
async function openSelectModel(ui) {
  await ui.dismissQuickInput();
  await ui.page.keyboard.press('F1');
  const input = ui.page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill('>LLM Lens: Select Model');
  await ui.rowLabelled('LLM Lens: Select Model').click();
  return quickInputTitled(ui, 'LLM Lens: Select Model');
}

/** Select Model > Download from Hugging Face... > `repo`: leaves the variant pick open and returns its filter box. */
async function openVariantPick(ui, repo) {
  let input = await openSelectModel(ui);
  await input.fill('Download from Hugging Face');
  await ui.rowLabelled('Download from Hugging Face...').click();
  input = await quickInputTitled(ui, 'Download from Hugging Face');
  await input.fill(repo);
  await ui.page.keyboard.press('Enter');
  return quickInputTitled(ui, `ONNX variant of ${repo}`);
}

/** The "LLM Lens Model" status bar item's text. */
/** Picks `variant` of `repo` in the open variant list and waits until it is downloaded and the model in use. */
async function downloadVariant(ui, repo, variant) {
  await ui.rowLabelled(variant).waitFor({ state: 'visible', timeout: 15_000 });
  await ui.rowLabelled(variant).click();
  await ui.page.locator('.notification-toast', { hasText: `Downloaded ${repo}@main (${variant})` }).first().waitFor({ state: 'visible', timeout: 60_000 });
  await until('the status bar naming the downloaded model', async () => (await statusModel(ui)).includes(`${repo}@main`), 60_000);
}

async function statusModel(ui) {
  return ui.page.locator('.statusbar-item', { has: ui.page.locator('.codicon-telescope') }).first().innerText().catch(() => '');
}

module.exports = { ROOT, ENDPOINT_KEY, DEFAULT_ENDPOINT, loadFakeHub, userSetting, until, setEndpoint, quickInputTitled, openSelectModel, openVariantPick, downloadVariant, statusModel };
