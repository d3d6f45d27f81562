#!/usr/bin/env python3
"""Writes test/fixtures/gpt2-tiny: a GPT-2-family model (model.py, exported by export.py as lens-tiny is) shrunk to
d 16, 2 layers, 2 heads, 64 positions, with seeded random weights and lens-tiny's tokenizer, in float32
(onnx/model.onnx) and in float16 as transformers.js' scripts/quantize.py (mode fp16) converts it (onnx/model_fp16.onnx:
float16.py's convert_float_to_float16 with its op block list, keep_io_types=True). test/unit/fp16.test.ts reads both
and checks that the lens reads the float16 file (upcast to float32, src/core/onnx/upcast.ts) as the float32 one, within
the float16 rounding of the weights. Deterministic: the same files every run.

    /usr/bin/python3 models/train/make_gpt2_fp16.py [--out test/fixtures/gpt2-tiny]
"""
import argparse
import json
import os
import shutil
import sys
import warnings

import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import bpe  # noqa: E402
import float16  # noqa: E402
from export import export_onnx, hf_config  # noqa: E402
from model import GPT2, Config  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "gpt2-tiny"))
    args = ap.parse_args()
    src = os.path.join(ROOT, "models", "lens-tiny")
    tok = bpe.Tokenizer.load(os.path.join(src, "tokenizer.json"))
    cfg = Config(vocab_size=8192, n_positions=64, n_embd=16, n_layer=2, n_head=2)
    torch.manual_seed(1201)
    model = GPT2(cfg).eval()
    with torch.no_grad():
        # Non-zero biases and norm weights, so that every tensor has something for float16 to round.
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(os.path.join(args.out, "onnx"))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), os.path.join(args.out, f))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(hf_config(cfg, tok.vocab), f, indent=2)
        f.write("\n")
    torch.manual_seed(0)   # export_onnx draws its example inputs
    path = os.path.join(args.out, "onnx", "model.onnx")
    export_onnx(model, path)
    m = onnx.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the mask's -3.4e38 truncated to -1e4, as in every converted file
        m16 = float16.convert_float_to_float16(m, keep_io_types=True, op_block_list=set(float16.DEFAULT_OP_BLOCK_LIST))
    onnx.checker.check_model(m16)
    onnx.save(m16, os.path.join(args.out, "onnx", "model_fp16.onnx"))
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters -> {os.path.relpath(args.out, ROOT)}", file=sys.stderr)
    for dp, _, fs in sorted(os.walk(args.out)):
        for f in sorted(fs):
            p = os.path.join(dp, f)
            print(f"  {os.path.relpath(p, args.out)}: {os.path.getsize(p) / 1e3:,.0f} kB", file=sys.stderr)


if __name__ == "__main__":
    main()
