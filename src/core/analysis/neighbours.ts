// Nearest vocabulary neighbours in the token embedding space (the analysis, the chosen token, hover cards).
import type { LoadedModel } from '../session/modelSession';
import { topIndices } from './topK';

/** The `count` tokens whose embeddings are nearest (cosine) to token `id`'s, itself excluded. */
export function nearest(model: LoadedModel, id: number, count: number): { id: number; cosine: number }[] {
  const E = model.embedding;
  const norms = model.embeddingNorms;
  const d = model.dModel;
  const V = norms.length;
  const q = E.subarray(id * d, (id + 1) * d);
  const qn = norms[id] || 1;
  const cosines = new Float64Array(V);
  for (let v = 0; v < V; v++) {
    let dot = 0;
    const o = v * d;
    for (let j = 0; j < d; j++) dot += q[j] * E[o + j];
    cosines[v] = dot / (qn * (norms[v] || 1));
  }
  return topIndices(cosines, count, id).map((v) => ({ id: v, cosine: cosines[v] }));
}

