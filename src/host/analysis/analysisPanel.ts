// The analysis panel's host side: one entry, analyze({ uri, range, chooseAt }), used by the command, the hover's
// "Analyze in LLM Lens", "Explain This Suggestion" and the samples; running the model for the text (a newer run
// cancels an older one), keeping the chosen token in step between panel and editor, following the selection unless
// pinned, and restoring the last analysis after a window reload. Following the document is source.ts, the wording
// of notices notices.ts, what survives a reload persisted.ts.
import * as vscode from 'vscode';
import type { Analysis, AnalyzeOptions, InstrumentationReport } from '../../protocol/analysis';
import { foundCount } from '../../protocol/analysis';
import { OCCLUDE_CAP, whyKey, type AnalysisState, type AnalysisUi, type AnalysisWebviewMessage, type PanelAnalysis, type PanelNotice, type PanelOcclusion, type PanelWhy } from '../../protocol/webview';
import type { Logger } from '../../core/common/logger';
import { errorMessage, isCancelled, LensError } from '../../core/common/errors';
import { textProblem } from '../../core/analysis/textCheck';
import type { AnalysisSettings } from '../settings';
import type { OpenPanel, PanelView } from '../panelController';
import { analysisStrings } from '../panelStrings';
import { analyzeOptions, chosenPatch, hasHead, keptInterventions, needsPca, panelChosen, pcaLayerOf, pcaPatch, toPanelAnalysis, tokenAt } from '../panelData';
import type { ModelService } from '../modelService';
import { COMMANDS, SETTINGS } from '../commands';
import { isRefusal } from '../refusals';
import { followEdit, isSourceSelection, matchesDocument, sourceOf, TokenRevealer, type Source } from './source';
import { errorNotice, problemNotice } from './notices';
import { loadPersisted, savePersisted } from './persisted';

/** What to analyse: a range of a document, and optionally the token to choose (the one at `chooseAt`). */
export interface AnalyzeRequest {
  uri: vscode.Uri;
  range: vscode.Range;
  chooseAt?: vscode.Position;
  /** The range is the current line because nothing was selected (a minified line is then refused, not analysed). */
  wholeLine?: boolean;
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
  /** The layer of the PCA map the current analysis holds (none until the embeddings tab shows). */
  pcaLayer?: number;
  /** PCA maps answered from the last run without a new one (the embeddings tab shown, another layer chosen). */
  pcaFromLastRun: number;
  /** The Why tab: requests made, what the last answer was for and said, and the last occlusion. */
  why: {
    requests: number;
    busy: boolean;
    current: boolean;
    error?: string;
    interventions: number;
    top?: { text: string; prob: number }[];
    cleanTop?: { text: string; prob: number }[];
    attributionLabel?: string;
    occlusion?: { running: boolean; position: number; occluded?: number; error?: string; cancelled?: boolean };
  };
}

const CHOSEN_RUN_DELAY_MS = 250;
/** The Why tab asks again when choosing rests this long (arrow keys through a text ask once). */
const WHY_DELAY_MS = 200;
/** Next-token list of the Why tab. */
const WHY_TOP_K = 10;
/** Progress patches at most this often (each is the tab's whole answer, a few KiB). */
const PROGRESS_MS = 100;

/** One turn of the event loop: what toPanelAnalysis waits between matrices. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The kinds of part the Why tab cannot switch off in this graph, with the instrumentation's reason for each; undefined
 * where the graph was not instrumented (the worker's own refusal will say).
 */
function partsUnavailable(report: InstrumentationReport | undefined): PanelWhy['unavailable'] {
  const iv = report?.interventions;
  if (!iv) return undefined;
  const kinds = (['head', 'attention', 'mlp', 'edge'] as const).filter((k) => !iv.available.includes(k));
  return Object.fromEntries(kinds.map((k) => [k, iv.unavailable?.[k] ?? '']));
}

