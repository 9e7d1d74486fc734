"""One exception tree: every error a user can act on is a FinpulseError subclass."""

from __future__ import annotations


class FinpulseError(Exception):
    """Base of every error finpulse raises on purpose; the CLI prints it without a traceback."""


class ConfigError(FinpulseError):
    """A setting is missing or invalid; the message names the field."""


class BrokerError(FinpulseError):
    """The Kafka broker cannot be started or reached."""


class SourceError(FinpulseError):
    """A feed or archive could not be fetched or parsed."""


class ModelError(FinpulseError):
    """A model folder is missing, incomplete, or its labels do not match."""


class StoreError(FinpulseError):
    """The SQL store is unreachable or its schema is incompatible."""
