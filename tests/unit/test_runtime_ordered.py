"""Agents process each partition's records in offset order, none skipped
(foundation/kafka/offset_order.py, monitor/stream/ordered.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.kafka.offset_order import OffsetOrder

TP = ("documents", 0)


def test_records_in_order_are_processed_and_older_ones_are_duplicates() -> None:
    order = OffsetOrder()
    assert [order.check(TP, o, committed=5) for o in (5, 6, 7)] == ["process"] * 3
    assert order.check(TP, 6, committed=5) == "duplicate"
    assert order.check(TP, 8) == "process"


def test_a_hole_is_read_again_from_the_first_missing_offset() -> None:
    order = OffsetOrder()
    assert order.check(TP, 623, committed=623) == "process"
    # The fault seen after a rebalance: the next record handed over is 640.
    assert order.check(TP, 640) == "hole"
    assert order.next_offset(TP) == 624
    assert order.check(TP, 641) == "held"  # queued before the seek back
    assert [order.check(TP, o) for o in range(624, 642)] == ["process"] * 18
    assert order.holes_found == 1 and order.holes_accepted == 0


def test_a_real_gap_is_accepted_when_it_comes_back_after_the_seek() -> None:
    order = OffsetOrder()
    order.check(TP, 10, committed=10)
    assert order.check(TP, 15) == "hole"  # e.g. transaction markers at 11-14
    assert order.check(TP, 15) == "process"  # read again from 11: the broker has nothing before 15
    assert order.holes_accepted == 1
    assert order.check(TP, 16) == "process"


def test_the_first_record_is_checked_against_the_committed_offset() -> None:
    order = OffsetOrder()
    assert order.check(TP, 700, committed=650) == "hole"
    assert order.next_offset(TP) == 650
    other = OffsetOrder()
    assert other.check(TP, 700, committed=None) == "process"  # nothing known: accepted


def test_progress_is_kept_over_a_rebalance() -> None:
    order = OffsetOrder()
    for o in range(100, 110):
        order.check(TP, o, committed=100)
    # The partition comes back with an older commit: what this process handled is skipped.
    assert order.check(TP, 105, committed=105) == "duplicate"
    # Another worker committed further meanwhile: read again from this process's progress.
    assert order.check(TP, 130, committed=130) == "hole"
    assert order.next_offset(TP) == 110


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 60),
    missing=st.sets(st.integers(0, 59), max_size=8),
    faults=st.lists(st.tuples(st.integers(0, 59), st.integers(1, 12)), max_size=6),
)
def test_a_faulty_consumer_still_gives_every_record_once_in_order(n, missing, faults) -> None:
    """A consumer that sometimes jumps ahead (losing records) and that honours seeks: what
    the guard lets through is every record that exists, once, in order."""
    existing = [o for o in range(n) if o not in missing]
    jumps = dict(faults)  # at this position, skip this many records once
    order = OffsetOrder()
    processed: list[int] = []
    pos = 0
    for _ in range(10 * (n + 10)):
        nxt = [o for o in existing if o >= pos]
        if not nxt:
            break
        idx = 0
        if nxt[0] in jumps:
            idx = min(jumps.pop(nxt[0]), len(nxt) - 1)
        rec = nxt[idx]
        verdict = order.check(TP, rec, committed=0)
        if verdict == "process":
            processed.append(rec)
            pos = rec + 1
        elif verdict == "hole":
            pos = order.next_offset(TP) or 0  # the seek back
        else:
            pos = rec + 1
    assert processed == existing


def test_faust_consumer_still_has_what_the_guard_reads() -> None:
    """monitor/stream/ordered.py reads three private attributes of Faust's consumer."""
    import inspect

    from faust.transport.consumer import Consumer

    init = inspect.getsource(Consumer.__init__)
    for attr in ("_committed_offset", "_unacked_messages", "_gap"):
        assert f"self.{attr}" in init, attr
    assert "offset not in acked_index" in inspect.getsource(Consumer.ack)


def test_the_agent_side_drops_a_hole_seeks_back_without_waiting_and_keeps_acks_out() -> None:
    """monitor/stream/ordered.py against a stand-in for Faust's consumer."""
    import asyncio
    from collections import namedtuple
    from types import SimpleNamespace

    from intervaltree import IntervalTree

    from monitor.stream.ordered import OrderedInput

    tp = namedtuple("TP", "topic partition")("documents", 0)

    class Msg:  # hashable by identity, as Faust's messages are
        def __init__(self, offset: int) -> None:
            self.tp, self.offset, self.acked = tp, offset, False

    seeks: list[int] = []
    release = asyncio.Event()

    async def seek(part, offset):  # held until released: the agent must not wait for it
        await release.wait()
        seeks.append(offset)

    gap = IntervalTree()
    gap.addi(11, 16)  # what Faust's fetch loop records when it hands over 15 after 10
    consumer = SimpleNamespace(
        _committed_offset={tp: 10}, _unacked_messages=set(), _gap={tp: gap}, seek=seek
    )

    def ev(offset):
        msg = Msg(offset)
        consumer._unacked_messages.add(msg)
        return SimpleNamespace(message=msg)

    async def run() -> None:
        guard = OrderedInput(SimpleNamespace(consumer=consumer), "classify")
        first = [ev(10), ev(15), ev(16)]
        kept = guard.filter(first)
        assert [e.message.offset for e in kept] == [10]
        # The dropped records count as acked for Faust (so its ack leaves them out) and are
        # no longer unacked or part of a gap it could commit past.
        assert [e.message.acked for e in first] == [False, True, True]
        assert consumer._unacked_messages == {first[0].message}
        await asyncio.sleep(0)
        assert not gap  # chopped before the seek
        assert seeks == []  # started, not awaited
        release.set()
        await asyncio.sleep(0.01)
        assert seeks == [11]
        again = guard.filter([ev(o) for o in range(11, 17)])
        assert [e.message.offset for e in again] == list(range(11, 17))

    asyncio.run(run())
