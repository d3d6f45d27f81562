// core/tokenizer/pieces.ts: the fast path's split of text into pre-token pieces, the same pieces the library's own
// pre-tokenizer makes, so that the tokenizer can memoise the BPE ids of each piece.
//
// Each stage is the library's own compiled RegExp (its translation of the tokenizer.json pattern to a JS RegExp with
// the `u` flag, e.g. Qwen's "(?i:'s|'t|...)" group becomes "'[sS]|'[tT]|..."), so the pieces cannot drift from the
// library's. A Sequence applies each pre-tokenizer to every piece of the one before: Digits then ByteLevel's regex on
// each stretch between digits (SmolLM2) differs from one regex over the whole text ("a  1": the spaces end at the
// digit), so stages run nested, not merged.
import { ByteLevelPreTokenizer, DigitsPreTokenizer, SequencePreTokenizer, SplitPreTokenizer, type PreTokenizer } from '@huggingface/tokenizers';

interface Stage {
  pattern: RegExp;
  /** Text between matches is a piece too (Split, Isolated); else only matches are (String.match, as the library's
   *  Digits and ByteLevel do; their patterns match every character anyway). */
  keepGaps: boolean;
}

export class PieceSplitter {
  private constructor(
    private readonly stages: Stage[],
    /** ByteLevel's add_prefix_space: a space goes before text that does not start with one. */
    readonly prefixSpace: boolean,
  ) {}

  /**
   * A splitter equal to `pre`, or undefined where the fast path cannot reproduce it exactly (then the library's
   * encode runs). Handled: ByteLevel (with or without its regex, add_prefix_space only alone), and Sequences of
   * Split (Isolated, not inverted), Digits and a final ByteLevel without add_prefix_space.
   */
  static of(pre: PreTokenizer | null): PieceSplitter | undefined {
    const list = flatten(pre);
    const last = list?.[list.length - 1];
    if (!list || !(last instanceof ByteLevelPreTokenizer)) return undefined;
    // In a Sequence the prefix space goes before every piece; only the lone ByteLevel's single space is handled.
    if (last.add_prefix_space && list.length > 1) return undefined;
    const stages: Stage[] = [];
    for (const p of list.slice(0, -1)) {
      if (p instanceof SplitPreTokenizer) {
        const behavior = String(p.config.behavior ?? '').toLowerCase();
        if (p.config.invert || behavior !== 'isolated' || !(p.pattern instanceof RegExp)) return undefined;
        stages.push({ pattern: globalCopy(p.pattern), keepGaps: true });
      } else if (p instanceof DigitsPreTokenizer && p.pattern instanceof RegExp) {
        stages.push({ pattern: globalCopy(p.pattern), keepGaps: false });
      } else {
        return undefined;
      }
    }
    if (last.use_regex) {
      if (!(last.pattern instanceof RegExp)) return undefined;
      stages.push({ pattern: globalCopy(last.pattern), keepGaps: false });
    }
    return new PieceSplitter(stages, last.add_prefix_space);
  }

  /** Calls `onPiece` with each piece of `text`, in order; the prefix space is the caller's. */
  split(text: string, onPiece: (piece: string) => void): void {
    this.splitStage(0, text, onPiece);
  }

  private splitStage(i: number, text: string, onPiece: (piece: string) => void): void {
    if (i === this.stages.length) {
      onPiece(text);
      return;
    }
    const { pattern: re, keepGaps } = this.stages[i];
    re.lastIndex = 0;
    let prev = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const at = m.index;
      const piece = m[0];
      if (keepGaps && at > prev) this.splitStage(i + 1, text.slice(prev, at), onPiece);
      if (piece.length === 0) {
        // An empty match ends no piece; step over one code point, as matchAll does with the `u` flag.
        re.lastIndex = at + (at + 1 < text.length && (text.charCodeAt(at) & 0xfc00) === 0xd800 && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00 ? 2 : 1);
        prev = at;
        continue;
      }
      this.splitStage(i + 1, piece, onPiece);
      prev = at + piece.length;
    }
    if (keepGaps && prev < text.length) this.splitStage(i + 1, text.slice(prev), onPiece);
  }
}

/** The pre-tokenizers of `pre` in order, Sequences flattened; undefined for none. */
function flatten(pre: PreTokenizer | null): PreTokenizer[] | undefined {
  if (!pre) return undefined;
  if (!(pre instanceof SequencePreTokenizer)) return [pre];
  const out: PreTokenizer[] = [];
  for (const p of pre.tokenizers) {
    const inner = flatten(p);
    if (!inner) return undefined;
    out.push(...inner);
  }
  return out;
}

function globalCopy(p: RegExp): RegExp {
  return new RegExp(p.source, p.flags.includes('g') ? p.flags : p.flags + 'g');
}
