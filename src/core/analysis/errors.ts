// Typed errors for text the analysis refuses, raised before any inference memory is spent.
import { LensError } from '../common/errors';

export const MAX_TOKENS_SETTING = 'llmLens.analysis.maxTokens';

export class EmptyTextError extends LensError {
  constructor() {
    super('emptyText', 'There is no text to analyze: select some text first.');
  }
}

export class TooManyTokensError extends LensError {
  constructor(
    /** The count, or a lower bound on it when the text was too long to be worth tokenizing. */
    readonly tokens: number,
    readonly limit: number,
    readonly atLeast: boolean,
    readonly reason: 'setting' | 'context',
  ) {
    super(
      'tooManyTokens',
      reason === 'setting'
        ? `The text has ${atLeast ? 'at least ' : ''}${tokens} tokens; the limit is ${limit} tokens per analysis (setting ${MAX_TOKENS_SETTING}). Select less text or raise the limit.`
        : `The text has ${atLeast ? 'at least ' : ''}${tokens} tokens; the model reads at most ${limit} tokens (its context length). Select less text.`,
      { tokens, limit, atLeast, reason },
    );
  }
}

/** The text is binary data (NUL bytes, mostly control characters or undecodable bytes). */
export class BinaryTextError extends LensError {
  constructor(
    readonly controlChars: number,
    readonly length: number,
  ) {
    super('binaryText', `The text looks like binary data (${controlChars} of ${length} characters are control characters or undecodable bytes); the lens reads text.`, { controlChars, length });
  }
}

/** No model is loaded in the worker yet. */
export class NoModelError extends LensError {
  constructor() {
    super('noModel', 'No model is loaded: load a model before analyzing text.');
  }
}

/** A request about an analysis the worker no longer holds (a newer one replaced it, or the worker restarted). */
export class StaleAnalysisError extends LensError {
  constructor() {
    super('staleAnalysis', 'That analysis is no longer held by the worker: analyze the text again.');
  }
}

export class InvalidOptionError extends LensError {
  constructor(detail: string) {
    super('invalidOption', `Invalid analysis option: ${detail}`);
  }
}
