// UI step: the Runtime Info panel, opened from the command palette, shows the onnxruntime-web
// version reported by the installed extension's worker.
'use strict';

module.exports = {
  title: 'command palette "LLM Lens: Show Runtime Info" shows the onnxruntime-web version',
  async run(ui) {
    await ui.openFile('greet.ts'); // the panel opens beside the editor, as a person would see it
    await ui.runCommand('LLM Lens: Show Runtime Info');
    const text = await ui.webviewText('runtime', /onnxruntime-web version\s+\d+\.\d+\.\d+/);
    ui.assert.match(text, /Inference runtime/);
    ui.assert.match(text, /Threads\s+\d+/);
    ui.assert.doesNotMatch(text, /did not start/);
    await ui.screenshot('runtime-panel');
  },
};
