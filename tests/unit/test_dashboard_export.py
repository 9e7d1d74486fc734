"""`finpulse export documents|windows|alerts`: the rows written are the store's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import main
from dashboard import sample
from foundation.store import Store, documents, window_stats

END = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, sample.SampleInfo]:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'f.db'}"
    store = Store(url)
    info = sample.fill(store, END, hours=6)
    store.dispose()
    return url, info


def export(url: str, tmp_path: Path, *args: str) -> tuple[pd.DataFrame, str]:
    fmt = "parquet" if "parquet" in args else "csv"
    out = tmp_path / f"out.{fmt}"
    r = CliRunner().invoke(
        main, ["export", *args, "--out", str(out)], env={"FINPULSE_STORE__URL": url}
    )
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out) if fmt == "parquet" else pd.read_csv(out)
    return df, r.stderr


def sql_count(url: str, stmt: Any) -> int:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())
    finally:
        store.dispose()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_all_documents_are_exported(filled, tmp_path: Path, fmt: str) -> None:
    url, info = filled
    df, err = export(url, tmp_path, "documents", "--format", fmt)
    assert len(df) == info.documents == sql_count(url, select(func.count()).select_from(documents))
    assert f"wrote {info.documents} documents row(s)" in err
    assert {"id", "title", "published", "topic", "sentiment", "tickers"} <= set(df.columns)
    assert df["id"].is_unique


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_windows_by_scope_and_time_range(filled, tmp_path: Path, fmt: str) -> None:
    url, _ = filled
    t0, t1 = END - timedelta(hours=3), END - timedelta(hours=1)
    df, _ = export(
        url,
        tmp_path,
        "windows",
        "--scope",
        f"topic:{sample.SURGE_TOPIC}",
        "--from",
        t0.isoformat(),
        "--to",
        t1.isoformat().replace("+00:00", "Z"),
        "--format",
        fmt,
    )
    w = window_stats.c
    expected = sql_count(
        url,
        select(func.count())
        .select_from(window_stats)
        .where(w.scope_kind == "topic", w.scope == sample.SURGE_TOPIC)
        .where(w.window_start >= t0, w.window_start < t1),
    )
    assert len(df) == expected == 24  # two hours of five-minute windows
    assert set(df["scope"]) == {sample.SURGE_TOPIC}
    starts = pd.to_datetime(df["window_start"], utc=True)
    assert starts.min() >= t0 and starts.max() < t1 and starts.is_monotonic_increasing


def test_documents_by_ticker_and_alerts(filled, tmp_path: Path) -> None:
    url, _ = filled
    df, _ = export(url, tmp_path, "documents", "--scope", "ticker:AAPL")
    assert len(df) > 0 and all('"AAPL"' in t for t in df["tickers"])
    alerts, _ = export(url, tmp_path, "alerts", "--format", "parquet")
    assert len(alerts) == 2 and {"fingerprint", "status", "payload"} <= set(alerts.columns)


def test_an_empty_export_still_has_its_columns(filled, tmp_path: Path) -> None:
    url, _ = filled
    df, err = export(url, tmp_path, "alerts", "--from", "2031-01-01T00:00:00Z")
    assert len(df) == 0 and "fingerprint" in df.columns and "wrote 0" in err


def test_a_bad_scope_is_refused(filled, tmp_path: Path) -> None:
    url, _ = filled
    r = CliRunner().invoke(
        main,
        ["export", "documents", "--scope", "sector:banks", "--out", str(tmp_path / "x.csv")],
        env={"FINPULSE_STORE__URL": url},
    )
    assert r.exit_code == 2 and "cannot be filtered by a 'sector' scope" in r.stderr
