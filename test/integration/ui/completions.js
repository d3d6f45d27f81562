// UI step: type at the end of a copy of greet.ts and see the model's ghost text; Tab accepts it; the status bar
// shows the latency. The copy lives in a temporary folder, so samples/ never changes.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Inline ghost text, and the view zone of a multi-line one (not the suggest widget's preview).
const GHOST = '.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text';

/** The editor's visible text without ghost text, as drawn. */
async function editorText(page) {
  return page.evaluate(() => {
    const editor = document.querySelector('.editor-group-container .monaco-editor.focused') || document.querySelector('.editor-group-container .monaco-editor');
    if (!editor) return '';
    return [...editor.querySelectorAll('.view-lines .view-line')]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((l) => {
        const c = l.cloneNode(true);
        for (const g of c.querySelectorAll('[class*="ghost-text"]')) g.remove();
        return c.textContent.replace(/\u00a0/g, ' ');
      })
      .join('\n');
  });
}

module.exports = {
  title: 'typing in a TypeScript file shows ghost text from the model; Tab accepts it',
  themes: ['dark', 'light'],
  async run(ui) {
    const page = ui.page;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-ui-complete-'));
    const file = path.join(dir, `ghost-text-${ui.theme}.ts`);
    fs.copyFileSync(path.join(ui.workspace, 'greet.ts'), file);
    try {
      await run(ui, page, file);
    } finally {
      // Saved, so that closing it asks nothing; then gone.
      await page.keyboard.press('Control+S').catch(() => {});
      await sleep(300);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function run(ui, page, file) {
  await ui.openFile(file);
  await page.locator('.editor-group-container .monaco-editor textarea').first().focus();
  // As a new user would (issue #18's figure): the file open a moment before typing, so the warm-up can run.
  if (ui.theme === 'dark') await sleep(5_000);
  // The first keystrokes load the model (the status bar says so); then the ghost text comes. A toy model is not
  // always sure of itself: start another line when it has nothing to say.
  const ghost = page.locator(GHOST).first();
  let shown = false;
  for (const [i, start] of ['const total = ', 'console.log(', 'let x = '].entries()) {
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.type(start, { delay: 40 });
    const typedAt = Date.now();
    for (let attempt = 0; attempt < (i === 0 ? 4 : 2) && !shown; attempt++) {
      shown = await ghost.waitFor({ state: 'visible', timeout: 8_000 }).then(() => true, () => false);
      // A figure for the README, not an assertion: these machines are too noisy for timed tests.
      if (shown && i === 0 && attempt === 0) ui.log(`    first ghost text ${Date.now() - typedAt} ms after the last keystroke (${ui.theme} theme${ui.theme === 'dark' ? ', file opened 5 s before typing' : ''})`);
      // Ask again as a person would: the toy model may have had nothing to say here.
      if (!shown) await ui.runCommand('Trigger Inline Suggestion');
    }
    if (shown) break;
  }
  ui.assert.ok(shown, 'no ghost text appeared');
  ui.assert.equal(await page.locator('.editor-widget.suggest-widget.visible').count(), 0, 'the suggest widget is open: Tab would accept its item, not the ghost text');
  const typed = await editorText(page);
  const ghostText = (await page.locator(GHOST).allTextContents()).join('').replace(/\u00a0/g, ' ');
  ui.assert.ok(ghostText.trim().length > 0, 'the ghost text is empty');
  // The status bar item: the sparkle and the last latency once a suggestion came from the model.
  const status = page.locator('.statusbar-item').filter({ has: page.locator('.codicon-sparkle') }).first();
  await status.waitFor({ state: 'visible', timeout: 10_000 });
  ui.assert.match(await status.innerText(), /\d+ ms|LLM/);
  await ui.screenshot('inline-completion');
  await page.keyboard.press('Tab');
  await page.locator(GHOST).first().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => {});
  const accepted = await editorText(page);
  ui.assert.ok(accepted.length > typed.length, `Tab did not insert the suggestion (${typed.length} -> ${accepted.length} characters)`);
  const squash = (t) => t.replace(/\s+/g, '');
  ui.assert.ok(squash(accepted).includes(squash(ghostText)), `the editor does not hold the ghost text ${JSON.stringify(ghostText)}`);
  await sleep(200);
  await ui.screenshot('inline-completion-accepted');
}
