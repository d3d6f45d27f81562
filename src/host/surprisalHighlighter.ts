// Surprisal highlighting: colours each token of the active editor's visible range by how surprising it was to
// the model (bits), with theme colours in a few bands and the scale in a status bar item's tooltip. Passes run
// after scrolling and typing rest; a new pass cancels the one before, so at most one is ever in flight.
import * as vscode from 'vscode';
import type { Logger } from '../core/common/logger';
import { SURPRISAL_BANDS, bandOf, formatPercent, probOfBits } from '../core/scoring/surprisal';
import type { EditorSettings } from './settings';
import { errorMessage, isCancelled } from '../core/common/errors';
import type { DocToken, Ineligible, TokenScores } from './tokenScores';
import { COMMANDS, CONTEXT_KEYS } from './commands';
import { refusalMessage } from './refusals';

/** What the last pass drew, for the status bar and the integration tests. */
export interface SurprisalSnapshot {
  enabled: boolean;
  uri?: string;
  version?: number;
  /** Tokens coloured per band (band 0 is never coloured). */
  bands: number[];
  tokens: number;
  meanBits?: number;
  truncated: boolean;
  /** Why the active document is not highlighted. */
  skipped?: Ineligible;
  busy: boolean;
  /** Passes that drew (or cleared) decorations. */
  passes: number;
  /** Passes that asked for scores; the most that ever ran at once (1: a new pass waits for the cancelled one). */
  started: number;
  maxInFlight: number;
}

const BLANK = /^\s*$/;

export class SurprisalHighlighter implements vscode.Disposable {
  private enabled = false;
  /** One decoration type per band; band 0 (expected tokens) has none. */
  private readonly types: (vscode.TextEditorDecorationType | undefined)[];
  private readonly item = vscode.window.createStatusBarItem('llmLens.surprisal', vscode.StatusBarAlignment.Right, 99);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: AbortController | undefined;
  private readonly decorated = new Set<vscode.TextEditor>();
  private snapshot: Omit<SurprisalSnapshot, 'passes' | 'started' | 'maxInFlight'> = { enabled: false, bands: SURPRISAL_BANDS.map(() => 0), tokens: 0, truncated: false, busy: false };
  private readonly counts = { passes: 0, started: 0, maxInFlight: 0 };
  private inFlight = 0;
  /** The pass now running (settles when it ends, cancelled or not). */
  private running: Promise<void> = Promise.resolve();
  private readonly subs: vscode.Disposable[];
  private readonly didUpdate = new vscode.EventEmitter<SurprisalSnapshot>();
  /** Fires after each pass that drew (or cleared) decorations. */
  readonly onDidUpdate = this.didUpdate.event;

