// core/tokenizer/: the model's tokenizer. Byte-level BPE tokens with ids, raw bytes and exact UTF-16 spans of the source text, over @huggingface/tokenizers.
//
// Decisions (see the class comment for details):
// - Special tokens are never parsed out of user text: a literal "<|endoftext|>" typed in the
//   editor is ordinary text and encodes as ordinary tokens ("<", "|", "end", ...). Callers that
//   need a special token (FIM, end of text) put its id in by hand (specialTokens()).
// - No special tokens are added either (no BOS/EOS from a post-processor): GPT-2 family models
//   read raw text.
// - Spans are in UTF-16 code units (the editor's offsets). A "character" is a Unicode code point
//   (one or two code units), not a grapheme: a combining mark is its own character.
import * as fs from 'node:fs';
import {
  Tokenizer as HfTokenizer,
  BPE,
  ByteLevelPreTokenizer,
  SequencePreTokenizer,
  SplitPreTokenizer,
  type PreTokenizer,
} from '@huggingface/tokenizers';
import type { TokenInfo } from '../../protocol/analysis';
import { LensError } from '../common/errors';

/** The tokenizer file cannot be used: unreadable, not JSON, or not a byte-level BPE tokenizer. */
export class TokenizerFormatError extends LensError {
  constructor(where: string, detail: string) {
    super('tokenizerFormat', `The tokenizer ${where} cannot be used: ${detail}`);
  }
}

export interface SpecialTokens {
  eos?: number;
  fimPrefix?: number;
  fimMiddle?: number;
  fimSuffix?: number;
}

/** GPT-2's bytes_to_unicode: each byte as a printable character, the alphabet of byte-level BPE. */
function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return table;
}

const BYTE_TO_CHAR = bytesToUnicode();
/** Char code -> byte, -1 where the code is outside the byte-level alphabet (codes are < 324). */
const CHAR_TO_BYTE = (() => {
  const t = new Int16Array(324).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (t[c.charCodeAt(0)] = b));
  return t;
})();

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

const EOS_NAMES = ['<|endoftext|>', '</s>', '<eos>', '<|end_of_text|>'];
const FIM_NAMES = {
  fimPrefix: ['<fim_prefix>', '<|fim_prefix|>', '<fim-prefix>'],
  fimMiddle: ['<fim_middle>', '<|fim_middle|>', '<fim-middle>'],
  fimSuffix: ['<fim_suffix>', '<|fim_suffix|>', '<fim-suffix>'],
};

/** Pieces longer than this are not memoised (long runs of spaces, minified code). */
const MAX_CACHED_PIECE = 64;
const MAX_CACHE_ENTRIES = 200_000;

interface TokenizerJson {
  model?: { type?: string; vocab?: unknown; merges?: unknown };
  normalizer?: unknown;
  pre_tokenizer?: { type?: string; use_regex?: boolean; add_prefix_space?: boolean; pretokenizers?: unknown[] } | null;
  decoder?: { type?: string; decoders?: { type?: string }[] } | null;
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

/**
 * A GPT-2-family (byte-level BPE) tokenizer.
 *
 * Encoding runs the library's own pre-tokenizer regex and BPE merges; for the usual
 * pre-tokenizers (ByteLevel with its regex, or Split + ByteLevel) it memoises the ids of each
 * pre-token piece, which makes it several times faster than the library's encode on code, with
 * the same ids (tested). Other pre-tokenizers go through the library's encode.
 *
 * Spans: each token's bytes are read back from the byte-level alphabet, and the bytes are walked
 * alongside the source string's UTF-8 encoding. A token whose bytes start or end inside a
 * character (part of an emoji, of an accented letter) is `partial`; its span covers that whole
 * character, so two tokens that split a character share it. Spans are monotone (starts and ends
 * never decrease) and together cover the text; they overlap only on a split character.
 * A lone surrogate in the source encodes as U+FFFD (3 bytes), as TextEncoder does, and covers
 * its one code unit; it is the only input that does not round-trip.
 */
export class Tokenizer {
  readonly vocabSize: number;
  private readonly hf: HfTokenizer;
  /** id -> token string (byte-level alphabet), added tokens included. */
  private readonly tokens: string[];
  private readonly tokenIds: Map<string, number>;
  private readonly added = new Map<number, string>();
  private readonly bytesCache: (Uint8Array | undefined)[];
  private readonly textCache: (string | undefined)[];
  /** Frozen number[] per id, shared by every TokenInfo of that id. */
  private readonly byteListCache: (number[] | undefined)[];
  /** How the fast path splits text into pieces; undefined: use the library's encode. */
  private readonly splitter?: { pattern: RegExp; prefixSpace: boolean };
  private readonly pieceIds = new Map<string, number[]>();
  private specialPattern?: RegExp;

