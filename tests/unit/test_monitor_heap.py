"""The worker's periodic malloc_trim (FINPULSE_MALLOC_TRIM, monitor.stream.heap)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from foundation.errors import ConfigError
from monitor.stream.heap import interval_from_env, libc, register_trim

ROOT = Path(__file__).resolve().parents[2]
GLIBC = libc() is not None and hasattr(libc(), "malloc_trim")


def test_once_a_minute_by_default_and_off_at_zero() -> None:
    assert interval_from_env({}) == 60.0
    assert interval_from_env({"FINPULSE_MALLOC_TRIM": "15"}) == 15.0
    assert interval_from_env({"FINPULSE_MALLOC_TRIM": "0"}) is None


@pytest.mark.parametrize("raw", ["soon", "-5", "nan", "inf"])
def test_a_bad_interval_is_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(ConfigError, match="FINPULSE_MALLOC_TRIM"):
        interval_from_env({"FINPULSE_MALLOC_TRIM": raw})


class _App:
    def __init__(self) -> None:
        self.timers: list[float] = []

    def timer(self, every: float) -> Any:
        self.timers.append(every)
        return lambda fn: fn


def test_off_attaches_nothing() -> None:
    app = _App()
    assert register_trim(app, environ={"FINPULSE_MALLOC_TRIM": "0"}) is False
    assert app.timers == []


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_on_attaches_one_timer() -> None:
    app = _App()
    assert register_trim(app, environ={"FINPULSE_MALLOC_TRIM": "30"}) is True
    assert app.timers == [30.0]


# A fresh interpreter: 120 MiB of 2 KB blocks (malloc, not pymalloc), every 500th kept so the
# heap cannot shrink from its top alone, then freed. Resident memory stays at the high-water
# mark until the trim.
_SCRIPT = """
from monitor.stream.heap import trim
from monitor.stream.memtrace import rss_mib
junk = [bytes(2000) + bytes([i % 256]) for i in range(60000)]
keep = junk[::500]
del junk
before = rss_mib()
trim()
print(before, rss_mib())
"""


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_a_trim_gives_freed_heap_back_to_the_os() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    before, after = float(out[0]), float(out[1])
    assert before - after > 60, (before, after)  # of the ~117 MiB freed
