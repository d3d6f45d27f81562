// Typed access to every llmLens.* setting, read when used so a change applies to the next request. Defaults and
// ranges come from package.json (protocol/settings.ts): each integer is clamped to its schema's range and a value
// of the wrong type falls back to the default, since an untrusted workspace can write anything here.
import * as os from 'node:os';
import * as vscode from 'vscode';
import type { CompleteOptions, CompletionMode } from '../protocol/completion';
import type { RuntimeBackendChoice } from '../protocol/worker';
import { intSetting, settingDefault } from '../protocol/settings';
import { defaultThreads } from '../core/common/threads';
import { DEFAULT_ENDPOINT } from '../core/hub/urls';

export const COMPLETIONS_SECTION = 'llmLens.completions';

/** One section's reader: `int` clamps to the schema, `strings` keeps the string entries of an array. */
class Section {
  constructor(private readonly name: string) {}
  protected get raw(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(this.name);
  }
  protected int(key: string): number {
    return intSetting(`${this.name}.${key}`, this.raw.get<unknown>(key));
  }
  protected bool(key: string): boolean {
    const v = this.raw.get<unknown>(key);
    return typeof v === 'boolean' ? v : settingDefault<boolean>(`${this.name}.${key}`);
  }
  protected strings(key: string): string[] {
    const fallback = settingDefault<string[]>(`${this.name}.${key}`);
    const v = this.raw.get<unknown>(key);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : fallback;
  }
}

export class RuntimeSettings extends Section {
  constructor() {
    super('llmLens.runtime');
  }
  /** Threads onnxruntime may use (0 in the setting: the extension's default). Takes effect when the worker restarts. */
  get threads(): number {
    const n = this.int('threads');
    return n > 0 ? n : defaultThreads(os.cpus().length);
  }
  /** Which inference runtime the worker uses (auto: native when its addon loads). Takes effect when the worker restarts. */
  get backend(): RuntimeBackendChoice {
    const v = this.raw.get<unknown>('backend');
    return v === 'native' || v === 'web' || v === 'auto' ? v : settingDefault<RuntimeBackendChoice>('llmLens.runtime.backend');
  }
}

/** Settings of the analysis panel (llmLens.analysis.*). */
export class AnalysisSettings extends Section {
  constructor() {
    super('llmLens.analysis');
  }
  /** Texts with more tokens are refused before the model runs. */
  get maxTokens(): number {
    return this.int('maxTokens');
  }
  /** Next-token and logit-lens candidates shown per position. */
  get topK(): number {
    return this.int('topK');
  }
  /** Nearest vocabulary neighbours shown for the chosen token. */
  get neighbours(): number {
    return this.int('neighbours');
  }
  /** Whether the panel re-analyses when the editor's selection moves elsewhere (unless pinned). */
  get followSelection(): boolean {
    return this.bool('followSelection');
  }
  /** Milliseconds the selection must rest before the panel follows it. */
  get followDelay(): number {
    return this.int('followDelay');
  }
}

/** Hover cards (llmLens.hover.*), surprisal highlighting and the limits both honour (llmLens.editor.*). */
export class EditorSettings extends Section {
  constructor() {
    super('llmLens');
  }
  get hoverEnabled(): boolean {
    return this.bool('hover.enabled');
  }
  /** Tokens of text before a token that the model reads to score it. */
  get contextTokens(): number {
    return this.int('hover.contextTokens');
  }
  /** Language ids the editor surfaces work in: "*" for all, "!id" to leave one out. */
  get languages(): string[] {
    return this.strings('editor.languages');
  }
  /** Documents larger than this (UTF-8 bytes) get no hover card and no highlighting. */
  get maxFileBytes(): number {
    return this.int('editor.maxFileBytes');
  }
  /** Most tokens scored for one hover or one highlighting pass. */
  get maxTokens(): number {
    return this.int('editor.maxTokens');
  }
  /** Milliseconds highlighting waits after scrolling or typing stops. */
  get surprisalDelay(): number {
    return this.int('surprisal.delay');
  }
}

/** Inline completions (llmLens.completions.*) and VS Code's own switch for ghost text. */
export class CompletionSettings extends Section {
  constructor() {
    super(COMPLETIONS_SECTION);
  }
  get enabled(): boolean {
    return this.bool('enabled');
  }
  /** VS Code's own setting: with it off, no extension's ghost text shows, so the model is not run. */
  get inlineSuggestEnabled(): boolean {
    return vscode.workspace.getConfiguration('editor.inlineSuggest').get<boolean>('enabled', true);
  }
  /** Language ids to complete; ['*'] for every language. */
  get languages(): string[] {
    return this.strings('languages');
  }
  /** Milliseconds of rest after a keystroke before the model runs. */
  get debounce(): number {
    return this.int('debounce');
  }
  get mode(): CompletionMode {
    return this.raw.get<string>('mode') === 'multiLine' ? 'multiLine' : 'singleLine';
  }
  /** What the worker is asked for. */
  get options(): CompleteOptions {
    return {
      prefixTokens: this.int('prefixTokens'),
      suffixTokens: this.int('suffixTokens'),
      maxTokens: this.int('maxTokens'),
      timeBudgetMs: this.int('timeBudget'),
      mode: this.mode,
    };
  }
  /** Turns completions on or off where the setting is decided (the workspace when it sets it, else the user). */
  async setEnabled(on: boolean): Promise<void> {
    const i = this.raw.inspect<boolean>('enabled');
    const target =
      i?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder : i?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await this.raw.update('enabled', on, target);
  }
}

/** llmLens.model (restricted in untrusted workspaces) and llmLens.hub.endpoint. */
export class ModelSettings extends Section {
  constructor() {
    super('llmLens');
  }
  /**
   * The built-in model's id or a model folder. In an untrusted workspace VS Code leaves out the
   * workspace's value (package.json restrictedConfigurations), so this is the user's choice there.
   */
  get model(): string {
    const v = this.raw.get<unknown>('model');
    return typeof v === 'string' ? v : '';
  }
  /** Saves the chosen model where the value in effect comes from: the trusted workspace if it sets one, else the user settings. */
  async setModel(value: string): Promise<void> {
    const i = this.raw.inspect<string>('model');
    const target =
      vscode.workspace.isTrusted && i?.workspaceFolderValue !== undefined
        ? vscode.ConfigurationTarget.WorkspaceFolder
        : vscode.workspace.isTrusted && i?.workspaceValue !== undefined
          ? vscode.ConfigurationTarget.Workspace
          : vscode.ConfigurationTarget.Global;
    await this.raw.update('model', value, target);
  }
  /** The hub's base URL. Application-scoped: a workspace cannot point downloads (and HF_TOKEN) at another server. */
  get hubEndpoint(): string {
    const raw = this.raw.get<unknown>('hub.endpoint');
    const v = typeof raw === 'string' ? raw.trim() : '';
    return /^https?:\/\/[^/]/i.test(v) ? v : DEFAULT_ENDPOINT;
  }
}

/** Whether a language id is in the list: "*" takes all, "!id" leaves one out, an exclusion wins. */
export function languageEnabled(languages: readonly string[], languageId: string): boolean {
  if (languages.includes(`!${languageId}`)) return false;
  return languages.includes('*') || languages.includes(languageId);
}
