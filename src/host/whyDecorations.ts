// "LLM Lens: Why This Token?": at the cursor, which words of the text before a token made the model predict it.
// Each context token is occluded in turn (batched in the worker) and coloured in the editor by how much the
// prediction's log-probability changed, with a hover giving the number; a cancellable notification while it runs,
// a status bar item while the colours show, and Escape (or the item, or "Clear") to take them away.
import * as vscode from 'vscode';
import type { Logger } from '../core/common/logger';
import { errorMessage, isCancelled } from '../core/common/errors';
import { markdownCode, visibleText } from '../core/scoring/tokenDisplay';
import type { OccludeResult } from '../protocol/why';
import type { ModelService } from './modelService';
import type { TokenScores } from './tokenScores';
import { COMMANDS, CONTEXT_KEYS } from './commands';
import { refusalMessage } from './refusals';
import { showWarning } from './log';
import { tokenSpans } from './tokenSpans';
import { OCCLUDE_CAP } from '../protocol/webview';

/**
 * Bands of |Δ log-probability| in nats (a fixed scale, so colours mean the same from one question to the next, and
 * the token just before the prediction, which often dwarfs the rest, does not wash the others out). Below the
 * first, a token stays plain: 0.05 nats is a 5% change in probability.
 */
const BANDS = [0.05, 0.25, 0.75, 2];
const BLANK = /^\s*$/;

/** What the editor shows, for the status bar and the integration tests. */
export interface WhySnapshot {
  running: boolean;
  uri?: string;
  /** The token explained, as it stands in the document, and its place. */
  target?: string;
  targetStart?: number;
  /** Tokens occluded, and how many were coloured for helping (needed) or hurting the prediction. */
  occluded: number;
  needed: number;
  opposed: number;
  /** The largest |Δ log-probability|. */
  max?: number;
  error?: string;
  /** Runs finished (with colours or an error), for waiting in tests. */
  runs: number;
}

export class WhyDecorations implements vscode.Disposable {
  /** [needed: red, opposed: blue] x bands, faint to strong. */
  private readonly types: vscode.TextEditorDecorationType[][];
  private readonly targetType: vscode.TextEditorDecorationType;
  private readonly item = vscode.window.createStatusBarItem('llmLens.why', vscode.StatusBarAlignment.Right, 98);
  private editor: vscode.TextEditor | undefined;
  private current: AbortController | undefined;
  private snapshot: WhySnapshot = { running: false, occluded: 0, needed: 0, opposed: 0, runs: 0 };
  private readonly subs: vscode.Disposable[];

  constructor(
    private readonly models: ModelService,
    private readonly scores: TokenScores,
    private readonly log: Logger,
  ) {
    const tint = (rgb: string, alpha: number, border: string): vscode.DecorationRenderOptions => ({
      backgroundColor: `rgba(${rgb}, ${alpha})`,
      borderRadius: '2px',
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      // The strongest band is underlined too: it still reads where tints are faint (high contrast themes).
      borderStyle: 'solid',
      borderWidth: '0 0 2px 0',
      borderColor: border,
    });
    this.types = [
      BANDS.map((_, i) => vscode.window.createTextEditorDecorationType(tint('229, 83, 75', 0.14 + i * 0.14, i === BANDS.length - 1 ? 'rgba(229, 83, 75, 0.9)' : 'transparent'))),
      BANDS.map((_, i) => vscode.window.createTextEditorDecorationType(tint('55, 148, 255', 0.14 + i * 0.14, i === BANDS.length - 1 ? 'rgba(55, 148, 255, 0.9)' : 'transparent'))),
    ];
    this.targetType = vscode.window.createTextEditorDecorationType({
      outlineColor: new vscode.ThemeColor('focusBorder'),
      outlineStyle: 'solid',
      outlineWidth: '1px',
      borderRadius: '2px',
    });
    this.item.name = vscode.l10n.t('LLM Lens Why This Token?');
    this.item.command = COMMANDS.clearWhy;
    this.subs = [
      // Colours of an edited document would sit on the wrong words.
      vscode.workspace.onDidChangeTextDocument((e) => e.contentChanges.length > 0 && e.document === this.editor?.document && this.clear()),
      vscode.window.onDidChangeVisibleTextEditors((eds) => this.editor && !eds.includes(this.editor) && this.clear()),
      models.onDidChangeModel(() => this.clear()),
    ];
  }

