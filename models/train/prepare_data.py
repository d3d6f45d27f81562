#!/usr/bin/env python3
"""Encodes the corpus into token streams for training, with fill-in-the-middle (FIM) pieces.

Train: documents shuffled (seeded), cut at line ends into pieces of about --piece-chars; each piece
becomes, with probability --fim-rate, a FIM sample in StarCoder's PSM order with two split points
drawn uniformly over its characters:
    <fim_prefix>prefix<fim_suffix>suffix<fim_middle>middle<|endoftext|>
Other pieces stay in order, so plain text keeps its context; every document ends in <|endoftext|>.
Held-out: plain documents (no FIM), for the loss; evaluate.py builds its own FIM and next-line
tasks from the held-out JSONL.

    /usr/bin/python3 models/train/prepare_data.py
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def pieces(text, size):
    """Cuts text after line ends into pieces of about `size` characters (a long line stays whole)."""
    out, start = [], 0
    while start < len(text):
        end = start + size
        if end >= len(text):
            out.append(text[start:])
            break
        nl = text.rfind("\n", start + 1, end)
        if nl == -1:
            nl = text.find("\n", end)
            if nl == -1:
                out.append(text[start:])
                break
        out.append(text[start:nl + 1])
        start = nl + 1
    return out


def fim_ids(tok, piece, rng):
    a, b = sorted(rng.randint(0, len(piece)) for _ in range(2))
    pre, mid, suf = piece[:a], piece[a:b], piece[b:]
    v = tok.vocab
    return ([v["<fim_prefix>"]] + tok.encode_ordinary(pre) + [v["<fim_suffix>"]] +
            tok.encode_ordinary(suf) + [v["<fim_middle>"]] + tok.encode_ordinary(mid) +
            [v["<|endoftext|>"]])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(HERE, ".cache", "corpus"))
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "models", "lens-tiny", "tokenizer.json"))
    ap.add_argument("--out", default=os.path.join(HERE, ".cache", "data"))
    ap.add_argument("--fim-rate", type=float, default=0.5)
    ap.add_argument("--piece-chars", type=int, default=800,
                    help="FIM pieces must fit a training window (256 tokens ~ 850 bytes)")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    t0 = time.time()
    tok = bpe.Tokenizer.load(args.tokenizer)
    eot = tok.vocab["<|endoftext|>"]
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    stats = {}
    for split in ("train", "heldout"):
        docs = [json.loads(l)["text"] for l in open(os.path.join(args.corpus, split + ".jsonl"))]
        rng.shuffle(docs)
        ids = []
        n_fim = n_pieces = plain_tokens = 0
        for d in docs:
            if split == "train":
                for p in pieces(d, args.piece_chars):
                    n_pieces += 1
                    if rng.random() < args.fim_rate:
                        n_fim += 1
                        ids.extend(fim_ids(tok, p, rng))
                    else:
                        ids.extend(tok.encode_ordinary(p))
            else:
                ids.extend(tok.encode_ordinary(d))
            ids.append(eot)
        arr = np.array(ids, dtype=np.uint16)
        arr.tofile(os.path.join(args.out, split + ".bin"))
        nbytes = sum(len(d.encode()) for d in docs)
        stats[split] = {"documents": len(docs), "bytes": nbytes, "tokens": len(ids),
                        "bytes_per_token": round(nbytes / len(ids), 3),
                        "pieces": n_pieces, "fim_pieces": n_fim}
        print(f"{split}: {stats[split]} ({time.time()-t0:.0f} s)", file=sys.stderr)
    stats["fim_rate"] = args.fim_rate
    stats["piece_chars"] = args.piece_chars
    json.dump(stats, open(os.path.join(args.out, "stats.json"), "w"), indent=1)
    json.dump(stats, open(os.path.join(HERE, "data-stats.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
