// core/tokenizer/: the model's tokenizer. Byte-level BPE tokens with ids, raw bytes and exact UTF-16 spans of the source text, over @huggingface/tokenizers.
//
// Decisions (see the class comment for details):
// - Special tokens are never parsed out of user text: a literal "<|endoftext|>" or "<|fim_prefix|>" typed in the
//   editor is ordinary text and encodes as ordinary tokens ("<", "|", "end", ...). Callers that need a special token
//   (FIM, end of text, a stop token named in a model's config) put its id in by hand (specialTokens(), addedTokenId()).
// - No special tokens are added either (no BOS/EOS from a post-processor): GPT-2, Qwen2.5 and SmolLM2 read raw text.
// - Spans are in UTF-16 code units (the editor's offsets). A "character" is a Unicode code point
//   (one or two code units), not a grapheme: a combining mark is its own character.
// - Formats: byte-level BPE (every vocabulary token spelled in GPT-2's byte alphabet) with no normalizer (GPT-2,
//   SmolLM2, Llama 3) or an NFC one (Qwen2.5). With NFC the model sees NFC(text), spans are mapped back to the
//   original text (normalize.ts) and decode() gives back NFC(text). Other normalizers (Lowercase, NFKC, the
//   Prepend/Replace of SentencePiece tokenizers) are refused: they are not byte-level BPE or change text beyond what
//   spans can follow.
// - Ids are exactly the library's own encode, also where it differs from Hugging Face's Rust tokenizers (its Digits
//   splits ASCII digits only; its "(?i:...)" folds ASCII letters only).
// - Bytes missing from a vocabulary with no unk token (SmolLM2 lacks some) are dropped by BPE, as in the library
//   and in Hugging Face's tokenizers: the model never sees them. The next token's span takes in their characters.
import * as fs from 'node:fs';
import { Tokenizer as HfTokenizer, BPE } from '@huggingface/tokenizers';
import type { TokenInfo } from '../../protocol/analysis';
import { LensError } from '../common/errors';
import { spansToOriginal, toNfc } from './normalize';
import { PieceSplitter } from './pieces';

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
/** Bytes that never occur in UTF-8, so a vocabulary may lack them freely. */
const NOT_UTF8 = (b: number) => b === 0xc0 || b === 0xc1 || b >= 0xf5;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

// In use: "<|endoftext|>" (GPT-2, Qwen2.5, SmolLM2), "<|end_of_text|>" (Llama 3); "<|fim_prefix|>" (Qwen2.5-Coder),
// "<fim_prefix>" (StarCoder).
const EOS_NAMES = ['<|endoftext|>', '</s>', '<eos>', '<|end_of_text|>'];
const FIM_NAMES = {
  fimPrefix: ['<fim_prefix>', '<|fim_prefix|>', '<fim-prefix>'],
  fimMiddle: ['<fim_middle>', '<|fim_middle|>', '<fim-middle>'],
  fimSuffix: ['<fim_suffix>', '<|fim_suffix|>', '<fim-suffix>'],
};

/** Pieces longer than this are not memoised (long runs of spaces, minified code). */
const MAX_CACHED_PIECE = 64;
const MAX_CACHE_ENTRIES = 200_000;

interface NormalizerJson {
  type?: string;
  normalizers?: NormalizerJson[];
}

