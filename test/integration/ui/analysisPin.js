// UI step: the panel follows the editor's selection, unless pinned.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { analyzeParagraph, selectLines, sleep } = require('../lib/analysisSteps');

module.exports = {
  title: 'the analysis panel follows a new selection, and keeps its analysis while pinned',
  themes: ['dark'],
  async run(ui) {
    const frame = await analyzeParagraph(ui);
    await frame.click('[data-key="pin"]');
    ui.assert.equal(await frame.getAttribute('[data-key="pin"]', 'aria-pressed'), 'true');
    await selectLines(ui, 1, 1);
    await sleep(1500);
    ui.assert.match(await ui.webviewText('analysis', /english\.md/), /english\.md:3–7/);
    await frame.click('[data-key="pin"]');
    ui.assert.equal(await frame.getAttribute('[data-key="pin"]', 'aria-pressed'), 'false');
    await selectLines(ui, 1, 1);
    await ui.webview('analysis', /english\.md:1(?!\d)/);
  },
};
