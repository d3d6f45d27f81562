#!/usr/bin/env python3
"""Chooses the built-in model's shape by measurement: a short training run per candidate shape,
each with its own full cosine schedule over the same --minutes, then the held-out loss it reached
and its training rate. Writes work/sweep.json (the model card quotes it) and prints the winner.

Short runs favour small models (a bigger one would catch up given the full budget), so the pick is
the lowest held-out loss after the short run, with ties (within --tie nats) going to the larger
model, which has more room to use the long run.

    /usr/bin/python3 models/train/sweep.py --minutes 4 --shapes 160x4 192x6 256x6
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--shapes", nargs="+", default=["160x4", "192x6", "256x6"],
                    help="d_model x layers; heads = d_model / 32 (head size 32, as lens-tiny)")
    ap.add_argument("--tie", type=float, default=0.02)
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    args = ap.parse_args()
    results = []
    for shape in args.shapes:
        d, layers = (int(v) for v in shape.split("x"))
        work = os.path.join(args.work, f"sweep-{shape}")
        cmd = [sys.executable, os.path.join(HERE, "train.py"), "--minutes", str(args.minutes),
               "--n-embd", str(d), "--n-layer", str(layers), "--n-head", str(d // 32),
               "--eval-every", "1000000", "--ckpt-minutes", "1000", "--work", work]
        print("sweep:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        import torch  # after the runs: the children need the cores, not this process
        ck = torch.load(os.path.join(work, "ckpt.pt"), map_location="cpu")
        last = ck["log"][-1]
        n_params = sum(v.numel() for k, v in ck["model"].items() if not k.endswith("attn.bias"))
        rec = {"shape": shape, "n_embd": d, "n_layer": layers, "n_head": d // 32,
               "parameters": n_params, "minutes": args.minutes, "steps": last["step"],
               "tokens": last["tokens"], "tokens_per_s": round(last["tokens"] / last["elapsed_s"]),
               "heldout_loss": last["heldout_loss"]}
        print("sweep:", json.dumps(rec), flush=True)
        results.append(rec)
    best = min(r["heldout_loss"] for r in results)
    close = [r for r in results if r["heldout_loss"] <= best + args.tie]
    pick = max(close, key=lambda r: r["parameters"])
    out = {"minutes_each": args.minutes, "tie_nats": args.tie, "results": results,
           "picked": pick["shape"]}
    json.dump(out, open(os.path.join(args.work, "sweep.json"), "w"), indent=1)
    print(f"sweep: picked {pick['shape']} ({pick['parameters']} parameters)", flush=True)
    print(f"N_EMBD={pick['n_embd']} N_LAYER={pick['n_layer']} N_HEAD={pick['n_head']}")


if __name__ == "__main__":
    main()
