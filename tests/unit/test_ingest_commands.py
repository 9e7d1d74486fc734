"""`finpulse feeds check` and `feeds list` on files (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from foundation.errors import ConfigError
from foundation.settings import Settings, SourceSettings
from ingest.sources.registry import configured_sources, load_source_list

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_feeds_check_text_lists_documents_and_problems(tmp_path):
    feed = tmp_path / "broken.xml"
    feed.write_bytes(
        b'<rss version="2.0"><channel><title>Broken</title><item><title>Coinbase shares '
        b"slide</title><link>https://a/1?utm_source=x</link></item><item><title>Tw"
    )
    res = run("feeds", "check", str(feed))
    assert res.exit_code == 0, res.output
    assert "Coinbase shares slide" in res.output and "[COIN]" in res.output
    assert "https://a/1\n" in res.output  # canonical link shown
    assert "problems:" in res.output and "malformed feed" in res.output
    assert "published:missing" in res.output


def test_feeds_check_json_on_real_fixture():
    path = FIXTURES / "stocktwits" / "eth_x_2022-07-03_first100.json"
    if not path.is_file():
        pytest.skip(f"fixture not present: {path}")
    res = run("feeds", "check", "--json", str(path))
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert out["kind"] == "stocktwits" and out["count"] == 100 and out["problems"] == []
    assert out["documents"][0]["kind"] == "social"


def test_feeds_check_fails_clearly_on_non_feed(tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text('{"kind": "t3"}')
    res = run("feeds", "check", "--kind", "reddit", str(junk))
    assert res.exit_code == 1 and "not a Reddit Listing" in res.output
    res = run("feeds", "check", str(tmp_path / "missing.xml"))
    assert res.exit_code == 2 and "no such file" in res.output


def test_default_source_list_is_valid_and_covers_every_kind():
    sources = configured_sources(Settings())
    kinds = {s.kind for s in sources}
    assert {"rss", "reddit", "stocktwits"} <= kinds and len(sources) >= 15
    assert all(s.url.startswith("https://") for s in sources)
    res = run("feeds", "list")
    assert res.exit_code == 0 and "r/wallstreetbets" in res.output


def test_bad_source_list_names_the_field(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text('[[sources]]\nname = "x"\nkind = "nntp"\nurl = "https://a"\n')
    with pytest.raises(ConfigError, match=r"source 1 .*kind"):
        load_source_list(bad)
    s = Settings(
        ingest={"sources": [SourceSettings(name="a", url="u"), SourceSettings(name="a", url="v")]}
    )
    with pytest.raises(ConfigError, match="unique"):
        configured_sources(s)


def test_ingest_dry_run_once_prints_new_documents_of_a_jsonl_source(tmp_path, monkeypatch):
    lines = [
        {
            "id": f"{i:040x}",
            "source": "Archive",
            "title": title,
            "summary": "",
            "link": f"https://news.example/{i}",
            "published": "2022-11-08T16:31:05Z",
        }
        for i, title in enumerate(
            [
                "Binance agrees to buy FTX amid liquidity crunch",
                "Binance Agrees to Buy FTX Amid Liquidity Crunch - Reuters",  # duplicate
                "Coinbase shares slump as crypto selloff deepens",
            ]
        )
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    config = tmp_path / "finpulse.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
        f'[[ingest.sources]]\nname = "file"\nkind = "jsonl"\nurl = "{feed}"\nlocal = true\n'
    )
    monkeypatch.setenv("FINPULSE_CONFIG", str(config))
    res = CliRunner().invoke(main, ["ingest", "--once", "--dry-run"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    printed = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert [d["id"] for d in printed] == [lines[0]["id"], lines[2]["id"]]
    assert printed[1]["tickers"] == ["COIN"]
    assert "fetched 3, published 2, duplicates 1" in res.output
    assert not (tmp_path / "s.db").exists()  # a dry run touches no store
