"""Logging set-up: one line per record, with the process role as a prefix for the demo.

Every line goes through :class:`RedactFilter` (secrets masked, :mod:`foundation.redact`),
installed on the root handlers and, for handlers that libraries set up later (Faust's worker
configures its own), in the log record factory.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from foundation.redact import redact

_formatter = logging.Formatter()


def redact_record(record: logging.LogRecord) -> None:
    """Mask secrets in ``record``'s message, exception and stack text, in place."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it itself, later
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = _formatter.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactFilter(logging.Filter):
    """A handler filter that masks secrets in every record it passes on."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    redact_record(record)
    return record


def setup_logging(level: str = "INFO") -> None:
    role = os.environ.get("FINPULSE_ROLE", "")
    prefix = f"[{role}] " if role else ""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format=f"{prefix}%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactFilter())
    logging.setLogRecordFactory(_redacting_factory)
    for noisy in ("aiokafka", "kafka", "faust", "mode", "urllib3", "httpx", "werkzeug", "alembic"):
        if level != "DEBUG":
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if level != "DEBUG":
        # Faust warns "producer buffer full" whenever more than 100 table changelog records
        # wait to be sent: ordinary back-pressure during a fast replay (it then flushes and
        # nothing is lost), not a fault an operator can act on.
        logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)
