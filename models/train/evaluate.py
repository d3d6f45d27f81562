#!/usr/bin/env python3
"""Held-out evaluation of a lens-tiny checkpoint; its output is what the model card reports.

On the held-out packages (which appear in no training text):
  - loss and perplexity per token and per byte, and top-1 next-token accuracy, over the held-out
    token stream in non-overlapping windows of --seq tokens;
  - next-line exact match: in held-out code files, a line inside a function; the prompt is the
    text before it (at most --seq - --max-new tokens), greedy decoding until a newline; the
    generated line must equal the real one exactly;
  - FIM middle exact match: the same kind of line removed from its file, the model gets
    <fim_prefix>prefix<fim_suffix>suffix<fim_middle> and decodes greedily until <|endoftext|>; the
    middle must equal the removed line's text exactly.
  Both also report how often the first generated token is right and the mean fraction of the
  line's characters generated correctly before the first mistake.

  - the same stream metrics per language: JS/TS and English (Markdown) from the held-out packages,
    Python from CPython's standard library on this machine and Portuguese from this extension's
    own pt-BR strings (neither language is in the training corpus: they show what the model does
    with text it never saw).

    /usr/bin/python3 models/train/evaluate.py --ckpt models/train/work/ckpt.pt
    /usr/bin/python3 models/train/evaluate.py --from-onnx old/model.onnx --out baseline-eval.json
"""
import argparse
import glob
import json
import math
import os
import random
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
from export import load  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CODE_EXT = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
FUNC_OPEN = re.compile(r"\bfunction\b|=>\s*\{?\s*$|\)\s*(:\s*[^{;]+)?\{\s*$")


@torch.no_grad()
def stream_metrics(model, tok, held, seq, max_tokens, batch=16):
    V = model.cfg.vocab_size
    nbytes = np.array([0 if tok.inv[i] in tok.specials else len(tok.token_bytes(i))
                       for i in range(V)], dtype=np.int64)
    n_win = min((len(held) - 1) // seq, max(1, max_tokens // seq))
    nll = correct = count = total_bytes = 0
    for b0 in range(0, n_win, batch):
        wins = range(b0, min(n_win, b0 + batch))
        x = torch.from_numpy(np.stack([held[w * seq:w * seq + seq].astype(np.int64) for w in wins]))
        y = torch.from_numpy(np.stack([held[w * seq + 1:w * seq + seq + 1].astype(np.int64) for w in wins]))
        logits, _ = model(x)
        nll += F.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum").item()
        correct += (logits.argmax(-1) == y).sum().item()
        count += y.numel()
        total_bytes += int(nbytes[y.numpy()].sum())
    return {"tokens": count, "bytes": total_bytes,
            "loss_per_token_nats": nll / count, "perplexity_per_token": math.exp(nll / count),
            "loss_per_byte_nats": nll / total_bytes, "bits_per_byte": nll / total_bytes / math.log(2),
            "perplexity_per_byte": math.exp(nll / total_bytes),
            "top1_accuracy": correct / count}


@torch.no_grad()
def greedy(model, ids, max_new, stop):
    """Greedy decoding with the KV cache; `stop(new_ids)` ends it."""
    logits, past = model(torch.tensor([ids]))
    out = []
    p = len(ids)
    for _ in range(max_new):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        if stop(out):
            break
        logits, past = model(torch.tensor([[nxt]]), position_ids=torch.tensor([[p]]), past=past)
        p += 1
    return out


def load_onnx_weights(path):
    """A GPT2 module with the initializers of an exported model.onnx (the shape from their sizes)."""
    import onnx
    from onnx import numpy_helper
    from model import GPT2, Config
    w = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(path).graph.initializer}
    V, d = w["transformer.wte.weight"].shape
    L = len({k.split(".")[2] for k in w if k.startswith("transformer.h.")})
    cfg_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), "config.json")
    n_head = json.load(open(cfg_path))["n_head"] if os.path.exists(cfg_path) else d // 32
    cfg = Config(vocab_size=V, n_positions=w["transformer.wpe.weight"].shape[0], n_embd=d, n_layer=L, n_head=n_head)
    model = GPT2(cfg)
    state = model.state_dict()
    missing = [k for k in state if k not in w and not k.endswith("attn.bias") and k != "lm_head.weight"]
    assert not missing, f"{path} lacks {missing[:5]}"
    model.load_state_dict({k: w.get(k, v) for k, v in state.items()}, strict=True)
    return model, {"step": None, "tokens_seen": None, "source": path}


