"""Opt-in memory report of a worker: a diagnosis aid for long runs, off by default.

``FINPULSE_MEMTRACE=SECONDS`` makes the worker log, every ``SECONDS``:

- its resident memory, the C allocator's bytes in use and held free (glibc ``mallinfo2``:
  memory Python freed that the allocator keeps for reuse shows here, not as growth in use),
  and Python's allocated blocks;
- the object types whose live count grew most since the first report (taken one interval
  after start, so the model, caches and first windows are in the baseline).

That costs a garbage-collector walk per report (well under a second), so it can run at full
load (``python -m bench.soak --memtrace 60``). ``FINPULSE_TRACEMALLOC=1`` adds the allocation
sites (file:line, and the caller chain of the largest) that grew most, from
:mod:`tracemalloc`; tracing every allocation slows the worker several times, so that is for a
slow run only.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys
import tracemalloc
from collections import Counter
from collections.abc import Mapping
from typing import Any

from monitor.stream.envtimer import seconds_from_env
from monitor.stream.heap import libc

log = logging.getLogger(__name__)

ENV = "FINPULSE_MEMTRACE"
SITES_ENV = "FINPULSE_TRACEMALLOC"
FRAMES = 6  # caller frames recorded per allocation (the chain shown for the top sites)
TOP = 12  # types / sites logged per report


def interval_from_env(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between reports from ``FINPULSE_MEMTRACE``; None when unset, empty or 0."""
    return seconds_from_env(environ, ENV, None)


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def allocator() -> dict[str, float] | None:
    """glibc's heap: MiB in use (``uordblks`` + mmapped) and held free (``fordblks``); None
    where there is no ``mallinfo2`` (not glibc, or glibc < 2.33)."""
    lib = libc()
    fn = getattr(lib, "mallinfo2", None) if lib is not None else None
    if fn is None:
        return None
    fn.restype = _MallInfo2
    mi = fn()
    return {
        "in_use_mib": (mi.uordblks + mi.hblkhd) / 2**20,
        "free_held_mib": mi.fordblks / 2**20,
    }


def rss_mib() -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def type_counts() -> Counter[str]:
    """Live objects tracked by the garbage collector, by type name."""
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def memory_line() -> str:
    parts = []
    rss = rss_mib()
    if rss is not None:
        parts.append(f"rss {rss:.1f} MiB")
    heap = allocator()
    if heap is not None:
        parts.append(
            f"malloc in use {heap['in_use_mib']:.1f} MiB, free held {heap['free_held_mib']:.1f} MiB"
        )
    parts.append(f"python blocks {sys.getallocatedblocks()}")
    return "memory: " + ", ".join(parts)


def type_growth(first: Counter[str], now: Counter[str], top: int = TOP) -> list[str]:
    """Lines: the ``top`` types by growth of their live count since ``first``."""
    diff = [(now[t] - first.get(t, 0), t) for t in now]
    diff.sort(key=lambda d: (-d[0], d[1]))
    return [f"  {n:+9d} {t} (now {now[t]})" for n, t in diff[:top] if n > 0]


def site_growth(
    first: tracemalloc.Snapshot, now: tracemalloc.Snapshot, top: int = TOP
) -> list[str]:
    """Lines: the traced total, then the ``top`` allocation sites by growth since ``first``."""
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


def register_memtrace(app: Any, environ: Mapping[str, str] = os.environ) -> bool:
    """Attach the periodic report to ``app`` when ``FINPULSE_MEMTRACE`` asks for it; returns
    whether it did."""
    every = interval_from_env(environ)
    if not every:
        return False
    sites = environ.get(SITES_ENV, "").strip() not in ("", "0")
    state: dict[str, Any] = {}

    @app.task
    async def start_memtrace() -> None:
        if sites and not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
        log.info("memory report every %.0f s (%s)%s", every, ENV, ", with tracemalloc" * sites)

    @app.timer(every)
    async def memory_report() -> None:
        counts = type_counts()
        snap = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
        if "types" not in state:
            state["types"], state["snap"] = counts, snap
            log.info("%s (baseline)", memory_line())
            return
        lines = [memory_line(), "object types grown since the baseline:"]
        lines += type_growth(state["types"], counts)
        if snap is not None and state["snap"] is not None:
            lines += site_growth(state["snap"], snap)
        log.info("\n".join(lines))

    return True
