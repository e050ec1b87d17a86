#!/usr/bin/env bash
# Debian's CPU builds of PyTorch and ONNX for the ranker's trainer (models/ranker/train.py) and the
# tests that run it (ranking/features.test.ts, eval/simulate/*.test.ts). Those tests skip on a
# machine without them, so CI installs them first: a skipped training loop proves nothing.
# PyPI's torch wheel is not used: it drags in gigabytes of CUDA libraries.
set -euo pipefail
PY=/usr/bin/python3
if [[ -x "$PY" ]] && "$PY" -c 'import torch, onnx, numpy' 2>/dev/null; then
  echo "training deps: present ($("$PY" -c 'import torch; print("torch", torch.__version__)'))"
  exit 0
fi
[[ "$(id -u)" == 0 ]] || { echo "training deps: missing; as root: apt-get install -y python3-torch python3-onnx python3-numpy" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# A fresh image has no package lists: without an update the first install attempt fails.
apt-get -o DPkg::Lock::Timeout=300 update || true
for i in 1 2 3; do
  if apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends python3-torch python3-onnx python3-numpy; then break; fi
  echo "training deps: apt-get install failed (attempt $i/3); apt-get update and retry" >&2
  apt-get -o DPkg::Lock::Timeout=300 update || true
  sleep 5
done
"$PY" -c 'import torch, onnx, numpy' || { echo "training deps: could not install python3-torch python3-onnx python3-numpy" >&2; exit 1; }
echo "training deps: installed ($("$PY" -c 'import torch; print("torch", torch.__version__)'))"
