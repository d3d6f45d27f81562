// The 2-D PCA: ml-pca on a randomized sketch gives what ml-pca gives on the whole data.
import * as assert from 'node:assert/strict';
import { PCA } from 'ml-pca';
import { pca2d } from '../../src/core/analysis/pca';
import { mulberry32 } from '../../src/core/common/random';

/** n points in d dimensions with a decaying spectrum (like embeddings), randomly rotated and shifted. */
function data(n: number, d: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const x = new Float32Array(n * d);
  const shift = Array.from({ length: d }, gauss);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = gauss() * 3 / (1 + j) ** 0.6 + shift[j];
  // Mix the axes with random Givens rotations so the components are not the coordinate axes.
  for (let r = 0; r < 4 * d; r++) {
    const a = Math.floor(rand() * d), b = Math.floor(rand() * d), t = rand() * Math.PI;
    if (a === b) continue;
    const c = Math.cos(t), s = Math.sin(t);
    for (let i = 0; i < n; i++) {
      const u = x[i * d + a], v = x[i * d + b];
      x[i * d + a] = c * u - s * v;
      x[i * d + b] = s * u + c * v;
    }
  }
  return x;
}

describe('pca2d', () => {
  for (const [n, d] of [[120, 48], [40, 64], [6, 32], [300, 24]]) {
    it(`matches ml-pca on the full data (${n} x ${d})`, () => {
      const x = data(n, d, n + d);
      const ours = pca2d(x, n, d);
      const rows = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));
      const ref = new PCA(rows, { method: 'SVD' });
      const proj = ref.predict(rows, { nComponents: 2 });
      const total = ref.getExplainedVariance();
      for (let c = 0; c < 2; c++) {
        // Same axis up to sign: the projections agree.
        const a = ours.points.map((p) => p[c]);
        const b = Array.from({ length: n }, (_, i) => proj.get(i, c));
        const dot = a.reduce((s, v, i) => s + v * b[i], 0);
        const sign = Math.sign(dot);
        const err = Math.max(...a.map((v, i) => Math.abs(v - sign * b[i])));
        const scale = Math.max(...b.map(Math.abs));
        assert.ok(err < 1e-3 * scale, `component ${c}: max error ${err} of ${scale}`);
        assert.ok(Math.abs(ours.explained[c] - total[c]) < 1e-4, `explained ${c}: ${ours.explained[c]} vs ${total[c]}`);
      }
    });
  }

  it('degenerate input: one point, identical points', () => {
    assert.deepEqual(pca2d(new Float32Array([1, 2, 3]), 1, 3), { points: [[0, 0]], explained: [0, 0] });
    assert.deepEqual(pca2d(new Float32Array([1, 2, 1, 2]), 2, 2).explained, [0, 0]);
  });
});
