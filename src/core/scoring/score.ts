// core/scoring/: what hover cards and surprisal highlighting need (scores, their cache and text windows, the
// wording of bits and token text). This module: lean scoring for the editor surfaces (hover cards, surprisal highlighting): how probable each token of a
// range was given the tokens before it, and where one token sits in the embedding space. Unlike `analyze`
// it builds none of the panels' data (hidden states, similarity, attention, PCA), and a range longer than
// one run's worth is scored in several runs, each with its own window of context.
import type { Alternative, NeighboursParams, NeighboursResult, ScoredToken, ScoreParams, ScoreResult } from '../../protocol/score';
import { nearest } from '../analysis/neighbours';
import { checkText } from '../analysis/textCheck';
import { InvalidOptionError } from '../analysis/errors';
import { CancelledError } from '../common/errors';
import type { LoadedModel } from '../session/modelSession';

export const DEFAULT_SCORE_CONTEXT = 256;
export const DEFAULT_SCORE_MAX_TOKENS = 2048;
const MAX_TOP_K = 20;
const MAX_NEIGHBOURS = 100;
const MAX_NEIGHBOUR_IDS = 64;

function intOption(name: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new InvalidOptionError(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}.`);
  return v;
}

/** Lets a cancel message from the host in (runs block the thread), then looks at the signal. */
async function check(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal.aborted) throw new CancelledError();
}

/**
 * How many context tokens a run takes and how many tokens it scores: as much context as asked for,
 * but never so much that a run scores less than half its length while more than that remains.
 */
export function planRun(available: number, remaining: number, contextTokens: number, maxRun: number): { context: number; scored: number } {
  const context = Math.max(0, Math.min(contextTokens, available, maxRun - Math.min(remaining, Math.floor(maxRun / 2))));
  return { context, scored: Math.min(remaining, maxRun - context) };
}

export async function score(model: LoadedModel, params: ScoreParams, signal?: AbortSignal): Promise<ScoreResult> {
  const t0 = performance.now();
  const text = params?.text;
  checkText(text);
  const scoreFrom = intOption('scoreFrom', params.scoreFrom, 0, 0, text.length);
  const scoreTo = intOption('scoreTo', params.scoreTo, text.length, scoreFrom, text.length);
  const contextTokens = intOption('contextTokens', params.contextTokens, DEFAULT_SCORE_CONTEXT, 0, 1 << 20);
  const topK = intOption('topK', params.topK, 0, 0, MAX_TOP_K);
  const maxTokens = intOption('maxTokens', params.maxTokens, DEFAULT_SCORE_MAX_TOKENS, 1, 1 << 20);
  const nCtx = model.spec.nCtx;
  const maxRun = Math.min(nCtx, intOption('maxRunTokens', params.maxRunTokens, nCtx, 2, 1 << 20));

  const tokens = model.tokenizer.encode(text);
  const tokenizeMs = performance.now() - t0;
  let i0 = 0;
  while (i0 < tokens.length && tokens[i0].start < scoreFrom) i0++;
  let i1 = i0;
  while (i1 < tokens.length && tokens[i1].start < scoreTo) i1++;
  const end = Math.min(i1, i0 + maxTokens);
  const out: ScoredToken[] = [];
  let runs = 0;
  let runMs = 0;
  const ids = tokens.map((t) => t.id);
  const text16 = (id: number) => model.tokenizer.tokenText(id);
  for (let c = i0; c < end; ) {
    await check(signal);
    const { context, scored } = planRun(c, end - c, contextTokens, maxRun);
    const first = c - context;
    const runIds = ids.slice(first, c + scored);
    const t1 = performance.now();
    const r = await model.run({ ids: runIds, topK: Math.max(1, topK), lensPositions: [], signal });
    runMs += performance.now() - t1;
    runs++;
    const k = r.k;
    for (let j = context; j < context + scored; j++) {
      const tok = tokens[first + j];
      const s: ScoredToken = { id: tok.id, text: tok.text, bytes: tok.bytes, start: tok.start, end: tok.end, partial: tok.partial, context: j, contextStart: tokens[first].start };
      if (j > 0) {
        // Row j-1 holds the prediction made after reading the tokens up to j-1: the one for token j.
        const row = j - 1;
        const logp = r.predActual[row] - r.predLse[row];
        s.prob = Math.exp(logp);
        s.surprisalBits = -logp / Math.LN2;
        s.rank = r.predRank[row] + 1;
        if (topK > 0) {
          const top: Alternative[] = new Array(topK);
          for (let m = 0; m < topK; m++) {
            const id = r.predTopI[row * k + m];
            top[m] = { id, text: text16(id), prob: Math.exp(r.predTopV[row * k + m] - r.predLse[row]) };
          }
          s.top = top;
        }
      }
      out.push(s);
    }
    c += scored;
  }
  return { tokens: out, truncated: i1 - end, runs, timings: { tokenizeMs, runMs, totalMs: performance.now() - t0 } };
}

/** Each token's embedding norm and its nearest vocabulary neighbours (cosine of token embeddings). */
export function neighbours(model: LoadedModel, params: NeighboursParams): NeighboursResult {
  const ids = params?.ids;
  if (!Array.isArray(ids) || ids.length > MAX_NEIGHBOUR_IDS) throw new InvalidOptionError(`ids must be a list of at most ${MAX_NEIGHBOUR_IDS} token ids.`);
  const V = model.embeddingNorms.length;
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new InvalidOptionError(`${JSON.stringify(id)} is not a token id (0..${V - 1}).`);
  }
  const count = intOption('count', params.count, 8, 0, MAX_NEIGHBOURS);
  const vocab = model.tokenizer.vocabSize;
  const text16 = (id: number) => (id < vocab ? model.tokenizer.tokenText(id) : '');
  // Embedding rows past the tokenizer's vocabulary (padding) are no token anyone can write: skip them.
  const padding = Math.max(0, V - vocab);
  return {
    tokens: ids.map((id) => ({
      id,
      text: text16(id),
      norm: model.embeddingNorms[id],
      neighbours:
        count === 0
          ? []
          : nearest(model, id, count + padding)
              .filter((n) => n.id < vocab)
              .slice(0, count)
              .map((n) => ({ id: n.id, text: text16(n.id), cosine: n.cosine })),
    })),
  };
}
