"""Unknown paths (e.g. /metrics) answer 404, not the page shell with 200."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from foundation.settings import load_settings
from foundation.store import Store


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('p')}/p.db")
    yield create_app(load_settings(), store).server.test_client()
    store.dispose()


@pytest.mark.parametrize("path", ["/", "/live", "/alerts/", "/sources", "/topic/earnings"])
def test_pages_are_served(client, path):
    resp = client.get(path)
    assert resp.status_code == 200 and b"<html" in resp.data.lower()


@pytest.mark.parametrize("path", ["/metrics", "/nope", "/topic/not-a-topic", "/a/b/c"])
def test_unknown_paths_are_404(client, path):
    assert client.get(path).status_code == 404


def test_routes_of_the_server_still_answer(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
