// Hover cards and surprisal highlighting in the real VS Code: the card of a word in a sample file, bad positions
// and documents (a card or none, never an error), highlighting a file's visible range and following an edit, and
// the card's "Analyze in LLM Lens" link opening the analysis panel.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, closeAllEditors, samplesFolder, waitFor, webviewTab } from './helpers';
import type { LlmLensApi } from '../../../src/extension';

const LINK = 'Analyze in LLM Lens';

/** Our card among the hovers at a position (other extensions, e.g. TypeScript's, add their own). */
async function lensCard(uri: vscode.Uri, pos: vscode.Position): Promise<{ hover: vscode.Hover; md: vscode.MarkdownString } | undefined> {
  const hovers = (await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, pos)) ?? [];
  for (const hover of hovers) {
    for (const c of hover.contents) {
      if (c instanceof vscode.MarkdownString && c.value.includes(LINK)) return { hover, md: c };
      if (typeof c === 'object' && c !== null && 'value' in c && String((c as { value: unknown }).value).includes(LINK)) {
        return { hover, md: c as vscode.MarkdownString };
      }
    }
  }
  return undefined;
}

function positionOf(doc: vscode.TextDocument, needle: string, delta = 0): vscode.Position {
  const i = doc.getText().indexOf(needle);
  assert.ok(i >= 0, `${needle} is not in ${doc.uri.path}`);
  return doc.positionAt(i + delta);
}

async function sample(name: string): Promise<vscode.TextDocument> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(samplesFolder()!, name));
  await vscode.window.showTextDocument(doc);
  return doc;
}

