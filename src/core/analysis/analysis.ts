// core/analysis/: what the analysis panel shows, computed in the worker. This module: text -> Analysis: tokenize, run the instrumented graph once (past length 0), and reduce in the worker to what the
// panels draw (top-k, norms, cosines, the requested attention, thumbnails, neighbours, a 2-D PCA when asked for).
import type { Analysis, AnalyzeOptions, AttentionMatrix, Matrix, PositionPrediction, Prediction, TokenInfo } from '../../protocol/analysis';
import { EmptyTextError, InvalidOptionError, TooManyTokensError } from './errors';
import { CancelledError } from '../common/errors';
import type { LoadedModel, RunResult } from '../session/modelSession';
import { pcaMap } from './pcaMap';
import { nearest } from './neighbours';
import { checkNeighbours, checkPcaLayer, checkTokenIndex, checkTopK, DEFAULT_MAX_TOKENS, DEFAULT_NEIGHBOURS, DEFAULT_TOP_K } from './options';
import type { RunMemory } from './runMemory';
import { checkText } from './textCheck';

const LN2 = Math.LN2;

/**
 * A cancellation point between stages. A run blocks the worker's thread, so a cancel message from the host is
 * only delivered when the event loop turns: let it turn (one setImmediate), then look at the signal.
 */
async function check(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal.aborted) throw new CancelledError();
}

/**
 * With `runs`, the run's hidden states are kept there under the Analysis' runId, so that a `chosen` request
 * can answer for another token without running the model again (the worker owns one RunMemory).
 */
export async function analyze(model: LoadedModel, text: string, options: AnalyzeOptions = {}, signal?: AbortSignal, runs?: RunMemory): Promise<Analysis> {
  checkText(text);
  const limits = tokenLimits(model, options);
  // A cheap lower bound first: a text far over the limit is refused without tokenizing it.
  const bytes = Buffer.byteLength(text, 'utf8');
  const atLeast = Math.ceil(bytes / model.maxTokenBytes);
  if (atLeast > limits.limit) throw new TooManyTokensError(atLeast, limits.limit, true, limits.reason);
  const t0 = performance.now();
  // A long text: count the tokens of a prefix first, and stop there if the prefix alone is over the limit.
  const prefixChars = limits.limit * 8;
  if (text.length > prefixChars) {
    const n = model.tokenizer.ids(text.slice(0, prefixChars)).length;
    if (n > limits.limit + 1) throw new TooManyTokensError(n - 1, limits.limit, true, limits.reason);
  }
  const tokens = model.tokenizer.encode(text);
  const tokenizeMs = performance.now() - t0;
  if (tokens.length > limits.limit) throw new TooManyTokensError(tokens.length, limits.limit, false, limits.reason);
  if (tokens.length === 0) throw new EmptyTextError();
  await check(signal);
  const a = await analyzeTokens(model, text, tokens, options, signal, runs);
  a.timings.tokenizeMs = tokenizeMs;
  return a;
}

function tokenLimits(model: LoadedModel, options: AnalyzeOptions): { limit: number; reason: 'setting' | 'context' } {
  const max = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(max) || max < 1) throw new InvalidOptionError(`maxTokens must be a positive integer, not ${JSON.stringify(max)}.`);
  return max <= model.spec.nCtx ? { limit: max, reason: 'setting' } : { limit: model.spec.nCtx, reason: 'context' };
}

