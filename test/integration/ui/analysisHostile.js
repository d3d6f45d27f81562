// UI step: text that looks like HTML or script shows as text and runs nothing; malformed messages
// from the webview are rejected by the host (and logged) while the panel keeps working.
'use strict';

/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
const { clickIn, resetView, sleep } = require('../lib/analysisSteps');
const HOSTILE = '<img src=x onerror=alert(1)> </script><script>alert(2)</script> "naïve" \u202Eevil\u202C';

module.exports = {
  title: 'Analyze Selection on <img onerror> and </script> text shows it as text; malformed webview messages are rejected',
  async run(ui) {
    let dialogs = 0;
    const onDialog = (d) => {
      dialogs++;
      void d.dismiss();
    };
    ui.page.on('dialog', onDialog);
    try {
      await ui.runCommand('File: New Untitled Text File');
      await ui.page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
      await ui.page.keyboard.insertText(HOSTILE);
      await ui.page.keyboard.press('Control+A');
      await ui.runCommand('LLM Lens: Analyze Selection');
      await ui.webview('analysis', /Untitled-\d+:1[\s\S]*token 1 of/, { timeoutMs: 90_000 });
      const frame = await resetView(ui);
      const text = await ui.webviewText('analysis', /characters per token/);
      ui.assert.match(text, /onerror=alert\(1\)>/);
      ui.assert.match(text, /<\/script><script>alert\(2\)<\/script>/);
      // The bidi override shows as an escape (or as its bytes, when the tokenizer splits it), never applied.
      ui.assert.match(text, /<U\+202E>|<0xE2><0x80><0xAE>/);
      ui.assert.ok(!text.includes('\u202E'));
      const injected = await frame.evaluate(() => ({
        img: document.querySelectorAll('img, [onerror]').length,
        scripts: [...document.scripts].filter((s) => /alert/.test(s.textContent ?? '')).length,
      }));
      ui.assert.deepEqual(injected, { img: 0, scripts: 0 });
      await clickIn(frame, '#tab-attention');
      await ui.webview('analysis', /Attention matrix/);
      await clickIn(frame, '#tab-tokens');
      await ui.clearNotifications();
      await ui.screenshot('analysis-hostile-text');

      // Post messages the protocol does not allow, the way the webview's own API would.
      await frame.parentFrame().evaluate(() => {
        const post = window.__vscode_post_message__;
        for (const message of [{ type: 'nonsense' }, { type: 'choose', index: -3 }, { type: 'choose', index: '1' }, { type: 'setUi', ui: { tab: '<img src=x>' } }, { type: 'command', command: 'workbench.action.closeWindow' }, null, 'ready'])
          post('onmessage', { message });
      });
      await sleep(500);
      await clickIn(frame, '#tab-layers');
      await ui.webview('analysis', /Layer by layer/);
      await ui.runCommand('LLM Lens: Show Log');
      const output = ui.page.locator('.part.panel .monaco-editor .view-lines').first();
      await output.waitFor({ state: 'visible', timeout: 15_000 });
      let log = '';
      for (let i = 0; i < 50 && !/Rejected a malformed message from the analysis panel/.test(log); i++) {
        await sleep(200);
        // The output view draws spaces as U+00A0 and wraps long lines.
        log = (await output.innerText()).replace(/\s+/g, ' ');
      }
      ui.assert.match(log, /Rejected a malformed message from the analysis panel/);
      ui.assert.equal(dialogs, 0, 'no alert() ran');
    } finally {
      ui.page.off('dialog', onDialog);
      await ui.runCommand('View: Hide Panel').catch(() => {});
      await ui.runCommand('View: Revert and Close Editor').catch(() => {});
    }
  },
};