  static fromFile(path: string): Tokenizer {
    let raw: string;
    try {
      raw = fs.readFileSync(path, 'utf8');
    } catch (e) {
      throw new TokenizerFormatError(path, `it could not be read (${(e as NodeJS.ErrnoException).code ?? String(e)}).`);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new TokenizerFormatError(path, `it is not valid JSON (${(e as Error).message}).`);
    }
    return new Tokenizer(json, path);
  }

  static fromJson(json: object): Tokenizer {
    return new Tokenizer(json, '(in memory)');
  }

  private constructor(json: unknown, where: string) {
    const j = checkJson(json, where);
    // Added tokens are left out of the library's tokenizer so that it never parses them out of
    // user text; they are looked up here instead.
    const addedTokens = j.added_tokens ?? [];
    try {
      this.hf = new HfTokenizer({ ...j, added_tokens: [] }, { clean_up_tokenization_spaces: false });
    } catch (e) {
      throw new TokenizerFormatError(where, (e as Error).message);
    }
    const model = this.hf.model;
    if (!(model instanceof BPE)) throw new TokenizerFormatError(where, 'its model is not BPE.');
    this.tokens = model.vocab.slice();
    this.tokenIds = new Map(model.tokens_to_ids);
    for (const t of addedTokens) {
      if (!Number.isInteger(t.id) || t.id < 0 || typeof t.content !== 'string') {
        throw new TokenizerFormatError(where, `an added token is malformed (${JSON.stringify(t).slice(0, 80)}).`);
      }
      this.tokens[t.id] = t.content;
      this.tokenIds.set(t.content, t.id);
      this.added.set(t.id, t.content);
    }
    this.vocabSize = this.tokens.length;
    for (let id = 0; id < this.vocabSize; id++) {
      if (this.tokens[id] === undefined) throw new TokenizerFormatError(where, `token id ${id} is missing from the vocabulary.`);
    }
    for (const [token, id] of model.tokens_to_ids) {
      if (this.added.has(id)) continue;
      for (let i = 0; i < token.length; i++) {
        const c = token.charCodeAt(i);
        if (c >= CHAR_TO_BYTE.length || CHAR_TO_BYTE[c] < 0) {
          throw new TokenizerFormatError(where, `token ${id} (${JSON.stringify(token)}) is not in the byte-level alphabet; LLM Lens needs a byte-level BPE tokenizer (GPT-2 family).`);
        }
      }
    }
    this.bytesCache = new Array(this.vocabSize);
    this.textCache = new Array(this.vocabSize);
    this.byteListCache = new Array(this.vocabSize);
    this.splitter = fastSplitter(this.hf.pre_tokenizer);
  }

  /**
   * Tokens of `text` with ids, bytes and UTF-16 spans. Special tokens in the text are not parsed.
   * Each token's `bytes` is a frozen array shared by all tokens with that id.
   */
  encode(text: string): TokenInfo[] {
    const ids = this.ids(text);
    const out: TokenInfo[] = new Array(ids.length);
    const len = text.length;
    // The walk: ci/cb are the UTF-16 index and byte offset of the character holding byte `pos`;
    // cu/cl its length in code units and bytes.
    let ci = 0;
    let cb = 0;
    let cu = 0;
    let cl = 0;
    const measure = () => {
      if (ci >= len) {
        cu = 0;
        cl = 0;
        return;
      }
      const c = text.charCodeAt(ci);
      if (c < 0x80) {
        cu = 1;
        cl = 1;
      } else if (c < 0x800) {
        cu = 1;
        cl = 2;
      } else if (c >= 0xd800 && c <= 0xdbff && ci + 1 < len && (text.charCodeAt(ci + 1) & 0xfc00) === 0xdc00) {
        cu = 2;
        cl = 4;
      } else {
        // BMP, or a lone surrogate (TextEncoder writes U+FFFD, 3 bytes).
        cu = 1;
        cl = 3;
      }
    };
    measure();
    // ByteLevel with add_prefix_space puts a space before the text: a byte with no source character.
    let synthetic = this.splitter?.prefixSpace && !text.startsWith(' ') && len > 0 ? 1 : 0;
    let pos = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const bytes = this.tokenBytes(id);
      let n = bytes.length;
      if (synthetic > 0) {
        const skip = Math.min(synthetic, n);
        synthetic -= skip;
        n -= skip;
      }
      const start = ci;
      let partial = pos !== cb;
      const endPos = pos + n;
      while (cl > 0 && cb + cl <= endPos) {
        cb += cl;
        ci += cu;
        measure();
      }
      let end = ci;
      if (cb !== endPos) {
        end = ci + cu;
        partial = true;
      }
      pos = endPos;
      let list = this.byteListCache[id];
      if (list === undefined) this.byteListCache[id] = list = Object.freeze(Array.from(bytes)) as number[];
      out[i] = { index: i, id, text: this.tokenText(id), bytes: list, start, end, partial };
    }
    if (ci !== len || pos !== cb) {
      throw new LensError('tokenizerMismatch', `Token bytes do not match the text (${pos} bytes for ${len} code units); the tokenizer normalizes its input, which LLM Lens does not support.`);
    }
    return out;
  }