/** The analysis of already tokenized text (the fixtures' ids, or tokens from `analyze`). */
export async function analyzeTokens(model: LoadedModel, text: string, tokens: TokenInfo[], options: AnalyzeOptions = {}, signal?: AbortSignal, runs?: RunMemory): Promise<Analysis> {
  const T = tokens.length;
  const L = model.nLayers;
  const d = model.dModel;
  const topK = options.topK ?? DEFAULT_TOP_K;
  checkTopK(topK);
  const attentionLayers = [...new Set(options.attentionLayers ?? [])];
  for (const l of attentionLayers) {
    if (!Number.isInteger(l) || l < 0 || l >= L) throw new InvalidOptionError(`attentionLayers: ${JSON.stringify(l)} is not a layer (0..${L - 1}).`);
  }
  const chosen = options.chosenToken;
  if (chosen !== undefined) checkTokenIndex('chosenToken', chosen, T);
  const pcaLayer = options.pcaLayer ?? -1;
  // Checked even when the map is not computed now: a later `pca` request for this layer must not be the first to refuse it.
  checkPcaLayer(pcaLayer, L);
  const withPca = options.pca ?? true;
  if (typeof withPca !== 'boolean') throw new InvalidOptionError(`pca must be true or false, not ${JSON.stringify(withPca)}.`);
  const neighbours = options.neighbours ?? DEFAULT_NEIGHBOURS;
  checkNeighbours(neighbours);

  const lensMode = options.logitLens ?? 'chosen';
  if (!['all', 'chosen', 'none'].includes(lensMode)) throw new InvalidOptionError(`logitLens must be 'all', 'chosen' or 'none', not ${JSON.stringify(lensMode)}.`);
  const lensPositions = lensMode === 'all' ? undefined : lensMode === 'chosen' && chosen !== undefined ? [chosen] : [];

  const ids = tokens.map((t) => t.id);
  const t1 = performance.now();
  const r = await model.run({ ids, topK, attentionLayers, thumbnails: !!options.attentionThumbnails, lensPositions, signal });
  const runMs = performance.now() - t1;
  await check(signal);
  // Kept for `chosen` requests about this analysis; h[0] is handed to the host as the embeddings, so a copy.
  const runId = runs?.remember(model, ids, r.hidden.map((a, i) => (i === 0 ? a.slice() : a)));
  const t2 = performance.now();
  const text16 = (id: number) => model.tokenizer.tokenText(id);

  const h = r.hidden;
  // h[0] is this run's own copy: the matrix can hold it without another copy.
  const embeddings: Matrix = { rows: T, cols: d, data: h[0] };
  const norm = (a: Float32Array, o: number) => {
    let s = 0;
    for (let j = o; j < o + d; j++) s += a[j] * a[j];
    return Math.sqrt(s);
  };
  const hiddenNorms = h.map((a) => Array.from({ length: T }, (_, t) => norm(a, t * d)));
  const layerCosine = Array.from({ length: L }, (_, l) =>
    Array.from({ length: T }, (_, t) => {
      let dot = 0;
      const a = h[l];
      const b = h[l + 1];
      for (let j = t * d; j < t * d + d; j++) dot += a[j] * b[j];
      const den = hiddenNorms[l][t] * hiddenNorms[l + 1][t];
      return den > 0 ? dot / den : 0;
    }),
  );
  const embeddingNorms = ids.map((id) => model.embeddingNorms[id]);
  await check(signal);

  const k = r.k;
  const topOf = (v: Float32Array, ix: Int32Array, lse: Float32Array, row: number): Prediction[] =>
    Array.from({ length: k }, (_, j) => {
      const id = ix[row * k + j];
      return { id, text: text16(id), prob: Math.exp(v[row * k + j] - lse[row]) };
    });
  const predictions: PositionPrediction[] = Array.from({ length: T }, (_, t) => {
    const p: PositionPrediction = { top: topOf(r.predTopV, r.predTopI, r.predLse, t) };
    if (t + 1 < T) {
      const logp = r.predActual[t] - r.predLse[t];
      p.actual = { id: ids[t + 1], prob: Math.exp(logp), surprisalBits: -logp / LN2, rank: r.predRank[t] + 1 };
    }
    return p;
  });
  const logitLens: Prediction[][][] = [];
  const lensRow = new Map((r.lensPositions ?? []).map((t, p) => [t, p]));
  const P = lensRow.size;
  for (let l = 0; l < L; l++) {
    logitLens.push(
      Array.from({ length: T }, (_, t) => {
        const p = lensRow.get(t);
        return p === undefined || !r.lensTopV ? [] : topOf(r.lensTopV, r.lensTopI!, r.lensLse!, l * P + p);
      }),
    );
  }
  logitLens.push(predictions.map((p) => p.top));
  await check(signal);

  const similarity: Matrix = { rows: T, cols: T, data: clampUnit(r.similarity) };
  const attention = attentionMatrices(model, r, attentionLayers, T);
  const attentionThumbnails = r.thumbnails ? thumbnails(model, r, T) : undefined;
  await check(signal);

  let chosenOut: Analysis['chosen'];
  if (chosen !== undefined) {
    chosenOut = {
      index: chosen,
      hidden: h.map((a) => Array.from(a.subarray(chosen * d, (chosen + 1) * d))),
      neighbours: nearest(model, ids[chosen], neighbours).map(({ id, cosine }) => ({ id, text: text16(id), cosine })),
    };
  }
  const pca = withPca ? pcaMap(model, ids, h, pcaLayer) : undefined;
  const reduceMs = performance.now() - t2;

  const a: Analysis = {
    ...(runId !== undefined ? { runId } : {}),
    model: model.spec,
    text,
    tokens,
    embeddings,
    embeddingNorms,
    hiddenNorms,
    layerCosine,
    logitLens,
    predictions,
    similarity,
    attention,
    ...(pca ? { pca } : {}),
    timings: { tokenizeMs: 0, runMs, reduceMs },
  };
  if (attentionThumbnails) a.attentionThumbnails = attentionThumbnails;
  if (chosenOut) a.chosen = chosenOut;
  return a;
}

/** Rounding can put a cosine a hair outside [-1, 1]: clamp in place. */
function clampUnit(a: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x > 1) a[i] = 1;
    else if (x < -1) a[i] = -1;
  }
  return a;
}

/** Per requested layer: every head, then the average over heads (head -1). Zeros above the diagonal. */
function attentionMatrices(model: LoadedModel, r: RunResult, layers: number[], T: number): AttentionMatrix[] {
  const H = model.nHeads;
  const out: AttentionMatrix[] = [];
  for (const layer of layers) {
    const a = r.attention.get(layer);
    if (!a) continue;
    const avg = new Float32Array(T * T);
    for (let head = 0; head < H; head++) {
      // Each head in a buffer of its own: replies transfer buffers to the host, and a shared one would go whole.
      const weights = a.slice(head * T * T, (head + 1) * T * T);
      for (let i = 0; i < weights.length; i++) avg[i] += weights[i] / H;
      out.push({ layer, head, weights: { rows: T, cols: T, data: weights } });
    }
    out.push({ layer, head: -1, weights: { rows: T, cols: T, data: avg } });
  }
  return out;
}

/** [L][H][n][n]: block sums of each attention matrix divided by the query rows in the block, so rows still sum to 1. */
function thumbnails(model: LoadedModel, r: RunResult, T: number): number[][][][] {
  const { n, b, data } = r.thumbnails!;
  const H = model.nHeads;
  return Array.from({ length: model.nLayers }, (_, layer) => {
    const a = data.get(layer);
    if (!a) return [];
    return Array.from({ length: H }, (_, head) =>
      Array.from({ length: n }, (_, i) => {
        const rowsInBlock = Math.max(1, Math.min(b, T - i * b));
        return Array.from({ length: n }, (_, j) => a[head * n * n + i * n + j] / rowsInBlock);
      }),
    );
  });
}

