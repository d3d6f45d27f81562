// A Llama-family model in the real extension host (issue #14): downloaded from the local fake hub through Select
// Model's download flow, in full precision and again as its q4 file (qwen2-tiny, test/fixtures), it analyses text,
// answers a hover with its token card and completes code.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { llamaFamilyFiles, startFakeHub, type FakeHub } from '../../unit/helpers/fakeHub';
import { api, closeAllEditors, samplesFolder, waitFor } from './helpers';

const REPO = 'lens-test/qwen2-tiny';
const LINK = 'Analyze in LLM Lens';
const llmLens = () => vscode.workspace.getConfiguration('llmLens');
const select = (args: unknown) => vscode.commands.executeCommand<boolean>('llmLens.selectModel', args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Our token card among the hovers at a position. */
async function lensCard(uri: vscode.Uri, pos: vscode.Position): Promise<string | undefined> {
  const hovers = (await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, pos)) ?? [];
  for (const h of hovers) {
    for (const c of h.contents) {
      const value = typeof c === 'object' && c !== null && 'value' in c ? String((c as { value: unknown }).value) : String(c);
      if (value.includes(LINK)) return value;
    }
  }
  return undefined;
}

/** The download manifest of the model in use. */
function manifestOf(folder: string): { repo: string; variant: string } {
  return JSON.parse(fs.readFileSync(path.join(folder, 'lens-download.json'), 'utf8')) as { repo: string; variant: string };
}

describe('a Llama-family model', function () {
  this.timeout(180_000);
  let hub: FakeHub;
  let scratch: string;

  before(async () => {
    await api();
    hub = await startFakeHub({ repo: REPO, files: llamaFamilyFiles('qwen2-tiny') });
    await llmLens().update('hub.endpoint', hub.endpoint, vscode.ConfigurationTarget.Global);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-llama-'));
  });
  after(async () => {
    for (const doc of vscode.workspace.textDocuments.filter((d) => d.isDirty)) await doc.save();
    await closeAllEditors();
    await select({ builtin: true });
    await llmLens().update('hub.endpoint', undefined, vscode.ConfigurationTarget.Global);
    await llmLens().update('model', undefined, vscode.ConfigurationTarget.Global);
    await hub.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  // model_q4 replaces the full-precision download in the same folder while it is in use: it must be loaded anew.
  for (const variant of ['model', 'model_q4']) {
    it(`downloads ${REPO} (${variant}), analyses text, hovers a word and completes code with it`, async () => {
      const lens = await api();
      assert.equal(await select({ download: { repo: REPO, variant } }), true, 'the download or the load failed: see the LLM Lens log');
      const folder = llmLens().get<string>('model')!;
      assert.equal(path.basename(folder), 'lens-test--qwen2-tiny@main');
      assert.equal(manifestOf(folder).repo, REPO);
      assert.equal(manifestOf(folder).variant, variant);
      assert.ok(fs.readFileSync(path.join(folder, 'onnx', 'model.onnx')).equals(hub.files.get(`onnx/${variant}.onnx`)!), `onnx/model.onnx is the ${variant} file`);

      // The analysis panel reads a paragraph with it.
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(samplesFolder()!, 'english.md'));
      const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
      editor.selection = new vscode.Selection(2, 0, 4, 0);
      const text = doc.getText(editor.selection);
      await vscode.commands.executeCommand('llmLens.analyzeSelection');
      const s = await waitFor('the analysis', () => {
        const x = lens.analysisSummary();
        return x.text === text && !x.busy && (x.tokens > 0 || x.notice) ? x : undefined;
      }, 90_000);
      assert.equal(s.notice, undefined, `the panel says: ${s.notice}`);
      assert.ok(s.tokens > 20, `${s.tokens} tokens`);

      // A word's token card: its probability under this model and the alternatives it expected.
      const card = await waitFor('the token card', () => lensCard(doc.uri, new vscode.Position(2, doc.lineAt(2).text.indexOf('tokenizer') + 3)), 60_000);
      assert.match(card, /Probability \*\*[\d.e-]+ %\*\* · surprisal \*\*[\d.]+ bits\*\*/);
      assert.match(card, /Expected here \(top 5\): /);

      // Ghost text at the end of a TypeScript file.
      const uri = vscode.Uri.file(path.join(scratch, `llama-${variant}.ts`));
      await vscode.workspace.fs.copy(vscode.Uri.joinPath(samplesFolder()!, 'greet.ts'), uri, { overwrite: true });
      const code = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      const errorsBefore = lens.completionStats().errors;
      let suggested = false;
      for (const start of ['const total = ', 'console.log(', 'let x = ', 'function ']) {
        await vscode.commands.executeCommand('cursorBottom');
        for (const ch of '\n' + start) await vscode.commands.executeCommand('type', { text: ch });
        // Counted from here: a suggestion for the text half typed (answered between two keystrokes, from the cache)
        // is not one for the text before the cursor now. Requests the later keystrokes cancelled are never counted.
        const before = lens.completionStats().suggested;
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline && lens.completionStats().suggested === before) {
          await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
          await sleep(500);
        }
        if ((suggested = lens.completionStats().suggested > before)) break;
      }
      const stats = lens.completionStats();
      assert.ok(suggested, `no suggestion from ${variant}: ${JSON.stringify(stats)}`);
      assert.ok(stats.lastSuggestion!.suggestion.length > 0);
      // The model's context is 256 positions: the prompt is the end of the text before the cursor.
      const prompt = stats.lastSuggestion!.prompt;
      assert.ok(prompt.length > 0 && code.document.getText(new vscode.Range(new vscode.Position(0, 0), code.selection.active)).endsWith(prompt), `the prompt ${JSON.stringify(prompt)} is not the text before the cursor`);
      assert.equal(stats.errors, errorsBefore, JSON.stringify(stats));
      await code.document.save();
      await closeAllEditors();
    });
  }
});
