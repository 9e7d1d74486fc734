"""Ticker extraction: cashtags, exchange prefixes, names; false positives avoided."""

from __future__ import annotations

import csv

import pytest

from ingest.tickers import TickerIndex, data_path, extract_tickers


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
    assert set(rows[0]) == {"ticker", "name", "aliases", "type", "country", "ambiguous"}
    tickers = [r["ticker"] for r in rows if r["ticker"]]
    assert len(tickers) == len(set(tickers))
    names = {r["name"]: r["ticker"] for r in rows}
    assert names["Binance"] == "" and names["BlockFi"] == "" and names["Coinbase"] == "COIN"


def test_custom_index():
    idx = TickerIndex.from_rows([{"ticker": "XYZ", "name": "Xyzzy Corp", "aliases": "Xyzzy"}])
    assert idx.extract("Xyzzy beats; Xyzzy Corp too") == ["XYZ"]
    assert idx.extract("nothing here") == []
