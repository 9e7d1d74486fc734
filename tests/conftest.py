"""Session-wide fixtures: real servers shared by every tier (started once, stopped after).

- ``postgres``: a PostgreSQL server (tests/servers.py); ``store_url`` is parametrised over
  SQLite and PostgreSQL, one new database per test, so store tests run on both.
- ``prometheus``: a Prometheus server (``set_targets`` points its scrape job, ``query`` asks
  its HTTP API); Alertmanager is started by its own test module (it needs its receiver).

Without the binaries the tests that need them are skipped with the command to install
them, except under CI (``CI=true``), where a missing server is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import servers
from servers import BACKENDS, empty_store_url, unavailable


@pytest.fixture(scope="session")
def postgres() -> Iterator[servers.PostgresServer]:
    try:
        pg = servers.PostgresServer().start()
    except servers.ServerUnavailable as exc:
        unavailable(exc)
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store on each backend in turn (the test runs once per backend)."""
    return empty_store_url(request, request.param, tmp_path)


@pytest.fixture(scope="session")
def prometheus() -> Iterator[servers.Prometheus]:
    try:
        prom = servers.Prometheus().start()
    except servers.ServerUnavailable as exc:
        unavailable(exc)
    try:
        yield prom
    finally:
        prom.stop()
