"""The November 2022 archive (FTX collapse) through `finpulse backtest`, twice: identical
output, an alert on the collapse, and no alert storm over the month."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT.parent / "shared" / "data" / "replay" / "2022-11.jsonl.gz"


def backtest() -> str:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "backtest",
            str(ARCHIVE),
            "--json",
            "--model",
            "baseline",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_replaying_the_month_twice_gives_the_same_alerts():
    if not ARCHIVE.is_file():
        pytest.skip(f"replay archive not found at {ARCHIVE} (../shared beside the repo)")
    first, second = backtest(), backtest()
    assert first == second
    data = json.loads(first)
    assert data["documents"] == 49_307
    assert data["skipped"].get("language:pl", 0) > 7_000  # Polish is not scored
    alerts = data["alerts"]
    assert 1 <= len(alerts) <= 20, "an alert storm (or nothing) over the month"
    crypto = [a for a in alerts if a["scope"] in ("financials", "crypto")]
    assert crypto and "2022-11-06" <= crypto[0]["startsAt"] < "2022-11-12"
    assert any("FTX" in e["title"] for e in crypto[0]["evidence"])
