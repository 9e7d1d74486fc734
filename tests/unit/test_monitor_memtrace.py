"""The worker's opt-in allocation report (FINPULSE_TRACEMALLOC, monitor.stream.memtrace)."""

from __future__ import annotations

import tracemalloc

import pytest

from monitor.stream.memtrace import growth_report, interval_from_env, register_memtrace


def test_interval_comes_from_the_environment_and_is_off_by_default() -> None:
    assert interval_from_env({}) is None
    assert interval_from_env({"FINPULSE_TRACEMALLOC": ""}) is None
    assert interval_from_env({"FINPULSE_TRACEMALLOC": "0"}) is None
    assert interval_from_env({"FINPULSE_TRACEMALLOC": "60"}) == 60.0


def test_a_bad_interval_is_refused_with_the_variable_named() -> None:
    with pytest.raises(ValueError, match="FINPULSE_TRACEMALLOC"):
        interval_from_env({"FINPULSE_TRACEMALLOC": "soon"})


def test_nothing_is_attached_when_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINPULSE_TRACEMALLOC", raising=False)
    assert register_memtrace(object()) is False  # no app method is touched


def test_the_site_that_grew_is_at_the_top_of_the_report() -> None:
    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start(2)
    try:
        first = tracemalloc.take_snapshot()
        grown = [bytearray(4096) for _ in range(500)]  # ~2 MiB from this line
        lines = growth_report(first, tracemalloc.take_snapshot())
    finally:
        if not was:
            tracemalloc.stop()
    assert len(grown) == 500
    assert lines[0].startswith("tracemalloc:") and "MiB traced" in lines[0]
    assert "test_monitor_memtrace.py:" in lines[1]
    assert any(line.lstrip().startswith("chain") for line in lines)
