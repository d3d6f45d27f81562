// A chosen token's own data without running the model again. The last analysis keeps its hidden states; the
// token's vector per layer is read from them, its neighbours come from the embedding matrix, and its logit lens is
// the final norm and the LM head applied in plain JS: L x vocabulary x d multiply-adds for one token, against a
// whole forward pass of the text (150 ms for 512 tokens of lens-tiny, seconds for GPT-2).
import type { ChosenDetail, Prediction } from '../../protocol/analysis';
import { topIndices } from './topK';
import type { LoadedModel } from '../session/modelSession';
import { lensLogits, type LensHead } from '../onnx/lensHead';
import { nearest } from './neighbours';
import { checkNeighbours, checkTokenIndex, checkTopK } from './options';
import type { RememberedRun } from './runMemory';

/** The run comes from the worker's RunMemory (which refuses a stale runId). */
export function chosenDetail(model: LoadedModel, run: RememberedRun, index: number, k = 5, neighbours = 8): ChosenDetail {
  const T = run.ids.length;
  checkTokenIndex('chosen token', index, T);
  checkTopK(k);
  checkNeighbours(neighbours);
  const d = model.dModel;
  const rows = run.hidden.map((h) => h.subarray(index * d, (index + 1) * d));
  const head = model.lensHead;
  const lens = rows.slice(0, model.nLayers).map((x) => (head ? logitLens(model, head, x, k) : []));
  return {
    index,
    hidden: rows.map((r) => Array.from(r)),
    neighbours: nearest(model, run.ids[index], neighbours).map(({ id, cosine }) => ({ id, text: model.tokenizer.tokenText(id), cosine })),
    lens,
  };
}

/** Top-k of softmax(LM head(final norm(x))), in float64. */
export function logitLens(model: LoadedModel, head: LensHead, x: Float32Array, k: number): Prediction[] {
  const logits = lensLogits(head, x);
  const V = logits.length;
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[v] > max) max = logits[v];
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - max);
  const lse = max + Math.log(sum);
  return topIndices(logits, k).map((id) => ({ id, text: model.tokenizer.tokenText(id), prob: Math.exp(logits[id] - lse) }));
}
