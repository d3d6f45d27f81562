// UI step: the Runtime Info panel, opened from the command palette, shows which runtime the installed extension's
// worker uses, why, and its version. The universal VSIX carries no native addon: WebAssembly, and it says so.
'use strict';

module.exports = {
  title: 'command palette "LLM Lens: Show Runtime Info" shows the runtime in use, why, and its version',
  async run(ui) {
    await ui.openFile('greet.ts'); // the panel opens beside the editor, as a person would see it
    await ui.runCommand('LLM Lens: Show Runtime Info');
    const text = await ui.webviewText('runtime', /onnxruntime version\s+\d+\.\d+\.\d+/);
    if ((process.env.LLM_LENS_EXPECT_BACKEND || 'web') === 'native') {
      // The platform VSIX: onnxruntime-node from dist/node_modules, in a real VS Code.
      ui.assert.match(text, /Runtime in use\s+native \(onnxruntime-node\)/);
      ui.assert.match(text, /Why\s+llmLens\.runtime\.backend is "auto" and the native addon loaded/);
    } else {
      // The universal VSIX carries no addon: WebAssembly, and the panel says why.
      ui.assert.match(text, /Runtime in use\s+WebAssembly \(onnxruntime-web\)/);
      ui.assert.match(text, /Why\s+native addon missing for \S+; using WebAssembly/);
    }
    ui.assert.match(text, /Inference runtime/);
    ui.assert.match(text, /Threads\s+\d+/);
    ui.assert.doesNotMatch(text, /did not start/);
    await ui.clearNotifications(); // an earlier step's notification is not part of this picture
    await ui.screenshot('runtime-panel');
  },
};
