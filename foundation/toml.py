"""The one TOML file reader for finpulse's own files (source lists, users file)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from foundation.errors import ConfigError


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; ConfigError names ``what`` and the problem."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # TOMLDecodeError, or bytes that are not UTF-8
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"cannot read {what} {path}: nested too deeply") from None
