// The one check of text before it goes to the model: empty, whitespace only, binary, absurdly long. The worker
// refuses with it (typed errors, before any inference memory is spent) and the host asks it first, to word the
// refusal without a round trip; both therefore agree on what "binary" means.
import { BinaryTextError, EmptyTextError } from './errors';

export type TextProblem =
  | { kind: 'empty' }
  | { kind: 'whitespace' }
  | { kind: 'binary'; nul: boolean; controlChars: number }
  /** Longer than any text of maxTokens tokens could plausibly be; refused before tokenizing. */
  | { kind: 'tooLong'; chars: number }
  /** One enormous line analysed because nothing was selected: likely a minified file. */
  | { kind: 'minifiedLine'; chars: number };

/** A token rarely spans more than a few dozen characters; beyond this many per token, refuse early. */
export const MAX_CHARS_PER_TOKEN = 64;
/** A current line longer than this is not analysed whole without a selection. */
export const MINIFIED_LINE_CHARS = 4000;
/** Binary: a NUL, or at least this many odd characters making up more than BINARY_SHARE of the text. */
const BINARY_MIN_CHARS = 4;
const BINARY_SHARE = 0.05;

/** C0 controls other than tab, newline, vertical tab, form feed, carriage return; DEL; U+FFFD left by a failed decode. */
function oddChars(text: string): { odd: number; nul: boolean } {
  let odd = 0;
  let nul = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) nul = true;
    if ((c < 32 && (c < 9 || c > 13)) || c === 127 || c === 0xfffd) odd++;
  }
  return { odd, nul };
}

export function textProblem(text: string, limits: { maxTokens?: number; wholeLine?: boolean } = {}): TextProblem | undefined {
  if (text.length === 0) return { kind: 'empty' };
  const { odd, nul } = oddChars(text);
  if (nul || (odd >= BINARY_MIN_CHARS && odd / text.length > BINARY_SHARE)) return { kind: 'binary', nul, controlChars: odd };
  if (text.trim().length === 0) return { kind: 'whitespace' };
  if (limits.wholeLine && text.length > MINIFIED_LINE_CHARS) return { kind: 'minifiedLine', chars: text.length };
  if (limits.maxTokens !== undefined && text.length > limits.maxTokens * MAX_CHARS_PER_TOKEN) return { kind: 'tooLong', chars: text.length };
  return undefined;
}

/** The worker's refusal: empty and binary text throw; whitespace is text the model can read. */
export function checkText(text: string): void {
  if (typeof text !== 'string') throw new EmptyTextError();
  const p = textProblem(text);
  if (p?.kind === 'empty') throw new EmptyTextError();
  if (p?.kind === 'binary') throw new BinaryTextError(p.controlChars, text.length);
}
