"""The baseline band drawn behind a time series: an EWMA of the negative share and its spread.

Pure. The band at point ``i`` uses only points before ``i`` (what the detector could have
known), so a surge shows as the line leaving the band. Windows with no documents neither move
the baseline nor get a band. monitor/core/detection.py holds the detector's own statistics; this is
the dashboard's drawing of the same idea (EWMA mean and variance with the detector's
half-life convention, ``monitor.core.detection.alpha_for``, plus the binomial noise of a window
with ``n`` documents).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.core.detection import alpha_for


@dataclass(frozen=True, slots=True)
class BandPoint:
    mean: float
    lower: float
    upper: float


def ewma_band(
    shares: Sequence[float],
    counts: Sequence[int],
    *,
    halflife: float,
    z: float,
    warmup: int = 3,
) -> list[BandPoint | None]:
    """Per point: the baseline mean and ``mean ± z·sd`` from the points before it.

    ``halflife`` is in points (> 0); the first ``warmup`` non-empty points have no band.
    """
    if len(shares) != len(counts):
        raise ValueError("shares and counts must have the same length")
    if halflife <= 0:
        raise ValueError("halflife must be > 0")
    alpha = alpha_for(halflife)
    mean: float | None = None
    var = 0.0
    seen = 0
    out: list[BandPoint | None] = []
    for share, n in zip(shares, counts, strict=True):
        if n <= 0:
            out.append(None)
            continue
        if mean is not None and seen >= warmup:
            p = min(max(mean, 0.0), 1.0)
            sd = math.sqrt(var + p * (1.0 - p) / n)
            out.append(BandPoint(mean, max(0.0, mean - z * sd), min(1.0, mean + z * sd)))
        else:
            out.append(None)
        if mean is None:
            mean = share
        else:
            diff = share - mean
            incr = alpha * diff
            mean += incr
            var = (1.0 - alpha) * (var + diff * incr)
        seen += 1
    return out
