#!/usr/bin/env python3
"""Trains lens-tiny (GPT-2) on the prepared token streams. CPU or CUDA.

Random windows of --seq+1 tokens from .cache/data/train.bin; AdamW, linear warm-up then cosine
decay to 10 %; checkpoints to --work/ckpt.pt every --ckpt-minutes (atomically) and on
SIGTERM/SIGINT, so a killed run resumes where it stopped with --resume. Half the windows get
positions shifted by a random offset, so every position embedding up to n_positions trains.

A run is bounded either by --steps or by --minutes of training time: with --minutes the cosine
schedule runs over the fraction of the budget used, not over a step count guessed in advance, so
the learning rate reaches its floor exactly when the time is up, whatever the machine's speed.

The CPU fast path (shared/notes/training.md): bf16 autocast where the CPU has native bf16
(AVX-512 bf16 or AMX; the loss stays fp32), as many torch threads as cores. The allocator
(tcmalloc) and OPENBLAS_NUM_THREADS=1 must be set before Python starts: run_all.sh does that.

    /usr/bin/python3 models/train/train.py --minutes 100
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


def lr_at(step, args, frac_done=None):
    """Warm-up over --warmup steps, then cosine to 10 %; frac_done (0..1 of the time budget)
    replaces the step fraction when the run is bounded by --minutes."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    if frac_done is None:
        frac_done = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac_done))))


def cpu_has_bf16():
    """Native bf16 matrix units (avx512_bf16 or AMX): there autocast doubles the rate; elsewhere
    bf16 is emulated and slower than fp32."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


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
    ap.add_argument("--minutes", type=float, default=None,
                    help="training time budget; the cosine schedule is fitted to it and the run "
                         "stops when it is spent (overrides --steps as the bound)")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                    help="auto: bf16 autocast on CPUs with native bf16 and on CUDA, else fp32")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="torch threads (default: the cores); use 1 when the machine is shared")
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
                  "warmup", "weight_decay", "pos_shift_rate", "seed", "data", "minutes", "precision"):
            if k not in saved:
                continue
            setattr(args, k, saved[k])
        if steps is not None:
            args.steps = steps
            args.minutes = None
        # Each resume is recorded in the checkpoint's args, so the model card can say so.
        args.resumed = saved.get("resumed", []) + [{"at_step": ck["step"], "steps": args.steps}]
        cfg = Config(**ck["config"])
    else:
        # With a time budget the step count is open-ended: the clock ends the run.
        args.steps = args.steps or (10**9 if args.minutes else 900)
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
    use_bf16 = args.precision == "bf16" or (args.precision == "auto" and (
        device == "cuda" or cpu_has_bf16()))
    args.precision_used = "bf16" if use_bf16 else "fp32"
    args.threads_used = torch.get_num_threads()
    print(f"precision {args.precision_used}, {args.threads_used} threads, budget "
          f"{f'{args.minutes} minutes' if args.minutes else f'{args.steps} steps'}", flush=True)
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
    budget_s = args.minutes * 60 if args.minutes else None
    last_ckpt = time.time()
    while step < args.steps and not stop["now"]:
        elapsed = elapsed0 + time.time() - t_start
        if budget_s is not None and elapsed >= budget_s:
            break
        lr = lr_at(step, args, elapsed / budget_s if budget_s else None)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, pos = batch(train, step, args, cfg.n_positions, device)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
            logits, _ = model(x, position_ids=pos)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))
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
        if time.time() - last_ckpt >= args.ckpt_minutes * 60 or step == args.steps:
            save(ckpt_path, model, opt, step, tokens, args, log)
            last_ckpt = time.time()
    if log and "heldout_loss" not in log[-1]:
        log[-1]["heldout_loss"] = round(evaluate(model, held, args, device), 4)
        print(json.dumps(log[-1]), flush=True)
    save(ckpt_path, model, opt, step, tokens, args, log)
    if stop["now"]:
        print(f"stopped at step {step}; checkpoint {ckpt_path}; resume with: {resume_cmd}", flush=True)
        sys.exit(1)
    print(f"done: {step} steps, {tokens} tokens, {log[-1]['elapsed_s']:.0f} s; checkpoint {ckpt_path}",
          flush=True)


if __name__ == "__main__":
    main()
