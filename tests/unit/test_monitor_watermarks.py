"""Per-partition event-time watermarks with explicit timestamps: the minimum over partitions,
idleness by arrival time, held jumps, outliers, restarts; and hypothesis properties (no
applied record is behind the clock when partitions are read in order, the clock never goes
back, bounded work for arbitrary timestamps)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.eventtime import EARLIEST_TS, MAX_FUTURE_S, implausible_ts
from foundation.schemas import Document, ScoredDocument
from foundation.settings import Settings
from monitor.core.pipeline import AlertPipeline
from monitor.core.watermarks import PartitionWatermarks

H = 3600.0


def wm(parts=(0, 1), **kw) -> PartitionWatermarks[str]:
    kw.setdefault("idle_s", 30.0)
    kw.setdefault("max_jump_s", 6 * H)
    kw.setdefault("confirm", 3)
    return PartitionWatermarks(parts, **kw)


def test_clock_is_the_minimum_over_partitions():
    w = wm()
    assert w.observe(0, 1000.0, 0.0, "a") == [("a", "apply")]
    assert w.clock is None  # partition 1 expected and not idle yet
    w.observe(0, 5000.0, 1.0, "b")
    assert w.clock is None
    w.observe(1, 2000.0, 2.0, "c")
    assert w.clock == 2000.0  # partition 1 is behind: it holds the clock
    w.observe(1, 9000.0, 3.0, "d")
    assert w.clock == 5000.0


def test_idle_partition_stops_holding_the_clock_back():
    w = wm()
    w.observe(0, 1000.0, 0.0, "a")
    w.observe(1, 1000.0, 0.0, "b")
    w.observe(0, 2000.0, 10.0, "c")
    assert w.clock == 1000.0
    w.observe(0, 3000.0, 31.0, "d")  # partition 1 silent for more than 30 s of arrivals
    assert w.active() == [0]
    assert w.clock == 3000.0


def test_never_seen_partition_is_waited_for_then_idle():
    w = wm(parts=(0, 1, 2))
    w.observe(0, 1000.0, 100.0, "a")
    w.observe(1, 1000.0, 100.0, "b")
    assert w.clock is None  # partition 2 counts as arrived at 100 s
    w.observe(0, 2000.0, 131.0, "c")
    assert w.clock == 2000.0  # 1 and 2 idle now


def test_clock_never_goes_back_when_a_partition_returns():
    w = wm()
    w.observe(0, 1000.0, 0.0, "a")
    w.observe(1, 1000.0, 0.0, "b")
    w.observe(0, 5000.0, 40.0, "c")
    assert w.clock == 5000.0
    w.observe(1, 1200.0, 41.0, "d")  # back from idleness, far behind
    assert w.clock == 5000.0


def test_arrival_time_not_read_speed_decides_idleness():
    # A backlog read at full speed: partition 0's records all arrived before partition 1's
    # first one in wall time terms of the reader, but their arrival stamps interleave.
    w = wm()
    for i in range(100):
        w.observe(0, 1000.0 + i, float(i) * 0.1, f"a{i}")
    assert w.clock is None  # partition 1 not idle: only 10 s of arrivals passed
    w.observe(1, 1000.0, 0.0, "b")
    assert w.clock == 1000.0


def test_lone_jump_is_an_outlier_and_never_moves_the_clock():
    w = wm(parts=(0,))
    w.observe(0, 1000.0, 0.0, "a")
    assert w.observe(0, 1000.0 + 365 * 24 * H, 1.0, "year-ahead") == []
    assert w.clock == 1000.0
    out = w.observe(0, 1100.0, 2.0, "b")
    assert out == [("year-ahead", "outlier"), ("b", "apply")]
    assert w.clock == 1100.0
    assert w.outliers == 1


def test_confirmed_jump_releases_held_records_in_order():
    w = wm(parts=(0,))
    w.observe(0, 1000.0, 0.0, "a")
    gap = 1000.0 + 3 * 24 * H  # a feed back after three days
    assert w.observe(0, gap, 1.0, "x") == []
    assert w.observe(0, gap + 60, 2.0, "y") == []
    assert w.observe(0, gap + 120, 3.0, "z") == [("x", "apply"), ("y", "apply"), ("z", "apply")]
    assert w.clock == gap
    assert w.observe(0, gap + 180, 4.0, "n") == [("n", "apply")]


def test_dump_load_round_trip_restarts_arrivals():
    w = wm()
    w.observe(0, 1000.0, 500.0, "a")
    w.observe(1, 2000.0, 500.0, "b")
    w.observe(1, 2000.0 + 10 * 24 * H, 501.0, "held")
    back: PartitionWatermarks[str] = wm()
    back.load(w.dump())
    assert back.clock == w.clock == 1000.0
    assert back.parts[1].held[0].item == "held"
    # After the restart, arrival stamps are hours later: nobody is idle at first.
    back.observe(0, 1500.0, 9000.0, "c")
    assert back.active() == [0, 1]
    assert back.clock == 1500.0


def test_partition_with_unread_records_is_never_idle():
    # A backlog read unevenly: partition 0 is read 60 s of arrivals ahead of partition 1.
    w = wm()
    w.lag(0, 100)
    w.observe(0, 1000.0, 0.0, "a")
    w.lag(1, 100)
    w.observe(1, 1000.0, 0.0, "b")
    for i in range(1, 7):
        w.lag(0, 100 - i)
        w.observe(0, 1000.0 + 10 * i, 10.0 * i, f"a{i}")
    assert w.active() == [0, 1]  # 1 is 60 s behind in arrivals, but it has unread records
    assert w.clock == 1000.0
    # Its last batch is not late: clearing the flag waits for the batch's own records...
    w.lag(1, 0)
    assert w.clock == 1000.0
    assert w.observe(1, 1010.0, 10.0, "b1") == [("b1", "apply")]
    # ... and, caught up, it was quiet from 10 s to 60 s of arrivals: idle by time again.
    assert w.active() == [0]
    assert w.clock == 1060.0
    # Without the flag, the same reading had left partition 1 behind the clock.
    old = wm()
    old.observe(0, 1000.0, 0.0, "a")
    old.observe(1, 1000.0, 0.0, "b")
    for i in range(1, 7):
        old.observe(0, 1000.0 + 10 * i, 10.0 * i, f"a{i}")
    assert old.clock == 1060.0  # partition 1 idle by arrivals: its next record (1010) late


def test_unread_flag_survives_a_restart():
    w = wm()
    w.lag(0, 0)
    w.observe(0, 1000.0, 0.0, "a")
    w.lag(1, 5000)
    w.observe(1, 900.0, 0.0, "b")
    back: PartitionWatermarks[str] = wm()
    back.load(w.dump())
    back.observe(0, 2000.0, 9000.0, "c")
    back.observe(0, 3000.0, 9100.0, "d")  # 100 s of arrivals: 1 would be idle by time alone
    assert back.active() == [0, 1]
    assert back.clock == 900.0
    # Dumps of older versions have no flag (4 fields per partition).
    old = w.dump()
    old["parts"] = [row[:4] for row in old["parts"]]
    again: PartitionWatermarks[str] = wm()
    again.load(old)
    assert not any(c.behind for c in again.parts.values())


def test_bad_arguments():
    with pytest.raises(ValueError):
        PartitionWatermarks((0,), idle_s=0)
    with pytest.raises(ValueError):
        PartitionWatermarks((0,), confirm=0)


def test_implausible_times():
    now = time.time()
    assert implausible_ts(now, now) is None
    assert implausible_ts(now + MAX_FUTURE_S + 1, now) == "future"
    assert implausible_ts(253402214400.0, now) == "future"  # 9999-12-31
    assert implausible_ts(-2208988800.0, now) == "too-old"  # 1900
    assert implausible_ts(EARLIEST_TS - 1, now) == "too-old"
    assert implausible_ts(float("nan"), now) == "too-old"


# -- properties --------------------------------------------------------------------------------
partition_streams = st.lists(
    st.lists(st.integers(min_value=0, max_value=3 * 3600), min_size=1, max_size=30).map(sorted),
    min_size=1,
    max_size=4,
)


@given(streams=partition_streams, order=st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_in_order_partitions_never_fall_behind_the_clock(streams, order):
    """Each partition in event-time order, interleaved arbitrarily, all arriving within the
    idle timeout: every record is applied and none is behind the clock when it arrives."""
    w: PartitionWatermarks[tuple[int, int]] = PartitionWatermarks(
        range(len(streams)), idle_s=1e9, max_jump_s=1e9
    )
    cursors = [0] * len(streams)
    pending = [p for p, s in enumerate(streams) for _ in s]
    order.shuffle(pending)
    prev = None
    applied = 0
    for arrival, p in enumerate(pending):
        ts = float(streams[p][cursors[p]])
        cursors[p] += 1
        if w.clock is not None:
            assert ts >= w.clock  # would never be late
        out = w.observe(p, ts, float(arrival), (p, cursors[p]))
        applied += sum(v == "apply" for _, v in out)
        if prev is not None and w.clock is not None:
            assert w.clock >= prev
        prev = w.clock
    assert applied == sum(len(s) for s in streams)


@given(streams=partition_streams, order=st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_backlog_read_unevenly_never_falls_behind_the_clock(streams, order):
    """A backlog: each partition's records were published as they happened (arrival = event
    time, hours of it), then read in any interleaving with a 30 s idle timeout, each batch
    saying how many records of each partition remain: none is ever behind the clock."""
    w: PartitionWatermarks[tuple[int, int]] = PartitionWatermarks(
        range(len(streams)), idle_s=30.0, max_jump_s=1e9
    )
    cursors = [0] * len(streams)
    pending = [p for p, s in enumerate(streams) for _ in s]
    order.shuffle(pending)
    for p in pending:
        ts = float(streams[p][cursors[p]])
        cursors[p] += 1
        for q, s in enumerate(streams):
            w.lag(q, len(s) - cursors[q])
        if w.clock is not None:
            assert ts >= w.clock
        w.observe(p, ts, ts, (p, cursors[p]))


@given(
    records=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3),
            st.floats(allow_nan=True, allow_infinity=True, width=64),
            st.floats(min_value=0, max_value=1e6),
        ),
        max_size=300,
    )
)
@settings(max_examples=200, deadline=None)
def test_arbitrary_timestamps_bounded_work_and_monotone_clock(records):
    """Any timestamps at all (NaN, inf, year 9999, negative): each record returns at once
    with at most ``confirm`` items, held records stay bounded, the clock never goes back."""
    w: PartitionWatermarks[int] = PartitionWatermarks(range(4), idle_s=30.0, confirm=3)
    prev = None
    started = time.perf_counter()
    for i, (p, ts, arrival) in enumerate(records):
        out = w.observe(p, ts, arrival, i)
        assert len(out) <= 3
        assert all(len(c.held) < 3 for c in w.parts.values())
        if prev is not None and w.clock is not None:
            assert not (w.clock < prev)
        prev = w.clock if w.clock is not None else prev
    # Microseconds per record; the bound only catches a loop over event time (a wedge).
    assert time.perf_counter() - started < 10.0


@given(
    times=st.lists(
        st.datetimes(
            min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
        ),
        min_size=1,
        max_size=40,
    ),
    parts=st.lists(st.integers(min_value=0, max_value=3), min_size=40, max_size=40),
)
@settings(max_examples=60, deadline=None)
def test_no_single_record_wedges_the_windows(times, parts):
    """Watermarks in front of the alert pipeline, as the worker runs them: documents dated
    anywhere from year 1 to 9999 among normal ones; every record (and the window evaluation
    after it) takes bounded time, and nothing raises."""
    s = Settings()
    pipe = AlertPipeline(s)
    w: PartitionWatermarks[ScoredDocument] = PartitionWatermarks(range(4))
    base = datetime(2022, 11, 1, tzinfo=UTC)
    arrival = time.time()
    normal = [base + timedelta(minutes=2 * i) for i in range(60)]
    stream = [*normal[:30], *times, *normal[30:]]
    for i, t in enumerate(stream):
        doc = scored_doc(f"d{i}", t)
        started = time.perf_counter()
        for item, verdict in w.admit(parts[i % len(parts)], t.timestamp(), arrival, doc):
            if verdict == "apply":
                pipe.agg.add(item, advance_clock=False)
        pipe.agg.advance_clock(w.clock)
        pipe.advance()
        # Milliseconds per record; stepping window by window through the years took hours.
        assert time.perf_counter() - started < 3.0, f"record {t} took too long"


def scored_doc(doc_id: str, published: datetime) -> ScoredDocument:
    return ScoredDocument(
        document=Document(
            id=doc_id, source="Wire", title="Bank lender slides", published=published
        ),
        topic="financials",
        sentiment="negative",
        sentiment_probs={"negative": 0.8, "neutral": 0.1, "positive": 0.1},
    )


def test_a_far_jump_of_the_watermark_is_evaluated_in_bounded_time():
    """Even without the guards (a backtest reading its own clock), a document dated year 9000
    after a normal day closes everything and skips the empty years instead of stepping
    through 700 million empty five-minute windows."""
    pipe = AlertPipeline(Settings())
    base = datetime(2022, 11, 1, tzinfo=UTC)
    for i in range(300):
        pipe.add(scored_doc(f"n{i}", base + timedelta(minutes=5 * i)))
        pipe.advance()
    pipe.add(scored_doc("far", datetime(9000, 1, 1, tzinfo=UTC)))
    started = time.perf_counter()
    out = pipe.advance()
    assert time.perf_counter() - started < 5.0
    assert out.closed  # the normal windows closed
    assert not pipe.scopes  # idle scopes expired on the way, nothing left to step through
