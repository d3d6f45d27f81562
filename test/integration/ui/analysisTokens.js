// UI step: select a paragraph, "LLM Lens: Analyze Selection": the Tokens view; arrow keys choose
// tokens and the editor selects each chosen token.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { analyzeParagraph, scrollTo, sleep } = require('../lib/analysisSteps');

module.exports = {
  title: 'Analyze Selection shows the tokens of a paragraph; arrow keys choose a token and the editor selects it',
  // Screenshots of each view in the dark, light and both high-contrast themes.
  themes: ['dark', 'light', 'dark-hc', 'light-hc'],
  async run(ui) {
    const frame = await analyzeParagraph(ui);
    const text = await ui.webviewText('analysis', /token 1 of \d+/);
    ui.assert.match(text, /Language/);
    ui.assert.match(text, /tokens\s+\d+\s+characters\s+\d+\s+characters per token\s+[\d.]+/);
    await frame.focus('.tokens');
    await ui.page.keyboard.press('ArrowRight');
    await ui.page.keyboard.press('ArrowRight');
    await ui.webview('analysis', /token 3 of \d+/);
    ui.assert.equal(await frame.getAttribute('.tokens', 'aria-activedescendant'), 'tok-2');
    // The host selected the token's text in the editor (drawn as a selection while the panel has focus).
    const selected = ui.page.locator('.editor-group-container .monaco-editor .selected-text');
    for (let i = 0; i < 50 && (await selected.count()) === 0; i++) await sleep(100);
    ui.assert.ok((await selected.count()) > 0, 'no selection in the editor');
    await scrollTo(frame, 'body');
    await ui.screenshot('analysis-tokens');
    await frame.check('#show-ids');
    await frame.selectOption('#colour-by', 'surprisal');
    await ui.webview('analysis', /Surprisal/);
    await scrollTo(frame, '.legend-row');
    await ui.screenshot('analysis-tokens-surprisal');
  },
};
