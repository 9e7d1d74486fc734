"""The aggregation topic's records: a batch of scored documents from one input partition.

``{"p": <documents partition>, "docs": [<ScoredDocument JSON>, ...]}``, built from the bytes
already written for the scored topic (no second serialisation) and read back in one parse.
One record per (classify batch, input partition) instead of one per document: the
aggregation consumes a few dozen times fewer records, and the partition tag gives it the
per-partition event time it needs (monitor.core.watermarks). Records from before this format
(one ScoredDocument each) still read, as partition ``-1``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from pydantic import BaseModel, ValidationError

from foundation.schemas import SchemaError, ScoredDocument

log = logging.getLogger(__name__)

LEGACY_PARTITION = -1


class _Batch(BaseModel):
    p: int
    docs: list[ScoredDocument]


def batch_value(partition: int, docs: Sequence[bytes]) -> bytes:
    """The record for ``docs`` (ScoredDocument JSON bytes) read from ``partition``."""
    return b'{"p":%d,"docs":[%s]}' % (partition, b",".join(docs))


def read_batch(value: bytes) -> tuple[int, list[ScoredDocument], int]:
    """(partition, documents, how many were unreadable) of one aggregation record.

    A document that does not validate costs only itself: the others of its batch are kept.
    Raises SchemaError when the record as a whole is unreadable."""
    try:
        b = _Batch.model_validate_json(value)
        return b.p, b.docs, 0
    except ValidationError:
        pass
    try:
        obj = json.loads(value)
    except ValueError as exc:
        raise SchemaError(f"aggregation record is not JSON: {exc}") from None
    if isinstance(obj, dict) and "document" in obj:  # one ScoredDocument: the old format
        try:
            return LEGACY_PARTITION, [ScoredDocument.model_validate(obj)], 0
        except ValidationError as exc:
            raise SchemaError(f"invalid ScoredDocument: {exc.errors()[0]}") from None
    if not (isinstance(obj, dict) and isinstance(obj.get("p"), int)):
        raise SchemaError("aggregation record has no partition")
    docs, bad = [], 0
    for d in obj.get("docs") or []:
        try:
            docs.append(ScoredDocument.model_validate(d))
        except ValidationError as exc:
            bad += 1
            log.error("dropping an unreadable scored document in a batch: %s", exc.errors()[0])
    return int(obj["p"]), docs, bad
