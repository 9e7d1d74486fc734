"""Acting on alerts from the page, with login on: acknowledge, silence, end a silence; a
silenced alert is not delivered to a real local webhook receiver while an unsilenced one is."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import END, PASSWORD, SCREENSHOTS, Served, _serve
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import sample
from foundation.schemas import Alert
from foundation.settings import SinkSettings
from foundation.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from monitor_receivers import Receiver

pytestmark = pytest.mark.browser
WAIT_S = 60


def wait(driver: Any, cond: Any, timeout: float = WAIT_S) -> Any:
    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.2,
        ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
    ).until(lambda d: cond(d))


@pytest.fixture(scope="module")
def served_actions() -> Iterator[Served]:
    """Its own store (the actions change it) behind a login."""
    from werkzeug.security import generate_password_hash

    from foundation.settings import load_settings

    tmp = tempfile.mkdtemp(prefix="finpulse-actions-")
    url = f"sqlite:///{tmp}/dash.db"
    store = Store(url)
    info = sample.fill(store, END)
    settings = load_settings(
        store={"url": url},
        model={"path": "baseline"},
        dashboard={
            "users": {"alice": generate_password_hash(PASSWORD)},
            "secret_key": "test-secret",
        },
    )
    srv, s = _serve(settings, store)
    s.info = info
    yield s
    srv.shutdown()
    store.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


def login(driver: Any, base: str, path: str) -> None:
    driver.get(base + path)
    wait(driver, lambda d: "/login" in d.current_url)
    driver.find_element(By.ID, "username").send_keys("alice")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    wait(driver, lambda d: d.current_url.endswith(path))


def item(driver: Any, fp: str) -> Any:
    xp = f"//div[contains(@class,'alert-item')][.//div[@data-fingerprint='{fp}']]"
    return driver.find_element(By.XPATH, xp)


def deliver(store: Store, url: str, alerts: list[Alert], run_s: float = 2.0) -> None:
    from monitor.stream.delivery import Deliverer

    async def go() -> None:
        d = Deliverer(
            [SinkSettings(name="hook", kind="webhook", url=url, max_per_minute=600)],
            store,
            env={},
            poll_s=0.2,
            lease_s=5,
        )
        await d.enqueue(alerts)
        task = asyncio.ensure_future(d.run())
        await asyncio.sleep(run_s)
        d.stop()
        await task
        await d.aclose()

    asyncio.run(go())


def scopes_received(r: Receiver) -> list[tuple[str, str]]:
    return [(a["scope"], a["status"]) for b in r.ok_bodies() for a in b["alerts"]]


def test_acknowledge_and_silence_from_the_page_then_delivery_respects_the_silence(
    driver, served_actions
):
    base, store, fp = (
        served_actions.url,
        served_actions.store,
        served_actions.info.alert_fingerprint,
    )
    login(driver, base, "/alerts")
    card = wait(driver, lambda d: item(d, fp))

    # Acknowledge, with a comment: the card says who, the store has it, audited.
    card.find_element(By.CSS_SELECTOR, "input").send_keys("on it")
    card.find_element(By.XPATH, ".//button[normalize-space()='Acknowledge']").click()
    wait(driver, lambda d: "acknowledged by alice" in item(d, fp).text)
    assert "on it" in item(driver, fp).text
    acks = list(store.acks_for([fp]).values())
    assert [(a.user, a.comment) for a in acks] == [("alice", "on it")]

    # A bad matcher is refused with the reason; nothing is stored.
    matchers = driver.find_element(By.ID, "al-sil-matchers")
    matchers.send_keys("tick=financials")
    driver.find_element(By.ID, "al-sil-comment").send_keys("bank run handled")
    driver.find_element(By.ID, "al-sil-create").click()
    wait(driver, lambda d: "unknown label 'tick'" in d.find_element(By.ID, "al-sil-msg").text)
    assert store.silence_rows() == []

    # Silence the alert's scope for 2 h (the default).
    matchers.send_keys(Keys.CONTROL, "a")  # clear() bypasses React: the old value would stay
    matchers.send_keys(Keys.DELETE)
    matchers.send_keys(f"scope_kind=topic scope={sample.SURGE_TOPIC}")
    driver.find_element(By.ID, "al-sil-create").click()
    wait(driver, lambda d: "created by alice" in d.find_element(By.ID, "al-sil-msg").text)
    wait(driver, lambda d: "silenced until" in item(d, fp).text)
    (silence,) = store.silence_rows()
    assert (silence.created_by, silence.comment) == ("alice", "bank run handled")
    row = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "tr.silence-row"))
    assert silence.id in row.text and "alice" in row.text
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    driver.save_screenshot(str(SCREENSHOTS / "alerts-silenced-acked.png"))

    # The silenced alert is still detected and stored, and not delivered; another one is.
    (payload,) = store.alert_payloads(fingerprint=fp)
    silenced = Alert.model_validate(payload)
    other = silenced.model_copy(
        update={"fingerprint": "negative_surge-topic-macro", "scope": "macro"}
    )
    hook = Receiver().start()
    try:
        deliver(store, hook.url, [silenced, other])
        assert scopes_received(hook) == [("macro", "firing")]
        # End the silence from the page: the alert still fires, so it goes out now.
        row = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "tr.silence-row"))
        row.find_element(By.TAG_NAME, "button").click()
        wait(driver, lambda d: "ended by alice" in d.find_element(By.ID, "al-action-msg").text)
        wait(driver, lambda d: "silenced until" not in item(d, fp).text)
        deliver(store, hook.url, [])
        assert scopes_received(hook) == [("macro", "firing"), (sample.SURGE_TOPIC, "firing")]
    finally:
        hook.stop()
    actions = [(a.user, a.action) for a in reversed(store.audit_rows())]
    assert actions == [("alice", "ack"), ("alice", "silence"), ("alice", "unsilence")]


def test_silence_a_scope_from_its_page(driver, served_actions):
    base, store = served_actions.url, served_actions.store
    login(driver, base, "/topic/macro")
    matchers = wait(driver, lambda d: d.find_element(By.ID, "sc-sil-matchers"))
    assert matchers.get_attribute("value") == "scope_kind=topic scope=macro"
    driver.find_element(By.ID, "sc-sil-comment").send_keys("earnings call")
    driver.find_element(By.ID, "sc-sil-create").click()
    wait(driver, lambda d: "created by alice" in d.find_element(By.ID, "sc-sil-msg").text)
    now = datetime.now(UTC)
    made = [s for s in store.silence_rows(active_at=now) if "scope=macro" in s.matchers]
    assert made and made[0].created_by == "alice" and made[0].comment == "earnings call"


def test_actions_need_a_login(served_actions):
    """The auth guard refuses the action callbacks without a session (401)."""
    import json
    import urllib.error
    import urllib.request

    body = json.dumps(
        {
            "output": "al-sil-msg.children",
            "outputs": {},
            "inputs": [{"id": "al-sil-create", "property": "n_clicks", "value": 1}],
            "changedPropIds": ["al-sil-create.n_clicks"],
        }
    ).encode()
    req = urllib.request.Request(
        served_actions.url + "/_dash-update-component",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401
    assert served_actions.store.silence_rows() == [] or all(
        s.created_by == "alice" for s in served_actions.store.silence_rows()
    )
