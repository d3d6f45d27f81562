// Following the text under analysis in its document: where it sits, keeping its offset right across edits before
// it, marking it stale when text inside changes, and selecting a token's text in the editor (remembering those
// selections, so that their change events are not taken for a person's choice).
import * as path from 'node:path';
import * as vscode from 'vscode';

/** The text under analysis and where it sits in its document. */
export interface Source {
  uri: string;
  /** Document offset of the text's first character when it was analysed (kept up to date across edits). */
  offset: number;
  text: string;
  label: string;
  /** The document changed inside the text: offsets no longer match, so nothing is revealed. */
  stale: boolean;
}

/** The source for a range of a document, labelled "file:first–last" line. */
export function sourceOf(doc: vscode.TextDocument, range: vscode.Range): Source {
  const first = range.start.line + 1;
  const last = range.end.line + (range.end.character === 0 && range.end.line > range.start.line ? 0 : 1);
  const name = path.basename(doc.uri.path) || doc.uri.toString();
  return {
    uri: doc.uri.toString(),
    offset: doc.offsetAt(range.start),
    text: doc.getText(range),
    label: first === last ? `${name}:${first}` : `${name}:${first}–${last}`,
    stale: false,
  };
}

export function matchesDocument(src: Source, doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === src.uri)): boolean {
  if (!doc) return false;
  const range = new vscode.Range(doc.positionAt(src.offset), doc.positionAt(src.offset + src.text.length));
  return doc.getText(range) === src.text;
}

/** Keeps the source's offset right when text before it changes; marks it stale when text inside changes. Returns whether it changed. */
export function followEdit(src: Source, e: vscode.TextDocumentChangeEvent): boolean {
  if (src.stale || e.document.uri.toString() !== src.uri || e.contentChanges.length === 0) return false;
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
  return true;
}

/** Whether a selection is exactly the source's text (VS Code re-announces selections on focus changes). */
export function isSourceSelection(src: Source | undefined, doc: vscode.TextDocument, sel: vscode.Selection): boolean {
  return !!src && doc.uri.toString() === src.uri && doc.offsetAt(sel.start) === src.offset && doc.offsetAt(sel.end) === src.offset + src.text.length;
}

/** Selects tokens' text in the source's editor and recognises those selections when their events arrive. */
export class TokenRevealer {
  /** Selections set here, oldest first: their change events arrive later, possibly after several more. */
  private own: vscode.Selection[] = [];

  /** Selects [start, end) of the source's text in its visible editor, without taking the focus. False when stale. */
  reveal(src: Source, start: number, end: number): boolean {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === src.uri);
    if (!editor) return true;
    if (!matchesDocument(src, editor.document)) {
      src.stale = true;
      return false;
    }
    const doc = editor.document;
    const sel = new vscode.Selection(doc.positionAt(src.offset + start), doc.positionAt(src.offset + Math.max(start, end)));
    this.own = [...this.own.slice(-15), sel];
    editor.selection = sel;
    editor.revealRange(sel, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return true;
  }

  /** Puts the cursor at an offset of the source's text in its visible editor (the token a request chose). */
  placeCursor(src: Source, at: number): void {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === src.uri);
    if (!editor || !matchesDocument(src, editor.document)) return;
    const pos = editor.document.positionAt(src.offset + at);
    const sel = new vscode.Selection(pos, pos);
    this.own = [...this.own.slice(-15), sel];
    editor.selection = sel;
  }

  /** True (and forgotten) when the selection is one this revealer set; any other selection clears the list. */
  isOwn(sel: vscode.Selection): boolean {
    const i = this.own.findIndex((s) => s.isEqual(sel));
    if (i >= 0) {
      this.own = this.own.slice(i + 1);
      return true;
    }
    this.own = [];
    return false;
  }
}
