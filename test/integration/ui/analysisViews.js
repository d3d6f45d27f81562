// UI step: the Embeddings, Layers and Attention views of a paragraph, with the panel given the whole
// editor area; a click on a head in the model view opens that head.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { analyzeParagraph, clickIn, closeEditorTab, scrollTo } = require('../lib/analysisSteps');

module.exports = {
  title: 'Embeddings, Layers and Attention views of a paragraph; the model view opens a head',
  // Screenshots of each view in the dark, light and both high-contrast themes.
  themes: ['dark', 'light', 'dark-hc', 'light-hc'],
  async run(ui) {
    const frame = await analyzeParagraph(ui);
    await closeEditorTab(ui, 'english.md');
    // Choose a token in the middle of the text (each step of › chooses the next one).
    for (let i = 0; i < 12; i++) await clickIn(frame, '[data-key="next"]');
    await ui.webview('analysis', /token 13 of \d+/);
    await clickIn(frame, '#tab-embeddings');
    await ui.webview('analysis', /Input vectors \(\d+ dimensions each\)[\s\S]*Cosine similarity[\s\S]*Nearest vocabulary neighbours[\s\S]*Map of the vectors/);
    ui.assert.ok(await frame.locator('canvas[data-key="emb-heatmap"]').isVisible());
    // The chosen token's neighbours come with a second, debounced analysis.
    await frame.waitForSelector('ol.bars', { timeout: 30_000 });
    await scrollTo(frame, 'h2');
    await ui.screenshot('analysis-embeddings');
    await scrollTo(frame, '.row');
    await ui.screenshot('analysis-embeddings-similarity');

    await scrollTo(frame, 'body');
    await clickIn(frame, '#tab-layers');
    const layers = await ui.webviewText('analysis', /Layer by layer[\s\S]*Input \(embedding\)[\s\S]*After layer 0/);
    ui.assert.match(layers, /Change per token and layer/);
    await ui.screenshot('analysis-layers');

    await clickIn(frame, '#tab-attention');
    await ui.webview('analysis', /Attention matrix: Layer/);
    // An earlier run may have left another layer and head chosen.
    await frame.selectOption('#att-layer', '0');
    await ui.webview('analysis', /Attention matrix: Layer 0/, { timeoutMs: 60_000 });
    await frame.selectOption('#att-head', '-1');
    await ui.webview('analysis', /Attention matrix: Layer 0, average over heads/);
    await frame.selectOption('#att-head', '1');
    await ui.webview('analysis', /Attention matrix: Layer 0, head 1/);
    await scrollTo(frame, '.tabpanel h2');
    await ui.screenshot('analysis-attention');
    await scrollTo(frame, '[data-key="head-view"]');
    await ui.screenshot('analysis-attention-head-view');
    await scrollTo(frame, 'table.multiples');
    await clickIn(frame, '[data-key="thumb-1-2"]');
    await ui.webview('analysis', /Attention matrix: Layer 1, head 2/);
    await scrollTo(frame, 'table.multiples');
    await ui.screenshot('analysis-attention-heads');
  },
};
