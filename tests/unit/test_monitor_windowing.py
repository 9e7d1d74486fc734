"""Event-time windows: placement, lateness, watermark, duplicates, order independence."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from monitor_helpers import T0, scored

from monitor.core.windowing import (
    SectorLookup,
    WindowAggregator,
    doc_scope_keys,
    split_scope_key,
    window_start,
)

BASE = T0.timestamp()


def stats_by_key(closed):
    return {(c.key, c.acc.start): c.acc for c in closed}


def test_document_lands_in_its_window_for_every_scope():
    agg = WindowAggregator(300, 900)
    assert agg.add(scored("a", 10, "negative", tickers=("sivb", "SIVB"), source="Reuters"))
    assert agg.add(scored("b", 299, "positive")) == "applied"
    assert agg.add(scored("c", 300, "neutral")) == "applied"
    closed = stats_by_key(agg.close_all())
    w0 = int(BASE)
    assert closed[("all:all", w0)].count == 2
    assert closed[("all:all", w0 + 300)].count == 1
    assert closed[("topic:financials", w0)].negative == 1
    assert closed[("ticker:SIVB", w0)].count == 1  # tickers normalised and deduplicated
    assert closed[("source:Reuters", w0)].count == 1
    acc = closed[("all:all", w0)]
    assert acc.negative + acc.neutral + acc.positive == acc.count
    assert round(acc.score_sum, 6) == round((0.05 - 0.8) + (0.8 - 0.05), 6)


SECTORS = SectorLookup(
    tickers={"JPM": "financials", "BAC": "financials", "XOM": "energy"},
    entities={"FTX": "crypto"},
)


def test_sector_scopes_come_from_tickers_and_entities_once_each():
    d = scored("a", 10, "negative", tickers=("jpm", "BAC", "XOM", "ZZZ"), entities=("FTX",))
    keys = doc_scope_keys(d, SECTORS)
    sector_keys = [k for k in keys if k.startswith("sector:")]
    # Two banks count once in financials; an unknown ticker has no sector.
    assert sector_keys == ["sector:crypto", "sector:energy", "sector:financials"]
    assert split_scope_key("sector:crypto") == ("sector", "crypto")
    # Without a lookup (or without tickers and entities) there are no sector scopes.
    assert not [k for k in doc_scope_keys(d) if k.startswith("sector:")]
    plain = scored("b", 10)
    assert not [k for k in doc_scope_keys(plain, SECTORS) if k.startswith("sector:")]
    # An unknown StockTwits crypto symbol is crypto.
    coin = scored("c", 10, tickers=("NEWCOIN.X",))
    assert "sector:crypto" in doc_scope_keys(coin, SECTORS)


def test_sector_windows_aggregate_across_tickers_and_entities():
    agg = WindowAggregator(300, 900, sectors=SECTORS)
    agg.add(scored("a", 10, "negative", tickers=("JPM",)))
    agg.add(scored("b", 20, "neutral", tickers=("BAC",)))
    agg.add(scored("c", 30, "negative", entities=("FTX",)))
    agg.add(scored("d", 40, "negative", tickers=("JPM", "BAC")))
    closed = stats_by_key(agg.close_all())
    w0 = int(BASE)
    fin = closed[("sector:financials", w0)]
    assert (fin.count, fin.negative) == (3, 2)  # d counts once though it has two banks
    assert closed[("sector:crypto", w0)].count == 1
    assert closed[("ticker:JPM", w0)].count == 2
    stat = fin.to_stat("sector:financials", 300)
    assert (stat.scope_kind, stat.scope) == ("sector", "financials")


def test_late_within_lateness_updates_its_window_and_is_reported_again():
    agg = WindowAggregator(300, 900)
    agg.add(scored("a", 10))
    agg.add(scored("b", 1000))  # watermark = 100: window [0, 300) still open
    agg.updates()
    assert agg.add(scored("late-ok", 20, "negative")) == "applied"
    updated = agg.updates()
    assert [(u.scope_kind, u.scope) for u in updated if u.window_start == T0] == [
        ("all", "all"),
        ("source", "Wire"),
        ("topic", "financials"),
    ]
    assert next(u for u in updated if u.scope_kind == "all").count == 2


def test_too_late_is_counted_in_the_current_window_not_applied():
    agg = WindowAggregator(300, 900)
    agg.add(scored("a", 10))
    agg.add(scored("b", 1300))  # watermark 400: [0, 300) closed
    closed = agg.close_ready()
    assert [(c.key, c.acc.count) for c in closed if c.key == "all:all"] == [("all:all", 1)]
    assert agg.add(scored("too-late", 50, "negative")) == "late"
    cur = window_start(BASE + 1300, 300)
    assert agg.windows["all:all"][cur].late == 1
    assert agg.windows["all:all"][cur].count == 1
    assert agg.windows["topic:financials"][cur].negative == 0
    assert agg.late_total == 1


def test_watermark_closes_only_windows_behind_it():
    agg = WindowAggregator(300, 600)
    agg.add(scored("a", 0))
    agg.add(scored("b", 899))  # watermark 299: nothing closed yet
    assert agg.close_ready() == []
    agg.add(scored("c", 900))  # watermark 300: [0, 300) closes
    assert {c.acc.start for c in agg.close_ready()} == {int(BASE)}


def test_unscored_and_duplicate_documents_are_not_counted():
    agg = WindowAggregator(300, 900)
    assert agg.add(scored("pl", 5, scored_ok=False)) == "unscored"
    assert agg.add(scored("a", 5, "negative")) == "applied"
    assert agg.add(scored("a", 5, "negative")) == "duplicate"
    closed = stats_by_key(agg.close_all())
    assert closed[("all:all", int(BASE))].count == 1


def test_evidence_keeps_the_most_negative_documents_in_a_stable_order():
    agg = WindowAggregator(300, 900, evidence_docs=2)
    for i, p in enumerate([0.6, 0.9, 0.7, 0.95]):
        agg.add(scored(f"d{i}", i, "negative", p_neg=p))
    acc = agg.windows["all:all"][int(BASE)]
    assert [e["id"] for e in acc.evidence] == ["d3", "d1"]
    assert acc.evidence[0]["link"] == "https://news.example/d3"


def test_state_round_trips_through_a_dict():
    agg = WindowAggregator(300, 900)
    agg.add(scored("a", 5, "negative"))
    acc = agg.windows["all:all"][int(BASE)]
    from monitor.core.windowing import WindowAcc

    assert WindowAcc.from_dict(acc.to_dict()) == acc


events = st.lists(
    st.tuples(st.integers(0, 20_000), st.sampled_from(["negative", "neutral", "positive"])),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(events)
def test_every_event_lands_in_exactly_one_window_and_counts_add_up(evs):
    agg = WindowAggregator(300, 0)
    for i, (t, s) in enumerate(sorted(evs)):
        assert agg.add(scored(f"e{i}", t, s)) == "applied"
    closed = [c for c in agg.close_all() if c.key == "all:all"]
    assert sum(c.acc.count for c in closed) == len(evs)
    for c in closed:
        assert c.acc.negative + c.acc.neutral + c.acc.positive == c.acc.count
    starts = [c.acc.start for c in closed]
    assert len(starts) == len(set(starts))
    for t, _ in evs:
        assert window_start(BASE + t, 300) in starts


@settings(max_examples=60, deadline=None)
@given(events, st.randoms(use_true_random=False), st.integers(0, 1200))
def test_order_within_lateness_does_not_change_the_windows(evs, rnd: random.Random, lateness):
    docs = [scored(f"e{i}", t, s) for i, (t, s) in enumerate(evs)]

    def run(order):
        agg = WindowAggregator(300, lateness)
        closed = []
        for d in order:
            assert agg.add(d) == "applied"
            closed += agg.close_ready()
        closed += agg.close_all()
        return sorted(
            (c.key, c.acc.start, c.acc.count, c.acc.negative, c.acc.positive) for c in closed
        )

    in_order = sorted(docs, key=lambda d: d.document.published)
    # Arrival = event time + a delay within the lateness: never behind the watermark.
    shuffled = sorted(
        docs, key=lambda d: d.document.published.timestamp() + rnd.uniform(0, lateness)
    )
    assert run(in_order) == run(shuffled)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6_000), st.integers(0, 2_000)), min_size=1, max_size=80))
def test_every_closed_window_was_already_published_with_its_final_figures(evs):
    # The stream publishes window updates only; this is what makes that complete.
    from foundation.settings import Settings, WindowSettings
    from monitor.core.pipeline import AlertPipeline

    p = AlertPipeline(Settings(windows=WindowSettings(size_s=300, allowed_lateness_s=600)))
    last: dict = {}
    closed = []
    for i, (t, _delay) in enumerate(sorted(evs, key=lambda e: e[0] + e[1])):
        p.add(scored(f"e{i}", t, "negative" if i % 3 == 0 else "neutral"))
        out = p.advance()
        for w in out.updated:
            last[(w.scope_kind, w.scope, w.window_start)] = w
        closed += out.closed
    for w in closed:
        assert last[(w.scope_kind, w.scope, w.window_start)] == w
