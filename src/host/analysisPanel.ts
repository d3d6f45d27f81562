// The analysis panel's host side: what text is analysed (from the editor's selection), running the
// model for it, keeping the chosen token in step between panel and editor, following the selection
// unless pinned, and restoring the last analysis after a window reload.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Analysis, AnalyzeOptions } from '../protocol/analysis';
import { foundCount } from '../protocol/analysis';
import type { AnalysisState, AnalysisUi, PanelAnalysis, PanelNotice, WebviewToHostMessage } from '../protocol/webview';
import type { Logger } from '../core/common/logger';
import { LensError } from '../core/common/errors';
import type { AnalysisSettings } from './settings';
import type { OpenPanel, PanelView } from './panelController';
import { analysisStrings } from './panelStrings';
import { analyzeOptions, defaultUi, hasHead, panelChosen, toPanelAnalysis, tokenAt } from './panelData';
import { textProblem, type TextProblem } from '../core/analysis/textCheck';
import { isCancelled, type ModelService } from './modelService';

/** The text under analysis and where it sits in its document. */
interface Source {
  uri: string;
  /** Document offset of the text's first character when it was analysed (kept up to date across edits). */
  offset: number;
  text: string;
  label: string;
  /** The document changed inside the text: offsets no longer match, so nothing is revealed. */
  stale: boolean;
}

export interface AnalysisSummary {
  tokens: number;
  chosen: number;
  text?: string;
  label?: string;
  stale: boolean;
  pinned: boolean;
  busy: boolean;
  notice?: string;
  /** The index whose own data (vectors, neighbours, lens) the current analysis holds. */
  chosenData?: number;
  /** Runs of the model over the text so far, and chosen tokens answered from the last run without one. */
  runs: number;
  chosenFromLastRun: number;
}

interface Persisted {
  source?: Source;
  ui: AnalysisUi;
}

const MEMENTO_KEY = 'llmLens.analysis.last';
/** Worker error codes for text the core refuses (see src/core/analysis/errors.ts). */
const REFUSALS = new Set(['tooManyTokens', 'binaryText', 'emptyText']);
const CHOSEN_RUN_DELAY_MS = 250;

