"""Property tests on the archive reader/writer: round trips and garbage lines."""

from __future__ import annotations

import gzip
import string
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation.schemas import Document
from ingest.archive import ArchiveWriter, ReadReport, document_line, read_archive

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
)
documents = st.builds(
    Document,
    id=st.text(alphabet=string.hexdigits.lower(), min_size=40, max_size=40),
    source=text,
    title=text,
    summary=text,
    link=text,
    published=st.datetimes(
        min_value=datetime(1995, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=0)),
    feed_url=st.one_of(st.none(), text),
    language=st.one_of(st.none(), st.sampled_from(["en", "pl", "de"])),
    tickers=st.lists(st.sampled_from(["AAPL", "BTC.X", "BRK.B"]), max_size=3, unique=True).map(
        tuple
    ),
    author=st.one_of(st.none(), text),
    kind=st.sampled_from(["news", "social"]),
    flags=st.lists(st.sampled_from(["published:missing", "title:truncated"]), unique=True).map(
        tuple
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=st.lists(documents, max_size=8))
def test_written_documents_read_back_equal(tmp_path_factory, docs):
    root = tmp_path_factory.mktemp("arch")
    writer = ArchiveWriter(root)
    writer.append(docs[: len(docs) // 2])
    writer.append(docs[len(docs) // 2 :])  # a second gzip member in the same day file
    back: list[Document] = []
    report = ReadReport()
    for path in sorted(root.glob("*.jsonl.gz")):
        back.extend(read_archive(path, report))
    key = lambda d: (d.published, d.id, d.title)  # noqa: E731
    assert sorted(back, key=key) == sorted(docs, key=key)
    assert report.bad == []


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    good=st.lists(documents, min_size=1, max_size=5),
    garbage=st.lists(
        st.text(max_size=80).filter(lambda s: "\n" not in s and "\r" not in s), max_size=6
    ),
    data=st.data(),
)
def test_garbage_lines_never_crash_and_are_reported_with_line_numbers(
    tmp_path_factory, good, garbage, data
):
    lines = [document_line(d) for d in good]
    bad_at: list[int] = []
    for g in garbage:
        pos = data.draw(st.integers(0, len(lines)))
        lines.insert(pos, g)
    path = tmp_path_factory.mktemp("g") / "x.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ReadReport()
    docs = list(read_archive(path, report))
    for n, line in enumerate(lines, start=1):
        if line.strip() and line not in {document_line(d) for d in good}:
            bad_at.append(n)
    reported = [lineno for _, lineno, _ in report.bad]
    # Every reported line is a garbage line; a garbage line that happens to be a valid
    # document (e.g. "{}"-like text cannot be) would be read, never lost.
    assert set(reported) <= set(bad_at)
    assert len(docs) + len(reported) == sum(1 for ln in lines if ln.strip())
    assert {d.id for d in good} <= {d.id for d in docs}


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    doc = Document(id="a" * 40, source="s", title="t", published=datetime(2022, 11, 1, tzinfo=UTC))
    data = gzip.compress(("\n".join([document_line(doc)] * 200) + "\n").encode())
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    report = ReadReport()
    docs = list(read_archive(path, report))
    assert len(docs) < 200
    assert report.bad and "truncated" in report.bad[-1][2]
