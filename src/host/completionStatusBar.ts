// The status bar item of inline completions: off / model loading / ready / generating, the last suggestion's
// latency, and a click that turns completions on or off.
import * as vscode from 'vscode';
import { COMMANDS } from './commands';

export type CompletionState = 'off' | 'loading' | 'ready' | 'generating' | 'failed';

export interface LastRun {
  latencyMs: number;
  cached: boolean;
  tokens?: number;
  prefixReused?: number;
  promptTokens?: number;
}

export class CompletionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('llmLens.completions', vscode.StatusBarAlignment.Right, 99);
  private state: CompletionState = 'ready';
  private reason: string | undefined;
  private last: LastRun | undefined;

  constructor() {
    this.item.name = vscode.l10n.t('LLM Lens Completions');
    this.item.command = COMMANDS.toggleCompletions;
    this.render();
    this.item.show();
  }

  get current(): CompletionState {
    return this.state;
  }

  /** `reason`: why it is off or failed, for the tooltip. */
  set(state: CompletionState, reason?: string): void {
    if (state === this.state && reason === this.reason) return;
    this.state = state;
    this.reason = reason;
    this.render();
  }

  /** Records the latest suggestion's cost (shown while ready). */
  record(run: LastRun): void {
    this.last = run;
    this.render();
  }

  dispose(): void {
    this.item.dispose();
  }

  private render(): void {
    const last = this.last;
    const latency = last ? `${Math.round(last.latencyMs)} ms` : '';
    switch (this.state) {
      case 'off':
        this.item.text = '$(circle-slash) LLM';
        break;
      case 'loading':
        this.item.text = '$(sync~spin) LLM';
        break;
      case 'generating':
        this.item.text = '$(loading~spin) LLM';
        break;
      case 'failed':
        this.item.text = '$(warning) LLM';
        break;
      default:
        this.item.text = latency ? `$(sparkle) ${latency}` : '$(sparkle) LLM';
    }
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: [COMMANDS.explainSuggestion] };
    md.appendMarkdown(`**${vscode.l10n.t('LLM Lens inline completions')}**: ${this.stateText()}\n\n`);
    if (this.reason) md.appendText(`${this.reason}\n\n`);
    if (last) {
      const detail = last.cached
        ? vscode.l10n.t('Last suggestion: {0} ms, from the suggestion cache (the model did not run).', Math.round(last.latencyMs))
        : vscode.l10n.t('Last suggestion: {0} ms, {1} tokens generated; {2} of {3} prompt tokens reused from the previous request.', Math.round(last.latencyMs), last.tokens ?? 0, last.prefixReused ?? 0, last.promptTokens ?? 0);
      md.appendText(`${detail}\n\n`);
    }
    if (last && this.state !== 'off') md.appendMarkdown(`[${vscode.l10n.t('Explain the last suggestion')}](command:${COMMANDS.explainSuggestion})\n\n`);
    md.appendMarkdown(this.state === 'off' ? vscode.l10n.t('Click to turn inline completions on.') : vscode.l10n.t('Click to turn inline completions off.'));
    this.item.tooltip = md;
    this.item.backgroundColor = this.state === 'failed' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  private stateText(): string {
    switch (this.state) {
      case 'off':
        return vscode.l10n.t('off');
      case 'loading':
        return vscode.l10n.t('loading the model');
      case 'generating':
        return vscode.l10n.t('generating');
      case 'failed':
        return vscode.l10n.t('the model could not be loaded');
      default:
        return vscode.l10n.t('ready');
    }
  }
}
