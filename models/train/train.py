#!/usr/bin/env python3
"""Trains lens-tiny (GPT-2) on the prepared token streams. CPU or CUDA.

Random windows of --seq+1 tokens from .cache/data/train.bin; AdamW, linear warm-up then cosine
decay to 10 %; checkpoints to --work/ckpt.pt every --ckpt-every steps (atomically) and on
SIGTERM/SIGINT, so a killed run resumes where it stopped with --resume. Half the windows get
positions shifted by a random offset, so every position embedding up to n_positions trains.

    /usr/bin/python3 models/train/train.py --steps 900
    /usr/bin/python3 models/train/train.py --resume          # after a crash or kill
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT2, Config  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def batch(data, step, args, n_positions, device, seed_offset=0):
    rng = np.random.default_rng(args.seed * 1_000_003 + step + seed_offset)
    starts = rng.integers(0, len(data) - args.seq - 1, args.batch)
    x = torch.from_numpy(np.stack([data[s:s + args.seq + 1].astype(np.int64) for s in starts]))
    shift = rng.random(args.batch) < args.pos_shift_rate
    offs = np.where(shift, rng.integers(0, n_positions - args.seq + 1, args.batch), 0)
    pos = torch.from_numpy(offs[:, None] + np.arange(args.seq)[None, :]).long()
    return x[:, :-1].to(device), x[:, 1:].to(device), pos.to(device)


@torch.no_grad()
def evaluate(model, data, args, device, n_batches=8):
    model.eval()
    losses = []
    for i in range(n_batches):
        x, y, _ = batch(data, i, args, model.cfg.n_positions, device, seed_offset=10**9)
        logits, _ = model(x)
        losses.append(F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).item())
    model.train()
    return sum(losses) / len(losses)


def save(path, model, opt, step, tokens, args, log):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                "tokens_seen": tokens, "config": model.cfg.to_dict(), "args": vars(args),
                "log": log}, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, ".cache", "data"))
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-positions", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=None,
                    help="total steps (default 900); with --resume, shortens or extends the "
                         "saved schedule (the cosine decay is recomputed over the new total)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--pos-shift-rate", type=float, default=0.5)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="1 is fastest on this 2-vCPU machine")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(args.work, exist_ok=True)
    ckpt_path = os.path.join(args.work, "ckpt.pt")
    resume_cmd = f"/usr/bin/python3 {os.path.relpath(__file__)} --resume --work {args.work}"
    step, tokens, log = 0, 0, []
    if args.resume:
        ck = torch.load(ckpt_path, map_location="cpu")
        saved = ck["args"]
        steps = args.steps
        for k in ("n_embd", "n_layer", "n_head", "n_positions", "vocab", "seq", "batch", "steps", "lr",
                  "warmup", "weight_decay", "pos_shift_rate", "seed", "data"):
            setattr(args, k, saved[k])
        if steps is not None:
            args.steps = steps
        # Each resume is recorded in the checkpoint's args, so the model card can say so.
        args.resumed = saved.get("resumed", []) + [{"at_step": ck["step"], "steps": args.steps}]
        cfg = Config(**ck["config"])
    else:
        args.steps = args.steps or 900
        cfg = Config(vocab_size=args.vocab, n_positions=args.n_positions, n_embd=args.n_embd,
                     n_layer=args.n_layer, n_head=args.n_head)
    torch.manual_seed(args.seed)
    model = GPT2(cfg).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    if args.resume:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, tokens, log = ck["step"], ck["tokens_seen"], ck.get("log", [])
        print(f"resumed at step {step} ({tokens} tokens seen)", flush=True)

    train = np.memmap(os.path.join(args.data, "train.bin"), dtype=np.uint16, mode="r")
    held = np.memmap(os.path.join(args.data, "heldout.bin"), dtype=np.uint16, mode="r")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model {n_params} parameters, train {len(train)} tokens, held-out {len(held)} tokens, "
          f"{args.steps} steps of {args.batch}x{args.seq}; device {device}", flush=True)
    print(f"resume command: {resume_cmd}", flush=True)

    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    t_start = time.time()
    elapsed0 = log[-1]["elapsed_s"] if log else 0.0
    model.train()
    while step < args.steps and not stop["now"]:
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, pos = batch(train, step, args, cfg.n_positions, device)
        logits, _ = model(x, position_ids=pos)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item()
        opt.step()
        step += 1
        tokens += x.numel()
        elapsed = elapsed0 + time.time() - t_start
        rec = {"step": step, "loss": round(loss.item(), 4), "lr": round(lr, 6),
               "grad_norm": round(gn, 3), "tokens": tokens, "elapsed_s": round(elapsed, 1)}
        if step % args.eval_every == 0 or step == args.steps:
            rec["heldout_loss"] = round(evaluate(model, held, args, device), 4)
        log.append(rec)
        if step % 10 == 0 or "heldout_loss" in rec:
            print(json.dumps(rec), flush=True)
        if step % args.ckpt_every == 0 or step == args.steps:
            save(ckpt_path, model, opt, step, tokens, args, log)
    save(ckpt_path, model, opt, step, tokens, args, log)
    if step < args.steps:
        print(f"stopped at step {step}; checkpoint {ckpt_path}; resume with: {resume_cmd}", flush=True)
        sys.exit(1)
    print(f"done: {step} steps, {tokens} tokens, {log[-1]['elapsed_s']:.0f} s; checkpoint {ckpt_path}",
          flush=True)


if __name__ == "__main__":
    main()
