"""The period of an optional worker timer, read from an environment variable (one rule for
every such variable: monitor.stream.heap, monitor.stream.memtrace)."""

from __future__ import annotations

import math
from collections.abc import Mapping


def seconds_from_env(environ: Mapping[str, str], name: str, default: float | None) -> float | None:
    """Seconds between runs from ``environ[name]``: ``default`` when unset or empty, None
    (off) for 0. Anything but a finite number of seconds >= 0 is a ValueError naming the
    variable, so a typo stops the worker at start instead of silently changing nothing."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds (0: off), not {raw!r}")
    return value or None
