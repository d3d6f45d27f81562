// "Why": the causal questions about one prediction (issue #15), between the worker (src/core/why/), the host and the
// analysis panel's Why tab. Everything is computed with forward passes and the activations the lens already reads:
// onnxruntime has no backward pass here.
import type { Prediction } from './analysis';

/**
 * Switching a part of the model off for a run. Applied by feeding inputs the instrumented graph has for the purpose
 * (a gate per head, per attention and MLP block, an additive mask on the attention scores), never by a second copy of
 * the model. 'zero' removes the part's output; 'mean' replaces it with its mean over the text's positions.
 */
export type Intervention =
  | { kind: 'head'; layer: number; head: number; mode: 'zero' | 'mean' }
  | { kind: 'attention'; layer: number; mode: 'zero' | 'mean' }
  | { kind: 'mlp'; layer: number; mode: 'zero' | 'mean' }
  /** Query token `to` may not attend to key token `from` (every layer and head; the row is renormalised). */
  | { kind: 'edge'; from: number; to: number };

export interface WhyParams {
  text: string;
  /**
   * The position whose next token is explained: the prediction made after token `position` (0-based; default the
   * last token). Everything below is about that one prediction.
   */
  position?: number;
  /** Candidate continuations (one or more tokens each, as typed: " Paris"), at most 4. Empty: the model's own top token. */
  targets?: string[];
  /** What direct logit attribution explains: the first target's logit ('target') or the first minus the second ('difference'). Default: 'difference' with two targets or more, else 'target'. */
  attribute?: 'target' | 'difference';
  /** Parts switched off for this run (empty: the clean run). */
  interventions?: Intervention[];
  /** How many tokens that rise highest at some layer to offer as candidates (default 5). */
  risers?: number;
  /** k of the next-token lists (default 10). */
  topK?: number;
}

export interface WhyTarget {
  /** As typed. */
  text: string;
  tokenIds: number[];
  /** Each token's text, for showing how a multi-token continuation splits. */
  tokens: string[];
  /** Joint probability of all its tokens after `position` (teacher-forced), and its natural log. */
  prob: number;
  logProb: number;
  /** [L+1]: the rank (1 = top) of its first token in the logit lens entering each layer and at the output. */
  rankByLayer: number[];
  /** [L+1]: the first token's logit in the logit lens at each layer (the last entry is the model's own logit). */
  logitByLayer: number[];
}

/** One term of the direct logit attribution: a part of the residual stream read through the frozen final norm and the LM head. */
export interface WhyComponent {
  kind: 'embedding' | 'attention' | 'mlp' | 'head' | 'bias';
  layer?: number;
  head?: number;
  /** Its contribution to the explained logit (or logit difference), in logits. */
  value: number;
}

export interface WhyAttribution {
  /** What is explained: the target's token text, or "A − B". */
  label: string;
  /** The target ids explained (the first token of each): one, or [A, B]. */
  tokenIds: number[];
  /** The model's own value of it at the output (logit, or logit difference). */
  total: number;
  /** The sum of every component below, which equals `total` up to float error (the test checks 1e-4). */
  sum: number;
  embedding: number;
  /** [L] attention output and MLP output of each layer. */
  attention: number[];
  mlp: number[];
  /** [L][H] each head's share of its layer's attention output (attention's bias, if any, is in `bias`). */
  heads: number[][];
  /** Constant terms: the final norm's shift (β and the mean it subtracts) and output biases that belong to no head. */
  bias: number;
  /** The largest contributors by |value|, most first (at most 8), for the sentence under the chart. */
  top: WhyComponent[];
  /**
   * How the final norm was linearised: its scale (1/σ for LayerNorm, 1/rms for RMSNorm) taken from the full residual
   * stream at this position and frozen, so that the norm becomes linear in the stream and each part's share adds up.
   */
  normScale: number;
  /**
   * Set when some layers' heads could not be attributed (their `heads` row is empty): the graph does not expose the
   * heads' results before the output projection, or that projection is quantized. Those layers count as a whole.
   */
  headsUnavailable?: string;
}

export interface WhyResult {
  /** Tokens of the text (ids and texts), as the analysis tokenizes them. */
  tokens: { id: number; text: string }[];
  position: number;
  /** The interventions this run applied (empty: clean). A run with any is always labelled as such in the UI. */
  interventions: Intervention[];
  /** The model's next-token list after `position` in this run. */
  top: Prediction[];
  /** With interventions: the clean run's list, for the difference; absent on a clean run. */
  cleanTop?: Prediction[];
  /** Surprisal in bits of each token given the text before it (entry 0 is NaN): this run, and the clean run when intervened. */
  surprisal: number[];
  cleanSurprisal?: number[];
  /** [L+1][k]: the logit lens at `position` in this run (entering each layer, then the output). */
  lens: Prediction[][];
  targets: WhyTarget[];
  /** Tokens whose rank is best at some layer before the last: candidates the final layer hides. */
  risers: { id: number; text: string; bestRank: number; layer: number; finalRank: number }[];
  /** [L+1] first target's logit minus the second's at each layer, with two targets or more. */
  difference?: number[];
  attribution: WhyAttribution;
  timings: { runMs: number; totalMs: number };
}

export interface OccludeParams {
  text: string;
  position?: number;
  /** The continuation whose log-probability is watched (default the model's top token). */
  target?: string;
  /** How a token is removed: replaced by a neutral token ('mask', the default) or left out of the attention ('drop'). */
  method?: 'mask' | 'drop';
  /** At most this many context tokens are occluded, the nearest ones to `position` (default 256); the rest are left as they are. */
  cap?: number;
}

export interface OccludeResult {
  tokens: { id: number; text: string }[];
  position: number;
  target: { text: string; tokenIds: number[]; logProb: number };
  method: 'mask' | 'drop';
  /** [T]: log-probability change when the token is occluded (negative: the prediction needed it); NaN for tokens not occluded. */
  delta: number[];
  /** How many tokens were occluded, and how many the cap left out. */
  occluded: number;
  skipped: number;
  /** Forward passes run (batched: fewer than `occluded`). */
  batches: number;
  /** With 'mask': the neutral token put in an occluded token's place. */
  maskToken?: { id: number; text: string };
  timings: { totalMs: number };
}
