"""Opt-in allocation tracing of a worker's memory: a diagnosis aid, off by default.

``FINPULSE_TRACEMALLOC=SECONDS`` makes the worker start :mod:`tracemalloc` and, every
``SECONDS``, log the traced total and the allocation sites (file:line, with the caller chain
of the largest) that grew most since the first snapshot, taken one interval after start (so
the model, caches and first windows are in the baseline). What grows without bound in a long
run (``python -m bench.soak``) is at the top. Tracing slows the worker (every allocation is
recorded, and a snapshot holds the event loop for a moment), so it is for diagnosis only.
"""

from __future__ import annotations

import logging
import os
import tracemalloc
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

ENV = "FINPULSE_TRACEMALLOC"
FRAMES = 6  # caller frames recorded per allocation (the chain shown for the top sites)
TOP = 12  # sites logged per report


def interval_from_env(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between reports from ``FINPULSE_TRACEMALLOC``; None when unset, 0 or empty."""
    raw = environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV} must be a number of seconds, not {raw!r}") from exc
    return value if value > 0 else None


def growth_report(
    first: tracemalloc.Snapshot, now: tracemalloc.Snapshot, top: int = TOP
) -> list[str]:
    """Lines: the traced total, then the ``top`` sites by growth since ``first``."""
    filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first, now = first.filter_traces(filters), now.filter_traces(filters)
    total = sum(s.size for s in now.statistics("filename"))
    _, peak = tracemalloc.get_traced_memory()
    lines = [f"tracemalloc: {total / 2**20:.1f} MiB traced now, peak {peak / 2**20:.1f} MiB"]
    for st in now.compare_to(first, "lineno")[:top]:
        frame = st.traceback[0]
        lines.append(
            f"  {st.size_diff / 1024:+9.1f} KiB {st.count_diff:+8d} blocks  "
            f"{frame.filename}:{frame.lineno}"
        )
    for st in now.compare_to(first, "traceback")[:3]:
        chain = " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in st.traceback)
        lines.append(f"  chain {st.size_diff / 1024:+.1f} KiB: {chain}")
    return lines


def register_memtrace(app: Any, interval: float | None = None) -> bool:
    """Attach the periodic report to ``app`` when ``FINPULSE_TRACEMALLOC`` (or ``interval``)
    asks for it; returns whether it did."""
    every = interval if interval is not None else interval_from_env()
    if not every:
        return False
    state: dict[str, tracemalloc.Snapshot] = {}

    @app.task
    async def start_tracing() -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
        log.info("tracemalloc on: a growth report every %.0f s (%s)", every, ENV)

    @app.timer(every)
    async def memory_report() -> None:
        snap = tracemalloc.take_snapshot()
        first = state.setdefault("first", snap)
        if first is snap:
            log.info("tracemalloc: baseline snapshot taken")
            return
        log.info("\n".join(growth_report(first, snap)))

    return True
