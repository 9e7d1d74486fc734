"""`finpulse backtest`: offline alerts over an archive, deterministic, languages skipped."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from cli.main import main
from monitor.backtest.cache import ClassificationCache, model_identity

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
    if "--cache" not in args and "--no-cache" not in args:
        args = [*args, "--no-cache"]  # tests write no cache into the checkout
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
    # What one sink would be sent: an open and a close per incident in incident mode.
    by_mode = data["notifications_by_mode"]
    assert by_mode["alert"] == data["notifications"]
    assert by_mode["alert_requests"] <= by_mode["alert"]
    closed = [i for i in data["incidents"] if i["endsAt"]]
    assert by_mode["incident"] >= len(data["incidents"]) + len(closed)
    assert by_mode["incident"] < by_mode["alert"]
    text = html.read_text()
    assert "plotly" in text and len(text) > 100_000  # self-contained (plotly.js inlined)


def test_backtest_human_output(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    write_archive(path)
    out = run([str(path), "--model", "baseline"])
    assert "840 documents" in out and "topic:financials" in out
    assert 'notify = "incident" gets' in out


def write_crypto_archive(path):
    """A calm day of crypto news (no tickers in the archive, like the 2022 replay), then an
    exchange collapse named only by the exchange (no ticker)."""
    lines = []
    for i in range(240):
        at = T0 + timedelta(minutes=6 * i)
        lines.append({"title": f"Bitcoin holds steady {i}", "at": at})
        lines.append({"title": f"Weather report {i}", "at": at + timedelta(seconds=20)})
    surge = T0 + timedelta(hours=24)
    for i in range(60):
        lines.append(
            {
                "title": f"FTX collapse: withdrawals frozen, bankruptcy feared {i}",
                "at": surge + timedelta(minutes=2 * i),
            }
        )
    with gzip.open(path, "wt") as fh:
        for n, x in enumerate(lines):
            obj = {
                "id": f"c{n:05d}",
                "source": "Wire",
                "title": x["title"],
                "summary": "",
                "link": f"https://news.example/c{n}",
                "published": x["at"].isoformat().replace("+00:00", "Z"),
                "language": "en",
            }
            fh.write(json.dumps(obj) + "\n")


def test_backtest_tags_archived_documents_and_alerts_on_their_sector(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    write_crypto_archive(path)
    data = json.loads(run([str(path), "--json", "--model", "baseline", "--no-cache"]))
    assert data["tagged"] == 240 + 60  # Bitcoin -> BTC.X, FTX -> entity FTX
    sector = [a for a in data["alerts"] if a["scope_kind"] == "sector"]
    assert [a["scope"] for a in sector] == ["crypto"]
    a = sector[0]
    assert a["startsAt"] >= "2023-03-09T00:00:00Z"
    assert "FTX" in a["evidence"][0]["title"]
    assert a["dashboard_url"].split("?")[0].endswith("/sector/crypto")
    # FTX has no ticker: no ticker scope is invented for it.
    assert not [x for x in data["alerts"] if x["scope_kind"] == "ticker" and "FTX" in x["scope"]]


class CountingClassifier:
    """The lexicon baseline behind the TextClassifier interface, counting texts it scores."""

    def __init__(self):
        from models.baseline import LexiconBaseline

        self.inner = LexiconBaseline()
        self.name = self.inner.name
        self.texts = 0

    def predict(self, texts):
        self.texts += len(texts)
        return self.inner.predict(texts)


def test_cache_serves_a_second_run_without_the_model_and_changes_nothing(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    write_archive(path)
    cache_dir = tmp_path / "cache"
    args = [str(path), "--json", "--model", "baseline"]
    uncached = run([*args, "--no-cache"])
    filling = run([*args, "--cache", str(cache_dir)])
    cached = run([*args, "--cache", str(cache_dir)])
    assert uncached == filling == cached
    files = list(cache_dir.glob("lexicon-baseline-*.jsonl"))
    assert len(files) == 1
    assert len(files[0].read_text().splitlines()) == 480  # the English documents, once

    from monitor.backtest.run import classify, read_documents

    docs, _ = read_documents([path])
    clf = CountingClassifier()
    cache = ClassificationCache.open(cache_dir, files[0].stem)
    out = classify(docs, clf, ["en"], cache=cache)
    assert clf.texts == 0 and cache.hits == 480
    assert sum(1 for s in out if s.scored) == 480


def test_cache_misses_on_changed_text_and_survives_a_cut_line(tmp_path):
    from models.base import Prediction

    p = Prediction("financials", {"financials": 1.0}, "negative", {"negative": 0.7})
    cache = ClassificationCache.open(tmp_path, "m-1")
    cache.put("d1", "Bank fails", p)
    cache.flush()
    with cache.path.open("a") as fh:
        fh.write('{"id": "d2", "text": "ab')  # a crash mid-line
    again = ClassificationCache.open(tmp_path, "m-1")
    assert again.get("d1", "Bank fails") == p
    assert again.get("d1", "Bank fails, shares jump") is None  # same id, other text
    assert again.get("d2", "anything") is None
    assert ClassificationCache.open(tmp_path, "m-2").get("d1", "Bank fails") is None


def test_model_identity_follows_the_weights(tmp_path):
    clf = CountingClassifier()
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights v1")
    (folder / "card.json").write_text("{}")
    first = model_identity(clf, folder)
    assert first == model_identity(clf, folder)
    assert first.startswith("lexicon-baseline-")
    (folder / "model.safetensors").write_bytes(b"weights v2")
    assert model_identity(clf, folder) != first
    assert model_identity(clf, None) != first  # folder-less: its source file


def test_cache_defaults_to_the_settings_data_dir(tmp_path, monkeypatch):
    path = tmp_path / "a.jsonl.gz"
    write_archive(path)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("FINPULSE_DATA_DIR", str(data_dir))
    r = CliRunner().invoke(
        main, ["backtest", str(path), "--json", "--model", "baseline"], catch_exceptions=False
    )
    assert r.exit_code == 0, r.output
    assert len(list((data_dir / "cache" / "backtest").glob("lexicon-baseline-*.jsonl"))) == 1
