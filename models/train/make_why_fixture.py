#!/usr/bin/env python3
"""Writes test/fixtures/why-copy/: a GPT-2-shaped model whose answer is known, for the Why view's tests (issue #15).

Weights are set by hand, not trained (seeded, so the same command rewrites the same files). 2 layers, 2 heads of 48,
d = 96, 64 positions, lens-tiny's tokenizer (8192 tokens, tied embeddings):

  - dims 0..47 hold the token (each embedding row: random, zero mean), dims 48..71 the position (cos and sin of six
    frequencies, each with its negation so that every row has zero mean and LayerNorm only scales), 72..95 are unused;
  - layer 0, head 0 is a previous-token head: its query is the position rotated back by one step, its key the
    position, with a scale that puts every other key ~100 logits below (exp underflows to 0); its value copies the
    token dims and its output projection writes them back, seven times stronger than the token's own embedding;
  - every other head attends evenly (no query or key weights) to values that do not depend on the text (a value bias
    only), so it writes a constant: a share of the logits that no token can change;
  - the MLPs are small and random (per position);
  - norms, biases: 1 and 0 plus a little noise (identical tensors would be stored once by the exporter, and the
    biases exercise the attribution's constant term); the LM head is the token embedding.

So the model predicts the token before the current one; direct logit attribution of that prediction must name head
0.0 first; switching it off must remove the effect; and no token before the previous one can change the prediction.

reference.json holds PyTorch's logits at the last position for a text: clean, with head 0.0 zeroed, and with head 0.0
mean-ablated (its slice of the output projection's input replaced by its mean over the text's positions).

    /usr/bin/python3 models/train/make_why_fixture.py
"""
import json
import math
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT2, Config  # noqa: E402
from export import export_onnx, hf_config  # noqa: E402
import bpe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "why-copy")
LENS = os.path.join(ROOT, "models", "lens-tiny")

D, H, HD, L, P = 96, 2, 48, 2, 64
TOK = slice(0, 48)
FREQS = [1, 2, 4, 8, 16, 32]
N = 128  # period of the slowest frequency: more than twice the context, so no two positions alias
BETA = 100.0
TEXT = "The quick brown fox jumps over the lazy dog and the cat"


def position_rows(shift):
    """[P, 24]: (cos, sin, -cos, -sin) of each frequency at position t - shift."""
    rows = torch.zeros(P, 4 * len(FREQS))
    for t in range(P):
        for i, f in enumerate(FREQS):
            w = 2 * math.pi * f / N
            c, s = math.cos(w * (t - shift)), math.sin(w * (t - shift))
            rows[t, 4 * i:4 * i + 4] = torch.tensor([c, s, -c, -s])
    return rows


def rotation(shift):
    """[24, 24] R with pos(t) @ R = pos(t - shift), frequency by frequency (the negated copies follow)."""
    R = torch.zeros(4 * len(FREQS), 4 * len(FREQS))
    for i, f in enumerate(FREQS):
        w = 2 * math.pi * f / N * shift
        # [c, s] -> [c cos w + s sin w, s cos w - c sin w]
        block = torch.tensor([[math.cos(w), -math.sin(w)], [math.sin(w), math.cos(w)]])
        o = 4 * i
        R[o:o + 2, o:o + 2] = block
        R[o + 2:o + 4, o + 2:o + 4] = block
    return R


def build():
    torch.manual_seed(15)
    V = 8192
    cfg = Config(vocab_size=V, n_positions=P, n_embd=D, n_layer=L, n_head=H)
    model = GPT2(cfg)
    tr = model.transformer
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(1e-3 * torch.randn_like(p))
        e = torch.randn(V, 48)
        e -= e.mean(dim=1, keepdim=True)
        e /= e.norm(dim=1, keepdim=True)
        tr.wte.weight[:, TOK] = e
        a = math.sqrt(1 / 12)  # |pos|^2 = 24 a^2 / 2 = 1, like a token row
        tr.wpe.weight[:, 48:72] = a * position_rows(0)
        for blk in tr.h:
            blk.ln_1.weight.add_(1.0)
            blk.ln_2.weight.add_(1.0)
        tr.ln_f.weight.add_(1.0)
        pos = slice(48, 72)
        for li, blk in enumerate(tr.h):
            W = blk.attn.c_attn.weight  # [D, 3D]: q | k | v, each split by head
            Wo = blk.attn.c_proj.weight  # [D, D]
            for h in range(H):
                q = slice(h * HD, h * HD + 24)
                k = slice(D + h * HD, D + h * HD + 24)
                v = slice(2 * D + h * HD, 2 * D + h * HD + 48)
                if li == 0 and h == 0:
                    W[pos, q] = BETA * rotation(1)
                    W[pos, k] = torch.eye(24)
                    W[TOK, v] = torch.eye(48)
                    Wo[h * HD:h * HD + 48, TOK] = torch.eye(48)
                else:
                    W[:, q] = 0
                    W[:, k] = 0
                    W[:, v] = 0
                    blk.attn.c_attn.bias[2 * D + h * HD:2 * D + (h + 1) * HD] = 3 * torch.randn(HD) / math.sqrt(HD)
                    Wo[h * HD:h * HD + 48, TOK] = 0.3 * torch.randn(48, 48) / math.sqrt(48)
            blk.mlp.c_fc.weight.copy_(0.05 * torch.randn(D, 4 * D))
            blk.mlp.c_proj.weight.copy_(0.05 * torch.randn(4 * D, D))
    return model


def logits_with(model, ids, head_mode=None):
    """Logits at the last position; head_mode 'zero' or 'mean' switches layer 0 head 0 off (on the c_proj input)."""
    attn = model.transformer.h[0].attn
    orig = attn.c_proj.forward

    def patched(y):
        y = y.clone()
        sl = slice(0, HD)
        if head_mode == "zero":
            y[:, :, sl] = 0
        elif head_mode == "mean":
            y[:, :, sl] = y[:, :, sl].mean(dim=1, keepdim=True)
        return orig(y)

    if head_mode:
        attn.c_proj.forward = patched
    try:
        with torch.no_grad():
            logits, _ = model(torch.tensor([ids]))
    finally:
        attn.c_proj.forward = orig
    return logits[0, -1]


def main():
    model = build()
    model.eval()
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(LENS, f), os.path.join(OUT, f))
    tok = bpe.Tokenizer.load(os.path.join(OUT, "tokenizer.json"))
    with open(os.path.join(OUT, "tokenizer.json")) as fh:
        vocab = json.load(fh)["model"]["vocab"]
    with open(os.path.join(OUT, "config.json"), "w") as fh:
        json.dump(hf_config(model.cfg, vocab), fh, indent=2)
    export_onnx(model, os.path.join(OUT, "onnx", "model.onnx"))
    ids = tok.encode(TEXT)
    clean = logits_with(model, ids)
    ref = {
        "text": TEXT,
        "ids": ids,
        "note": "logits at the last position: clean, layer 0 head 0 zeroed, and mean-ablated over the text's positions",
        "clean": [round(float(x), 6) for x in clean],
        "head0_zero": [round(float(x), 6) for x in logits_with(model, ids, "zero")],
        "head0_mean": [round(float(x), 6) for x in logits_with(model, ids, "mean")],
    }
    with open(os.path.join(OUT, "reference.json"), "w") as fh:
        json.dump(ref, fh)
    top = int(clean.argmax())
    print(f"last token {ids[-1]}, previous {ids[-2]}, predicted {top}", file=sys.stderr)


if __name__ == "__main__":
    main()
