"""The aggregation topic's batch records and the state shards: round trips, a bad document
costing only itself, records of the older one-document format, and field limits at the
schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from foundation.schemas import Document, SchemaError, ScoredDocument
from monitor.stream.alerts import STATE_SHARDS, load_shards, shard_of
from monitor.stream.batches import LEGACY_PARTITION, batch_value, read_batch


def sd(doc_id: str) -> ScoredDocument:
    return ScoredDocument(
        document=Document(
            id=doc_id, source="Wire", title="t", published=datetime(2022, 11, 1, tzinfo=UTC)
        ),
        topic="markets",
        sentiment="neutral",
        sentiment_probs={"negative": 0.1, "neutral": 0.8, "positive": 0.1},
    )


def test_batch_round_trip_keeps_partition_offsets_and_order():
    docs = [sd(f"d{i}") for i in range(5)]
    value = batch_value(3, [10, 11, 12, 15, 20], [d.to_bytes() for d in docs], 1669852800.25)
    part, offsets, back, bad, arrival, _ = read_batch(value)
    assert (part, offsets, bad, arrival) == (3, [10, 11, 12, 15, 20], 0, 1669852800.25)
    assert [d.id for d in back] == [d.id for d in docs]
    assert back == docs
    # Without the documents' arrival, the aggregation uses its record's own timestamp.
    assert read_batch(batch_value(3, [10], [docs[0].to_bytes()])).arrival is None
    # Unread records of the partition ride along; absent means not known.
    lag = {3: 42, 0: 0, 11: 7}
    assert read_batch(batch_value(3, [10], [docs[0].to_bytes()], 5.0, lag)).unread == lag
    assert read_batch(batch_value(3, [10], [docs[0].to_bytes()], 5.0, {})).unread == {}
    assert read_batch(value).unread is None
    # The slow path (a bad document in the record) keeps it too.
    slow = batch_value(3, [10, 11], [docs[0].to_bytes(), b'{"document": {}}'], 5.0, {3: 7})
    assert read_batch(slow).unread == {3: 7} and read_batch(slow).bad == 1


def test_one_bad_document_costs_only_itself():
    good = [sd("a").to_bytes(), b'{"document": {"id": ""}}', sd("c").to_bytes()]
    part, offsets, back, bad, *_ = read_batch(batch_value(1, [5, 6, 7], good, 5.0))
    assert part == 1 and bad == 1
    assert [d.id for d in back] == ["a", "c"]
    assert offsets == [5, 7]


def test_older_one_document_records_still_read():
    part, offsets, back, bad, *_ = read_batch(sd("x").to_bytes())
    assert part == LEGACY_PARTITION and offsets == [None] and back[0].id == "x" and bad == 0


@pytest.mark.parametrize("value", [b"not json", b"[]", b'{"docs": []}'])
def test_unreadable_records_raise_schema_errors(value):
    with pytest.raises(SchemaError):
        read_batch(value)


def test_shards_spread_scopes_and_old_per_scope_keys_migrate():
    keys = [f"ticker:T{i}" for i in range(500)]
    assert len({shard_of(k) for k in keys}) == STATE_SHARDS
    assert shard_of("topic:markets") == shard_of("topic:markets")
    table = {
        "__meta__": {"max_ts": 1.0},
        shard_of("all:all"): {"all:all": {"w": [1]}},
        "topic:markets": {"w": [2]},  # an older version's per-scope key
    }
    mirror: dict = {}
    items, legacy = load_shards(table, mirror)
    assert items == {"all:all": {"w": [1]}, "topic:markets": {"w": [2]}}
    assert legacy == ["topic:markets"]
    assert mirror[shard_of("topic:markets")]["topic:markets"] == {"w": [2]}


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("id", "x" * 65, 64), ("title", "t" * 2001, 2000), ("link", "h" * 2049, 2048)],
)
def test_document_field_limits_name_the_field(field, value, limit):
    line = {"id": "a", "source": "s", "title": "t", "published": "2022-11-01T00:00:00Z"}
    line[field] = value
    with pytest.raises(SchemaError, match=f"at most {limit}"):
        Document.from_bytes(json.dumps(line))
