"""Embedded broker: clear errors for a missing binary and a port clash; address resolution."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from foundation.errors import BrokerError
from foundation.kafka.broker import EmbeddedBroker, find_tansu, resolve_bootstrap
from foundation.settings import load_settings


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FINPULSE_TANSU_BIN", str(tmp_path / "nope"))
    with pytest.raises(BrokerError, match="not an executable"):
        find_tansu()
    with pytest.raises(BrokerError):
        EmbeddedBroker().start()


def test_port_clash_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} .*already in use"):
            EmbeddedBroker(port=port).start()


def test_bundled_binary_is_found() -> None:
    assert find_tansu().name == "tansu"


def test_bootstrap_from_url_or_address_file(tmp_path: Path) -> None:
    s = load_settings(data_dir=str(tmp_path), broker={"url": "kafka://h1:9092,kafka://h2:9092"})
    assert resolve_bootstrap(s) == "h1:9092,h2:9092"
    s = load_settings(data_dir=str(tmp_path))
    with pytest.raises(BrokerError, match="finpulse broker"):
        resolve_bootstrap(s)
    (tmp_path / "broker.addr").write_text("127.0.0.1:5555\n")
    assert resolve_bootstrap(s) == "127.0.0.1:5555"
