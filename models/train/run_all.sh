#!/usr/bin/env bash
# Builds models/lens-tiny from nothing: corpus, tokenizer, data, training, export, checks,
# fixtures, evaluation and model card. Defaults reproduce the committed CPU toy model.
#   models/train/run_all.sh                 # toy: 1.5 MB per package, 900 steps on CPU
#   RESUME=1 models/train/run_all.sh        # continue a killed training run, then the rest
#   PER_PACKAGE_MB=6 TARGET_MB=300 STEPS=... N_EMBD=... models/train/run_all.sh   # larger runs
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
PER_PACKAGE_MB=${PER_PACKAGE_MB:-1.5}
TARGET_MB=${TARGET_MB:-300}
STEPS=${STEPS:-900}
N_EMBD=${N_EMBD:-128}
N_LAYER=${N_LAYER:-4}
N_HEAD=${N_HEAD:-4}
T=models/train

if [ "${RESUME:-0}" != 1 ]; then
  $PY $T/build_corpus.py --per-package-mb "$PER_PACKAGE_MB" --target-mb "$TARGET_MB"
  $PY $T/train_tokenizer.py --sample-mb 20 --vocab 8192
  $PY $T/tokenizer_reference.py
  node $T/check_tokenizer.mjs
  $PY $T/prepare_data.py --fim-rate 0.5 --piece-chars 800
  mkdir -p $T/work
  $PY $T/train.py --steps "$STEPS" --n-embd "$N_EMBD" --n-layer "$N_LAYER" --n-head "$N_HEAD" \
    2>&1 | tee $T/work/train.log
else
  $PY $T/train.py --resume 2>&1 | tee -a $T/work/train.log
fi
$PY $T/export.py
$PY $T/make_fixtures.py
node $T/check_onnx.mjs
$PY $T/evaluate.py
$PY $T/write_card.py
echo "done: models/lens-tiny, test/fixtures/lens-tiny"
