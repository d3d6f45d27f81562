// The checks every Why request makes on its text and position, and the token list it answers with.
import type { LoadedModel } from '../session/modelSession';
import { checkText } from '../analysis/textCheck';
import { EmptyTextError, InvalidOptionError, TooManyTokensError } from '../analysis/errors';
import { DEFAULT_MAX_TOKENS } from '../analysis/options';

export interface WhyText {
  ids: number[];
  tokens: { id: number; text: string }[];
  position: number;
}

export function whyText(model: LoadedModel, text: string, position: number | undefined, maxTokens = DEFAULT_MAX_TOKENS): WhyText {
  checkText(text);
  const limit = Math.min(maxTokens, model.spec.nCtx);
  const enc = model.tokenizer.encode(text);
  if (enc.length === 0) throw new EmptyTextError();
  if (enc.length > limit) throw new TooManyTokensError(enc.length, limit, false, limit === model.spec.nCtx ? 'context' : 'setting');
  const T = enc.length;
  const p = position ?? T - 1;
  if (!Number.isInteger(p) || p < 0 || p >= T) throw new InvalidOptionError(`position must be a token index 0..${T - 1}, not ${JSON.stringify(position)}.`);
  return { ids: enc.map((t) => t.id), tokens: enc.map((t) => ({ id: t.id, text: model.tokenizer.tokenText(t.id) })), position: p };
}

/** A candidate continuation as typed, in tokens; refused when it is empty or makes no token. */
export function continuationIds(model: LoadedModel, text: unknown): number[] {
  if (typeof text !== 'string' || text.length === 0 || text.length > 200) throw new InvalidOptionError(`a target must be a non-empty string of at most 200 characters, not ${JSON.stringify(text)?.slice(0, 60)}.`);
  const ids = model.tokenizer.ids(text);
  if (ids.length === 0) throw new InvalidOptionError(`the target ${JSON.stringify(text)} makes no token.`);
  if (ids.length > 16) throw new InvalidOptionError(`the target ${JSON.stringify(text.slice(0, 40))} is ${ids.length} tokens; at most 16.`);
  return ids;
}
