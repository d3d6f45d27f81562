#!/usr/bin/env python3
"""Writes the reference fixtures for the TypeScript side: what PyTorch computed for three short
inputs with the shipped model. Format: test/fixtures/README.md.

    /usr/bin/python3 models/train/make_fixtures.py --ckpt models/train/work/ckpt.pt
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
from export import load  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

INPUTS = {
    "code": "export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n",
    "english": "The quick brown fox jumps over the lazy dog, and then it runs away.",
    "portuguese": "O rato roeu a roupa do rei de Roma, e a rainha ficou furiosa com a ação.",
}


def f32(v, digits=7):
    return float(f"{v:.{digits}g}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "lens-tiny"))
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "lens-tiny"))
    args = ap.parse_args()
    model, ck = load(args.ckpt, args.random)
    model.eval()
    cfg = model.cfg
    tok = bpe.Tokenizer.load(os.path.join(args.model_dir, "tokenizer.json"))
    os.makedirs(args.out, exist_ok=True)
    for name, text in INPUTS.items():
        ids = tok.encode(text)
        t = len(ids)
        internals = {}
        with torch.no_grad():
            logits, _ = model(torch.tensor([ids]), internals=internals)
        logits = logits[0]
        probs = torch.softmax(logits, dim=-1)
        top = torch.topk(probs, 5, dim=-1)
        hidden_pos = sorted({0, t // 2, t - 1})
        logit_pos = sorted({0, t - 1})
        first, last = 0, cfg.n_layer - 1
        fx = {
            "model": "models/lens-tiny",
            "checkpoint_step": ck.get("step"),
            "text": text,
            "ids": ids,
            "tokens": [tok.inv[i] for i in ids],
            "token_bytes_hex": [tok.token_bytes(i).hex() for i in ids],
            "config": {"vocab_size": cfg.vocab_size, "n_embd": cfg.n_embd, "n_layer": cfg.n_layer,
                       "n_head": cfg.n_head, "n_positions": cfg.n_positions},
            "top5": [{"ids": top.indices[p].tolist(),
                      "probs": [f32(v) for v in top.values[p].tolist()]} for p in range(t)],
            "logits": {str(p): [f32(v) for v in logits[p].tolist()] for p in logit_pos},
            "hidden_positions": hidden_pos,
            "hidden": [[[f32(v) for v in h[0, p].tolist()] for p in hidden_pos]
                       for h in internals["hidden"]],
            "attention": {str(li): [[[f32(v) for v in row] for row in head]
                                    for head in internals["attn"][li][0].tolist()]
                          for li in (first, last)},
        }
        path = os.path.join(args.out, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fx, f, ensure_ascii=False, separators=(",", ":"))
        print(f"{path}: {t} tokens, {os.path.getsize(path)/1e3:.0f} kB", file=sys.stderr)


if __name__ == "__main__":
    main()
