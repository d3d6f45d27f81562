// Tokenizer formats beyond GPT-2's: Qwen2.5 (NFC normalizer, Split with a "(?i:...)" regex, added tokens after the
// vocabulary), SmolLM2 (Digits + ByteLevel, added tokens inside the vocabulary, bytes missing from it), Llama 3
// (ignore_merges). Small vocabularies in the real formats: ids equal to the library's own encode, spans of the
// original text.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Tokenizer, TokenizerFormatError } from '../../src/core/tokenizer/tokenizer';
import type { TokenInfo } from '../../src/protocol/analysis';
import { mulberry32 } from '../../src/core/common/random';
import { gpt2TokenizerJson } from './helpers/gpt2Tokenizer';
import { middleOfThreeMs } from './helpers/timing';

const QWEN_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const QWEN_ADDED = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>', '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>', '<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>'];
const SMOL_ADDED = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<repo_name>', '<reponame>', '<file_sep>', '<filename>', '<gh_stars>', '<issue_start>', '<issue_comment>', '<issue_closed>', '<jupyter_start>', '<jupyter_text>', '<jupyter_code>', '<jupyter_output>', '<jupyter_script>', '<empty_output>'];
const STARCODER_ADDED = ['<|endoftext|>', '<fim_prefix>', '<fim_middle>', '<fim_suffix>', '<fim_pad>', '<filename>', '<gh_stars>'];

const qwenPre = (pattern = QWEN_PATTERN) => ({
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  ],
});
const smolPre = {
  type: 'Sequence',
  pretokenizers: [
    { type: 'Digits', individual_digits: true },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  ],
};

