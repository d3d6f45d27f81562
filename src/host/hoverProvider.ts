// Token hover cards: the token under the mouse as the model read it (text, id, bytes, place in its context),
// how probable it was given the text before it, what the model expected instead, its embedding's norm and
// nearest vocabulary neighbours, and a link that opens the analysis panel on it. Token text is untrusted:
// it only ever appears inside Markdown code, and the card trusts no command but this extension's own.
import * as vscode from 'vscode';
import type { Logger } from '../core/common/logger';
import { formatBits, formatPercent } from '../core/scoring/surprisal';
import { hexBytes, markdownCode, visibleText, visibleTokenText } from '../core/scoring/tokenDisplay';
import type { TokenNeighbours } from '../protocol/score';
import type { EditorSettings } from './settings';
import { errorMessage, isCancelled } from '../core/common/errors';
import { lineIndexOfDocument, type DocToken, type TokenScores } from './tokenScores';
import { INTERNAL_COMMANDS } from './commands';
import type { AnalyzeRequest } from './analysis/analysisPanel';

/** How far past the token the panel's text reaches (to the end of its line, within this many characters). */
const PANEL_TAIL_CHARS = 400;

/** Where the "Analyze in LLM Lens" link points: the hover's context and the token in it (document offsets). */
export interface AnalyzeTokenArgs {
  uri: string;
  /** The text to analyse: [from, to). */
  from: number;
  to: number;
  /** The token to choose in the panel: [start, end). */
  start: number;
  end: number;
}

export class TokenHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly scores: TokenScores,
    private readonly config: EditorSettings,
    private readonly log: Logger,
  ) {}

  async provideHover(doc: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    if (!this.config.hoverEnabled || this.scores.check(doc)) return undefined;
    const version = doc.version;
    // Cancelled when VS Code cancels the hover, or when this document's text changes under it.
    const ac = new AbortController();
    const subs = [
      token.onCancellationRequested(() => ac.abort()),
      vscode.workspace.onDidChangeTextDocument((e) => e.document === doc && e.contentChanges.length > 0 && ac.abort()),
    ];
    try {
      const t = await this.scores.tokenAt(doc, doc.offsetAt(position), ac.signal);
      if (!t || ac.signal.aborted || doc.version !== version) return undefined;
      const nb = await this.scores.neighbours(t.id, ac.signal).catch((e: unknown) => {
        if (isCancelled(e)) throw e;
        this.log.warn(`hover: no neighbours for token ${t.id}: ${errorMessage(e)}`);
        return undefined;
      });
      if (ac.signal.aborted || doc.version !== version) return undefined;
      const range = new vscode.Range(doc.positionAt(t.start), doc.positionAt(t.end));
      return new vscode.Hover(tokenCard(t, nb, analyzeArgs(doc, t)), range);
    } catch (e) {
      // A hover never shows an error: the log says what happened.
      if (!isCancelled(e)) this.log.warn(`hover: ${errorMessage(e)}`);
      return undefined;
    } finally {
      for (const s of subs) s.dispose();
    }
  }
}

/** The panel's text for a token: its context as the hover saw it, to the end of the token's line. */
export function analyzeArgs(doc: vscode.TextDocument, t: DocToken): AnalyzeTokenArgs {
  const idx = lineIndexOfDocument(doc);
  const line = idx.lineAt(Math.max(t.start, t.end - 1));
  const lineEnd = doc.offsetAt(doc.lineAt(line).range.end);
  const to = Math.max(t.end, Math.min(lineEnd, t.end + PANEL_TAIL_CHARS));
  return { uri: doc.uri.toString(), from: t.contextStart, to, start: t.start, end: t.end };
}

