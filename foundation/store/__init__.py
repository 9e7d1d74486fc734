"""The SQL store: the only code that speaks SQL to finpulse's tables."""

from foundation.store.store import (
    Store,
    alert_row,
    alerts,
    corrections,
    dead_letters,
    deliveries,
    documents,
    ensure_indexes,
    make_engine,
    metadata,
    scored_row,
    source_health,
    window_row,
    window_stats,
)

__all__ = [
    "Store",
    "alert_row",
    "alerts",
    "corrections",
    "dead_letters",
    "deliveries",
    "documents",
    "ensure_indexes",
    "make_engine",
    "metadata",
    "scored_row",
    "source_health",
    "window_row",
    "window_stats",
]
