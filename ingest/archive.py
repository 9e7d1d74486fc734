"""The archive format: JSON Lines (optionally .gz), one Document per line (DESIGN.md).

Reading never stops on a bad line: it is reported with its file and line number and skipped.
Writing appends to one file per UTC day, ``YYYY-MM-DD.jsonl.gz``.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from foundation.errors import SourceError
from foundation.schemas import Document, isoformat
from foundation.text import scrub_all

log = logging.getLogger(__name__)


@dataclass
class ReadReport:
    """What reading an archive found: counts and the bad lines (file, line number, reason)."""

    read: int = 0
    bad: list[tuple[str, int, str]] = field(default_factory=list)

    def add_bad(self, path: str, lineno: int, reason: str) -> None:
        self.bad.append((path, lineno, reason))
        log.warning("skipping %s line %d: %s", path, lineno, reason)


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def archive_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into the archive files they hold (sorted, .jsonl/.jsonl.gz)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted([*p.glob("*.jsonl"), *p.glob("*.jsonl.gz")])
            if not found:
                raise SourceError(f"no .jsonl or .jsonl.gz files in folder {p}")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise SourceError(f"archive not found: {p}")
    return out


def parse_line(line: str) -> Document:
    """One archive line to a Document; raises ValueError with a short reason."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not JSON (nested too deeply)") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if "\\u" in line:  # only an escape can smuggle in a lone surrogate
        obj = scrub_all(obj)
    if isinstance(obj.get("tickers"), list):
        obj["tickers"] = tuple(obj["tickers"])
    try:
        return Document.model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "record"
        raise ValueError(f"{where}: {err['msg']}") from None


def read_archive(
    path: str | Path,
    report: ReadReport | None = None,
    on_bad: Callable[[str, int, str], None] | None = None,
) -> Iterator[Document]:
    """Yield the documents of one archive file in file order, skipping bad lines: not JSON,
    not a valid Document (field limits included), or an implausible ``published`` time
    (:mod:`foundation.eventtime`, judged against now), each with its reason."""
    from foundation.eventtime import describe, implausible

    now = datetime.now(UTC)
    p = Path(path)
    report = report if report is not None else ReadReport()
    try:
        fh = _open_text(p)
    except OSError as exc:
        raise SourceError(f"cannot open archive {p}: {exc}") from None
    with fh:
        lineno = 0
        try:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    doc = parse_line(line)
                    why = implausible(doc.published, now)
                    if why is not None:
                        raise ValueError(describe(why, doc.published))
                except ValueError as exc:
                    report.add_bad(str(p), lineno, str(exc))
                    if on_bad:
                        on_bad(str(p), lineno, str(exc))
                    continue
                report.read += 1
                yield doc
        except (EOFError, gzip.BadGzipFile, OSError) as exc:
            # A truncated .gz: keep what was read, report where it broke.
            report.add_bad(str(p), lineno + 1, f"file truncated or corrupt: {exc}")


def document_line(doc: Document) -> str:
    """The archive line for a document (field order as DESIGN.md lists it)."""
    obj = doc.model_dump(mode="json", exclude={"schema_version"}, exclude_defaults=False)
    obj["published"] = isoformat(doc.published)
    obj["tickers"] = list(doc.tickers)
    obj["flags"] = list(doc.flags)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class ArchiveWriter:
    """Appends documents to daily ``YYYY-MM-DD.jsonl.gz`` files under ``root``.

    Each append is its own gzip member, so a crash loses at most the open batch and the
    files stay readable (gzip readers concatenate members).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, doc: Document) -> Path:
        return self.root / f"{doc.published.date().isoformat()}.jsonl.gz"

    def append(self, docs: Iterable[Document]) -> int:
        by_day: dict[Path, list[str]] = {}
        for d in docs:
            by_day.setdefault(self.path_for(d), []).append(document_line(d))
        for path, lines in by_day.items():
            with gzip.open(path, "ab") as fh:
                fh.write(("\n".join(lines) + "\n").encode())
        return sum(len(v) for v in by_day.values())
