// Inline completions (ghost text) from the loaded model: the VS Code side of the completion pipeline. It reads the
// text around the cursor, adapts VS Code's cancellation to an AbortSignal, never waits for a model load (it starts
// one and asks VS Code to try again when it is done), and turns a lost worker into "no suggestion this time".
import * as vscode from 'vscode';
import { settingDefault } from '../protocol/settings';
import type { Logger } from '../core/common/logger';
import { CompletionPipeline, lostModel, type CompletionBackend, type PipelineStats } from '../core/completion/pipeline';
import type { CompleteResult } from '../protocol/completion';
import { SuggestionCache } from '../core/completion/cache';
import { toAbortSignal, type ModelService } from './modelService';
import { COMPLETIONS_SECTION, languageEnabled, type CompletionSettings } from './settings';
import { showInfo } from './log';
import type { CompletionState, CompletionStatusBar } from './completionStatusBar';

import { errorMessage } from '../core/common/errors';
import { INTERNAL_COMMANDS, SUGGESTION_SCHEME } from './commands';

/** Characters read on each side of the cursor: more than the token budgets can use (a token is rarely > 16 chars). */
const CHARS_PER_TOKEN_MAX = 16;
/** How long a request waits for a model load it started before it gives up (and asks VS Code again once loaded). */
const LOAD_WAIT_MS = 3000;
/** After a failed load, completions do not try again for this long (each try would show the error again). */
const LOAD_RETRY_MS = 60_000;
/**
 * How long an editor of a completed language stays in front before the model is loaded and warmed for it: long enough
 * that flicking through files loads nothing, short enough that the first keystroke finds the model warm.
 */
const PRELOAD_AFTER_MS = 400;

/** What "Explain This Suggestion" shows: the text the model read before the cursor, and what it suggested. */
export interface ShownSuggestion {
  uri: string;
  languageId: string;
  /** The prefix window of the prompt (FIM's suffix part is not in it: the analysis reads plain text). */
  prompt: string;
  suggestion: string;
  at: number;
}

export interface CompletionStats {
  state: CompletionState;
  /** Calls from VS Code. */
  provided: number;
  /** Calls answered with a suggestion. */
  suggested: number;
  accepted: number;
  /** Calls that found no model and started (or waited for) a load. */
  whileLoading: number;
  /** Calls that found the worker had lost its model (crash) and gave nothing. */
  lostModel: number;
  errors: number;
  pipeline: PipelineStats;
  /** The worker's counters, as of the last model run: generations started, cancelled, most at once. */
  engine?: CompleteResult['engine'];
  lastSuggestion?: ShownSuggestion;
}

