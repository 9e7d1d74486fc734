"""The topic names every finpulse deployment uses, by short name (settings add the prefix)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from foundation.settings import Settings

DOCUMENTS = "documents"
SCORED = "scored"
WINDOW_STATS = "window-stats"
ALERTS = "alerts"
ALERTS_DEAD = "alerts.dead"
TOPIC_NAMES = (DOCUMENTS, SCORED, WINDOW_STATS, ALERTS, ALERTS_DEAD)


def settings_topics(settings: Settings) -> dict[str, int]:
    """{full topic name: partitions} for the topics a Settings object's pipeline uses."""
    return {settings.broker.topic(n): settings.broker.partitions for n in TOPIC_NAMES}