  /** Token ids of `text`; special tokens in the text are not parsed, none are added. */
  ids(text: string): number[] {
    if (text.length === 0) return [];
    const s = this.splitter;
    if (!s) return this.hf.encode(text, { add_special_tokens: false }).ids;
    const src = s.prefixSpace && !text.startsWith(' ') ? ' ' + text : text;
    const out: number[] = [];
    const re = s.pattern;
    re.lastIndex = 0;
    let prev = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(src)) !== null) {
      const idx = m.index;
      const piece = m[0];
      if (piece.length === 0) {
        re.lastIndex++;
        if (idx > prev) {
          this.pushPiece(src.slice(prev, idx), out);
          prev = idx;
        }
        continue;
      }
      if (idx > prev) this.pushPiece(src.slice(prev, idx), out);
      this.pushPiece(piece, out);
      prev = idx + piece.length;
    }
    if (prev < src.length) this.pushPiece(src.slice(prev), out);
    return out;
  }

  /**
   * Ids of text in which special tokens ARE parsed (their literal content becomes their id), for
   * trusted prompt templates and tools; never for user text, which goes through ids().
   */
  idsWithSpecials(text: string): number[] {
    if (this.added.size === 0) return this.ids(text);
    this.specialPattern ??= new RegExp(
      [...this.added.values()]
        .filter((c) => c.length > 0)
        .sort((a, b) => b.length - a.length)
        .map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    const out: number[] = [];
    let prev = 0;
    for (const m of text.matchAll(this.specialPattern)) {
      out.push(...this.ids(text.slice(prev, m.index)), this.tokenIds.get(m[0])!);
      prev = m.index! + m[0].length;
    }
    out.push(...this.ids(text.slice(prev)));
    return out;
  }

  /** Text of the ids, byte for byte (special tokens as their literal content). */
  decode(ids: readonly number[]): string {
    let total = 0;
    for (const id of ids) total += this.tokenBytes(id).length;
    const buf = new Uint8Array(total);
    let o = 0;
    for (const id of ids) {
      const b = this.tokenBytes(id);
      buf.set(b, o);
      o += b.length;
    }
    return utf8Decoder.decode(buf);
  }

  /** The decoded text of one token; bytes that are not a whole UTF-8 sequence show as U+FFFD. */
  tokenText(id: number): string {
    let t = this.textCache[id];
    if (t === undefined) {
      t = this.added.get(id) ?? utf8Decoder.decode(this.tokenBytes(id));
      this.textCache[id] = t;
    }
    return t;
  }

  /** The raw bytes of one token (a special token: the UTF-8 of its content). */
  tokenBytes(id: number): Uint8Array {
    let b = this.bytesCache[id];
    if (b === undefined) {
      this.checkId(id);
      const added = this.added.get(id);
      if (added !== undefined) {
        b = utf8.encode(added);
      } else {
        const s = this.tokens[id];
        b = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) b[i] = CHAR_TO_BYTE[s.charCodeAt(i)];
      }
      this.bytesCache[id] = b;
    }
    return b;
  }

  /** The id of a token given as it is written in tokenizer.json (byte-level alphabet, e.g. "Ġthe"). */
  idOf(token: string): number | undefined {
    return this.tokenIds.get(token);
  }

  /** The vocabulary's own spelling of a token (byte-level alphabet, e.g. "Ġthe"). */
  tokenString(id: number): string {
    this.checkId(id);
    return this.tokens[id];
  }

  isSpecial(id: number): boolean {
    return this.added.has(id);
  }

  specialTokens(): SpecialTokens {
    const find = (names: string[]) => {
      for (const n of names) {
        const id = this.tokenIds.get(n);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    const out: SpecialTokens = {};
    const eos = find(EOS_NAMES);
    if (eos !== undefined) out.eos = eos;
    for (const key of ['fimPrefix', 'fimMiddle', 'fimSuffix'] as const) {
      const id = find(FIM_NAMES[key]);
      if (id !== undefined) out[key] = id;
    }
    return out;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new LensError('badTokenId', `Token id ${id} is outside the vocabulary (0..${this.vocabSize - 1}).`);
    }
  }

  private pushPiece(piece: string, out: number[]): void {
    const cacheable = piece.length <= MAX_CACHED_PIECE;
    let ids = cacheable ? this.pieceIds.get(piece) : undefined;
    if (ids === undefined) {
      const b = utf8.encode(piece);
      let chars = '';
      for (let i = 0; i < b.length; i++) chars += BYTE_TO_CHAR[b[i]];
      const model = this.hf.model as BPE;
      ids = model(chars.length ? [chars] : []).map((t) => {
        const id = model.tokens_to_ids.get(t) ?? model.unk_token_id;
        if (id === undefined) throw new LensError('tokenizerMismatch', `The tokenizer produced a token that is not in its vocabulary (${JSON.stringify(t)}).`);
        return id;
      });
      if (cacheable) {
        if (this.pieceIds.size >= MAX_CACHE_ENTRIES) this.pieceIds.clear();
        this.pieceIds.set(piece, ids);
      }
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }
}

function checkJson(json: unknown, where: string): TokenizerJson {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TokenizerFormatError(where, 'it is not a JSON object.');
  const j = json as TokenizerJson;
  if (!j.model || typeof j.model !== 'object') throw new TokenizerFormatError(where, 'it has no "model".');
  if (j.model.type !== 'BPE') throw new TokenizerFormatError(where, `its model type is ${JSON.stringify(j.model.type)}; LLM Lens needs byte-level BPE (GPT-2 family).`);
  if (typeof j.model.vocab !== 'object' || j.model.vocab === null || !Array.isArray(j.model.merges)) {
    throw new TokenizerFormatError(where, 'its BPE model lacks "vocab" or "merges".');
  }
  if (j.normalizer) {
    // Offsets are derived from bytes; a normalizer changes the text first and breaks that.
    throw new TokenizerFormatError(where, `it has a normalizer (${JSON.stringify((j.normalizer as { type?: string }).type)}); LLM Lens supports byte-level tokenizers without one (GPT-2 family).`);
  }
  const hasByteLevel = (x: { type?: string; pretokenizers?: unknown[]; decoders?: { type?: string }[] } | null | undefined): boolean =>
    !!x && (x.type === 'ByteLevel' || ((x.pretokenizers ?? x.decoders ?? []) as { type?: string }[]).some((p) => p?.type === 'ByteLevel'));
  if (!hasByteLevel(j.pre_tokenizer) || !hasByteLevel(j.decoder)) {
    throw new TokenizerFormatError(where, 'it is not byte-level (no ByteLevel pre-tokenizer and decoder); LLM Lens needs byte-level BPE (GPT-2 family).');
  }
  if (j.added_tokens !== undefined && !Array.isArray(j.added_tokens)) throw new TokenizerFormatError(where, '"added_tokens" is not a list.');
  return j;
}

/** The split regex of the two usual byte-level pre-tokenizers, to memoise BPE by piece; else undefined. */
function fastSplitter(pre: PreTokenizer | null): { pattern: RegExp; prefixSpace: boolean } | undefined {
  const clone = (p: RegExp) => new RegExp(p.source, p.flags.includes('g') ? p.flags : p.flags + 'g');
  if (pre instanceof ByteLevelPreTokenizer) {
    if (!pre.use_regex || !(pre.pattern instanceof RegExp)) return undefined;
    return { pattern: clone(pre.pattern), prefixSpace: pre.add_prefix_space };
  }
  if (pre instanceof SequencePreTokenizer && pre.tokenizers.length === 2) {
    const [split, bl] = pre.tokenizers;
    if (!(split instanceof SplitPreTokenizer) || !(bl instanceof ByteLevelPreTokenizer)) return undefined;
    const behavior = String(split.config.behavior ?? '').toLowerCase();
    if (split.config.invert || behavior !== 'isolated' || !(split.pattern instanceof RegExp)) return undefined;
    if (bl.use_regex || bl.add_prefix_space) return undefined;
    return { pattern: clone(split.pattern), prefixSpace: false };
  }
  return undefined;
}