interface TokenizerJson {
  model?: { type?: string; vocab?: unknown; merges?: unknown };
  normalizer?: NormalizerJson | null;
  pre_tokenizer?: { type?: string; use_regex?: boolean; add_prefix_space?: boolean; pretokenizers?: unknown[] } | null;
  decoder?: { type?: string; decoders?: { type?: string }[] } | null;
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

/**
 * A byte-level BPE tokenizer (GPT-2, Qwen2.5, SmolLM2, Llama 3 families).
 *
 * Encoding runs the library's own pre-tokenizer regexes and BPE merges; for the usual pre-tokenizers (ByteLevel with
 * its regex, Split + ByteLevel, Digits + ByteLevel: see pieces.ts) it memoises the ids of each pre-token piece, which
 * makes it several times faster than the library's encode on code, with the same ids (tested). Other pre-tokenizers
 * go through the library's encode.
 *
 * Spans: each token's bytes are read back from the byte-level alphabet, and the bytes are walked alongside the UTF-8
 * encoding of the text the model saw (NFC(text) for an NFC tokenizer, then mapped back: normalize.ts). A token whose
 * bytes start or end inside a character (part of an emoji, of an accented letter) is `partial`; its span covers that
 * whole character, so two tokens that split a character share it. Spans are monotone (starts and ends never
 * decrease) and together cover the text; they overlap only on a split character (or a split NFC cluster).
 * A lone surrogate in the source encodes as U+FFFD (3 bytes), as TextEncoder does, and covers its one code unit; it
 * and bytes the vocabulary lacks (see the header) are the only input that does not round-trip (NFC aside).
 */
export class Tokenizer {
  readonly vocabSize: number;
  private readonly hf: HfTokenizer;
  /** id -> token string (byte-level alphabet), added tokens included. */
  private readonly tokens: string[];
  private readonly tokenIds: Map<string, number>;
  private readonly added = new Map<number, string>();
  private readonly addedIds = new Map<string, number>();
  private readonly bytesCache: (Uint8Array | undefined)[];
  private readonly textCache: (string | undefined)[];
  /** Frozen number[] per id, shared by every TokenInfo of that id. */
  private readonly byteListCache: (number[] | undefined)[];
  /** How the fast path splits text into pieces; undefined: use the library's encode. */
  private readonly splitter?: PieceSplitter;
  private readonly pieceIds = new Map<string, number[]>();
  /** The normalizer is NFC. */
  private readonly nfc: boolean;
  /** dropped[b] = 1 for a byte the vocabulary lacks (and BPE drops); undefined when it lacks none. */
  private readonly dropped?: Uint8Array;
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
    this.nfc = !!j.normalizer;
    this.tokens = model.vocab.slice();
    this.tokenIds = new Map(model.tokens_to_ids);
    for (const t of addedTokens) {
      if (!Number.isInteger(t.id) || t.id < 0 || typeof t.content !== 'string') {
        throw new TokenizerFormatError(where, `an added token is malformed (${JSON.stringify(t).slice(0, 80)}).`);
      }
      // Added tokens may sit inside the vocabulary (SmolLM2: ids 0-16) or after it (Qwen2.5: 151643 on).
      this.tokens[t.id] = t.content;
      this.tokenIds.set(t.content, t.id);
      this.added.set(t.id, t.content);
      this.addedIds.set(t.content, t.id);
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
    if (model.unk_token_id === undefined) {
      for (let b = 0; b < 256; b++) {
        if (!NOT_UTF8(b) && !model.tokens_to_ids.has(BYTE_TO_CHAR[b])) (this.dropped ??= new Uint8Array(256))[b] = 1;
      }
    }
    this.bytesCache = new Array(this.vocabSize);
    this.textCache = new Array(this.vocabSize);
    this.byteListCache = new Array(this.vocabSize);
    this.splitter = PieceSplitter.of(this.hf.pre_tokenizer);
  }

  /**
   * Tokens of `text` with ids, bytes and UTF-16 spans of `text`. Special tokens in the text are not parsed.
   * Each token's `bytes` is a frozen array shared by all tokens with that id.
   */
  encode(text: string): TokenInfo[] {
    if (!this.nfc) return this.spans(text, this.normalizedIds(text));
    const n = toNfc(text);
    const out = this.spans(n.text, this.normalizedIds(n.text));
    if (n.changes.length > 0) spansToOriginal(out, n.changes);
    return out;
  }