  state(): WhySnapshot {
    return { ...this.snapshot };
  }

  /** Runs occlusion for the token at (or just before) the cursor of `editor`, and colours its context. */
  async run(editor: vscode.TextEditor | undefined = vscode.window.activeTextEditor): Promise<void> {
    const t = vscode.l10n.t;
    if (!editor) {
      void showWarning(t('Open a file and put the cursor on a word to ask why the model predicted it.'));
      return;
    }
    this.clear();
    this.current?.abort();
    const ac = new AbortController();
    this.current = ac;
    const doc = editor.document;
    const version = doc.version;
    const sel = editor.selection;
    this.snapshot = { running: true, uri: doc.uri.toString(), occluded: 0, needed: 0, opposed: 0, runs: this.snapshot.runs };
    try {
      const skipped = this.scores.check(doc);
      if (skipped === 'empty') throw new WhyRefusal(t('This file is empty.'));
      // The token the cursor is in, or the one it stands just after.
      const at = doc.offsetAt(sel.active);
      const token = await this.scores.tokenAt(doc, Math.max(0, at - (sel.isEmpty && at > 0 ? 1 : 0)), ac.signal);
      if (!token) throw new WhyRefusal(t('There is no token at the cursor.'));
      // The context: the selection when one ends at the token, else what hover cards read before it.
      const selStart = doc.offsetAt(sel.start);
      const from = !sel.isEmpty && selStart < token.start ? selStart : token.contextStart;
      const context = doc.getText(new vscode.Range(doc.positionAt(from), doc.positionAt(token.start)));
      const targetText = doc.getText(new vscode.Range(doc.positionAt(token.start), doc.positionAt(token.end)));
      if (!context) throw new WhyRefusal(t('Nothing comes before this token, so nothing in the text made the model predict it.'));
      this.snapshot.target = targetText;
      this.snapshot.targetStart = token.start;
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: t('LLM Lens: why {0}?', visibleText(targetText, 24)), cancellable: true },
        async (progress, cancel) => {
          const sub = cancel.onCancellationRequested(() => ac.abort());
          let reported = 0;
          try {
            progress.report({ message: t('occluding up to {0} tokens of context…', OCCLUDE_CAP) });
            return await this.models.occlude({ text: context, target: targetText, cap: OCCLUDE_CAP }, ac.signal, (done, total) => {
              const pct = total > 0 ? (done / total) * 100 : 0;
              progress.report({ increment: pct - reported, message: t('batch {0} of {1}', done, total) });
              reported = pct;
            });
          } finally {
            sub.dispose();
          }
        },
      );
      if (ac.signal.aborted || this.current !== ac) return;
      if (doc.version !== version) throw new WhyRefusal(t('The text changed while the model ran: ask again.'));
      this.apply(editor, from, context, result, token);
    } catch (e) {
      if (this.current !== ac) return;
      if (isCancelled(e) || ac.signal.aborted) {
        this.snapshot = { ...this.snapshot, running: false };
        this.item.hide();
        return;
      }
      const message = e instanceof WhyRefusal ? e.message : (refusalMessage(e) ?? errorMessage(e));
      if (!(e instanceof WhyRefusal)) this.log.warn(`Why This Token?: ${errorMessage(e)}`);
      this.snapshot = { ...this.snapshot, running: false, error: message, runs: this.snapshot.runs + 1 };
      void showWarning(t('Why This Token? {0}', message));
    } finally {
      if (this.current === ac) this.current = undefined;
    }
  }

  /** Takes the colours away (the status bar item, Escape, the command, an edit). */
  clear(): void {
    this.current?.abort();
    if (this.editor) {
      for (const set of this.types) for (const type of set) this.editor.setDecorations(type, []);
      this.editor.setDecorations(this.targetType, []);
    }
    this.editor = undefined;
    this.item.hide();
    if (this.snapshot.occluded || this.snapshot.target) this.snapshot = { running: false, occluded: 0, needed: 0, opposed: 0, runs: this.snapshot.runs };
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.whyShown, false);
  }

  dispose(): void {
    this.current?.abort();
    for (const s of this.subs) s.dispose();
    for (const set of this.types) for (const type of set) type.dispose();
    this.targetType.dispose();
    this.item.dispose();
  }

  private apply(editor: vscode.TextEditor, from: number, context: string, r: OccludeResult, token: { start: number; end: number }): void {
    const t = vscode.l10n.t;
    const doc = editor.document;
    const spans = tokenSpans(context, r.tokens);
    if (!spans) throw new Error(`the ${r.tokens.length} tokens of the answer do not spell the text`);
    let max = 0;
    for (const d of r.delta) if (d !== null && Number.isFinite(d)) max = Math.max(max, Math.abs(d));
    const ranges: vscode.DecorationOptions[][][] = this.types.map((set) => set.map(() => []));
    let needed = 0;
    let opposed = 0;
    const target = markdownCode(visibleText(r.target.text, 24));
    r.delta.forEach((d, i) => {
      if (d === null || !Number.isFinite(d)) return;
      const band = BANDS.reduce((b, edge, k) => (Math.abs(d) >= edge ? k : b), -1);
      if (band < 0) return;
      const span = spans[i];
      const text = context.slice(span.start, span.end);
      if (BLANK.test(text)) return;
      // Colour what can be seen: a token's leading or trailing whitespace is left plain.
      const lead = text.length - text.trimStart().length;
      const trail = text.length - text.trimEnd().length;
      const range = new vscode.Range(doc.positionAt(from + span.start + lead), doc.positionAt(from + span.end - trail));
      const md = new vscode.MarkdownString('', false);
      md.isTrusted = false;
      md.supportHtml = false;
      const word = markdownCode(visibleText(r.tokens[i].text, 24));
      md.appendMarkdown(
        [
          `**${t('Why This Token?')}** (LLM Lens)`,
          d < 0 ? t('Removing {0} lowers the log-probability of {1} by {2}: the prediction needed it.', word, target, Math.abs(d).toFixed(3)) : t('Removing {0} raises the log-probability of {1} by {2}: it worked against the prediction.', word, target, d.toFixed(3)),
          t('Δ log-probability {0} (the model gave {1} a log-probability of {2} with the whole context). Occlusion is attribution, not causation: the text around a removed token changes too.', `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(3)}`, target, r.target.logProb.toFixed(3)),
        ].join('\n\n'),
      );
      ranges[d < 0 ? 0 : 1][band].push({ range, hoverMessage: md });
      if (d < 0) needed++;
      else opposed++;
    });
    this.types.forEach((set, s) => set.forEach((type, b) => editor.setDecorations(type, ranges[s][b])));
    editor.setDecorations(this.targetType, [{ range: new vscode.Range(doc.positionAt(token.start), doc.positionAt(token.end)) }]);
    this.editor = editor;
    this.snapshot = { ...this.snapshot, running: false, occluded: r.occluded, needed, opposed, max, runs: this.snapshot.runs + 1 };
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.whyShown, true);
    this.item.text = `$(question) ${t('Why: {0}', visibleText(r.target.text, 16))}`;
    const tip = new vscode.MarkdownString('', false);
    tip.isTrusted = false;
    tip.supportHtml = false;
    tip.appendMarkdown(
      [
        `**${t('Why This Token?')}** (LLM Lens)`,
        t('Context tokens coloured by how much occluding each one changed the log-probability of {0}: red, the prediction needed it; blue, it worked against it. Four strengths, from 0.05, 0.25, 0.75 and 2 nats (the largest change here: {1}).', target, max.toFixed(3)),
        t('{0} tokens occluded in {1} batched runs; {2} further back left as they are (the cap is {3}).', r.occluded, r.batches, r.skipped, OCCLUDE_CAP),
        t('Click, or press Escape in the editor, to clear the colours.'),
      ].join('\n\n'),
    );
    this.item.tooltip = tip;
    this.item.show();
  }
}

/** Why there is nothing to explain at the cursor: the person's to fix, said as it is. */
class WhyRefusal extends Error {}
