"""Browser tier: the dashboard served from a thread against a filled temporary store, driven
by headless Chromium (Debian's chromium + chromium-driver). Skipped when they are absent."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
END = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "headless Chromium not installed (apt-get install chromium chromium-driver): "
        "browser tests skipped",
        allow_module_level=True,
    )

pytestmark = pytest.mark.browser


@dataclass
class Served:
    url: str
    store: Any
    info: Any
    app: Any


def _serve(settings: Any, store: Any) -> tuple[Any, Served]:
    from werkzeug.serving import make_server

    from dashboard.app import create_app

    app = create_app(settings, store)
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, Served(f"http://127.0.0.1:{srv.server_port}", store, None, app)


@pytest.fixture(scope="session")
def filled_store() -> Iterator[tuple[Any, Any, str]]:
    from dashboard import sample
    from foundation.store import Store

    tmp = tempfile.mkdtemp(prefix="finpulse-browser-")
    url = f"sqlite:///{tmp}/dash.db"
    store = Store(url)
    info = sample.fill(store, END)
    yield store, info, url
    store.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def served(filled_store: tuple[Any, Any, str]) -> Iterator[Served]:
    from foundation.settings import load_settings

    store, info, url = filled_store
    settings = load_settings(
        store={"url": url}, model={"path": "baseline"}, dashboard={"refresh_s": 3}
    )
    srv, s = _serve(settings, store)
    s.info = info
    yield s
    srv.shutdown()


@pytest.fixture(scope="session")
def served_auth(filled_store: tuple[Any, Any, str]) -> Iterator[Served]:
    from werkzeug.security import generate_password_hash

    from foundation.settings import load_settings

    store, info, url = filled_store
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="finpulse-chrome-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def driver(browser: Any) -> Iterator[Any]:
    """The shared browser; after each test the console must hold no SEVERE entry."""
    browser.delete_all_cookies()
    browser.get_log("browser")  # drop what earlier tests left
    yield browser
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, f"browser console errors: {severe}"
