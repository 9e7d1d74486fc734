"""The period of an optional worker timer, read from an environment variable (one rule for
every such variable: monitor.stream.heap, monitor.stream.memtrace)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from foundation.errors import ConfigError


def seconds_from_env(environ: Mapping[str, str], name: str, default: float | None) -> float | None:
    """Seconds between runs from ``environ[name]``: ``default`` when unset or empty, None
    (off) for 0. Anything but a finite number of seconds >= 0 is a ConfigError naming the
    variable, so a typo stops the worker at start (an error line, no traceback) instead of
    silently changing nothing."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a number of seconds (0: off), not {raw!r}")
    return value or None
