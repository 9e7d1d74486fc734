"""Hostile feeds, items and archives: the parsers, the normaliser and the archive reader never
crash, stay within time and memory, and every document they return can be archived and
published (valid UTF-8, a sane published time, a title)."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fuzz_budget import FUZZ, bounded_memory
from hypothesis import given
from hypothesis import strategies as st

from foundation.errors import SourceError
from foundation.schemas import Document
from foundation.settings import SourceSettings
from ingest.archive import ReadReport, document_line, read_archive
from ingest.normalize import EARLIEST, MAX_FUTURE, RawItem, normalize
from ingest.sources import make_source
from ingest.sources.base import ParseResult

FETCHED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

# Every code point, with lone surrogates (JSON's "\ud800" escapes produce them), controls,
# bidi marks and markup characters drawn often enough to matter.
any_text = st.text(
    st.one_of(
        st.characters(exclude_categories=()),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.sampled_from("<>&;\x00\x1b\u202e\ufeff\u2028 \t\n"),
    ),
    max_size=200,
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    any_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=20,
)


def check_documents(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    for doc in result.documents:
        check_document(doc)


def check_document(doc: Document) -> None:
    document_line(doc).encode("utf-8")  # the archive writes it
    doc.model_dump_json().encode("utf-8")  # the broker carries it
    assert doc.title
    assert EARLIEST <= doc.published <= FETCHED + MAX_FUTURE


def parse(kind: str, body: bytes) -> ParseResult:
    src = make_source(SourceSettings(name="fuzz", kind=kind, url="https://feed.example/x"))
    return bounded_memory(lambda: src.parse(body, fetched_at=FETCHED))


# --- RSS / Atom -------------------------------------------------------------------------------

XML_PIECES = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<rss version="2.0">',
    "<channel>",
    "<item>",
    "</item>",
    "<title>",
    "</title>",
    "<description>",
    "</description>",
    "<pubDate>",
    "</pubDate>",
    "<link>",
    "</link>",
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    "<entry>",
    "</entry>",
    "<updated>9999-12-31T23:59:59Z</updated>",
    "<pubDate>Tue, 08 Nov 2022 16:31:05 GMT</pubDate>",
    "<pubDate>Mon, 01 Jan 0001 00:00:00 GMT</pubDate>",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&#xD800;",
    "&#0;",
    "&lol;",
    '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    "<!DOCTYPE r [",
    "<script>x</script>",
    "</channel></rss>",
]
xml_bodies = st.lists(st.one_of(st.sampled_from(XML_PIECES), any_text), max_size=40).flatmap(
    lambda parts: st.sampled_from(["utf-8", "utf-16", "latin-1"]).map(
        lambda enc: "".join(parts).encode(enc, errors="replace")
    )
)


@FUZZ
@given(body=st.one_of(st.binary(max_size=4096), xml_bodies))
def test_rss_parser_survives_anything(body):
    check_documents(parse("rss", body))


def test_rss_billion_laughs_stays_small_and_fast():
    levels = "".join(
        f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{levels}]>'
        "<rss version='2.0'><channel><item><title>&l9;</title></item></channel></rss>"
    ).encode()
    started = time.perf_counter()
    result = parse("rss", body)
    assert time.perf_counter() - started < 5
    assert any("entity" in p for p in result.problems)
    check_documents(result)


# --- Reddit / StockTwits / JSON Lines ----------------------------------------------------------

reddit_post = st.fixed_dictionaries(
    {},
    optional={
        "title": json_value,
        "selftext": json_value,
        "permalink": json_value,
        "url": json_value,
        "created_utc": json_value,
        "author": json_value,
        "over_18": json_value,
        "is_self": json_value,
    },
)
reddit_child = st.one_of(
    st.fixed_dictionaries({"kind": st.just("t3"), "data": reddit_post}), json_value
)
reddit_listing = st.fixed_dictionaries(
    {"kind": st.sampled_from(["Listing", "t3", ""])},
    optional={
        "data": st.one_of(
            st.fixed_dictionaries({"children": st.lists(reddit_child, max_size=5)}), json_value
        )
    },
)
stocktwits_message = st.fixed_dictionaries(
    {},
    optional={
        "id": json_value,
        "body": json_value,
        "created_at": json_value,
        "user": json_value,
        "symbols": json_value,
        "entities": json_value,
    },
)
stocktwits_body = st.one_of(
    st.fixed_dictionaries(
        {"messages": st.one_of(st.lists(stocktwits_message, max_size=5), json_value)},
        optional={"response": json_value, "errors": json_value, "cursor": json_value},
    ),
    json_value,
)


def dumps(obj: Any, ascii_only: bool) -> bytes:
    # ensure_ascii turns a lone surrogate into "\\ud800", which a reader turns back into one.
    return json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", errors="surrogatepass")


@FUZZ
@given(
    obj=st.one_of(reddit_listing, st.lists(reddit_listing, max_size=2), json_value),
    ascii_only=st.booleans(),
)
def test_reddit_parser_survives_any_json(obj, ascii_only):
    check_documents(parse("reddit", dumps(obj, ascii_only)))


@FUZZ
@given(obj=stocktwits_body, ascii_only=st.booleans())
def test_stocktwits_parser_survives_any_json(obj, ascii_only):
    check_documents(parse("stocktwits", dumps(obj, ascii_only)))


archive_record = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text("0123456789abcdef", min_size=1, max_size=80), json_value),
        "source": st.one_of(any_text, json_value),
        "title": st.one_of(any_text, json_value),
        "published": st.one_of(
            st.sampled_from(
                ["2022-11-08T16:31:05Z", "9999-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "12345"]
            ),
            json_value,
        ),
    },
    optional={
        "summary": json_value,
        "link": json_value,
        "language": json_value,
        "tickers": json_value,
        "kind": st.one_of(st.sampled_from(["news", "social"]), json_value),
        "flags": json_value,
        "feed_url": json_value,
        "author": json_value,
    },
)
archive_lines = st.lists(
    st.one_of(archive_record.map(lambda r: json.dumps(r)), any_text), max_size=12
).map(lambda lines: "\n".join(lines).encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(body=st.one_of(archive_lines, st.binary(max_size=2048)), gz=st.booleans())
def test_jsonl_source_survives_anything(body, gz):
    check_documents(parse("jsonl", gzip.compress(body) if gz else body))


# --- the normaliser ------------------------------------------------------------------------------

published_values = st.one_of(
    st.none(),
    any_text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.sampled_from(
        ["9999-12-31T23:59:59Z", "0001-01-01", "Tue, 08 Nov 2022 16:31:05 GMT", "1e308", "-1"]
    ),
    st.builds(
        time.struct_time,
        st.tuples(*[st.integers(min_value=-(2**40), max_value=2**40)] * 9),
    ),
)
raw_items = st.builds(
    RawItem,
    title=st.none() | any_text,
    summary=st.none() | any_text | st.text(max_size=5000),
    link=st.none()
    | any_text
    | st.sampled_from(["https://x.example/a?utm_source=y", "javascript:x"]),
    published=published_values,
    author=st.none() | any_text,
    language=st.none() | any_text,
    tickers=st.lists(any_text, max_size=4).map(tuple),
)


@FUZZ
@given(item=raw_items, source=any_text, feed_url=st.none() | any_text)
def test_normaliser_gives_an_archivable_document_for_any_item(item, source, feed_url):
    doc = bounded_memory(
        lambda: normalize(item, source=source, fetched_at=FETCHED, feed_url=feed_url)
    )
    document_line(doc).encode("utf-8")
    doc.model_dump_json().encode("utf-8")
    # The normaliser's promise on time: inside [EARLIEST, fetch time + MAX_FUTURE].
    assert EARLIEST <= doc.published <= FETCHED + MAX_FUTURE + timedelta(0)


# --- the archive reader --------------------------------------------------------------------------


@FUZZ
@given(
    body=st.one_of(archive_lines, st.binary(max_size=2048)),
    gz=st.booleans(),
    cut=st.integers(min_value=0, max_value=64),
)
def test_archive_reader_survives_any_file(tmp_path_factory, body, gz, cut):
    root = tmp_path_factory.mktemp("fz", numbered=True)
    data = gzip.compress(body) if gz else body
    if gz and cut:
        data = data[:-cut]  # a truncated .gz, as a crash leaves it
    path = root / ("a.jsonl.gz" if gz else "a.jsonl")
    path.write_bytes(data)
    report = ReadReport()

    def read() -> list[Document]:
        try:
            return list(read_archive(path, report))
        except SourceError:
            return []

    docs = bounded_memory(read)
    for doc in docs:
        document_line(doc).encode("utf-8")
        doc.model_dump_json().encode("utf-8")
    assert report.read == len(docs)


# --- the hostile inputs random search rarely builds ----------------------------------------------


def bomb(inflated: int) -> bytes:
    return gzip.compress(b"[" + b" " * inflated + b"]", compresslevel=9)


def test_gzip_bombs_are_refused_before_they_are_in_memory():
    body = bomb(200_000_000)  # 200 MB of blanks in about 200 KB
    for kind in ("jsonl", "reddit", "stocktwits"):
        src = make_source(
            SourceSettings(name="b", kind=kind, url="https://x.example/", max_bytes=1_000_000)
        )
        result = bounded_memory(lambda src=src: src.parse(body, fetched_at=FETCHED))
        assert result.documents == []
        assert any("inflates to more than 20000000 bytes" in p for p in result.problems), kind


def test_deeply_nested_json_is_a_problem_not_a_crash(tmp_path):
    deep = b"[" * 200_000 + b"]" * 200_000
    for kind in ("jsonl", "reddit", "stocktwits"):
        result = parse(kind, deep)
        assert result.documents == [] and result.problems, kind
    path = tmp_path / "deep.jsonl"
    path.write_bytes(deep + b"\n")
    report = ReadReport()
    assert list(read_archive(path, report)) == []
    assert "nested too deeply" in report.bad[0][2]


def test_lone_surrogates_are_replaced_not_fatal(tmp_path):
    line = json.dumps(
        {
            "id": "a" * 40,
            "source": "s\ud800",
            "title": "Apple \udfff up",
            "published": "2022-11-08T16:31:05Z",
        }
    )
    path = tmp_path / "s.jsonl"
    path.write_text(line + "\n")
    (doc,) = read_archive(path)
    assert doc.title == "Apple \ufffd up" and doc.source == "s\ufffd"
    check_document(
        normalize(RawItem(title="x\ud800"), source="s", fetched_at=FETCHED, feed_url="\udc00")
    )


def test_a_multi_member_archive_is_read_whole_by_the_jsonl_source():
    lines = [
        json.dumps(
            {
                "id": f"{i:040x}",
                "source": "s",
                "title": f"Story {i} about Apple",
                "published": "2022-11-08T16:31:05Z",
            }
        )
        for i in range(3)
    ]
    body = b"".join(gzip.compress((x + "\n").encode()) for x in lines)  # one member per append
    assert len(parse("jsonl", body).documents) == 3
