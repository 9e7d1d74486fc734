from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dashboard.filters import RANGES, Filters, parse_query, resolve_range, to_query
from models.labels import SENTIMENTS, TOPICS

ANCHOR = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


def test_defaults_have_an_empty_query():
    assert to_query(Filters()) == ""
    assert parse_query("") == Filters()
    assert parse_query(None) == Filters()


def test_a_shared_link_restores_every_filter():
    f = parse_query(
        "?range=7d&topic=earnings&topic=macro&ticker=%24aapl&source=wire+a&sentiment=negative"
    )
    assert f.range == "7d"
    assert f.topics == ("earnings", "macro")
    assert f.ticker == "AAPL"
    assert f.source == "wire a"
    assert f.sentiment == "negative"
    assert parse_query(to_query(f)) == f


def test_bad_values_are_dropped_not_fatal():
    f = parse_query("?range=99y&topic=nope&topic=earnings&ticker=<x>&sentiment=angry&from=junk")
    assert f == Filters(topics=("earnings",))


def test_explicit_from_to_win_over_the_preset():
    f = parse_query("?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&range=6h")
    start, end = resolve_range(f, ANCHOR, None)
    assert (start, end) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    assert "from=2026-03-01T00%3A00%3A00Z" in to_query(f)


def test_reversed_from_to_is_ignored():
    f = parse_query("?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z")
    assert f.start is None and f.end is None


def test_presets_end_at_the_newest_data():
    assert resolve_range(Filters(range="6h"), ANCHOR, None) == (ANCHOR - timedelta(hours=6), ANCHOR)
    first = ANCHOR - timedelta(days=40)
    assert resolve_range(Filters(range="all"), ANCHOR, first) == (first, ANCHOR)


filters = st.builds(
    Filters,
    range=st.sampled_from(list(RANGES)),
    topics=st.lists(st.sampled_from(TOPICS), unique=True, max_size=4).map(tuple),
    ticker=st.none() | st.from_regex(r"[A-Z]{1,5}", fullmatch=True),
    source=st.none() | st.text(min_size=1, max_size=30).map(str.strip).filter(bool),
    sentiment=st.none() | st.sampled_from(SENTIMENTS),
)


@given(filters)
def test_query_round_trip(f):
    assert parse_query(to_query(f)) == f
