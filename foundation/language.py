"""The one primary-language rule: ingest tags documents with it, the worker and the backtest
decide with it which documents to score, so a replayed document is skipped exactly as live."""

from __future__ import annotations

import re
from collections.abc import Sequence


def _primary_subtag(tag: str) -> str:
    return re.split(r"[-_\s]", tag.strip(), maxsplit=1)[0].lower()


def language_tag(tag: str | None) -> str | None:
    """Lower-case primary subtag (``en-US`` -> ``en``, ``pt_BR`` -> ``pt``); None if empty or
    not a 2-3 letter language code."""
    if not tag:
        return None
    primary = _primary_subtag(tag)
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def language_supported(tag: str | None, languages: Sequence[str]) -> bool:
    """True when the document's language (its primary subtag) is one of ``languages``.

    A document without a language tag is scored: most English feeds do not declare one.
    """
    if not tag or not tag.strip():
        return True
    return _primary_subtag(tag) in {lang.lower() for lang in languages}


def skip_reason(tag: str | None) -> str:
    """The ``skip_reason`` of a document not scored for its language: ``language:pt``."""
    return f"language:{_primary_subtag(tag or '')}"
