"""Every file finpulse writes lives under ``settings.data_dir``; these say where.

Nothing is written relative to the working directory unless ``data_dir`` itself is relative
(the default ``.finpulse``), so a dashboard started elsewhere finds the same store when
``data_dir`` is set.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_DATA_DIR = ".finpulse"


def store_url(data_dir: str | Path) -> str:
    """The default SQLite store: ``<data_dir>/finpulse.db``."""
    return f"sqlite:///{Path(data_dir) / 'finpulse.db'}"


def archive_dir(data_dir: str | Path) -> str:
    """The default daily document archive: ``<data_dir>/archive``."""
    return str(Path(data_dir) / "archive")


def worker_dir(data_dir: str | Path) -> Path:
    """The stream worker's own state (Faust's ``datadir``): ``<data_dir>/worker``."""
    return Path(data_dir) / "worker"


def broker_address_file(data_dir: str | Path) -> Path:
    """Where a running embedded broker writes its bootstrap address."""
    return Path(data_dir) / "broker.addr"


def broker_log(data_dir: str | Path) -> Path:
    """The embedded broker's log when the demo starts it."""
    return Path(data_dir) / "broker.log"


def backtest_cache_dir(data_dir: str | Path) -> Path:
    """The backtest's classification cache: ``<data_dir>/cache/backtest``."""
    return Path(data_dir) / "cache" / "backtest"
