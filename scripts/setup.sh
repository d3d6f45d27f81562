#!/usr/bin/env bash
# Installs what LLM Lens needs to build, test and run, idempotently: npm dependencies, Debian's
# chromium and ripgrep (as root, when missing) and the code-server cache. Sourced by test.sh/start.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# onnxruntime-node (the native runtime of platform VSIXs, and the bench anchor) would fetch CUDA binaries at install.
export ONNXRUNTIME_NODE_INSTALL=skip

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing npm dependencies"
  npm ci --no-audit --no-fund
fi

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[setup] apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "[setup] please install: sudo apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
fi

if [ -f scripts/installCodeServer.sh ]; then
  bash scripts/installCodeServer.sh
fi
