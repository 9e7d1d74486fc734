"""Stream side of alerting: aggregation, detection and notification agents on the Faust app.

``register`` is called by ``monitor.app.create_app``; the windowing, detection and alert
lifecycle it drives are the pure modules beside it.
"""

from __future__ import annotations

from typing import Any


def register(app: Any, settings: Any, topics: Any, store: Any) -> None:
    """Attach the aggregate/detect/notify agents to ``app`` (filled in by the monitor package)."""
