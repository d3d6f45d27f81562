#!/usr/bin/env python3
"""Builds the training corpus from a pinned list of permissively licensed npm packages.

Fetches each `name@version` of packages.json with `npm pack` into models/train/.cache/tarballs,
refuses any package whose license is not allowed, extracts source and Markdown, drops
minified/generated files and exact duplicates, and writes train/held-out JSONL split by package.
The committed manifest (corpus-manifest.json) records every package's license and what was kept.

    /usr/bin/python3 models/train/build_corpus.py [--per-package-mb 4] [--target-mb 300]
"""
import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache")

CODE_EXT = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
PROSE_EXT = (".md", ".markdown")
# Generated or bundled output: path fragments and name patterns that mark it.
GENERATED_PATH = re.compile(
    r"(^|/)(umd|bundles?|browser|min|vendor|node_modules|coverage|fesm\d*|_bundles)/|"
    r"\.min\.|\.bundle\.|\.prod\.|\.production\.|-bundle\.|\.global\.|\.iife\.", re.I)
MAX_FILE_BYTES = 400_000     # bigger single files are almost always bundles
MAX_LINE = 400               # minified code has very long lines
MAX_MEAN_LINE = 90


def spdx_allowed(expr, allowed):
    """True when a license string or SPDX expression is satisfied by allowed licenses.
    OR needs one allowed alternative; AND needs all parts allowed."""
    if not expr:
        return False
    e = expr.strip().strip("()").strip()
    if " OR " in e:
        return any(spdx_allowed(p, allowed) for p in e.split(" OR "))
    if " AND " in e:
        return all(spdx_allowed(p, allowed) for p in e.split(" AND "))
    return e.strip("()") in allowed


def license_of(pkgjson):
    lic = pkgjson.get("license")
    if isinstance(lic, dict):
        lic = lic.get("type")
    if not lic and isinstance(pkgjson.get("licenses"), list):
        lic = " OR ".join(l.get("type", "") if isinstance(l, dict) else str(l) for l in pkgjson["licenses"])
    return lic or ""


def tarball_path(spec):
    name, ver = spec.rsplit("@", 1)
    return os.path.join(CACHE, "tarballs", name.replace("@", "").replace("/", "-") + "-" + ver + ".tgz")


def fetch(specs):
    """npm pack the missing tarballs, a batch per call (one registry request per package)."""
    os.makedirs(os.path.join(CACHE, "tarballs"), exist_ok=True)
    missing = [s for s in specs if not os.path.exists(tarball_path(s))]
    info = {}
    meta_path = os.path.join(CACHE, "pack-meta.json")
    if os.path.exists(meta_path):
        info = json.load(open(meta_path))
    for i in range(0, len(missing), 16):
        batch = missing[i:i + 16]
        print(f"npm pack {' '.join(batch)}", file=sys.stderr)
        out = subprocess.run(["npm", "pack", *batch, "--json", "--silent",
                              "--pack-destination", os.path.join(CACHE, "tarballs")],
                             check=True, capture_output=True, text=True).stdout
        for m in json.loads(out):
            spec = m["name"] + "@" + m["version"]
            info[spec] = {"integrity": m.get("integrity"), "shasum": m.get("shasum")}
            src = os.path.join(CACHE, "tarballs", m["filename"])
            if os.path.exists(src) and src != tarball_path(spec):
                os.replace(src, tarball_path(spec))
    json.dump(info, open(meta_path, "w"), indent=1)
    return info


def why_dropped(path, data):
    low = path.lower()
    if low.endswith(".map") or not (low.endswith(CODE_EXT) or low.endswith(PROSE_EXT)):
        return "extension"
    if GENERATED_PATH.search(path):
        return "generated-path"
    if len(data) > MAX_FILE_BYTES:
        return "too-large"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not-utf8"
    if not text.strip():
        return "empty"
    lines = text.split("\n")
    if low.endswith(CODE_EXT):
        if max(len(l) for l in lines) > MAX_LINE or len(text) / len(lines) > MAX_MEAN_LINE:
            return "minified"
        if "sourceMappingURL=data:" in text:
            return "generated-sourcemap"
        head = text[:400]
        if "@generated" in head or "DO NOT EDIT" in head or "auto-generated" in head.lower():
            return "generated-header"
    return None