export class CompletionProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  private readonly pipeline: CompletionPipeline;
  private registration: vscode.Disposable | undefined;
  private loading: Promise<void> | undefined;
  private loadFailed: { at: number; message: string } | undefined;
  private last: ShownSuggestion | undefined;
  private preloadTimer: ReturnType<typeof setTimeout> | undefined;
  /** VS Code asked in this document while the model was loading and got nothing: ask again once it is loaded. */
  private askOnLoad: vscode.TextDocument | undefined;
  private engine: CompleteResult['engine'] | undefined;
  /** Characters of prefix the last model prompt used, for suggestions answered from the cache. */
  private lastPromptChars = 2000;
  private readonly counters = { provided: 0, suggested: 0, accepted: 0, whileLoading: 0, lostModel: 0, errors: 0 };
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly models: ModelService,
    private readonly backend: CompletionBackend,
    private readonly config: CompletionSettings,
    private readonly status: CompletionStatusBar,
    private readonly log: Logger,
  ) {
    this.pipeline = new CompletionPipeline(backend, new SuggestionCache(64), (busy) => this.onBusy(busy));
    this.register();
    this.subs.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${COMPLETIONS_SECTION}.languages`)) this.register();
        if (e.affectsConfiguration(COMPLETIONS_SECTION)) this.pipeline.clearCache();
        if (e.affectsConfiguration(COMPLETIONS_SECTION) || e.affectsConfiguration('editor.inlineSuggest.enabled')) this.updateState();
      }),
      models.onDidChangeModel(() => {
        this.pipeline.cancel();
        this.pipeline.clearCache();
        this.loadFailed = undefined;
        this.updateState();
      }),
      models.onDidLoad(() => {
        this.updateState();
        this.warmUp();
      }),
      vscode.commands.registerCommand(INTERNAL_COMMANDS.completionAccepted, () => void this.counters.accepted++),
      vscode.window.onDidChangeActiveTextEditor((editor) => this.preload(editor)),
      vscode.workspace.onDidChangeTextDocument((e) => this.prefillLine(e.document)),
    );
    this.updateState();
    this.preload(vscode.window.activeTextEditor);
  }

  /** The document and line whose preceding text was last sent ahead (prefillLine). */
  private prefilled: string | undefined;

  /** The suggestion shown last, for "Explain This Suggestion". */
  get lastSuggestion(): ShownSuggestion | undefined {
    return this.last;
  }

  stats(): CompletionStats {
    return { state: this.status.current, ...this.counters, pipeline: this.pipeline.stats, engine: this.engine, lastSuggestion: this.last };
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    this.counters.provided++;
    if (document.uri.scheme === SUGGESTION_SCHEME) return undefined;
    if (!this.config.enabled || !this.config.inlineSuggestEnabled) {
      this.updateState();
      return undefined;
    }
    if (!this.models.current) {
      // Start the load, and wait for it a little (a small model loads in a second or two), never longer.
      this.counters.whileLoading++;
      this.startLoading(document, true);
      if (!(await this.loadedWithin(LOAD_WAIT_MS, token))) return undefined;
    }
    const options = this.config.options;
    const selected = context.selectedCompletionInfo;
    const { prefix, suffix } = this.textAround(document, position, selected);
    if (prefix.trim().length === 0 && suffix.trim().length === 0) return undefined;
    const debounceMs = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? 0 : this.config.debounce;
    const { signal, dispose } = toAbortSignal(token);
    try {
      const r = await this.pipeline.request({ prefix, suffix, options, debounceMs }, signal);
      this.log.info(
        !r
          ? 'completion: superseded or cancelled'
          : r.cached
            ? `completion: ${JSON.stringify(r.text)} from the cache (typed through ${r.typed}) in ${r.latencyMs.toFixed(1)} ms`
            : `completion: ${JSON.stringify(r.text)} (raw ${JSON.stringify(r.result!.rawText)}, ${r.result!.stopReason}) in ${r.latencyMs.toFixed(0)} ms: ${r.result!.tokens} tokens, prompt ${r.result!.promptTokens} (${r.result!.prefixReused} reused, ${r.result!.fim ? 'FIM' : 'plain'})`,
      );
      if (!r || token.isCancellationRequested) return undefined;
      if (r.result) {
        this.lastPromptChars = prefix.length - r.result.promptStart;
        this.engine = r.result.engine;
      }
      this.status.record({ latencyMs: r.latencyMs, cached: r.cached, tokens: r.result?.tokens, prefixReused: r.result?.prefixReused, promptTokens: r.result?.promptTokens });
      if (!r.text) return undefined;
      this.counters.suggested++;
      this.last = { uri: document.uri.toString(), languageId: document.languageId, prompt: prefix.slice(-this.lastPromptChars), suggestion: r.text, at: Date.now() };
      const range = selected ? selected.range : new vscode.Range(position, position);
      const item = new vscode.InlineCompletionItem((selected?.text ?? '') + r.text, range, { title: '', command: INTERNAL_COMMANDS.completionAccepted });
      return [item];
    } catch (e) {
      if (lostModel(e)) {
        // The worker restarted without the model: nothing this time; the next request loads it again.
        this.counters.lostModel++;
        this.log.warn(`Inline completion: the inference worker lost its model (${(e as Error).message}); it will be loaded again.`);
        this.models.reset();
        this.updateState();
        return undefined;
      }
      this.counters.errors++;
      this.log.error(e instanceof Error ? e : String(e));
      return undefined;
    } finally {
      dispose();
    }
  }

  /** Turns completions on or off (the setting), from the status bar or the command. */
  async toggle(): Promise<void> {
    const on = !this.config.enabled;
    await this.config.setEnabled(on);
    if (!on) this.pipeline.cancel();
    if (on && !this.config.inlineSuggestEnabled) {
      void showInfo(vscode.l10n.t('LLM Lens completions are on, but VS Code shows no inline suggestions while "editor.inlineSuggest.enabled" is off.'));
    }
    this.updateState();
  }

  dispose(): void {
    clearTimeout(this.preloadTimer);
    this.pipeline.cancel();
    this.registration?.dispose();
    for (const s of this.subs) s.dispose();
  }

  private register(): void {
    this.registration?.dispose();
    const languages = this.config.languages;
    const selector: vscode.DocumentSelector = languages.includes('*') ? [{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: 'vscode-remote' }] : languages.map((language) => ({ language }));
    this.registration = vscode.languages.registerInlineCompletionItemProvider(selector, this);
  }

  /**
   * The first suggestion must not wait for the model: when an editor whose language is completed has been in front
   * for a moment, load the model (the warm-up follows the load), as the first keystroke would have.
   */
  private preload(editor: vscode.TextEditor | undefined): void {
    clearTimeout(this.preloadTimer);
    if (!editor || !this.wanted(editor.document) || this.models.current || this.loading) return;
    this.preloadTimer = setTimeout(() => {
      if (vscode.window.activeTextEditor === editor && this.wanted(editor.document) && !this.models.current) this.startLoading(editor.document, false);
    }, PRELOAD_AFTER_MS);
  }

  /**
   * The text a request at `position` sends: enough characters before it for the prefix budget, after it for the
   * suffix's. With the suggest widget open, VS Code shows only ghost text that extends the item chosen there: complete
   * as if that item had been accepted, and replace the same range.
   */
  private textAround(document: vscode.TextDocument, position: vscode.Position, selected?: vscode.SelectedCompletionInfo): { prefix: string; suffix: string } {
    const options = this.config.options;
    const start = selected ? selected.range.start : position;
    const chosen = selected ? selected.text : '';
    const offset = document.offsetAt(start);
    const before = (options.prefixTokens ?? settingDefault<number>('llmLens.completions.prefixTokens')) * CHARS_PER_TOKEN_MAX;
    const after = Math.max(256, (options.suffixTokens ?? settingDefault<number>('llmLens.completions.suffixTokens')) * CHARS_PER_TOKEN_MAX);
    const prefix = document.getText(new vscode.Range(document.positionAt(Math.max(0, offset - before)), start)) + chosen;
    const suffix = document.getText(new vscode.Range(selected ? selected.range.end : position, document.positionAt(document.offsetAt(position) + after)));
    return { prefix, suffix };
  }

  /** Whether completions would be offered in `document` now. */
  private wanted(document: vscode.TextDocument): boolean {
    return this.config.enabled && this.config.inlineSuggestEnabled && document.uri.scheme !== SUGGESTION_SCHEME && languageEnabled(this.config.languages, document.languageId);
  }

  /** Loads the model; `askAfter`: VS Code asked and got nothing while it loads, so ask it again once it is loaded. */
  private startLoading(document: vscode.TextDocument, askAfter: boolean): void {
    if (askAfter) this.askOnLoad = document;
    if (this.loading) return;
    if (this.loadFailed && Date.now() - this.loadFailed.at < LOAD_RETRY_MS) return;
    this.loadFailed = undefined;
    this.status.set('loading');
    this.loading = this.models.ensureLoaded().then(
      () => {
        this.loading = undefined;
        this.updateState();
        // VS Code asked while the model was loading and got nothing: ask again for where the cursor is now.
        const ask = this.askOnLoad;
        this.askOnLoad = undefined;
        if (ask) this.askAgain(ask);
      },
      (e: unknown) => {
        this.loading = undefined;
        this.askOnLoad = undefined;
        this.loadFailed = { at: Date.now(), message: errorMessage(e) };
        this.log.warn(`Inline completions: the model could not be loaded (${this.loadFailed.message}); not trying again for ${LOAD_RETRY_MS / 1000} s.`);
        this.updateState();
      },
    );
  }

  /** Whether the model is loaded within `ms` (false at once when the load fails or VS Code cancels). */
  private async loadedWithin(ms: number, token: vscode.CancellationToken): Promise<boolean> {
    const loading = this.loading;
    if (!loading) return this.models.current !== undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let sub: vscode.Disposable | undefined;
    try {
      await Promise.race([
        loading,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ms);
          sub = token.onCancellationRequested(() => resolve());
        }),
      ]);
    } finally {
      clearTimeout(timer);
      sub?.dispose();
    }
    return this.models.current !== undefined && !token.isCancellationRequested;
  }

  /**
   * Asks VS Code for inline completions again in `document`'s editor. VS Code sometimes lets a trigger that comes
   * right after an empty answer pass without asking the provider: if it has not asked within a second, try once more.
   */
  private askAgain(document: vscode.TextDocument, retries = 2): void {
    if (vscode.window.activeTextEditor?.document !== document) return;
    const asked = this.counters.provided;
    void vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    if (retries > 0) setTimeout(() => this.counters.provided === asked && this.askAgain(document, retries - 1), 1000);
  }

  /**
   * The worker makes its generation session on the first completion, and a session's first runs are slow: pay both
   * now, while nobody waits, with a one-token completion at the cursor of the editor in front. Its prompt is the one
   * a request there would send, so the KV cache then holds the text before the cursor: the first real request, one
   * keystroke later, shares that prefix and feeds only what changed (the prefill of a few hundred tokens was most of
   * the first suggestion's wait).
   */
  /**
   * At the first edit on a line, send the text before that line to the worker at once, as a one-token completion: the
   * worker feeds it through the model (into the KV cache) while the user types the rest of the line, and the request
   * that follows the last keystroke reuses it and feeds only the line. Once per line: the lines above do not change
   * while the user types on this one.
   */
  private prefillLine(document: vscode.TextDocument): void {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document !== document || !this.wanted(document) || !this.models.current || this.loading) return;
    const line = editor.selection.active.line;
    const key = `${document.uri.toString()}#${line}`;
    if (this.prefilled === key) return;
    this.prefilled = key;
    // The text after the line start as the suffix: a model with fill-in-the-middle tokens then gets the same kind of
    // prompt as the request to come (<fim_prefix> + the text above first), so their first tokens agree.
    const { prefix, suffix } = this.textAround(document, new vscode.Position(line, 0));
    if (!prefix.trim()) return;
    this.backend.complete({ prefix, suffix, options: { ...this.config.options, maxTokens: 1 } }, new AbortController().signal).catch((e: unknown) => this.log.warn(`Inline completions: prefilling the text above the cursor failed: ${errorMessage(e)}`));
  }

  private warmUp(): void {
    // Only when completions are likely: a file of a completed language is open (not for a panel on prose).
    const editor = vscode.window.activeTextEditor;
    const doc = editor?.document;
    if (!editor || !doc || !this.wanted(doc)) return;
    const t0 = Date.now();
    const { prefix, suffix } = this.textAround(doc, editor.selection.active);
    const around = prefix.trim() || suffix.trim() ? { prefix, suffix } : { prefix: 'function', suffix: '' };
    this.backend.complete({ ...around, options: { ...this.config.options, maxTokens: 1 } }, new AbortController().signal).then(
      () => this.log.info(`Inline completions ready (generation session warmed up in ${Date.now() - t0} ms).`),
      (e: unknown) => this.log.warn(`Inline completions: warming up failed: ${errorMessage(e)}`),
    );
  }

  private onBusy(busy: boolean): void {
    if (this.status.current === 'off' || this.status.current === 'loading') return;
    this.status.set(busy ? 'generating' : 'ready');
  }

  private updateState(): void {
    if (!this.config.enabled) this.status.set('off', vscode.l10n.t('Turned off (setting "llmLens.completions.enabled").'));
    else if (!this.config.inlineSuggestEnabled) this.status.set('off', vscode.l10n.t('VS Code\'s "editor.inlineSuggest.enabled" is off, so no inline suggestions show.'));
    else if (this.loading) this.status.set('loading');
    else if (this.loadFailed) this.status.set('failed', this.loadFailed.message);
    else this.status.set('ready');
  }
}