/** GPT-2's byte alphabet, written independently of the tokenizer's. */
const BYTE_CHAR: string[] = (() => {
  const t: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    t[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return t;
})();
const utf8 = new TextEncoder();
/** The byte-level spelling of a text ("Ġthe" for " the"). */
const sym = (text: string) => Array.from(utf8.encode(text), (b) => BYTE_CHAR[b]).join('');
const symBytes = (...bytes: number[]) => bytes.map((b) => BYTE_CHAR[b]).join('');

// Merges in the byte-level alphabet: words, a contraction in both cases, digits (which Digits keeps apart),
// whitespace runs, CRLF, é (C3 A9), 中 (E4 B8 AD), the first half of 😀 (F0 9F).
const MERGES: [string, string][] = [
  [sym(' '), sym('t')],
  [sym('h'), sym('e')],
  [sym(' t'), sym('he')],
  [sym('i'), sym('n')],
  [sym(' '), sym('=')],
  [sym('d'), sym('o')],
  [sym('do'), sym('n')],
  [sym('D'), sym('O')],
  [sym('DO'), sym('N')],
  [sym("'"), sym('t')],
  [sym("'"), sym('T')],
  [sym('1'), sym('2')],
  [sym('12'), sym('3')],
  [sym(' '), sym(' ')],
  [sym('  '), sym('  ')],
  [sym('\r'), sym('\n')],
  [sym('\n'), sym('\n')],
  [symBytes(0xc3), symBytes(0xa9)],
  [sym('c'), sym('a')],
  [sym('ca'), sym('f')],
  [sym('caf'), sym('é')],
  [symBytes(0xe4), symBytes(0xb8)],
  [symBytes(0xe4, 0xb8), symBytes(0xad)],
  [symBytes(0xf0), symBytes(0x9f)],
  [sym('x'), sym(' ')],
  [sym('o'), sym('k')],
  [sym(' '), sym('ok')],
];

interface Format {
  normalizer?: object | null;
  pre: object;
  added: string[];
  /** Added tokens take the first ids and are in the vocabulary too (SmolLM2); else they follow it (Qwen2.5). */
  addedFirst?: boolean;
  ignoreMerges?: boolean;
  /** Bytes left out of the vocabulary (SmolLM2 lacks some). */
  missingBytes?: number[];
  /** Vocabulary tokens no merge builds (for ignore_merges). */
  extra?: string[];
}

function tokenizerJson(f: Format): object {
  const vocab: Record<string, number> = {};
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  if (f.addedFirst) f.added.forEach(add);
  for (let b = 0; b < 256; b++) if (!f.missingBytes?.includes(b)) add(BYTE_CHAR[b]);
  for (const [a, b] of MERGES) add(a + b);
  (f.extra ?? []).forEach(add);
  const size = Object.keys(vocab).length;
  const added = f.added.map((content, i) => ({ id: f.addedFirst ? vocab[content] : size + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: f.normalizer ?? null,
    pre_tokenizer: f.pre,
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: !!f.ignoreMerges, vocab, merges: MERGES.map(([a, b]) => `${a} ${b}`) },
  };
}

const QWEN: Format = { normalizer: { type: 'NFC' }, pre: qwenPre(), added: QWEN_ADDED };
const SMOL: Format = { pre: smolPre, added: SMOL_ADDED, addedFirst: true };

function libraryIds(json: object, text: string): number[] {
  const j = { ...(json as Record<string, unknown>), added_tokens: [] };
  return new HfTokenizer(j, { clean_up_tokenization_spaces: false }).encode(text, { add_special_tokens: false }).ids;
}

/**
 * The span contract: monotone spans with no gap that cover the text; the tokens' bytes are the UTF-8 of NFC(text);
 * a whole token's bytes are the UTF-8 of NFC of its span (of the span itself where the text is NFC).
 */
function checkSpans(tok: Tokenizer, text: string, nfc: boolean): TokenInfo[] {
  const tokens = tok.encode(text);
  const model = nfc ? text.normalize('NFC') : text;
  assert.deepEqual(Uint8Array.from(tokens.flatMap((t) => t.bytes)), utf8.encode(model), 'bytes of the tokens = UTF-8 of the normalized text');
  assert.deepEqual(
    tokens.map((t) => t.id),
    tok.ids(text),
  );
  let prevStart = 0;
  let prevEnd = 0;
  tokens.forEach((t, i) => {
    const where = `token ${i} of ${JSON.stringify(text)}: ${JSON.stringify(t)}`;
    assert.ok(t.start >= prevStart && t.end >= prevEnd && t.start <= prevEnd && t.end > t.start, where);
    const slice = text.slice(t.start, t.end);
    if (!t.partial) {
      assert.deepEqual(Array.from(utf8.encode(slice.normalize('NFC'))), t.bytes, where);
      if (model === text) assert.deepEqual(Array.from(utf8.encode(slice)), t.bytes, where);
    }
    prevStart = t.start;
    prevEnd = t.end;
  });
  if (text.length > 0) {
    assert.equal(tokens[0].start, 0);
    assert.equal(tokens[tokens.length - 1].end, text.length);
  }
  return tokens;
}

const TEXTS = [
  'x = 12345',
  'for (let i = 0; i < 100; i++) {\r\n\treturn a1b22c333;\r\n}\r\n',
  "don't DON'T Don'T we're I'LL she'S",
  'café',
  'cafe\u0301 ok',
  'Ångström \u212Bngstro\u0308m A\u030Angstrom',
  'naïve nai\u0308ve',
  'e\u0301😀 👍🏽 👨‍👩‍👧 🇵🇹',
  '中文字符，日本語',
  '\u1100\u1161\u11A8 \uAC00\u11A8 한국어',
  'a\u0323\u0301 x\u0301\u0323y \u0301start',
  '\uF900\uF901 \u2126',
  'x' + ' '.repeat(40) + 'y\n\n\n' + '\t'.repeat(9) + '  \r\n  z',
  '   leading and trailing   ',
  'a  1  22 333',
  '<|fim_prefix|>def f():<|fim_suffix|><|endoftext|>',
  '\u00a0nbsp\u200bzwsp\uFEFFbom',
];

describe('tokenizer formats: Qwen2.5 (NFC, Split with (?i:...))', () => {
  const json = tokenizerJson(QWEN);
  const tok = Tokenizer.fromJson(json);

  it('gives the library ids and keeps spans of the original text', () => {
    for (const text of TEXTS) {
      assert.deepEqual(tok.ids(text), libraryIds(json, text), JSON.stringify(text));
      checkSpans(tok, text, true);
    }
  });

  it("splits contractions case-insensitively ((?i:'t) catches 'T)", () => {
    const tokens = tok.encode("DON'T don't");
    assert.deepEqual(
      tokens.map((t) => t.text),
      ['DON', "'T", ' ', 'don', "'t"],
    );
  });

  it('spans a composed token over the decomposed original: "e" + U+0301 is one é', () => {
    const text = 'cafe\u0301 ok';
    const tokens = checkSpans(tok, text, true);
    assert.deepEqual(
      tokens.map((t) => [t.text, t.start, t.end, t.partial]),
      [
        ['café', 0, 5, false],
        [' ok', 5, 8, false],
      ],
    );
    // The same text composed: the same ids, spans one code unit shorter.
    assert.deepEqual(
      tok.ids('café ok'),
      tokens.map((t) => t.id),
    );
    assert.equal(tok.decode(tok.ids(text)), 'café ok');
  });

  it('spans a composed character split across tokens: each part covers the whole original sequence', () => {
    // U+1100 U+1161 U+11A8 compose to 각 (EA B0 81), three byte tokens.
    const text = 'a\u1100\u1161\u11A8b';
    const tokens = checkSpans(tok, text, true);
    const parts = tokens.filter((t) => t.partial);
    assert.equal(parts.length, 3, JSON.stringify(tokens));
    for (const p of parts) assert.deepEqual([p.start, p.end], [1, 4]);
    // A singleton: U+212B ANGSTROM SIGN is Å (C3 85) after NFC, two partial tokens over its one code unit.
    for (const t of tok.encode('\u212B').filter((x) => x.partial)) assert.deepEqual([t.start, t.end], [0, 1]);
  });

  it('keeps spans where NFC reorders marks or leaves text as it is', () => {
    const text = 'x\u0301\u0323y';
    assert.notEqual(text.normalize('NFC'), text);
    const tokens = checkSpans(tok, text, true);
    assert.deepEqual([tokens[0].start, tokens[0].end, tokens[0].text], [0, 1, 'x']);
    assert.deepEqual([tokens[tokens.length - 1].start, tokens[tokens.length - 1].end, tokens[tokens.length - 1].text], [3, 4, 'y']);
  });

  it('finds eos and the FIM tokens by their Qwen names and never parses them out of user text', () => {
    const id = (c: string) => tok.addedTokenId(c)!;
    assert.equal(tok.vocabSize, id('<|file_sep|>') + 1);
    assert.deepEqual(tok.specialTokens(), { eos: id('<|endoftext|>'), fimPrefix: id('<|fim_prefix|>'), fimMiddle: id('<|fim_middle|>'), fimSuffix: id('<|fim_suffix|>') });
    assert.equal(id('<|fim_middle|>') - id('<|endoftext|>'), 151660 - 151643, 'the real order of the added tokens');
    assert.equal(tok.idOf('<|im_end|>'), id('<|im_end|>'));
    assert.equal(tok.addedTokenId('<|not_a_token|>'), undefined);
    assert.equal(tok.addedTokenId(sym(' the')), undefined, 'an ordinary token is not an added one');
    const typed = '<|fim_prefix|>x<|im_end|>';
    const ids = tok.ids(typed);
    assert.ok(!ids.some((i) => tok.isSpecial(i)), 'typed special tokens are ordinary text');
    assert.equal(tok.decode(ids), typed);
    assert.deepEqual(tok.idsWithSpecials(typed), [id('<|fim_prefix|>'), ...tok.ids('x'), id('<|im_end|>')]);
  });

  it('accepts NFC inside a Sequence', () => {
    const j = tokenizerJson({ ...QWEN, normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }] } });
    const text = 'cafe\u0301 x = 12';
    assert.deepEqual(Tokenizer.fromJson(j).ids(text), libraryIds(j, text));
    checkSpans(Tokenizer.fromJson(j), text, true);
  });
});

