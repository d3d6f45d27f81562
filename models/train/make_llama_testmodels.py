#!/usr/bin/env python3
"""Writes Llama-family test models (SmolLM2 = model_type llama, Qwen2.5 / Qwen2.5-Coder = qwen2)
with seeded random weights, in the exact layouts published on the Hugging Face hub, plus the
PyTorch reference values the TypeScript tests compare against. No weights are downloaded.

    # the committed fixtures (deterministic: same files every run)
    /usr/bin/python3 models/train/make_llama_testmodels.py --shape tiny-llama --out test/fixtures/llama-tiny
    /usr/bin/python3 models/train/make_llama_testmodels.py --shape tiny-qwen2 --out test/fixtures/qwen2-tiny
    /usr/bin/python3 models/train/make_llama_testmodels.py --shape tiny-llama --fused --out test/fixtures/llama-tiny-gqa
    /usr/bin/python3 models/train/make_llama_testmodels.py --shape tiny-qwen2 --fused --out test/fixtures/qwen2-tiny-gqa
    # real shapes (git-ignored, default models/train/work/testmodels/<shape>/)
    /usr/bin/python3 models/train/make_llama_testmodels.py --shape smollm2-135m --variants fp32,q4
    /usr/bin/python3 models/train/make_llama_testmodels.py --shape qwen2.5-0.5b --variants q4

Layouts (each checked against its source, see models/README.md):

transformers.js / Optimum folder (default):
    config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
    onnx/model.onnx            fp32, exported from llama_model.py with the legacy TorchScript exporter
                               (opset 17, constant folding on, as Optimum does), "with past" interface:
                               inputs input_ids, attention_mask, position_ids [batch_size,
                               sequence_length] / [batch_size, past_sequence_length + sequence_length]
                               (int64), past_key_values.{i}.key|value [batch_size, num_key_value_heads,
                               past_sequence_length, head_dim] (past length 0 on the first step);
                               outputs logits [batch_size, sequence_length, vocab], present.{i}.key|value
                               [batch_size, num_key_value_heads, past_sequence_length + sequence_length,
                               head_dim]. Over 2 GB: ONNX external data in onnx/model.onnx_data and
                               "transformers.js_config": {"use_external_data_format": {"model.onnx": 1}}.
    onnx/model_q4.onnx         what transformers.js' scripts/quantize.py (mode q4) writes with
                               onnxruntime's MatMul4BitsQuantizer (block_size 32, is_symmetric True,
                               accuracy_level unset): every MatMul whose B is a 2-D float initializer
                               becomes com.microsoft MatMulNBits (see q4_quantize for the bit layout);
                               Gather (embedding), biases (Add) and activations stay fp32.
    onnx/model_fp16.onnx       what transformers.js' scripts/quantize.py (mode fp16) writes: float16.py's
                               convert_float_to_float16 (ported in float16.py beside this file) on the fp32
                               graph, with its op block list (Cast, Max, Min, CumSum, TopK, Range... stay
                               float32 between Casts) and keep_io_types=True (float32 inputs and outputs,
                               Casts after and before them); --fp16-io (the tiny qwen2 fixture) writes
                               keep_io_types=False instead: float16 past key/values and logits, the files
                               whose config.json says "transformers.js_config": {"kv_cache_dtype":
                               {"fp16": "float16", "q4f16": "float16"}} (written so then).
    onnx/model_q4f16.onnx      quantize.py mode q4f16: the q4 graph above, then the same fp16 conversion
                               (MatMulNBits' scales and activations float16, its packed weights unchanged).
    onnx/model_quantized.onnx  what transformers.js (mode q8) / onnxruntime.quantization's ONNXQuantizer
                               (IntegerOps, dynamic, per-tensor, weights QInt8) writes: per MatMul with
                               a constant B, DynamicQuantizeLinear on the activation -> MatMulInteger
                               (int8 weight, int8 zero point 0) -> Cast(float) -> Mul(activation scale *
                               weight scale); the embedding Gather reads an int8 table followed by
                               DequantizeLinear; MatMuls of two activations (attention scores) and
                               Softmax stay fp32.
onnxruntime-genai builder folder (--fused, CPU fp32 as builder.py -p fp32 -e cpu writes it):
    genai_config.json, model.onnx + model.onnx.data (every initializer external), tokenizer.json,
    tokenizer_config.json, special_tokens_map.json: SimplifiedLayerNormalization /
    SkipSimplifiedLayerNormalization (com.microsoft, output 3 = the residual sum), packed QKV MatMul,
    GroupQueryAttention (com.microsoft, do_rotary=1, cos_cache/sin_cache initializers, seqlens_k and
    total_sequence_length computed from attention_mask), no position_ids input.

Each tiny folder also gets reference.json (format: test/fixtures/README.md) and is then checked in
Node by check_llama.mjs, whose measured errors are written back into reference.json ("measured").
"""
import argparse
import copy
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata

import numpy as np
import onnx
import regex
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import bpe  # noqa: E402
from llama_model import LlamaConfig, LlamaForCausalLM, OnnxLlama, parameter_groups  # noqa: E402
import float16  # noqa: E402

OPSET = 17          # the highest the installed torch (1.13) exports; Optimum now defaults to 18
GENAI_OPSET = 21    # onnxruntime-genai's builder: opset 21, IR version 10
TRANSFORMERS_VERSION = "4.46.0"

# ================================================================================================
# Tokenizers
# ================================================================================================
# Qwen2's Split pattern, verbatim from Qwen2.5's tokenizer.json (\p{N} alone: one digit per piece).
QWEN_PAT_STR = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN_PAT = regex.compile(QWEN_PAT_STR)
DIGIT = regex.compile(r"(\p{N})")

SMOLLM2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>",
                    "<file_sep>", "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>",
                    "<issue_closed>", "<jupyter_start>", "<jupyter_text>", "<jupyter_code>",
                    "<jupyter_output>", "<jupyter_script>", "<empty_output>"]
# (content, special) in id order, as Qwen2.5 / Qwen2.5-Coder ship them.
QWEN25_ADDED = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
                ("<|object_ref_start|>", True), ("<|object_ref_end|>", True), ("<|box_start|>", True),
                ("<|box_end|>", True), ("<|quad_start|>", True), ("<|quad_end|>", True),
                ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
                ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False),
                ("</tool_call>", False), ("<|fim_prefix|>", False), ("<|fim_middle|>", False),
                ("<|fim_suffix|>", False), ("<|fim_pad|>", False), ("<|repo_name|>", False),
                ("<|file_sep|>", False)]

CHATML_TEMPLATE = ("{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + "
                   "message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}"
                   "{{- '<|im_start|>assistant\\n' }}{%- endif %}")

# Fixed training text: English, Portuguese, code and numbers. Edit it and every token id changes.
CORPUS = """The café opened in 1987 and it still sells coffee, cake and bread. The café is small.
In 1987 the café opened on a quiet street; today the café sells 42 kinds of coffee and 12 cakes.
People say the coffee at the café is the best coffee in the city, and the cake is good too.
O café abriu em 1987 e ainda vende café, bolo e pão. A cidade gosta do café e do pão de queijo.
A função recebe um número e devolve o número seguinte; a função é simples e a ação é rápida.
Ação, função, informação, coração: palavras com acento são comuns em português e em código.
export function greet(name: string): string {
  return `Hello, ${name}!`;
}
export function add(a: number, b: number): number {
  return a + b;
}
const total = add(40, 2); // 42
const year = 1987; const price = 3.50; const items = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
for (let i = 0; i < items.length; i++) { console.log(items[i] * 2); }
def greet(name):
    return f"Hello, {name}!"

def add(a, b):
    return a + b

The model reads the tokens, the tokens become vectors, and the vectors flow through the layers.
Each layer has attention and a small network; the attention looks at earlier tokens in the text.
The quick brown fox jumps over the lazy dog, and then the dog sleeps in the sun near the café.
Numbers like 2024, 1987, 42 and 3.14 are split into single digits before the merges are applied.
"""


