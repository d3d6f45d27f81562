// Shared helpers for integration tests: the installed extension, its API, polling, tabs.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { LlmLensApi } from '../../../src/extension';

export const EXTENSION_ID = 'llm-lens.llm-lens';

export function extension(): vscode.Extension<LlmLensApi> {
  const ext = vscode.extensions.getExtension<LlmLensApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in this extension host`);
  return ext;
}

/** Activates the extension (idempotent) and returns its API. */
export async function api(): Promise<LlmLensApi> {
  const ext = extension();
  const exports = ext.isActive ? ext.exports : await ext.activate();
  assert.ok(exports, 'activate() returned no API');
  return exports;
}

/** Polls `probe` until it returns a truthy value, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every open tab, in every editor group. */
export function allTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs);
}

/** The webview tab of one of this extension's panels, e.g. viewType 'llmLens.runtime'. */
export function webviewTab(viewType: string, label?: string): vscode.Tab | undefined {
  return allTabs().find(
    (t) =>
      t.input instanceof vscode.TabInputWebview &&
      // VS Code prefixes the extension's viewType (e.g. 'mainThreadWebview-llmLens.runtime').
      t.input.viewType.endsWith(viewType) &&
      (label === undefined || t.label === label),
  );
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** The samples/ workspace folder the harness opened (undefined when none is open). */
export function samplesFolder(): vscode.Uri | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri;
}
