"""Dedup: exact ids, syndicated title variants merge, different stories do not, bounded."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from foundation.schemas import Document
from ingest.dedup import Deduplicator, jaccard, shingles, title_tokens

T0 = datetime(2022, 11, 8, 12, tzinfo=UTC)
_n = 0


def doc(title: str, *, link: str | None = None, at: datetime = T0) -> Document:
    global _n
    _n += 1
    link = link or f"https://example.com/{_n}"
    return Document(
        id=hashlib.sha1(link.encode()).hexdigest(),
        source="s",
        title=title,
        link=link,
        published=at,
    )


def test_exact_id_is_duplicate():
    d = Deduplicator(1000)
    a = doc("Binance agrees to buy FTX", link="https://x/1")
    assert d.check(a).reason == "new"
    v = d.check(a.model_copy(update={"title": "different title now"}))
    assert v.duplicate and v.reason == "id" and v.of == a.id


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "Canada's labor market dips sharply in February, unemployment rate up - Reuters",
            "Canada's Labor Market Dips Sharply in February; Unemployment Rate Up | CNBC",
        ),
        (
            "FTX files for bankruptcy, CEO Bankman-Fried resigns",
            "FTX FILES FOR BANKRUPTCY — CEO BANKMAN-FRIED RESIGNS",
        ),
        ("UPDATE 2-Binance agrees to buy FTX", "Binance agrees to buy FTX (Reuters)"),
        (
            "Binance agrees to buy rival FTX amid liquidity crunch",
            "Binance agrees to buy rival FTX amid a severe liquidity crunch - Reuters",
        ),
        (
            "BlockFi files for bankruptcy as FTX contagion spreads to crypto lenders",
            "BlockFi files for bankruptcy as FTX contagion spreads to other crypto lenders",
        ),
    ],
)
def test_syndicated_variants_merge(first, second):
    d = Deduplicator(1000)
    a = doc(first)
    assert d.check(a).reason == "new"
    v = d.check(doc(second, at=T0 + timedelta(hours=3)))
    assert v.duplicate and v.of == a.id, v


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Apple shares rise 5% after earnings beat", "Apple shares fall 5% after earnings beat"),
        (
            "Dow falls 300 points as Fed signals more hikes",
            "Dow falls 500 points as Fed signals more hikes",
        ),
        ("Fed raises rates by 75 basis points", "ECB raises rates by 75 basis points"),
        (
            "Goldman upgrades Tesla to buy on strong deliveries",
            "Goldman downgrades Tesla to sell on weak deliveries",
        ),
        ("Coinbase shares tumble after FTX collapse", "Robinhood shares tumble after FTX collapse"),
        ("Stocks rise", "Stocks fall"),
        # " - Multiplayer Tips" is part of the headline, not a publisher: not stripped.
        (
            "Call Of Duty: Modern Warfare 2 - Multiplayer Tips",
            "Call of Duty: Modern Warfare 2 Multiplayer Review",
        ),
    ],
)
def test_near_but_different_titles_do_not_merge(first, second):
    d = Deduplicator(1000)
    d.check(doc(first))
    assert d.check(doc(second)).reason == "new"


def test_same_headline_days_apart_is_a_new_story():
    d = Deduplicator(1000)
    d.check(doc("Stock market today: Dow, S&P 500, Nasdaq"))
    later = doc("Stock market today: Dow, S&P 500, Nasdaq", at=T0 + timedelta(days=3))
    assert d.check(later).reason == "new"
    same_day = doc("Stock market today: Dow, S&P 500, Nasdaq", at=T0 + timedelta(days=3, hours=1))
    assert d.check(same_day).reason == "title"


def test_memory_is_bounded_and_oldest_forgotten():
    d = Deduplicator(1000)
    first = doc("The very first headline about oil prices and OPEC output", link="https://x/first")
    d.check(first)
    for i in range(3000):
        d.check(doc(f"Filler story number {i} about markets {i * 7} today"))
    assert len(d) == 1000
    assert len(d._ids) <= 1000 and len(d._titles) <= 1000 and len(d._bands) <= 6 * 1000
    assert d.check(first).reason == "new"  # forgotten, so treated as new again


def test_similarity_helpers():
    a = title_tokens("UPDATE 1-Oil jumps 3% as OPEC+ cuts output - Reuters")
    assert a == ["oil", "jumps", "3", "as", "opec", "cuts", "output"]
    assert jaccard(shingles(a), shingles(a)) == 1.0
    with pytest.raises(ValueError):
        Deduplicator(0)


def test_own_source_suffix_is_stripped_but_not_by_substring():
    assert title_tokens("Cyber Monday Sonos deals - CNET", "CNET") == [
        "cyber",
        "monday",
        "sonos",
        "deals",
    ]
    assert title_tokens("Big story here now | The Guardian", "The Guardian - International") == [
        "big",
        "story",
        "here",
        "now",
    ]
    # A one-letter source name is not a prefix of every suffix.
    assert title_tokens("Modern Warfare 2 - Multiplayer Tips", "s")[-2:] == ["multiplayer", "tips"]
