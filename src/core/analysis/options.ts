// The analysis options' defaults and range checks, shared by an analysis and a chosen-token request.
import { settingDefault } from '../../protocol/settings';
import { InvalidOptionError } from './errors';

export const DEFAULT_MAX_TOKENS = settingDefault<number>('llmLens.analysis.maxTokens');
export const DEFAULT_TOP_K = settingDefault<number>('llmLens.analysis.topK');
export const DEFAULT_NEIGHBOURS = settingDefault<number>('llmLens.analysis.neighbours');
const MAX_TOP_K = 100;

/** Refuses a top-k outside 1..100 (the analysis' and the chosen token's k). */
export function checkTopK(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_TOP_K) throw new InvalidOptionError(`topK must be an integer from 1 to ${MAX_TOP_K}, not ${JSON.stringify(k)}.`);
}

/** Refuses a neighbour count outside 0..100. */
export function checkNeighbours(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 100) throw new InvalidOptionError(`neighbours must be an integer from 0 to 100.`);
}

/** Refuses an index that is not one of the T tokens. */
export function checkTokenIndex(what: string, i: number, T: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= T) throw new InvalidOptionError(`${what} ${JSON.stringify(i)} is not a token index (0..${T - 1}).`);
}

/** Refuses a PCA layer other than -1 (the token embeddings) or 0..L (the hidden states entering a layer, L the output). */
export function checkPcaLayer(layer: number, L: number): void {
  if (!Number.isInteger(layer) || layer < -1 || layer > L) throw new InvalidOptionError(`pcaLayer must be -1 (token embeddings) or a layer 0..${L}, not ${JSON.stringify(layer)}.`);
}
