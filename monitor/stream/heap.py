"""Hand the heap Python freed back to the operating system, once a minute.

glibc keeps freed memory for reuse. After a burst (a backlog read at full speed, many windows
open at once) the worker's live heap shrinks again, but its resident memory stays at the
burst's high-water mark: the soak saw 37-46 MiB in use and RSS 146 -> 217 MiB. ``malloc_trim``
returns the free pages (at the top of the heap and, since glibc 2.8, inside it). It does not
touch live objects: the fourth soak's slow RSS growth was live state (dormant scopes'
pending windows, bounded since: docs/reliability.md), not this. A call walks the heap's
free lists, so once a minute is cheap (not timed here).

``FINPULSE_MALLOC_TRIM=SECONDS`` sets the interval; 0 turns it off. Where the C library has
no ``malloc_trim`` (not glibc) nothing is registered.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from monitor.stream.envtimer import seconds_from_env

log = logging.getLogger(__name__)

ENV = "FINPULSE_MALLOC_TRIM"
DEFAULT_EVERY_S = 60.0


@cache
def libc() -> ctypes.CDLL | None:
    """The process's C library, or None where it cannot be loaded."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def trim() -> bool:
    """Return free heap pages to the OS; whether any were (False where unsupported)."""
    lib = libc()
    fn = getattr(lib, "malloc_trim", None) if lib is not None else None
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return bool(fn(0))


def interval_from_env(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between trims: ``FINPULSE_MALLOC_TRIM``, else the default; None when 0."""
    return seconds_from_env(environ, ENV, DEFAULT_EVERY_S)


def register_trim(app: Any, environ: Mapping[str, str] = os.environ) -> bool:
    """Attach the periodic trim to ``app``; returns whether it did."""
    every = interval_from_env(environ)
    lib = libc()
    if not every or lib is None or not hasattr(lib, "malloc_trim"):
        return False

    @app.timer(every)
    async def malloc_trim() -> None:
        trim()

    log.debug("malloc_trim every %.0f s (%s)", every, ENV)
    return True
