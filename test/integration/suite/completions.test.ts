// Inline completions in the real extension host: ghost text in a TypeScript file, accepting it, fast typing that
// cancels stale requests (at most one generation running), a lost worker, the toggle command, and "Explain This
// Suggestion".
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, closeAllEditors, samplesFolder, waitFor, webviewTab } from './helpers';

/** Typed fast after a suggestion was shown. */
const FAST = ' + fib(1) + fib(2) + fib(3)';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function type(text: string): Promise<void> {
  for (const ch of text) await vscode.commands.executeCommand('type', { text: ch });
}

const made: vscode.Uri[] = [];

/** A copy of samples/greet.ts in a temporary folder, cursor at its end (the samples stay as they are). */
async function openSample(): Promise<vscode.TextEditor> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-complete-'));
  // Another name than the sample's, so that Quick Open of "greet.ts" in the UI steps finds the sample, not this.
  const uri = vscode.Uri.file(path.join(dir, 'completion-sample.ts'));
  await vscode.workspace.fs.copy(vscode.Uri.joinPath(samplesFolder()!, 'greet.ts'), uri);
  made.push(uri);
  const doc = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(doc);
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  editor.selection = new vscode.Selection(end, end);
  return editor;
}

/** Saves the temporary copies (closing them unsaved would ask) and closes every editor. */
async function closeCopies(): Promise<void> {
  for (const doc of vscode.workspace.textDocuments.filter((d) => d.isDirty && made.some((u) => u.toString() === d.uri.toString()))) await doc.save();
  await closeAllEditors();
}

/** Lines to start at the end of the file, in turn, until the model suggests something (a toy model is not always
 * sure of itself; what matters here is the path from keystroke to ghost text). */
const STARTS = ['const total = ', 'console.log(', 'export function sum(a: number, b: number) {', 'let x = ', 'function ', 'const sum = [1, 2, 3].'];

/**
 * Types new lines at the end of the file until the provider has answered with a suggestion (the first request
 * loads the model). Each try is new text: VS Code may not ask again at a position where it got nothing.
 */
async function typeUntilSuggested(): Promise<void> {
  const lensApi = await api();
  const before = lensApi.completionStats().suggested;
  for (const start of STARTS) {
    await vscode.commands.executeCommand('cursorBottom');
    await type('\n' + start);
    const deadline = Date.now() + 6_000;
    while (Date.now() < deadline) {
      if (lensApi.completionStats().suggested > before) return;
      await sleep(200);
    }
  }
  assert.fail(`no suggestion after typing ${STARTS.length} lines: ${JSON.stringify(lensApi.completionStats())}`);
}

/** Accepts the ghost text as Tab would; VS Code shows it a moment after the provider answers, so try a few times.
 * Returns the suggestion that was accepted. */
async function acceptSuggestion(editor: vscode.TextEditor): Promise<string | undefined> {
  const lensApi = await api();
  const before = editor.document.getText();
  for (let i = 0; i < 8; i++) {
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    await sleep(750);
    const shown = lensApi.completionStats().lastSuggestion?.suggestion;
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    await sleep(250);
    if (editor.document.getText() !== before) return shown;
  }
  return undefined;
}

