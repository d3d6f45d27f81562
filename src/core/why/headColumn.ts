// One column of the LM head (the output direction of one token) as float64, whatever the head's storage: direct logit
// attribution dots each part of the residual stream with it, and the stored head may be float, 4-bit or 8-bit.
import type { HeadWeight } from '../onnx/lensHead';

/** Column `v` of the head's [d, V] weight (what logit v reads from the normed stream). */
export function headColumn(w: HeadWeight, v: number, d: number): Float64Array {
  const u = new Float64Array(d);
  if (w.kind === 'float') {
    const W = w.weight;
    const V = W.length / d;
    if (w.vocabMajor) for (let j = 0; j < d; j++) u[j] = W[v * d + j];
    else for (let j = 0; j < d; j++) u[j] = W[j * V + v];
    return u;
  }
  if (w.kind === 'q4') {
    // The same unpacking as lensHead.ts's headTimes, for one column: 4-bit blocks with a scale and a zero point each.
    const { K, blockSize, packed, scales, zeroPoints } = w;
    const blocks = Math.ceil(K / blockSize);
    const blob = blockSize / 2;
    const zpRow = Math.ceil(blocks / 2);
    for (let b = 0; b < blocks; b++) {
      const s = scales[v * blocks + b];
      const zp = zeroPoints ? (zeroPoints[v * zpRow + (b >> 1)] >> ((b & 1) * 4)) & 15 : 8;
      const o = (v * blocks + b) * blob;
      for (let i = 0; i < blob; i++) {
        const k = b * blockSize + 2 * i;
        const byte = packed[o + i];
        if (k < K) u[k] = ((byte & 15) - zp) * s;
        if (k + 1 < K) u[k + 1] = ((byte >> 4) - zp) * s;
      }
    }
    return u;
  }
  const { q, scale, zeroPoint, V } = w;
  const z = zeroPoint.length === 1 ? zeroPoint[0] : zeroPoint[v];
  const s = scale.length === 1 ? scale[0] : scale[v];
  for (let j = 0; j < d; j++) u[j] = (q[j * V + v] - z) * s;
  return u;
}
