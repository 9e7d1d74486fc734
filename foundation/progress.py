"""Progress bars (tqdm) for the long CLI phases: quiet unless stderr is a terminal.

``enabled=None`` (the default of every ``--progress/--no-progress`` option) means "on a
terminal only", so CI logs and redirected output stay clean; True or False forces it.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_enabled(enabled: bool | None = None) -> bool:
    return sys.stderr.isatty() if enabled is None else enabled


def bar(
    total: int | None = None, desc: str = "", unit: str = "it", enabled: bool | None = None
) -> tqdm[Any]:
    """A tqdm bar on stderr (a disabled one, which costs nothing, when not enabled)."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not progress_enabled(enabled),
        dynamic_ncols=True,
        mininterval=0.5,
        leave=True,
    )
