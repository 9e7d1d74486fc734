"""The aggregation topic's records: a batch of scored documents from one input partition.

``{"p": <documents partition>, "o": [<documents offset>, ...], "t": <arrival>, "l": {<documents
partition>: <unread>, ...}, "docs": [<ScoredDocument JSON>, ...]}``, built from the bytes
already written for the scored topic (no second serialisation) and read back in one parse.
One record per (classify batch, input partition) instead of one per document: the
aggregation consumes a few dozen times fewer records, and the partition tag gives it the
per-partition event time it needs (monitor.core.watermarks); the input offsets let it skip
documents it applied before a restart (redelivered at-least-once, classified again). ``t`` is
the latest Kafka timestamp of those documents records (when ingest or replay published them):
the aggregation judges a partition idle by it. The aggregation record's own timestamp is when
the worker classified the batch, so after a restart, classifying again what the killed
worker had sent, it made the partitions look tens of seconds apart, and one of them idle.
Records without ``t`` fall back to their own timestamp. ``l`` says, for every documents
partition the classifying worker owns, how many of its records it had not classified yet
(monitor.stream.lag.unread_report): a partition with unread records is never judged idle, so
a backlog read unevenly does not make one partition's documents late, and a partition not
read at all yet is known to be behind. Absent: not known. Records from before this format (one
ScoredDocument each) still read, as partition ``-1`` without offsets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import NamedTuple

from pydantic import BaseModel, ValidationError

from foundation.schemas import SchemaError, ScoredDocument

log = logging.getLogger(__name__)

LEGACY_PARTITION = -1


class _Batch(BaseModel):
    p: int
    o: list[int] | None = None
    t: float | None = None
    l: dict[int, int] | None = None  # noqa: E741 (the wire name)
    docs: list[ScoredDocument]


def batch_value(
    partition: int,
    offsets: Sequence[int],
    docs: Sequence[bytes],
    arrival: float | None = None,
    unread: dict[int, int] | None = None,
) -> bytes:
    """The record for ``docs`` (ScoredDocument JSON bytes) read from ``partition`` at
    ``offsets``; ``arrival``: the latest of their records' Kafka timestamps (seconds);
    ``unread``: per documents partition of the worker, records not classified yet."""
    stamp = b',"t":%r' % arrival if arrival is not None else b""
    if unread is not None:
        stamp += b',"l":{%s}' % b",".join(b'"%d":%d' % kv for kv in unread.items())
    return b'{"p":%d,"o":[%s]%s,"docs":[%s]}' % (
        partition,
        b",".join(b"%d" % o for o in offsets),
        stamp,
        b",".join(docs),
    )


class Batch(NamedTuple):
    partition: int
    offsets: list[int | None]
    docs: list[ScoredDocument]
    bad: int  # documents of the record that did not validate
    arrival: float | None  # None: use the record's own timestamp
    unread: dict[int, int] | None = None  # per documents partition; None: not known


def read_batch(value: bytes) -> Batch:
    """The partition, the input offset of each document (or None), the documents, how many
    were unreadable and the arrival time of one aggregation record.

    A document that does not validate costs only itself: the others of its batch are kept.
    Raises SchemaError when the record as a whole is unreadable."""
    try:
        b = _Batch.model_validate_json(value)
        if b.o is not None and len(b.o) == len(b.docs):
            return Batch(b.p, list(b.o), b.docs, 0, b.t, b.l)
        return Batch(b.p, [None] * len(b.docs), b.docs, 0, b.t, b.l)
    except ValidationError:
        pass
    try:
        obj = json.loads(value)
    except ValueError as exc:
        raise SchemaError(f"aggregation record is not JSON: {exc}") from None
    if isinstance(obj, dict) and "document" in obj:  # one ScoredDocument: the old format
        try:
            return Batch(LEGACY_PARTITION, [None], [ScoredDocument.model_validate(obj)], 0, None)
        except ValidationError as exc:
            raise SchemaError(f"invalid ScoredDocument: {exc.errors()[0]}") from None
    if not (isinstance(obj, dict) and isinstance(obj.get("p"), int)):
        raise SchemaError("aggregation record has no partition")
    raw = obj.get("docs") or []
    offs = obj.get("o")
    if not (isinstance(offs, list) and len(offs) == len(raw)):
        offs = [None] * len(raw)
    docs: list[ScoredDocument] = []
    kept: list[int | None] = []
    bad = 0
    for d, o in zip(raw, offs, strict=True):
        try:
            docs.append(ScoredDocument.model_validate(d))
            kept.append(o if isinstance(o, int) else None)
        except ValidationError as exc:
            bad += 1
            log.error("dropping an unreadable scored document in a batch: %s", exc.errors()[0])
    t = obj.get("t")
    arrival = float(t) if isinstance(t, int | float) and not isinstance(t, bool) else None
    unread = None
    n = obj.get("l")
    if isinstance(n, dict):
        try:
            unread = {int(k): int(v) for k, v in n.items()}
        except (TypeError, ValueError):
            unread = None
    return Batch(int(obj["p"]), kept, docs, bad, arrival, unread)
