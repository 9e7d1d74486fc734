"""Unread records per documents partition (lag-aware idleness): from the consumer's end
offsets and what the agent classified, the committed offset standing in before the first
batch, partitions no longer owned forgotten."""

from __future__ import annotations

from typing import NamedTuple

from monitor.stream.lag import unread_report


class TP(NamedTuple):
    topic: str
    partition: int


class Consumer:
    def __init__(self, high: dict[TP, int | None], committed: dict[TP, int]) -> None:
        self.high = high
        self._committed_offset = committed

    def assignment(self) -> set[TP]:
        return set(self.high)

    def highwater(self, tp: TP) -> int | None:
        if tp.partition == 9:
            raise KeyError(tp)  # not fetched yet
        return self.high[tp]


def test_unread_per_owned_partition():
    docs = [TP("docs", p) for p in range(4)]
    c = Consumer(
        {docs[0]: 100, docs[1]: 50, docs[2]: None, docs[3]: 10, TP("other", 0): 999},
        {docs[1]: 20, docs[3]: 10},
    )
    done = {0: 99, 1: 30, 7: 5}
    # 0: classified up to its end; 1: 19 after offset 30; 2: end unknown; 3: nothing
    # classified yet, committed = end; 7: no longer owned, forgotten; other topics ignored.
    assert unread_report(c, "docs", done) == {0: 0, 1: 19, 3: 0}
    assert done == {0: 99, 1: 30}
    # A committed offset ahead of what this worker classified (it came back) wins.
    c._committed_offset[docs[1]] = 45
    assert unread_report(c, "docs", done)[1] == 5


def test_unknown_offsets_and_a_restarting_consumer_report_nothing():
    c = Consumer({TP("docs", 0): 10, TP("docs", 9): 10}, {})
    assert unread_report(c, "docs", {}) == {}

    class Broken:
        def assignment(self):
            raise RuntimeError("rebalancing")

    assert unread_report(Broken(), "docs", {0: 1}) == {}
