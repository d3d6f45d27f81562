// `llm-lens why` and the worker's why/occlude requests end to end: the CLI's arguments, its --json numbers from the
// real worker (dist/cli.js, dist/worker.js) on the built-in model, and occlusion's progress messages reaching the
// client's onProgress before the reply.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseAblation, parseWhy } from '../../src/tools/cli/why';
import { WorkerClient } from '../../src/worker/client';
import { silentLogger } from '../../src/core/common/logger';
import type { OccludeResult, WhyResult } from '../../src/protocol/why';

const root = path.resolve(__dirname, '..', '..', '..');
const dist = path.join(root, 'dist');
const lensTiny = path.join(root, 'models/lens-tiny');

describe('why: the CLI', function () {
  this.timeout(60_000);

  it('reads --ablate parts and refuses malformed ones', () => {
    assert.deepEqual(parseAblation('head:2.3', 'zero'), { kind: 'head', layer: 2, head: 3, mode: 'zero' });
    assert.deepEqual(parseAblation('attn:1', 'mean'), { kind: 'attention', layer: 1, mode: 'mean' });
    assert.deepEqual(parseAblation('mlp:0', 'zero'), { kind: 'mlp', layer: 0, mode: 'zero' });
    assert.deepEqual(parseAblation('edge:4>9', 'zero'), { kind: 'edge', from: 4, to: 9 });
    for (const bad of ['head:2', 'head:a.b', 'edge:4-9', 'mlp', 'layer:1']) assert.throws(() => parseAblation(bad, 'zero'), /--ablate/);
    const o = parseWhy(['m', '--text', 'x y', '--target', ' a', '--target', ' b', '--ablate', 'head:0.1', '--ablate', 'mlp:1', '--mean', '--occlude', '--drop', '--position', '1']);
    assert.deepEqual(o.targets, [' a', ' b']);
    assert.equal(o.interventions.length, 2);
    assert.equal(o.method, 'drop');
    assert.equal(o.position, 1);
    assert.throws(() => parseWhy(['m']), /--text or --file/);
    assert.throws(() => parseWhy(['m', '--text', 'x', '--target', 'a', '--target', 'b', '--target', 'c', '--target', 'd', '--target', 'e']), /at most 4/);
  });

  it('prints the numbers as JSON: attribution that adds up, the intervened run beside the clean one, occlusion', () => {
    const text = 'The cat sat on the mat. The dog sat on the';
    const r = spawnSync(process.execPath, [path.join(dist, 'cli.js'), 'why', lensTiny, '--text', text, '--target', ' mat', '--target', ' floor', '--ablate', 'head:1.4', '--occlude', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { why: WhyResult; occlusion: OccludeResult };
    const a = out.why.attribution;
    assert.equal(a.label, ' mat −  f');
    assert.ok(Math.abs(a.sum - a.total) <= 1e-4);
    assert.deepEqual(out.why.interventions, [{ kind: 'head', layer: 1, head: 4, mode: 'zero' }]);
    assert.equal(out.why.cleanTop!.length, 10);
    assert.deepEqual(out.why.targets[1].tokens, [' f', 'loor']);
    assert.equal(out.occlusion.occluded, out.why.tokens.length);
    const human = spawnSync(process.execPath, [path.join(dist, 'cli.js'), 'why', lensTiny, '--text', text, '--ablate', 'mlp:0'], { encoding: 'utf8' });
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /INTERVENED RUN: layer 0 MLP zeroed/);
    assert.match(human.stdout, /Direct logit attribution of/);
    const bad = spawnSync(process.execPath, [path.join(dist, 'cli.js'), 'why', lensTiny, '--text', text, '--ablate', 'head:9.0'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /layer must be 0\.\.3/);
  });

  it('sends occlusion progress to the client before the reply', async () => {
    const client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
    try {
      await client.request('loadModel', { folder: lensTiny });
      const seen: [number, number][] = [];
      const r = await client.request('occlude', { text: 'one two three four five six seven eight nine ten', cap: 5 }, undefined, { onProgress: (done, total) => seen.push([done, total]) });
      assert.equal(r.occluded, 5);
      assert.ok(seen.length >= 2);
      assert.deepEqual(seen[seen.length - 1], [6, 6]);
      const w = await client.request('why', { text: 'one two three', interventions: [{ kind: 'attention', layer: 0, mode: 'mean' }] });
      assert.equal(w.interventions.length, 1);
    } finally {
      await client.dispose();
    }
  });
});
