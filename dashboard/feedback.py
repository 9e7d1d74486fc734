"""Analysts' corrections: saving one, and exporting them as training data.

The export is the CSV ``text,label`` that ``finpulse train --extra`` reads; when a document
was corrected more than once, the latest correction wins.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from foundation.errors import StoreError
from foundation.store import Store
from models.labels import TASKS


@dataclass(frozen=True, slots=True)
class SaveResult:
    saved: list[str]  # fields written
    unchanged: list[str]  # fields where the new label equals the current one


def save_correction(
    store: Store,
    doc_id: str,
    *,
    current: dict[str, str | None],
    new: dict[str, str | None],
    user: str,
) -> SaveResult:
    """Store one correction per field whose label changed; validate labels first."""
    saved: list[str] = []
    unchanged: list[str] = []
    for fld in ("sentiment", "topic"):
        value = new.get(fld)
        if not value:
            continue
        if value not in TASKS[fld]:
            raise StoreError(f"{value!r} is not a {fld} label")
        if value == current.get(fld):
            unchanged.append(fld)
            continue
        store.add_correction(doc_id, fld, value, user)
        saved.append(fld)
    return SaveResult(saved, unchanged)


def iter_corrections(store: Store, task: str) -> Iterator[tuple[str, str]]:
    """(text, label) per corrected document for ``task``, the latest correction winning."""
    if task not in TASKS:
        raise StoreError(f"unknown task {task!r}: sentiment or topic")
    latest: dict[str, tuple[str, str]] = {}
    for doc_id, label, title, summary in store.corrections_with_text(task):
        text = (title or summary or "").strip()
        if text:
            latest[doc_id] = (text, label)
    yield from latest.values()


def write_csv(rows: Iterator[tuple[str, str]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    n = 0
    for text, label in rows:
        writer.writerow([text, label])
        n += 1
    return n


def export_corrections(store: Store, task: str, path: Path) -> int:
    """Write the CSV to ``path`` (atomically) and return the number of rows."""
    rows = list(iter_corrections(store, task))
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        n = write_csv(iter(rows), fh)
    tmp.replace(path)
    return n
