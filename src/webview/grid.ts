// Decodes the host's quantized matrices (see Grid in protocol/webview.ts), once per object.
import type { Grid } from '../protocol/webview';

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major values, dequantized. */
  values: Float32Array;
  at(r: number, c: number): number;
  max: number;
}

const cache = new WeakMap<Grid, Matrix>();

export function decode(g: Grid): Matrix {
  const hit = cache.get(g);
  if (hit) return hit;
  const bin = atob(g.data);
  const n = Math.min(bin.length, g.rows * g.cols);
  const values = new Float32Array(g.rows * g.cols);
  if (g.kind === 'unsigned') {
    const k = g.max / 255;
    for (let i = 0; i < n; i++) values[i] = bin.charCodeAt(i) * k;
  } else {
    const k = g.max / 127;
    for (let i = 0; i < n; i++) values[i] = (bin.charCodeAt(i) - 128) * k;
  }
  const m: Matrix = { rows: g.rows, cols: g.cols, values, max: g.max, at: (r, c) => values[r * g.cols + c] };
  cache.set(g, m);
  return m;
}
