#!/usr/bin/env bash
# Dependency audit: pip-audit against the installed project environment (.venv).
#
# pip-audit lives in its own small venv (.venv/tools/audit), so auditing never changes the
# environment it audits; it reads .venv's packages through PIPAPI_PYTHON_LOCATION. Known
# findings that are accepted are listed in scripts/audit-ignore.txt (ID and reason; the same
# list is in docs/reliability.md#security).
#
# Exit status: 1 when a vulnerability not in the ignore list is found; 0 otherwise. When the
# advisory data cannot be had (no PyPI, or an index that serves no per-version JSON, as on a
# mirror), it says so and exits 0: an audit that could not look is reported, not passed off
# as clean, and it does not block the tests.
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
TOOLS=${AUDIT_VENV:-$VENV/tools/audit}
PY=${PYTHON:-python3}
IGNORE=scripts/audit-ignore.txt

if [ ! -x "$TOOLS/bin/pip-audit" ]; then
  echo "[audit] installing pip-audit into $TOOLS"
  log="$TOOLS-install.log"
  mkdir -p "$(dirname "$TOOLS")"
  if ! { "$PY" -m venv "$TOOLS" && "$TOOLS/bin/python" -m pip install -q "pip-audit>=2.7,<3"; } \
      >"$log" 2>&1; then
    echo "[audit] NOT RUN: pip-audit could not be installed (log: $log)" >&2
    exit 0
  fi
fi

ignores=()
if [ -f "$IGNORE" ]; then
  while read -r id _; do
    [ -n "$id" ] && [ "${id:0:1}" != "#" ] && ignores+=(--ignore-vuln "$id")
  done <"$IGNORE"
fi

report=$(mktemp)
trap 'rm -f "$report" "$report.err"' EXIT
PIPAPI_PYTHON_LOCATION="$VENV/bin/python" timeout 600 "$TOOLS/bin/pip-audit" \
  --progress-spinner off --skip-editable -f json -o "$report" "${ignores[@]}" 2>"$report.err"
rc=$?

"$TOOLS/bin/python" scripts/audit_report.py "$report" "$rc" "$report.err"
