// The PCA map on demand: an analysis asked without it computes none, and the map of any layer computed afterwards
// from the kept run (the worker's `pca` request, what the panel does when the embeddings tab shows) is the one the
// analysis computes when asked for it.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { testRuntimes } from './helpers/runtimes';
import { lensTiny, root } from './helpers/modelFolders';
import { LoadedModel } from '../../src/core/session/modelSession';
import { analyze } from '../../src/core/analysis/analysis';
import { pcaOfRun } from '../../src/core/analysis/pcaMap';
import { RunMemory } from '../../src/core/analysis/runMemory';
import type { PcaMap } from '../../src/protocol/analysis';

// More tokens than the PCA's sketch is wide (10), so the lazy path goes through the randomized sketch too.
const TEXT = 'export function greet(name: string): string {\n  // Say hello, politely.\n  return `Hello, ${name}!`;\n}\n';

/** Largest difference between two maps' points and explained shares, after checking they are of the same layer and size. */
function mapDiff(a: PcaMap, b: PcaMap): number {
  assert.equal(a.layer, b.layer);
  assert.equal(a.points.length, b.points.length);
  let m = Math.max(Math.abs(a.explained[0] - b.explained[0]), Math.abs(a.explained[1] - b.explained[1]));
  a.points.forEach((p, i) => (m = Math.max(m, Math.abs(p[0] - b.points[i][0]), Math.abs(p[1] - b.points[i][1]))));
  return m;
}

for (const rt of testRuntimes(path.join(root, 'dist'))) describe(`the PCA map, with the analysis or after it (lens-tiny, ${rt.name} runtime)`, function () {
  this.timeout(60000);
  let model: LoadedModel;
  before(async () => {
    model = await LoadedModel.load(lensTiny, { runtime: rt.runtime });
  });
  after(async () => model?.dispose());

  it('pca: false computes no map and leaves the rest of the analysis as it was; the default still computes it', async () => {
    const on = await analyze(model, TEXT, { pcaLayer: 2 });
    const off = await analyze(model, TEXT, { pcaLayer: 2, pca: false });
    assert.ok(on.tokens.length > 20, `${on.tokens.length} tokens`);
    assert.equal(on.pca?.layer, 2);
    assert.equal(on.pca!.points.length, on.tokens.length);
    assert.equal(off.pca, undefined);
    assert.ok(!('pca' in off), 'no pca key at all (a JSON reply does not carry "pca": undefined)');
    assert.deepEqual(off.tokens, on.tokens);
    assert.deepEqual(off.predictions, on.predictions);
    assert.deepEqual(off.hiddenNorms, on.hiddenNorms);
    assert.equal((await analyze(model, TEXT, { pca: true })).pca?.layer, -1);
  });

  it('the map of every layer from the kept run equals the one the analysis computes, within 1e-6', async () => {
    const runs = new RunMemory();
    const lazy = await analyze(model, TEXT, { pca: false }, undefined, runs);
    assert.equal(lazy.pca, undefined);
    const run = runs.get(model, lazy.runId);
    for (let layer = -1; layer <= model.nLayers; layer++) {
      // Without a RunMemory: the eager analyses leave the lazy one's run kept.
      const eager = (await analyze(model, TEXT, { pcaLayer: layer })).pca!;
      const later = pcaOfRun(model, run, layer);
      const diff = mapDiff(later, eager);
      assert.ok(diff <= 1e-6, `layer ${layer}: largest difference ${diff}`);
      assert.ok(later.explained[0] > 0 && later.explained[0] >= later.explained[1], `layer ${layer}: ${later.explained}`);
    }
  });

  it('refuses a layer the model does not have, before and after the run, and a run that is no longer kept', async () => {
    const runs = new RunMemory();
    const a = await analyze(model, TEXT, { pca: false }, undefined, runs);
    const run = runs.get(model, a.runId);
    for (const layer of [-2, model.nLayers + 1, 0.5, Number.NaN]) {
      assert.throws(() => pcaOfRun(model, run, layer), (e: Error & { code?: string }) => e.code === 'invalidOption', `layer ${layer}`);
      await assert.rejects(analyze(model, TEXT, { pcaLayer: layer, pca: false }), (e: Error & { code?: string }) => e.code === 'invalidOption', `pcaLayer ${layer}`);
    }
    await analyze(model, 'another text', { pca: false }, undefined, runs);
    assert.throws(() => runs.get(model, a.runId), (e: Error & { code?: string }) => e.code === 'staleAnalysis');
  });
});