def pretokenize(style, text):
    """The pieces the pre_tokenizer of `style` yields (after the normalizer)."""
    if style == "qwen2":
        return QWEN_PAT.findall(unicodedata.normalize("NFC", text))
    pieces = []
    for part in DIGIT.split(text):
        if not part:
            continue
        if DIGIT.fullmatch(part):
            pieces.append(part)
        else:
            pieces.extend(bpe.GPT2_PAT.findall(part))
    return pieces


def _filler(existing, count):
    """`count` new strings over the byte-level alphabet, in a fixed order, not in `existing`."""
    alphabet = [bpe.BYTE_TO_UNI[b] for b in range(256)]
    out = []
    if count <= 0:
        return out
    for n in itertools.count(2):
        for combo in itertools.product(alphabet, repeat=n):
            s = "".join(combo)
            if s not in existing:
                out.append(s)
                if len(out) == count:
                    return out


class LlamaTokenizer:
    """vocab (token -> id, added tokens included), merges, added [(content, id, special)]."""

    def __init__(self, style, vocab, merges, added, model_max_length):
        self.style = style
        self.vocab = vocab
        self.merges = merges
        self.added = added
        self.model_max_length = model_max_length
        self.inv = {i: t for t, i in vocab.items()}
        self.bpe = bpe.Tokenizer({t: i for t, i in vocab.items()}, merges, [a[0] for a in added])
        self.added_re = regex.compile("(" + "|".join(regex.escape(a[0]) for a in
                                                     sorted(added, key=lambda a: -len(a[0]))) + ")")

    @classmethod
    def build(cls, style, size, model_max_length, n_merges=None):
        """`size`: the tokenizer's number of ids (BPE vocabulary + added tokens)."""
        specials = SMOLLM2_SPECIALS if style == "llama" else [c for c, _ in QWEN25_ADDED]
        n_bpe = size - len(specials)
        target = min(n_bpe, 256 + n_merges) if n_merges else n_bpe
        vocab0, merges = bpe.train_bpe([CORPUS], target, specials=[], min_count=1)
        tokens = [t for t, _ in sorted(vocab0.items(), key=lambda kv: kv[1])]
        tokens += _filler(set(tokens), n_bpe - len(tokens))
        if style == "llama":
            added = [(s, i, True) for i, s in enumerate(specials)]
            vocab = {s: i for i, s in enumerate(specials)}
            vocab.update({t: len(specials) + i for i, t in enumerate(tokens)})
        else:
            vocab = {t: i for i, t in enumerate(tokens)}
            added = [(c, n_bpe + i, sp) for i, (c, sp) in enumerate(QWEN25_ADDED)]
            vocab.update({c: i for c, i, _ in added})
        assert len(vocab) == size and sorted(vocab.values()) == list(range(size))
        return cls(style, vocab, merges, added, model_max_length)

    def id_of(self, content):
        return self.vocab[content]

    def encode(self, text):
        ids = []
        for k, part in enumerate(self.added_re.split(text)):
            if k % 2 == 1:
                ids.append(self.vocab[part])
            elif part:
                for piece in pretokenize(self.style, part):
                    ids.extend(self.bpe._bpe(piece))
        return ids

    def token_bytes(self, i):
        t = self.inv[i]
        if any(a[1] == i for a in self.added):
            return t.encode()
        return bytes(bpe.UNI_TO_BYTE[c] for c in t)

    # ---- files -------------------------------------------------------------------------------

    def tokenizer_json(self):
        added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": sp} for c, i, sp in self.added]
        added_ids = {i for _, i, _ in self.added}
        bpe_vocab = {t: i for t, i in sorted(self.vocab.items(), key=lambda kv: kv[1])}
        if self.style == "llama":
            # HF serialises the whole vocabulary, added tokens included, in model.vocab.
            normalizer = None
            pre = {"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
            post = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
            decoder = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
            model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                     "ignore_merges": False, "vocab": bpe_vocab,
                     "merges": [a + " " + b for a, b in self.merges]}
        else:
            # Qwen2's model.vocab stops before the added tokens.
            bpe_vocab = {t: i for t, i in bpe_vocab.items() if i not in added_ids}
            normalizer = {"type": "NFC"}
            pre = {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN_PAT_STR}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
            post = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
            decoder = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
            model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                     "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                     "ignore_merges": False, "vocab": bpe_vocab,
                     "merges": [a + " " + b for a, b in self.merges]}
        return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
                "normalizer": normalizer, "pre_tokenizer": pre, "post_processor": post,
                "decoder": decoder, "model": model}

    def tokenizer_config(self):
        decoder = {str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False,
                            "single_word": False, "special": sp} for c, i, sp in self.added}
        if self.style == "llama":
            return {"add_prefix_space": False, "added_tokens_decoder": decoder,
                    "additional_special_tokens": [c for c, _, _ in self.added],
                    "bos_token": "<|endoftext|>", "chat_template": CHATML_TEMPLATE,
                    "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>",
                    "model_max_length": self.model_max_length, "tokenizer_class": "GPT2Tokenizer",
                    "unk_token": "<|endoftext|>", "vocab_size": len(self.vocab)}
        return {"add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": decoder,
                "additional_special_tokens": [c for c, _ in QWEN25_ADDED[1:14]],
                "bos_token": None, "chat_template": CHATML_TEMPLATE,
                "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>", "errors": "replace",
                "model_max_length": self.model_max_length, "pad_token": "<|endoftext|>",
                "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer", "unk_token": None}

    def special_tokens_map(self):
        tok = lambda c: {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
        if self.style == "llama":
            return {"additional_special_tokens": [c for c, _, _ in self.added], "bos_token": tok("<|endoftext|>"),
                    "eos_token": tok("<|endoftext|>"), "unk_token": tok("<|endoftext|>")}
        return {"additional_special_tokens": [c for c, _ in QWEN25_ADDED[1:14]],
                "eos_token": tok("<|endoftext|>"), "pad_token": tok("<|endoftext|>")}

    def save(self, out_dir, special_tokens_map=False):
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_json(), f, ensure_ascii=False, indent=2)
        with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_config(), f, ensure_ascii=False, indent=2)
        if special_tokens_map:
            with open(os.path.join(out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
                json.dump(self.special_tokens_map(), f, ensure_ascii=False, indent=2)


# ================================================================================================
# Shapes and config files
# ================================================================================================

SHAPES = {
    # Committed fixtures: SmolLM2 / Qwen2.5 families shrunk (hidden 64, 2 layers, 4 query / 2 kv heads).
    "tiny-llama": dict(style="llama", seed=1101, tokenizer_size=512, variants="fp32,q4,q8,fp16,q4f16",
                       out="test/fixtures/llama-tiny",
                       cfg=dict(model_type="llama", vocab_size=512, hidden_size=64, intermediate_size=128,
                                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                rms_norm_eps=1e-5, rope_theta=100000.0, max_position_embeddings=256,
                                tie_word_embeddings=True)),
    "tiny-qwen2": dict(style="qwen2", seed=1102, tokenizer_size=512, variants="fp32,q4,q8,fp16,q4f16",
                       out="test/fixtures/qwen2-tiny", fp16_io=True,
                       cfg=dict(model_type="qwen2", vocab_size=512, hidden_size=64, intermediate_size=128,
                                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=256,
                                tie_word_embeddings=True)),
    # Real shapes (HuggingFaceTB/SmolLM2-135M, Qwen/Qwen2.5-0.5B), random weights, git-ignored.
    "smollm2-135m": dict(style="llama", seed=1103, tokenizer_size=49152, variants="fp32,q4",
                         out="models/train/work/testmodels/smollm2-135m",
                         cfg=dict(model_type="llama", vocab_size=49152, hidden_size=576, intermediate_size=1536,
                                  num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                                  head_dim=64, rms_norm_eps=1e-5, rope_theta=100000.0,
                                  max_position_embeddings=8192, tie_word_embeddings=True)),
    "qwen2.5-0.5b": dict(style="qwen2", seed=1104, tokenizer_size=151665, variants="q4",
                         out="models/train/work/testmodels/qwen2.5-0.5b",
                         cfg=dict(model_type="qwen2", vocab_size=151936, hidden_size=896, intermediate_size=4864,
                                  num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                                  rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=32768,
                                  tie_word_embeddings=True)),
}

# ~17 tokens with the tiny vocabularies; digits and an accented word (NFC).
REFERENCE_TEXT = "The café opened in 1987 and sells 42 coffees."


def hf_config(cfg: LlamaConfig, external_data=False, kv_cache_fp16=False):
    """config.json as the real repositories have it (SmolLM2-135M re-saved by transformers 4.46, which
    adds head_dim/mlp_bias; Qwen2.5-0.5B as published)."""
    if cfg.model_type == "llama":
        d = {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
             "bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "head_dim": cfg.hd,
             "hidden_act": "silu", "hidden_size": cfg.hidden_size, "initializer_range": 0.02,
             "intermediate_size": cfg.intermediate_size, "is_llama_config": True,
             "max_position_embeddings": cfg.max_position_embeddings, "mlp_bias": False, "model_type": "llama",
             "num_attention_heads": cfg.num_attention_heads, "num_hidden_layers": cfg.num_hidden_layers,
             "num_key_value_heads": cfg.num_key_value_heads, "pretraining_tp": 1,
             "rms_norm_eps": cfg.rms_norm_eps, "rope_interleaved": False, "rope_scaling": None,
             "rope_theta": cfg.rope_theta, "tie_word_embeddings": cfg.tie_word_embeddings,
             "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION, "use_cache": True,
             "vocab_size": cfg.vocab_size}
    else:
        d = {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": cfg.bos_token_id,
             "eos_token_id": cfg.eos_token_id, "hidden_act": "silu", "hidden_size": cfg.hidden_size,
             "initializer_range": 0.02, "intermediate_size": cfg.intermediate_size,
             "max_position_embeddings": cfg.max_position_embeddings, "max_window_layers": cfg.num_hidden_layers,
             "model_type": "qwen2", "num_attention_heads": cfg.num_attention_heads,
             "num_hidden_layers": cfg.num_hidden_layers, "num_key_value_heads": cfg.num_key_value_heads,
             "rms_norm_eps": cfg.rms_norm_eps, "rope_scaling": None, "rope_theta": cfg.rope_theta,
             "sliding_window": cfg.max_position_embeddings, "tie_word_embeddings": cfg.tie_word_embeddings,
             "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION, "use_cache": True,
             "use_sliding_window": False, "vocab_size": cfg.vocab_size}
        if cfg.head_dim:
            d["head_dim"] = cfg.head_dim
    if external_data:
        d["transformers.js_config"] = {"use_external_data_format": {"model.onnx": 1}}
    if kv_cache_fp16:
        d.setdefault("transformers.js_config", {})["kv_cache_dtype"] = {"fp16": "float16", "q4f16": "float16"}
    return d


def generation_config(cfg: LlamaConfig):
    if cfg.model_type == "llama":   # SmolLM2-135M (base)
        return {"_from_model_config": True, "bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id,
                "transformers_version": TRANSFORMERS_VERSION}
    return {"bos_token_id": cfg.bos_token_id, "do_sample": False, "eos_token_id": cfg.eos_token_id,  # Qwen2.5-0.5B
            "max_new_tokens": 2048, "transformers_version": TRANSFORMERS_VERSION}


def write_json(path, obj, indent=2):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent)
        f.write("\n")


def make_model(shape, tok):
    spec = SHAPES[shape]
    cfg = LlamaConfig(**spec["cfg"])
    eot = tok.id_of("<|endoftext|>")
    cfg.bos_token_id, cfg.eos_token_id = eot, eot
    model = LlamaForCausalLM(cfg).init_weights(spec["seed"]).eval()
    return cfg, model


# ================================================================================================
# fp32 export (Optimum layout)
# ================================================================================================

def io_names(cfg):
    ins = ["input_ids", "attention_mask", "position_ids"]
    outs = ["logits"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(cfg.num_hidden_layers):
        for kv in ("key", "value"):
            ins.append(f"past_key_values.{i}.{kv}")
            outs.append(f"present.{i}.{kv}")
            axes[ins[-1]] = {0: "batch_size", 2: "past_sequence_length"}
            axes[outs[-1]] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    return ins, outs, axes


def export_fp32(model, workdir):
    """torch.onnx.export (TorchScript) of the model into workdir; returns the loaded ModelProto (with
    its weights in memory, also when torch wrote them as external files)."""
    cfg = model.cfg
    ins, outs, axes = io_names(cfg)
    b, t, p = 2, 3, 5  # no dimension of 1, so nothing is specialised to a broadcast
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (b, t), generator=g)
    mask = torch.ones(b, p + t, dtype=torch.long)
    pos = torch.arange(p, p + t).unsqueeze(0).expand(b, t).contiguous()
    past = [torch.randn(b, cfg.num_key_value_heads, p, cfg.hd, generator=g) for _ in range(2 * cfg.num_hidden_layers)]
    flat = OnnxLlama(cfg)
    flat.load_state_dict(model.state_dict())
    flat.eval()
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(flat, (ids, mask, pos, *past), path, input_names=ins, output_names=outs,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    m = onnx.load(path)
    return m


def weight_bytes(m):
    return sum(len(t.raw_data) for t in m.graph.initializer)


def save_model(m, path, external=None):
    """Saves `m`; external: None = only past the 2 GB protobuf limit, else the data file name."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = os.path.basename(path) + "_data"
    for f in (path, os.path.join(os.path.dirname(path), data)):
        if os.path.exists(f):
            os.remove(f)
    if external is None and weight_bytes(m) > 1_900_000_000:
        external = data
    if external:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=external, size_threshold=1024)
    else:
        onnx.checker.check_model(m)
        onnx.save_model(m, path)
    return external


# ================================================================================================
# q4: MatMulNBits (onnxruntime MatMul4BitsQuantizer / MatMulNBitsQuantizer, QOperator format)
# ================================================================================================

def _roundf(x):
    """C roundf: halves away from zero (MLAS quantizes with roundf)."""
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def q4_quantize(B, block=32, symmetric=True, want_dequant=True):
    """Block-quantizes the MatMul weight B [K, N] as onnxruntime's quantize_matmul_4bits (MLAS
    MlasQuantizeBlockwise) does, in the layout of com.microsoft MatMulNBits (ContribOperators.md):

      - blocks of `block` consecutive K values of one output column n (K padded with zeros to
        k_blocks * block, k_blocks = ceil(K / block));
      - symmetric: scale = m / -8 where m is the block's value of largest magnitude (sign kept),
        code q = clamp(roundf(v * (1 / scale) + 8), 0, 15), implicit zero point 8 (no zero_points input);
        asymmetric: lo = min(min, 0), hi = max(max, 0), scale = (hi - lo) / 15,
        zp = clamp(roundf(-lo / scale), 0, 15), q = clamp(roundf(v * (1 / scale) + zp), 0, 15);
      - dequantized value = (q - zp) * scale;
      - B input: uint8 [N, k_blocks, block / 2]; byte j of a block holds code 2j in its low nibble
        and code 2j + 1 in its high nibble;
      - scales: float32 [N * k_blocks], index n * k_blocks + b (what the quantizer writes; the op
        also accepts [N, k_blocks]);
      - zero_points (asymmetric only): uint8 [N * ceil(k_blocks / 2)], per column n the block zero
        points two per byte, block 2i in the low nibble.

    Returns (packed, scales, zero_points or None, dequantized B [K, N] or None)."""
    K, N = B.shape
    kb = (K + block - 1) // block
    W = np.zeros((N, kb * block), np.float32)
    W[:, :K] = B.T
    W = W.reshape(N, kb, block)
    if symmetric:
        mn, mx = W.min(-1), W.max(-1)
        m = np.where(np.abs(mx) > np.abs(mn), mx, mn)
        scale = (m / np.float32(-8.0)).astype(np.float32)
        zp = np.full((N, kb), 8.0, np.float32)
    else:
        lo = np.minimum(W.min(-1), 0).astype(np.float32)
        hi = np.maximum(W.max(-1), 0).astype(np.float32)
        scale = ((hi - lo) / np.float32(15.0)).astype(np.float32)
        safe = np.where(scale != 0, scale, np.float32(1))
        zpf = np.where(scale != 0, np.float32(0) - lo / safe, lo).astype(np.float32)
        zp = np.clip(_roundf(zpf), 0, 15).astype(np.float32)
    recip = np.where(scale != 0, np.float32(1) / np.where(scale != 0, scale, np.float32(1)), np.float32(0))
    recip = recip.astype(np.float32)
    q = np.clip(_roundf(W * recip[..., None] + zp[..., None]), 0, 15).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    zps = None
    if not symmetric:
        z = zp.astype(np.uint8)
        if kb % 2:
            z = np.concatenate([z, np.zeros((N, 1), np.uint8)], axis=1)
        zps = (z[:, 0::2] | (z[:, 1::2] << 4)).astype(np.uint8).reshape(-1)
    deq = None
    if want_dequant:
        deq = ((q.astype(np.float32) - zp[..., None]) * scale[..., None]).reshape(N, kb * block)[:, :K].T.copy()
    return packed, scale.reshape(-1), zps, deq


def const_weights(m):
    """2-D float initializers by name."""
    return {t.name: t for t in m.graph.initializer
            if t.data_type == TensorProto.FLOAT and len(t.dims) == 2}


def drop_initializers(g, names):
    for i in range(len(g.initializer) - 1, -1, -1):
        if g.initializer[i].name in names:
            del g.initializer[i]


def add_ms_opset(m):
    if not any(o.domain == "com.microsoft" for o in m.opset_import):
        m.opset_import.append(helper.make_opsetid("com.microsoft", 1))


def to_q4(m, block=32, symmetric=True, log=None):
    """Rewrites `m` in place as MatMul4BitsQuantizer does (node <name>_Q4, initializers <B>_Q4,
    <B>_scales[, <B>_zero_points]); returns {node name: (B name, dequantized B)} for simulation."""
    g = m.graph
    weights = const_weights(m)
    nodes, dequant, drop = [], {}, set()
    for node in g.node:
        if node.op_type == "MatMul" and node.input[1] in weights:
            bname = node.input[1]
            B = numpy_helper.to_array(weights[bname])
            K, N = B.shape
            packed, scales, zps, deq = q4_quantize(B, block, symmetric, want_dequant=log is not None)
            inits = [numpy_helper.from_array(packed, bname + "_Q4"), numpy_helper.from_array(scales, bname + "_scales")]
            inputs = [node.input[0], bname + "_Q4", bname + "_scales"]
            if zps is not None:
                inits.append(numpy_helper.from_array(zps, bname + "_zero_points"))
                inputs.append(bname + "_zero_points")
            g.initializer.extend(inits)
            nodes.append(helper.make_node("MatMulNBits", inputs, [node.output[0]], name=node.name + "_Q4",
                                          domain="com.microsoft", K=K, N=N, bits=4, block_size=block))
            drop.add(bname)
            if log is not None:
                log[node.name] = (bname, deq)
                log.setdefault("_scales", {})[node.name] = (scales, block)
        else:
            nodes.append(node)
    used = {i for n in nodes for i in n.input}
    drop_initializers(g, drop - used)
    del g.node[:]
    g.node.extend(nodes)
    add_ms_opset(m)
    return m


# ================================================================================================
# q8: onnxruntime.quantization ONNXQuantizer, IntegerOps, dynamic, per-tensor, QInt8 weights
# ================================================================================================

def q8_weight(W):
    """Symmetric int8, per tensor (quant_utils.compute_scale_zp with qmin -127, qmax 127)."""
    rmin = np.float32(min(W.min(), 0))
    rmax = np.float32(max(W.max(), 0))
    absmax = np.float32(max(abs(rmin), abs(rmax)))
    scale = np.float32(np.float64(2 * absmax) / 254.0) if absmax > 0 else np.float32(1.0)
    q = np.clip(np.round(W.astype(np.float32) / scale), -127, 127).astype(np.int8)
    return q, scale


def to_q8(m, log=None):
    """Rewrites `m` in place with ONNXQuantizer's names: <A>_QuantizeLinear (DynamicQuantizeLinear
    -> <A>_quantized, <A>_scale, <A>_zero_point), <B>_quantized / <B>_scale / <B>_zero_point,
    <name>_quant (MatMulInteger -> <out>_output_quantized), <out>_output_quantized_cast (Cast),
    <name>_quant_scales_mul, <name>_quant_output_scale_mul (-> <out>); Gather on a float table:
    <table>_quantized, output <out>_quantized, <out>_DequantizeLinear (-> <out>)."""
    g = m.graph
    weights = const_weights(m)
    nodes, drop, qacts, qweights = [], set(), set(), {}

    def quant_weight(name):
        if name not in qweights:
            q, s = q8_weight(numpy_helper.to_array(weights[name]))
            g.initializer.extend([numpy_helper.from_array(q, name + "_quantized"),
                                  numpy_helper.from_array(np.array(s, np.float32), name + "_scale"),
                                  numpy_helper.from_array(np.array(0, np.int8), name + "_zero_point")])
            qweights[name] = (q, s)
            drop.add(name)
        return qweights[name]

    for node in g.node:
        if node.op_type == "Gather" and node.input[0] in weights:
            table = node.input[0]
            q, s = quant_weight(table)
            out = node.output[0]
            gq = copy.deepcopy(node)
            gq.input[0] = table + "_quantized"
            gq.output[0] = out + "_quantized"
            nodes += [gq, helper.make_node("DequantizeLinear", [out + "_quantized", table + "_scale",
                                                                table + "_zero_point"], [out],
                                           name=out + "_DequantizeLinear")]
            if log is not None:
                log[node.name] = ("gather", table, q, s)
        elif node.op_type == "MatMul" and node.input[1] in weights:
            a, bname, out = node.input[0], node.input[1], node.output[0]
            if a not in qacts:
                nodes.append(helper.make_node("DynamicQuantizeLinear", [a],
                                              [a + "_quantized", a + "_scale", a + "_zero_point"],
                                              name=a + "_QuantizeLinear"))
                qacts.add(a)
            q, s = quant_weight(bname)
            name = node.name + "_quant"
            nodes += [
                helper.make_node("MatMulInteger", [a + "_quantized", bname + "_quantized", a + "_zero_point",
                                                   bname + "_zero_point"], [out + "_output_quantized"], name=name),
                helper.make_node("Cast", [out + "_output_quantized"], [out + "_output_quantized_cast_output"],
                                 name=out + "_output_quantized_cast", to=TensorProto.FLOAT),
                helper.make_node("Mul", [a + "_scale", bname + "_scale"], [name + "_scales_mul:0"],
                                 name=name + "_scales_mul"),
                helper.make_node("Mul", [out + "_output_quantized_cast_output", name + "_scales_mul:0"], [out],
                                 name=name + "_output_scale_mul"),
            ]
            if log is not None:
                log[node.name] = ("matmul", bname, q, s)
        else:
            nodes.append(node)
    used = {i for n in nodes for i in n.input}
    drop_initializers(g, drop - used)
    del g.node[:]
    g.node.extend(nodes)
    m.producer_name, m.producer_version = "onnx.quantize", "0.1.0"
    return m


# ================================================================================================
# Fused build: what onnxruntime-genai's builder (src/python/py/models/builders/base.py) writes for
# `-p fp32 -e cpu`: GroupQueryAttention with packed QKV and rotary inside, SimplifiedLayerNormalization
# then SkipSimplifiedLayerNormalization, tied embeddings shared (Transpose of lm_head.MatMul.weight).
# ================================================================================================

class GenaiGraph:
    def __init__(self):
        self.nodes, self.inits, self.vis, self.consts = [], [], [], set()

    def const(self, dtype, value):
        """The builder's /model/constants/{DTYPE}/{value}, made by a Constant node
        /model/constant_nodes/{DTYPE}/{value}."""
        name = f"/model/constants/{dtype}/{value}"
        if name not in self.consts:
            np_dtype = {"INT64": np.int64, "INT32": np.int32}[dtype]
            arr = np.array(value, np_dtype)
            self.nodes.append(helper.make_node("Constant", [], [name], name=name.replace("constants", "constant_nodes"),
                                               value=numpy_helper.from_array(arr, name)))
            self.consts.add(name)
        return name

    def node(self, op, name, inputs, outputs=None, domain="", shape=None, dtype=TensorProto.FLOAT, **attrs):
        outputs = outputs or [f"{name}/output_0"]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, domain=domain, **attrs))
        if shape is not None:
            self.vis.append(helper.make_tensor_value_info(outputs[0], dtype, shape))
        return outputs[0]

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name


def build_genai(model, qk_output=2):
    """The fused graph for `model` (float32). qk_output=2 adds GroupQueryAttention's qk_output
    attribute and its 4th output /model/layers.{i}/attn/GroupQueryAttention/output_3 (the softmax
    probabilities [batch, num_heads, sequence_length, total_sequence_length]) as an internal value,
    not a graph output; 0 writes exactly what the builder writes."""
    cfg = model.cfg
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    L, H, KV, hd, d, V = (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hd,
                          cfg.hidden_size, cfg.vocab_size)
    seq = ["batch_size", "sequence_length"]
    G = GenaiGraph()
    # Inputs / outputs (base.py input_shapes / output_shapes; position_ids is dropped when rotary runs
    # inside GroupQueryAttention).
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, seq),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, seq + [V])]
    for i in range(L):
        for kv in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", TensorProto.FLOAT,
                                                        ["batch_size", KV, "past_sequence_length", "kv_cache_dim"]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kv}", TensorProto.FLOAT,
                                                         ["batch_size", KV, "total_sequence_length", "kv_cache_dim"]))
    # make_attention_mask_reformatting_for_gqa
    base = "/model/attn_mask_reformat/attn_mask_subgraph"
    one_1d = G.const("INT64", [1])
    rs = G.node("ReduceSum", f"{base}/ReduceSum", ["attention_mask", one_1d], shape=["batch_size"],
                dtype=TensorProto.INT64, keepdims=0)
    sub = G.node("Sub", f"{base}/Sub", [rs, one_1d], shape=["batch_size"], dtype=TensorProto.INT64)
    seqlens_k = G.node("Cast", f"{base}/Sub/Cast", [sub], shape=["batch_size"], dtype=TensorProto.INT32,
                       to=TensorProto.INT32)
    shp = G.node("Shape", f"{base}/Shape", ["attention_mask"], shape=[2], dtype=TensorProto.INT64)
    gat = G.node("Gather", f"{base}/Gather", [shp, G.const("INT64", 1)], shape=[], dtype=TensorProto.INT64, axis=0)
    total_len = G.node("Cast", f"{base}/Gather/Cast", [gat], to=TensorProto.INT32)
    # Embedding (shared with the LM head when the weights are tied)
    G.init("lm_head.MatMul.weight", sd["lm_head.weight"].T)
    if cfg.tie_word_embeddings:
        table = G.node("Transpose", "/model/embed_tokens/Transpose", ["lm_head.MatMul.weight"], shape=[V, d], perm=[1, 0])
    else:
        table = G.init("model.embed_tokens.weight", sd["model.embed_tokens.weight"])
    emb = G.node("Gather", "/model/embed_tokens/Gather", [table, "input_ids"], shape=seq + [d])
    # Rotary caches: cos/sin of t * inv_freq, t = 0 .. context_length - 1, first head_dim / 2 columns
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.outer(torch.arange(cfg.max_position_embeddings, dtype=torch.int64).type_as(inv_freq), inv_freq)
    emb_f = torch.cat((freqs, freqs), dim=-1)
    G.init("cos_cache", emb_f.cos()[:, : hd // 2].numpy())
    G.init("sin_cache", emb_f.sin()[:, : hd // 2].numpy())
    eps = float(cfg.rms_norm_eps)
    root, skip = emb, None
    for i in range(L):
        p = f"model.layers.{i}"
        # input_layernorm: SimplifiedLayerNormalization first, SkipSimplifiedLayerNormalization after
        w = G.init(f"{p}.input_layernorm.weight", sd[f"{p}.input_layernorm.weight"])
        if i == 0:
            ln = G.node("SimplifiedLayerNormalization", f"/model/layers.{i}/input_layernorm/LayerNorm", [root, w],
                        [f"/model/layers.{i}/input_layernorm/output_0"], shape=seq + [d], axis=-1, epsilon=eps,
                        stash_type=1)
        else:
            o0, o3 = f"/model/layers.{i}/input_layernorm/output_0", f"/model/layers.{i}/input_layernorm/output_3"
            ln = G.node("SkipSimplifiedLayerNormalization", f"/model/layers.{i}/input_layernorm/SkipLayerNorm",
                        [root, skip, w], [o0, "", "", o3], domain="com.microsoft", shape=seq + [d], epsilon=eps)
            G.vis.append(helper.make_tensor_value_info(o3, TensorProto.FLOAT, seq + [d]))
            root = o3
        # attention: packed QKV MatMul (+ packed bias Add), GroupQueryAttention, o_proj MatMul
        wqkv = np.concatenate([sd[f"{p}.self_attn.{n}_proj.weight"] for n in "qkv"], axis=0).T
        G.init(f"{p}.attn.qkv_proj.MatMul.weight", wqkv)
        qkv = G.node("MatMul", f"/model/layers.{i}/attn/qkv_proj/MatMul", [ln, f"{p}.attn.qkv_proj.MatMul.weight"],
                     shape=seq + [wqkv.shape[1]])
        if cfg.qkv_bias:
            bqkv = np.concatenate([sd[f"{p}.self_attn.{n}_proj.bias"] for n in "qkv"])
            G.init(f"{p}.attn.qkv_proj.Add.bias", bqkv)
            qkv = G.node("Add", f"/model/layers.{i}/attn/qkv_proj/Add", [qkv, f"{p}.attn.qkv_proj.Add.bias"],
                         shape=seq + [wqkv.shape[1]])
        gqa = f"/model/layers.{i}/attn/GroupQueryAttention"
        gqa_out = [f"{gqa}/output_0", f"present.{i}.key", f"present.{i}.value"]
        attrs = dict(num_heads=H, kv_num_heads=KV, scale=float(1 / np.sqrt(hd)), local_window_size=-1,
                     softcap=0.0, do_rotary=1, rotary_interleaved=0)
        if qk_output:
            attrs["qk_output"] = qk_output
            gqa_out.append(f"{gqa}/output_3")
        G.node("GroupQueryAttention", gqa,
               [qkv, "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens_k, total_len,
                "cos_cache", "sin_cache", "", "", ""], gqa_out, domain="com.microsoft", shape=seq + [H * hd], **attrs)
        G.init(f"{p}.attn.o_proj.MatMul.weight", sd[f"{p}.self_attn.o_proj.weight"].T)
        skip = G.node("MatMul", f"/model/layers.{i}/attn/o_proj/MatMul", [f"{gqa}/output_0", f"{p}.attn.o_proj.MatMul.weight"],
                      shape=seq + [d])
        # post_attention_layernorm
        w = G.init(f"{p}.post_attention_layernorm.weight", sd[f"{p}.post_attention_layernorm.weight"])
        o0, o3 = f"/model/layers.{i}/post_attention_layernorm/output_0", f"/model/layers.{i}/post_attention_layernorm/output_3"
        ln = G.node("SkipSimplifiedLayerNormalization", f"/model/layers.{i}/post_attention_layernorm/SkipLayerNorm",
                    [root, skip, w], [o0, "", "", o3], domain="com.microsoft", shape=seq + [d], epsilon=eps)
        G.vis.append(helper.make_tensor_value_info(o3, TensorProto.FLOAT, seq + [d]))
        root = o3
        # MLP: gate, up, act_fn (Sigmoid, Mul), Mul, down
        inter = cfg.intermediate_size
        for n in ("gate", "up"):
            G.init(f"{p}.mlp.{n}_proj.MatMul.weight", sd[f"{p}.mlp.{n}_proj.weight"].T)
        gate = G.node("MatMul", f"/model/layers.{i}/mlp/gate_proj/MatMul", [ln, f"{p}.mlp.gate_proj.MatMul.weight"],
                      shape=seq + [inter])
        up = G.node("MatMul", f"/model/layers.{i}/mlp/up_proj/MatMul", [ln, f"{p}.mlp.up_proj.MatMul.weight"],
                    shape=seq + [inter])
        sig = G.node("Sigmoid", f"/model/layers.{i}/mlp/act_fn/Sigmoid", [gate], shape=seq + [inter])
        act = G.node("Mul", f"/model/layers.{i}/mlp/act_fn/Mul", [gate, sig], shape=seq + [inter])
        mul = G.node("Mul", f"/model/layers.{i}/mlp/Mul", [act, up], shape=seq + [inter])
        G.init(f"{p}.mlp.down_proj.MatMul.weight", sd[f"{p}.mlp.down_proj.weight"].T)
        skip = G.node("MatMul", f"/model/layers.{i}/mlp/down_proj/MatMul", [mul, f"{p}.mlp.down_proj.MatMul.weight"],
                      shape=seq + [d])
    # final norm: SkipSimplifiedLayerNormalization with output 0 only, named after layer L
    w = G.init(f"model.layers.{L}.final_norm_layernorm.weight", sd["model.norm.weight"])
    fin = G.node("SkipSimplifiedLayerNormalization", f"/model/layers.{L}/final_norm_layernorm/SkipLayerNorm",
                 [root, skip, w], [f"/model/layers.{L}/final_norm_layernorm/output_0"], domain="com.microsoft",
                 shape=seq + [d], epsilon=eps)
    G.node("MatMul", "/lm_head/MatMul", [fin, "lm_head.MatMul.weight"], ["logits"])
    graph = helper.make_graph(G.nodes, "main_graph", inputs, outputs, G.inits, value_info=G.vis)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", GENAI_OPSET),
                                                helper.make_opsetid("com.microsoft", 1)],
                          ir_version=10, producer_name="onnxruntime-genai")
    return m


def genai_config(cfg: LlamaConfig):
    """make_genai_config for a CPU build (past_present_share_buffer true with GroupQueryAttention)."""
    ctx = cfg.max_position_embeddings
    return {
        "model": {
            "bos_token_id": cfg.bos_token_id if cfg.bos_token_id is not None else 1,
            "context_length": ctx,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
                "filename": "model.onnx",
                "head_size": cfg.hd,
                "hidden_size": cfg.hidden_size,
                "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask",
                           "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"},
                "outputs": {"logits": "logits", "present_key_names": "present.%d.key",
                            "present_value_names": "present.%d.value"},
                "num_attention_heads": cfg.num_attention_heads,
                "num_hidden_layers": cfg.num_hidden_layers,
                "num_key_value_heads": cfg.num_key_value_heads,
            },
            "eos_token_id": cfg.eos_token_id,
            "pad_token_id": cfg.eos_token_id,
            "type": cfg.model_type,
            "vocab_size": cfg.vocab_size,
        },
        "search": {"diversity_penalty": 0.0, "do_sample": False, "early_stopping": True, "length_penalty": 1.0,
                   "max_length": ctx, "min_length": 0, "no_repeat_ngram_size": 0, "num_beams": 1,
                   "num_return_sequences": 1, "past_present_share_buffer": True, "repetition_penalty": 1.0,
                   "temperature": 1.0, "top_k": 50, "top_p": 1.0},
    }


# ================================================================================================
# Reference values (PyTorch) and quantization simulations
# ================================================================================================

def f7(v):
    return float(f"{v:.7g}")


def f7list(t):
    return [f7(v) for v in t.tolist()]


def greedy_uncached(model, prompt, n):
    """n greedy tokens, every step a full forward pass over the whole sequence (no cache)."""
    ids, gaps = list(prompt), []
    with torch.no_grad():
        for _ in range(n):
            logits, _ = model(torch.tensor([ids]))
            top = torch.topk(logits[0, -1], 2)
            gaps.append((top.values[0] - top.values[1]).item())
            ids.append(int(top.indices[0]))
    return ids[len(prompt):], min(gaps)


def greedy_cached(model, prompt, n):
    with torch.no_grad():
        logits, past = model(torch.tensor([prompt]))
        out = [int(logits[0, -1].argmax())]
        while len(out) < n:
            p = past[0][0].shape[2]
            logits, past = model(torch.tensor([[out[-1]]]), torch.ones(1, p + 1, dtype=torch.long),
                                 torch.tensor([[p]]), past)
            out.append(int(logits[0, -1].argmax()))
    return out


def q4_simulation(model, dequant):
    """The model with every quantized MatMul weight replaced by its dequantized value (what
    MatMulNBits computes with accuracy_level unset: fp32 math on the dequantized weights)."""
    sim = copy.deepcopy(model)
    by_node = {name: v[1] for name, v in dequant.items() if name != "_scales"}
    with torch.no_grad():
        for i, layer in enumerate(sim.model.layers):
            for mod, n in [(layer.self_attn, n) for n in ("q_proj", "k_proj", "v_proj", "o_proj")] + \
                          [(layer.mlp, n) for n in ("gate_proj", "up_proj", "down_proj")]:
                scope = "self_attn" if mod is layer.self_attn else "mlp"
                deq = by_node[f"/model/layers.{i}/{scope}/{n}/MatMul"]
                getattr(mod, n).weight.copy_(torch.from_numpy(deq.T))
        sim.lm_head.weight = torch.nn.Parameter(torch.from_numpy(by_node["/lm_head/MatMul"].T.copy()))
    return sim


def _dyn_quant_linear(mod, q, s):
    """Replaces mod.forward by DynamicQuantizeLinear(x) -> MatMulInteger(q, zero point 0) ->
    Cast(float) -> Mul(x_scale * w_scale) (+ the bias Add that follows in the graph)."""
    wq = torch.from_numpy(q.astype(np.float64))
    ws = torch.tensor(s, dtype=torch.float32)

    def forward(x):
        xmin = torch.clamp(x.min(), max=0.0)
        xmax = torch.clamp(x.max(), min=0.0)
        xs = (xmax - xmin) / torch.tensor(255.0)
        zp = torch.clamp(torch.round(torch.tensor(0.0) - xmin / xs), 0, 255)
        xq = torch.clamp(torch.round(x / xs) + zp, 0, 255)
        acc = ((xq - zp).double() @ wq).float()
        y = acc * (xs * ws)
        return y + mod.bias if mod.bias is not None else y
    mod.forward = forward


def f16_round(a):
    """What the fp16 conversion stores for float32 values (float16.py's convert_np_to_float16: magnitudes
    clamped to [1e-7, 1e4], then rounded to float16), back as float32."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float16.convert_np_to_float16(np.asarray(a, np.float32)).astype(np.float32)


