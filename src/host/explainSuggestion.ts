// "Explain This Suggestion": opens the text the model read plus what it suggested as a read-only document, and
// analyzes it in the analysis panel with the first suggested token chosen, so a person can see which tokens the
// generated ones attended to and what else the model expected at each step.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ShownSuggestion } from './completionProvider';
import { SUGGESTION_SCHEME } from './commands';
import { showInfo } from './log';
import type { AnalyzeRequest } from './analysis/analysisPanel';

/** Prompt text kept for the analysis: the panel refuses very long texts, and the end is what matters. */
const MAX_PROMPT_CHARS = 3000;

export class SuggestionDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(SUGGESTION_SCHEME, this);
  private readonly highlight = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.wordHighlightStrongBackground'),
    borderColor: new vscode.ThemeColor('editor.wordHighlightStrongBorder'),
    borderStyle: 'solid',
    borderWidth: '1px',
  });
  private count = 0;
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  async explain(s: ShownSuggestion | undefined, analyze: (req: AnalyzeRequest) => Promise<void>): Promise<void> {
    if (!s) {
      void showInfo(vscode.l10n.t('There is no suggestion to explain yet. Type in a file until LLM Lens suggests a completion, then run this command.'));
      return;
    }
    let prompt = s.prompt;
    if (prompt.length > MAX_PROMPT_CHARS) {
      const cut = prompt.indexOf('\n', prompt.length - MAX_PROMPT_CHARS);
      prompt = prompt.slice(cut >= 0 ? cut + 1 : prompt.length - MAX_PROMPT_CHARS);
    }
    const text = prompt + s.suggestion;
    const source = vscode.Uri.parse(s.uri);
    const base = path.posix.basename(source.path) || 'untitled';
    const ext = path.posix.extname(base);
    // One document per explanation, so an older one keeps its text.
    const uri = vscode.Uri.from({ scheme: SUGGESTION_SCHEME, path: `/${base.slice(0, base.length - ext.length)} · ${vscode.l10n.t('suggestion')} ${++this.count}${ext}` });
    this.texts.set(uri.toString(), text);
    let doc = await vscode.workspace.openTextDocument(uri);
    if (doc.languageId !== s.languageId) doc = await vscode.languages.setTextDocumentLanguage(doc, s.languageId).then(undefined, () => doc);
    const editor = await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: false });
    const start = doc.positionAt(prompt.length);
    const end = doc.positionAt(text.length);
    editor.setDecorations(this.highlight, [{ range: new vscode.Range(start, end), hoverMessage: vscode.l10n.t('What the model suggested') }]);
    editor.revealRange(new vscode.Range(start, end), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    // The whole text, with the first suggested token chosen.
    await analyze({ uri, range: new vscode.Range(new vscode.Position(0, 0), end), chooseAt: start });
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
    this.highlight.dispose();
    this.texts.clear();
  }
}