def common_prefix(a, b):
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def candidates(docs):
    """(doc, line start, indent, line end) of lines inside a function body in held-out code."""
    out = []
    for d in docs:
        if not d["path"].endswith(CODE_EXT):
            continue
        text = d["text"]
        lines = text.split("\n")
        off = 0
        starts = []
        for ln in lines:
            starts.append(off)
            off += len(ln) + 1
        for i, ln in enumerate(lines):
            s = ln.strip()
            if i < 3 or len(s) < 8 or i == len(lines) - 1:
                continue
            if s.startswith(("//", "*", "/*")):
                continue
            indent = len(ln) - len(ln.lstrip())
            if indent == 0:
                continue
            if not any(FUNC_OPEN.search(lines[j]) for j in range(max(0, i - 15), i)):
                continue
            out.append((d, starts[i], indent, starts[i] + len(ln)))
    return out


def language_texts(docs, max_chars):
    """name -> (where the text comes from, text): held-out code and Markdown, Python, Portuguese."""
    def take(texts):
        out, n = [], 0
        for t in texts:
            if n >= max_chars:
                break
            out.append(t[:max_chars - n])
            n += len(out[-1])
        return out
    code = take(d["text"] for d in docs if d["path"].endswith(CODE_EXT))
    md = take(d["text"] for d in docs if d["path"].endswith(".md"))
    py_dir = next((p for p in sorted(glob.glob("/usr/lib/python3.*")) if os.path.isdir(p)), None)
    py = take(open(f, encoding="utf-8", errors="replace").read() for f in sorted(glob.glob(os.path.join(py_dir, "*.py")))) if py_dir else []
    pt = []
    for rel in ("l10n/bundle.l10n.pt-br.json", "package.nls.pt-br.json"):
        path = os.path.join(ROOT, rel)
        if os.path.exists(path):
            pt.extend(json.load(open(path, encoding="utf-8")).values())
    pt_md = os.path.join(ROOT, "samples", "portugues.md")
    if os.path.exists(pt_md):
        pt.append(open(pt_md, encoding="utf-8").read())
    return {
        "JS/TS": ("held-out packages' code files", code),
        "English": ("held-out packages' Markdown", md),
        "Python": (f"CPython standard library ({py_dir}), not in the training corpus", py),
        "Portuguese": ("this extension's pt-BR strings and sample, not in the training corpus", take(["\n".join(pt)])),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "lens-tiny"))
    ap.add_argument("--data", default=os.path.join(HERE, ".cache", "data", "heldout.bin"))
    ap.add_argument("--corpus", default=os.path.join(HERE, ".cache", "corpus", "heldout.jsonl"))
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=262144)
    ap.add_argument("--n-nextline", type=int, default=200)
    ap.add_argument("--n-fim", type=int, default=200)
    ap.add_argument("--max-new", type=int, default=48)
    ap.add_argument("--fim-prefix-tokens", type=int, default=150)
    ap.add_argument("--fim-suffix-tokens", type=int, default=50)
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "lens-tiny", "eval.json"))
    ap.add_argument("--from-onnx", help="evaluate the weights of an exported model.onnx (Hugging Face GPT-2 "
                                         "names) instead of a checkpoint, e.g. an earlier shipped model")
    ap.add_argument("--lang-chars", type=int, default=200_000, help="characters of text per language")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    model, ck = load_onnx_weights(args.from_onnx) if args.from_onnx else load(args.ckpt)
    model.eval()
    tok = bpe.Tokenizer.load(os.path.join(args.model_dir, "tokenizer.json"))
    v = tok.vocab
    eot = v["<|endoftext|>"]
    res = {"checkpoint_step": ck.get("step"), "tokens_seen": ck.get("tokens_seen"),
           "settings": {k: getattr(args, k) for k in ("seq", "max_tokens", "n_nextline", "n_fim",
                                                      "max_new", "fim_prefix_tokens",
                                                      "fim_suffix_tokens", "seed")}}
    held = np.fromfile(args.data, dtype=np.uint16)
    res["heldout_stream"] = stream_metrics(model, tok, held, args.seq, args.max_tokens)
    print(json.dumps(res["heldout_stream"]), file=sys.stderr)

    docs = [json.loads(l) for l in open(args.corpus)]
    res["languages"] = {}
    for name, (source, texts) in language_texts(docs, args.lang_chars).items():
        ids = []
        for t in texts:
            ids.extend(tok.encode_ordinary(t) + [eot])
        if len(ids) > args.seq + 1:
            res["languages"][name] = {"source": source, **stream_metrics(model, tok, np.array(ids, dtype=np.int64), args.seq, args.max_tokens)}
            print(name, json.dumps(res["languages"][name]), file=sys.stderr)
    cands = candidates(docs)
    res["candidate_lines"] = len(cands)
    rng = random.Random(args.seed)

    # Next line. The prompt stops one whitespace character before the line's first visible
    # character: GPT-2's pre-tokenizer joins that last space to the next word (" return"), so the
    # prompt's tokens are exactly those of the full text and the model is not asked to produce
    # an impossible split.
    hits = hits_trim = first_tok = frac = 0
    examples = []
    for d, ls, indent, le in rng.sample(cands, min(args.n_nextline, len(cands))):
        text = d["text"]
        cut = ls + indent - 1
        target = text[cut:le]
        ids = tok.encode_ordinary(text[:cut])[-(args.seq - args.max_new):]
        out = greedy(model, ids, args.max_new,
                     lambda o: o[-1] == eot or "\n" in tok.decode_bytes(o[-1:]).decode("utf-8", "replace"))
        gen = tok.decode_bytes([i for i in out if i != eot]).decode("utf-8", "replace").split("\n")[0]
        hits += gen == target
        hits_trim += gen.strip() == target.strip()
        first_tok += out[0] == tok.encode_ordinary(text[cut:le + 1])[0]
        frac += common_prefix(gen, target) / len(target)
        if len(examples) < 12:
            examples.append({"pkg": d["pkg"], "path": d["path"], "target": target, "generated": gen})
    n = min(args.n_nextline, len(cands))
    res["next_line"] = {"samples": n, "exact_match": hits / n, "exact_match_trimmed": hits_trim / n,
                        "first_token_accuracy": first_tok / n, "mean_fraction_matched": frac / n,
                        "examples": examples}
    print(f"next line: {hits}/{n} exact, {hits_trim}/{n} trimmed ({time.time()-t0:.0f} s)", file=sys.stderr)

    # FIM middle.
    hits = first_tok = frac = 0
    examples = []
    for d, ls, indent, le in rng.sample(cands, min(args.n_fim, len(cands))):
        text = d["text"]
        pre, mid, suf = text[:ls + indent], text[ls + indent:le], text[le:]
        ids = ([v["<fim_prefix>"]] + tok.encode_ordinary(pre)[-args.fim_prefix_tokens:] +
               [v["<fim_suffix>"]] + tok.encode_ordinary(suf)[:args.fim_suffix_tokens] +
               [v["<fim_middle>"]])
        out = greedy(model, ids, args.max_new, lambda o: o[-1] == eot)
        gen = tok.decode_bytes([i for i in out if i != eot]).decode("utf-8", "replace")
        hits += gen == mid
        first_tok += out[0] == tok.encode_ordinary(mid)[0]
        frac += common_prefix(gen, mid) / len(mid)
        if len(examples) < 12:
            examples.append({"pkg": d["pkg"], "path": d["path"], "middle": mid, "generated": gen})
    n = min(args.n_fim, len(cands))
    res["fim_middle"] = {"samples": n, "exact_match": hits / n, "first_token_accuracy": first_tok / n,
                         "mean_fraction_matched": frac / n, "examples": examples}
    print(f"fim middle: {hits}/{n} exact ({time.time()-t0:.0f} s)", file=sys.stderr)
    res["eval_seconds"] = round(time.time() - t0, 1)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False, indent=1)
    print(f"-> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
