// What a raw generation becomes as a suggestion: where it stops (end of line, end of block), no repeat of the text
// that follows the cursor, brackets balanced against what follows, nothing when only whitespace is left.
import type { CompletionMode } from '../../protocol/completion';

export interface SuggestionContext {
  /** Text before the cursor: at least the cursor's line; more lets brackets opened earlier be closed. */
  before: string;
  /** Text after the cursor: at least the rest of the line; the next lines let repeats of them be dropped. */
  after: string;
  mode: CompletionMode;
  /** Most lines of a multi-line suggestion (default 16). */
  maxLines?: number;
}

const DEFAULT_MAX_LINES = 16;
const OPEN = '([{';
const CLOSE = ')]}';
/** How much text before the cursor the bracket scan reads (from a line start). */
const SCAN_CHARS = 4000;

interface Shape {
  linePrefix: string;
  lineSuffix: string;
  /** Text follows the cursor on its line: the suggestion stays on this line. */
  midLine: boolean;
  baseIndent: number;
  maxLines: number;
  mode: CompletionMode;
}

function shape(ctx: SuggestionContext): Shape {
  const linePrefix = ctx.before.slice(ctx.before.lastIndexOf('\n') + 1);
  const nl = ctx.after.indexOf('\n');
  const lineSuffix = nl < 0 ? ctx.after : ctx.after.slice(0, nl);
  const midLine = lineSuffix.trim().length > 0;
  return {
    linePrefix,
    lineSuffix,
    midLine,
    baseIndent: indentOf(linePrefix),
    maxLines: ctx.maxLines ?? DEFAULT_MAX_LINES,
    mode: midLine ? 'singleLine' : ctx.mode,
  };
}

/** Width of a line's leading whitespace (a tab counts as one, as the cursor line's own indentation does). */
function indentOf(line: string): number {
  const m = /^[ \t]*/.exec(line);
  return m ? m[0].length : 0;
}

/**
 * Where the suggestion ends in `text`, or undefined when more tokens could still belong to it.
 * `final`: generation has ended, so a last line without a newline is complete.
 */
export function cutIndex(text: string, ctx: SuggestionContext, final = false): number | undefined {
  const s = shape(ctx);
  if (s.midLine) {
    const i = text.indexOf('\n');
    return i >= 0 ? i : final ? text.length : undefined;
  }
  if (s.mode === 'singleLine') {
    // The rest of this line; when that is blank, the next line instead (the model starts a new line).
    const i = text.indexOf('\n');
    if (i < 0) return final ? text.length : undefined;
    if (text.slice(0, i).trim().length > 0) return i;
    const j = text.indexOf('\n', i + 1);
    return j >= 0 ? j : final ? text.length : undefined;
  }
  // Multi-line: whole lines until the block ends (a line indented less than the cursor's line), a closing
  // bracket at the cursor line's indentation (kept), two blank lines, or the line limit.
  let pos = text.indexOf('\n');
  if (pos < 0) return final ? text.length : undefined;
  let blanks = 0;
  let blankStart = -1;
  for (let line = 1; ; line++) {
    const start = pos + 1;
    const nl = text.indexOf('\n', start);
    if (nl < 0 && !final) return undefined;
    const end = nl < 0 ? text.length : nl;
    const content = text.slice(start, end);
    if (line >= s.maxLines) return pos;
    if (content.trim().length === 0) {
      if (nl < 0) return blanks > 0 ? blankStart : pos;
      if (++blanks === 2) return blankStart;
      if (blanks === 1) blankStart = pos;
    } else {
      blanks = 0;
      const indent = indentOf(content);
      if (indent < s.baseIndent) return pos;
      if (indent === s.baseIndent && CLOSE.includes(content.trim()[0])) return end;
    }
    if (nl < 0) return end;
    pos = nl;
  }
}

/** A stop test for the generator: true once the suggestion's end is known. */
export function stopWhenDone(ctx: SuggestionContext): (text: string) => boolean {
  return (text) => cutIndex(text, ctx, false) !== undefined;
}

/**
 * The suggestion to show for a generation, '' for none.
 * `truncated`: generation stopped at a token or time budget, so a multi-line suggestion's last line may be cut short.
 */
