"""`finpulse classify`: a bad stdin line is reported with its number, the others still scored;
each row shows the tickers, entities, sectors and scopes the text would count in."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli.main import main


def classify(stdin: str | None = None, *texts: str):
    return CliRunner().invoke(main, ["classify", "--model", "baseline", *texts], input=stdin)


def test_bad_lines_are_reported_and_good_lines_still_scored() -> None:
    stdin = (
        '{"id": "a1", "text": "Bank shares plunge"}\n'
        "not json\n"
        '{"txt": "no text field"}\n'
        "\n"
        '{"id": "a2", "text": "Oil prices rise"}\n'
    )
    r = classify(stdin)
    assert r.exit_code == 1
    assert [json.loads(x)["id"] for x in r.stdout.strip().splitlines()] == ["a1", "a2"]
    assert "stdin line 2: not JSON" in r.stderr
    assert 'stdin line 3: expected an object with a "text" string field' in r.stderr
    assert "2 bad line(s)" in r.stderr


def test_every_line_good_exits_zero() -> None:
    r = classify('"Bank shares plunge"\n{"text": "Oil prices rise"}\n')
    assert r.exit_code == 0, r.output
    assert len(r.stdout.strip().splitlines()) == 2


def test_rows_show_the_scopes_a_text_feeds() -> None:
    r = classify(None, "JPMorgan shares plunge after FTX collapse")
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)
    assert row["tickers"] == ["JPM"]
    assert row["entities"] == ["FTX"]
    assert {"financials", "crypto"} <= set(row["sectors"])
    assert "ticker:JPM" in row["scopes"] and "sector:financials" in row["scopes"]
    assert "all:all" in row["scopes"] and f"topic:{row['topic']}" in row["scopes"]


def test_rows_show_the_watchlists_a_text_feeds(tmp_path, monkeypatch) -> None:
    # --config sets FINPULSE_CONFIG for the process: restored after the test.
    monkeypatch.setenv("FINPULSE_CONFIG", "")
    monkeypatch.delenv("FINPULSE_CONFIG")
    toml = tmp_path / "w.toml"
    toml.write_text('[[watchlists]]\nname = "my-banks"\naliases = ["JPMorgan", "Credit Suisse"]\n')
    r = CliRunner().invoke(
        main, ["--config", str(toml), "classify", "--model", "baseline", "JPMorgan slumps"]
    )
    assert r.exit_code == 0, r.output
    assert "watchlist:my-banks" in json.loads(r.stdout)["scopes"]
