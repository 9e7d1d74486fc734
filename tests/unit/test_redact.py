"""Secrets never reach a log line or an error message: URL passwords, keys, webhook URLs."""

from __future__ import annotations

import io
import logging

import pytest
from click.testing import CliRunner

from foundation.errors import StoreError
from foundation.logs import RedactFilter, setup_logging
from foundation.redact import mask_url, redact, register_secret, register_settings_secrets
from foundation.settings import StoreSettings, load_settings
from foundation.store import Store

PG = "postgresql+psycopg://finpulse:hunter2-Secret@127.0.0.1:9/finpulse"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (PG, "hunter2-Secret"),
        ("postgresql://u:p%40ss%3Aword@db:5432/x", "p%40ss%3Aword"),
        ("postgresql://u:p@ss@db:5432/x", "p@ss"),  # an unencoded "@" in the password
        ("kafka://svc:kafka-pass@broker:9092", "kafka-pass"),
        ("https://feed.example/rss?api_key=abc123def&x=1", "abc123def"),
        ("https://x.example/hook?token=tok-9988", "tok-9988"),
        ("https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX", "XXXXsecretXXXX"),
        ("error at 'postgresql://a:zz-top-99@h/db': refused", "zz-top-99"),
    ],
)
def test_redact_masks_url_secrets(text, secret):
    out = redact(text)
    assert secret not in out and "***" in out


def test_redact_keeps_what_is_not_secret():
    assert mask_url("sqlite:///.finpulse/finpulse.db") == "sqlite:///.finpulse/finpulse.db"
    assert mask_url(PG) == "postgresql+psycopg://finpulse:***@127.0.0.1:9/finpulse"
    assert redact("https://news.example/a?id=3&page=2") == "https://news.example/a?id=3&page=2"


def test_registered_secrets_from_settings_are_masked_anywhere(monkeypatch):
    monkeypatch.setenv("HOOK_KEY_T", "hmac-key-0123456789")
    settings = load_settings(
        store={"url": PG},
        sinks=[{"name": "h", "kind": "webhook", "url": "http://r/h", "secret_env": "HOOK_KEY_T"}],
        dashboard={"secret_key": "flask-session-key-xyz"},
    )
    register_settings_secrets(settings)
    line = "signing with hmac-key-0123456789, session key flask-session-key-xyz, pw hunter2-Secret"
    assert redact(line) == "signing with ***, session key ***, pw ***"


def test_store_errors_do_not_show_the_password():
    with pytest.raises(StoreError) as err:
        Store(PG, options=StoreSettings(url=PG, connect_timeout_s=0))
    assert "hunter2-Secret" not in str(err.value)
    assert "finpulse:***@127.0.0.1:9" in str(err.value)


def _capture(logger: logging.Logger) -> io.StringIO:
    buf = io.StringIO()
    h = logging.StreamHandler(buf)
    h.addFilter(RedactFilter())
    logger.addHandler(h)
    return buf


def test_logging_filter_masks_messages_arguments_and_tracebacks():
    log = logging.getLogger("finpulse.test.redact")
    log.propagate = False
    buf = _capture(log)
    register_secret("wh-key-5566778899")
    log.warning("store %s unreachable", PG)
    log.warning("sink answered 401 for key %s", "wh-key-5566778899")
    try:
        raise RuntimeError(f"cannot connect to {PG}")
    except RuntimeError:
        log.exception("worker failed")
    out = buf.getvalue()
    assert "hunter2-Secret" not in out and "wh-key-5566778899" not in out
    assert out.count("***") >= 3 and "Traceback" in out


def test_handlers_added_after_setup_are_covered_too():
    # Libraries (Faust's worker) install handlers of their own: the record factory masks.
    setup_logging("INFO")
    log = logging.getLogger("finpulse.test.late_handler")
    log.propagate = False
    buf = io.StringIO()
    log.addHandler(logging.StreamHandler(buf))  # no filter on this one
    log.warning("connecting to %s", PG)
    assert "hunter2-Secret" not in buf.getvalue() and "finpulse:***@" in buf.getvalue()


def test_dashboard_start_up_line_masks_the_store_password(monkeypatch, tmp_path):
    import werkzeug.serving

    import dashboard.app
    from cli.main import main

    # Everything real up to the line; only serving (which would block) and the app, which
    # would need the database, are left out.
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *a, **k: None)
    monkeypatch.setattr(
        dashboard.app, "create_app", lambda settings: type("A", (), {"server": None})
    )
    monkeypatch.setenv("FINPULSE_STORE__URL", PG)
    res = CliRunner().invoke(main, ["dashboard"])
    assert res.exit_code == 0, res.output
    assert "hunter2-Secret" not in res.output
    assert "(store postgresql+psycopg://finpulse:***@127.0.0.1:9/finpulse)" in res.output


def test_cli_error_line_masks_the_password(monkeypatch, tmp_path):
    from cli.main import main

    monkeypatch.setenv("FINPULSE_STORE__URL", PG)
    monkeypatch.setenv("FINPULSE_STORE__CONNECT_TIMEOUT_S", "0")
    res = CliRunner().invoke(main, ["corrections", "export", "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 2
    assert any(line.startswith("error: cannot") for line in res.output.splitlines())
    assert "hunter2-Secret" not in res.output  # the warning before it too


def test_store_under_a_file_is_an_error_line_not_a_traceback(monkeypatch, tmp_path):
    from cli.main import main

    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("FINPULSE_STORE__URL", f"sqlite:///{tmp_path}/afile/sub/s.db")
    res = CliRunner().invoke(main, ["corrections", "export", "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert f"cannot create the store folder {tmp_path}/afile/sub: {tmp_path}/afile is a file" in (
        res.output
    )


def test_data_dir_that_cannot_be_written_is_an_error_line(monkeypatch, tmp_path):
    from importlib import resources

    from cli.main import main

    sample = str(resources.files("ingest") / "data" / "demo_sample.jsonl.gz")
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("FINPULSE_DATA_DIR", str(tmp_path / "afile"))
    res = CliRunner().invoke(main, ["backtest", "--model", "baseline", sample])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "error: cannot use " in res.output and "Not a directory" in res.output
