// UI step: after a window reload the analysis panel comes back with its text, view and chosen token.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { analyzeParagraph, clickIn } = require('../lib/analysisSteps');

module.exports = {
  title: 'the analysis panel restores its last analysis, view and chosen token after a window reload',
  themes: ['dark'],
  async run(ui) {
    const frame = await analyzeParagraph(ui);
    for (let i = 0; i < 4; i++) await clickIn(frame, '[data-key="next"]');
    await clickIn(frame, '#tab-layers');
    await ui.webview('analysis', /token 5 of \d+[\s\S]*Layer by layer/);
    // As a person would: the workbench saves its editors (and the panel's place) on the way out.
    await ui.runCommand('Developer: Reload Window').catch(() => {});
    await ui.page.waitForLoadState('domcontentloaded');
    await new Promise((r) => setTimeout(r, 2000));
    await ui.ready();
    const text = await ui.webviewText('analysis', /english\.md:3–7[\s\S]*token 5 of \d+[\s\S]*Layer by layer/, { timeoutMs: 60_000 });
    ui.assert.match(text, /After layer 0/);
    await ui.screenshot('analysis-restored');
  },
};
