#!/usr/bin/env python3
"""Writes test/fixtures/tokenizer-cases.json: texts and the ids this project's Python encoder
gives them, so the JavaScript tokenizer can be checked against it (check_tokenizer.mjs)."""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

CASES = [
    "export function add(a: number, b: number): number {\n  return a + b;\n}\n",
    "The quick brown fox jumps over the lazy dog. It's 3.14159 times faster!",
    "O rato roeu a roupa do rei de Roma, e a rainha ficou furiosa com ação e coração.",
    "line one\r\nline two\r\n\tindented\t\ttabs   and  spaces    \n\n\n",
    "emoji 🚀🔥 and CJK 漢字かな, accents àéîõü ñ ß, math ∑∫√, zero-width \u200b joiner",
    "<fim_prefix>const x = <fim_suffix>;\n<fim_middle>42<|endoftext|>after",
    "I'm sure they'll say we've done what we'd do: DON'T, can't, 12345678901234567890",
    "    const   longIdentifierNameWithCamelCase_and_snake = await fetch(`${url}/api?q=1&x=2`);",
    "",
    " leading space, trailing space ",
    "\n",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "lens-tiny"))
    ap.add_argument("--heldout", default=os.path.join(HERE, ".cache", "corpus", "heldout.jsonl"))
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "tokenizer-cases.json"))
    args = ap.parse_args()
    tok = bpe.Tokenizer.load(os.path.join(args.model_dir, "tokenizer.json"))
    texts = list(CASES)
    if os.path.exists(args.heldout):
        docs = [json.loads(l) for l in open(args.heldout)]
        rng = random.Random(7)
        for d in rng.sample(docs, 6):
            texts.append(d["text"][:1500])
    cases = []
    for t in texts:
        ids = tok.encode(t)
        assert tok.decode_bytes(ids) == t.encode("utf-8"), repr(t[:80])
        cases.append({"text": t, "ids": ids})
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump({"tokenizer": "models/lens-tiny/tokenizer.json",
               "note": "ids from models/train/bpe.py (the Python reference encoder)",
               "cases": cases}, open(args.out, "w"), ensure_ascii=False, indent=0)
    print(f"{len(cases)} cases -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
