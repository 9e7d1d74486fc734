"""Agents take each input partition's records in offset order (foundation.kafka.offset_order):
the Faust side of the guard, a filter on a batch of events plus the seeks it asks for.

A seek is started, not awaited: the agent keeps taking (and dropping) what was queued before
it, since awaiting it from the agent deadlocks with a consumer thread blocked on the agent's
full queue. Faust's fetch loop also filters records by the last offset it handed over, so a
record fetched before the seek but handed over after it hides the re-read ones; every record
the guard still drops after a seek finished starts another seek.

It reaches into three private attributes of Faust 0.15's consumer, each read defensively
(tests/unit/test_runtime_ordered.py checks they exist): ``_committed_offset`` (where each
partition was sought to), ``_unacked_messages`` and ``_gap`` (the offsets Faust would count
as done without a record).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from foundation.kafka.offset_order import OffsetOrder

log = logging.getLogger(__name__)


def committed_offset(app: Any, tp: Any) -> int | None:
    committed = getattr(app.consumer, "_committed_offset", None) or {}
    value = committed.get(tp)
    return value if isinstance(value, int) else None


def _withhold_ack(app: Any, msg: Any) -> None:
    # A dropped record is read again after the seek: its offset must not count as done
    # meanwhile, or a commit could pass it. Marked acked, Faust's own ack leaves it out.
    msg.acked = True
    unacked = getattr(app.consumer, "_unacked_messages", None)
    if unacked is not None:
        unacked.discard(msg)


def _unfill(app: Any, tp: Any, start: int) -> None:
    # Faust records a jump in offsets as a gap it may commit past; from the hole on, the
    # records are read again, and a real gap is recorded again when they are.
    gaps = (getattr(app.consumer, "_gap", None) or {}).get(tp)
    if gaps:
        gaps.chop(start, max(gaps.end(), start + 1))


class OrderedInput:
    """One agent's guard: :meth:`filter` a batch of events."""

    def __init__(self, app: Any, agent: str) -> None:
        self.app = app
        self.agent = agent
        self.order = OffsetOrder()
        self._seeking: dict[Any, asyncio.Future[Any]] = {}

    def filter(self, events: Sequence[Any]) -> list[Any]:
        """The events to process, in order; for a hole, the partition is sought back to the
        first missing offset so its records are read again."""
        kept: list[Any] = []
        seek: dict[Any, int] = {}
        for ev in events:
            msg = ev.message
            verdict = self.order.check(msg.tp, msg.offset, committed_offset(self.app, msg.tp))
            if verdict == "process":
                kept.append(ev)
                continue
            if verdict == "duplicate":
                continue  # handled before; its ack changes nothing
            _withhold_ack(self.app, msg)
            expected = self.order.next_offset(msg.tp)
            if expected is None:
                continue
            if verdict == "hole":
                log.warning(
                    "%s: %s[%d] jumped from offset %d to %d; reading the records in between again",
                    self.agent,
                    msg.tp.topic,
                    msg.tp.partition,
                    expected,
                    msg.offset,
                )
            seek[msg.tp] = expected
        for tp, offset in seek.items():
            running = self._seeking.get(tp)
            if running is None or running.done():
                self._seeking[tp] = asyncio.ensure_future(self._seek(tp, offset))
        return kept

    async def _seek(self, tp: Any, offset: int) -> None:
        _unfill(self.app, tp, offset)
        try:
            await self.app.consumer.seek(tp, offset)
        except Exception as exc:  # e.g. the partition was revoked meanwhile
            log.warning("%s: could not seek %s back to %d: %s", self.agent, tp, offset, exc)
