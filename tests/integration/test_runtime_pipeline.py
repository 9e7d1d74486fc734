"""The foundation end to end: replay -> embedded broker -> real Faust worker -> store -> dashboard.

Real processes: the Tansu broker (session fixture), ``finpulse worker`` and ``finpulse
replay`` / ``finpulse dashboard`` subprocesses. The classifier is the lexicon baseline.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

N_EN = 260
N_PL = 40


def write_archive(path: Path) -> dict[str, str]:
    """An archive of N_EN English and N_PL Polish documents; returns id -> language."""
    t0 = datetime(2024, 3, 10, 8, 0, tzinfo=UTC)
    langs: dict[str, str] = {}
    lines = []
    n_pl = 0
    for i in range(N_EN + N_PL):
        lang = "en-US"
        if i % 7 == 3 and n_pl < N_PL:
            lang, n_pl = "pl-PL", n_pl + 1
        doc_id = f"doc-{i:04d}"
        langs[doc_id] = lang
        title = (
            f"Bank shares plunge as lender {i} faces fraud probe"
            if i % 3 == 0
            else f"Company {i} reports record quarterly profit"
        )
        if lang == "pl-PL":
            title = f"Akcje banku {i} spadają"
        lines.append(
            json.dumps(
                {
                    "id": doc_id,
                    "source": "itest",
                    "title": title,
                    "summary": "",
                    "link": f"https://example.com/{i}",
                    "published": (t0 + timedelta(seconds=37 * i)).isoformat(),
                    "language": lang,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return langs


def store_rows(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as c:
        return c.execute(
            "select id, scored, sentiment, topic, skip_reason from documents"
        ).fetchall()


def test_replayed_documents_are_stored_scored_exactly_once_and_served(
    tmp_path, pipeline_env, start_worker, start_proc, finpulse, topic_counter, wait, unused_port
):
    env = pipeline_env()
    archive = tmp_path / "docs.jsonl"
    langs = write_archive(archive)
    n = len(langs)
    db = tmp_path / "store.db"

    worker = start_worker(env)
    print(f"worker ready in {worker.ready_s:.1f} s")

    res = finpulse(["replay", str(archive)], env)
    assert res.returncode == 0, res.stderr
    assert f"published: {n} " in res.stdout

    rows = wait(lambda: (r := store_rows(db)) and len(r) >= n and r, timeout=120)
    assert rows, f"store has {len(store_rows(db))} of {n} documents:\n{worker.output[-2000:]}"
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == n
    assert set(ids) == set(langs)
    by_id = {r[0]: r for r in rows}
    for doc_id, lang in langs.items():
        _, is_scored, sentiment, topic, skip = by_id[doc_id]
        if lang.startswith("en"):
            assert is_scored and sentiment in {"negative", "neutral", "positive"} and topic, doc_id
        else:
            assert not is_scored and skip == "language:pl" and sentiment is None, doc_id

    # Exactly once on the scored topic too (a clean run has no redelivery).
    prefix = env["FINPULSE_BROKER__TOPIC_PREFIX"]
    bootstrap = env["FINPULSE_BROKER__URL"].removeprefix("kafka://")
    scored = topic_counter(bootstrap, f"{prefix}.scored", expected=n)
    assert {k.decode() for k in scored} == set(langs)
    assert max(scored.values()) == 1

    # The same file again: still one row per document.
    res = finpulse(["replay", str(archive)], env)
    assert res.returncode == 0, res.stderr
    wait(
        lambda: sum(topic_counter(bootstrap, f"{prefix}.scored", expected=2 * n).values()) >= 2 * n,
        timeout=120,
    )
    rows = store_rows(db)
    assert len(rows) == n and {r[0] for r in rows} == set(langs)

    dash = start_proc(["dashboard", "--port", str(unused_port)], env, name="dashboard")
    url = f"http://127.0.0.1:{unused_port}"

    def served():
        try:
            r = httpx.get(f"{url}/api/documents", params={"limit": 1000}, timeout=5)
        except httpx.HTTPError:
            if dash.proc.poll() is not None:
                pytest.fail(f"dashboard exited:\n{dash.output[-2000:]}")
            return None
        return r.json() if r.status_code == 200 else None

    docs = wait(served, timeout=90)
    assert docs is not None, dash.output[-2000:]
    assert {d["id"] for d in docs} == set(langs)
    assert len(docs) == n


@pytest.mark.parametrize("command", [["replay", "ARCHIVE"], ["worker"]])
def test_unreachable_broker_is_one_clear_line_and_non_zero_exit(
    tmp_path, pipeline_env, finpulse, unused_port, command
):
    archive = tmp_path / "a.jsonl"
    write_archive(archive)
    env = pipeline_env(FINPULSE_BROKER__URL=f"kafka://127.0.0.1:{unused_port}")
    args = [str(archive) if a == "ARCHIVE" else a for a in command]
    res = finpulse(args, env, timeout=60)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr + res.stdout
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.stderr
    assert f"127.0.0.1:{unused_port}" in errors[0]


def test_malformed_archive_lines_are_skipped_with_their_line_numbers(
    tmp_path, pipeline_env, finpulse, topic_counter
):
    good = {"source": "s", "title": "t", "published": "2024-03-10T08:00:00Z"}
    lines = [
        json.dumps({**good, "id": "a"}),
        "{this is not json",
        json.dumps({**good, "id": "b"}),
        json.dumps({"id": "c", "title": "no source, no time"}),
        json.dumps({**good, "id": "d"}),
    ]
    archive = tmp_path / "bad.jsonl"
    archive.write_text("\n".join(lines) + "\n")
    env = pipeline_env()
    res = finpulse(["replay", str(archive)], env)
    assert res.returncode == 0, res.stderr
    assert "skipped bad lines: 2" in res.stdout
    assert f"{archive}:2:" in res.stdout and f"{archive}:4:" in res.stdout
    assert "line 2" in res.stderr and "line 4" in res.stderr  # logged as they are skipped
    assert "published: 3 " in res.stdout
    prefix = env["FINPULSE_BROKER__TOPIC_PREFIX"]
    bootstrap = env["FINPULSE_BROKER__URL"].removeprefix("kafka://")
    keys = topic_counter(bootstrap, f"{prefix}.documents", expected=3)
    assert keys == {b"a": 1, b"b": 1, b"d": 1}
