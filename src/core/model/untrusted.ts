// Text from a model's files (config values, graph and tensor names, external data locations, the files' own bytes)
// reaches error messages, reports and logs only through these helpers: bounded, with control, bidi and line
// separator characters escaped, so that a hostile file cannot fill a notification with kilobytes, forge log lines,
// reorder a message, or have a secret it points at (a config.json linked to /etc/passwd) quoted back.

/** Longest name quoted whole; longer ones are cut and their length given. */
const MAX_NAME = 80;

// C0 and C1 controls, DEL, the bidi marks, embeddings, overrides and isolates, line and paragraph separators,
// the BOM, and lone surrogates (left behind by cutting, or in the file).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const UNSAFE_OR_QUOTE = new RegExp(`${UNSAFE.source}|["\\\\]`, 'g');
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `s` with unsafe characters written as escapes, cut to `max` code points (marked with …). */
export function cleanText(s: string, max = MAX_NAME): string {
  return escape(cut(s, max), false);
}

/** A name from a file, for a message: quoted, escaped, and cut with its full length given when long. */
export function quoteName(name: unknown, max = MAX_NAME): string {
  const s = typeof name === 'string' ? name : String(name ?? '');
  const length = Array.from(s).length;
  const quoted = `"${escape(cut(s, max), true)}"`;
  return length > max ? `${quoted} (${length} characters)` : quoted;
}

// Cut by code points, so that a surrogate pair is never split.
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const points = Array.from(s);
  return points.length > max ? points.slice(0, max).join('') + '…' : s;
}

function escape(s: string, quotes: boolean): string {
  const write = (c: string) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  // One pass, so that an escape written here is never escaped again.
  return quotes ? s.replace(UNSAFE_OR_QUOTE, (c) => (c === '"' || c === '\\' ? `\\${c}` : write(c))) : s.replace(UNSAFE, write);
}

/** Up to `max` names quoted, then how many more. */
export function quoteNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).map((n) => quoteName(n, 40));
  return names.length > max ? `${shown.join(', ')} and ${names.length - max} more` : shown.join(', ');
}

/** A JSON value from a file, for "must be X, not <value>": numbers and booleans as written, strings quoted and cut, containers by kind. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return quoteName(v, 40);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * Why `text` is not JSON, without quoting it (JSON.parse's own message embeds a snippet of the text): where the
 * first character that breaks the grammar is, or that the text ends early.
 */
export function jsonProblem(text: string): string {
  const at = jsonErrorOffset(text);
  if (at < 0) return 'it is not valid JSON.';
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  if (at >= text.length) return `it is not valid JSON (it ends at position ${at}, line ${line}, before the value is complete).`;
  return `it is not valid JSON (at position ${at}, line ${line} column ${at - lineStart + 1}).`;
}

/**
 * Offset of the first character at which `text` stops being JSON (RFC 8259), text.length when it ends before
 * the value is complete, -1 when it is valid. Iterative, so that deep nesting cannot overflow the stack.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  let i = 0;
  /** Open containers: '{' or '['. */
  const open: string[] = [];
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const digits = (): boolean => {
    const start = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') i++;
    return i > start;
  };
  /** Reads a string at i (which must be '"'); false with i at the bad character. */
  const string = (): boolean => {
    if (text[i] !== '"') return false;
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        i++;
        if (i >= n) return false;
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k;
              return false;
            }
          }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) return false;
      }
      i++;
    }
    return false;
  };
  /** Reads a number at i; false with i at the bad character. */
  const number = (): boolean => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (!digits()) return false;
    if (text[i] === '.') {
      i++;
      if (!digits()) return false;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!digits()) return false;
    }
    return true;
  };
  /** After '{' or ',' in an object: a key and its colon. */
  const key = (): boolean => {
    ws();
    if (!string()) return false;
    ws();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };

  for (;;) {
    // A value is expected at i.
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') i++;
      else {
        if (!key()) return i;
        open.push('{');
        continue;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') i++;
      else {
        open.push('[');
        continue;
      }
    } else if (c === '"') {
      if (!string()) return i;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      if (!number()) return i;
    } else {
      const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
      if (!word) return i;
      i += word.length;
    }
    // A value ended: close containers, or go on after a comma.
    for (;;) {
      ws();
      const top = open[open.length - 1];
      if (top === undefined) return i === n ? -1 : i;
      if (text[i] === ',') {
        i++;
        if (top === '{' && !key()) return i;
        break;
      }
      if ((top === '{' && text[i] === '}') || (top === '[' && text[i] === ']')) {
        open.pop();
        i++;
        continue;
      }
      return i;
    }
  }
}
