"""The team's analyst headlines (models/data) are well formed and share no headline with the
news dev set (an evaluation set: training on it would make its figures meaningless)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from models.labels import SENTIMENTS, TOPICS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "models" / "data"
NEWS_DEV = ROOT.parent / "shared" / "data" / "news" / "dev.csv"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_labels_and_no_duplicates():
    for name, labels in (
        ("analyst_headlines.csv", SENTIMENTS),
        ("analyst_headlines_topic.csv", TOPICS),
    ):
        rows = _rows(name)
        assert rows and {r["label"] for r in rows} <= set(labels), name
        texts = [r["text"].lower() for r in rows]
        assert len(texts) == len(set(texts)), name
    written = _rows("analyst_headlines_written.csv")
    assert {r["sentiment"] for r in written} <= set(SENTIMENTS)
    assert {r["topic"] for r in written} <= set(TOPICS)


def test_no_analyst_headline_is_a_news_dev_headline():
    if not NEWS_DEV.is_file():
        pytest.skip(f"news dev set not found at {NEWS_DEV}")
    with open(NEWS_DEV, newline="", encoding="utf-8") as f:
        dev = {_norm(r["text"]) for r in csv.DictReader(f)}
    ours = {_norm(r["text"]) for r in _rows("analyst_headlines.csv")}
    assert not ours & dev
