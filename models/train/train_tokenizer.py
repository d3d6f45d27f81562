#!/usr/bin/env python3
"""Trains the byte-level BPE tokenizer on a deterministic sample of the train split.

    /usr/bin/python3 models/train/train_tokenizer.py --sample-mb 12 --vocab 8192 --out models/lens-tiny
"""
import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(HERE, ".cache", "corpus", "train.jsonl"))
    ap.add_argument("--sample-mb", type=float, default=12.0)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "lens-tiny"))
    args = ap.parse_args()
    t0 = time.time()
    docs = [json.loads(l)["text"] for l in open(args.corpus)]
    random.Random(args.seed).shuffle(docs)
    sample, n = [], 0
    for d in docs:
        if n >= args.sample_mb * 1e6:
            break
        sample.append(d)
        n += len(d.encode())
    print(f"sample: {len(sample)} files, {n/1e6:.1f} MB", file=sys.stderr)
    vocab, merges = bpe.train_bpe(sample, args.vocab, log=lambda m: print(m, file=sys.stderr))
    bpe.save_hf(vocab, merges, args.out)
    print(f"vocab {len(vocab)}, merges {len(merges)}, {time.time()-t0:.0f} s -> {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
