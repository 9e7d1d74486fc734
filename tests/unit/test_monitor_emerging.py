"""Emerging entities: candidate extraction and the bounded, deterministic tracker."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from monitor_helpers import scored

from monitor.core.emerging import EmergingTracker, candidates, default_common_words, is_common

COMMON = default_common_words()


def doc(i: int, title: str, at: float, source: str = "Wire"):
    d = scored(f"d{i}", at, "negative", source=source)
    return d.model_copy(update={"document": d.document.model_copy(update={"title": title})})


def test_candidates_are_uncommon_capitalised_words():
    title = "Protests at Foxconn's Zhengzhou iPhone plant as Workers clash with police in China"
    got = candidates(title, COMMON)
    assert "Foxconn" in got and "Zhengzhou" in got
    assert "Protests" not in got and "Workers" not in got and "China" not in got
    assert candidates("Layoffs and Hackers", COMMON) == []  # inflections of common words
    assert candidates("FTX collapse", COMMON, known=frozenset({"ftx"})) == []  # listed


def test_is_common_handles_plurals_and_inflections():
    assert is_common("Layoffs", COMMON) and is_common("banks", COMMON)
    assert not is_common("Zhengzhou", COMMON)


def test_a_name_is_promoted_after_min_docs_from_min_sources():
    t = EmergingTracker(size_s=300, min_docs=3, min_sources=2, common=COMMON)
    assert t.scopes(doc(1, "Medibank hack widens", 0, "A")) == []
    assert t.scopes(doc(2, "Medibank hack: data leaked", 60, "A")) == []
    # Third document, second source: promoted; it and later ones count in entity:Medibank.
    assert t.scopes(doc(3, "Medibank refuses ransom", 120, "B")) == ["entity:Medibank"]
    assert t.scopes(doc(4, "Medibank shares fall", 180, "A")) == ["entity:Medibank"]


def test_one_source_repeating_a_name_is_not_a_burst():
    t = EmergingTracker(size_s=300, min_docs=3, min_sources=2, common=COMMON)
    for i in range(10):
        assert t.scopes(doc(i, "Wordle answer today: Quordle hints", 60 * i, "GameSite")) == []


def test_counts_outside_the_span_are_forgotten():
    t = EmergingTracker(size_s=300, min_docs=3, min_sources=2, span_windows=12, common=COMMON)
    # One mention every two hours never makes three in an hour.
    for i in range(10):
        assert t.scopes(doc(i, "Zhengzhou lockdown", 7200 * i, "AB"[i % 2])) == []


words = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8
).map(str.capitalize)
titles = st.lists(st.lists(words, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(titles, st.integers(min_value=10, max_value=40))
def test_memory_is_bounded_and_the_result_deterministic(ts, capacity):
    def run():
        t = EmergingTracker(size_s=300, min_docs=2, min_sources=1, capacity=capacity, common=COMMON)
        out = [t.scopes(doc(i, title, 30 * i)) for i, title in enumerate(ts)]
        return t, out

    t1, out1 = run()
    t2, out2 = run()
    assert out1 == out2 and t1.to_dict() == t2.to_dict()
    assert len(t1.cands) <= capacity and len(t1.promoted) <= capacity
    assert t1.size() <= 2 * capacity
    for keys in out1:
        assert all(k.startswith("entity:") for k in keys) and len(keys) == len(set(keys))


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_candidates_never_fail_and_are_sorted_unique(text):
    got = candidates(text, COMMON)
    assert got == sorted(set(got))
    assert all(len(w) >= 3 and w[0].isupper() for w in got)


def test_tracker_state_round_trips_promoted_names():
    t = EmergingTracker(size_s=300, min_docs=2, min_sources=1, common=COMMON)
    t.scopes(doc(1, "Ticketmaster meltdown", 0))
    t.scopes(doc(2, "Ticketmaster probe", 60))
    t2 = EmergingTracker(size_s=300, min_docs=2, min_sources=1, common=COMMON)
    t2.load(t.to_dict())
    assert t2.scopes(doc(3, "Ticketmaster again", 120)) == ["entity:Ticketmaster"]