  /** Token ids of `text`; special tokens in the text are not parsed, none are added. */
  ids(text: string): number[] {
    return this.normalizedIds(this.nfc ? text.normalize('NFC') : text);
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

  /**
   * The id of a token given as it is written in tokenizer.json: the byte-level alphabet for the vocabulary
   * (e.g. "Ġthe"), the content for an added token (e.g. "<|im_end|>").
   */
  idOf(token: string): number | undefined {
    return this.tokenIds.get(token);
  }

  /**
   * The id of the added token with this content (e.g. "<|im_end|>", "<|endoftext|>"), for stop tokens named in a
   * model's config; undefined when no added token has it, even if the vocabulary spells a token so.
   */
  addedTokenId(content: string): number | undefined {
    return this.addedIds.get(content);
  }

  /** The vocabulary's own spelling of a token (byte-level alphabet, e.g. "Ġthe"). */
  tokenString(id: number): string {
    this.checkId(id);
    return this.tokens[id];
  }

  isSpecial(id: number): boolean {
    return this.added.has(id);
  }

  /** End of text and the FIM tokens, found among the added tokens by their usual names (Qwen2.5, StarCoder, GPT-2). */
  specialTokens(): SpecialTokens {
    const find = (names: string[]) => {
      for (const n of names) {
        const id = this.addedIds.get(n);
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

  /** Ids of text the normalizer has already run on. */
  private normalizedIds(text: string): number[] {
    if (text.length === 0) return [];
    const s = this.splitter;
    if (!s) return this.hf.encode(text, { add_special_tokens: false }).ids;
    const out: number[] = [];
    s.split(s.prefixSpace && !text.startsWith(' ') ? ' ' + text : text, (piece) => this.pushPiece(piece, out));
    return out;
  }

  private pushPiece(piece: string, out: number[]): void {
    const cacheable = piece.length <= MAX_CACHED_PIECE;
    let ids = cacheable ? this.pieceIds.get(piece) : undefined;
    if (ids === undefined) {
      const b = utf8.encode(piece);
      let chars = '';
      for (let i = 0; i < b.length; i++) chars += BYTE_TO_CHAR[b[i]];
      const model = this.hf.model as BPE;
      // The model's own encode: its merges, ignore_merges (a piece that is itself a token stays whole), and the
      // dropping of bytes the vocabulary lacks.
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

  /** Tokens of `ids` with spans of `text`, the text the model saw: the walk of the class comment. */
  private spans(text: string, ids: number[]): TokenInfo[] {
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
    /** Moves the character cursor over the whole characters before byte `to`. */
    const advance = (to: number) => {
      while (cl > 0 && cb + cl <= to) {
        cb += cl;
        ci += cu;
        measure();
      }
    };
    measure();
    // Bytes BPE dropped are found by reading the text's own bytes, only for vocabularies that lack some.
    const dropped = this.dropped;
    const textBytes = dropped ? utf8.encode(text) : undefined;
    const skipDropped = (pos: number, next: number) => {
      while (pos < textBytes!.length && dropped![textBytes![pos]] && textBytes![pos] !== next) pos++;
      return pos;
    };
    // ByteLevel with add_prefix_space puts a space before the text: a byte with no source character.
    let synthetic = this.splitter?.prefixSpace && !text.startsWith(' ') && len > 0 ? 1 : 0;
    let pos = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const bytes = this.tokenBytes(id);
      let first = 0;
      if (synthetic > 0) {
        first = Math.min(synthetic, bytes.length);
        synthetic -= first;
      }
      const n = bytes.length - first;
      const start = ci;
      if (dropped && n > 0) {
        pos = skipDropped(pos, bytes[first]);
        advance(pos);
      }
      let partial = pos !== cb;
      const endPos = pos + n;
      advance(endPos);
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
    if (dropped) {
      // Dropped bytes after the last token: its span takes them in.
      pos = skipDropped(pos, -1);
      advance(pos);
      if (out.length > 0 && pos === cb) out[out.length - 1].end = Math.max(out[out.length - 1].end, ci);
    }
    if (ci !== len || pos !== cb) {
      throw new LensError('tokenizerMismatch', `Token bytes do not match the text (${pos} bytes for ${len} code units); the tokenizer changes its input in a way LLM Lens does not support.`);
    }
    return out;
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
  if (j.normalizer && !isNfc(j.normalizer)) {
    // Spans are read back from bytes; NFC is mapped back (normalize.ts), other normalizers are not.
    throw new TokenizerFormatError(where, `it has a normalizer (${describeNormalizer(j.normalizer)}); LLM Lens supports byte-level BPE tokenizers with no normalizer (GPT-2, SmolLM2, Llama 3) or an NFC one (Qwen2.5).`);
  }
  const hasByteLevel = (x: { type?: string; pretokenizers?: unknown[]; decoders?: { type?: string }[] } | null | undefined): boolean =>
    !!x && (x.type === 'ByteLevel' || ((x.pretokenizers ?? x.decoders ?? []) as { type?: string }[]).some((p) => p?.type === 'ByteLevel'));
  if (!hasByteLevel(j.pre_tokenizer) || !hasByteLevel(j.decoder)) {
    throw new TokenizerFormatError(where, 'it is not byte-level (no ByteLevel pre-tokenizer and decoder); LLM Lens needs byte-level BPE (GPT-2 family).');
  }
  if (j.added_tokens !== undefined && !Array.isArray(j.added_tokens)) throw new TokenizerFormatError(where, '"added_tokens" is not a list.');
  return j;
}

/** NFC, alone or as the only member(s) of a Sequence. */
function isNfc(n: NormalizerJson): boolean {
  if (n.type === 'NFC') return true;
  return n.type === 'Sequence' && Array.isArray(n.normalizers) && n.normalizers.length > 0 && n.normalizers.every((m) => !!m && isNfc(m));
}

/** "Lowercase", or "Sequence: Prepend, Replace". */
function describeNormalizer(n: NormalizerJson): string {
  const inner = n.type === 'Sequence' && Array.isArray(n.normalizers) ? `: ${n.normalizers.map((m) => JSON.stringify(m?.type)).join(', ')}` : '';
  return JSON.stringify(n.type) + inner;
}
