"""The month of real news (49,307 documents) replayed through the embedded broker: every
document is on the documents topic exactly once, counted by consuming the topic.

This is also the test that shows multi-record producer batches are safe for the documents
topic on Tansu (``finpulse replay`` batches; Tansu's wrong end offsets affect changelog
recovery, not a plain consumer).
"""

from __future__ import annotations

import gzip
import json

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MONTH_DOCS = 49_307


def test_month_replay_publishes_every_document_exactly_once(
    shared_dir, pipeline_env, finpulse, topic_counter
):
    path = shared_dir / "data" / "replay" / "2022-11.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        ids = {json.loads(line)["id"] for line in fh}
    assert len(ids) == MONTH_DOCS

    env = pipeline_env()
    res = finpulse(["replay", str(path), "--no-progress"], env, timeout=400)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"published: {MONTH_DOCS} " in res.stdout
    assert "failed deliveries: 0" in res.stdout
    print(res.stdout)

    prefix = env["FINPULSE_BROKER__TOPIC_PREFIX"]
    bootstrap = env["FINPULSE_BROKER__URL"].removeprefix("kafka://")
    counts = topic_counter(bootstrap, f"{prefix}.documents", expected=MONTH_DOCS, idle_s=10)
    assert sum(counts.values()) == MONTH_DOCS
    assert {k.decode() for k in counts} == ids
    assert max(counts.values()) == 1
