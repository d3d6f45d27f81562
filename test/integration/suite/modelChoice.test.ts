// Choosing a model in the real extension host: a download from a local fake hub (redirects, checksums)
// becomes llmLens.model and analyzes text; a failed download or a model that does not load leaves
// the previous model in use; Manage Models' store lists what was downloaded.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { startFakeHub, type FakeHub } from '../../unit/helpers/fakeHub';
import { api, closeAllEditors, samplesFolder } from './helpers';

const llmLens = () => vscode.workspace.getConfiguration('llmLens');
const select = (args: unknown) => vscode.commands.executeCommand<boolean>('llmLens.selectModel', args);

describe('model choice', function () {
  this.timeout(120_000);
  let hub: FakeHub;

  before(async () => {
    await api();
    hub = await startFakeHub();
    await llmLens().update('hub.endpoint', hub.endpoint, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await select({ builtin: true });
    await llmLens().update('hub.endpoint', undefined, vscode.ConfigurationTarget.Global);
    await llmLens().update('model', undefined, vscode.ConfigurationTarget.Global);
    await hub.close();
    await closeAllEditors();
  });

  it('downloads a repository from the hub, switches to it, and analyzes text with it', async () => {
    assert.equal(await select({ download: { repo: hub.repo, variant: 'model' } }), true);
    const folder = llmLens().get<string>('model')!;
    assert.equal(path.basename(folder), 'lens-test--lens-tiny@main');
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'lens-download.json']) assert.ok(fs.existsSync(path.join(folder, f)), f);
    assert.ok(hub.requests.some((r) => r.server === 'cdn'), 'the ONNX file came through the redirect');
    assert.equal(hub.authLeaks, 0);

    const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(samplesFolder()!, 'english.md'));
    const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    editor.selection = new vscode.Selection(2, 0, 4, 0);
    await vscode.commands.executeCommand('llmLens.analyzeSelection');
    const summary = ((await api()) as { analysisSummary?: () => { notice?: string; tokens: number } }).analysisSummary?.();
    if (summary) {
      assert.equal(summary.notice, undefined);
      assert.ok(summary.tokens > 5, `${summary.tokens} tokens`);
    }
  });

  it('a failed download (HTTP 500) keeps the previous model', async () => {
    const before = llmLens().get<string>('model');
    hub.faults.status = { code: 500, where: 'cdn' };
    try {
      assert.equal(await select({ download: { repo: hub.repo, revision: hub.commit, variant: 'model' } }), false);
    } finally {
      hub.faults.status = undefined;
    }
    assert.equal(llmLens().get<string>('model'), before);
  });

  it('a downloaded variant whose ONNX file does not load keeps the previous model', async () => {
    const before = llmLens().get<string>('model');
    // The fake hub's decoder_model.onnx is random bytes with a correct checksum.
    assert.equal(await select({ download: { repo: hub.repo, revision: hub.commit, variant: 'decoder_model' } }), false);
    assert.equal(llmLens().get<string>('model'), before);
  });

  it('a folder without tokenizer.json is refused before anything changes', async () => {
    const before = llmLens().get<string>('model');
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-bad-model-'));
    fs.writeFileSync(path.join(bad, 'config.json'), '{"model_type":"gpt2"}');
    assert.equal(await select({ folder: bad }), false);
    assert.equal(llmLens().get<string>('model'), before);
    fs.rmSync(bad, { recursive: true, force: true });
  });

  it('switches back to the built-in model', async () => {
    assert.equal(await select({ builtin: true }), true);
    assert.equal(llmLens().get<string>('model'), 'lens-tiny');
  });
});