def f16_simulation(model, q4_dequant=None):
    """The lens reads an fp16 file as float32 (src/core/onnx/upcast.ts): float32 arithmetic on the
    float16-rounded weights. This is that model in PyTorch: every parameter and buffer (inv_freq too)
    rounded as the conversion rounds it. With q4_dequant (q4f16): the q4 simulation first, its
    dequantized weights (q - 8) * scale taken with the scales rounded to float16."""
    sim = copy.deepcopy(model)
    with torch.no_grad():
        for t in itertools.chain(sim.parameters(), sim.buffers()):
            if t.is_floating_point():
                t.copy_(torch.from_numpy(f16_round(t.detach().numpy())))
    # After the rounding: (q - 8) * scale16 needs up to 14 significant bits, which float16 does not have (the op
    # computes it in its own arithmetic).
    return q4_simulation(sim, q4_dequant) if q4_dequant is not None else sim


def q8_simulation(model, qlog):
    sim = copy.deepcopy(model)
    by_node = {name: v for name, v in qlog.items()}
    with torch.no_grad():
        _, _, q, s = by_node["/model/embed_tokens/Gather"]
        sim.model.embed_tokens.weight = torch.nn.Parameter(torch.from_numpy(q.astype(np.float32) * s))
    for i, layer in enumerate(sim.model.layers):
        for scope, mod in (("self_attn", layer.self_attn), ("mlp", layer.mlp)):
            names = ("q_proj", "k_proj", "v_proj", "o_proj") if scope == "self_attn" else ("gate_proj", "up_proj", "down_proj")
            for n in names:
                _, _, q, s = by_node[f"/model/layers.{i}/{scope}/{n}/MatMul"]
                _dyn_quant_linear(getattr(mod, n), q, s)
    _, _, q, s = by_node["/lm_head/MatMul"]
    _dyn_quant_linear(sim.lm_head, q, s)
    return sim


