"""`finpulse --version`, `config show` (secrets masked), `config check`, and the refusal of
environment variables naming an unknown settings section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from foundation.config_check import mask_url
from foundation.errors import ConfigError
from foundation.settings import check_environment, load_settings

SINKS = """
[[sinks]]
name = "ops"
kind = "webhook"
url = "https://hooks.example/finpulse"
secret_env = "TEST_FINPULSE_OPS_KEY"

[[sinks]]
name = "chat"
kind = "slack"
url = "https://hooks.slack.com/services/T000/B000/verysecret"

[store]
url = "postgresql://finpulse:hunter2@db.example/finpulse"
"""


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, args, env=env)
    return r.exit_code, r.stdout, r.stderr


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "finpulse.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # load_settings(FILE) sets FINPULSE_CONFIG for the process; setting it here first makes
    # monkeypatch restore the original state after the test, so no later test sees our file.
    for name in ("FINPULSE_CONFIG", "TEST_FINPULSE_OPS_KEY"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_version() -> None:
    code, out, _ = invoke(["--version"])
    assert code == 0 and out.startswith("finpulse ") and out.strip().split()[-1][0].isdigit()


def test_check_reports_a_missing_secret(tmp_path: Path) -> None:
    path = write(tmp_path, SINKS)
    code, _, err = invoke(["config", "check", str(path)])
    assert code == 1
    assert "sinks[0] (ops): secret_env TEST_FINPULSE_OPS_KEY is not set" in err
    code, out, err = invoke(["config", "check", str(path)], env={"TEST_FINPULSE_OPS_KEY": "k"})
    assert code == 0, err
    assert "ok" in out


def test_check_reports_a_bad_url(tmp_path: Path) -> None:
    bad = SINKS.replace("https://hooks.example/finpulse", "hooks.example/finpulse")
    code, _, err = invoke(
        ["config", "check", str(write(tmp_path, bad))], env={"TEST_FINPULSE_OPS_KEY": "k"}
    )
    assert code == 1
    assert "sinks[0] (ops): url 'hooks.example/finpulse' scheme '(none)'" in err


def test_check_refuses_an_invalid_file(tmp_path: Path) -> None:
    code, _, err = invoke(["config", "check", str(write(tmp_path, "[modle]\npath = 'x'\n"))])
    assert code == 2 and "modle" in err


def test_show_masks_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, SINKS)
    code, out, err = invoke(
        ["--config", str(path), "config", "show"],
        env={"FINPULSE_DASHBOARD__SECRET_KEY": "s3cret-key"},
    )
    assert code == 0, err
    assert "hunter2" not in out and "verysecret" not in out and "s3cret-key" not in out
    data = json.loads(out)
    assert data["store"]["url"] == "postgresql://finpulse:***@db.example/finpulse"
    assert data["sinks"][0]["url"] == "https://hooks.example/finpulse"  # not a secret
    assert data["sinks"][0]["secret_env"] == "TEST_FINPULSE_OPS_KEY"  # the name, not a value


def test_mask_url_hides_secret_query_values() -> None:
    assert (
        mask_url("https://x.example/a?token=abc&page=2") == "https://x.example/a?token=***&page=2"
    )


def test_unknown_section_in_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="FINPULSE_MODLE__PATH"):
        check_environment({"FINPULSE_MODLE__PATH": "x", "FINPULSE_MODEL__PATH": "y"})
    check_environment({"FINPULSE_MODEL__PATH": "y", "FINPULSE_WEBHOOK_KEY": "k"})  # fine
    monkeypatch.setenv("FINPULSE_MODLE__PATH", "x")
    with pytest.raises(ConfigError, match="FINPULSE_MODLE__PATH"):
        load_settings()
    code, _, err = invoke(["feeds", "list"])
    assert code == 2 and "FINPULSE_MODLE__PATH" in err


def test_check_online_fetches_every_source(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Feed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/feed.xml"
            body = b'<rss version="2.0"><channel><title>t</title></channel></rss>' if ok else b""
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_port}"
    toml = (
        f'[[ingest.sources]]\nname = "good"\nurl = "{base}/feed.xml"\n\n'
        f'[[ingest.sources]]\nname = "gone"\nurl = "{base}/missing.xml"\n'
    )
    try:
        code, _, err = invoke(["config", "check", str(write(tmp_path, toml)), "--online"])
    finally:
        srv.shutdown()
    assert code == 1
    assert "source gone: HTTP 404" in err and "source good" not in err
    assert "2 source(s) fetched" in err
