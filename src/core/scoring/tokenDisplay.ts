// Token text as a person can read it and as Markdown cannot misread it: whitespace made visible, control,
// invisible and bidirectional characters and stray UTF-8 bytes written as escapes. Token text is untrusted.

// The same marks as the analysis panel's Tokens view (src/webview/format.ts), so a token reads the same
// in a hover card as in the panel: · space, → tab, ↵ line break, ␀-style control pictures, <U+200B> for
// invisible and bidirectional characters, <0xF0> for bytes that are not a whole character.

/** Invisible, zero-width, bidirectional and other format characters that must never act on the text around them. */
function invisible(cp: number): boolean {
  return (
    cp === 0xa0 ||
    cp === 0xad ||
    cp === 0x034f ||
    cp === 0x061c ||
    (cp >= 0x115f && cp <= 0x1160) ||
    (cp >= 0x17b4 && cp <= 0x17b5) ||
    (cp >= 0x180b && cp <= 0x180f) ||
    (cp >= 0x2000 && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202f) ||
    (cp >= 0x205f && cp <= 0x206f) ||
    cp === 0x3000 ||
    cp === 0x3164 ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    cp === 0xfeff ||
    cp === 0xffa0 ||
    (cp >= 0xfff0 && cp <= 0xfffd) ||
    (cp >= 0xe0000 && cp <= 0xe0fff) ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    (cp >= 0x80 && cp <= 0x9f)
  );
}

/** How one character shows; `next` is the character after it (a CR before a LF shows as nothing, as in the panel). */
function showCodePoint(cp: number, next: number | undefined): string {
  if (cp === 0x20) return '·';
  if (cp === 0x09) return '→';
  if (cp === 0x0a) return '↵';
  if (cp === 0x0d) return next === 0x0a ? '' : '␍';
  if (cp < 0x20) return String.fromCharCode(0x2400 + cp);
  if (cp === 0x7f) return '␡';
  if (invisible(cp)) return `<U+${cp.toString(16).toUpperCase().padStart(4, '0')}>`;
  return String.fromCodePoint(cp);
}

const hex2 = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');

/**
 * The token's bytes as readable text: whole UTF-8 characters as themselves (whitespace made visible,
 * invisible characters escaped), bytes that are not a whole character as <0xNN>. At most `maxChars` shown
 * characters, then "…".
 */
export function visibleTokenText(bytes: readonly number[], maxChars = 48): string {
  const parts: string[] = [];
  let i = 0;
  while (i < bytes.length && parts.length < maxChars) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let cp = -1;
    if (len === 1) cp = b;
    else if (len > 1 && i + len <= bytes.length) {
      cp = b & (0xff >> (len + 1));
      for (let j = 1; j < len; j++) {
        const c = bytes[i + j];
        if ((c & 0xc0) !== 0x80) {
          cp = -1;
          break;
        }
        cp = (cp << 6) | (c & 0x3f);
      }
      // Overlong forms and surrogates are not characters.
      const min = [0, 0, 0x80, 0x800, 0x10000][len];
      if (cp !== -1 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) cp = -1;
    }
    if (cp === -1) {
      parts.push(`<0x${hex2(b)}>`);
      i++;
    } else {
      parts.push(showCodePoint(cp, bytes[i + len]));
      i += len;
    }
  }
  if (bytes.length === 0) return '∅';
  return parts.join('') + (i < bytes.length ? '…' : '');
}

/** Text as it is shown for a string (a vocabulary token's decoded text, which is already whole characters). */
export function visibleText(text: string, maxChars = 48): string {
  if (text.length === 0) return '∅';
  const chars = Array.from(text);
  const parts = chars.slice(0, maxChars).map((ch, i) => showCodePoint(ch.codePointAt(0)!, chars[i + 1]?.codePointAt(0)));
  return parts.join('') + (chars.length > maxChars ? '…' : '');
}

/** Bytes as hex pairs: "20 66 6F 6F" (at most `max`, then "…"). */
export function hexBytes(bytes: readonly number[], max = 16): string {
  const shown = bytes.slice(0, max).map(hex2).join(' ');
  return bytes.length > max ? `${shown} …` : shown;
}

/**
 * A Markdown inline code span holding `s` literally: the fence is longer than any run of backticks in it.
 * Inside a code span nothing is a link, emphasis or HTML. `s` must not hold a line break (visible text never does).
 */
export function markdownCode(s: string): string {
  let longest = 0;
  for (const m of s.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(longest + 1);
  if (s.length === 0) return '` `';
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A fenced code block holding `lines` literally (a fence longer than any run of backticks in them). */
export function markdownCodeBlock(lines: string[]): string {
  let longest = 2;
  for (const l of lines) for (const m of l.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${lines.map((l) => l.replace(/[\r\n]/g, ' ')).join('\n')}\n${fence}\n`;
}