/** The card's Markdown. Every piece of token text goes through visible*Text and then into Markdown code. */
export function tokenCard(t: DocToken, nb: TokenNeighbours | undefined, args: AnalyzeTokenArgs): vscode.MarkdownString {
  const md = new vscode.MarkdownString('', false);
  md.supportHtml = false;
  md.isTrusted = { enabledCommands: [INTERNAL_COMMANDS.analyzeToken] };
  const shown = markdownCode(visibleTokenText(t.bytes));
  const parts: string[] = [];
  const where = t.context === 0 ? vscode.l10n.t('the first token the model read') : vscode.l10n.t('{0} tokens of context before it', t.context);
  parts.push(`**${vscode.l10n.t('Token')}** ${shown} · ${vscode.l10n.t('id {0}', t.id)} · ${vscode.l10n.t('{0} bytes', t.bytes.length)} ${markdownCode(hexBytes(t.bytes))} · ${where}`);
  if (t.partial) parts.push(vscode.l10n.t('Part of a character: these bytes are not a whole UTF-8 character; a neighbouring token holds the rest.'));
  if (t.prob === undefined || t.surprisalBits === undefined) {
    parts.push(vscode.l10n.t('Nothing came before this token, so the model had nothing to predict it from.'));
  } else {
    parts.push(vscode.l10n.t('Probability **{0}** · surprisal **{1}** · rank {2}', formatPercent(t.prob), formatBits(t.surprisalBits), t.rank ?? '–'));
    if (t.top && t.top.length > 0) {
      // The token itself, when it is among them, is marked ✓.
      const alts = t.top.map((a) => `${markdownCode(visibleText(a.text, 24))} ${formatPercent(a.prob)}${a.id === t.id ? ' ✓' : ''}`).join(' · ');
      parts.push(vscode.l10n.t('Expected here (top {0}): {1}', t.top.length, alts));
    }
  }
  if (nb) {
    const near = nb.neighbours
      .slice(0, 5)
      .map((n) => `${markdownCode(visibleText(n.text, 24))} ${n.cosine.toFixed(2)}`)
      .join(' · ');
    parts.push(
      near
        ? vscode.l10n.t('Embedding norm **{0}** · nearest in the vocabulary (cosine): {1}', nb.norm.toFixed(2), near)
        : vscode.l10n.t('Embedding norm **{0}**', nb.norm.toFixed(2)),
    );
  }
  const link = `command:${INTERNAL_COMMANDS.analyzeToken}?${encodeURIComponent(JSON.stringify([args]))}`;
  parts.push(`[${vscode.l10n.t('Analyze in LLM Lens')}](${link} "${vscode.l10n.t('Open the analysis panel on this token and its context')}")`);
  md.appendMarkdown(parts.join('\n\n'));
  return md;
}

function isArgs(a: unknown): a is AnalyzeTokenArgs {
  if (typeof a !== 'object' || a === null) return false;
  const o = a as Record<string, unknown>;
  const n = (k: string) => typeof o[k] === 'number' && Number.isInteger(o[k]) && (o[k] as number) >= 0;
  return typeof o.uri === 'string' && n('from') && n('to') && n('start') && n('end') && (o.from as number) <= (o.start as number) && (o.start as number) <= (o.end as number);
}

/** "Analyze in LLM Lens" from a hover card: the panel analyses the hover's context and chooses the hovered token. */
export async function analyzeTokenInPanel(args: unknown, analyze: (req: AnalyzeRequest) => Promise<void>, log: Logger): Promise<void> {
  if (!isArgs(args)) {
    log.warn(`${INTERNAL_COMMANDS.analyzeToken}: ignored malformed arguments ${JSON.stringify(args)?.slice(0, 200)}`);
    return;
  }
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(args.uri, true));
  const column = vscode.window.visibleTextEditors.find((e) => e.document === doc)?.viewColumn;
  // The document in view, so that the panel can show the chosen token in it.
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: column, preserveFocus: false });
  const at = (o: number) => doc.positionAt(Math.min(o, doc.getText().length));
  editor.revealRange(new vscode.Range(at(args.start), at(args.end)), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  await analyze({ uri: doc.uri, range: new vscode.Range(at(args.from), at(args.to)), chooseAt: at(args.start) });
}
