"""Sector scopes on the dashboard: an alert links to its sector page, the page draws the
sector's windows and lists the documents of its tickers and entities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard import queries
from dashboard.components import alert_card
from dashboard.context import Context
from dashboard.explanations import Explainer
from dashboard.pages import scope
from foundation.schemas import Alert, Document, ScoredDocument, WindowStat
from foundation.settings import load_settings
from foundation.store import Store

END = datetime(2022, 11, 11, 18, 0, tzinfo=UTC)


def doc(i, title, tickers=(), minutes=30):
    return ScoredDocument(
        document=Document(
            id=f"d{i}",
            source="wire",
            title=title,
            published=END - timedelta(minutes=minutes),
            tickers=tickers,
            link=f"https://x/{i}",
        ),
        topic="financials",
        sentiment="negative",
        sentiment_probs={"negative": 0.8, "neutral": 0.1, "positive": 0.1},
    )


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/s.db")
    s.upsert_scored(
        [
            doc(1, "FTX files for bankruptcy"),  # entity only: no ticker
            doc(2, "Bitcoin slides", tickers=("BTC.X",)),
            doc(3, "Coinbase shares fall", tickers=("COIN",)),
            doc(4, "JPMorgan beats", tickers=("JPM",)),
            doc(5, "Weather is fine"),
        ]
    )
    start = END - timedelta(hours=1)
    s.upsert_window_stats(
        [
            WindowStat(
                scope_kind="sector",
                scope="crypto",
                window_start=start + timedelta(minutes=5 * i),
                window_end=start + timedelta(minutes=5 * i + 5),
                count=3,
                negative=2 if i > 8 else 0,
                neutral=1 if i > 8 else 3,
            )
            for i in range(12)
        ]
    )
    s.upsert_alerts(
        [
            Alert(
                fingerprint="f-crypto",
                rule="negative_surge",
                scope_kind="sector",
                scope="crypto",
                status="firing",
                starts_at=END - timedelta(minutes=15),
                updated_at=END - timedelta(minutes=10),
                figures={"negative_share": 0.8},
            )
        ]
    )
    yield s
    s.dispose()


def test_sector_paths_parse_and_unknown_sectors_do_not():
    assert scope.parse_path("/sector/crypto") == ("sector", "crypto")
    assert scope.parse_path("/sector/financials") == ("sector", "financials")
    assert scope.parse_path("/sector/nonsense") is None
    assert scope.parse_path("/ticker/btc.x") == ("ticker", "BTC.X")


def test_a_sector_alert_links_to_its_sector_page(store):
    (row,) = queries.find_alerts(store.engine, scope_kind="sector")
    card = str(alert_card(row, []).to_plotly_json())
    assert "/sector/crypto" in card and "sector=crypto" in card


def test_sector_page_draws_its_windows_and_lists_its_documents(store):
    settings = load_settings(store={"url": str(store.engine.url)}, model={"path": "baseline"})
    ctx = Context(settings, store, Explainer(settings.model))
    search = "?start=2022-11-11T16:00:00Z&end=2022-11-11T18:00:00Z"
    fig, caption = scope.graph_data(ctx, "sector", "crypto", search)
    assert "36 documents" in caption and "1 alert(s)" in caption
    assert fig["data"]
    table = str(scope.docs_data(ctx, "sector", "crypto", search, None).to_plotly_json())
    assert "FTX files for bankruptcy" in table  # entity named in the headline
    assert "Bitcoin slides" in table and "Coinbase shares fall" in table
    assert "JPMorgan beats" not in table and "Weather is fine" not in table
