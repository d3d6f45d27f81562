// UI step: "LLM Lens: Show Model Card" shows the parameters with their formulas and shares, the
// model's shape, what the lens found in the graph, and the concepts explained.
'use strict';

module.exports = {
  title: 'command palette "LLM Lens: Show Model Card" shows parameters, formulas, shape and concepts',
  // Screenshots of each view in the dark, light and both high-contrast themes.
  themes: ['dark', 'light', 'dark-hc', 'light-hc'],
  async run(ui) {
    await ui.openFile('greet.ts');
    await ui.runCommand('LLM Lens: Show Model Card');
    const { frame, text } = await ui.webview('modelCard', /Parameters: [\d,.]+/, { timeoutMs: 90_000 });
    ui.assert.match(text, /lens-tiny/);
    ui.assert.match(text, /dimensions \(d\)/);
    ui.assert.match(text, /model file: \d+(\.\d+)? MB/);
    ui.assert.match(text, /4d² \+ 4d = 4 × \d+² \+ 4 × \d+/);
    ui.assert.match(text, /Token embeddings/);
    ui.assert.match(text, /Attention head/);
    await ui.clearNotifications();
    await ui.screenshot('model-card');
    await frame.evaluate(() => document.querySelector('h2:nth-of-type(3)')?.scrollIntoView());
    await ui.screenshot('model-card-concepts');
  },
};