describe('tokenizer formats: SmolLM2 (Digits + ByteLevel, added tokens in the vocabulary)', () => {
  const json = tokenizerJson(SMOL);
  const tok = Tokenizer.fromJson(json);

  it('gives the library ids and keeps spans', () => {
    for (const text of TEXTS) {
      assert.deepEqual(tok.ids(text), libraryIds(json, text), JSON.stringify(text));
      checkSpans(tok, text, false);
    }
  });

  it('splits digits one by one though merges join them', () => {
    const tokens = checkSpans(tok, 'x = 12345', false);
    assert.deepEqual(
      tokens.map((t) => t.text),
      ['x', ' =', ' ', '1', '2', '3', '4', '5'],
    );
    // Without Digits the same vocabulary joins them: the merges are there.
    const plain = Tokenizer.fromJson(tokenizerJson({ ...SMOL, pre: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } }));
    assert.ok(plain.encode('12345').some((t) => t.text === '123'));
  });

  it('has end of text and no FIM tokens; ChatML tokens by content', () => {
    assert.deepEqual(tok.specialTokens(), { eos: 0 });
    assert.equal(tok.addedTokenId('<|im_start|>'), 1);
    assert.equal(tok.addedTokenId('<|im_end|>'), 2);
    assert.equal(tok.tokenText(2), '<|im_end|>');
    assert.ok(!tok.ids('<|im_end|><|endoftext|>').some((i) => i <= 16));
  });

  it('finds StarCoder FIM names', () => {
    const star = Tokenizer.fromJson(tokenizerJson({ ...SMOL, added: STARCODER_ADDED }));
    assert.deepEqual(star.specialTokens(), { eos: 0, fimPrefix: 1, fimMiddle: 2, fimSuffix: 3 });
    assert.ok(!star.ids('<fim_prefix>').includes(1));
  });

  it('drops bytes the vocabulary lacks, as the library does; the next token takes in their characters', () => {
    // U+46131 is F1 86 84 B1; 0x01 and 0xF1 are missing.
    const j = tokenizerJson({ ...SMOL, missingBytes: [0x01, 0xf1] });
    const t = Tokenizer.fromJson(j);
    const texts = ['a\u0001b', 'x\u{46131}y', '\u0001', 'end\u0001', '\u0001\u0001start 12', 'é\u0001\u{46131}\u{46131}中'];
    for (const text of texts) {
      assert.deepEqual(t.ids(text), libraryIds(j, text), JSON.stringify(text));
      const tokens = t.encode(text);
      const kept = Array.from(utf8.encode(text)).filter((b) => b !== 0x01 && b !== 0xf1);
      assert.deepEqual(
        tokens.flatMap((x) => x.bytes),
        kept,
      );
      let prevEnd = 0;
      for (const x of tokens) {
        assert.ok(x.start <= prevEnd && x.end > x.start && x.end >= prevEnd, JSON.stringify([text, tokens]));
        prevEnd = x.end;
      }
      if (tokens.length > 0) assert.deepEqual([tokens[0].start, prevEnd], [0, text.length]);
    }
    assert.deepEqual(
      t.encode('a\u0001b').map((x) => [x.text, x.start, x.end, x.partial]),
      [
        ['a', 0, 1, false],
        ['b', 1, 3, false],
      ],
    );
    assert.deepEqual(t.encode('\u0001'), []);
    const split = t.encode('x\u{46131}y');
    assert.deepEqual(
      split.map((x) => [x.start, x.end, x.partial]),
      [
        [0, 1, false],
        [1, 3, true],
        [1, 3, true],
        [1, 3, true],
        [3, 4, false],
      ],
    );
  });
});

