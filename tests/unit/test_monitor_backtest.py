"""`finpulse backtest`: offline alerts over an archive, deterministic, languages skipped."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from monitor.cli import main

T0 = datetime(2023, 3, 8, tzinfo=UTC)


def write_archive(path):
    lines = []
    n = 0

    def doc(at, title, language="en-US", source="Wire"):
        nonlocal n
        n += 1
        lines.append(
            json.dumps(
                {
                    "id": f"d{n:05d}",
                    "source": source,
                    "title": title,
                    "summary": "",
                    "link": f"https://news.example/{n}",
                    "published": at.isoformat().replace("+00:00", "Z"),
                    "language": language,
                }
            )
        )

    # A day of calm bank news (one every 4 minutes), then two hours of a collapse.
    for i in range(360):
        at = T0 + timedelta(minutes=4 * i)
        doc(at, f"Bank lender holds steady {i}")
        doc(at + timedelta(seconds=30), f"Bank hält Sitzung {i}", language="pl-PL")
    surge = T0 + timedelta(hours=24)
    for i in range(60):
        doc(surge + timedelta(minutes=2 * i), f"Bank collapse: lender deposits frozen, crisis {i}")
    for i in range(60):
        doc(surge + timedelta(hours=2, minutes=4 * i), f"Bank lender holds steady b{i}")
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(reversed(lines)) + "\n")  # out of order on purpose


def run(args):
    r = CliRunner().invoke(main, ["backtest", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_backtest_finds_the_surge_and_is_deterministic(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    write_archive(path)
    html = tmp_path / "r.html"
    first = run([str(path), "--json", "--model", "baseline", "--html", str(html)])
    second = run([str(path), "--json", "--model", "baseline"])
    assert first == second
    data = json.loads(first)
    assert data["documents"] == 360 * 2 + 120
    assert data["skipped"] == {"language:pl": 360}
    scopes = {(a["scope_kind"], a["scope"]) for a in data["alerts"]}
    assert ("topic", "financials") in scopes
    a = next(a for a in data["alerts"] if a["scope"] == "financials")
    assert a["startsAt"] >= "2023-03-09T00:00:00Z"
    assert a["endsAt"] is not None and a["endsAt"] < "2023-03-09T06:00:00Z"
    assert a["peak"]["negative_share"] > 0.5
    assert a["evidence"] and "collapse" in a["evidence"][0]["title"]
    assert a["fingerprint"] and a["dashboard_url"].startswith("http")
    text = html.read_text()
    assert "plotly" in text and len(text) > 100_000  # self-contained (plotly.js inlined)


def test_backtest_human_output(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    write_archive(path)
    out = run([str(path), "--model", "baseline"])
    assert "840 documents" in out and "topic:financials" in out
