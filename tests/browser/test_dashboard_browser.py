"""The dashboard in headless Chromium: what an analyst sees and does, page by page."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import PASSWORD, SCREENSHOTS
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from dashboard import sample
from dashboard.queries import find_documents
from foundation.schemas import Document, ScoredDocument
from foundation.store import corrections

pytestmark = pytest.mark.browser
WAIT_S = 60  # the CI machine may be shared and slow


def wait(driver: Any, cond: Any, timeout: float = WAIT_S) -> Any:
    # Dash re-renders freely: an element read mid-update is retried, not a failure.
    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.2,
        ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
    ).until(lambda d: cond(d))


def plot(driver: Any, graph_id: str) -> Any:
    """The plotly figure of a dcc.Graph as drawn now (None before the first draw)."""
    js = (
        f"const g = document.querySelector('#{graph_id} .js-plotly-plot');"
        "return g && g.data ? {data: g.data.map(t => ({name: t.name, n: (t.x || []).length,"
        " y: t.y, customdata: t.customdata})), shapes: (g.layout.shapes || []).length,"
        " notes: (g.layout.annotations || []).map(a => a.text)} : null;"
    )
    return driver.execute_script(js)


POINTS = "#sc-graph .scatterlayer .trace:last-child path.point"


def click_point(driver: Any, i: int, attempts: int = 4) -> None:
    """Click point ``i`` of the scope chart until the documents panel answers.

    Dash may redraw the chart after its first paint (bands, alert spans): a click on the
    replaced SVG goes nowhere, so the points are found again and the click repeated.
    """
    for attempt in range(attempts):
        try:
            points = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, POINTS))
            ActionChains(driver).move_to_element(points[i]).click().perform()
            wait(
                driver,
                lambda d: "selected window" in d.find_element(By.ID, "sc-docs").text,
                timeout=WAIT_S / attempts,
            )
            return
        except Exception:
            if attempt == attempts - 1:
                raise


def traces(driver: Any, graph_id: str) -> list[str] | None:
    fig = plot(driver, graph_id)
    return [t["name"] for t in fig["data"]] if fig else None


def trace(driver: Any, graph_id: str, name: str) -> dict[str, Any]:
    def find(d: Any) -> Any:
        fig = plot(d, graph_id)
        return next((t for t in fig["data"] if t["name"] == name), None) if fig else None

    return wait(driver, find)


def shot(driver: Any, name: str) -> None:
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def pick(driver: Any, dropdown_id: str, option: str) -> None:
    """Choose ``option`` in a Dash 4 dcc.Dropdown (a button that opens a listbox popover)."""
    wait(driver, lambda d: d.find_element(By.ID, dropdown_id)).click()
    search = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".dash-dropdown-search"))
    search.send_keys(option)
    xp = (
        "//div[contains(@class,'dash-dropdown-content')]"
        f"//*[@role='option'][normalize-space()='{option}']"
    )
    el = wait(driver, lambda d: d.find_elements(By.XPATH, xp))[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    try:
        el.click()
    except ElementClickInterceptedException:
        driver.execute_script("arguments[0].click()", el)
    # Close a multi-select's popover so it does not cover the page.
    if driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content"):
        search.send_keys(Keys.ESCAPE)


def click(driver: Any, css: str) -> None:
    """Click, retrying while a refresh replaces the element."""

    def go(d: Any) -> bool:
        d.find_element(By.CSS_SELECTOR, css).click()
        return True

    wait(driver, go)


def doc_ids(driver: Any, table_id: str) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tr.doc-row")
    return [r.get_attribute("data-doc-id") for r in rows]


def test_overview_renders_with_data(driver, served):
    driver.get(served.url + "/")
    wait(
        driver, lambda d: traces(d, "ov-index") == ["earnings", "energy_oil", "financials", "macro"]
    )
    assert plot(driver, "ov-index")["shapes"] >= 1  # the firing alert is shaded
    wait(driver, lambda d: traces(d, "ov-volume") == ["negative", "neutral", "positive"])
    heat = trace(driver, "ov-heatmap", None)
    assert sorted(heat["y"]) == ["earnings", "energy_oil", "financials", "macro"]
    docs = wait(driver, lambda d: d.find_element(By.ID, "hl-docs").text)
    assert int(docs.replace(",", "")) > 0
    assert driver.find_element(By.ID, "hl-alerts").text == "1"
    shot(driver, "overview")


def test_filters_change_the_chart_and_the_url(driver, served):
    driver.get(served.url + "/")
    before = trace(driver, "ov-index", "earnings")["n"]
    driver.find_element(By.XPATH, "//div[@id='f-range']//label[normalize-space()='6h']").click()
    wait(driver, lambda d: "range=6h" in d.current_url)
    wait(driver, lambda d: trace(d, "ov-index", "earnings")["n"] != before)
    pick(driver, "f-topic", "earnings")
    wait(driver, lambda d: "topic=earnings" in d.current_url)
    wait(driver, lambda d: traces(d, "ov-index") == ["earnings"])
    assert "range=6h" in driver.current_url
    shot(driver, "overview-filtered")


def test_a_shared_link_restores_the_view(driver, served):
    driver.get(served.url + "/?range=6h&topic=macro")
    wait(driver, lambda d: traces(d, "ov-index") == ["macro"])
    checked = driver.find_element(By.CSS_SELECTOR, "#f-range input:checked")
    assert checked.get_attribute("value") == "6h"
    assert "macro" in driver.find_element(By.ID, "f-topic").text
    # Navigation keeps the filters.
    driver.find_element(By.LINK_TEXT, "Alerts").click()
    wait(driver, lambda d: "/alerts?range=6h&topic=macro" in d.current_url)


def _expected_docs(
    served: Any, start: str, end: str, topic: str | None = sample.SURGE_TOPIC, ticker=None
) -> list[str]:
    rows = find_documents(
        served.store.engine,
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
        topic=topic,
        ticker=ticker,
        limit=100,
    )
    return [r.id for r in rows]


def test_clicking_a_point_shows_the_documents_behind_it(driver, served):
    driver.get(served.url + f"/topic/{sample.SURGE_TOPIC}")
    line = trace(driver, "sc-graph", "negative share")
    i = len(line["customdata"]) - 5
    start, end, count = line["customdata"][i]
    points = driver.find_elements(By.CSS_SELECTOR, POINTS)
    assert len(points) == len(line["customdata"])
    click_point(driver, i)
    got = doc_ids(driver, "sc-docs-table")
    assert got == _expected_docs(served, start, end)
    assert len(got) == count > 0
    shot(driver, "topic-click")


def test_selecting_a_range_shows_its_documents(driver, served):
    driver.get(served.url + f"/topic/{sample.SURGE_TOPIC}?range=6h")
    line = trace(driver, "sc-graph", "negative share")
    points = driver.find_elements(
        By.CSS_SELECTOR, "#sc-graph .scatterlayer .trace:last-child path.point"
    )
    a, b = points[3], points[6]
    dx = b.location["x"] - a.location["x"] + 4
    (
        ActionChains(driver)
        .move_to_element_with_offset(a, -2, 0)
        .click_and_hold()
        .move_by_offset(dx // 2, 10)
        .move_by_offset(dx - dx // 2, -20)
        .release()
        .perform()
    )
    wait(driver, lambda d: "selected window" in d.find_element(By.ID, "sc-docs").text)
    start = line["customdata"][3][0]
    end = line["customdata"][6][1]
    assert doc_ids(driver, "sc-docs-table") == _expected_docs(served, start, end)


def test_ticker_page_filters_and_drills_down(driver, served):
    driver.get(served.url + "/ticker/AAPL")
    wait(driver, lambda d: d.find_element(By.ID, "sc-name").text == "AAPL")
    before = trace(driver, "sc-graph", "negative share")
    driver.find_element(By.XPATH, "//div[@id='f-range']//label[normalize-space()='6h']").click()
    wait(driver, lambda d: "/ticker/AAPL?range=6h" in d.current_url)
    line = wait(
        driver,
        lambda d: (t := trace(d, "sc-graph", "negative share"))["n"] != before["n"] and t,
    )
    i = len(line["customdata"]) - 3
    start, end, count = line["customdata"][i]
    click_point(driver, i)
    got = doc_ids(driver, "sc-docs-table")
    assert got == _expected_docs(served, start, end, topic=None, ticker="AAPL")
    assert len(got) == count > 0
    tickers = [
        c.text for c in driver.find_elements(By.CSS_SELECTOR, "#sc-docs-table td:nth-child(6)")
    ]
    assert tickers and all("AAPL" in t.split() for t in tickers)
    shot(driver, "ticker-click")


def test_details_explanation_and_a_saved_correction(driver, served):
    driver.get(served.url + f"/topic/{sample.SURGE_TOPIC}")
    wait(driver, lambda d: doc_ids(d, "sc-docs-table"))
    shown = doc_ids(driver, "sc-docs-table")
    docs = {r.id: r for r in find_documents(served.store.engine, limit=200)}
    # A negative headline: the explanation has words that carry weight.
    target = next(i for i in shown if docs[i].sentiment == "negative" and i != served.info.xss_id)
    doc = docs[target]
    new = "positive"
    click(driver, f"tr[data-doc-id='{target}'] button")
    wait(driver, lambda d: d.find_element(By.ID, "detail-title").text == doc.title)
    driver.find_element(By.ID, "explain-btn").click()
    words = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#explain-words .xp-word"))
    assert [w.text for w in words] == doc.title.split()
    weights = [float(w.get_attribute("title")) for w in words]
    assert any(w > 0 for w in weights)  # the negative verb pushed towards "negative"
    assert "background-color" in words[0].get_attribute("style")
    pick(driver, "fix-sentiment", new)
    driver.find_element(By.ID, "fix-save").click()
    wait(
        driver,
        lambda d: (
            "Saved sentiment correction as anonymous" in d.find_element(By.ID, "fix-msg").text
        ),
    )
    with served.store.engine.connect() as conn:
        rows = conn.execute(select(corrections).where(corrections.c.document_id == target)).all()
    assert [(r.field, r.old, r.new, r.user) for r in rows] == [
        ("sentiment", doc.sentiment, new, "anonymous")
    ]
    assert target in driver.find_element(By.ID, "fix-history").text or driver.find_elements(
        By.CSS_SELECTOR, "#fix-history li"
    )
    driver.execute_script("document.getElementById('doc-detail').scrollIntoView()")
    shot(driver, "document-detail")


def test_a_script_headline_shows_as_text(driver, served):
    driver.get(served.url + "/live")
    xss = served.info.xss_id
    css = f"tr[data-doc-id='{xss}'] td.doc-title"

    def read(d: Any) -> tuple[str, int, int]:
        cell = d.find_element(By.CSS_SELECTOR, css)
        return (
            cell.text,
            len(cell.find_elements(By.TAG_NAME, "a")),
            len(cell.find_elements(By.CSS_SELECTOR, "b, img, script")),
        )

    text, links, tags = wait(driver, read)
    assert text == sample.XSS_TITLE
    assert links == 0  # its javascript: link is shown as plain text
    assert tags == 0  # no element was made from the headline
    assert driver.execute_script("return window.__xss") is None
    with pytest.raises(NoAlertPresentException):
        _ = driver.switch_to.alert.text
    shot(driver, "live-xss")


def test_live_feed_filters_and_refreshes(driver, served):
    driver.get(served.url + "/live?sentiment=positive")
    wait(driver, lambda d: len(doc_ids(d, "live-table")) == 50)
    badges = wait(
        driver, lambda d: [b.text for b in d.find_elements(By.CSS_SELECTOR, "#live-table .badge")]
    )
    assert all(b.startswith("positive") for b in badges)
    pick(driver, "f-source", "wire-b")
    wait(driver, lambda d: "source=wire-b" in d.current_url)
    wait(
        driver,
        lambda d: (
            {c.text for c in d.find_elements(By.CSS_SELECTOR, "#live-table td:nth-child(2)")}
            == {"wire-b"}
        ),
    )
    # A document stored now shows up without reloading the page.
    fresh = ScoredDocument(
        document=Document(
            id="fresh-1",
            source="wire-b",
            title="Fresh positive headline",
            published=served.info.end + timedelta(minutes=1),
        ),
        topic="earnings",
        sentiment="positive",
        sentiment_probs={"negative": 0.1, "neutral": 0.1, "positive": 0.8},
    )
    served.store.upsert_scored([fresh])
    wait(driver, lambda d: doc_ids(d, "live-table")[:1] == ["fresh-1"])
    shot(driver, "live-filtered")


def test_alerts_page_shows_figures_evidence_deliveries_and_dead_letters(driver, served):
    driver.get(served.url + "/alerts")
    cards = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".alert-card"))
    assert len(cards) == 2
    firing = driver.find_element(
        By.CSS_SELECTOR, f"[data-fingerprint='{served.info.alert_fingerprint}']"
    )
    text = firing.text
    assert "negative_share" in text and "0.8" in text
    assert "slack" in text and "delivered" in text and "pagerduty" in text and "dead" in text
    evidence = firing.find_elements(By.CSS_SELECTOR, "ul li")
    assert len(evidence) == 3
    # The sample's HTML headline is evidence too: its javascript: link is not a link.
    assert len(firing.find_elements(By.CSS_SELECTOR, "ul li a")) == 2
    assert "HTTP 500 from receiver" in driver.find_element(By.ID, "dead-letters").text
    wait(driver, lambda d: traces(d, "al-timeline") == ["firing", "resolved"])
    shot(driver, "alerts")
    driver.find_element(
        By.XPATH, "//div[@id='al-status']//label[normalize-space()='resolved']"
    ).click()
    wait(driver, lambda d: traces(d, "al-timeline") == ["resolved"])
    driver.find_element(By.XPATH, "//div[@id='f-range']//label[normalize-space()='6h']").click()
    wait(driver, lambda d: "range=6h" in d.current_url)
    wait(
        driver,
        lambda d: "No alerts in this range" in (plot(d, "al-timeline") or {}).get("notes", []),
    )


def test_sources_page_shows_health_and_rates(driver, served):
    driver.get(served.url + "/sources")
    rows = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#sources-table tbody tr"))
    assert rows[0].get_attribute("data-source") == "social-c"  # errors first
    assert "timeout after 15 s" in rows[0].text
    wait(driver, lambda d: sorted(traces(d, "src-graph") or []) == sorted(sample.SOURCES))
    shot(driver, "sources")
    pick(driver, "f-source", "wire-a")
    wait(driver, lambda d: "source=wire-a" in d.current_url)
    wait(driver, lambda d: traces(d, "src-graph") == ["wire-a"])
    assert len(driver.find_elements(By.CSS_SELECTOR, "#sources-table tbody tr")) == 1


def _status(url: str, data: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a: Any, **k: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.headers.get("Location", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")


def test_login_is_enforced_when_users_are_configured(driver, served_auth):
    base = served_auth.url
    assert _status(base + "/alerts") == (302, "/login?next=%2Falerts")
    body = json.dumps({"output": "url.search", "outputs": {}, "inputs": [], "changedPropIds": []})
    assert _status(base + "/_dash-update-component", body.encode())[0] == 401
    for path in ("/_dash-layout", "/_dash-dependencies", "/api/documents?limit=1"):
        assert _status(base + path)[0] == 401, path
    assert _status(base + "/healthz")[0] == 200

    driver.get(base + "/alerts")
    wait(driver, lambda d: "/login" in d.current_url)
    shot(driver, "login")
    driver.find_element(By.ID, "username").send_keys("alice")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    wait(driver, lambda d: d.current_url.endswith("/alerts"))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".alert-card"))
    assert "signed in as alice" in driver.find_element(By.ID, "user").text
    # A correction records the logged-in user.
    driver.get(base + "/topic/earnings")
    ids = wait(driver, lambda d: doc_ids(d, "sc-docs-table"))
    target = ids[2]
    click(driver, f"tr[data-doc-id='{target}'] button")
    wait(driver, lambda d: d.find_elements(By.ID, "fix-topic"))
    current = driver.find_element(By.ID, "fix-topic").text
    pick(driver, "fix-topic", "macro" if current != "macro" else "earnings")
    driver.find_element(By.ID, "fix-save").click()
    wait(driver, lambda d: "as alice" in d.find_element(By.ID, "fix-msg").text)
    with served_auth.store.engine.connect() as conn:
        users = (
            conn.execute(select(corrections.c.user).where(corrections.c.document_id == target))
            .scalars()
            .all()
        )
    assert users == ["alice"]
    driver.execute_script("document.getElementById('fix-msg').scrollIntoView({block: 'center'})")
    shot(driver, "logged-in-correction")


def test_wrong_password_is_refused(driver, served_auth):
    driver.get(served_auth.url + "/login")
    driver.find_element(By.ID, "username").send_keys("alice")
    driver.find_element(By.ID, "password").send_keys("wrong")
    driver.find_element(By.ID, "login-button").click()
    wait(driver, lambda d: "Wrong user name or password" in d.page_source)
    driver.get(served_auth.url + "/")
    assert "/login" in driver.current_url
    time.sleep(0.2)
    driver.get_log("browser")  # the 401 of the refused form is expected, not an app error
