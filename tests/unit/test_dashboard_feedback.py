import csv
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from cli.main import main
from dashboard.feedback import export_corrections, save_correction
from foundation.errors import StoreError
from foundation.schemas import Document, ScoredDocument
from foundation.store import Store, corrections


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    docs = [
        ScoredDocument(
            document=Document(
                id=f"d{i}",
                source="s",
                title=f'Bank "{i}", shares fall',
                published=datetime(2026, 3, 10, tzinfo=UTC),
            ),
            topic="financials",
            sentiment="neutral",
        )
        for i in range(3)
    ]
    s.upsert_scored(docs)
    yield s
    s.dispose()


def rows(store):
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(corrections.select())]


def test_only_changed_fields_are_saved_with_who_and_old_value(store):
    res = save_correction(
        store,
        "d0",
        current={"sentiment": "neutral", "topic": "financials"},
        new={"sentiment": "negative", "topic": "financials"},
        user="alice",
    )
    assert res.saved == ["sentiment"] and res.unchanged == ["topic"]
    (row,) = rows(store)
    assert (row["document_id"], row["field"], row["old"], row["new"], row["user"]) == (
        "d0",
        "sentiment",
        "neutral",
        "negative",
        "alice",
    )
    assert row["at"] is not None


def test_invalid_labels_and_unknown_documents_are_refused(store):
    with pytest.raises(StoreError, match="not a sentiment label"):
        save_correction(store, "d0", current={}, new={"sentiment": "angry"}, user="a")
    with pytest.raises(StoreError, match="no document"):
        save_correction(store, "zz", current={}, new={"topic": "macro"}, user="a")
    assert rows(store) == []


def test_export_writes_text_label_csv_latest_wins(store, tmp_path):
    store.add_correction("d0", "sentiment", "positive", "a")
    store.add_correction("d0", "sentiment", "negative", "b")
    store.add_correction("d1", "sentiment", "positive", "a")
    store.add_correction("d2", "topic", "macro", "a")
    out = tmp_path / "out" / "c.csv"
    assert export_corrections(store, "sentiment", out) == 2
    with out.open(newline="") as fh:
        got = list(csv.reader(fh))
    assert got == [
        ["text", "label"],
        ['Bank "0", shares fall', "negative"],
        ['Bank "1", shares fall', "positive"],
    ]
    assert export_corrections(store, "topic", out) == 1


def test_cli_export(store, tmp_path, monkeypatch):
    store.add_correction("d2", "topic", "macro", "a")
    monkeypatch.setenv("FINPULSE_STORE__URL", store.url)
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(main, ["corrections", "export", "--out", str(out), "--task", "topic"])
    assert res.exit_code == 0, res.output
    assert out.read_text().splitlines() == ["text,label", '"Bank ""2"", shares fall",macro']
