"""Byte-level BPE like GPT-2's: trainer, encoder/decoder, and Hugging Face tokenizer.json writer.

The encoder here is the reference the JavaScript side is checked against (check_tokenizer.mjs):
same pre-tokenization regex, same byte-to-unicode mapping, merges applied lowest rank first.
"""
import heapq
import json
from collections import Counter

import regex

# GPT-2's pre-tokenization pattern, as Hugging Face's ByteLevel pre-tokenizer uses it.
GPT2_PAT = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

SPECIAL_TOKENS = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_TO_UNI = bytes_to_unicode()
UNI_TO_BYTE = {v: k for k, v in BYTE_TO_UNI.items()}


def pretokenize(text):
    return GPT2_PAT.findall(text)


def train_bpe(texts, vocab_size, specials=SPECIAL_TOKENS, min_count=2, log=None):
    """Returns (vocab: token->id, merges: [(a, b)]) with specials first, then the 256 bytes,
    then one token per merge. Word-count based: each distinct pre-token is merged once per
    merge step that touches it, weighted by its count."""
    counts = Counter()
    for t in texts:
        counts.update(pretokenize(t))
    words_s = [w for w, c in counts.items() if c >= min_count]
    freqs = [counts[w] for w in words_s]
    id_of = {}
    tokens = []
    for s in specials:
        id_of[s] = len(tokens)
        tokens.append(s)
    for b in range(256):
        ch = BYTE_TO_UNI[b]
        id_of[ch] = len(tokens)
        tokens.append(ch)
    words = [[id_of[BYTE_TO_UNI[b]] for b in w.encode("utf-8")] for w in words_s]

    pair_count = Counter()
    where = {}
    for i, (w, f) in enumerate(zip(words, freqs)):
        for p in zip(w, w[1:]):
            pair_count[p] += f
            where.setdefault(p, set()).add(i)
    # Max-heap on count; ties broken by the pair's token strings (deterministic).
    heap = [(-c, tokens[p[0]], tokens[p[1]], p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(tokens) < vocab_size and heap:
        negc, _, _, pair = heapq.heappop(heap)
        cur = pair_count.get(pair, 0)
        if cur <= 0:
            continue
        if -negc != cur:
            heapq.heappush(heap, (-cur, tokens[pair[0]], tokens[pair[1]], pair))
            continue
        a, b = pair
        # Two different merges can spell the same string: reuse its id, as Hugging Face does.
        s = tokens[a] + tokens[b]
        new = id_of.get(s)
        if new is None:
            new = len(tokens)
            tokens.append(s)
            id_of[s] = new
        merges.append((tokens[a], tokens[b]))
        changed = Counter()
        for i in where.pop(pair, ()):
            w = words[i]
            f = freqs[i]
            if len(w) < 2:
                continue
            out = []
            j = 0
            n = len(w)
            hit = False
            while j < n:
                if j < n - 1 and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                    hit = True
                else:
                    out.append(w[j])
                    j += 1
            if not hit:
                continue
            for p in zip(w, w[1:]):
                changed[p] -= f
            for p in zip(out, out[1:]):
                changed[p] += f
                where.setdefault(p, set()).add(i)
            words[i] = out
        for p, d in changed.items():
            if d == 0:
                continue
            c = pair_count.get(p, 0) + d
            pair_count[p] = c
            if d > 0 and c > 0:
                heapq.heappush(heap, (-c, tokens[p[0]], tokens[p[1]], p))
        pair_count.pop(pair, None)
        if log and len(merges) % 1000 == 0:
            log(f"{len(merges)} merges, {len(tokens)} tokens, last {tokens[-1]!r} count {cur}")
    vocab = {t: i for i, t in enumerate(tokens)}
    return vocab, merges


class Tokenizer:
    def __init__(self, vocab, merges, specials=SPECIAL_TOKENS):
        self.vocab = vocab
        self.inv = {i: t for t, i in vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.specials = specials
        self.special_re = regex.compile("(" + "|".join(regex.escape(s) for s in specials) + ")")
        self.cache = {}

    @classmethod
    def load(cls, path):
        j = json.load(open(path))
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in j["model"]["merges"]]
        vocab = dict(j["model"]["vocab"])
        for t in j["added_tokens"]:
            vocab[t["content"]] = t["id"]
        return cls(vocab, merges, [t["content"] for t in j["added_tokens"]])

    def _bpe(self, word):
        syms = [BYTE_TO_UNI[b] for b in word.encode("utf-8")]
        ranks = self.ranks
        while len(syms) > 1:
            best = None
            best_r = None
            for i in range(len(syms) - 1):
                r = ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best_r is None or r < best_r):
                    best_r, best = r, i
            if best is None:
                break
            a, b = syms[best], syms[best + 1]
            out = []
            i = 0
            while i < len(syms):
                if i < len(syms) - 1 and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        return [self.vocab[s] for s in syms]

    def encode_ordinary(self, text):
        ids = []
        cache = self.cache
        for w in GPT2_PAT.findall(text):
            r = cache.get(w)
            if r is None:
                r = self._bpe(w)
                if len(cache) < 2_000_000:
                    cache[w] = r
            ids.extend(r)
        return ids

    def encode(self, text):
        """Encodes text, treating the special tokens literally present as special tokens
        (as Hugging Face's added_tokens do)."""
        ids = []
        for k, part in enumerate(self.special_re.split(text)):
            if k % 2 == 1:
                ids.append(self.vocab[part])
            elif part:
                ids.extend(self.encode_ordinary(part))
        return ids

    def decode_bytes(self, ids):
        out = bytearray()
        for i in ids:
            t = self.inv[i]
            if t in self.specials:
                out += t.encode("utf-8")
            else:
                out += bytes(UNI_TO_BYTE[c] for c in t)
        return bytes(out)

    def decode(self, ids):
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def token_bytes(self, i):
        t = self.inv[i]
        return t.encode() if t in self.specials else bytes(UNI_TO_BYTE[c] for c in t)


def save_hf(vocab, merges, out_dir, specials=SPECIAL_TOKENS, model_max_length=1024):
    """Writes tokenizer.json and tokenizer_config.json in the Hugging Face layout."""
    import os
    os.makedirs(out_dir, exist_ok=True)
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for s in specials]
    tj = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for t, i in sorted(vocab.items(), key=lambda kv: kv[1])},
                  "merges": [a + " " + b for a, b in merges]},
    }
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    cfg = {
        "tokenizer_class": "GPT2Tokenizer",
        "model_max_length": model_max_length,
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<fim_pad>",
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "additional_special_tokens": specials[1:],
        "added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
