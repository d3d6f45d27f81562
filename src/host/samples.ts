// The bundled samples and the walkthrough's buttons: open a sample, analyze it on a chosen tab, try a completion.
import * as vscode from 'vscode';
import type { AnalysisTab } from '../protocol/webview';
import { COMMANDS, INTERNAL_COMMANDS } from './commands';
import type { AnalyzeRequest } from './analysis/analysisPanel';

/** Walkthrough buttons only (not in the Command Palette): analyze the sample and show one tab. One command per tab, so each step completes on its own. */
export const SHOW_TAB_COMMANDS: Readonly<Record<AnalysisTab, string>> = {
  tokens: INTERNAL_COMMANDS.showTokens,
  embeddings: INTERNAL_COMMANDS.showEmbeddings,
  layers: INTERNAL_COMMANDS.showLayers,
  attention: INTERNAL_COMMANDS.showAttention,
  why: INTERNAL_COMMANDS.showWhy,
};

/** Files of samples/ that ship in the VSIX (.vscodeignore names them). */
export const SAMPLES = {
  'english.md': 'markdown',
  'portugues.md': 'markdown',
  'greet.ts': 'typescript',
} as const;
export type SampleName = keyof typeof SAMPLES;

/** Where the completion step leaves the cursor: a statement the model can finish. */
const COMPLETION_PROMPT = 'const total = ';

export interface SampleHost {
  /** Analyzes a range of a document in the analysis panel. */
  analyze(req: AnalyzeRequest): Thenable<unknown>;
  /** Switches the analysis panel to a tab. */
  showTab(tab: AnalysisTab): Thenable<unknown>;
}

/** The sample in the display language: Portuguese for pt-*, English otherwise. */
export function defaultSample(language: string): SampleName {
  return /^pt\b/i.test(language) ? 'portugues.md' : 'english.md';
}

/**
 * The lines of the first paragraph of prose or code (after headings, comments and blank lines),
 * as [first, last] line numbers: what the walkthrough selects to analyze.
 */
export function firstParagraph(text: string): [number, number] | undefined {
  const lines = text.split(/\r?\n/);
  const skip = (l: string) => l.trim() === '' || /^\s*(#|\/\/)/.test(l);
  const start = lines.findIndex((l) => !skip(l));
  if (start < 0) return undefined;
  let end = start;
  while (end + 1 < lines.length && lines[end + 1].trim() !== '') end++;
  return [start, end];
}

/** The completion sample's text, ending in an unfinished statement for the model to complete. */
export function completionText(sample: string): string {
  const text = sample.trimEnd();
  return text.endsWith(COMPLETION_PROMPT.trimEnd()) ? `${text} ` : `${text}\n\n${COMPLETION_PROMPT}`;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

function isSample(name: unknown): name is SampleName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(SAMPLES, name);
}

export class Samples implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** The sample editors this session opened, newest last: the walkthrough analyzes the newest still open. */
  private readonly opened: vscode.TextDocument[] = [];

  /**
   * `storage`: where the samples are copied to and opened from (the extension's global storage): a
   * file of the user's own, not dirty when opened (an untitled copy would ask to be saved on close)
   * and not the installed original.
   */
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly storage: vscode.Uri,
    private readonly host: SampleHost,
  ) {
    this.disposables.push(
      vscode.commands.registerCommand(COMMANDS.openSample, (name?: unknown) => this.open(isSample(name) ? name : defaultSample(vscode.env.language))),
      ...Object.entries(SHOW_TAB_COMMANDS).map(([tab, id]) => vscode.commands.registerCommand(id, () => this.analyze(tab as AnalysisTab))),
      vscode.commands.registerCommand(INTERNAL_COMMANDS.tryCompletion, () => this.complete()),
    );
  }

  /** Opens the user's copy of a sample (made now, unless it exists) with its first paragraph selected. */
  async open(name: SampleName, file: string = name, text?: (original: string) => string): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.joinPath(this.storage, 'samples', file);
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    // Rewritten when asked to (the completion step starts afresh) or missing; never under unsaved edits.
    if (!open?.isDirty && (text || !(await exists(uri)))) {
      const original = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(this.extensionUri, 'samples', name)));
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(this.storage, 'samples'));
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text ? text(original) : original));
    }
    const doc = open ?? (await vscode.workspace.openTextDocument(uri));
    const content = doc.getText();
    // From the walkthrough (no text editor active) the sample opens beside it, so both stay in view.
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.window.activeTextEditor ? undefined : vscode.ViewColumn.Beside, preview: false });
    const para = firstParagraph(content);
    if (para) {
      const range = new vscode.Range(para[0], 0, para[1], doc.lineAt(para[1]).text.length);
      editor.selection = new vscode.Selection(range.start, range.end);
      editor.revealRange(range);
    }
    this.opened.push(doc);
    return editor;
  }

  /** Analyzes a selection (the open sample's, or a fresh sample's) and shows one tab of the panel. */
  private async analyze(tab: AnalysisTab): Promise<void> {
    let editor = this.editorToAnalyze();
    if (!editor) editor = await this.open(defaultSample(vscode.env.language));
    else await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
    const sel = editor.selection;
    const range = sel.isEmpty ? editor.document.lineAt(sel.active.line).range : new vscode.Range(sel.start, sel.end);
    await this.host.analyze({ uri: editor.document.uri, range, wholeLine: sel.isEmpty });
    await this.host.showTab(tab);
  }

  /** The active editor when it has a selection, else the newest visible sample. */
  private editorToAnalyze(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active && !active.selection.isEmpty) return active;
    for (const doc of [...this.opened].reverse()) {
      const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
      if (editor) return editor;
    }
    return undefined;
  }

  /** Opens the TypeScript sample with the cursor after an unfinished statement and asks for a suggestion. */
  private async complete(): Promise<void> {
    const editor = await this.open('greet.ts', 'try-completion.ts', completionText);
    const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
    editor.selection = new vscode.Selection(end, end);
    editor.revealRange(new vscode.Range(end, end));
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
