#!/usr/bin/env bash
# Builds models/lens-tiny from nothing: corpus, data, a short size sweep, one training run bounded
# in time, export, checks, fixtures, evaluation and model card. Defaults reproduce the committed
# model (about 2 hours on a 2-core CPU with bf16; see models/README.md).
#   models/train/run_all.sh                  # the shipped model
#   RESUME=1 models/train/run_all.sh         # continue a killed training run, then the rest
#   MINUTES=10 SWEEP_MINUTES=0 N_EMBD=128 N_LAYER=4 models/train/run_all.sh   # a quick try
#   RETRAIN_TOKENIZER=1 ...                  # train a new tokenizer too (changes every token id)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
PER_PACKAGE_MB=${PER_PACKAGE_MB:-6}
TARGET_MB=${TARGET_MB:-300}
MINUTES=${MINUTES:-100}
SWEEP_MINUTES=${SWEEP_MINUTES:-3}
T=models/train

# Setup: Debian's PyTorch and friends, and tcmalloc (the fast path below), when missing.
if ! $PY -c "import torch, onnx, numpy, regex" 2>/dev/null || \
   ! ldconfig -p | grep -q libtcmalloc_minimal.so.4; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-onnx python3-numpy \
      python3-regex libopenblas0-pthread libtcmalloc-minimal4 >/dev/null
  else
    echo "please install: sudo apt-get install python3-torch python3-onnx python3-numpy python3-regex libopenblas0-pthread libtcmalloc-minimal4" >&2
    exit 1
  fi
fi
# The CPU fast path (shared notes, training.md): tcmalloc instead of glibc malloc (fresh pages for
# every large tensor cost 0.25-2.8 s a step), and no second, busy-waiting OpenBLAS pool beside
# torch's threads. train.py adds bf16 autocast where the CPU has it, and threads = cores.
TCMALLOC=$(ldconfig -p | awk '/libtcmalloc_minimal.so.4 /{print $NF; exit}')
[ -n "$TCMALLOC" ] && export LD_PRELOAD="$TCMALLOC${LD_PRELOAD:+:$LD_PRELOAD}"
export OPENBLAS_NUM_THREADS=1
# Something else running (an editor, tests): threads sleep instead of spinning when idle.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
mkdir -p $T/work

if [ "${RESUME:-0}" != 1 ]; then
  $PY $T/build_corpus.py --per-package-mb "$PER_PACKAGE_MB" --target-mb "$TARGET_MB"
  if [ "${RETRAIN_TOKENIZER:-0}" = 1 ]; then
    $PY $T/train_tokenizer.py --sample-mb 20 --vocab 8192
    $PY $T/tokenizer_reference.py
  fi
  node $T/check_tokenizer.mjs
  $PY $T/prepare_data.py --fim-rate 0.5 --piece-chars 800
  if [ -z "${N_EMBD:-}" ] && [ "$SWEEP_MINUTES" != 0 ]; then
    eval "$($PY $T/sweep.py --minutes "$SWEEP_MINUTES" | tee $T/work/sweep.log | tail -1)"
  fi
  N_EMBD=${N_EMBD:-192}; N_LAYER=${N_LAYER:-6}; N_HEAD=${N_HEAD:-$((N_EMBD / 32))}
  $PY $T/train.py --minutes "$MINUTES" --n-embd "$N_EMBD" --n-layer "$N_LAYER" --n-head "$N_HEAD" \
    2>&1 | tee $T/work/train.log
else
  $PY $T/train.py --resume 2>&1 | tee -a $T/work/train.log
fi
unset LD_PRELOAD
$PY $T/export.py
$PY $T/make_fixtures.py
node $T/check_onnx.mjs
$PY $T/evaluate.py
$PY $T/write_card.py
echo "done: models/lens-tiny, test/fixtures/lens-tiny"
