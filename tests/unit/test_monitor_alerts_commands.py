"""`finpulse alerts`: silence, list (marked), ack, unsilence, redeliver, each audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from cli.main import main
from foundation.schemas import Alert
from foundation.store import Store
from monitor.core.lifecycle import fingerprint

T = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def env(tmp_path, monkeypatch):
    for k in list(__import__("os").environ):
        if k.startswith("FINPULSE_"):
            monkeypatch.delenv(k)
    url = f"sqlite:///{tmp_path}/s.db"
    monkeypatch.setenv("FINPULSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINPULSE_STORE__URL", url)
    store = Store(url)
    for scope in ("SIVB", "JPM"):
        store.upsert_alerts(
            [
                Alert(
                    fingerprint=fingerprint("negative_surge", "ticker", scope),
                    rule="negative_surge",
                    scope_kind="ticker",
                    scope=scope,
                    status="firing",
                    starts_at=T,
                    updated_at=T,
                )
            ]
        )
    return store


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_silence_list_ack_unsilence_and_the_audit_trail(env):
    out = run(
        "alerts",
        "silence",
        "scope_kind=ticker",
        "scope=SIVB",
        "--for",
        "2h",
        "-c",
        "SVB",
        "--user",
        "alice",
    )
    assert out.exit_code == 0, out.output
    sid = out.output.split()[1].rstrip(":")
    listed = run("alerts", "list").output
    sivb = next(line for line in listed.splitlines() if "SIVB" in line)
    jpm = next(line for line in listed.splitlines() if "JPM" in line)
    assert f"silenced by {sid}" in sivb and "silenced" not in jpm
    fp = fingerprint("negative_surge", "ticker", "JPM")
    assert run("alerts", "ack", fp, "-c", "looking", "--user", "bob").exit_code == 0
    assert "acked by bob" in next(
        line for line in run("alerts", "list").output.splitlines() if "JPM" in line
    )
    assert run("alerts", "unsilence", sid, "--user", "carol").exit_code == 0
    assert "silenced" not in run("alerts", "list").output
    assert "expired" in run("alerts", "silences", "--all").output
    audit = [(r.user, r.action) for r in reversed(env.audit_rows())]
    assert audit == [("alice", "silence"), ("bob", "ack"), ("carol", "unsilence")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["silence", "scope=SIVB", "-c", "x"], "exactly one of --for"),
        (["silence", "scope=SIVB", "--for", "2 parsecs", "-c", "x"], "duration"),
        (["silence", "tick=SIVB", "--for", "2h", "-c", "x"], "unknown label 'tick'"),
        (["silence", "scope=SIVB", "--for", "2h", "-c", " "], "needs a comment"),
        (["silence", "watchlist=banks", "--for", "2h", "-c", "x"], "no watchlist 'banks'"),
        (["ack", "nope", "-c", "x"], "no alert with fingerprint 'nope'"),
        (["unsilence", "nope"], "no silence with id 'nope'"),
        (["redeliver", "--sink", "nope"], "unknown sink(s) nope"),
        (["test-sink", "nope"], "no sink named 'nope'"),
    ],
)
def test_bad_requests_say_what_is_wrong_and_exit_2(env, args, message):
    out = CliRunner().invoke(main, ["alerts", *args])
    assert out.exit_code == 2, out.output
    assert message in out.output
