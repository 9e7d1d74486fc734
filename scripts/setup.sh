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
  # Debian packages the tests use (servers start on loopback ports in temp folders): headless
  # Chromium for the browser tests, PostgreSQL for the store tier, Prometheus and
  # Alertmanager for the metrics and alerting tests, docker-compose to validate docker/.
  missing=()
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    missing+=(chromium chromium-driver)
  fi
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 \
    || missing+=(prometheus)
  command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  # `docker compose config` validates docker/docker-compose.yml (no daemon needed).
  { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; } \
    || missing+=(docker-compose)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "[setup] installing Debian ${missing[*]} for the tests"
      apt-get update -qq >/dev/null
      # policy-rc.d exit 101: the packages' own services are not started (the tests start
      # theirs); an existing policy file is left as it is.
      own_policy=0
      if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=1
      fi
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      if [ $own_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    else
      echo "[setup] missing ${missing[*]}: the tests that need them will be skipped." >&2
      echo "        install them with: sudo apt-get install ${missing[*]}" >&2
    fi
  fi
fi
