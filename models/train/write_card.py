#!/usr/bin/env python3
"""Writes models/lens-tiny/README.md (the model card) from what the pipeline recorded: config.json,
eval.json (evaluate.py), corpus-manifest.json (build_corpus.py), data-stats.json
(prepare_data.py) and the checkpoint's training log. No number in the card is typed by hand.

    /usr/bin/python3 models/train/write_card.py --ckpt models/train/work/ckpt.pt
"""
import argparse
import json
import os
import platform
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, param_breakdown  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "lens-tiny"))
    args = ap.parse_args()
    md = args.model_dir
    hf = json.load(open(os.path.join(md, "config.json")))
    ev = json.load(open(os.path.join(md, "eval.json")))
    man = json.load(open(os.path.join(HERE, "corpus-manifest.json")))
    ds = json.load(open(os.path.join(HERE, "data-stats.json")))
    ck = torch.load(args.ckpt, map_location="cpu")
    targs, log = ck["args"], ck["log"]
    cfg = Config(**ck["config"])
    pb = param_breakdown(cfg)
    n_actual = sum(v.numel() for v in ck["model"].values())
    assert n_actual == pb["total"], (n_actual, pb["total"])
    d, V, n, L = cfg.n_embd, cfg.vocab_size, cfg.n_positions, cfg.n_layer
    onnx_mb = os.path.getsize(os.path.join(md, "onnx", "model.onnx")) / 1e6
    s = ev["heldout_stream"]
    nl, fim = ev["next_line"], ev["fim_middle"]
    train_s = log[-1]["elapsed_s"]
    evals = [r for r in log if "heldout_loss" in r]
    # A long run evaluates every 100 steps: the card shows about a dozen of them, always the last.
    evals = [r for i, r in enumerate(evals) if i % max(1, len(evals) // 12) == 0 or i == len(evals) - 1]
    tot = man["totals"]
    lic = {}
    for p in man["packages"]:
        lic[p["license"]] = lic.get(p["license"], 0) + 1
    held = [p["spec"] for p in man["packages"] if p["split"] == "heldout"]
    excluded = json.load(open(os.path.join(HERE, "packages.json"))).get("excluded", {})
    base_path = os.path.join(HERE, "baseline-eval.json")
    base = json.load(open(base_path)) if os.path.exists(base_path) else None
    sweep_path = os.path.join(os.path.dirname(args.ckpt), "sweep.json")
    sweep = json.load(open(sweep_path)) if os.path.exists(sweep_path) else None
    threads = targs.get("threads_used", targs.get("threads", 1))
    precision = targs.get("precision_used", "fp32")
    budget = f"{targs['minutes']:g} minutes" if targs.get("minutes") else f"{targs['steps']} steps"

    resumed = "".join(f"\n- The run was stopped and resumed at step {r['at_step']} (total steps then "
                      f"{r['steps']}; the cosine decay continues over that total)."
                      for r in targs.get("resumed", []))

    fim_note = ("At this scale the model has not learned fill-in-the-middle: after `<fim_middle>` it "
                "emits the most common first tokens of training middles (which, split at random "
                "characters, mostly begin inside a word) whatever the prefix and suffix. ") \
        if fim["first_token_accuracy"] < 0.05 else ""

    def m(x):
        return f"{x/1e6:.2f} M"

    def comparison():
        if not base:
            return ""
        rows = [("loss per token (nats)", base["heldout_stream"]["loss_per_token_nats"], s["loss_per_token_nats"], "{:.3f}"),
                ("bits per byte, all held-out text", base["heldout_stream"]["bits_per_byte"], s["bits_per_byte"], "{:.3f}"),
                ("top-1 next-token accuracy", base["heldout_stream"]["top1_accuracy"] * 100, s["top1_accuracy"] * 100, "{:.1f} %")]
        for lang, v in ev.get("languages", {}).items():
            b = base.get("languages", {}).get(lang)
            if b:
                rows.append((f"bits per byte, {lang}", b["bits_per_byte"], v["bits_per_byte"], "{:.3f}"))
        rows += [("next-line exact match", base["next_line"]["exact_match"] * 100, nl["exact_match"] * 100, "{:.1f} %"),
                 ("next line: first token right", base["next_line"]["first_token_accuracy"] * 100, nl["first_token_accuracy"] * 100, "{:.1f} %"),
                 ("FIM middle exact match", base["fim_middle"]["exact_match"] * 100, fim["exact_match"] * 100, "{:.1f} %"),
                 ("FIM middle: first token right", base["fim_middle"]["first_token_accuracy"] * 100, fim["first_token_accuracy"] * 100, "{:.1f} %")]
        body = "\n".join(f"| {name} | {fmt.format(a)} | {fmt.format(b)} |" for name, a, b, fmt in rows)
        return f"""
## Against the first lens-tiny

The first built-in model (1.97 M parameters, 3.7 M tokens, 40 minutes of fp32 training on one core;
its weights read back from the shipped ONNX file by `evaluate.py --from-onnx`, its figures in
`models/train/baseline-eval.json`), evaluated the same way on the same held-out text:

| metric | first lens-tiny | this model |
| --- | --- | --- |
{body}
"""

    def sweep_table():
        if not sweep:
            return ""
        body = "\n".join(f"| {r['shape']} (d {r['n_embd']}, {r['n_layer']} layers, {r['n_head']} heads) | {r['parameters']:,} | {r['tokens_per_s']:,} | {r['tokens']/1e6:.2f} M | {r['heldout_loss']:.3f} |" for r in sweep["results"])
        return f"""
The shape was chosen by measurement (`models/train/sweep.py`): a {sweep['minutes_each']:g}-minute run of each
candidate with its own full schedule, on the same machine, then the held-out loss it reached. The
lowest loss won (ties within {sweep['tie_nats']} nats would go to the larger shape): **{sweep['picked']}**.
Short runs favour small shapes; a compute fit for this budget (shared/notes/training.md) puts the
optimum near 3.5 M parameters, so the pick is also near the expected optimum.

| shape | parameters | tokens/s | tokens seen | held-out loss (nats/token) |
| --- | --- | --- | --- | --- |
{body}
"""

    def lang_table():
        langs = ev.get("languages", {})
        if not langs:
            return ""
        body = "\n".join(f"| {k} | {v['source']} | {v['tokens']:,} | {v['bits_per_byte']:.3f} | {v['loss_per_token_nats']:.3f} |" for k, v in langs.items())
        return f"""
Per language (same windows of {ev['settings']['seq']} tokens):

| language | text | tokens | bits per byte | loss per token (nats) |
| --- | --- | --- | --- | --- |
{body}
"""

    lines = f"""# lens-tiny: a small code model trained on a CPU

A {m(pb['total'])}-parameter GPT-2 trained for {train_s/60:.0f} minutes on a 2-core CPU ({precision},
{threads} threads), on {ck['tokens_seen'] / 1e6:.1f} M tokens. It gives LLM Lens a real model to open up
offline: real tokens, embeddings, layers, attention heads and next-token predictions. It is small:
its completions are often wrong; do not judge the extension's completion feature by it. The same
pipeline trains a larger model on a GPU (models/README.md).

What it is:
- GPT-2 architecture (Hugging Face `model_type: gpt2`), learned absolute positions, pre-LayerNorm
  blocks, GELU (tanh approximation, `gelu_new`), LM head tied to the token embeddings.
- Trained on JavaScript, TypeScript and Markdown from {len(man['packages'])} permissively licensed
  npm packages, with fill-in-the-middle on half of the training pieces.
- Exported to ONNX (opset 17) with a KV cache, in the transformers.js / Optimum layout.

What it is not: a useful code assistant, a chat model, or a model of any language other than what
npm packages contain (English prose, code). Windows of {targs['seq']} tokens only were trained; positions up
to {n} exist and were trained by shifting half the windows to a random offset, but the model never
saw more than {targs['seq']} tokens of context at once.

## Shape

| | |
| --- | --- |
| d_model (vector space dimensions) | {d} |
| layers | {L} |
| attention heads | {cfg.n_head} (head dimension {d // cfg.n_head}) |
| MLP inner size | {4 * d} (4 d) |
| vocabulary | {V} (byte-level BPE, 5 special tokens) |
| context (n_positions) | {n} |
| parameters | {pb['total']:,} |
| onnx/model.onnx | {onnx_mb:.2f} MB, float32, the tied embedding stored once |

## Parameters, where they sit

d = {d}, V = {V}, n_ctx = {n}, L = {L}.

| part | formula | count |
| --- | --- | --- |
| token embeddings (also the LM head, tied) | V d | {V*d:,} |
| position embeddings | n_ctx d | {n*d:,} |
| attention, per layer | 4 d^2 weights (c_attn 3d^2, c_proj d^2) + 4 d biases | {4*d*d + 4*d:,} |
| MLP, per layer | 8 d^2 weights (c_fc 4d^2, c_proj 4d^2) + 5 d biases (4d + d) | {8*d*d + 5*d:,} |
| LayerNorms, per layer | 2 x (d gains + d biases) = 4 d | {4*d:,} |
| one layer | 12 d^2 + 13 d | {pb['per_layer']:,} |
| all {L} layers | L (12 d^2 + 13 d) | {L*pb['per_layer']:,} |
| final LayerNorm | 2 d | {2*d:,} |
| **total** | V d + n_ctx d + L (12 d^2 + 13 d) + 2 d | **{pb['total']:,}** |

Of these, {(V*d)/pb['total']*100:.0f} % are the token embeddings, {(n*d)/pb['total']*100:.0f} % the
position embeddings, {L*(4*d*d+4*d)/pb['total']*100:.0f} % attention, {L*(8*d*d+5*d)/pb['total']*100:.0f} % MLP and
{(L*4*d+2*d)/pb['total']*100:.1f} % the norms. Biases (attention 4d and MLP 5d per layer) come to
{L*9*d:,}; LayerNorm biases to {L*2*d + d:,}.

## Corpus

- {len(man['packages'])} npm packages pinned by name@version in `models/train/packages.json`, fetched with
  `npm pack`; each package's license, read from its package.json, is recorded in
  `models/train/corpus-manifest.json`: {', '.join(f'{k} ({v})' for k, v in sorted(lic.items(), key=lambda kv: -kv[1]))}.
  Licenses allowed: {', '.join(man['allowed_licenses'])}; the builder refuses any other, naming the package.
  Excluded for that reason: {', '.join(f'{k} ({v})' for k, v in excluded.items()) or 'none'}.
- Kept: .ts/.tsx/.mts/.cts/.js/.jsx/.mjs/.cjs and .md files. Dropped: minified or generated files
  (lines over 400 characters, mean line over 90, umd/bundle/min paths, inline source maps,
  @generated headers, files over 400 kB), source maps, other extensions, and exact duplicates.
  Drops by reason: {', '.join(f'{k} {v}' for k, v in tot['dropped_files_by_reason'].items())}.
- Each training package contributes at most {tot['per_package_mb_cap']} MB (`--per-package-mb`), so no
  package dominates; each held-out package at most {tot.get('heldout_package_mb_cap', tot['per_package_mb_cap'])} MB, as for the first model, so
  both are evaluated on the same text.
- **Train**: {tot['bytes']['train']/1e6:.1f} MB in {tot['files']['train']:,} files, {ds['train']['tokens']:,} tokens
  including FIM markers ({ds['train']['bytes_per_token']} bytes/token); {ds['train']['fim_pieces']:,} of
  {ds['train']['pieces']:,} pieces of about {ds['piece_chars']} characters turned into FIM samples.
- **Held-out** (whole packages that appear in no training text): {', '.join(held)}:
  {tot['bytes']['heldout']/1e6:.1f} MB in {tot['files']['heldout']:,} files, {ds['heldout']['tokens']:,} tokens
  ({ds['heldout']['bytes_per_token']} bytes/token).

## Tokenizer

Byte-level BPE like GPT-2's (GPT-2's pre-tokenization regex and byte-to-unicode map), {V} entries:
`<|endoftext|>` (0, BOS/EOS), `<fim_prefix>` (1), `<fim_middle>` (2), `<fim_suffix>` (3),
`<fim_pad>` (4, pad), the 256 bytes (5-260), then merges. Trained by `models/train/bpe.py` on a 20 MB
sample of the train split. `tokenizer.json` loads in Hugging Face tokenizers and
`@huggingface/tokenizers` (JS); `clean_up_tokenization_spaces` is false so code round-trips.
`node models/train/check_tokenizer.mjs` checks the JS ids against the Python encoder and the byte-for-byte
round trip of all held-out files.

## Training

- Objective: next-token prediction; FIM in StarCoder's PSM order
  (`<fim_prefix>pre<fim_suffix>suf<fim_middle>mid<|endoftext|>`, character-level split points)
  on {ds['fim_rate']*100:.0f} % of training pieces.
- {ck['step']} steps of {targs['batch']} x {targs['seq']} tokens = {ck['tokens_seen']:,} tokens
  ({ck['tokens_seen']/ds['train']['tokens']:.2f} epochs); AdamW (beta 0.9/0.95, weight decay
  {targs['weight_decay']} on matrices), peak learning rate {targs['lr']}, {targs['warmup']} warm-up steps, cosine
  decay to 10 % over the budget ({budget}), gradient clipping 1.0, {precision} autocast (loss in float32).
- Compute: {cpu_name()}, {threads} torch threads (PyTorch {torch.__version__}), tcmalloc preloaded,
  OPENBLAS_NUM_THREADS=1, on a 2-vCPU machine that also served an editor and unit tests, so the rate is
  noisy: {train_s/60:.1f} minutes of training at {ck['tokens_seen']/train_s:,.0f} tokens/s; about
  6 N D = {6*pb['total']*ck['tokens_seen']/1e12:.1f} TFLOP (N parameters, D tokens), attention aside.
{sweep_table()}
- Held-out loss during training (nats/token, 8 x {targs['batch']} x {targs['seq']} tokens):
  {', '.join(f"step {r['step']}: {r['heldout_loss']}" for r in evals)}.
  Final training loss (last step): {log[-1]['loss']}.{resumed}

## Held-out metrics

From `models/train/evaluate.py` (its full output, with examples, is `eval.json` here), on the
held-out packages, checkpoint step {ev['checkpoint_step']}:

| metric | value |
| --- | --- |
| loss per token | {s['loss_per_token_nats']:.3f} nats |
| perplexity per token | {s['perplexity_per_token']:.1f} |
| loss per byte | {s['loss_per_byte_nats']:.3f} nats ({s['bits_per_byte']:.3f} bits) |
| perplexity per byte | {s['perplexity_per_byte']:.3f} |
| top-1 next-token accuracy | {s['top1_accuracy']*100:.1f} % |
| next-line exact match (greedy, lines inside held-out functions) | {nl['exact_match']*100:.1f} % of {nl['samples']} ({nl['exact_match_trimmed']*100:.1f} % ignoring surrounding whitespace) |
| next line: first token right / mean fraction of the line right before the first mistake | {nl['first_token_accuracy']*100:.1f} % / {nl['mean_fraction_matched']*100:.1f} % |
| FIM middle exact match (one line removed, greedy) | {fim['exact_match']*100:.1f} % of {fim['samples']} |
| FIM middle: first token right / mean fraction right before the first mistake | {fim['first_token_accuracy']*100:.1f} % / {fim['mean_fraction_matched']*100:.1f} % |

Stream metrics cover {s['tokens']:,} held-out tokens ({s['bytes']:,} bytes) in windows of {ev['settings']['seq']}
tokens; per-byte figures count each token's UTF-8 bytes (special tokens count 0 bytes). Next-line
prompts are the text before the line (at most {ev['settings']['seq'] - ev['settings']['max_new']} tokens), FIM prompts
{ev['settings']['fim_prefix_tokens']} tokens of prefix and {ev['settings']['fim_suffix_tokens']} of suffix.
{fim_note}No quantized variant is shipped: at this size float32 fits well under the 32 MB limit.
{lang_table()}
`node models/train/check_onnx.mjs` checks the ONNX graph against PyTorch's logits (the fixtures in
test/fixtures/lens-tiny, past lengths 0, 4 and 100, and a left-padded batch).

{comparison()}
## Files

- `config.json`: Hugging Face GPT-2 config, plus `fim_prefix_token_id`, `fim_middle_token_id`,
  `fim_suffix_token_id`, `fim_pad_token_id`.
- `generation_config.json`, `tokenizer.json`, `tokenizer_config.json`.
- `onnx/model.onnx`: inputs `input_ids` [batch, seq] int64, `attention_mask` [batch, past+seq]
  int64, `position_ids` [batch, seq] int64, `past_key_values.{{i}}.key|value` [batch, {cfg.n_head}, past, {d // cfg.n_head}]
  float32 (past may be 0); outputs `logits` [batch, seq, {V}] float32 and
  `present.{{i}}.key|value` [batch, {cfg.n_head}, past+seq, {d // cfg.n_head}]. Attention is explicit: one Softmax
  per layer over [batch, heads, query, key] (`/h.{{i}}/attn/Softmax`), LayerNorms are
  `LayerNormalization` nodes (`/h.{{i}}/ln_1/...`, `/h.{{i}}/ln_2/...`, `/ln_f/...`).
- `eval.json`: the evaluation output.

Weights use Hugging Face GPT-2's names (`transformer.wte.weight`, `transformer.h.{{i}}.attn.c_attn.weight`
stored [in, out] like its Conv1D, ...); with `lm_head.weight = transformer.wte.weight` the PyTorch
checkpoint loads into `GPT2LMHeadModel`.

## Reproduce

On a Debian machine (as root `run_all.sh` installs `python3-torch python3-onnx python3-numpy
python3-regex libopenblas0-pthread libtcmalloc-minimal4` itself) with this repository's node_modules
(`npm ci`: onnxruntime-node, @huggingface/tokenizers), one command:

```
MINUTES={targs.get('minutes') or 100:g} PER_PACKAGE_MB={tot['per_package_mb_cap']} models/train/run_all.sh
```

It runs the size sweep, then trains the picked shape for the time budget; on a different CPU the
sweep may pick another shape and the model sees a different number of tokens.

or step by step:

```
/usr/bin/python3 models/train/build_corpus.py --per-package-mb {tot['per_package_mb_cap']}
node models/train/check_tokenizer.mjs   # the committed tokenizer (RETRAIN_TOKENIZER=1 trains a new one)
/usr/bin/python3 models/train/prepare_data.py --fim-rate {ds['fim_rate']} --piece-chars {ds['piece_chars']}
/usr/bin/python3 models/train/sweep.py --minutes 3   # optional: prints the N_EMBD/N_LAYER/N_HEAD it picks
LD_PRELOAD=libtcmalloc_minimal.so.4 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 models/train/train.py --minutes {targs.get('minutes') or 100:g} --batch {targs['batch']} --seq {targs['seq']} --lr {targs['lr']} --n-embd {d} --n-layer {L} --n-head {cfg.n_head}
/usr/bin/python3 models/train/export.py && /usr/bin/python3 models/train/make_fixtures.py
node models/train/check_onnx.mjs
/usr/bin/python3 models/train/evaluate.py && /usr/bin/python3 models/train/write_card.py
```

A killed run resumes from its last checkpoint (`models/train/work/ckpt.pt`, written every
{targs.get('ckpt_minutes', 5):g} minutes and on SIGTERM/SIGINT) with `/usr/bin/python3 models/train/train.py --resume`.
Random windows are drawn from a generator seeded by the step, so a resumed run sees the same data.
"""
    open(os.path.join(md, "README.md"), "w").write(lines)
    print(f"-> {os.path.join(md, 'README.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
