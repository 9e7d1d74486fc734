"""The one retry back-off rule (feed polling and alert delivery both use it)."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    failures: int, *, base: float, cap: float, rng: Callable[[], float] = random.random
) -> float:
    """Delay before the next try after ``failures`` consecutive failures (>= 1).

    Exponential (``base * 2**(failures-1)``), capped at ``cap``, with "equal jitter": half
    of it fixed, half uniformly random (``rng()`` in [0, 1]), so many failing clients do not
    retry in lockstep and the delay never collapses to zero.
    """
    if failures < 1:
        return 0.0
    raw = min(cap, base * 2.0 ** min(failures - 1, 60))
    return raw / 2 + rng() * raw / 2
