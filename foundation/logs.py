"""Logging set-up: one line per record, with the process role as a prefix for the demo."""

from __future__ import annotations

import logging
import os
import sys


def setup_logging(level: str = "INFO") -> None:
    role = os.environ.get("FINPULSE_ROLE", "")
    prefix = f"[{role}] " if role else ""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format=f"{prefix}%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("aiokafka", "kafka", "faust", "mode", "urllib3", "httpx", "werkzeug", "alembic"):
        if level != "DEBUG":
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if level != "DEBUG":
        # Faust warns "producer buffer full" whenever more than 100 table changelog records
        # wait to be sent: ordinary back-pressure during a fast replay (it then flushes and
        # nothing is lost), not a fault an operator can act on.
        logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)
