"""The larger name -> entity list (ingest/data/entities.csv) and the labour cues."""

from __future__ import annotations

import csv

from ingest.tickers import SECTORS, data_path, default_index, entities_path


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_entities_list_is_well_formed_and_does_not_repeat_the_ticker_list():
    ents = rows(entities_path())
    assert len(ents) > 150
    assert all(not r["ticker"] and r["name"] and r["sector"] in SECTORS for r in ents)
    names = [r["name"] for r in ents]
    assert len(names) == len(set(names))
    assert not set(names) & {r["name"] for r in rows(data_path())}


def test_entities_are_found_and_get_their_sector():
    idx = default_index()
    assert idx.scan("Foxconn apologises after protests at Zhengzhou plant") == ([], ["Foxconn"])
    assert idx.scan("Sberbank and VTB hit by new sanctions")[1] == ["Sberbank", "VTB"]
    lookup = idx.sector_lookup()
    assert lookup.sectors([], ["Sberbank"]) == ["financials"]
    # An ambiguous crypto name still needs a crypto cue.
    assert idx.scan("Circle of friends")[1] == []
    assert idx.scan("Circle, the stablecoin issuer, pauses withdrawals")[1] == ["Circle"]


def test_labour_news_is_a_market_cue_for_ambiguous_names():
    idx = default_index()
    assert idx.extract("Amazon to cut 10,000 jobs") == ["AMZN"]
    assert idx.extract("Meta Is Said to Plan Significant Job Cuts This Week") == ["META"]
    assert idx.extract("Amazon rainforest fires spread") == []
