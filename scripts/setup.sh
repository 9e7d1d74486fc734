#!/usr/bin/env bash
# Creates .venv and installs finpulse into it; idempotent (a stamp of the inputs skips
# the pip work on a second run). Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PY=${PYTHON:-python3}
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"

has_cuda() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }

# The resolver takes ~9 minutes on this stack unconstrained; the constraints pin the pieces
# faust-streaming's click<8.4 forces anyway. On a CPU-only machine torch==2.13.0 (CPU build)
# goes in first so nothing pulls a multi-GB CUDA build.
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
if has_cuda; then
  grep -v '^torch==' constraints-cpu.txt > "$constraints"
else
  cp constraints-cpu.txt "$constraints"
fi

extras=""
[ $want_test = 1 ] && extras="[test,onnx]"  # onnx: the int8 path its tests cover
stamp="$VENV/.finpulse-stamp"
key=$(cat pyproject.toml "$constraints" | sha256sum | cut -d' ' -f1)$extras
if [ -f "$stamp" ] && grep -qx "$key" "$stamp" 2>/dev/null \
   && "$VENV/bin/python" -c "import foundation, cli, monitor, torch" 2>/dev/null; then
  echo "[setup] environment up to date"
else
  echo "[setup] installing finpulse$extras (about 2 minutes on a fresh machine; log: $VENV/pip.log)"
  # pip's and the build backend's chatter goes to a log, shown in full only when a step fails.
  log="$VENV/pip.log"
  : > "$log"
  quiet() { "$@" >>"$log" 2>&1 || { cat "$log" >&2; echo "[setup] failed: $*" >&2; exit 1; }; }
  quiet $PIP install -q --upgrade pip
  if ! has_cuda && ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    quiet $PIP install -q -c "$constraints" "torch==2.13.0"
  fi
  quiet $PIP install -q -c "$constraints" -e ".$extras"
  echo "$key" > "$stamp"
fi

if [ $want_test = 1 ]; then
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      echo "[setup] installing Debian chromium + chromium-driver for the browser tests"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
      echo "[setup] chromium/chromedriver missing: the browser tests will be skipped." >&2
      echo "        install them with: sudo apt-get install chromium chromium-driver" >&2
    fi
  fi
fi
