"""`finpulse ingest --once` end to end: local HTTP feeds -> embedded broker, archive, store.

Every new document reaches the topic exactly once (counted per key on the topic), the same
story from a second feed is published only once, every published document is in the
archive, and a restarted ingest does not republish what it already archived.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from foundation.store import source_health

pytestmark = pytest.mark.integration


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server(shared_dir: Path, tmp_path: Path) -> Iterator[str]:
    rss = shared_dir / "fixtures" / "rss"
    root = tmp_path / "www"
    root.mkdir()
    for name in ("cnbc_finance_2019.xml", "google_news_reuters_markets.xml"):
        (root / name).write_bytes((rss / name).read_bytes())
    # A second feed syndicating the same CNBC stories under other links and a suffix.
    cnbc = (rss / "cnbc_finance_2019.xml").read_text(encoding="utf-8")
    mirror = cnbc.replace("https://www.cnbc.com/", "https://mirror.example/cnbc/")
    mirror = mirror.replace("</title>\n", " - CNBC</title>\n")
    (root / "mirror.xml").write_text(mirror, encoding="utf-8")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def archived(archive: Path) -> list[dict]:
    out = []
    for path in sorted(archive.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh if line.strip())
    return out


def test_ingest_once_publishes_each_new_document_exactly_once(
    feed_server, pipeline_env, finpulse, topic_counter, broker, tmp_path
):
    archive = tmp_path / "archive"
    config = tmp_path / "finpulse.toml"
    config.write_text(
        f'[ingest]\narchive_dir = "{archive}"\n'
        + "".join(
            f'[[ingest.sources]]\nname = "{name}"\nkind = "rss"\nurl = "{feed_server}/{path}"\n'
            "allow_private = true\n"
            for name, path in [
                ("CNBC Finance", "cnbc_finance_2019.xml"),
                ("Google News", "google_news_reuters_markets.xml"),
                ("Mirror", "mirror.xml"),
            ]
        )
    )
    env = pipeline_env(FINPULSE_CONFIG=str(config))
    topic = f"{env['FINPULSE_BROKER__TOPIC_PREFIX']}.documents"
    from foundation.kafka.broker import create_topics

    create_topics(broker.bootstrap, {topic: 2})

    res = finpulse(["ingest", "--once"], env, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    docs = archived(archive)
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)) >= 120
    # CNBC and its mirror are polled concurrently: whichever is parsed first publishes the
    # 30 stories, the other one's copies are duplicates. Never both.
    per_source = {s: sum(d["source"] == s for d in docs) for s in ("CNBC Finance", "Mirror")}
    assert sorted(per_source.values()) == [0, 30]
    assert {d["source"] for d in docs} <= {"CNBC Finance", "Mirror", "Google News"}

    def count_on_topic():
        # On a loaded machine the consumer's first fetch can exceed the helper's idle time:
        # read again (bounded) until every expected record was seen.
        counts = topic_counter(broker.bootstrap, topic, expected=len(ids))
        for _ in range(5):
            if sum(counts.values()) >= len(ids):
                break
            counts = topic_counter(broker.bootstrap, topic, expected=len(ids), idle_s=10)
        return counts

    counts = count_on_topic()
    assert set(counts) == {i.encode() for i in ids}
    assert set(counts.values()) == {1}

    engine = create_engine(env["FINPULSE_STORE__URL"])

    def health_rows() -> dict[str, dict]:
        with engine.connect() as conn:
            return {r["source"]: dict(r) for r in conn.execute(select(source_health)).mappings()}

    first = health_rows()
    assert sum(r["published"] for r in first.values()) == len(ids)
    pair = [first["CNBC Finance"], first["Mirror"]]
    assert sorted(r["published"] for r in pair) == [0, 30]
    assert sorted(r["duplicates"] for r in pair) == [0, 30]
    assert all(r["errors"] == 0 and r["fetched"] == 30 for r in pair)

    # A restart sees the same feeds again and publishes nothing new.
    res2 = finpulse(["ingest", "--once"], env, timeout=240)
    assert res2.returncode == 0, res2.stderr[-3000:]
    assert f"remembered {len(ids)} documents" in res2.stderr
    counts2 = count_on_topic()
    assert sum(counts2.values()) == len(ids)
    assert len(archived(archive)) == len(ids)

    second = health_rows()
    assert {k: r["published"] for k, r in second.items()} == {
        k: r["published"] for k, r in first.items()
    }
    # On the restart every CNBC/mirror item is a duplicate (30 each); none is published.
    assert second["CNBC Finance"]["duplicates"] + second["Mirror"]["duplicates"] == 90
