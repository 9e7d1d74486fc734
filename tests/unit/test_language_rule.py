"""Replay equals live: the stream worker and the backtest skip exactly the same documents for
their language, with the same reason (one rule, foundation.language)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from foundation.schemas import Document
from models.baseline import LexiconBaseline
from models.engine import InferenceEngine
from monitor.backtest.run import classify
from monitor.stream.app import classify_batch

TAGS = ["pt_BR", "en-GB", "EN", None, "en_us", "pt-BR", "PT", "", "de"]


def docs() -> list[Document]:
    return [
        Document(
            id=f"d{i}",
            source="s",
            title="Bank shares plunge after the results",
            published=datetime(2024, 3, 10, tzinfo=UTC),
            language=tag,
        )
        for i, tag in enumerate(TAGS)
    ]


def worker_verdicts(languages: list[str]) -> list[tuple[bool, str | None]]:
    async def run() -> list[tuple[bool, str | None]]:
        async with InferenceEngine(LexiconBaseline()) as engine:
            out = await classify_batch(docs(), engine, "lexicon-baseline", languages)
        return [(s.scored, s.skip_reason) for s in out]

    return asyncio.run(run())


def backtest_verdicts(languages: list[str]) -> list[tuple[bool, str | None]]:
    out = classify(docs(), LexiconBaseline(), languages)
    return [(s.scored, s.skip_reason) for s in out]


@pytest.mark.parametrize("languages", [["en"], ["pt"], ["EN", "pt"]])
def test_worker_and_backtest_skip_the_same_documents(languages: list[str]) -> None:
    assert worker_verdicts(languages) == backtest_verdicts(languages)


def test_the_rule_reads_the_primary_subtag_and_scores_untagged_documents() -> None:
    verdicts = dict(zip(TAGS, backtest_verdicts(["en"]), strict=True))
    assert verdicts["pt_BR"] == (False, "language:pt")
    assert verdicts["pt-BR"] == (False, "language:pt")
    assert verdicts["PT"] == (False, "language:pt")
    assert verdicts["de"] == (False, "language:de")
    for tag in ("en-GB", "EN", "en_us", None, ""):
        assert verdicts[tag] == (True, None), tag
