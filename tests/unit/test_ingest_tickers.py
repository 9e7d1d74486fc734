"""Ticker extraction: cashtags, exchange prefixes, names; false positives avoided."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest

from foundation.schemas import Document
from ingest.tickers import (
    SECTORS,
    TickerIndex,
    data_path,
    default_index,
    default_sector_lookup,
    extract_tickers,
    tag_document,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$AAPL and $msft rally", ["AAPL", "MSFT"]),
        ("Buffett adds to $BRK.B stake", ["BRK.B"]),
        ("$BTC.X and $ETH.X slide", ["BTC.X", "ETH.X"]),
        ("$BTC dumps", ["BTC.X"]),  # a crypto-only symbol gets the crypto form
        ("Shares (NASDAQ:AAPL) and (NYSE: JPM) rose", ["AAPL", "JPM"]),
        ("LON:BARC and ETR:SIE and WSE:PKO", ["BARC.L", "PKO.WA", "SIE.DE"]),
        ("Coinbase shares slump as FTX and Binance spiral; BlockFi pauses", ["COIN"]),
        ("J.P. Morgan and Bank of America lead bank stocks", ["BAC", "JPM"]),
        ("Johnson & Johnson beats", ["JNJ"]),
        ("McDonald's and Coca-Cola report", ["KO", "MCD"]),
        ("Apple shares fall after earnings", ["AAPL"]),
        ("Bitcoin slides below $17,000", ["BTC.X"]),
    ],
)
def test_finds_tickers(text, expected):
    assert extract_tickers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5, or $1.2bn, or $100M, or US$20, or C$3.50",
        "Apple pie recipe for the holidays",  # ambiguous name without a market cue
        "It is ALL ON NOW: A IT guide",  # tickers that are English words, not cashtags
        "AAPL without a dollar sign is not taken",
        "I spent $USD 5 on $EUR notes",
        "Ford v Ferrari is a film about Ford",
    ],
)
def test_avoids_false_positives(text):
    found = extract_tickers(text)
    assert not (set(found) - {"RACE"}), found  # Ferrari (RACE) is a real company mention


def test_shipped_list_is_well_formed():
    with open(data_path(), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 300
    assert set(rows[0]) == {
        "ticker",
        "name",
        "aliases",
        "type",
        "country",
        "ambiguous",
        "sector",
    }
    tickers = [r["ticker"] for r in rows if r["ticker"]]
    assert len(tickers) == len(set(tickers))
    names = {r["name"]: r["ticker"] for r in rows}
    assert names["Binance"] == "" and names["BlockFi"] == "" and names["Coinbase"] == "COIN"
    # Every row has a sector from the documented set; crypto assets are all "crypto".
    assert all(r["sector"] in SECTORS for r in rows), [
        r for r in rows if r["sector"] not in SECTORS
    ]
    assert all(r["sector"] == "crypto" for r in rows if r["type"] == "crypto")
    entity_names = [r["name"] for r in rows if not r["ticker"]]
    assert len(entity_names) == len(set(entity_names))


@pytest.mark.parametrize(
    ("text", "entities", "tickers"),
    [
        (
            "Coinbase shares slump as FTX and Binance spiral; BlockFi pauses",
            ["BlockFi", "Binance", "FTX"],
            ["COIN"],
        ),
        ("FTX's collapse: Sam Bankman-Fried resigns", ["FTX"], []),
        ("Binance to acquire FTX.com", ["Binance", "FTX"], []),
        # The token's own name is the token, not the exchange.
        ("FTX Token (FTT) plunges 80%", [], ["FTT.X"]),
        ("Binance Coin holds up", [], ["BNB.X"]),
        # Ambiguous crypto names need a crypto cue, not just a market one.
        ("Kraken halts withdrawals for US customers", ["Kraken"], []),
        ("Genesis pauses withdrawals at its crypto lending unit", ["Genesis Global"], []),
        ("Celsius Network files for bankruptcy", ["Celsius Network"], []),
        ("OpenAI launches ChatGPT", ["OpenAI"], []),
        # Names inside hyphenated compounds; hyphenated names still match whole.
        ("FTX-linked hedge fund winds down", ["FTX"], []),
        ("Sam Bankman-Fried resigns", ["FTX"], []),
    ],
)
def test_finds_entities_without_inventing_tickers(text, entities, tickers):
    idx = default_index()
    assert idx.entities(text) == sorted(entities)
    assert idx.extract(text) == tickers


@pytest.mark.parametrize(
    "text",
    [
        "Seattle Kraken rally past the Canucks in overtime",  # a market cue, not a crypto one
        "Temperatures hit 30 Celsius as the heatwave market stalls fill up",
        "Gemini season: what the stars say about your earnings",
        "Genesis reunion tour tickets sell out",
        "Alameda County votes on the new budget",
        "Voyager 1 leaves the solar system",
        "Polygon shares design tips for 3D artists",  # ambiguous crypto ticker name
    ],
)
def test_ambiguous_entities_need_a_crypto_cue(text):
    idx = default_index()
    assert idx.entities(text) == []
    assert not {t for t in idx.extract(text) if t.endswith(".X")}


def test_sector_lookup_of_the_shipped_list():
    lk = default_sector_lookup()
    assert lk.ticker_sector("JPM") == "financials"
    assert lk.ticker_sector("XOM") == "energy"
    assert lk.ticker_sector("AAPL") == "technology"
    assert lk.ticker_sector("BTC.X") == "crypto"
    assert lk.ticker_sector("COIN") == "crypto"  # crypto business, not GICS financials
    assert lk.ticker_sector("NEWCOIN.X") == "crypto"  # StockTwits' crypto form
    assert lk.ticker_sector("ZZZZ") is None  # unknown cashtag: no sector
    assert lk.entities["FTX"] == "crypto" and lk.entities["Stripe"] == "financials"
    assert lk.sectors(["JPM", "bac", "BTC.X"], ["FTX"]) == ["crypto", "financials"]


def test_tag_document_adds_what_ingest_would_find_and_keeps_what_it_had():
    at = datetime(2022, 11, 11, 15, tzinfo=UTC)
    d = Document(id="a", source="s", title="FTX files for bankruptcy", published=at)
    t = tag_document(d)
    assert t.entities == ("FTX",) and t.tickers == ()
    kept = Document(
        id="b", source="s", title="Bitcoin slides", summary="", published=at, tickers=("XYZ",)
    )
    assert tag_document(kept).tickers == ("BTC.X", "XYZ")
    plain = Document(id="c", source="s", title="Weather is fine", published=at)
    assert tag_document(plain) is plain  # nothing to add: the same object


def test_custom_index_rejects_an_unknown_sector():
    with pytest.raises(ValueError, match="unknown sector"):
        TickerIndex.from_rows([{"ticker": "XYZ", "name": "Xyzzy", "sector": "tech"}])


def test_custom_index():
    idx = TickerIndex.from_rows([{"ticker": "XYZ", "name": "Xyzzy Corp", "aliases": "Xyzzy"}])
    assert idx.extract("Xyzzy beats; Xyzzy Corp too") == ["XYZ"]
    assert idx.extract("nothing here") == []
