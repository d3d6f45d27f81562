// UI step: a person moves the mouse over a word in greet.ts and reads the token card; then turns surprisal
// highlighting on from the command palette, sees the editor coloured and the scale in the status bar tooltip.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const path = require('node:path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A screenshot that keeps the mouse where it is (ui.screenshot moves it away so that no hover shows). */
async function shotWithHover(ui, name) {
  const file = path.join(ui.resultsDir, `${name}-${ui.theme}.png`);
  await ui.page.screenshot({ path: file });
  ui.screenshots.push(file);
  ui.log(`    screenshot ${path.relative(process.cwd(), file)}`);
}

/** Moves the mouse onto the first rendered occurrence of `word` in the editor, until a hover containing `expected` shows. */
async function hoverWord(ui, word, expected, timeoutMs = 60_000) {
  const span = ui.page.locator('.editor-group-container .monaco-editor .view-lines span span', { hasText: word }).first();
  await span.waitFor({ state: 'visible', timeout: 15_000 });
  const hover = ui.page.locator('.monaco-hover:not(.hidden)', { hasText: expected }).first();
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const box = await span.boundingBox();
    // Into the word's middle; a small wiggle each round makes the editor ask again if an earlier hover went away.
    await ui.page.mouse.move(box.x + box.width / 2 + (i % 2), box.y + box.height / 2);
    if (await hover.waitFor({ state: 'visible', timeout: 8_000 }).then(() => true, () => false)) return hover;
    if (Date.now() > deadline) throw new Error(`no hover with "${expected}" over "${word}" within ${timeoutMs / 1000} s`);
    await ui.page.mouse.move(0, 0);
    await sleep(300);
  }
}

module.exports = {
  title: 'hovering a word shows its token card; surprisal highlighting colours the editor, with the scale in the status bar',
  async run(ui) {
    await ui.openFile('greet.ts');
    await ui.clearNotifications();
    const hover = await hoverWord(ui, 'fibonacci', 'Analyze in LLM Lens');
    const text = await hover.innerText();
    ui.assert.match(text, /Token/);
    ui.assert.match(text, /Probability [\d.e-]+ %/);
    ui.assert.match(text, /surprisal [\d.]+ bits/);
    ui.assert.match(text, /Expected here \(top 5\)/);
    ui.assert.match(text, /Embedding norm/);
    await ui.clearNotifications().catch(() => {});
    await hoverWord(ui, 'fibonacci', 'Analyze in LLM Lens', 20_000);
    await sleep(400);
    await shotWithHover(ui, 'hover-card');
    await ui.page.mouse.move(0, 0);

    await ui.runCommand('LLM Lens: Toggle Surprisal Highlighting');
    const item = ui.page.locator('.statusbar-item', { hasText: /Surprisal [\d.]+ bits/ }).first();
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    await ui.clearNotifications();
    await sleep(500);
    await ui.screenshot('surprisal-highlighting');
    // The scale, in the status bar item's tooltip.
    await item.hover();
    const tip = ui.page.locator('.monaco-hover:not(.hidden)', { hasText: 'Surprisal highlighting' }).first();
    await tip.waitFor({ state: 'visible', timeout: 15_000 });
    ui.assert.match(await tip.innerText(), /bits/);
    await sleep(300);
    await shotWithHover(ui, 'surprisal-scale');
    await ui.page.mouse.move(0, 0);
    await ui.runCommand('LLM Lens: Toggle Surprisal Highlighting');
    await item.waitFor({ state: 'hidden', timeout: 10_000 });
  },
};