describe('inline completions', function () {
  this.timeout(120_000);
  afterEach(closeCopies);
  after(() => {
    for (const u of made) fs.rmSync(path.dirname(u.fsPath), { recursive: true, force: true });
  });

  it('suggests code at the end of a TypeScript file, and accepting inserts it', async () => {
    const lensApi = await api();
    const editor = await openSample();
    await typeUntilSuggested();
    const stats = lensApi.completionStats();
    const suggestion = stats.lastSuggestion!;
    assert.ok(suggestion.suggestion.trim().length > 0);
    assert.equal(suggestion.languageId, 'typescript');
    assert.ok(suggestion.prompt.includes('export function greet'), 'the prompt holds the text before the cursor');
    const accepted = await acceptSuggestion(editor);
    assert.ok(accepted, 'accepting the suggestion inserted nothing');
    assert.ok(editor.document.getText().includes(accepted), `the document does not hold ${JSON.stringify(accepted)}`);
    await waitFor('the accept command', () => lensApi.completionStats().accepted > stats.accepted, 5_000);
    assert.equal(lensApi.completionStats().errors, 0);
  });

  it('cancels stale requests when typing fast: at most one generation runs, only the newest is answered', async () => {
    const lensApi = await api();
    await openSample();
    await typeUntilSuggested();
    const before = lensApi.completionStats();
    // A keystroke every 80 ms: VS Code asks for each (its own debounce is 50 ms) and cancels the one before.
    for (const ch of FAST) {
      await vscode.commands.executeCommand('type', { text: ch });
      await sleep(80);
    }
    // Let the last request finish.
    await waitFor('the model to rest', () => lensApi.completionStats().state === 'ready', 30_000);
    await sleep(500);
    const after = lensApi.completionStats();
    const requests = after.pipeline.requests - before.pipeline.requests;
    const runs = after.pipeline.modelRuns - before.pipeline.modelRuns;
    const detail = JSON.stringify({ before: before.pipeline, after: after.pipeline, engine: after.engine });
    assert.ok(requests >= FAST.length / 2, `${requests} requests for ${FAST.length} keystrokes: ${detail}`);
    // The debounce (150 ms) lets a request through only when typing rests: most never reach the model.
    assert.ok(runs < requests / 2, `${runs} model runs for ${requests} requests: ${detail}`);
    assert.ok(after.pipeline.cancelled - before.pipeline.cancelled >= requests / 2, `stale requests were not cancelled: ${detail}`);
    assert.equal(after.engine?.maxRunning, 1, `the worker ran two generations at once: ${detail}`);
    console.log(`      typing ${FAST.length} characters: ${detail}`);
    assert.equal(after.errors, 0);
  });

  it('gives nothing when the worker is lost, then loads the model again and suggests', async () => {
    const lensApi = await api();
    await openSample();
    await typeUntilSuggested();
    const before = lensApi.completionStats();
    // As a crash would: the worker ends; the next request reaches a fresh one without the model.
    await lensApi.restartWorker();
    await typeUntilSuggested();
    const after = lensApi.completionStats();
    assert.ok(after.lostModel + after.whileLoading > before.lostModel + before.whileLoading, `the lost model went unnoticed: ${JSON.stringify(after)}`);
    assert.equal(after.errors, 0, 'a lost worker is not an error to report');
  });

  it('"Toggle Inline Completions" turns them off and on again', async () => {
    const lensApi = await api();
    const config = vscode.workspace.getConfiguration('llmLens.completions');
    try {
      await vscode.commands.executeCommand('llmLens.toggleCompletions');
      await waitFor('completions off', () => lensApi.completionStats().state === 'off', 5_000);
      assert.equal(vscode.workspace.getConfiguration('llmLens.completions').get('enabled'), false);
      await vscode.commands.executeCommand('llmLens.toggleCompletions');
      await waitFor('completions on', () => lensApi.completionStats().state !== 'off', 5_000);
    } finally {
      await config.update('enabled', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('"Explain This Suggestion" analyzes the prompt plus the suggestion in the analysis panel', async () => {
    const lensApi = await api();
    const shown = lensApi.completionStats().lastSuggestion;
    assert.ok(shown, 'an earlier test left a suggestion');
    await vscode.commands.executeCommand('llmLens.explainSuggestion');
    await waitFor('the analysis panel', () => webviewTab('llmLens.analysis'), 30_000);
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'llmlens-suggestion');
    assert.ok(editor && editor.document.uri.scheme === 'llmlens-suggestion', 'the suggestion document is shown');
    assert.ok(editor.document.getText().endsWith(shown.suggestion));
    // The cursor sits on the first suggested token, which the panel then chooses.
    assert.equal(editor.document.offsetAt(editor.selection.active), editor.document.getText().length - shown.suggestion.length);
  });
});
