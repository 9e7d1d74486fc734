"""Each input partition's records processed in offset order, none skipped (pure).

Why: Faust 0.15 can hand an agent a partition's records with a hole after a rebalance.
Records fetched before the recovery's seek, or queued and then cleared when streams resume,
never reach the agent, and the next record is some offsets ahead (faust-streaming issues
#221 and #596). Faust then treats the hole as a "gap", as if those offsets did not exist,
which is right only for compacted or transactional topics. It commits past the hole, so
at-least-once is broken. Seen here after kill -9 of a worker during a replay, when the
group waited on the dead member: 6 to 117 documents were never classified, and one
partition's commits stalled for good.

:class:`OffsetOrder` checks each record an agent is about to process against the offset
it expects next on that partition:
- **equal**: process it;
- **older**: a redelivery of something this process already handled: skip it;
- **newer**: a hole. Drop the record and seek the partition back to the expected offset,
  so the missing records come again, in order. The first record that shows the hole is
  remembered. When the record right after that seek is this same one, the hole is real
  (the broker has no records there: transaction markers, compaction, retention), and it is
  accepted.

The expected offset is the one after the last record processed. For a partition this
process has not seen yet, it is the committed offset the consumer starts from; when that
is unknown, any offset is accepted. Progress is kept across rebalances. When a partition
comes back after another worker committed past this one's progress, that worker's records
are read again (a duplicate, which at-least-once allows), never skipped.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["process", "duplicate", "hole", "held"]


@dataclass(slots=True)
class OffsetOrder:
    # Partition -> the offset expected next.
    expected: dict[Hashable, int] = field(default_factory=dict)
    # Partition -> (expected, first offset seen past it) of the hole being re-read.
    holes: dict[Hashable, tuple[int, int]] = field(default_factory=dict)
    duplicates: int = 0
    holes_found: int = 0
    holes_accepted: int = 0

    def check(self, tp: Hashable, offset: int, committed: int | None = None) -> Verdict:
        """What to do with the record at ``offset`` of partition ``tp``: ``process``,
        ``duplicate`` (skip), ``hole`` (skip; the caller seeks ``tp`` back to
        :meth:`next_offset`) or ``held`` (skip: a record behind a hole being re-read)."""
        exp = self.expected.get(tp, committed)
        if exp is None or offset == exp:
            return self._take(tp, offset)
        if offset < exp:
            self.duplicates += 1
            return "duplicate"
        hole = self.holes.get(tp)
        if hole is not None and hole[0] == exp:
            if offset == hole[1]:
                # The same first record again after the seek: nothing exists in between.
                self.holes_accepted += 1
                return self._take(tp, offset)
            if offset > hole[1]:
                return "held"  # queued before the seek; it will come again
        self.expected[tp] = exp
        self.holes[tp] = (exp, offset)
        self.holes_found += 1
        return "hole"

    def next_offset(self, tp: Hashable) -> int | None:
        return self.expected.get(tp)

    def _take(self, tp: Hashable, offset: int) -> Verdict:
        self.expected[tp] = offset + 1
        self.holes.pop(tp, None)
        return "process"
