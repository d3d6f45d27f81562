// The Runtime Info command opens the extension's webview panel. (What the panel shows is checked,
// and photographed, by the browser side of the harness: test/integration/ui/.)
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, closeAllEditors, waitFor, webviewTab } from './helpers';

describe('runtime panel', () => {
  before(async () => {
    await api();
    await closeAllEditors();
  });
  after(closeAllEditors);

  it('llmLens.showRuntimeInfo opens a webview tab "LLM Lens: Runtime"', async () => {
    await vscode.commands.executeCommand('llmLens.showRuntimeInfo');
    const tab = await waitFor('the runtime webview tab', () => webviewTab('llmLens.runtime'));
    assert.equal(tab.label, 'LLM Lens: Runtime');
    assert.ok(tab.isActive, 'the panel is not the active tab of its group');
  });

  it('running the command again reveals the same panel instead of opening a second one', async () => {
    await vscode.commands.executeCommand('llmLens.showRuntimeInfo');
    await new Promise((r) => setTimeout(r, 300));
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('llmLens.runtime'));
    assert.equal(tabs.length, 1);
  });
});
