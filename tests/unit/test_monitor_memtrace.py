"""The worker's opt-in memory report (FINPULSE_MEMTRACE, monitor.stream.memtrace)."""

from __future__ import annotations

import tracemalloc

import pytest

from foundation.errors import ConfigError
from monitor.stream.memtrace import (
    interval_from_env,
    memory_line,
    register_memtrace,
    site_growth,
    type_counts,
    type_growth,
)


def test_interval_comes_from_the_environment_and_is_off_by_default() -> None:
    assert interval_from_env({}) is None
    assert interval_from_env({"FINPULSE_MEMTRACE": ""}) is None
    assert interval_from_env({"FINPULSE_MEMTRACE": "0"}) is None
    assert interval_from_env({"FINPULSE_MEMTRACE": "60"}) == 60.0


@pytest.mark.parametrize("raw", ["soon", "-5", "nan", "inf"])
def test_a_bad_interval_is_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(ConfigError, match="FINPULSE_MEMTRACE"):
        interval_from_env({"FINPULSE_MEMTRACE": raw})


def test_nothing_is_attached_when_off() -> None:
    assert register_memtrace(object(), environ={}) is False  # no app method is touched


class _Grown:
    pass


def test_the_type_that_grew_is_at_the_top() -> None:
    first = type_counts()
    grown = [_Grown() for _ in range(2000)]
    lines = type_growth(first, type_counts())
    assert len(grown) == 2000
    assert "_Grown" in lines[0] and "+" in lines[0]


def test_the_memory_line_names_resident_memory_and_python_blocks() -> None:
    line = memory_line()
    assert line.startswith("memory: ") and "python blocks" in line


def test_the_site_that_grew_is_at_the_top_of_the_tracemalloc_report() -> None:
    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start(2)
    try:
        first = tracemalloc.take_snapshot()
        grown = [bytearray(4096) for _ in range(500)]  # ~2 MiB from this line
        lines = site_growth(first, tracemalloc.take_snapshot())
    finally:
        if not was:
            tracemalloc.stop()
    assert len(grown) == 500
    assert lines[0].startswith("tracemalloc:") and "MiB traced" in lines[0]
    assert "test_monitor_memtrace.py:" in lines[1]
    assert any(line.lstrip().startswith("chain") for line in lines)
