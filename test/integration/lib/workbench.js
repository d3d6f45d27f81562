// Drives the VS Code workbench in Chromium the way a person would (command palette, quick open,
// themes) and reads webview panels; UI steps in test/integration/ui/ get one of these as `ui`.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

// name -> the theme's label in "Preferences: Color Theme", its settings id, and the workbench's class.
const THEMES = {
  dark: { label: 'Dark Modern', setting: 'Default Dark Modern', bodyClass: 'vs-dark' },
  light: { label: 'Light Modern', setting: 'Default Light Modern', bodyClass: 'vs' },
  'dark-hc': { label: 'Dark High Contrast', setting: 'Default High Contrast', bodyClass: 'hc-black' },
  'light-hc': { label: 'Light High Contrast', setting: 'Default High Contrast Light', bodyClass: 'hc-light' },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

class Workbench {
  /**
   * @param {import('playwright-core').Page} page
   * @param {{ resultsDir: string, settingsFile: string, workspace: string, log: (s: string) => void }} opts
   */
  constructor(page, opts) {
    this.page = page;
    this.resultsDir = opts.resultsDir;
    this.settingsFile = opts.settingsFile;
    this.workspace = opts.workspace;
    this.log = opts.log;
    /** Added to every screenshot name (a further run's, e.g. '-native'). */
    this.suffix = opts.suffix ?? '';
    /** 'dark' | 'light': the theme the current step runs under; screenshot names end with it. */
    this.theme = 'dark';
    this.assert = assert;
    /** Paths of the screenshots taken, for the summary. */
    this.screenshots = [];
  }

  /** Waits until the workbench shows the workspace's explorer, i.e. is ready for input. */
  async ready(timeoutMs = 60_000) {
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
    await this.page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
    await this.page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ state: 'attached', timeout: timeoutMs });
  }

  /**
   * Runs a command by its title through the command palette (F1), e.g. 'LLM Lens: Show Runtime Info'.
   * The palette lists what was registered when it opened, so early after start-up it is reopened
   * until the entry shows.
   */
  async runCommand(title, { timeoutMs = 20_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.dismissQuickInput();
      await this.page.keyboard.press('F1');
      const input = this.page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ state: 'visible', timeout: timeoutMs });
      await input.fill(`>${title}`);
      const row = this.rowLabelled(title);
      const shown = await row.waitFor({ state: 'visible', timeout: 3_000 }).then(() => true, () => false);
      if (shown) {
        await row.click();
        await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: timeoutMs });
        return;
      }
      if (Date.now() > deadline) throw new Error(`the command palette has no entry "${title}" (after ${timeoutMs / 1000} s)`);
    }
  }

  /** Opens a file of the workspace through Quick Open (Ctrl+P), e.g. 'greet.ts'. */
  async openFile(name, { timeoutMs = 15_000 } = {}) {
    await this.dismissQuickInput();
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: timeoutMs });
    await input.fill(name);
    const row = this.rowLabelled(path.basename(name));
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    await row.click();
    await this.page.locator(`.tabs-container .tab[aria-label^="${path.basename(name)}"]`).first().waitFor({ timeout: timeoutMs });
  }

  async dismissQuickInput() {
    if (await this.page.locator('.quick-input-widget').isVisible()) {
      await this.page.keyboard.press('Escape');
      await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 });
    }
  }

  async closeAllEditors() {
    await this.runCommand('View: Close All Editors');
    await this.page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
  }

  /** Closes every notification toast, so screenshots show the editor. */
  async clearNotifications() {
    await this.runCommand('Notifications: Clear All Notifications').catch(() => {});
  }

  /**
   * Finds the webview of one of our panels (its <body data-view="...">) and waits until its text
   * matches `expected` (a RegExp or substring). Returns { frame, text }.
   */
  async webview(view, expected, { timeoutMs = 30_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      for (const frame of this.page.frames()) {
        // A frame that is loading or going away may never answer: give each look 2 s.
        const found = await Promise.race([
          frame.evaluate((v) => (document.body && document.body.dataset.view === v ? document.body.innerText : null), view).catch(() => null),
          sleep(2_000).then(() => null),
        ]);
        if (found === null) continue;
        last = found;
        const ok = expected === undefined || (expected instanceof RegExp ? expected.test(found) : found.includes(expected));
        if (ok) return { frame, text: found };
      }
      if (Date.now() > deadline) {
        throw new Error(`webview "${view}" did not show ${expected} within ${timeoutMs} ms; its text was:\n${last || '(no such webview)'}`);
      }
      await sleep(200);
    }
  }

  /** Shorthand for (await webview(view, expected)).text. */
  async webviewText(view, expected, opts) {
    return (await this.webview(view, expected, opts)).text;
  }

  /**
   * Switches the color theme with "Preferences: Color Theme", as a person would (the workbench
   * does not pick up a settings.json rewritten behind its back in code-server), and waits until
   * it has repainted. `name` is a key of THEMES.
   */
  async setTheme(name) {
    const theme = THEMES[name];
    if (!theme) throw new Error(`unknown theme ${name}; known: ${Object.keys(THEMES).join(', ')}`);
    const isOn = () => this.page.evaluate((cls) => !!document.querySelector(`.monaco-workbench.${cls}`), theme.bodyClass);
    if (!(await isOn())) {
      await this.pickFromCommand('Preferences: Color Theme', theme.label);
      await this.page.waitForFunction((cls) => !!document.querySelector(`.monaco-workbench.${cls}`), theme.bodyClass, { timeout: 20_000 });
    }
    this.theme = name;
    await sleep(300);
  }

  /** Runs a command that opens a quick pick, then picks the entry labelled exactly `label`. */
  async pickFromCommand(title, label, { timeoutMs = 15_000 } = {}) {
    await this.dismissQuickInput();
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: timeoutMs });
    await input.fill(`>${title}`);
    await this.rowLabelled(title).waitFor({ state: 'visible', timeout: timeoutMs });
    await this.rowLabelled(title).click();
    // The same widget now lists the command's choices.
    await this.page.waitForFunction((t) => !document.querySelector('.quick-input-widget .quick-input-box input')?.value.startsWith(`>${t}`), title, { timeout: timeoutMs });
    await input.fill(label);
    await this.rowLabelled(label).waitFor({ state: 'visible', timeout: timeoutMs });
    await this.rowLabelled(label).click();
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: timeoutMs });
  }

  /** The quick-pick row whose label is exactly `label`. */
  rowLabelled(label) {
    return this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) })
      .first();
  }

  /**
   * Merges keys into the user settings.json. code-server's workbench does not notice the change
   * while it runs: call before the page loads, or reload the page (page.reload()) after.
   */
  updateSettings(values) {
    let settings = {};
    try {
      settings = JSON.parse(fs.readFileSync(this.settingsFile, 'utf8'));
    } catch {
      // missing or not plain JSON: start over
    }
    fs.mkdirSync(path.dirname(this.settingsFile), { recursive: true });
    fs.writeFileSync(this.settingsFile, JSON.stringify({ ...settings, ...values }, null, 2));
  }

  /**
   * Saves a PNG of the whole window to test-results/<name>-<theme>.png (a webview's pixels are
   * part of the page, so they show). Returns the path.
   */
  async screenshot(name, { theme = true } = {}) {
    const file = path.join(this.resultsDir, `${name}${theme ? `-${this.theme}` : ''}${this.suffix}.png`);
    await this.page.mouse.move(0, 0); // no hover tooltips in the picture
    await sleep(250);
    await this.page.screenshot({ path: file });
    this.screenshots.push(file);
    this.log(`    screenshot ${path.relative(process.cwd(), file)}`);
    return file;
  }
}

module.exports = { Workbench, THEMES };
