// "Analyze Selection" and "Show Model Card" in the real extension host: what gets analysed (selection,
// current line), the messages for bad input (empty, over the token limit, binary), the editor's
// selection choosing a token, and following the selection. (What the panel draws is checked, and
// photographed, by the browser side: test/integration/ui/analysis*.js.)
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, closeAllEditors, samplesFolder, waitFor, webviewTab } from './helpers';

async function openSample(name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(samplesFolder()!, name));
  return vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
}

async function analyze(): Promise<void> {
  // The command resolves when the analysis has arrived (or was refused).
  await vscode.commands.executeCommand('llmLens.analyzeSelection');
}

const settings = () => vscode.workspace.getConfiguration('llmLens.analysis');

describe('analysis panel', function () {
  // The first analysis loads the model.
  this.timeout(120_000);

  before(async () => {
    await api();
    await closeAllEditors();
  });
  afterEach(async () => {
    await settings().update('maxTokens', undefined, vscode.ConfigurationTarget.Global);
    await settings().update('followDelay', undefined, vscode.ConfigurationTarget.Global);
  });
  after(closeAllEditors);

  it('Analyze Selection opens "LLM Lens: Analysis" with the tokens of the selection', async () => {
    const editor = await openSample('english.md');
    editor.selection = new vscode.Selection(2, 0, 5, 0);
    await analyze();
    const tab = await waitFor('the analysis webview tab', () => webviewTab('llmLens.analysis'));
    assert.equal(tab.label, 'LLM Lens: Analysis');
    const s = (await api()).analysisSummary();
    assert.equal(s.notice, undefined);
    assert.equal(s.label, 'english.md:3–5');
    assert.equal(s.text, editor.document.getText(editor.selection));
    assert.ok(s.tokens > 20 && s.tokens < s.text!.length, `${s.tokens} tokens for ${s.text!.length} characters`);
    assert.equal(s.chosen, 0);
    assert.ok(vscode.window.activeTextEditor === editor, 'the editor keeps the focus');
  });

  it('choosing text in the editor inside the analysed text chooses its token', async () => {
    const editor = vscode.window.activeTextEditor!;
    const line = editor.document.lineAt(2);
    const at = line.text.indexOf('tokenizer');
    assert.ok(at > 0);
    const before = (await api()).analysisSummary();
    editor.selection = new vscode.Selection(2, at + 2, 2, at + 2);
    const s = await waitFor('the token under the cursor to be chosen, with its own data', async () => {
      const v = (await api()).analysisSummary();
      return v.chosen > 0 && v.chosenData === v.chosen ? v : undefined;
    });
    assert.equal(s.label, 'english.md:3–5', 'choosing inside the text does not start a new analysis');
    // Its vectors, neighbours and logit lens came from the worker's last run, not from running the model again.
    assert.equal(s.runs, before.runs);
    assert.equal(s.chosenFromLastRun, before.chosenFromLastRun + 1);
  });

  it('with nothing selected it analyses the current line', async () => {
    const editor = await openSample('greet.ts');
    editor.selection = new vscode.Selection(8, 3, 8, 3);
    await analyze();
    const s = (await api()).analysisSummary();
    assert.equal(s.label, 'greet.ts:9');
    assert.equal(s.text, editor.document.lineAt(8).text);
    assert.ok(s.tokens > 3);
  });

  it('an empty line gives a message in the panel, not a blank panel', async () => {
    const editor = await openSample('greet.ts');
    const empty = [...Array(editor.document.lineCount).keys()].find((i) => editor.document.lineAt(i).isEmptyOrWhitespace)!;
    editor.selection = new vscode.Selection(empty, 0, empty, 0);
    await analyze();
    const s = (await api()).analysisSummary();
    assert.match(s.notice ?? '', /current line (is empty|holds only whitespace)/);
    assert.equal(s.tokens, 0);
  });

  it('a selection over the token limit is refused with the limit and the setting named', async () => {
    await settings().update('maxTokens', 16, vscode.ConfigurationTarget.Global);
    const editor = await openSample('english.md');
    editor.selection = new vscode.Selection(2, 0, 8, 0);
    await analyze();
    const s = (await api()).analysisSummary();
    assert.match(s.notice ?? '', /16/);
    assert.match(s.notice ?? '', /llmLens\.analysis\.maxTokens/);
    assert.equal(s.tokens, 0);
  });

  it('binary text gets a clear message', async () => {
    const doc = await vscode.workspace.openTextDocument({ content: 'PK\u0003\u0004\u0014\u0000\u0000\u0000\u0008\u0000\u0000\u0000!\u0000\u0001\u0002\u0003' });
    const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    editor.selection = new vscode.Selection(0, 0, 0, doc.lineAt(0).text.length);
    await analyze();
    const s = (await api()).analysisSummary();
    assert.match(s.notice ?? '', /binary/i);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('follows a new selection in the editor by itself', async () => {
    await settings().update('followDelay', 100, vscode.ConfigurationTarget.Global);
    const editor = await openSample('greet.ts');
    editor.selection = new vscode.Selection(2, 0, 5, 0);
    await analyze();
    assert.equal((await api()).analysisSummary().label, 'greet.ts:3–5');
    editor.selection = new vscode.Selection(18, 0, 24, 0);
    const s = await waitFor('the panel to follow the selection', async () => {
      const v = (await api()).analysisSummary();
      return v.label === 'greet.ts:19–24' && !v.busy ? v : undefined;
    });
    assert.ok(s.tokens > 10);
  });

  it('Show Model Card opens "LLM Lens: Model Card"', async () => {
    await vscode.commands.executeCommand('llmLens.showModelCard');
    const tab = await waitFor('the model card webview tab', () => webviewTab('llmLens.modelCard'));
    assert.equal(tab.label, 'LLM Lens: Model Card');
  });
});
