// The lean requests behind hover cards and surprisal highlighting: how probable each token of a text
// was given the text before it, and a token's place in the embedding space. Plain JSON-able types.
import type { Prediction, TokenInfo } from './analysis';

export interface ScoreParams {
  text: string;
  /** UTF-16 offset in `text` where scoring starts: tokens that start before it are context only. Default 0. */
  scoreFrom?: number;
  /** UTF-16 offset in `text` where scoring stops: tokens that start at or after it are not run at all. Default: the end. */
  scoreTo?: number;
  /** Tokens of context the model sees before each scored token (older ones are dropped). Default 256. */
  contextTokens?: number;
  /** Alternatives reported per scored token (what the model expected there); 0 for none. Default 0. */
  topK?: number;
  /** Most tokens scored; the rest of the range is left out and `truncated` says so. Default 2048. */
  maxTokens?: number;
  /** Most tokens given to the model in one run, context included; never more than its context length. */
  maxRunTokens?: number;
}

/** What the model expected at a position: the same shape as the panels' predictions. */
export type Alternative = Prediction;

/** A token of the request's text (span in the request's text), with how the model scored it. */
export interface ScoredToken extends Omit<TokenInfo, 'index'> {
  /** Tokens the model saw before this one, in its run (0: nothing came before it). */
  context: number;
  /** UTF-16 offset in the request's text where that context starts (its first token's start). */
  contextStart: number;
  /** P(this token | the tokens before it); absent when nothing came before it. */
  prob?: number;
  surprisalBits?: number;
  /** 1 = the model's first choice. */
  rank?: number;
  /** The model's top-k at this position (what it expected instead), when topK > 0 and context > 0. */
  top?: Alternative[];
}

export interface ScoreResult {
  /** The scored tokens, in order. */
  tokens: ScoredToken[];
  /** Tokens of the range left unscored because of maxTokens. */
  truncated: number;
  /** Model runs it took (a range longer than one run's worth goes in several). */
  runs: number;
  timings: { tokenizeMs: number; runMs: number; totalMs: number };
}

export interface NeighboursParams {
  ids: number[];
  /** Nearest vocabulary tokens per id (cosine of token embeddings). Default 8. */
  count?: number;
}

export interface TokenNeighbours {
  id: number;
  text: string;
  /** Length of the token's embedding vector. */
  norm: number;
  neighbours: { id: number; text: string; cosine: number }[];
}

export interface NeighboursResult {
  tokens: TokenNeighbours[];
}