def stable_key(s):
    return hashlib.sha256(s.encode()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", default=os.path.join(HERE, "packages.json"))
    ap.add_argument("--per-package-mb", type=float, default=6.0,
                    help="cap on text kept per package, so no single package dominates")
    ap.add_argument("--heldout-mb", type=float, default=1.5,
                    help="cap per held-out package; kept at lens-tiny's 1.5 so every model is "
                         "evaluated on the same held-out text")
    ap.add_argument("--target-mb", type=float, default=300.0,
                    help="stop adding training text past this size")
    ap.add_argument("--out", default=os.path.join(CACHE, "corpus"))
    ap.add_argument("--manifest", default=os.path.join(HERE, "corpus-manifest.json"))
    args = ap.parse_args()

    cfg = json.load(open(args.packages))
    allowed = set(cfg["allowed_licenses"])
    heldout = set(cfg["heldout"])
    specs = cfg["packages"]
    meta = fetch(specs)

    # License gate first: nothing is written if any package is refused.
    refused, pkgs = [], []
    for spec in specs:
        tf = tarfile.open(tarball_path(spec))
        pj = None
        for m in tf.getmembers():
            if m.isfile() and m.name.count("/") == 1 and m.name.endswith("/package.json"):
                pj = json.load(tf.extractfile(m))
                break
        lic = license_of(pj or {})
        if not spdx_allowed(lic, allowed):
            refused.append((spec, lic))
        pkgs.append((spec, lic, tf))
    if refused:
        for spec, lic in refused:
            print(f"REFUSED {spec}: license {lic!r} is not in the allowed list {sorted(allowed)}",
                  file=sys.stderr)
        sys.exit(2)

    os.makedirs(args.out, exist_ok=True)
    outs = {s: open(os.path.join(args.out, s + ".jsonl"), "w") for s in ("train", "heldout")}
    seen = set()
    drops = {}
    manifest = {"allowed_licenses": sorted(allowed), "packages": [], "totals": {}}
    total = {"train": 0, "heldout": 0}
    files = {"train": 0, "heldout": 0}
    caps = {"train": int(args.per_package_mb * 1e6), "heldout": int(args.heldout_mb * 1e6)}
    for spec, lic, tf in pkgs:
        name = spec.rsplit("@", 1)[0]
        split = "heldout" if name in heldout else "train"
        cap = caps[split]
        # Read in archive order (random access into a .tgz decompresses from the start each time),
        # then visit in a deterministic but not alphabetical order, so a per-package cap samples
        # the package.
        tf = tarfile.open(tarball_path(spec), "r:gz")
        members = [(m.name, tf.extractfile(m).read()) for m in tf if m.isfile()]
        members.sort(key=lambda m: stable_key(spec + m[0]))
        kept_bytes = kept_files = 0
        ext_bytes = {}
        for mname, data in members:
            path = mname.split("/", 1)[1] if "/" in mname else mname
            reason = why_dropped(path, data)
            if reason is None:
                text = data.decode("utf-8").replace("\r\n", "\n")
                h = hashlib.sha256(text.encode()).digest()
                if h in seen:
                    reason = "duplicate"
                elif kept_bytes + len(data) > cap:
                    reason = "package-cap"
                elif split == "train" and total["train"] >= args.target_mb * 1e6:
                    reason = "target-reached"
            if reason:
                drops[reason] = drops.get(reason, 0) + 1
                continue
            seen.add(h)
            n = len(text.encode())
            kept_bytes += n
            kept_files += 1
            ext = os.path.splitext(path)[1].lower()
            ext_bytes[ext] = ext_bytes.get(ext, 0) + n
            outs[split].write(json.dumps({"pkg": name, "path": path, "text": text}) + "\n")
        total[split] += kept_bytes
        files[split] += kept_files
        manifest["packages"].append({
            "spec": spec, "license": lic, "split": split,
            "integrity": meta.get(spec, {}).get("integrity"),
            "files": kept_files, "bytes": kept_bytes, "bytes_by_ext": ext_bytes})
        print(f"{split:8s} {spec:45s} {lic:12s} {kept_files:5d} files {kept_bytes/1e6:7.2f} MB",
              file=sys.stderr)
    for f in outs.values():
        f.close()
    manifest["totals"] = {"bytes": total, "files": files, "dropped_files_by_reason": drops,
                          "per_package_mb_cap": args.per_package_mb,
                          "heldout_package_mb_cap": args.heldout_mb, "target_mb": args.target_mb}
    json.dump(manifest, open(args.manifest, "w"), indent=1)
    print(f"train {total['train']/1e6:.1f} MB in {files['train']} files, "
          f"held-out {total['heldout']/1e6:.1f} MB in {files['heldout']} files; drops {drops}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