describe('tokenizer formats: Llama 3 (ignore_merges)', () => {
  const base: Format = { pre: qwenPre(LLAMA3_PATTERN), added: ['<|begin_of_text|>', '<|end_of_text|>'], extra: [sym('hello'), sym(' world')] };

  it('keeps a pre-token that is in the vocabulary whole instead of merging it', () => {
    const on = tokenizerJson({ ...base, ignoreMerges: true });
    const off = tokenizerJson({ ...base, ignoreMerges: false });
    const text = 'hello world, x = 12345';
    const tOn = Tokenizer.fromJson(on);
    const tOff = Tokenizer.fromJson(off);
    assert.deepEqual(tOn.ids(text), libraryIds(on, text));
    assert.deepEqual(tOff.ids(text), libraryIds(off, text));
    const words = (t: Tokenizer) => t.encode('hello world').map((x) => x.text);
    assert.deepEqual(words(tOn), ['hello', ' world']);
    assert.deepEqual(words(tOff), ['he', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd']);
    // \p{N}{1,3}: numbers in groups of up to three digits.
    assert.deepEqual(
      tOn.encode('12345').map((x) => x.text),
      ['123', '4', '5'],
    );
    assert.deepEqual(tOn.specialTokens(), { eos: tOn.addedTokenId('<|end_of_text|>') });
    for (const t of TEXTS) checkSpans(tOn, t, false);
  });
});

describe('tokenizer formats: random text', () => {
  const ALPHABET = ['a', 'Z', 'e', ' ', '  ', '\t', '\r\n', '\n', 'é', 'e\u0301', '\u0301', '\u0323', 'A\u030A', '\u212B', '\u1100', '\u1161', '\u11A8', '\uAC00', 'ñ', 'n\u0303', '中', '😀', '👍🏽', '0', '42', "'s", "'T", 'DON', '<|endoftext|>', '{', '=>', '\u00a0', '\uFEFF'];
  const fuzz = (r: () => number) => {
    let s = '';
    const n = 1 + Math.floor(r() * 40);
    for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
    return s;
  };
  for (const [name, format, nfc] of [
    ['Qwen2.5', QWEN, true],
    ['SmolLM2', SMOL, false],
  ] as const) {
    it(`${name}: library ids and the span contract on 300 random texts`, () => {
      const json = tokenizerJson(format);
      const tok = Tokenizer.fromJson(json);
      const r = mulberry32(2024);
      for (let i = 0; i < 300; i++) {
        const text = fuzz(r);
        assert.deepEqual(tok.ids(text), libraryIds(json, text), JSON.stringify(text));
        checkSpans(tok, text, nfc);
      }
    });
  }
});

describe('tokenizer formats: refused normalizers', () => {
  const rejects = (normalizer: object, re: RegExp) =>
    assert.throws(
      () => Tokenizer.fromJson(tokenizerJson({ ...QWEN, normalizer })),
      (e: Error) => {
        assert.ok(e instanceof TokenizerFormatError, String(e));
        assert.match(e.message, re);
        assert.match(e.message, /no normalizer .* or an NFC one/);
        return true;
      },
    );
  it('names the normalizer and says which tokenizers work', () => {
    rejects({ type: 'Lowercase' }, /normalizer \("Lowercase"\)/);
    rejects({ type: 'NFKC' }, /normalizer \("NFKC"\)/);
    rejects({ type: 'NFD' }, /normalizer \("NFD"\)/);
    rejects({ type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }, /normalizer \("Sequence": "Prepend", "Replace"\)/);
    rejects({ type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Lowercase' }] }, /"Sequence": "NFC", "Lowercase"/);
  });
});

describe('tokenizer formats: speed of the fast path on code (GPT-2 vocabulary, these pre-tokenizers)', function () {
  this.timeout(120000);
  const code = fs.readFileSync(require.resolve('typescript/lib/lib.dom.d.ts'), 'utf8').slice(0, 384 * 1024);
  const gpt2 = gpt2TokenizerJson({ splitSequence: true }) as Record<string, unknown>;
  const formats: [string, object][] = [
    ['Qwen2.5 (NFC + Split)', { ...gpt2, normalizer: { type: 'NFC' }, pre_tokenizer: qwenPre() }],
    ['SmolLM2 (Digits + ByteLevel)', { ...gpt2, pre_tokenizer: smolPre }],
  ];
  const time = middleOfThreeMs;
  const mb = utf8.encode(code).length / 1e6;
  const f = (ms: number) => `${(mb / (ms / 1000)).toFixed(2)} MB/s`;
  for (const [name, json] of formats) {
    it(`${name}: same ids as the library, faster`, () => {
      const tok = Tokenizer.fromJson(json);
      const lib = new HfTokenizer({ ...(json as Record<string, unknown>), added_tokens: [] }, {});
      assert.deepEqual(tok.ids(code), lib.encode(code, { add_special_tokens: false }).ids);
      const fresh = Tokenizer.fromJson(json);
      const t0 = performance.now();
      fresh.ids(code);
      const cold = performance.now() - t0;
      const warm = time(() => tok.ids(code));
      const spans = time(() => tok.encode(code));
      const library = time(() => lib.encode(code, { add_special_tokens: false }));
      // Decomposed accents in every line: the NFC map's slow path.
      const nfd = code.replace(/e\b/g, 'e\u0301');
      const spansNfd = time(() => tok.encode(nfd));
      console.log(`      ${(mb * 1000).toFixed(0)} KB of lib.dom.d.ts: ids ${f(warm)} (first run ${f(cold)}), encode with spans ${f(spans)} (decomposed accents ${f(spansNfd)}), @huggingface/tokenizers ${f(library)}`);
      assert.ok(warm < library, 'the piece cache beats the library encode');
    });
  }
});
