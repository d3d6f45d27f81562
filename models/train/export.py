#!/usr/bin/env python3
"""Exports a checkpoint to the transformers.js / Optimum decoder layout:

    models/lens-tiny/config.json, generation_config.json, onnx/model.onnx
    (tokenizer.json and tokenizer_config.json are written by train_tokenizer.py)

ONNX opset 17 with the legacy (TorchScript) exporter; inputs input_ids, attention_mask,
position_ids, past_key_values.{i}.key/value; outputs logits, present.{i}.key/value.
Also writes test/fixtures/lens-tiny/kv-cache.json: PyTorch logits at past lengths 0, 4 and 100.

    /usr/bin/python3 models/train/export.py --ckpt models/train/work/ckpt.pt [--random]
"""
import argparse
import hashlib
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT2, Config  # noqa: E402
import bpe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


class OnnxGPT2(GPT2):
    """The same module with flat past/present tensors, so the exported names stay the model's own
    (initializers transformer.h.0.attn.c_attn.weight, nodes /transformer/h.0/attn/Softmax)."""

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = super().forward(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def load(ckpt_path, random_init=False, cfg=None):
    if random_init:
        torch.manual_seed(0)
        return GPT2(cfg or Config()), {"step": 0, "tokens_seen": 0}
    ck = torch.load(ckpt_path, map_location="cpu")
    model = GPT2(Config(**ck["config"]))
    model.load_state_dict(ck["model"])
    return model, ck


def hf_config(cfg, tok_vocab):
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": cfg.vocab_size,
        "n_positions": cfg.n_positions,
        "n_ctx": cfg.n_positions,
        "n_embd": cfg.n_embd,
        "n_layer": cfg.n_layer,
        "n_head": cfg.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "layer_norm_epsilon": cfg.layer_norm_epsilon,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "use_cache": True,
        "torch_dtype": "float32",
        "bos_token_id": tok_vocab["<|endoftext|>"],
        "eos_token_id": tok_vocab["<|endoftext|>"],
        "pad_token_id": tok_vocab["<fim_pad>"],
        "fim_prefix_token_id": tok_vocab["<fim_prefix>"],
        "fim_middle_token_id": tok_vocab["<fim_middle>"],
        "fim_suffix_token_id": tok_vocab["<fim_suffix>"],
        "fim_pad_token_id": tok_vocab["<fim_pad>"],
    }


def export_onnx(model, path):
    cfg = model.cfg
    L, H, hd = cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head
    b, t, p = 2, 3, 5  # no dimension of 1, so nothing gets specialised to a broadcast
    ids = torch.randint(0, cfg.vocab_size, (b, t))
    mask = torch.ones(b, p + t, dtype=torch.long)
    pos = torch.arange(p, p + t).unsqueeze(0).expand(b, t).contiguous()
    past = []
    in_names = ["input_ids", "attention_mask", "position_ids"]
    out_names = ["logits"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(L):
        for kv in ("key", "value"):
            past.append(torch.randn(b, H, p, hd))
            n_in, n_out = f"past_key_values.{i}.{kv}", f"present.{i}.{kv}"
            in_names.append(n_in)
            out_names.append(n_out)
            axes[n_in] = {0: "batch_size", 2: "past_sequence_length"}
            axes[n_out] = {0: "batch_size", 2: "total_sequence_length"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.eval()
    with torch.no_grad():
        flat = OnnxGPT2(cfg)
        flat.load_state_dict(model.state_dict())
        flat.eval()
        torch.onnx.export(flat, (ids, mask, pos, *past), path,
                          input_names=in_names, output_names=out_names, dynamic_axes=axes,
                          opset_version=17, do_constant_folding=False)
    import onnx
    import onnx.numpy_helper
    m = onnx.load(path)
    # The tied LM head must not be stored twice: no two initializers with the same bytes.
    seen = {}
    for init in m.graph.initializer:
        h = hashlib.sha256(init.raw_data or onnx.numpy_helper.to_array(init).tobytes()).hexdigest()
        if h in seen and len(init.raw_data) > 1024:
            raise SystemExit(f"initializer {init.name} duplicates {seen[h]}")
        seen[h] = init.name
    onnx.checker.check_model(m)
    big = sorted(((len(i.raw_data), i.name) for i in m.graph.initializer), reverse=True)[:3]
    print(f"onnx: {os.path.getsize(path)/1e6:.2f} MB, {len(m.graph.initializer)} initializers, "
          f"largest {big}", file=sys.stderr)


def reference_logits(model, tok, out_path):
    """PyTorch logits for check_onnx.mjs (test/fixtures/lens-tiny/kv-cache.json): for past length
    P in (0, 4, 100), the full logits of T new tokens after P cached ones. Also checks PyTorch's
    own past path against one full pass."""
    text = open(os.path.join(HERE, "bpe.py")).read()
    ids_all = tok.encode(text)[:110]
    T = 2
    cases = []
    with torch.no_grad():
        for P in (0, 4, 100):
            ids = torch.tensor([ids_all[:P + T]])
            full, _ = model(ids)
            past = None
            if P:
                _, past = model(ids[:, :P])
            new, _ = model(ids[:, P:], torch.ones(1, P + T, dtype=torch.long),
                           torch.arange(P, P + T).unsqueeze(0), past)
            diff = (full[:, P:] - new).abs().max().item()
            assert diff < 1e-4, f"PyTorch past path differs by {diff} at past {P}"
            cases.append({"past": P, "ids": ids_all[:P + T],
                          "logits": [[float(f"{v:.7g}") for v in row] for row in new[0].tolist()]})
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    json.dump({"model": "models/lens-tiny", "new_tokens": T, "cases": cases}, open(out_path, "w"),
              separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--random", action="store_true", help="export an untrained model (layout test)")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "lens-tiny"))
    args = ap.parse_args()
    model, ck = load(args.ckpt, args.random)
    model.eval()
    tok = bpe.Tokenizer.load(os.path.join(args.out, "tokenizer.json"))
    cfg = model.cfg
    json.dump(hf_config(cfg, tok.vocab), open(os.path.join(args.out, "config.json"), "w"), indent=2)
    eot = tok.vocab["<|endoftext|>"]
    json.dump({"bos_token_id": eot, "eos_token_id": eot, "pad_token_id": tok.vocab["<fim_pad>"],
               "max_length": cfg.n_positions, "do_sample": False},
              open(os.path.join(args.out, "generation_config.json"), "w"), indent=2)
    export_onnx(model, os.path.join(args.out, "onnx", "model.onnx"))
    reference_logits(model, tok, os.path.join(ROOT, "test", "fixtures", "lens-tiny", "kv-cache.json"))
    print(f"exported step {ck.get('step')} ({ck.get('tokens_seen')} tokens seen) -> {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
