"""Text that can always be encoded: lone surrogates out.

JSON lets a string hold a lone UTF-16 surrogate (``"\\ud800"``); Python keeps it, and the
first UTF-8 encode (archive, broker, terminal) then fails. Every text that comes in from
outside goes through :func:`scrub` once, where it enters: the normaliser, the archive reader,
``classify``'s stdin.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def scrub(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT, text)


def scrub_all(value: Any) -> Any:
    """Every string inside a JSON value (dicts, lists, keys included) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_all(v) for v in value]
    if isinstance(value, dict):
        return {scrub_all(k): scrub_all(v) for k, v in value.items()}
    return value
