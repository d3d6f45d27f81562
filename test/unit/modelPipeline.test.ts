// The shipped model agrees with the training pipeline: its tokenizer reproduces the Python ids
// (and round-trips held-out text when the corpus cache exists), and its ONNX graph reproduces the
// PyTorch logits at several past lengths. Both checks are the pipeline's own scripts.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');

function runCheck(script: string): string {
  const r = spawnSync(process.execPath, [path.join(root, 'models/train', script)], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${script} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('default model pipeline checks', function () {
  this.timeout(180_000);
  it('tokenizer.json gives the Python reference ids', () => {
    assert.match(runCheck('check_tokenizer.mjs'), /tokenizer OK/);
  });
  it('onnx/model.onnx gives the PyTorch logits with and without the KV cache', () => {
    assert.match(runCheck('check_onnx.mjs'), /onnx OK/);
  });
});
