// The embeddings tab's 2-D map: which vectors a PCA layer names, projected by pca2d. An analysis asked for the map
// and the worker's `pca` request (from the kept run, when the tab shows later) both go through here, so the map is
// the same whichever way it came.
import type { PcaMap } from '../../protocol/analysis';
import type { LoadedModel } from '../session/modelSession';
import { checkPcaLayer } from './options';
import { pca2d } from './pca';
import type { RememberedRun } from './runMemory';

/**
 * @param hidden hidden[l]: [T*d], the residual stream entering layer l (hidden[L] enters the final norm), as a run
 *   returns it and RunMemory keeps it
 * @param layer -1 for the token embeddings (without position), else 0..L
 */
export function pcaMap(model: LoadedModel, ids: readonly number[], hidden: readonly Float32Array[], layer: number): PcaMap {
  checkPcaLayer(layer, model.nLayers);
  const T = ids.length;
  const d = model.dModel;
  let data: Float32Array;
  if (layer === -1) {
    data = new Float32Array(T * d);
    ids.forEach((id, t) => data.set(model.embedding.subarray(id * d, (id + 1) * d), t * d));
  } else data = hidden[layer];
  const { points, explained } = pca2d(data, T, d);
  return { layer, points, explained };
}

/** The map of a run the worker kept (its RunMemory refuses a stale runId before this is reached). */
export function pcaOfRun(model: LoadedModel, run: RememberedRun, layer: number): PcaMap {
  return pcaMap(model, run.ids, run.hidden, layer);
}
