"""Replay core: event-time merge across files, pacing arithmetic, bad lines, --from/--to."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from foundation.schemas import Document
from ingest.replay import Pacer, merge_by_time, replay_files

T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def doc(i: int, minutes: float) -> Document:
    return Document(
        id=f"d{i}", source="s", title=f"title {i}", published=T0 + timedelta(minutes=minutes)
    )


def line(d: Document) -> str:
    return d.model_dump_json(exclude={"schema_version"})


@dataclass
class FakePublisher:
    sent: list[Document] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)

    def publish(self, d: Document) -> None:
        self.sent.append(d)

    def flush(self, timeout: float = 60.0) -> object:
        @dataclass
        class S:
            failed_ids: list[str]

        return S([d.id for d in self.sent if d.id in self.fail])


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def write(path: Path, lines: list[str], gz: bool = False) -> Path:
    data = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def test_merge_orders_by_event_time_across_sources() -> None:
    a = [doc(1, 0), doc(3, 10), doc(5, 20)]
    b = [doc(2, 5), doc(4, 15)]
    out = list(merge_by_time([a, b, []]))
    assert [d.id for d in out] == ["d1", "d2", "d3", "d4", "d5"]


def test_merge_counts_documents_that_go_back_in_time() -> None:
    seen: list[str] = []
    out = list(
        merge_by_time([[doc(1, 10), doc(2, 0)]], on_out_of_order=lambda d: seen.append(d.id))
    )
    assert [d.id for d in out] == ["d1", "d2"]  # still published, never dropped
    assert seen == ["d2"]


def test_pacer_speed_follows_published_gaps() -> None:
    clock = FakeClock()
    p = Pacer(speed=60.0, clock=clock)  # one event-minute per wall second
    assert p.delay(T0) == 0.0
    assert p.delay(T0 + timedelta(minutes=2)) == pytest.approx(2.0)
    clock.t += 2.0
    assert p.delay(T0 + timedelta(minutes=3)) == pytest.approx(1.0)


def test_pacer_max_rate_spaces_documents() -> None:
    clock = FakeClock()
    p = Pacer(max_rate=4.0, clock=clock)
    delays = [p.delay(T0) for _ in range(5)]
    assert delays == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_pacer_anchor_waits_until_a_documents_time() -> None:
    clock = FakeClock()
    p = Pacer(speed=1.0, anchor=T0, clock=clock)
    assert p.delay(T0 + timedelta(seconds=30)) == pytest.approx(30.0)


def test_replay_merges_files_skips_bad_lines_and_reports_them(tmp_path: Path) -> None:
    f1 = write(tmp_path / "a.jsonl", [line(doc(1, 0)), "{not json", line(doc(4, 30))])
    f2 = write(
        tmp_path / "b.jsonl.gz",
        [
            line(doc(2, 10)),
            json.dumps({"id": "x", "title": "no source/published"}),
            line(doc(3, 20)),
        ],
        gz=True,
    )
    pub = FakePublisher()
    s = replay_files([f1, f2], pub)
    assert [d.id for d in pub.sent] == ["d1", "d2", "d3", "d4"]
    assert (s.read, s.published, s.failed, s.files) == (4, 4, 0, 2)
    assert sorted((Path(p).name, n) for p, n, _ in s.bad_lines) == [
        ("a.jsonl", 2),
        ("b.jsonl.gz", 2),
    ]
    text = "\n".join(s.lines())
    assert "a.jsonl:2" in text and "b.jsonl.gz:2" in text


def test_replay_of_a_folder_with_time_window_and_shift(tmp_path: Path) -> None:
    write(tmp_path / "2024-03-10.jsonl", [line(doc(i, i * 10)) for i in range(6)])
    pub = FakePublisher()
    shift = timedelta(days=1)
    s = replay_files(
        [tmp_path],
        pub,
        start=T0 + shift + timedelta(minutes=10),
        end=T0 + shift + timedelta(minutes=40),
        shift=shift,
    )
    assert [d.id for d in pub.sent] == ["d1", "d2", "d3"]
    assert pub.sent[0].published == T0 + shift + timedelta(minutes=10)
    assert s.filtered == 3


def test_replay_paces_with_speed(tmp_path: Path) -> None:
    f = write(tmp_path / "a.jsonl", [line(doc(i, i)) for i in range(3)])
    clock = FakeClock()
    replay_files([f], FakePublisher(), speed=30.0, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == pytest.approx([2.0, 2.0])


def test_failed_deliveries_are_reported(tmp_path: Path) -> None:
    f = write(tmp_path / "a.jsonl", [line(doc(i, i)) for i in range(3)])
    s = replay_files([f], FakePublisher(fail={"d1"}))
    assert s.failed_ids == ["d1"] and s.published == 2
    assert "failed deliveries: 1" in s.lines()
