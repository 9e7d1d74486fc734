"""Labelled CSV files (``text,label``) -> (text, label id) rows, with errors that name the line."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from foundation.errors import ModelError


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: int


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_labelled_csv(path: str | Path, labels: Sequence[str]) -> list[Example]:
    """Read a UTF-8 CSV with a header holding ``text`` and ``label`` (label names, not ids).

    Quoted fields may hold line breaks, so this uses a real CSV reader. A missing column, an
    empty text or a label outside ``labels`` raises ModelError naming the file and the line.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"data file not found: {path}")
    index = {name: i for i, name in enumerate(labels)}
    rows: list[Example] = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            missing = [c for c in ("text", "label") if c not in fields]
            if missing:
                raise ModelError(
                    f"{path}: missing column(s) {', '.join(missing)} in the header "
                    f"(found: {', '.join(fields) or 'nothing'}); expected 'text,label'"
                )
            for row in reader:
                # line_num is the physical line where this record ended (quoted fields may
                # span lines); that is where an editor shows the label.
                line = reader.line_num
                label = (row.get("label") or "").strip()
                text = (row.get("text") or "").strip()
                if label not in index:
                    raise ModelError(
                        f"{path}:{line}: unknown label {label!r}; "
                        f"expected one of: {', '.join(labels)}"
                    )
                if not text:
                    raise ModelError(f"{path}:{line}: empty text")
                rows.append(Example(text, index[label]))
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not UTF-8 ({exc})") from None
    except csv.Error as exc:
        raise ModelError(f"{path}: malformed CSV ({exc})") from None
    if not rows:
        raise ModelError(f"{path}: no rows")
    return rows
