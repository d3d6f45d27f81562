// UI step: the Why tab of a paragraph (candidates typed and offered, direct logit attribution, occlusion), a head
// switched off and back on from the grid, an attention edge cut and restored, and "LLM Lens: Why This Token?"
// colouring the editor at the cursor.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { analyzeParagraph, clickIn, closeEditorTab, scrollTo, sleep } = require('../lib/analysisSteps');

/** The Why tab as an earlier step or theme left it: no parts switched off, no candidates. */
async function resetWhy(ui, frame) {
  if (await frame.locator('[data-key="iv-clear"]').count()) await clickIn(frame, '[data-key="iv-clear"]');
  for (let i = 0; i < 4 && (await frame.locator('[data-key^="target-x-"]:not([disabled])').count()); i++) {
    await clickIn(frame, '[data-key^="target-x-"]:not([disabled])');
    await sleep(300);
    ({ frame } = await ui.webview('analysis', /Candidate continuations/, { timeoutMs: 60_000 }));
  }
  return frame;
}

/** Types a candidate into the box and presses Enter. */
async function addCandidate(frame, text) {
  await frame.locator('#why-target').fill(text);
  await frame.locator('#why-target').press('Enter');
}

module.exports = {
  title: 'the Why tab: candidates, attribution, occlusion, a head switched off and on, an attention edge cut; Why This Token? in the editor',
  themes: ['dark', 'light', 'dark-hc', 'light-hc'],
  async run(ui) {
    let frame = await analyzeParagraph(ui);
    await closeEditorTab(ui, 'english.md');
    // "Language models do not read words the way ...": explain what comes after " way" (token 9).
    for (let i = 0; i < 8; i++) await clickIn(frame, '[data-key="next"]');
    await ui.webview('analysis', /token 9 of \d+/);
    await clickIn(frame, '#tab-why');
    ({ frame } = await ui.webview('analysis', /What the model expects after[\s\S]*Candidate continuations/, { timeoutMs: 60_000 }));
    frame = await resetWhy(ui, frame);

    // The model's own first choice there, and the word the text has.
    await addCandidate(frame, ' to');
    await ui.webview('analysis', /Its tokens[\s\S]*·to/, { timeoutMs: 60_000 });
    await addCandidate(frame, ' do');
    const text = await ui.webviewText('analysis', /Logit difference ·to − ·do, layer by layer[\s\S]*What pushes ·to − ·do/, { timeoutMs: 60_000 });
    ui.assert.match(text, /(Layer \d+ (head \d+ |MLP |attention )|The input embedding |Constant terms \(biases, norm shift\) )pushes ·to − ·do (up|down) by [\d.]+ logits/);
    ui.assert.match(text, /The parts add up to/);
    await scrollTo(frame, 'body');
    await ui.clearNotifications();
    await ui.screenshot('why-candidates');
    await scrollTo(frame, '.dla-bars');
    await ui.screenshot('why-attribution');

    // Occlusion of the context, with its progress and the cap said.
    await clickIn(frame, '[data-key="occlude-run"]');
    await ui.webview('analysis', /tokens occluded · batched runs: \d+/, { timeoutMs: 120_000 });
    ({ frame } = await ui.webview('analysis'));
    ui.assert.ok((await frame.locator('.tokens.occlusion .tok').count()) >= 9, 'every context token is drawn');
    await scrollTo(frame, '.tokens.occlusion');
    await ui.screenshot('why-occlusion');

    // Switch layer 1 head 2 off from the grid: the run is labelled, the list says how it changed; then back on.
    await clickIn(frame, '[data-key="head-1-2"]');
    // The banner shows at once; the list against the clean run when the intervened run's answer has come.
    const intervened = await ui.webviewText('analysis', /Intervened run: 1 part switched off[\s\S]*Layer 1 head 2 · zeroed[\s\S]*The thin mark on a bar is the clean run/, { timeoutMs: 60_000 });
    ui.assert.match(intervened, /[+−]\d+\.\d pts/);
    ui.assert.match(intervened, /clean run \d/);
    ({ frame } = await ui.webview('analysis'));
    await scrollTo(frame, 'body');
    await ui.screenshot('why-intervened');
    await clickIn(frame, '[data-key="iv-0"]');
    await ui.webview('analysis', /What the model expects after/);
    for (let i = 0; ; i++) {
      const t = await ui.webviewText('analysis', /Candidate continuations/);
      if (!/Intervened run/.test(t)) break;
      if (i > 100) throw new Error('the intervention was not removed');
      await sleep(200);
    }
    ({ frame } = await ui.webview('analysis'));
    frame = await resetWhy(ui, frame);

    // Cut the attention from " way" to the first token with the control under occlusion: the run is labelled with
    // the edge, the list says how it changed, the button now restores it; then the chip's × takes it away.
    ({ frame } = await ui.webview('analysis', /Cut one attention edge[\s\S]*Cut the attention from/));
    ui.assert.equal(await frame.inputValue('#why-edge-to'), '8', 'the reader is the chosen token');
    await frame.selectOption('#why-edge-from', '0');
    ({ frame } = await ui.webview('analysis'));
    await clickIn(frame, '[data-key="why-edge-cut"]');
    const edged = await ui.webviewText('analysis', /Intervened run: 1 part switched off[\s\S]*attention from ·way to [\s\S]*The thin mark on a bar is the clean run/, { timeoutMs: 60_000 });
    ui.assert.match(edged, /[+−]\d+\.\d pts/);
    ({ frame } = await ui.webview('analysis'));
    ui.assert.equal((await frame.locator('[data-key="why-edge-cut"]').textContent()).trim(), 'Restore');
    await scrollTo(frame, 'body');
    await ui.screenshot('why-edge');
    await scrollTo(frame, '.why-edge');
    await ui.screenshot('why-edge-control');
    await clickIn(frame, '[data-key="iv-0"]');
    for (let i = 0; ; i++) {
      const t = await ui.webviewText('analysis', /Cut one attention edge/);
      if (!/Intervened run/.test(t)) break;
      if (i > 100) throw new Error('the cut edge was not restored');
      await sleep(200);
    }
    ({ frame } = await ui.webview('analysis'));
    ui.assert.equal((await frame.locator('[data-key="why-edge-cut"]').textContent()).trim(), 'Cut');
    frame = await resetWhy(ui, frame);

    // In the editor: the cursor after "spaces" (the end of line 4), Why This Token? colours the words before it.
    await ui.closeAllEditors();
    await ui.openFile('english.md');
    await ui.page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
    await ui.page.keyboard.press('Control+Home');
    for (let i = 0; i < 3; i++) await ui.page.keyboard.press('ArrowDown');
    await ui.page.keyboard.press('End');
    await ui.runCommand('LLM Lens: Why This Token?');
    const item = ui.page.locator('.statusbar-item', { hasText: /Why: / }).first();
    await item.waitFor({ state: 'visible', timeout: 120_000 });
    await ui.clearNotifications();
    await sleep(500);
    await ui.screenshot('why-editor');
    // Escape takes the colours away.
    await ui.page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
    await ui.page.keyboard.press('End');
    await ui.page.keyboard.press('Escape');
    await item.waitFor({ state: 'hidden', timeout: 10_000 });
  },
};
