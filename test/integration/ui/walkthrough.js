// UI step: "Welcome: Open Walkthrough..." shows LLM Lens's walkthrough; its first buttons open the
// bundled sample and analyze it.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { sleep } = require('../lib/analysisSteps');

/** Opens the walkthrough called `title` and waits for its first step. */
async function openWalkthrough(ui, title, firstStep) {
  await ui.pickFromCommand('Welcome: Open Walkthrough...', title);
  await ui.page.getByText(firstStep, { exact: true }).first().waitFor({ state: 'visible', timeout: 20_000 });
  await stepImage(ui);
}

/** Waits until the expanded step's SVG shows: it is drawn in a webview of its own. */
async function stepImage(ui, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of ui.page.frames()) {
      if (await frame.evaluate(() => !!document.querySelector('svg[role="img"]')).catch(() => false)) return sleep(500);
    }
    await sleep(250);
  }
  throw new Error(`the walkthrough step's picture did not show within ${timeoutMs / 1000} s`);
}

/** Expands the walkthrough step titled `step` and clicks its button labelled `button`. */
async function clickStepButton(ui, step, button) {
  await ui.page.getByText(step, { exact: true }).first().click();
  const link = ui.page.locator('.getting-started-step.expanded').getByText(button, { exact: true }).first();
  await link.waitFor({ state: 'visible', timeout: 10_000 });
  await link.click();
}

module.exports = {
  title: 'the walkthrough "Get Started with LLM Lens": open a sample, analyze it',
  openWalkthrough,
  clickStepButton,
  async run(ui) {
    await openWalkthrough(ui, 'Get Started with LLM Lens', 'Open a sample');
    await ui.clearNotifications();
    await ui.screenshot('walkthrough');
    await clickStepButton(ui, 'Open a sample', 'Open a Sample');
    await ui.page.locator('.tabs-container .tab[aria-label^="english.md"]').first().waitFor({ timeout: 15_000 });
    await clickStepButton(ui, 'Select text and analyze it', 'Analyze Selection');
    await ui.webview('analysis', /token 1 of \d+/, { timeoutMs: 60_000 });
    await ui.clearNotifications();
    await ui.screenshot('walkthrough-analyze');
  },
};
