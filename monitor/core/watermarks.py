"""Event-time watermarks over input partitions: pure, no I/O, no wall clock.

The stream's windows close when the *watermark* passes them. Taking the largest event time
seen (what a single sorted archive allows) breaks at full speed: the worker reads its input
partitions at different paces, so one partition runs hours ahead of another in event time and
the documents of the slow one arrive "late". As Flink and Kafka Streams do, the event clock
here is the **minimum over input partitions** of each partition's largest event time, so no
partition's documents can fall behind the watermark while the partition is read in order.

- **Idleness**: a partition that sent nothing for ``idle_s`` of *arrival* time (the record
  timestamps of what the other partitions sent) stops holding the clock back, so a quiet
  partition does not stall every window (Flink's ``withIdleness``). Arrival time comes with
  each record (its Kafka timestamp), so a worker catching up on a backlog judges idleness by
  when records were produced, not by how fast it reads them. A partition never seen counts
  as having arrived with the first record of any partition.
- **Lag**: a partition whose consumer still had unread records when its last batch was
  taken (:meth:`lag`, from the consumer's end offset) is never idle, whatever the arrival
  times say: a worker catching up on a backlog reads its partitions unevenly, and arrival
  time alone made the partition read last look idle and its documents late (Kafka Streams'
  ``max.task.idle.ms`` waits the same way for a partition with known lag).
- **Jumps**: a record more than ``max_jump_s`` of event time ahead of its partition's clock
  is *held*: it does not move the clock. When ``confirm`` records in a row all jump, the
  partition really moved on (a feed back after a long gap): the held records are released in
  order and the clock moves to the smallest of them. A record back within range refutes the
  held ones: they are *outliers* (a document dated a year ahead in a replayed month) and are
  reported, never applied. Work per record is O(partitions + confirm), whatever the times.
- Held records neither confirmed nor refuted stay held (at most ``confirm - 1`` per
  partition) until that partition's next records decide.
- The clock never goes backwards (a partition back from idleness cannot pull it back), and
  holds while every partition is idle.
- After a restart (:meth:`load`) arrival times start afresh: every partition is expected
  again, as at the first start, so a worker that was down does not see them all as idle.

:meth:`PartitionWatermarks.admit` puts the plausibility rule (foundation.eventtime) in front:
a time far after the record's arrival, or before 1995, is refused and touches no clock.
The caller (the stream shell) applies released records to its windows and moves the window
watermark to :attr:`PartitionWatermarks.clock` minus the allowed lateness. The state
round-trips through plain dicts (a Faust table) with :meth:`dump` / :meth:`load`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from foundation.eventtime import implausible_ts

T = TypeVar("T")

Verdict = Literal["apply", "outlier", "future", "too-old"]


@dataclass(slots=True)
class _Held(Generic[T]):
    ts: float
    item: T


@dataclass(slots=True)
class PartitionClock(Generic[T]):
    """One input partition: its largest accepted event time, its last arrival, held jumps."""

    max_ts: float | None = None
    last_arrival: float | None = None
    behind: bool = False  # unread records were left when its last batch was taken
    held: list[_Held[T]] = field(default_factory=list)


class PartitionWatermarks(Generic[T]):
    """Per-partition event clocks and their minimum; see the module docstring.

    ``partitions`` lists the input partitions expected (a partition not listed is added when
    it first sends). ``observe`` returns what to do with the record and with any records it
    releases or refutes: a list of ``(item, verdict)`` in the order to apply them.
    """

    def __init__(
        self,
        partitions: Iterable[Hashable] = (),
        *,
        idle_s: float = 30.0,
        max_jump_s: float = 86_400.0,
        confirm: int = 3,
    ) -> None:
        if idle_s <= 0:
            raise ValueError("idle_s must be positive")
        if max_jump_s <= 0:
            raise ValueError("max_jump_s must be positive")
        if confirm < 1:
            raise ValueError("confirm must be at least 1")
        self.idle_s = idle_s
        self.max_jump_s = max_jump_s
        self.confirm = confirm
        self.parts: dict[Hashable, PartitionClock[T]] = {p: PartitionClock() for p in partitions}
        self.first_arrival: float | None = None
        self.arrival: float | None = None  # the largest arrival time seen
        self._clock: float | None = None
        self.outliers = 0

    # -- input -----------------------------------------------------------------------------
    def observe(
        self, partition: Hashable, ts: float, arrival: float, item: T
    ) -> list[tuple[T, Verdict]]:
        """One record of ``partition`` with event time ``ts`` that arrived at ``arrival``."""
        if self.first_arrival is None:
            self.first_arrival = arrival
        if self.arrival is None or arrival > self.arrival:
            self.arrival = arrival
        part = self.parts.get(partition)
        if part is None:
            part = self.parts[partition] = PartitionClock()
        part.last_arrival = (
            arrival if part.last_arrival is None else max(part.last_arrival, arrival)
        )
        out: list[tuple[T, Verdict]] = []
        if part.max_ts is None:
            part.max_ts = ts
            out.append((item, "apply"))
        elif ts <= part.max_ts + self.max_jump_s:
            if part.held:
                self.outliers += len(part.held)
                out.extend((h.item, "outlier") for h in part.held)
                part.held = []
            if ts > part.max_ts:
                part.max_ts = ts
            out.append((item, "apply"))
        else:
            part.held.append(_Held(ts, item))
            if len(part.held) >= self.confirm:
                part.max_ts = max(part.max_ts, min(h.ts for h in part.held))
                out.extend((h.item, "apply") for h in part.held)
                part.held = []
        self._advance()
        return out

    def admit(
        self, partition: Hashable, ts: float, arrival: float, item: T
    ) -> list[tuple[T, Verdict]]:
        """:meth:`observe` behind the plausibility rule (foundation.eventtime): a record whose
        time is implausible for its arrival is refused at once and touches no clock."""
        why = implausible_ts(ts, arrival)
        if why == "future":
            return [(item, "future")]
        if why == "too-old":
            return [(item, "too-old")]
        return self.observe(partition, ts, arrival, item)

    def lag(self, partition: Hashable, unread: int | None) -> None:
        """``partition``'s consumer had ``unread`` records left after the batch just taken
        (None: not known, e.g. an older worker). Call before the batch's records.

        The clock is not advanced here: setting the flag can only hold it, and clearing it
        must wait for the batch's own records, which refresh the partition's arrival first
        (else the partition would look idle for an instant and its records be late)."""
        part = self.parts.get(partition)
        if part is None:
            part = self.parts[partition] = PartitionClock()
        part.behind = unread is not None and unread > 0

    def tick(self, arrival: float) -> None:
        """Arrival time passed without records (e.g. an empty poll): idleness may advance."""
        if self.arrival is None or arrival > self.arrival:
            self.arrival = arrival
            if self.first_arrival is None:
                self.first_arrival = arrival
            self._advance()

    # -- output ----------------------------------------------------------------------------
    @property
    def clock(self) -> float | None:
        """Event time every active partition has reached (monotonic); None before any."""
        return self._clock

    def active(self) -> list[Hashable]:
        """Partitions that hold the clock back (not idle)."""
        if self.arrival is None:
            return []
        horizon = self.arrival - self.idle_s
        out = []
        for p, part in self.parts.items():
            last = part.last_arrival if part.last_arrival is not None else self.first_arrival
            if part.behind or (last is not None and last > horizon):
                out.append(p)
        return out

    def _advance(self) -> None:
        active = self.active()
        if not active:
            return  # every partition idle: the stream is quiet, the clock holds (as Flink)
        clocks = [self.parts[p].max_ts for p in active]
        if any(c is None for c in clocks):
            return  # an expected partition has not sent yet and is not idle
        candidate = min(c for c in clocks if c is not None)
        if self._clock is None or candidate > self._clock:
            self._clock = candidate

    # -- state -----------------------------------------------------------------------------
    def dump(self, item_dump: Any = lambda x: x) -> dict[str, Any]:
        return {
            "clock": self._clock,
            "arrival": self.arrival,
            "first": self.first_arrival,
            "outliers": self.outliers,
            "parts": [
                [
                    p,
                    c.max_ts,
                    c.last_arrival,
                    [[h.ts, item_dump(h.item)] for h in c.held],
                    c.behind,
                ]
                for p, c in self.parts.items()
            ],
        }

    def load(self, d: dict[str, Any] | None, item_load: Any = lambda x: x) -> None:
        """Restore from :meth:`dump`; arrival times restart (see the module docstring)."""
        if not d:
            return
        self._clock = d.get("clock")
        self.outliers = int(d.get("outliers", 0))
        self.arrival = self.first_arrival = None
        for p, max_ts, _last, held, *rest in d.get("parts", []):
            key = tuple(p) if isinstance(p, list) else p
            # A partition behind at the crash is behind still (its records are not going
            # anywhere); older dumps have no flag.
            self.parts[key] = PartitionClock(
                max_ts=max_ts,
                behind=bool(rest and rest[0]),
                held=[_Held(float(ts), item_load(it)) for ts, it in held],
            )