export class AnalysisPanel implements PanelView<'analysis'>, vscode.Disposable {
  readonly id = 'analysis' as const;
  private panel: OpenPanel<'analysis'> | undefined;
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
  private pcaFromLastRun = 0;
  private followTimer: ReturnType<typeof setTimeout> | undefined;
  private why: PanelWhy | undefined;
  private whyTimer: ReturnType<typeof setTimeout> | undefined;
  private whyAbort: AbortController | undefined;
  private occludeAbort: AbortController | undefined;
  private whyRequests = 0;
  private readonly revealer = new TokenRevealer();
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly models: ModelService,
    private readonly config: AnalysisSettings,
    private readonly memento: vscode.Memento,
    private readonly log: Logger,
  ) {
    const saved = loadPersisted(memento);
    this.ui = saved.ui;
    this.source = saved.source;
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

  attached(panel: OpenPanel<'analysis'>): void {
    this.panel = panel;
  }

  detached(): void {
    this.panel = undefined;
    this.running?.cancel();
    this.whyAbort?.abort();
    this.occludeAbort?.abort();
  }

  webviewReady(): void {
    // A new webview counts its choices from 0 again (see AnalysisState.ackSeq).
    this.ackSeq = 0;
  }

  async state(): Promise<AnalysisState> {
    if (this.restorePending && this.source && !this.running) {
      // After a reload: the text was kept, the analysis was not; run it again.
      this.restorePending = false;
      this.source.stale = !matchesDocument(this.source);
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
    const sel = editor.selection;
    const wholeLine = sel.isEmpty;
    const range = wholeLine ? editor.document.lineAt(sel.active.line).range : new vscode.Range(sel.start, sel.end);
    await this.analyze({ uri: editor.document.uri, range, wholeLine });
  }

  /** The one way in: analyse a range of a document, and choose the token at `chooseAt` when given. */
  async analyze(req: AnalyzeRequest, explicit = true): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(req.uri);
    const range = doc.validateRange(req.range);
    const text = doc.getText(range);
    const problem = textProblem(text, { maxTokens: this.config.maxTokens, wholeLine: req.wholeLine });
    if (problem) {
      // While following the selection, a stray whitespace selection must not replace a good analysis.
      if (!explicit) return;
      this.running?.cancel();
      this.analysis = undefined;
      this.payload = undefined;
      this.showNotice(problemNotice(problem, !!req.wholeLine, range.start.line, this.config.maxTokens));
      return;
    }
    this.source = sourceOf(doc, range);
    this.restorePending = false;
    this.ui.chosen = 0;
    this.persist();
    const chooseAt = req.chooseAt && range.contains(req.chooseAt) ? doc.offsetAt(req.chooseAt) - this.source.offset : undefined;
    await this.run(explicit);
    if (chooseAt !== undefined && this.analysis && this.source && !this.running) {
      // The cursor goes where the request pointed (as if the person had put it there); the panel chooses the token.
      this.revealer.placeCursor(this.source, chooseAt);
      this.choose(tokenAt(this.analysis, chooseAt), false);
    }
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
      pcaLayer: this.analysis?.pca?.layer,
      pcaFromLastRun: this.pcaFromLastRun,
      why: this.whySummary(),
    };
  }

  private whySummary(): AnalysisSummary['why'] {
    const w = this.why?.seq === this.payload?.seq ? this.why : undefined;
    const r = w?.result;
    const o = w?.occlusion;
    const short = (p: { text: string; prob: number }) => ({ text: p.text, prob: p.prob });
    return {
      requests: this.whyRequests,
      busy: w?.busy ?? false,
      current: !!w && w.key === whyKey(this.ui) && !w.busy,
      error: w?.error,
      interventions: r?.interventions.length ?? 0,
      top: r?.top.map(short),
      cleanTop: r?.cleanTop?.map(short),
      attributionLabel: r?.attribution.label,
      occlusion: o && { running: o.running, position: o.position, occluded: o.result?.occluded, error: o.error, cancelled: o.cancelled },
    };
  }

  dispose(): void {
    this.running?.cancel();
    this.whyAbort?.abort();
    this.occludeAbort?.abort();
    clearTimeout(this.whyTimer);
    clearTimeout(this.chosenTimer);
    clearTimeout(this.followTimer);
    for (const d of this.disposables) d.dispose();
  }

  async onMessage(m: AnalysisWebviewMessage): Promise<void> {
    switch (m.type) {
      case 'choose':
        this.ack(m.seq);
        if (!this.analysis || m.index >= this.analysis.tokens.length) return;
        this.ui.chosen = m.index;
        this.persist();
        this.reveal(m.index);
        this.scheduleChosenRun();
        this.scheduleWhy();
        return;
      case 'setUi':
        this.ack(m.seq);
        return this.applyUi(m.ui);
      case 'occlude':
        if (this.analysis) await this.occlude(this.analysis);
        return;
      case 'cancelOcclude':
        this.occludeAbort?.abort();
        return;
      case 'command':
        switch (m.command) {
          case 'refresh':
            if (this.source) await this.run(true);
            else await this.post();
            return;
          case 'analyzeSelection':
            await vscode.commands.executeCommand(COMMANDS.analyzeSelection);
            return;
          case 'showModelCard':
            await vscode.commands.executeCommand(COMMANDS.showModelCard);
            return;
          case 'showLog':
            await vscode.commands.executeCommand(COMMANDS.showLog);
            return;
          case 'openSettings':
            await vscode.commands.executeCommand('workbench.action.openSettings', SETTINGS.analysisMaxTokens);
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

  private options(nLayer: number): AnalyzeOptions {
    return analyzeOptions(this.ui, nLayer, this.config);
  }

  /** Runs the model on the current source; a newer run cancels an older one. */
  private async run(explicit: boolean): Promise<void> {
    const a = await this.runOnce(explicit);
    // The embeddings tab shown, or another PCA layer chosen, while the model ran with the options of before.
    if (a && this.analysis === a && !this.running && needsPca(a, this.ui)) await this.updatePca(a);
  }

  /** The run itself; returns the analysis it put in place, if it did. */
  private async runOnce(explicit: boolean): Promise<Analysis | undefined> {
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
      this.ui.whyInterventions = keptInterventions(this.ui.whyInterventions, { sameText: this.analysis?.text === a.text, tokens: a.tokens.length, nLayer, nHead });
      this.analysis = a;
      this.payload = payload;
      this.seq++;
      // Another text (or the same, run again): the Why tab's answers were for the old one.
      this.whyAbort?.abort();
      this.occludeAbort?.abort();
      this.why = undefined;
      this.notice = a.tokens.length === 0 ? { kind: 'info', message: vscode.l10n.t('The text produced no tokens.') } : undefined;
      this.busy = false;
      this.persist();
      await this.post();
      this.scheduleWhy(0);
      // A head chosen while the payload was being built, and left out of it (over the byte budget): build again.
      if (!hasHead(this.payload, this.ui.layer, this.ui.head) && a.attention.some((m) => m.layer === this.ui.layer)) await this.repack(a);
      return a;
    } catch (e) {
      if (this.running !== cts) return;
      this.busy = false;
      if (isCancelled(e)) {
        await this.panel?.post({ type: 'busy', busy: false });
        return;
      }
      // Refused text is the person's to fix, not a fault: no stack in the log.
      if (isRefusal(e)) this.log.info(`Analysis refused: ${errorMessage(e)}`);
      else this.log.error(e instanceof Error ? e : String(e));
      if (explicit || !this.analysis) {
        this.notice = errorNotice(e);
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
    const attentionChanged = this.ui.layer !== before.layer || this.ui.head !== before.head;
    // A new run asks for everything this UI shows, the PCA map included.
    if (attentionChanged && !a.attention.some((m) => m.layer === this.ui.layer)) return this.run(false);
    const work: Promise<void>[] = [];
    if (attentionChanged && !hasHead(this.payload, this.ui.layer, this.ui.head)) work.push(this.repack(a));
    // A run in progress fetches the map when it ends (see run).
    if (!this.running && needsPca(a, this.ui)) work.push(this.updatePca(a));
    if (this.ui.chosen !== before.chosen) this.scheduleChosenRun();
    if (this.ui.tab === 'why') this.scheduleWhy(this.ui.tab !== before.tab ? 0 : WHY_DELAY_MS);
    if (work.length) return Promise.all(work).then(() => undefined);
  }

  /** Chooses a token from the host's side (the editor's cursor, a request's chooseAt): the panel follows. */
  private choose(index: number, reveal: boolean): void {
    if (index === this.ui.chosen) return;
    this.ui.chosen = index;
    this.persist();
    void this.panel?.post({ type: 'choose', index });
    if (reveal) this.reveal(index);
    this.scheduleChosenRun();
    this.scheduleWhy();
  }

  /** The Why tab's answer for what the UI asks now, once choosing rests; only while the tab shows. */
  private scheduleWhy(delay = WHY_DELAY_MS): void {
    clearTimeout(this.whyTimer);
    if (this.ui.tab !== 'why') return;
    this.whyTimer = setTimeout(() => {
      if (this.analysis && !this.running) void this.updateWhy(this.analysis);
    }, delay);
  }

  /**
   * Asks the worker why it predicts what it does after the chosen token: the candidates, direct logit attribution,
   * and the run with the parts switched off. A newer question cancels an older one; until the answer comes the tab
   * keeps the last one, marked as updating.
   */
  private async updateWhy(a: Analysis): Promise<void> {
    const seq = this.payload?.seq;
    if (seq === undefined || a.tokens.length === 0) return;
    const key = whyKey(this.ui);
    const kept = this.why?.seq === seq ? this.why : undefined;
    if (kept && kept.key === key && !kept.busy && (kept.result || kept.error)) return;
    this.whyAbort?.abort();
    const ac = new AbortController();
    this.whyAbort = ac;
    this.why = { ...(kept ?? { seq, key: '' }), busy: true, unavailable: partsUnavailable(this.models.current?.instrumentation) };
    this.whyRequests++;
    void this.postWhy();
    const { chosen, whyTargets, whyInterventions } = this.ui;
    const current = () => this.whyAbort === ac && this.analysis === a && this.why?.seq === seq;
    try {
      const result = await this.models.why({ text: a.text, position: chosen, targets: whyTargets, interventions: whyInterventions, topK: WHY_TOP_K }, ac.signal);
      if (!current()) return;
      this.why = { ...this.why!, key, busy: false, result, error: undefined };
      this.log.debug(`why: position ${chosen}, ${whyTargets.length} target(s), ${whyInterventions.length} intervention(s) in ${result.timings.totalMs.toFixed(0)} ms`);
    } catch (e) {
      if (!current() || isCancelled(e)) return;
      if (isRefusal(e)) this.log.info(`Why refused: ${errorMessage(e)}`);
      else this.log.error(e instanceof Error ? e : String(e));
      this.why = { ...this.why!, key, busy: false, result: undefined, error: errorMessage(e) };
    } finally {
      if (this.whyAbort === ac) this.whyAbort = undefined;
    }
    await this.postWhy();
  }

  /**
   * Occlusion for the prediction after the chosen token (of the first candidate, else the model's top token): each
   * context token removed in turn, batched in the worker; cancellable, with progress when the worker reports it.
   */
  private async occlude(a: Analysis): Promise<void> {
    const seq = this.payload?.seq;
    if (seq === undefined || a.tokens.length === 0) return;
    this.occludeAbort?.abort();
    const ac = new AbortController();
    this.occludeAbort = ac;
    const position = this.ui.chosen;
    const target = this.ui.whyTargets[0];
    const occlusion: PanelOcclusion = { position, target, running: true, cap: OCCLUDE_CAP };
    const setOcclusion = (o: PanelOcclusion) => {
      const w = this.why?.seq === seq ? this.why : { seq, key: '', busy: false };
      this.why = { ...w, occlusion: o };
    };
    setOcclusion(occlusion);
    void this.postWhy();
    const current = () => this.occludeAbort === ac && this.analysis === a && this.why?.seq === seq;
    let lastPost = 0;
    const onProgress = (done: number, total: number) => {
      if (!current()) return;
      occlusion.progress = { done, total };
      const now = Date.now();
      if (now - lastPost < PROGRESS_MS && done < total) return;
      lastPost = now;
      setOcclusion({ ...occlusion });
      void this.postWhy();
    };
    try {
      const result = await this.models.occlude({ text: a.text, position, target, cap: OCCLUDE_CAP }, ac.signal, onProgress);
      if (!current()) return;
      setOcclusion({ ...occlusion, running: false, result });
      this.log.debug(`occlusion: ${result.occluded} tokens in ${result.batches} batch(es), ${result.timings.totalMs.toFixed(0)} ms`);
    } catch (e) {
      if (this.analysis !== a || this.why?.seq !== seq || (this.occludeAbort !== ac && this.occludeAbort !== undefined)) return;
      if (isCancelled(e)) setOcclusion({ ...occlusion, running: false, cancelled: true });
      else {
        if (isRefusal(e)) this.log.info(`Occlusion refused: ${errorMessage(e)}`);
        else this.log.error(e instanceof Error ? e : String(e));
        setOcclusion({ ...occlusion, running: false, error: errorMessage(e) });
      }
    } finally {
      if (this.occludeAbort === ac) this.occludeAbort = undefined;
    }
    await this.postWhy();
  }

  private async postWhy(): Promise<void> {
    if (this.why) await this.panel?.post({ type: 'why', why: this.why });
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
   * when the worker no longer holds it (another analysis came after, or it restarted), a new run. The webview gets
   * a patch with the chosen token's part only.
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
      if (!this.payload) return;
      // The host's payload stays whole for the next full state (a reload, a tab shown again).
      this.payload = { ...this.payload, chosen: panelChosen(a.chosen), logitLens: a.logitLens };
      await this.panel?.post(chosenPatch(this.payload.seq, a, index));
    } catch (e) {
      if (!current() || isCancelled(e)) return;
      this.log.debug(`chosen token ${index} from the last analysis: ${errorMessage(e)}; analyzing again`);
      await this.run(false);
    }
  }

  /**
   * The PCA map this analysis was run without (the embeddings tab was not showing) or of another layer: from the
   * worker's copy of the run's hidden states (a few ms) rather than a new run; when the worker no longer holds the
   * run, a new run, which computes it. The webview gets a patch with the map only; until then it says the map is
   * being computed.
   */
  private async updatePca(a: Analysis): Promise<void> {
    const layer = pcaLayerOf(this.ui, a.model.nLayer);
    const current = () => this.analysis === a && !this.running;
    try {
      if (a.runId === undefined) throw new LensError('staleAnalysis', 'no run id');
      const pca = await this.models.pca({ runId: a.runId, layer });
      // Another text analysed since (or being analysed), or another layer chosen since (its own request is on its way).
      if (!current() || pca.layer !== pcaLayerOf(this.ui, a.model.nLayer)) return;
      a.pca = pca;
      this.pcaFromLastRun++;
      if (!this.payload) return;
      // The host's payload stays whole for the next full state (a reload, a tab shown again).
      this.payload = { ...this.payload, pca };
      await this.panel?.post(pcaPatch(this.payload.seq, pca));
    } catch (e) {
      if (!current() || isCancelled(e)) return;
      this.log.debug(`PCA of layer ${layer} from the last analysis: ${errorMessage(e)}; analyzing again`);
      await this.run(false);
    }
  }

  /** Selects the token's text in the editor that holds the source, without taking the focus. */
  private reveal(index: number): void {
    const src = this.source;
    const tok = this.analysis?.tokens[index];
    if (!src || src.stale || !tok) return;
    if (!this.revealer.reveal(src, tok.start, tok.end)) void this.post();
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    if (e.textEditor.document.uri.scheme === 'output') return;
    const sel = e.selections[0];
    if (this.revealer.isOwn(sel)) return;
    const src = this.source;
    const a = this.analysis;
    const doc = e.textEditor.document;
    if (src && a && !src.stale && doc.uri.toString() === src.uri) {
      const from = doc.offsetAt(sel.start) - src.offset;
      const to = doc.offsetAt(sel.end) - src.offset;
      if (from >= 0 && to <= src.text.length) {
        // Inside the analysed text: choose the token there rather than analysing anew.
        this.choose(tokenAt(a, from), false);
        return;
      }
    }
    if (sel.isEmpty || this.ui.pinned || !this.config.followSelection || !this.panel?.panel.visible) return;
    if (isSourceSelection(src, doc, sel)) return;
    clearTimeout(this.followTimer);
    const editor = e.textEditor;
    this.followTimer = setTimeout(() => {
      if (this.ui.pinned || !this.panel || editor.selection.isEmpty) return;
      const s = editor.selection;
      void this.analyze({ uri: editor.document.uri, range: new vscode.Range(s.start, s.end) }, false);
    }, this.config.followDelay);
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const src = this.source;
    if (!src || !followEdit(src, e)) return;
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
      ...(this.why && this.why.seq === this.payload?.seq ? { why: this.why } : {}),
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
    savePersisted(this.memento, this.source, this.ui);
  }
}