def reference(model, tok, text):
    cfg = model.cfg
    ids = tok.encode(text)
    t = len(ids)
    internals = {}
    with torch.no_grad():
        logits, presents = model(torch.tensor([ids]), internals=internals)
        # PyTorch's own cache path against one full pass (all but the last 3 tokens cached)
        c = t - 3
        _, past = model(torch.tensor([ids[:c]]))
        tail, _ = model(torch.tensor([ids[c:]]), torch.ones(1, t, dtype=torch.long),
                        torch.arange(c, t).unsqueeze(0), past)
        diff = (tail[0] - logits[0, c:]).abs().max().item()
        assert diff < 1e-4, f"PyTorch cache path differs by {diff}"
    logits = logits[0]
    probs = torch.softmax(logits, dim=-1)
    top = torch.topk(probs, 5, dim=-1)
    hidden_pos = sorted({0, t // 2, t - 1})
    first, last = 0, cfg.num_hidden_layers - 1
    # Greedy: the shortest prompt (from 6 tokens up) whose 16 greedy steps all have a top-2 gap of
    # at least 1e-3, so float differences between runtimes cannot change the argmax.
    for plen in [6, 5, 7, 4, 8, 3, 9, 10, 11, 12]:
        prompt = ids[:plen]
        gen, gap = greedy_uncached(model, prompt, 16)
        if gap >= 1e-3:
            break
    cached = greedy_cached(model, prompt, 16)
    assert cached == gen, "PyTorch greedy with cache differs from greedy without"
    return {
        "text": text,
        "ids": ids,
        "tokens": [tok.inv[i] for i in ids],
        "token_bytes_hex": [tok.token_bytes(i).hex() for i in ids],
        "top5": [{"ids": top.indices[p].tolist(), "probs": f7list(top.values[p])} for p in range(t)],
        "logits": {str(p): f7list(logits[p]) for p in sorted({0, t - 1})},
        "hidden_positions": hidden_pos,
        "hidden": [[f7list(h[0, p]) for p in hidden_pos] for h in internals["hidden"]],
        "attention": {str(li): [[f7list(row) for row in head] for head in internals["attn"][li][0]]
                      for li in sorted({first, last})},
        "greedy": {"prompt_ids": prompt, "new_ids": gen, "min_top2_gap": f7(gap)},
    }, logits


def sim_logits(sim, ids):
    with torch.no_grad():
        out, _ = sim(torch.tensor([ids]))
    return out[0]


# ================================================================================================
# Where the internals are, per variant (the names check_llama.mjs reads and verifies numerically)
# ================================================================================================

def taps_optimum(m, cfg):
    by_name = {n.name: n for n in m.graph.node}
    L = cfg.num_hidden_layers
    hidden = []
    for i in range(L):
        hidden.append(by_name[f"/model/layers.{i}/input_layernorm/Cast"].input[0])
    hidden.append(by_name["/model/norm/Cast"].input[0])
    attn = {str(i): by_name[f"/model/layers.{i}/self_attn/Softmax"].output[0] for i in range(L)}
    return {"hidden": hidden, "attention": attn}


def taps_genai(cfg, qk_output):
    L = cfg.num_hidden_layers
    hidden = ["/model/embed_tokens/Gather/output_0"] + \
        [f"/model/layers.{i}/input_layernorm/output_3" for i in range(1, L)]
    fin = f"/model/layers.{L}/final_norm_layernorm/SkipLayerNorm"
    taps = {"hidden": hidden, "hidden_final_sum_of_inputs": {"node": fin, "inputs": [0, 1]}}
    if qk_output:
        taps["attention"] = {str(i): f"/model/layers.{i}/attn/GroupQueryAttention/output_3" for i in range(L)}
    return taps


# ================================================================================================
# Main
# ================================================================================================

def rel(path):
    return os.path.relpath(path, ROOT)


def folder_size(d):
    total = 0
    for dp, _, fs in os.walk(d):
        for f in fs:
            total += os.path.getsize(os.path.join(dp, f))
    return total


def run_check(out, measure_path):
    cmd = ["node", os.path.join(HERE, "check_llama.mjs"), out, "--json", measure_path]
    print("$ " + " ".join(rel(c) if os.path.isabs(c) else c for c in cmd), file=sys.stderr)
    r = subprocess.run(cmd, cwd=ROOT)
    return r.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", required=True, choices=sorted(SHAPES))
    ap.add_argument("--out", help="output folder (default: the shape's, see SHAPES)")
    ap.add_argument("--variants", help="comma list of fp32,q4,q8 (default: the shape's)")
    ap.add_argument("--fused", action="store_true", help="write the onnxruntime-genai build instead")
    ap.add_argument("--qk-output", type=int, default=2, choices=(0, 1, 2),
                    help="GroupQueryAttention qk_output in the fused build (0 = exactly the builder's)")
    ap.add_argument("--fp16-io", action="store_true", default=None,
                    help="fp16/q4f16 with float16 inputs and outputs (keep_io_types=False; default: the shape's)")
    ap.add_argument("--q4-asymmetric", action="store_true", help="q4 with packed zero points (transformers.js: symmetric)")
    ap.add_argument("--no-reference", action="store_true", help="skip reference.json (default for real shapes)")
    ap.add_argument("--no-check", action="store_true", help="do not run check_llama.mjs")
    args = ap.parse_args()
    t0 = time.time()
    spec = SHAPES[args.shape]
    tiny = args.shape.startswith("tiny")
    out = os.path.abspath(args.out or os.path.join(ROOT, spec["out"]))
    variants = (args.variants or spec["variants"]).split(",")
    want_ref = tiny and not args.no_reference
    cfg0 = LlamaConfig(**spec["cfg"])
    n_merges = None if tiny else 1500
    tok = LlamaTokenizer.build(spec["style"], spec["tokenizer_size"], cfg0.max_position_embeddings, n_merges)
    cfg, model = make_model(args.shape, tok)
    assert len(tok.vocab) <= cfg.vocab_size
    print(f"{args.shape}: {sum(p.numel() for p in model.parameters()):,} parameters, tokenizer {len(tok.vocab)} ids "
          f"({time.time() - t0:.1f}s)", file=sys.stderr)
    if os.path.isdir(out):
        for name in ("onnx", "model.onnx", "model.onnx.data"):
            p = os.path.join(out, name)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
    os.makedirs(out, exist_ok=True)
    ref = None
    if want_ref:
        ref, logits = reference(model, tok, REFERENCE_TEXT)
        ids = ref["ids"]
        t = len(ids)
        ref = {"generator": "models/train/make_llama_testmodels.py", "shape": args.shape, "seed": spec["seed"],
               "layout": "onnxruntime-genai" if args.fused else "transformers.js", **ref}
        ref["config"] = hf_config(cfg)
        ref["parameter_count"] = sum(p.numel() for p in model.parameters())
        ref["parameter_groups"] = parameter_groups(model)
        print(f"reference: {t} tokens {ref['tokens']}", file=sys.stderr)
    if args.fused:
        tok.model_max_length = cfg.max_position_embeddings
        tok.save(out, special_tokens_map=True)
        write_json(os.path.join(out, "genai_config.json"), genai_config(cfg), indent=4)
        m = build_genai(model, args.qk_output)
        path = os.path.join(out, "model.onnx")
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx.data", size_threshold=0)
        if ref:
            ref["variants"] = {"fused": {"file": "model.onnx", "external_data": "model.onnx.data",
                                         "taps": taps_genai(cfg, args.qk_output), "tolerance": 1e-4}}
    else:
        tok.save(out)
        write_json(os.path.join(out, "generation_config.json"), generation_config(cfg))
        work = tempfile.mkdtemp(prefix=".export-", dir=out)
        try:
            t1 = time.time()
            m = export_fp32(model, work)
            print(f"exported fp32 ({weight_bytes(m) / 1e6:.0f} MB of weights, {time.time() - t1:.0f}s)", file=sys.stderr)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        external = None
        variants_ref = {}
        if "fp32" in variants:
            external = save_model(m, os.path.join(out, "onnx", "model.onnx"))
            variants_ref["fp32"] = {"file": "onnx/model.onnx", "taps": taps_optimum(m, cfg), "tolerance": 1e-4}
            if external:
                variants_ref["fp32"]["external_data"] = "onnx/" + external
        fp16_io = spec.get("fp16_io", False) if args.fp16_io is None else args.fp16_io
        has16 = "fp16" in variants or "q4f16" in variants
        write_json(os.path.join(out, "config.json"),
                   hf_config(cfg, external_data=bool(external), kv_cache_fp16=fp16_io and has16))
        if "q8" in variants:
            qlog = {} if ref else None
            m8 = to_q8(copy.deepcopy(m), log=qlog)
            save_model(m8, os.path.join(out, "onnx", "model_quantized.onnx"))
            if ref:
                variants_ref["q8"] = quant_entry("onnx/model_quantized.onnx", q8_simulation(model, qlog), logits,
                                                 ref, 2e-2, m8, cfg)
            del m8
        if "fp16" in variants:
            m16 = to_fp16(copy.deepcopy(m), fp16_io)
            save_model(m16, os.path.join(out, "onnx", "model_fp16.onnx"))
            if ref:
                variants_ref["fp16"] = quant_entry("onnx/model_fp16.onnx", f16_simulation(model), logits, ref,
                                                   F16_TOL, m16, cfg, io="float16" if fp16_io else "float32")
            del m16
        if "q4" in variants or "q4f16" in variants:
            t1 = time.time()
            dlog = {} if ref else None
            last = "fp32" not in variants and "q8" not in variants and "fp16" not in variants
            m4 = to_q4(m if last else copy.deepcopy(m), symmetric=not args.q4_asymmetric, log=dlog)
            if "q4" in variants:
                save_model(m4, os.path.join(out, "onnx", "model_q4.onnx"))
                print(f"q4 written ({time.time() - t1:.0f}s)", file=sys.stderr)
                if ref:
                    variants_ref["q4"] = quant_entry("onnx/model_q4.onnx", q4_simulation(model, dlog), logits,
                                                     ref, 1e-3, m4, cfg)
            if "q4f16" in variants:
                if args.q4_asymmetric:
                    sys.exit("q4f16 is written from the symmetric q4 graph only")
                m4 = to_fp16(m4, fp16_io)
                save_model(m4, os.path.join(out, "onnx", "model_q4f16.onnx"))
                if ref:
                    variants_ref["q4f16"] = quant_entry("onnx/model_q4f16.onnx", f16_simulation(model, q4f16_dequant(dlog)),
                                                        logits, ref, F16_TOL, m4, cfg,
                                                        io="float16" if fp16_io else "float32")
            del m4
        if ref:
            ref["variants"] = variants_ref
    if ref:
        write_json(os.path.join(out, "reference.json"), ref, indent=None)
    print(f"wrote {rel(out)}: {folder_size(out) / 1e6:.2f} MB ({time.time() - t0:.0f}s)", file=sys.stderr)
    for dp, _, fs in sorted(os.walk(out)):
        for f in sorted(fs):
            p = os.path.join(dp, f)
            print(f"  {os.path.relpath(p, out)}: {os.path.getsize(p) / 1e3:,.0f} kB", file=sys.stderr)
    if ref and not args.no_check:
        measure = os.path.join(tempfile.gettempdir(), f"check_llama_{os.getpid()}.json")
        rc = run_check(out, measure)
        if os.path.exists(measure):
            ref["measured"] = json.load(open(measure))
            os.remove(measure)
            write_json(os.path.join(out, "reference.json"), ref, indent=None)
        if rc:
            sys.exit(rc)


# onnxruntime runs a float16 graph with float16 activations (and float32 where its CPU kernels lack float16): its
# logits differ from the float32 simulation of the rounded weights by that arithmetic, about 1e-2 on the tiny models.
# The lens reads the graph upcast to float32 and meets the simulation to float rounding (test/unit/llamaLens.test.ts).
F16_TOL = 0.05


def to_fp16(m, fp16_io):
    """transformers.js quantize.py's quantize_fp16: float16.convert_float_to_float16 with its default op block
    list; keep_io_types=True as quantize.py passes it, or False (float16 inputs and outputs) with --fp16-io."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "the float32 number -3.4e+38 will be truncated to -10000.0" (the mask)
        m16 = float16.convert_float_to_float16(m, keep_io_types=not fp16_io,
                                               op_block_list=set(float16.DEFAULT_OP_BLOCK_LIST))
    return m16


def q4f16_dequant(dlog):
    """The q4 dequantized weights with their block scales rounded to float16 ((q - 8) * scale16 = deq * scale16 /
    scale), as MatMulNBits computes them in the q4f16 file."""
    out = {}
    for name, v in dlog.items():
        if name == "_scales":
            continue
        bname, deq = v
        scales, block = dlog["_scales"][name]
        K, N = deq.shape
        kb = (K + block - 1) // block
        s32 = scales.reshape(N, kb)
        s16 = f16_round(s32)
        ratio = np.where(s32 != 0, s16 / np.where(s32 != 0, s32, 1), 0).astype(np.float32)   # [N, kb]
        r = np.repeat(ratio, block, axis=1)[:, :K].T                                           # [K, N]
        out[name] = (bname, (deq * r).astype(np.float32))
    return out


def quant_entry(file, sim, logits, ref, tol_vs_sim, mq, cfg, io=None):
    """Reference for a quantized variant: the logits of its PyTorch simulation `sim` at 0 and t-1 and
    the simulation's greedy tokens, and the bound its onnxruntime logits must meet against fp32
    PyTorch: |ort - fp32| <= |sim - fp32| + |ort - sim|, with |ort - sim| <= tol_vs_sim checked
    separately."""
    t = len(ref["ids"])
    simlog = sim_logits(sim, ref["ids"])
    gen, gap = greedy_uncached(sim, ref["greedy"]["prompt_ids"], len(ref["greedy"]["new_ids"]))
    pos = sorted({0, t - 1})
    sim_vs_fp32 = max((simlog[p] - logits[p]).abs().max().item() for p in pos)
    return {"file": file, "simulated_logits": {str(p): f7list(simlog[p]) for p in pos},
            "sim_vs_fp32_max_abs": f7(sim_vs_fp32), "tolerance_vs_simulated": tol_vs_sim,
            "bound_vs_fp32": f7(sim_vs_fp32 + tol_vs_sim),
            "simulated_greedy": {"new_ids": gen, "min_top2_gap": f7(gap)},
            "taps": taps_optimum(mq, cfg), **({"io": io} if io else {})}


if __name__ == "__main__":
    main()
