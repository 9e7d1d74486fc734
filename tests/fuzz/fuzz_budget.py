"""The budget every fuzz test runs under: examples, time per example, memory per example.

CI runs ``FINPULSE_FUZZ_EXAMPLES`` examples per test (200 by default, about a minute for the
whole folder on 2 cores); a longer run is the same tests with a bigger number:

    FINPULSE_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/fuzz -q \
        --hypothesis-show-statistics

Each example must finish within ``DEADLINE_MS`` and allocate at most ``MAX_PEAK_BYTES`` (the
traced peak), on inputs of at most a few tens of kilobytes: a parser that hangs or blows up
on one hostile document is a denial of service for the whole source.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("FINPULSE_FUZZ_EXAMPLES", "200"))
DEADLINE_MS = 3000
MAX_PEAK_BYTES = 64 * 1024 * 1024

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE_MS,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    derandomize=False,
)

T = TypeVar("T")


def bounded_memory(fn: Callable[[], T]) -> T:
    """``fn()``, failing when it allocates more than MAX_PEAK_BYTES at its peak."""
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= MAX_PEAK_BYTES, f"peak allocation {peak / 2**20:.0f} MiB"
    return out
