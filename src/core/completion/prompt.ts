// Builds a completion prompt: the end of the text before the cursor within a token budget, and, when the model
// has fill-in-the-middle tokens, the start of the text after it, in the PSM order the model was trained on
// (<fim_prefix>prefix<fim_suffix>suffix<fim_middle>). The prefix window starts at a line start that stays put
// while the user types, so consecutive prompts share their first tokens and the KV cache can be reused.
import type { Tokenizer } from '../tokenizer/tokenizer';

export interface FimIds {
  prefix: number;
  middle: number;
  suffix: number;
}

export interface PromptOptions {
  /** Most tokens of text before the cursor. */
  prefixTokens: number;
  /** Most tokens of text after the cursor (FIM only). */
  suffixTokens: number;
  /** Use FIM when the model has its tokens (default true). */
  fim?: boolean;
  /** Token healing of plain prompts (default true). */
  heal?: boolean;
}

export interface Prompt {
  ids: number[];
  fim: boolean;
  /** Where the prefix window starts in the prefix text (UTF-16 offset). */
  prefixStart: number;
  prefixTokens: number;
  /** How much of the suffix text the prompt holds (UTF-16 length). */
  suffixLength: number;
  suffixTokens: number;
  /**
   * Token healing (plain prompts): the prefix's last token, taken off `ids`; the generation must start with its text.
   * A prompt that ends inside a token's usual span (a trailing space, half a word) reads to the model like text it
   * never saw: after "const total = " this model predicts the end of the text, after "const total =" code.
   */
  heal?: number;
}

/** Characters of text tokenized per token of budget at first; most code has 3-4 characters per token. */
const CHARS_PER_TOKEN_GUESS = 6;
/** When the window must move, it moves far enough to leave this share of the budget free for typing. */
const REANCHOR_FILL = 0.75;
/** Characters of the window's first line that identify where it starts on the next request. */
const ANCHOR_CHARS = 256;

export class PromptBuilder {
  /** The first characters of the last prefix window (which starts at a line start, or at 0). */
  private anchor: string | undefined;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly fimIds: FimIds | undefined,
  ) {}

  get hasFim(): boolean {
    return this.fimIds !== undefined;
  }

  /** Forgets where the last window started (a new document, a new model). */
  reset(): void {
    this.anchor = undefined;
  }

  build(prefix: string, suffix: string, o: PromptOptions): Prompt {
    const window = this.prefixWindow(prefix, Math.max(0, Math.floor(o.prefixTokens)));
    const fimIds = o.fim === false ? undefined : this.fimIds;
    const useFim = fimIds !== undefined && suffix.trim().length > 0 && o.suffixTokens > 0;
    if (!useFim) {
      const ids = window.ids.slice();
      const last = ids.length > 1 && o.heal !== false ? ids[ids.length - 1] : undefined;
      const heal = last !== undefined && !this.tokenizer.isSpecial(last) && !this.tokenizer.tokenText(last).includes('\uFFFD') ? ids.pop() : undefined;
      return { ids, fim: false, prefixStart: window.start, prefixTokens: window.ids.length, suffixLength: 0, suffixTokens: 0, heal };
    }
    const s = this.suffixWindow(suffix, Math.floor(o.suffixTokens));
    return {
      ids: [fimIds.prefix, ...window.ids, fimIds.suffix, ...s.ids, fimIds.middle],
      fim: true,
      prefixStart: window.start,
      prefixTokens: window.ids.length,
      suffixLength: s.length,
      suffixTokens: s.ids.length,
    };
  }

  /** The end of `prefix` in at most `budget` tokens, from a line start that stays where it was while it fits. */
  private prefixWindow(prefix: string, budget: number): { start: number; ids: number[] } {
    if (budget === 0 || prefix.length === 0) return { start: prefix.length, ids: [] };
    const anchor = this.anchor;
    let target = budget;
    if (anchor !== undefined) {
      const at = prefix.lastIndexOf(anchor);
      if (at >= 0 && (at === 0 || prefix[at - 1] === '\n')) {
        const ids = this.tokenizer.ids(prefix.slice(at));
        if (ids.length <= budget) return this.remember(prefix, at, ids);
        // The text grew past the budget: move the window far enough to leave room to type before it moves again.
        target = Math.max(1, Math.floor(budget * REANCHOR_FILL));
      }
    }
    const start = this.startFor(prefix, target);
    let ids = this.tokenizer.ids(prefix.slice(start));
    let s = start;
    if (ids.length > budget) {
      // BPE at the cut differs from the estimate: cut at a token boundary instead.
      const tokens = this.tokenizer.encode(prefix.slice(s));
      s += tokens[tokens.length - budget].start;
      ids = this.tokenizer.ids(prefix.slice(s));
      if (ids.length > budget) ids = ids.slice(ids.length - budget);
    }
    return this.remember(prefix, s, ids);
  }

  private remember(prefix: string, start: number, ids: number[]): { start: number; ids: number[] } {
    this.anchor = prefix.slice(start, start + ANCHOR_CHARS);
    return { start, ids };
  }

  /** A line start from which the rest of `text` has about `target` tokens or fewer (0 when all of it fits). */
  private startFor(text: string, target: number): number {
    let chars = target * CHARS_PER_TOKEN_GUESS;
    for (;;) {
      const from = Math.max(0, text.length - chars);
      const tokens = this.tokenizer.encode(text.slice(from));
      if (tokens.length <= target) {
        if (from === 0) return 0;
        chars *= 2;
        continue;
      }
      const cut = from + tokens[tokens.length - target].start;
      // The first line start at or after the cut; a single line longer than the budget is cut mid-line.
      const nl = text.lastIndexOf('\n', cut - 1);
      if (nl + 1 === cut) return cut;
      const next = text.indexOf('\n', cut);
      return next >= 0 && next + 1 < text.length ? next + 1 : cut;
    }
  }

  /** The start of `suffix` in at most `budget` tokens, ending at a line end when one is in reach. */
  private suffixWindow(suffix: string, budget: number): { length: number; ids: number[] } {
    const text = suffix.slice(0, budget * CHARS_PER_TOKEN_GUESS * 2);
    const tokens = this.tokenizer.encode(text);
    if (tokens.length <= budget) return { length: text.length, ids: tokens.map((t) => t.id) };
    const cut = tokens[budget].start;
    const nl = text.lastIndexOf('\n', cut - 1);
    const end = nl > 0 ? nl + 1 : cut;
    let ids = this.tokenizer.ids(text.slice(0, end));
    if (ids.length > budget) ids = ids.slice(0, budget);
    return { length: end, ids };
  }
}
