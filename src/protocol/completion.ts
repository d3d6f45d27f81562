// The worker's `complete` request: text around the cursor in, one suggestion out, with what it cost.

export type CompletionMode = 'singleLine' | 'multiLine';

export interface CompleteOptions {
  /** Most tokens of text before the cursor in the prompt (default: the setting llmLens.completions.prefixTokens). */
  prefixTokens?: number;
  /** Most tokens of text after the cursor, when the model has FIM tokens (default 128; 0: no FIM). */
  suffixTokens?: number;
  /** Most tokens to generate (default 32). */
  maxTokens?: number;
  /** Stop at the end of the line, or at the end of the block (default singleLine). */
  mode?: CompletionMode;
  /** Stop generating after this many milliseconds (default 1000). */
  timeBudgetMs?: number;
  /** Use fill-in-the-middle when the model has its tokens (default true). */
  fim?: boolean;
  /** Token healing of plain (non-FIM) prompts: the last prompt token is regenerated (default true). */
  heal?: boolean;
  /** Exactly the model's greedy tokens: no stop at line or block ends, no post-processing (benchmarks). */
  raw?: boolean;
  /** Drop the KV cache first, so the whole prompt is prefilled (benchmarks of cold latency). */
  cold?: boolean;
}

export interface CompleteParams {
  /** Text before the cursor (the worker keeps the last prefixTokens of it). */
  prefix: string;
  /** Text after the cursor. */
  suffix: string;
  options?: CompleteOptions;
}

export type CompletionStopReason = 'eos' | 'stop' | 'maxTokens' | 'time' | 'context';

export interface CompleteResult {
  /** The suggestion, post-processed; '' when there is none worth showing. */
  text: string;
  /** What the model generated before post-processing. */
  rawText: string;
  /** Tokens generated. */
  tokens: number;
  /** Prompt tokens, and how many of them had their keys and values reused from the previous request. */
  promptTokens: number;
  prefixReused: number;
  /** Prompt tokens run through the model (promptTokens - prefixReused). */
  prefilled: number;
  fim: boolean;
  /** Where the prompt's window starts in `prefix` (UTF-16 offset): prefix.slice(promptStart) is what the model read. */
  promptStart: number;
  stopReason: CompletionStopReason;
  timings: { promptMs: number; prefillMs: number; decodeMs: number; totalMs: number };
  /** Counters since the worker loaded the model: generations started, cancelled, and the most ever running at once. */
  engine: { generations: number; cancelled: number; maxRunning: number };
}