export function finishSuggestion(raw: string, ctx: SuggestionContext, truncated = false): string {
  const s = shape(ctx);
  let text = raw.replace(/\r\n/g, '\n');
  text = text.slice(0, cutIndex(text, ctx, true) ?? text.length);
  if (truncated && s.mode === 'multiLine' && text.includes('\n')) {
    const last = text.lastIndexOf('\n');
    // Keep the first line even when cut short; drop a later one.
    if (last > 0 && text.slice(0, last).trim().length > 0) text = text.slice(0, last);
  }
  text = dropRepeatedLines(text, ctx.after);
  text = balanceBrackets(text, ctx.before, s.lineSuffix);
  if (s.midLine) text = dropOverlap(text, s.lineSuffix);
  text = text.replace(/[ \t]+$/gm, '').trimEnd();
  return text.trim().length === 0 ? '' : text;
}

/** Cuts the suggestion before a line that repeats the next non-blank line of the document after the cursor. */
function dropRepeatedLines(text: string, after: string): string {
  const nl = after.indexOf('\n');
  if (nl < 0) return text;
  const next = after
    .slice(nl + 1)
    .split('\n')
    .find((l) => l.trim().length > 0)
    ?.trim();
  if (!next) return text;
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === next) return lines.slice(0, i).join('\n');
  }
  return text;
}

/** Removes the end of a one-line suggestion that the rest of the line already holds ("x);" before ");"). */
function dropOverlap(text: string, lineSuffix: string): string {
  const rest = lineSuffix.trimStart();
  for (let k = Math.min(rest.length, text.length); k > 0; k--) {
    if (text.endsWith(rest.slice(0, k))) return text.slice(0, text.length - k);
  }
  return text;
}

/**
 * Cuts the suggestion at the first closing bracket that would close nothing, close the wrong kind, or close a
 * bracket that the rest of the line already closes: "foo(a" + ", b))" before ")" becomes ", b".
 */
export function balanceBrackets(text: string, before: string, lineSuffix: string): string {
  const from = Math.max(0, before.length - SCAN_CHARS);
  const lineStart = from === 0 ? 0 : before.indexOf('\n', from) + 1;
  const base = new BracketScanner();
  base.feed(before.slice(lineStart || from));
  const open = base.stack.length;
  // How many of the brackets open before the cursor the rest of the line closes.
  const rest = base.clone();
  let reserved = 0;
  rest.feed(lineSuffix, (_kind, popped) => {
    if (popped !== undefined && rest.stack.length < open - reserved) reserved++;
    return true;
  });
  const scan = base.clone();
  let cut = -1;
  scan.feed(text, (kind, popped, index) => {
    const depthAfter = scan.stack.length;
    // Brackets open before the cursor sit at depths 0..open-1; the rest of the line closes the top `reserved` of them.
    const closesReserved = depthAfter < open && depthAfter >= open - reserved;
    if (popped === undefined || OPEN.indexOf(popped) !== CLOSE.indexOf(kind) || closesReserved) {
      cut = index;
      return false;
    }
    return true;
  });
  return cut < 0 ? text : text.slice(0, cut).trimEnd();
}

type Mode = 'code' | "'" | '"' | '`' | 'line' | 'block';

/** Brackets outside strings and comments (C-family and Python quoting, // and /* comments). */
class BracketScanner {
  stack: string[] = [];
  private mode: Mode = 'code';

  clone(): BracketScanner {
    const c = new BracketScanner();
    c.stack = this.stack.slice();
    c.mode = this.mode;
    return c;
  }

  /**
   * Reads text; for each closing bracket in code, pops the stack and calls `onClose(kind, popped, index)`
   * (popped is undefined when nothing was open); returning false stops the scan.
   */
  feed(text: string, onClose?: (kind: string, popped: string | undefined, index: number) => boolean): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      switch (this.mode) {
        case 'code':
          if (c === '/' && text[i + 1] === '/') {
            this.mode = 'line';
            i++;
          } else if (c === '/' && text[i + 1] === '*') {
            this.mode = 'block';
            i++;
          } else if (c === "'" || c === '"' || c === '`') this.mode = c;
          else if (OPEN.includes(c)) this.stack.push(c);
          else if (CLOSE.includes(c)) {
            const popped = this.stack.pop();
            if (onClose && !onClose(c, popped, i)) return;
          }
          break;
        case 'line':
          if (c === '\n') this.mode = 'code';
          break;
        case 'block':
          if (c === '*' && text[i + 1] === '/') {
            this.mode = 'code';
            i++;
          }
          break;
        default:
          if (c === '\\') i++;
          else if (c === this.mode || (c === '\n' && this.mode !== '`')) this.mode = 'code';
      }
    }
  }
}
