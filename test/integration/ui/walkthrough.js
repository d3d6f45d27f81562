// UI step: "Welcome: Open Walkthrough..." shows LLM Lens's walkthrough; its first buttons open the
// bundled sample and analyze it.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { sleep } = require('../lib/analysisSteps');

/** Opens the walkthrough called `title` and waits for its first step. */
async function openWalkthrough(ui, title, firstStep) {
  await ui.pickFromCommand('Welcome: Open Walkthrough...', title);
  await ui.page.getByText(firstStep, { exact: true }).first().waitFor({ state: 'visible', timeout: 20_000 });
  await sleep(1_000); // the step's SVG is drawn in a webview of its own
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
    await ui.page.locator('.tabs-container .tab[aria-label^="Untitled"]').first().waitFor({ timeout: 15_000 });
    await clickStepButton(ui, 'Select text and analyze it', 'Analyze Selection');
    await ui.webview('analysis', /token 1 of \d+/, { timeoutMs: 60_000 });
    await ui.clearNotifications();
    await ui.screenshot('walkthrough-analyze');
  },
};