/** One turn of the event loop: what toPanelAnalysis waits between matrices. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class AnalysisView implements PanelView, vscode.Disposable {
  readonly id = 'analysis' as const;
  private panel: OpenPanel | undefined;
  private source: Source | undefined;
  private analysis: Analysis | undefined;
  private payload: PanelAnalysis | undefined;
  private seq = 0;
  /** The last panel choice applied (see AnalysisState.ackSeq). */
  private ackSeq = 0;
  private ui: AnalysisUi;
  private busy = false;
  private notice: PanelNotice | undefined;
  private running: vscode.CancellationTokenSource | undefined;
  private restorePending: boolean;
  private chosenTimer: ReturnType<typeof setTimeout> | undefined;
  private runs = 0;
  private chosenFromLastRun = 0;
  private followTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Selections this view set itself (revealing tokens), oldest first: their change events arrive
   * later, possibly after several more, and are not a person's choice.
   */
  private ownSelections: vscode.Selection[] = [];
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly models: ModelService,
    private readonly config: AnalysisSettings,
    private readonly memento: vscode.Memento,
    private readonly log: Logger,
  ) {
    const saved = memento.get<Persisted>(MEMENTO_KEY);
    this.ui = { ...defaultUi(), ...(saved?.ui ?? {}) };
    this.source = saved?.source;
    this.restorePending = this.source !== undefined;
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((e) => e && (this.lastEditor = e)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      // Another model reads the same text differently: analyse it again (errors show in the panel).
      models.onDidChangeModel(() => this.source && this.panel && void this.run(true)),
    );
  }

  title(): string {
    return vscode.l10n.t('LLM Lens: Analysis');
  }

  attached(panel: OpenPanel): void {
    this.panel = panel;
  }

  detached(): void {
    this.panel = undefined;
    this.running?.cancel();
  }

  webviewReady(): void {
    // A new webview counts its choices from 0 again (see AnalysisState.ackSeq).
    this.ackSeq = 0;
  }

  async state(): Promise<AnalysisState> {
    if (this.restorePending && this.source && !this.running) {
      // After a reload: the text was kept, the analysis was not; run it again.
      this.restorePending = false;
      this.source.stale = !this.matchesDocument(this.source);
      void this.run(true);
    }
    return this.currentState();
  }

  /** "Analyze Selection": the editor's selection, or its current line when nothing is selected. */
  async analyzeEditor(editor = this.editor()): Promise<void> {
    if (!editor) {
      this.showNotice({ kind: 'info', message: vscode.l10n.t('Open a file and select some text to analyze.') });
      return;
    }
    await this.analyzeSelectionOf(editor, true);
  }

  /** Switches the panel to a tab (the walkthrough's buttons), as if its tab had been clicked. */
  async showTab(tab: AnalysisUi['tab']): Promise<void> {
    await this.applyUi({ tab });
    await this.post();
  }

  /** What the panel shows, for the integration tests (which cannot look into the webview from the extension host). */
  summary(): AnalysisSummary {
    return {
      tokens: this.analysis?.tokens.length ?? 0,
      chosen: this.ui.chosen,
      text: this.source?.text,
      label: this.source?.label,
      stale: this.source?.stale ?? false,
      pinned: this.ui.pinned,
      busy: this.busy,
      notice: this.notice?.message,
      chosenData: this.analysis?.chosen?.index,
      runs: this.runs,
      chosenFromLastRun: this.chosenFromLastRun,
    };
  }

  dispose(): void {
    this.running?.cancel();
    clearTimeout(this.chosenTimer);
    clearTimeout(this.followTimer);
    for (const d of this.disposables) d.dispose();
  }

  async onMessage(m: WebviewToHostMessage): Promise<void> {
    switch (m.type) {
      case 'choose':
        this.ack(m.seq);
        if (!this.analysis || m.index >= this.analysis.tokens.length) return;
        this.ui.chosen = m.index;
        this.persist();
        this.reveal(m.index);
        this.scheduleChosenRun();
        return;
      case 'setUi':
        this.ack(m.seq);
        return this.applyUi(m.ui);
      case 'command':
        switch (m.command) {
          case 'refresh':
            if (this.source) await this.run(true);
            else await this.post();
            return;
          case 'analyzeSelection':
            await vscode.commands.executeCommand('llmLens.analyzeSelection');
            return;
          case 'showModelCard':
            await vscode.commands.executeCommand('llmLens.showModelCard');
            return;
          case 'showLog':
            await vscode.commands.executeCommand('llmLens.showLog');
            return;
          case 'openSettings':
            await vscode.commands.executeCommand('workbench.action.openSettings', 'llmLens.analysis.maxTokens');
            return;
        }
    }
  }

  private ack(seq: number | undefined): void {
    if (seq !== undefined) this.ackSeq = Math.max(this.ackSeq, seq);
  }

  private editor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active) return active;
    // A focused webview leaves no active editor: use the one last used, if still visible.
    const last = this.lastEditor;
    return last && vscode.window.visibleTextEditors.includes(last) ? last : vscode.window.visibleTextEditors[0];
  }

  private async analyzeSelectionOf(editor: vscode.TextEditor, explicit: boolean): Promise<void> {
    const doc = editor.document;
    const sel = editor.selection;
    const wholeLine = sel.isEmpty;
    const range = wholeLine ? doc.lineAt(sel.active.line).range : new vscode.Range(sel.start, sel.end);
    const text = doc.getText(range);
    const problem = textProblem(text, { maxTokens: this.config.maxTokens, wholeLine });
    if (problem) {
      // While following the selection, a stray whitespace selection must not replace a good analysis.
      if (!explicit) return;
      this.running?.cancel();
      this.analysis = undefined;
      this.payload = undefined;
      this.showNotice(this.problemNotice(problem, wholeLine, range.start.line));
      return;
    }
    const first = range.start.line + 1;
    const last = range.end.line + (range.end.character === 0 && range.end.line > range.start.line ? 0 : 1);
    const name = path.basename(doc.uri.path) || doc.uri.toString();
    this.source = {
      uri: doc.uri.toString(),
      offset: doc.offsetAt(range.start),
      text,
      label: first === last ? `${name}:${first}` : `${name}:${first}–${last}`,
      stale: false,
    };
    this.restorePending = false;
    this.ui.chosen = 0;
    this.persist();
    await this.run(explicit);
  }

  private problemNotice(p: TextProblem, wholeLine: boolean, line: number): PanelNotice {
    const max = this.config.maxTokens;
    switch (p.kind) {
      case 'empty':
        return { kind: 'info', message: wholeLine ? vscode.l10n.t('The current line is empty. Select some text to analyze.') : vscode.l10n.t('The selection is empty. Select some text to analyze.') };
      case 'whitespace':
        return { kind: 'info', message: wholeLine ? vscode.l10n.t('The current line holds only whitespace. Select some text to analyze.') : vscode.l10n.t('The selection holds only whitespace. Select some text to analyze.') };
      case 'binary':
        return {
          kind: 'error',
          message: p.nul
            ? vscode.l10n.t('This looks like binary data, not text (it contains NUL characters). LLM Lens analyzes text.')
            : vscode.l10n.t('This looks like binary data, not text (it is full of control characters). LLM Lens analyzes text.'),
        };
      case 'minifiedLine':
        return { kind: 'info', message: vscode.l10n.t('Line {0} is {1} characters long (a minified file?). Select the part you want to analyze.', line + 1, p.chars) };
      case 'tooLong':
        return {
          kind: 'error',
          message: vscode.l10n.t('The selection has {0} characters, more than {1} tokens can hold. Select less text, or raise the limit in the setting "llmLens.analysis.maxTokens".', p.chars, max),
          action: { label: vscode.l10n.t('Open Settings'), command: 'openSettings' },
        };
    }
  }

  private errorNotice(e: unknown): PanelNotice {
    const code = e instanceof LensError ? e.code : undefined;
    // The core's messages for refused text already say what to do (and name the setting).
    if (code === 'tooManyTokens') return { kind: 'error', message: (e as Error).message, action: { label: vscode.l10n.t('Open Settings'), command: 'openSettings' } };
    if (code === 'binaryText' || code === 'emptyText') return { kind: 'info', message: (e as Error).message };
    const detail = e instanceof Error ? e.message : String(e);
    return { kind: 'error', message: vscode.l10n.t('The analysis failed: {0}', detail), action: { label: vscode.l10n.t('Show Log'), command: 'showLog' } };
  }

  private options(nLayer: number): AnalyzeOptions {
    return analyzeOptions(this.ui, nLayer, this.config);
  }

  /** Runs the model on the current source; a newer run cancels an older one. */
  private async run(explicit: boolean): Promise<void> {
    const source = this.source;
    if (!source) return;
    clearTimeout(this.chosenTimer);
    this.running?.cancel();
    const cts = new vscode.CancellationTokenSource();
    this.running = cts;
    this.setBusy(true);
    try {
      const model = await this.models.ensureLoaded(cts.token);
      const { nLayer, nHead } = model.spec;
      this.ui.layer = Math.min(Math.max(0, this.ui.layer), nLayer - 1);
      if (this.ui.head >= nHead) this.ui.head = -1;
      if (this.ui.pcaLayer > nLayer) this.ui.pcaLayer = -1;
      let a: Analysis;
      try {
        a = await this.models.analyze(source.text, this.options(nLayer), cts.token);
      } catch (e) {
        // A chosen token kept from before (e.g. restored after a reload) may not exist any more.
        if (!(e instanceof LensError && e.code === 'invalidOption' && this.ui.chosen > 0)) throw e;
        this.ui.chosen = 0;
        a = await this.models.analyze(source.text, this.options(nLayer), cts.token);
      }
      if (this.running !== cts) return;
      if (this.ui.chosen >= a.tokens.length) this.ui.chosen = Math.max(0, a.tokens.length - 1);
      const payload = await toPanelAnalysis(a, this.seq + 1, this.ui.layer, this.ui.head, undefined, turn);
      if (this.running !== cts) return;
      this.runs++;
      this.analysis = a;
      this.payload = payload;
      this.seq++;
      this.notice = a.tokens.length === 0 ? { kind: 'info', message: vscode.l10n.t('The text produced no tokens.') } : undefined;
      this.busy = false;
      this.persist();
      await this.post();
      // A head chosen while the payload was being built, and left out of it (over the byte budget): build again.
      if (!hasHead(this.payload, this.ui.layer, this.ui.head) && a.attention.some((m) => m.layer === this.ui.layer)) await this.repack(a);
    } catch (e) {
      if (this.running !== cts) return;
      this.busy = false;
      if (isCancelled(e)) {
        await this.panel?.post({ type: 'busy', busy: false });
        return;
      }
      // Refused text is the person's to fix, not a fault: no stack in the log.
      if (e instanceof LensError && REFUSALS.has(e.code)) this.log.info(`Analysis refused: ${e.message}`);
      else this.log.error(e instanceof Error ? e : String(e));
      if (explicit || !this.analysis) {
        this.notice = this.errorNotice(e);
        if (explicit) {
          this.analysis = undefined;
          this.payload = undefined;
        }
      }
      await this.post();
    } finally {
      if (this.running === cts) this.running = undefined;
      cts.dispose();
    }
  }

  private applyUi(patch: Partial<AnalysisUi>): void | Promise<void> {
    const before = { ...this.ui };
    Object.assign(this.ui, patch);
    const n = this.analysis?.tokens.length ?? 0;
    if (this.ui.chosen >= n) this.ui.chosen = Math.max(0, n - 1);
    this.persist();
    const a = this.analysis;
    if (!a) return;
    if (this.ui.pcaLayer !== before.pcaLayer && a.pca.layer !== this.ui.pcaLayer) return this.run(false);
    if (this.ui.layer !== before.layer || this.ui.head !== before.head) {
      if (!a.attention.some((m) => m.layer === this.ui.layer)) return this.run(false);
      if (!hasHead(this.payload, this.ui.layer, this.ui.head)) return this.repack(a);
    }
    if (this.ui.chosen !== before.chosen) this.scheduleChosenRun();
  }

  /** The chosen token's own data (its vector per layer, its neighbours, its logit lens); wait until choosing rests. */
  private scheduleChosenRun(): void {
    clearTimeout(this.chosenTimer);
    this.chosenTimer = setTimeout(() => {
      if (this.analysis && this.analysis.chosen?.index !== this.ui.chosen && !this.running) void this.updateChosen(this.analysis);
    }, CHOSEN_RUN_DELAY_MS);
  }

  /**
   * From the worker's copy of this analysis's hidden states (a few ms) rather than a new run of the whole text;
   * when the worker no longer holds it (another analysis came after, or it restarted), a new run.
   */
  private async updateChosen(a: Analysis): Promise<void> {
    const index = this.ui.chosen;
    const current = () => this.analysis === a && !this.running;
    try {
      if (a.runId === undefined) throw new LensError('staleAnalysis', 'no run id');
      const o = this.options(a.model.nLayer);
      const c = await this.models.chosen({ runId: a.runId, index, topK: o.topK, neighbours: o.neighbours });
      if (!current()) return;
      a.chosen = { index: c.index, hidden: c.hidden, neighbours: c.neighbours };
      c.lens.forEach((predictions, l) => (a.logitLens[l][index] = predictions));
      this.chosenFromLastRun++;
      if (this.ui.chosen !== index) return this.scheduleChosenRun();
      // Only the chosen token's part changed: the matrices already quantized stay as they are.
      if (!this.payload) return;
      this.payload = { ...this.payload, seq: ++this.seq, chosen: panelChosen(a.chosen), logitLens: a.logitLens };
      await this.post();
    } catch (e) {
      if (!current() || isCancelled(e)) return;
      this.log.debug(`chosen token ${index} from the last analysis: ${e instanceof Error ? e.message : String(e)}; analyzing again`);
      await this.run(false);
    }
  }

  /** Selects the token's text in the editor that holds the source, without taking the focus. */
  private reveal(index: number): void {
    const src = this.source;
    const tok = this.analysis?.tokens[index];
    if (!src || src.stale || !tok) return;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === src.uri);
    if (!editor) return;
    if (!this.matchesDocument(src, editor.document)) {
      src.stale = true;
      void this.post();
      return;
    }
    const doc = editor.document;
    const start = doc.positionAt(src.offset + tok.start);
    const end = doc.positionAt(src.offset + Math.max(tok.start, tok.end));
    const sel = new vscode.Selection(start, end);
    this.ownSelections = [...this.ownSelections.slice(-15), sel];
    editor.selection = sel;
    editor.revealRange(sel, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private matchesDocument(src: Source, doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === src.uri)): boolean {
    if (!doc) return false;
    const range = new vscode.Range(doc.positionAt(src.offset), doc.positionAt(src.offset + src.text.length));
    return doc.getText(range) === src.text;
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    if (e.textEditor.document.uri.scheme === 'output') return;
    const sel = e.selections[0];
    const own = this.ownSelections.findIndex((s) => s.isEqual(sel));
    if (own >= 0) {
      this.ownSelections = this.ownSelections.slice(own + 1);
      return;
    }
    this.ownSelections = [];
    const src = this.source;
    const a = this.analysis;
    const doc = e.textEditor.document;
    if (src && a && !src.stale && doc.uri.toString() === src.uri) {
      const from = doc.offsetAt(sel.start) - src.offset;
      const to = doc.offsetAt(sel.end) - src.offset;
      if (from >= 0 && to <= src.text.length) {
        // Inside the analysed text: choose the token there rather than analysing anew.
        const i = tokenAt(a, from);
        if (i !== this.ui.chosen) {
          this.ui.chosen = i;
          this.persist();
          void this.panel?.post({ type: 'choose', index: i });
          this.scheduleChosenRun();
        }
        return;
      }
    }
    if (sel.isEmpty || this.ui.pinned || !this.config.followSelection || !this.panel?.panel.visible) return;
    // The selection being analysed already (VS Code re-announces selections on focus changes).
    if (src && doc.uri.toString() === src.uri && doc.offsetAt(sel.start) === src.offset && doc.offsetAt(sel.end) === src.offset + src.text.length) return;
    clearTimeout(this.followTimer);
    const editor = e.textEditor;
    this.followTimer = setTimeout(() => {
      if (this.ui.pinned || !this.panel || editor.selection.isEmpty) return;
      void this.analyzeSelectionOf(editor, false);
    }, this.config.followDelay);
  }

  /** Keeps the source's offset right when text before it changes; marks it stale when text inside changes. */
  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const src = this.source;
    if (!src || src.stale || e.document.uri.toString() !== src.uri || e.contentChanges.length === 0) return;
    for (const c of e.contentChanges) {
      const end = src.offset + src.text.length;
      if (c.rangeOffset + c.rangeLength <= src.offset && !(c.rangeLength === 0 && c.rangeOffset === src.offset && src.text.length === 0)) {
        src.offset += c.text.length - c.rangeLength;
      } else if (c.rangeOffset >= end) {
        continue;
      } else {
        src.stale = true;
      }
    }
    this.persist();
    if (src.stale) void this.post();
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    void this.panel?.post({ type: 'busy', busy });
  }

  private showNotice(n: PanelNotice): void {
    this.notice = n;
    this.busy = false;
    void this.post();
  }

  private currentState(): AnalysisState {
    const model = this.models.current;
    let attentionMissing: string | undefined;
    if (model && foundCount(model.instrumentation.attentionProbs) === 0) {
      attentionMissing = vscode.l10n.t('The attention weights of this model could not be found in its graph (for example, a fused attention operator hides them), so this view has nothing to show. The other views work.');
    } else if (this.analysis && !this.running && !this.analysis.attention.some((m) => m.layer === this.ui.layer)) {
      attentionMissing = vscode.l10n.t('The attention weights of layer {0} could not be found in this model’s graph.', this.ui.layer);
    }
    return {
      view: 'analysis',
      strings: analysisStrings(),
      locale: vscode.env.language,
      ui: { ...this.ui },
      busy: this.busy,
      notice: this.notice,
      source: this.source && { label: this.source.label, stale: this.source.stale },
      data: this.payload,
      attentionMissing,
      ackSeq: this.ackSeq,
    };
  }

  private async post(): Promise<void> {
    await this.panel?.post({ type: 'init', view: 'analysis', state: this.currentState() });
  }

  /** The same analysis for another attention layer/head: a new payload, unless a newer analysis or choice came. */
  private async repack(a: Analysis): Promise<void> {
    const { layer, head } = this.ui;
    const payload = await toPanelAnalysis(a, this.seq, layer, head, undefined, turn);
    if (this.analysis !== a || this.ui.layer !== layer || this.ui.head !== head) return;
    this.payload = payload;
    return this.post();
  }

  private persist(): void {
    void this.memento.update(MEMENTO_KEY, { source: this.source, ui: this.ui } satisfies Persisted);
  }
}
