"""The backtest report (`finpulse backtest --html`): every alerted scope is in the page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from dashboard.figures import integer_ticks
from dashboard.report import choose_bin_s, report_scopes

DEMO = Path(str(resources.files("ingest") / "data" / "demo_sample.jsonl.gz"))


class Page(HTMLParser):
    """Panels (scope kind, scope) and alert-table rows of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.panels: list[tuple[str, str]] = []
        self.rows = 0
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("class") == "panel":
            self.panels.append((a["data-scope-kind"] or "", a["data-scope"] or ""))
        if tag == "table" and a.get("class") == "alerts":
            self._in_table = True
        if tag == "tr" and self._in_table:
            self.rows += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False


def test_every_alerted_scope_of_the_demo_sample_is_in_the_page(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = CliRunner().invoke(
        main,
        ["backtest", str(DEMO), "--model", "baseline", "--no-cache", "--json", "--html", str(out)],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    alerted = {(a["scope_kind"], a["scope"]) for a in data["alerts"]}
    assert len(alerted) >= 5  # the demo's surge touches many scopes
    page = Page()
    text = out.read_text(encoding="utf-8")
    page.feed(text)
    assert alerted <= set(page.panels)
    assert page.rows == 1 + len(data["alerts"])  # a header, then one row per episode
    # Each panel's chart has a figure, with titled axes.
    ids = re.findall(r'<div class="chart" id="([^"]+)">', text)
    assert len(ids) == len(page.panels)
    assert "mean score (−1 … 1)" in text and "negative share" in text
    if data.get("incidents"):
        assert f"Incidents ({len(data['incidents'])})" in text


def test_no_limit_on_the_number_of_panels() -> None:
    episodes = [
        {"scope_kind": "ticker", "scope": f"T{i:02d}", "startsAt": f"2024-01-01T00:{i:02d}:00Z"}
        for i in range(30)
    ]
    scopes = report_scopes(episodes, [])
    assert scopes[0] == ("all", "all")
    assert scopes[1:] == [("ticker", f"T{i:02d}") for i in range(30)]


def test_volume_ticks_are_whole_numbers() -> None:
    for top in (0, 1, 3, 7, 12, 40, 285, 9999):
        t = integer_ticks(top)
        assert t["tickformat"] == "d" and isinstance(t["dtick"], int) and t["dtick"] >= 1
        assert top / t["dtick"] <= 5


def test_progress_bars_only_when_asked_or_on_a_terminal() -> None:
    args = ["backtest", str(DEMO), "--model", "baseline", "--no-cache"]
    quiet = CliRunner().invoke(main, args)  # stderr is not a terminal here
    assert quiet.exit_code == 0 and "backtest: classify" not in quiet.stderr
    shown = CliRunner().invoke(main, [*args, "--progress"])
    assert shown.exit_code == 0
    for phase in ("backtest: read", "backtest: classify", "backtest: detect"):
        assert phase in shown.stderr
    assert "1500/1500" in shown.stderr


def test_sparse_scopes_get_coarser_bins() -> None:
    from datetime import UTC, datetime, timedelta

    from foundation.schemas import WindowStat

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    day = [
        WindowStat(
            scope_kind="all",
            scope="all",
            window_start=t0 + timedelta(minutes=5 * i),
            window_end=t0 + timedelta(minutes=5 * i + 5),
            count=6,
            negative=1,
            neutral=4,
            positive=1,
            score_sum=0.0,
        )
        for i in range(288)
    ]
    assert choose_bin_s(day) == 300  # a day of 5-minute windows: drawn per window
    assert choose_bin_s(day, docs=10 * 288) == 300  # busy: per window
    assert choose_bin_s(day, docs=6 * 288) == 900  # 6 a window: 18 per 15-minute bin
    assert choose_bin_s(day, docs=180) == 1800  # ~0.6 a window: 30-minute bins
    assert choose_bin_s(day, docs=3) == 1800  # never fewer than 48 bins in the day
