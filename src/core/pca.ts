// 2-D PCA of a set of vectors with ml-pca. ml-pca's own SVD/EVD take seconds on a few hundred 384-d rows, so
// it runs on a randomized sketch (range finder with power iterations) that holds the top components.
import { PCA } from 'ml-pca';

export interface Projection {
  points: [number, number][];
  /** Share of the total variance on each axis. */
  explained: [number, number];
}

/** Sketch width and power iterations: the top two directions come out accurate to plotting precision. */
const SKETCH = 16;
const POWER_ITERATIONS = 4;

/** Projects n rows of dimension d (row-major in `data`) onto their first two principal components. */
export function pca2d(data: ArrayLike<number>, n: number, d: number): Projection {
  const x = new Float64Array(n * d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j] / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j] - mean[j];
      x[i * d + j] = v;
      total += v * v;
    }
  }
  const zero = (): Projection => ({ points: Array.from({ length: n }, () => [0, 0] as [number, number]), explained: [0, 0] });
  if (n < 2 || total <= 0) return zero();

  // Rows handed to ml-pca: the data itself when small, else B = Q^T X from the sketch (same top directions).
  const r = Math.min(n, d);
  let rows: number[][];
  if (r <= SKETCH) rows = toRows(x, n, d);
  else rows = toRows(sketch(x, n, d, SKETCH), SKETCH, d);
  const pca = new PCA(rows, { center: false, method: 'SVD' });
  const vectors = pca.getEigenvectors();
  const comps = Math.min(2, vectors.columns);
  const axis: Float64Array[] = [];
  for (let c = 0; c < comps; c++) axis.push(Float64Array.from({ length: d }, (_, j) => vectors.get(j, c)));

  const proj = axis.map((u) => {
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += x[i * d + j] * u[j];
      p[i] = acc;
    }
    // A deterministic sign: the largest coordinate is positive.
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(p[i]) > Math.abs(big)) big = p[i];
    if (big < 0) for (let i = 0; i < n; i++) p[i] = -p[i];
    return p;
  });
  const share = (p: Float64Array | undefined) => (p ? p.reduce((a, v) => a + v * v, 0) / total : 0);
  return {
    points: Array.from({ length: n }, (_, i) => [proj[0]?.[i] ?? 0, proj[1]?.[i] ?? 0] as [number, number]),
    explained: [share(proj[0]), share(proj[1])],
  };
}

/** B = Q^T X where Q (n x k) spans the top of X's range (Halko et al., with power iterations). */
function sketch(x: Float64Array, n: number, d: number, k: number): Float64Array {
  let seed = 0x9e3779b9;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
  let omega: Float64Array = Float64Array.from({ length: d * k }, rand);
  let y: Float64Array = mulXW(x, n, d, omega, k);
  orthonormalize(y, n, k);
  for (let it = 0; it < POWER_ITERATIONS; it++) {
    omega = mulXtY(x, n, d, y, k);
    orthonormalize(omega, d, k);
    y = mulXW(x, n, d, omega, k);
    orthonormalize(y, n, k);
  }
  // B = Q^T X, k x d.
  const b = mulXtY(x, n, d, y, k); // d x k = X^T Q
  const out = new Float64Array(k * d);
  for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) out[c * d + j] = b[j * k + c];
  return out;
}

/** X (n x d) times W (d x k) -> n x k. */
function mulXW(x: Float64Array, n: number, d: number, w: Float64Array, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j];
      if (v === 0) continue;
      for (let c = 0; c < k; c++) out[i * k + c] += v * w[j * k + c];
    }
  }
  return out;
}

/** X^T (d x n) times Y (n x k) -> d x k. */
function mulXtY(x: Float64Array, n: number, d: number, y: Float64Array, k: number): Float64Array {
  const out = new Float64Array(d * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j];
      if (v === 0) continue;
      for (let c = 0; c < k; c++) out[j * k + c] += v * y[i * k + c];
    }
  }
  return out;
}

/** Modified Gram-Schmidt on the k columns of an m x k row-major matrix. */
function orthonormalize(a: Float64Array, m: number, k: number): void {
  for (let c = 0; c < k; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += a[i * k + c] * a[i * k + p];
      for (let i = 0; i < m; i++) a[i * k + c] -= dot * a[i * k + p];
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += a[i * k + c] * a[i * k + c];
    norm = Math.sqrt(norm);
    if (norm > 1e-300) for (let i = 0; i < m; i++) a[i * k + c] /= norm;
  }
}

function toRows(a: Float64Array, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from(a.subarray(i * cols, (i + 1) * cols)));
}
