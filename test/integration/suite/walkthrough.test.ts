// The walkthrough's buttons work in the installed extension, and the display language of the run
// (English, or LLM_LENS_LOCALE of runServer.js) reaches the extension and its translation.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, closeAllEditors, extension, samplesFolder, waitFor, webviewTab } from './helpers';

interface WalkthroughStep {
  id: string;
  description: string;
  media: { svg?: string; image?: string };
}

/** The manifest's walkthrough steps with their English descriptions (package.nls.json of the installed VSIX). */
function steps(): WalkthroughStep[] {
  const ext = extension();
  const nls = JSON.parse(fs.readFileSync(path.join(ext.extensionPath, 'package.nls.json'), 'utf8')) as Record<string, string>;
  const walkthroughs: { steps: WalkthroughStep[] }[] = ext.packageJSON.contributes?.walkthroughs ?? [];
  assert.equal(walkthroughs.length, 1, 'one walkthrough');
  return walkthroughs[0].steps.map((s) => ({ ...s, description: s.description.replace(/^%(.+)%$/, (_, k: string) => nls[k] ?? s.description) }));
}

describe('walkthrough', () => {
  after(closeAllEditors);

  it('has 4-5 steps, each with an image in the VSIX and a button of a registered command', async () => {
    await api();
    const registered = new Set(await vscode.commands.getCommands(true));
    const all = steps();
    assert.ok(all.length >= 4 && all.length <= 5, `${all.length} steps`);
    for (const s of all) {
      const media = s.media.svg ?? s.media.image;
      assert.ok(media && fs.existsSync(path.join(extension().extensionPath, media)), `${s.id}: ${media} is not in the VSIX`);
      const buttons = [...s.description.matchAll(/\]\(command:([\w.]+)/g)].map((m) => m[1]);
      assert.ok(buttons.length > 0, `${s.id} has no button`);
      for (const b of buttons) assert.ok(registered.has(b), `${s.id}: ${b} is not registered`);
    }
  });

  it('"Open a Sample" opens a copy of the bundled paragraph with the paragraph selected', async () => {
    await api();
    await closeAllEditors();
    await vscode.commands.executeCommand('llmLens.openSample', 'english.md');
    const editor = await waitFor('the sample editor', () => vscode.window.activeTextEditor);
    assert.ok(!editor.document.isUntitled && !editor.document.isDirty, `${editor.document.uri.toString()} is untitled or dirty`);
    assert.ok(!editor.document.uri.path.startsWith(extension().extensionUri.path), 'it opened the installed file itself');
    assert.equal(editor.document.languageId, 'markdown');
    assert.match(editor.document.getText(editor.selection), /^Language models do not read words/);
  });

  it('"Show the Embeddings" analyzes the open sample and opens the panel', async function () {
    this.timeout(120_000);
    const lens = await api();
    await vscode.commands.executeCommand('llmLens.showEmbeddings');
    await waitFor('the analysis tab', () => webviewTab('llmLens.analysis'));
    const summary = await waitFor('an analysis of the sample', () => (lens.analysisSummary().tokens > 0 ? lens.analysisSummary() : undefined), 90_000);
    assert.match(summary.text ?? '', /^Language models do not read words/);
  });

  it('"Try a Completion" opens the TypeScript sample with the cursor after an unfinished statement', async () => {
    await api();
    await vscode.commands.executeCommand('llmLens.tryCompletion');
    const editor = await waitFor('the TypeScript sample', () => (vscode.window.activeTextEditor?.document.languageId === 'typescript' ? vscode.window.activeTextEditor : undefined));
    const line = editor.document.lineAt(editor.selection.active.line).text;
    assert.match(line, /^const total = $/);
    assert.ok(editor.selection.isEmpty);
  });
});

describe('display language', () => {
  after(closeAllEditors);

  it('is the locale of the run, and the extension speaks it', async function () {
    this.timeout(60_000);
    const expected = process.env.LLM_LENS_TEST_LOCALE ?? 'en';
    assert.equal(vscode.env.language, expected);
    const lens = await api();
    // With no editor open, Analyze Selection explains what to do, in the extension's own bundle.
    await closeAllEditors();
    await vscode.commands.executeCommand('llmLens.analyzeSelection');
    const notice = await waitFor('the panel notice', () => lens.analysisSummary().notice);
    const messages: Record<string, string> = {
      en: 'Open a file and select some text to analyze.',
      'pt-br': 'Abra um arquivo e selecione um texto para analisar.',
    };
    assert.equal(notice, messages[expected] ?? messages.en);
  });

  it('words a refusal of the worker (more tokens than llmLens.analysis.maxTokens) in that language', async function () {
    this.timeout(90_000);
    const expected = process.env.LLM_LENS_TEST_LOCALE ?? 'en';
    const lens = await api();
    const config = vscode.workspace.getConfiguration('llmLens.analysis');
    await config.update('maxTokens', 8, vscode.ConfigurationTarget.Global);
    try {
      // A line of the English sample: short enough for the host's character check, so the worker counts and refuses.
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(samplesFolder()!, 'english.md'));
      const editor = await vscode.window.showTextDocument(doc);
      const line = [...Array(doc.lineCount).keys()].map((i) => doc.lineAt(i)).find((l) => l.text.length > 60 && l.text.length < 400);
      assert.ok(line, 'a line of 60-400 characters in english.md');
      editor.selection = new vscode.Selection(line.range.start, line.range.end);
      await vscode.commands.executeCommand('llmLens.analyzeSelection');
      const notice = await waitFor('the refusal notice', () => {
        const n = lens.analysisSummary().notice;
        return n && /\b8\b/.test(n) ? n : undefined;
      }, 60_000);
      const patterns: Record<string, RegExp> = {
        en: /^The text has (at least )?\d+ tokens; the limit is 8 tokens per analysis \(setting llmLens\.analysis\.maxTokens\)/,
        'pt-br': /^O texto tem (pelo menos )?\d+ tokens; o limite é de 8 tokens por análise \(configuração llmLens\.analysis\.maxTokens\)/,
      };
      assert.match(notice, patterns[expected] ?? patterns.en);
    } finally {
      await config.update('maxTokens', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
