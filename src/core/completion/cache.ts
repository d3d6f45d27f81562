// An LRU cache of recent suggestions, keyed by the text around the cursor. It also answers "typing through": when
// the text before the cursor is a cached prefix plus the start of its suggestion, the rest of that suggestion.
import { Lru } from '../common/lru';

export interface CachedSuggestion {
  text: string;
  /** Characters of the original suggestion already typed (0 for an exact hit). */
  typed: number;
}

interface Entry {
  prefix: string;
  suffix: string;
  text: string;
}

/** Text before the cursor kept per entry: enough to tell positions apart without holding whole files. */
const PREFIX_CHARS = 2000;
const SUFFIX_CHARS = 500;

export class SuggestionCache {
  private readonly entries: Lru<string, Entry>;

  constructor(capacity = 64) {
    this.entries = new Lru(capacity);
  }

  get size(): number {
    return this.entries.size;
  }

  /** `options` distinguishes requests whose suggestions differ for the same text (mode, budgets, model). */
  get(prefix: string, suffix: string, options = ''): CachedSuggestion | undefined {
    const p = prefix.slice(-PREFIX_CHARS);
    const s = suffix.slice(0, SUFFIX_CHARS);
    const key = keyOf(options, p, s);
    const exact = this.entries.get(key);
    if (exact) return { text: exact.text, typed: 0 };
    // Typing through: newest first, an entry whose prefix plus the start of its suggestion is the prefix now.
    for (const [k, e] of this.entries.newestFirst()) {
      if (e.suffix !== s || !k.startsWith(options + '\u0000') || e.text.length === 0) continue;
      const typed = typedThrough(e, prefix);
      if (typed === undefined) continue;
      const rest = e.text.slice(typed);
      // Typed to its end (or only whitespace is left): time for a new suggestion.
      if (rest.trim().length === 0) continue;
      this.entries.get(k); // now the most recently used
      return { text: rest, typed };
    }
    return undefined;
  }

  set(prefix: string, suffix: string, text: string, options = ''): void {
    const p = prefix.slice(-PREFIX_CHARS);
    const s = suffix.slice(0, SUFFIX_CHARS);
    const key = keyOf(options, p, s);
    this.entries.set(key, { prefix: p, suffix: s, text });
  }

  clear(): void {
    this.entries.clear();
  }

}

function keyOf(options: string, prefix: string, suffix: string): string {
  return `${options}\u0000${suffix}\u0000${prefix}`;
}

/** How many characters of e.text follow e.prefix at the end of `prefix` (at least one, fewer than all), or undefined. */
function typedThrough(e: Entry, prefix: string): number | undefined {
  const max = Math.min(e.text.length - 1, prefix.length - e.prefix.length);
  for (let typed = 1; typed <= max; typed++) {
    const at = prefix.length - typed;
    // The typed characters are the suggestion's first ones, and the text before them ends as the entry's did.
    if (prefix.startsWith(e.text.slice(0, typed), at) && prefix.startsWith(e.prefix, at - e.prefix.length)) return typed;
  }
  return undefined;
}