describe('hover cards and surprisal highlighting', function () {
  this.timeout(120_000);
  let lens: LlmLensApi;

  before(async () => {
    lens = await api();
  });
  after(async () => {
    if (lens?.surprisalState().enabled) await vscode.commands.executeCommand('llmLens.toggleSurprisal');
    // Untitled and edited documents would make closing the editors ask whether to save: discard them first.
    for (const doc of vscode.workspace.textDocuments.filter((d) => d.isDirty)) {
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
    await closeAllEditors();
  });

  it('after the inference worker is lost, hover cards and the analysis panel work again (issue #13: the model loads again)', async () => {
    // As a crash would: the worker ends, and a fresh one starts on the next request without the model.
    await lens.restartWorker();
    // Text no earlier hover scored, so the card needs the worker.
    const doc = await vscode.workspace.openTextDocument({ language: 'typescript', content: 'export function area(width: number, height: number): number {\n  return width * height;\n}\n' });
    const editor = await vscode.window.showTextDocument(doc);
    const card = await waitFor('a token card after the worker was lost', () => lensCard(doc.uri, positionOf(doc, 'height;', 2)), 60_000);
    assert.match(card.md.value, /Probability \*\*[\d.e-]+ %\*\*/);
    await lens.restartWorker();
    editor.selection = new vscode.Selection(new vscode.Position(0, 0), doc.lineAt(1).range.end);
    const expected = doc.getText(editor.selection);
    await vscode.commands.executeCommand('llmLens.analyzeSelection');
    const s = await waitFor('the analysis after the worker was lost', () => {
      const x = lens.analysisSummary();
      return x.text === expected && !x.busy && (x.tokens > 0 || x.notice) ? x : undefined;
    }, 60_000);
    assert.equal(s.notice, undefined, `the panel says: ${s.notice}`);
    assert.ok(s.tokens > 10);
  });

  it('hovering a word in greet.ts shows its token card', async () => {
    const doc = await sample('greet.ts');
    const pos = positionOf(doc, 'fibonacci(n', 3);
    // The first hover loads the model: allow for it.
    const card = await waitFor('the token card', () => lensCard(doc.uri, pos), 60_000);
    const v = card.md.value;
    assert.ok(card.hover.range?.contains(pos), 'the card covers the hovered token');
    // The card shows the token's text as it is in the file (spaces as ·).
    const shown = doc.getText(card.hover.range).replace(/ /g, '·');
    assert.ok(v.startsWith(`**Token** \`${shown}\``), `${shown} is not the card's token: ${v.slice(0, 80)}`);
    assert.match(v, /id \d+ · \d+ bytes `[0-9A-F ]+` · \d+ tokens of context before it/);
    assert.match(v, /Probability \*\*[\d.e-]+ %\*\* · surprisal \*\*[\d.]+ bits\*\* · rank \d+/);
    const expected = /Expected here \(top 5\): (.*)/.exec(v);
    assert.ok(expected, 'no alternatives');
    assert.equal((expected[1].match(/`+[^`]+`+ [\d.e-]+ %/g) ?? []).length, 5, 'five alternatives');
    assert.match(v, /Embedding norm \*\*[\d.]+\*\* · nearest in the vocabulary \(cosine\): /);
    assert.match(v, /\(command:llmLens\.analyzeToken\?[^)\s]+ "/);
    // The card trusts this extension's own command and nothing else.
    const trusted = card.md.isTrusted;
    if (trusted !== undefined) assert.deepEqual(trusted, { enabledCommands: ['llmLens.analyzeToken'] });
    // A second hover in the same block is answered too (from the cache).
    const again = await lensCard(doc.uri, positionOf(doc, 'out.push', 5));
    assert.ok(again, 'no card for a second word');
  });

  it('bad positions and documents: a sensible card or none, never an error', async () => {
    const doc = await sample('greet.ts');
    // Whitespace (a line break and indentation): the whitespace token, made visible.
    const ws = await lensCard(doc.uri, positionOf(doc, '  const greetings'));
    assert.ok(ws, 'no card on indentation');
    assert.match(ws.md.value, /\*\*Token\*\* `+[·↵→]+`+/);
    // The start of the document: the first token, with nothing before it to predict it from.
    const first = await lensCard(doc.uri, new vscode.Position(0, 0));
    assert.ok(first, 'no card at the start');
    assert.match(first.md.value, /the first token the model read/);
    assert.match(first.md.value, /nothing to predict it from/);
    // An empty document: no card.
    const empty = await vscode.workspace.openTextDocument({ content: '', language: 'plaintext' });
    assert.equal(await lensCard(empty.uri, new vscode.Position(0, 0)), undefined);
    // A token made of part of an emoji's UTF-8 bytes: a card showing its bytes.
    const emoji = await vscode.workspace.openTextDocument({ content: 'ok 🦜🦜 done\n', language: 'plaintext' });
    const parrot = await waitFor('a card on the emoji', () => lensCard(emoji.uri, new vscode.Position(0, 4)));
    assert.match(parrot.md.value, /`+[^`]*(<0x[0-9A-F]{2}>|🦜)/);
  });

  it('honours llmLens.hover.enabled and llmLens.editor.languages', async () => {
    const doc = await sample('greet.ts');
    const pos = positionOf(doc, 'greetings[lang]', 2);
    const cfg = () => vscode.workspace.getConfiguration('llmLens');
    const G = vscode.ConfigurationTarget.Global;
    assert.ok(await waitFor('a card', () => lensCard(doc.uri, pos)));
    const noCard = async (what: string) => waitFor(what, async () => (await lensCard(doc.uri, pos)) === undefined);
    try {
      await cfg().update('hover.enabled', false, G);
      await noCard('no card with hover.enabled off');
      await cfg().update('hover.enabled', undefined, G);
      await cfg().update('editor.languages', ['*', '!typescript'], G);
      await noCard('no card with typescript left out');
      await cfg().update('editor.languages', ['python', 'markdown'], G);
      await noCard('no card with only python and markdown');
    } finally {
      await cfg().update('hover.enabled', undefined, G);
      await cfg().update('editor.languages', undefined, G);
    }
    assert.ok(await waitFor('the card again', () => lensCard(doc.uri, pos)));
  });

  it('a 10 MB file: no card (over llmLens.editor.maxFileBytes), no error', async () => {
    // A file, not an untitled document: nothing is left dirty to ask about when editors close.
    const file = path.join(os.tmpdir(), `llm-lens-10mb-${process.pid}.txt`);
    fs.writeFileSync(file, 'const x = 1;\n'.repeat(800_000));
    try {
      const huge = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
      assert.ok(huge.getText().length >= 10_000_000);
      assert.equal(await lensCard(huge.uri, new vscode.Position(1000, 3)), undefined);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('Toggle Surprisal Highlighting colours the visible range and follows an edit', async () => {
    const doc = await sample('stats.py');
    const editor = vscode.window.activeTextEditor!;
    assert.equal(editor.document, doc);
    await vscode.commands.executeCommand('llmLens.toggleSurprisal');
    const s = await waitFor('a highlighting pass over stats.py', () => {
      const st = lens.surprisalState();
      return st.enabled && !st.busy && st.uri === doc.uri.toString() && st.version === doc.version && st.tokens > 0 ? st : undefined;
    });
    assert.equal(
      s.bands.reduce((a, b) => a + b, 0),
      s.tokens,
    );
    assert.ok(s.bands.slice(1).some((n) => n > 0), `no coloured token: ${JSON.stringify(s.bands)}`);
    assert.ok(s.meanBits! > 0);
    assert.equal(s.skipped, undefined);
    // An edit: the pass runs again for the new version.
    const passes = s.passes;
    await editor.edit((e) => e.insert(new vscode.Position(0, 0), '# a new first line\n'));
    const after = await waitFor('a pass after the edit', () => {
      const st = lens.surprisalState();
      return st.passes > passes && !st.busy && st.version === doc.version ? st : undefined;
    });
    assert.ok(after.tokens > s.tokens, 'the new line is scored too');
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.equal(doc.isDirty, false);
    // Rapid scrolling and typing in a longer file: passes never overlap (a new one waits for the cancelled one).
    const longFile = path.join(os.tmpdir(), `llm-lens-scroll-${process.pid}.ts`);
    fs.writeFileSync(longFile, fs.readFileSync(vscode.Uri.joinPath(samplesFolder()!, 'greet.ts').fsPath, 'utf8').repeat(12));
    const long = await vscode.workspace.openTextDocument(vscode.Uri.file(longFile));
    const longEditor = await vscode.window.showTextDocument(long);
    for (let i = 0; i < 24; i++) {
      await vscode.commands.executeCommand('editorScroll', { to: 'down', by: 'line', value: 3 });
      if (i % 6 === 0) await longEditor.edit((e) => e.insert(new vscode.Position(0, 0), '// typed\n'));
    }
    const settled = await waitFor('the last pass over the scrolled file', () => {
      const st = lens.surprisalState();
      return st.uri === long.uri.toString() && st.version === long.version && !st.busy && st.tokens > 0 ? st : undefined;
    });
    assert.equal(settled.maxInFlight, 1, 'two highlighting passes ran at once');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    fs.rmSync(longFile, { force: true });
    // A document it must not colour (over llmLens.editor.maxFileBytes): the status says why.
    const file = path.join(os.tmpdir(), `llm-lens-2mb-${process.pid}.txt`);
    fs.writeFileSync(file, 'x = 1\n'.repeat(400_000));
    const big = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    await vscode.window.showTextDocument(big);
    const skipped = await waitFor('the pass over the large document', () => {
      const st = lens.surprisalState();
      return st.uri === big.uri.toString() ? st : undefined;
    });
    assert.equal(skipped.skipped, 'tooLarge');
    assert.equal(skipped.tokens, 0);
    await vscode.commands.executeCommand('llmLens.toggleSurprisal');
    assert.equal(lens.surprisalState().enabled, false);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    fs.rmSync(file, { force: true });
  });

  it('"Analyze in LLM Lens" opens the analysis panel on the token, with its context', async () => {
    const doc = await sample('greet.ts');
    const pos = positionOf(doc, 'fibonacci(10)', 2);
    const card = await waitFor('the token card', () => lensCard(doc.uri, pos));
    const m = /\(command:llmLens\.analyzeToken\?([^)\s]+) "/.exec(card.md.value);
    assert.ok(m, 'no link');
    const args = JSON.parse(decodeURIComponent(m[1])) as unknown[];
    await vscode.commands.executeCommand('llmLens.analyzeToken', ...args);
    await waitFor('the analysis panel', () => webviewTab('llmLens.analysis'));
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors.find((e) => e.document === doc);
    assert.ok(editor, 'no editor');
    // The cursor sits on the token, inside the analysed text.
    const cursor = editor.document.offsetAt(editor.selection.active);
    const a = args[0] as { from: number; start: number; end: number };
    assert.equal(cursor, a.start);
    assert.ok(a.from <= a.start && a.start < a.end);
    // The panels' test hook, where it exists: the panel analysed the context and chose the token.
    const summary = (lens as unknown as { analysisSummary?: () => { tokens: number; chosen: number; text?: string; busy: boolean } }).analysisSummary;
    if (summary) {
      const s = await waitFor('the analysis', () => {
        const x = summary();
        return x.tokens > 0 && !x.busy && x.chosen > 0 ? x : undefined;
      });
      assert.equal(s.text, doc.getText().slice(a.from, (args[0] as { to: number }).to));
    }
  });
});