  constructor(
    private readonly scores: TokenScores,
    private readonly config: EditorSettings,
    private readonly log: Logger,
    private readonly models: { onDidChangeModel: vscode.Event<void>; onDidLoad: vscode.Event<unknown>; readonly current?: { spec: { vocabSize: number } } },
  ) {
    this.types = SURPRISAL_BANDS.map((_, i) =>
      i === 0
        ? undefined
        : vscode.window.createTextEditorDecorationType({
            backgroundColor: new vscode.ThemeColor(`llmLens.surprisal${i}Background`),
            borderColor: new vscode.ThemeColor(`llmLens.surprisal${i}Border`),
            borderStyle: 'solid',
            borderWidth: '0 0 2px 0',
            rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
            ...(i === SURPRISAL_BANDS.length - 1 ? { overviewRulerColor: new vscode.ThemeColor(`llmLens.surprisal${i}Border`), overviewRulerLane: vscode.OverviewRulerLane.Right } : {}),
          }),
    );
    this.item.name = vscode.l10n.t('LLM Lens Surprisal');
    this.item.command = COMMANDS.toggleSurprisal;
    this.subs = [
      vscode.window.onDidChangeActiveTextEditor(() => this.schedule(0)),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => e.textEditor === vscode.window.activeTextEditor && this.schedule(this.config.surprisalDelay)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!this.enabled || e.contentChanges.length === 0) return;
        if (e.document === vscode.window.activeTextEditor?.document) {
          // The text changed: what is being scored is out of date.
          this.current?.abort();
          this.schedule(this.config.surprisalDelay);
        }
        // Colours of an edited document that is not being redrawn would sit on the wrong tokens.
        for (const ed of this.decorated) if (ed.document === e.document && ed !== vscode.window.activeTextEditor) this.clear(ed);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('llmLens') && this.schedule(0)),
      models.onDidChangeModel(() => this.schedule(0)),
      models.onDidLoad(() => this.schedule(0)),
    ];
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  state(): SurprisalSnapshot {
    return { ...this.snapshot, ...this.counts, bands: this.snapshot.bands.slice(), enabled: this.enabled };
  }

  /** Turns highlighting on or off (or to `on`); returns whether it is on. */
  toggle(on = !this.enabled): boolean {
    this.enabled = on;
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.surprisalOn, on);
    if (on) {
      this.item.show();
      this.schedule(0);
    } else {
      clearTimeout(this.timer);
      this.current?.abort();
      this.current = undefined;
      for (const ed of [...this.decorated]) this.clear(ed);
      this.snapshot = { enabled: false, bands: SURPRISAL_BANDS.map(() => 0), tokens: 0, truncated: false, busy: false };
      this.item.hide();
      this.didUpdate.fire(this.state());
    }
    return on;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.current?.abort();
    for (const s of this.subs) s.dispose();
    for (const t of this.types) t?.dispose();
    this.item.dispose();
    this.didUpdate.dispose();
  }

  /** Runs a pass after `delay` ms of quiet; a later call replaces an earlier one that has not started. */
  private schedule(delay: number): void {
    if (!this.enabled) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), delay);
  }

  private async pass(): Promise<void> {
    if (!this.enabled) return;
    this.current?.abort();
    const ac = new AbortController();
    this.current = ac;
    // The pass before (now cancelled) ends first: never two passes' requests waiting in the worker.
    await this.running;
    if (ac.signal.aborted || this.current !== ac) return;
    const body = this.passBody(ac);
    this.running = body.catch(() => undefined);
    await body;
  }

  private async passBody(ac: AbortController): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      this.showStatus();
      return;
    }
    const doc = editor.document;
    const version = doc.version;
    const skipped = this.scores.check(doc);
    if (skipped) {
      this.clear(editor);
      this.snapshot = { enabled: true, uri: doc.uri.toString(), version, bands: SURPRISAL_BANDS.map(() => 0), tokens: 0, truncated: false, skipped, busy: false };
      this.counts.passes++;
      this.showStatus();
      this.didUpdate.fire(this.state());
      return;
    }
    this.snapshot.busy = true;
    this.showStatus();
    this.counts.started++;
    this.counts.maxInFlight = Math.max(this.counts.maxInFlight, ++this.inFlight);
    try {
      const tokens: DocToken[] = [];
      let truncated = false;
      for (const r of editor.visibleRanges) {
        const from = doc.offsetAt(doc.lineAt(r.start.line).range.start);
        const to = doc.offsetAt(doc.lineAt(r.end.line).rangeIncludingLineBreak.end);
        const got = await this.scores.range(doc, from, to, ac.signal);
        tokens.push(...got.tokens);
        truncated ||= got.truncated;
      }
      if (ac.signal.aborted || doc.version !== version || !this.enabled) return;
      this.apply(editor, tokens, truncated);
    } catch (e) {
      if (isCancelled(e)) return;
      this.log.warn(`surprisal highlighting: ${errorMessage(e)}`);
      this.snapshot = { ...this.snapshot, busy: false };
      this.showStatus(refusalMessage(e) ?? errorMessage(e));
    } finally {
      this.inFlight--;
      if (this.current === ac) {
        this.current = undefined;
        if (this.snapshot.busy) {
          this.snapshot.busy = false;
          this.showStatus();
        }
      }
    }
  }

  private apply(editor: vscode.TextEditor, tokens: DocToken[], truncated: boolean): void {
    const doc = editor.document;
    const byBand: vscode.Range[][] = SURPRISAL_BANDS.map(() => []);
    const counts = SURPRISAL_BANDS.map(() => 0);
    let sum = 0;
    let scored = 0;
    const seen = new Set<string>();
    for (const t of tokens) {
      // Visible ranges (around a fold) may both hold a token: count and colour it once.
      const key = `${t.start}:${t.end}:${t.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const band = bandOf(t.surprisalBits);
      if (band < 0) continue;
      counts[band]++;
      sum += t.surprisalBits!;
      scored++;
      if (band === 0) continue;
      // Colour what can be seen: a token's leading or trailing whitespace (a line break and indentation) is left plain.
      const text = doc.getText(new vscode.Range(doc.positionAt(t.start), doc.positionAt(t.end)));
      if (BLANK.test(text)) continue;
      const lead = text.length - text.trimStart().length;
      const trail = text.length - text.trimEnd().length;
      byBand[band].push(new vscode.Range(doc.positionAt(t.start + lead), doc.positionAt(t.end - trail)));
    }
    this.types.forEach((type, i) => type && editor.setDecorations(type, byBand[i]));
    this.decorated.add(editor);
    this.snapshot = {
      enabled: true,
      uri: doc.uri.toString(),
      version: doc.version,
      bands: counts,
      tokens: scored,
      meanBits: scored ? sum / scored : undefined,
      truncated,
      busy: false,
    };
    this.counts.passes++;
    this.showStatus();
    this.didUpdate.fire(this.state());
  }

  private clear(editor: vscode.TextEditor): void {
    for (const t of this.types) if (t) editor.setDecorations(t, []);
    this.decorated.delete(editor);
  }

  private showStatus(error?: string): void {
    if (!this.enabled) return;
    const s = this.snapshot;
    const t = vscode.l10n.t;
    let text: string;
    if (error) text = `$(warning) ${t('Surprisal')}`;
    else if (s.busy) text = `$(loading~spin) ${t('Surprisal')}`;
    else if (s.skipped) text = `$(circle-slash) ${t('Surprisal')}`;
    else if (s.meanBits !== undefined) text = `$(flame) ${t('Surprisal {0} bits', s.meanBits.toFixed(1))}`;
    else text = `$(flame) ${t('Surprisal')}`;
    this.item.text = text;
    const md = new vscode.MarkdownString('', false);
    md.supportHtml = false;
    md.isTrusted = false;
    const lines: string[] = [];
    lines.push(`**${t('Surprisal highlighting')}** (LLM Lens)`);
    lines.push(
      t(
        'Each token is coloured by how surprised the model was to read it: surprisal = −log₂ p, in bits, where p is the probability the model gave the token after reading up to {0} tokens before it. 1 bit is a coin flip between two tokens.',
        this.config.contextTokens,
      ),
    );
    const vocab = this.models.current?.spec.vocabSize;
    if (vocab) lines[lines.length - 1] += ' ' + t('A blind guess among the {0} tokens of this model’s vocabulary costs {1} bits.', vocab, Math.log2(vocab).toFixed(1));
    const rows = SURPRISAL_BANDS.map((b, i) => {
      const bits = b.maxBits === Infinity ? t('{0} or more', b.minBits) : `${b.minBits}–${b.maxBits}`;
      const p = b.maxBits === Infinity ? t('under {0}', formatPercent(probOfBits(b.minBits))) : `${formatPercent(probOfBits(b.maxBits))} – ${formatPercent(probOfBits(b.minBits))}`;
      const look = i === 0 ? t('not coloured') : t('band {0} of {1}', i, SURPRISAL_BANDS.length - 1) + (i === SURPRISAL_BANDS.length - 1 ? t(' (strongest; marked in the scroll bar)') : i === 1 ? t(' (faintest)') : '');
      return `| ${look} | ${bits} | ${p} | ${s.bands[i] ?? 0} |`;
    });
    lines.push([`| ${t('colour')} | ${t('bits')} | ${t('probability')} | ${t('tokens in view')} |`, '| --- | --- | --- | --- |', ...rows].join('\n'));
    // An error quotes text from outside (a file, a model): plain text, never Markdown (it could load a remote image).
    const errorLine = error ? t('The last pass failed: {0}', error) : undefined;
    // The error line, when there is one, goes here as text, between the Markdown before and after it.
    const errorAt = lines.length;
    if (!errorLine && s.skipped) lines.push(skippedReason(s.skipped, this.config.maxFileBytes));
    else if (!errorLine && s.meanBits !== undefined) {
      lines.push(t('In view: {0} tokens, mean {1} bits.', s.tokens, s.meanBits.toFixed(2)) + (s.truncated ? ' ' + t('Only the first {0} tokens were scored (setting llmLens.editor.maxTokens).', this.config.maxTokens) : ''));
    }
    lines.push(t('Click to turn highlighting off.'));
    md.appendMarkdown(lines.slice(0, errorAt).join('\n\n'));
    if (errorLine !== undefined) {
      md.appendMarkdown('\n\n');
      md.appendText(errorLine);
    }
    if (errorAt < lines.length) md.appendMarkdown(`\n\n${lines.slice(errorAt).join('\n\n')}`);
    this.item.tooltip = md;
    this.item.show();
  }
}

function skippedReason(k: Ineligible, maxBytes: number): string {
  const t = vscode.l10n.t;
  switch (k) {
    case 'language':
      return t('This language is not in the setting llmLens.editor.languages.');
    case 'tooLarge':
      return t('This file is larger than {0} bytes (setting llmLens.editor.maxFileBytes).', maxBytes);
    case 'binary':
      return t('This file looks like binary data, not text.');
    case 'empty':
      return t('This file is empty.');
    case 'scheme':
      return t('This kind of document is not highlighted.');
    case 'modelUnavailable':
      return t('The model could not be loaded; see the log (LLM Lens: Show Log).');
  }
}
