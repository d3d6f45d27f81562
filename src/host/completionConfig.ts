// Settings of inline completions (llmLens.completions.*), read when used, and VS Code's own switch for ghost text.
import * as vscode from 'vscode';
import type { CompleteOptions, CompletionMode } from '../protocol/completion';

export const COMPLETIONS_SECTION = 'llmLens.completions';

/** Languages completed when the setting is left alone: programming languages, not prose. */
export const DEFAULT_COMPLETION_LANGUAGES = [
  'typescript',
  'typescriptreact',
  'javascript',
  'javascriptreact',
  'python',
  'java',
  'c',
  'cpp',
  'csharp',
  'go',
  'rust',
  'ruby',
  'php',
  'shellscript',
  'css',
  'scss',
  'html',
  'json',
  'jsonc',
  'yaml',
];

export class CompletionConfig {
  private get section(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(COMPLETIONS_SECTION);
  }

  get enabled(): boolean {
    return this.section.get<boolean>('enabled', true);
  }

  /** VS Code's own setting: with it off, no extension's ghost text shows, so the model is not run. */
  get inlineSuggestEnabled(): boolean {
    return vscode.workspace.getConfiguration('editor.inlineSuggest').get<boolean>('enabled', true);
  }

  /** Language ids to complete; ['*'] for every language. */
  get languages(): string[] {
    const v = this.section.get<unknown>('languages', DEFAULT_COMPLETION_LANGUAGES);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : DEFAULT_COMPLETION_LANGUAGES;
  }

  /** Milliseconds of rest after a keystroke before the model runs. */
  get debounce(): number {
    return clampInt(this.section.get<number>('debounce', 150), 0, 2000, 150);
  }

  get mode(): CompletionMode {
    return this.section.get<string>('mode', 'singleLine') === 'multiLine' ? 'multiLine' : 'singleLine';
  }

  /** What the worker is asked for. */
  get options(): CompleteOptions {
    return {
      prefixTokens: clampInt(this.section.get<number>('prefixTokens', 512), 16, 4096, 512),
      suffixTokens: clampInt(this.section.get<number>('suffixTokens', 128), 0, 1024, 128),
      maxTokens: clampInt(this.section.get<number>('maxTokens', 32), 1, 256, 32),
      timeBudgetMs: clampInt(this.section.get<number>('timeBudget', 1000), 50, 10000, 1000),
      mode: this.mode,
    };
  }

  /** Turns completions on or off where the setting is decided (the workspace when it sets it, else the user). */
  async setEnabled(on: boolean): Promise<void> {
    const i = this.section.inspect<boolean>('enabled');
    const target =
      i?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder : i?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await this.section.update('enabled', on, target);
  }
}

function clampInt(v: unknown, min: number, max: number, fallback: number): number {
  const n = typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : fallback;
  return Math.min(max, Math.max(min, n));
}
