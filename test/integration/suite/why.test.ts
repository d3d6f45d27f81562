// "Why" in the real extension host with the built-in model: the analysis panel's Why tab asked for a paragraph's
// prediction with two candidates, a head switched off and back on, occlusion of the context, and "LLM Lens: Why
// This Token?" colouring the editor and clearing. (What the tab draws is photographed by ui/why.js.)
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, closeAllEditors, samplesFolder, waitFor } from './helpers';
import type { AnalysisSummary } from '../../../src/host/analysis/analysisPanel';

async function openSample(name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(samplesFolder()!, name));
  return vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
}

/** Sends the analysis panel's host what its webview would, and waits for the Why answer to what it now asks. */
async function ask(ui: Record<string, unknown>, what: string): Promise<AnalysisSummary['why']> {
  const lens = await api();
  const before = lens.analysisSummary().why.requests;
  await lens.analysisMessage({ type: 'setUi', ui });
  return waitFor(
    what,
    () => {
      const w = lens.analysisSummary().why;
      return w.requests > before && w.current && !w.busy ? w : undefined;
    },
    60_000,
  );
}

describe('why', function () {
  this.timeout(180_000);

  before(async () => {
    await api();
    await closeAllEditors();
  });
  after(async () => {
    // The panel's choices are kept in the workspace: leave the tab and its choices as the other tests expect them.
    await (await api()).analysisMessage({ type: 'setUi', ui: { tab: 'tokens', whyTargets: [], whyInterventions: [] } });
    await vscode.commands.executeCommand('llmLens.clearWhy');
    await closeAllEditors();
  });

  it('the Why tab explains a prediction of a paragraph, with two candidates', async () => {
    const editor = await openSample('english.md');
    editor.selection = new vscode.Selection(2, 0, 7, 0);
    await vscode.commands.executeCommand('llmLens.analyzeSelection');
    const s = (await api()).analysisSummary();
    assert.ok(s.tokens > 20, `${s.tokens} tokens`);
    const w = await ask({ tab: 'why', chosen: 8, whyTargets: [' to', ' do'], whyInterventions: [] }, 'the Why answer for token 8');
    assert.equal(w.error, undefined);
    assert.ok(w.top && w.top.length > 0, 'a next-token list');
    assert.equal(w.interventions, 0);
    assert.equal(w.cleanTop, undefined, 'a clean run has no clean list beside it');
    assert.match(w.attributionLabel ?? '', /to.*do/);
  });

  it('switching a head off labels the run and changes the next-token list; switching it on again restores it', async () => {
    const clean = (await api()).analysisSummary().why.top!;
    const off = await ask({ whyInterventions: [{ kind: 'head', layer: 1, head: 2, mode: 'zero' }] }, 'the run with layer 1 head 2 switched off');
    assert.equal(off.error, undefined);
    assert.equal(off.interventions, 1);
    assert.ok(off.cleanTop, 'the clean list comes with an intervened run');
    assert.deepEqual(off.cleanTop!.map((p) => p.text), clean.map((p) => p.text), 'the clean list is the run without interventions');
    const moved = off.top!.some((p, i) => p.text !== clean[i]?.text || Math.abs(p.prob - clean[i].prob) > 1e-6);
    assert.ok(moved, 'switching a head off changes the prediction');
    const on = await ask({ whyInterventions: [] }, 'the clean run again');
    assert.equal(on.interventions, 0);
    assert.deepEqual(
      on.top!.map((p) => p.text),
      clean.map((p) => p.text),
    );
  });

  it('occlusion colours the context of the prediction, and can be asked again', async () => {
    const lens = await api();
    await lens.analysisMessage({ type: 'occlude' });
    const o = await waitFor(
      'occlusion to finish',
      () => {
        const x = lens.analysisSummary().why.occlusion;
        return x && !x.running ? x : undefined;
      },
      120_000,
    );
    assert.equal(o.error, undefined);
    assert.equal(o.position, 8);
    assert.ok((o.occluded ?? 0) > 0, 'some tokens occluded');
  });

  it('"Why This Token?" colours the words before the cursor in the editor, and clears', async () => {
    const editor = await openSample('english.md');
    const line = editor.document.lineAt(2);
    editor.selection = new vscode.Selection(2, line.text.length, 2, line.text.length);
    const lens = await api();
    const runs = lens.whyState().runs;
    await vscode.commands.executeCommand('llmLens.whyThisToken');
    const w = await waitFor('the editor colours', () => {
      const x = lens.whyState();
      return x.runs > runs && !x.running ? x : undefined;
    });
    assert.equal(w.error, undefined);
    assert.ok(w.target && line.text.endsWith(w.target.trimEnd()), `the token before the cursor (${JSON.stringify(w.target)})`);
    assert.ok(w.occluded > 0, 'context tokens occluded');
    assert.ok(w.needed + w.opposed > 0, 'some words coloured');
    await vscode.commands.executeCommand('llmLens.clearWhy');
    assert.equal(lens.whyState().occluded, 0, 'the colours are gone');
  });
});
