// Cheap checks on text before it goes to the model: empty, whitespace only, binary, absurdly long.
// No vscode import; the analysis view turns each problem into a message a person can act on.

export type TextProblem =
  | { kind: 'empty' }
  | { kind: 'whitespace' }
  | { kind: 'binary'; nul: boolean }
  /** Longer than any text of maxTokens tokens could plausibly be; refused before tokenizing. */
  | { kind: 'tooLong'; chars: number }
  /** One enormous line analysed because nothing was selected: likely a minified file. */
  | { kind: 'minifiedLine'; chars: number };

/** A GPT-2 token rarely spans more than a few dozen characters; beyond this many per token, refuse early. */
export const MAX_CHARS_PER_TOKEN = 64;
/** A current line longer than this is not analysed whole without a selection. */
export const MINIFIED_LINE_CHARS = 4000;

export function checkText(text: string, maxTokens: number, wholeLine = false): TextProblem | undefined {
  if (text.length === 0) return { kind: 'empty' };
  if (text.trim().length === 0) return { kind: 'whitespace' };
  const sample = text.length > 65536 ? text.slice(0, 65536) : text;
  if (sample.includes('\0')) return { kind: 'binary', nul: true };
  let odd = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    // C0 controls other than tab, newline, vertical tab, form feed, carriage return; DEL; U+FFFD left by a failed decode.
    if ((c < 32 && (c < 9 || c > 13)) || c === 127 || c === 0xfffd) odd++;
  }
  if (odd >= 4 && odd / sample.length > 0.05) return { kind: 'binary', nul: false };
  if (wholeLine && text.length > MINIFIED_LINE_CHARS) return { kind: 'minifiedLine', chars: text.length };
  if (text.length > maxTokens * MAX_CHARS_PER_TOKEN) return { kind: 'tooLong', chars: text.length };
  return undefined;
}
