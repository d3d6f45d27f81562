// Formatting shared by the views: placeholders, numbers, and token text made visible and safe to show.
import type { TokenInfo } from '../protocol/analysis';

/** Fills {0}, {1}, ... in a host-localized template. */
export function fmt(template: string, ...args: (string | number)[]): string {
  return template.replace(/\{(\d+)\}/g, (m, i: string) => (Number(i) < args.length ? String(args[Number(i)]) : m));
}

let numberLocale = 'en';
export function setLocale(locale: string): void {
  try {
    new Intl.NumberFormat(locale);
    numberLocale = locale;
  } catch {
    numberLocale = 'en';
  }
}

export function num(n: number, digits = 0): string {
  return new Intl.NumberFormat(numberLocale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
}

/** 124439808 -> "124M", 1972992 -> "1.97M" (locale-aware). */
export function compact(n: number): string {
  return new Intl.NumberFormat(numberLocale, { notation: 'compact', maximumSignificantDigits: 3 }).format(n);
}

/** A size in bytes with a decimal unit in the display language: "7.94 MB", "7,94 MB". */
export function byteSize(n: number): string {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;
  let i = 0;
  while (i < units.length - 1 && n >= 1000) {
    n /= 1000;
    i++;
  }
  return new Intl.NumberFormat(numberLocale, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumSignificantDigits: 3 }).format(n);
}

/** A probability as a short percentage: "23%", "<1%". */
export function prob(p: number): string {
  return p > 0 && p < 0.005 ? `<${num(1)}%` : `${num(p * 100)}%`;
}

/** A probability with two significant digits when small: "23.4%", "0.012%". */
export function probPrecise(p: number): string {
  if (p >= 0.01 || p === 0) return `${num(p * 100, 1)}%`;
  return `${new Intl.NumberFormat(numberLocale, { maximumSignificantDigits: 2 }).format(p * 100)}%`;
}

export function percent(x: number, digits = 1): string {
  return new Intl.NumberFormat(numberLocale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x);
}

/** A piece of a token's visible form; `mark` pieces stand for whitespace, controls or raw bytes. */
export interface Piece {
  text: string;
  mark: boolean;
  /** An escape (a byte, a control or invisible character): content, so drawn stronger than whitespace. */
  esc?: true;
}

const INVISIBLE = /[\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/;

export function byteText(bytes: readonly number[]): string {
  return bytes.map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
}

/**
 * A token as pieces a person can see: spaces as ·, tabs as →, newlines as ↵ (followed by a real
 * line break when `breaks`), control and invisible/bidi characters as escapes, partial UTF-8 as bytes.
 */
export function tokenPieces(t: Pick<TokenInfo, 'text' | 'bytes' | 'partial'>, breaks: boolean): Piece[] {
  const out: Piece[] = [];
  const push = (text: string, mark: boolean, esc = false) => {
    const last = out[out.length - 1];
    if (last && last.mark === mark && !!last.esc === esc) last.text += text;
    else out.push(esc ? { text, mark, esc: true } : { text, mark });
  };
  // Bytes below 0x80 are whole characters even in a partial token; the others show as <0xE2>.
  const s = t.partial ? t.bytes.map((b) => (b < 0x80 ? String.fromCharCode(b) : '\uFFFF')).join('') : t.text;
  let byte = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = ch.charCodeAt(0);
    if (ch === ' ') push('·', true);
    else if (ch === '\t') push('→', true);
    else if (ch === '\n') {
      push('↵', true);
      if (breaks) push('\n', false);
    } else if (ch === '\r') {
      if (s[i + 1] !== '\n') push('␍', true);
    } else if (c < 32) push(String.fromCharCode(0x2400 + c), true, true);
    else if (c === 127) push('␡', true, true);
    else if (c === 0xffff && t.partial) push(byteText([t.bytes[byte]]), true, true);
    else if (INVISIBLE.test(ch)) push(`<U+${c.toString(16).toUpperCase().padStart(4, '0')}>`, true, true);
    else push(ch, false);
    if (t.partial) byte++;
  }
  if (out.length === 0) push('∅', true, true);
  return out;
}

/** One-line label for canvases and tables; long tokens are cut with an ellipsis. */
export function tokenLabel(t: Pick<TokenInfo, 'text' | 'bytes' | 'partial'>, max = 16): string {
  const s = tokenPieces(t, false)
    .map((p) => p.text)
    .join('');
  const chars = Array.from(s);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s;
}

/** Same visibility rules for a prediction's text (no bytes known). */
export function predictionLabel(text: string, max = 16): string {
  return tokenLabel({ text, bytes: [], partial: false }, max);
}
