"""The backtest report in a real browser: every alerted scope's chart draws when scrolled to,
and a click on an alert's row zooms its chart to the episode (console stays clean)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import SCREENSHOTS
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cli.main import main

DEMO = Path(str(resources.files("ingest") / "data" / "demo_sample.jsonl.gz"))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    args = ["backtest", str(DEMO), "--model", "baseline", "--no-cache", "--json"]
    r = CliRunner().invoke(main, [*args, "--html", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout)


def drawn(driver: Any, chart_id: str) -> Any:
    return driver.execute_script(
        "const g = document.getElementById(arguments[0]);"
        "return g && g.data ? {traces: g.data.length, range: g.layout.xaxis.range} : null;",
        chart_id,
    )


def test_every_alerted_scope_draws_and_a_row_zooms_its_chart(driver, report) -> None:
    path, data = report
    driver.get(path.as_uri())
    alerted = {(a["scope_kind"], a["scope"]) for a in data["alerts"]}
    panels = driver.find_elements(By.CSS_SELECTOR, "section.panel")
    seen = {(p.get_attribute("data-scope-kind"), p.get_attribute("data-scope")) for p in panels}
    assert alerted <= seen
    for p in panels:
        driver.execute_script("arguments[0].scrollIntoView()", p)
        chart = p.find_element(By.CSS_SELECTOR, ".chart").get_attribute("id")
        WebDriverWait(driver, 20).until(lambda d, c=chart: drawn(d, c))
    driver.execute_script("window.scrollTo(0, 0)")
    link = driver.find_elements(By.CSS_SELECTOR, "table.alerts a[data-chart]")[0]
    link.click()
    chart = link.get_attribute("data-chart")
    x0 = link.get_attribute("data-x0")
    WebDriverWait(driver, 20).until(lambda d: (drawn(d, chart) or {}).get("range", [""])[0] == x0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / "backtest-report-zoomed.png"))
