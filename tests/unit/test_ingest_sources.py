"""Parsers on the real captured feeds in ../shared/fixtures and on hand-made broken ones."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from foundation.settings import SourceSettings
from ingest.normalize import clean_text
from ingest.sources import detect_kind, make_source

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)


def fixture(rel: str) -> bytes:
    path = FIXTURES / rel
    if not path.is_file():
        pytest.skip(f"fixture not present: {path}")
    return path.read_bytes()


def parse(kind: str, body: bytes, **settings):
    src = make_source(
        SourceSettings(name="test", kind=kind, url="https://feed.example/x", **settings)
    )
    return src.parse(body, fetched_at=NOW)


# --- real captures --------------------------------------------------------------------------

RSS_COUNTS = {
    "cnbc_international_top_news.xml": 30,
    "seekingalpha_aapl.xml": 20,
    "nytimes_business.xml": 50,
    "google_news_reuters_markets.xml": 100,
    "cnbc_finance_2019.xml": 30,
    "sec_edgar_company_filings_atom.xml": 55,
    "sec_press_releases.xml": 25,
}


@pytest.mark.parametrize(("name", "count"), sorted(RSS_COUNTS.items()))
def test_real_rss_and_atom_feeds_parse_cleanly(name, count):
    body = fixture(f"rss/{name}")
    assert detect_kind(body) == "rss"
    r = parse("rss", body)
    assert len(r.documents) == count
    assert r.problems == []
    for d in r.documents:
        assert d.title and d.link.startswith("https://") and d.kind == "news"
        assert d.published.tzinfo is not None and not d.flags
        assert "<" not in d.title and "&amp;" not in d.summary and "&nbsp;" not in d.summary
        assert d.language == "en"
    assert len({d.id for d in r.documents}) == count


def test_google_news_indented_links_and_reuters_suffix():
    r = parse("rss", fixture("rss/google_news_reuters_markets.xml"))
    d = r.documents[0]
    assert d.link.startswith("https://news.google.com/rss/articles/") and " " not in d.link
    assert d.title.endswith(" - Reuters")
    assert d.published == datetime(2026, 3, 13, 12, 33, 3, tzinfo=UTC)


def test_cnbc_2019_cdata_entities_and_pubdate_without_seconds():
    r = parse("rss", fixture("rss/cnbc_finance_2019.xml"))
    first = r.documents[0]
    assert first.published == datetime(2019, 7, 29, 13, 55, tzinfo=UTC)
    assert not any("&#039;" in d.summary or "&#39;" in d.summary for d in r.documents)
    assert any("'" in d.summary for d in r.documents)


def test_edgar_atom_iso_8859_1_and_offsets():
    r = parse("rss", fixture("rss/sec_edgar_company_filings_atom.xml"))
    first = r.documents[0]
    assert first.title == "8-K - Current report"
    assert first.published == datetime(2025, 1, 24, 21, 0, 43, tzinfo=UTC)  # -05:00 -> UTC
    assert first.link.startswith("https://www.sec.gov/Archives/edgar/data/1889983/")
    assert "Filed:" in first.summary and "<" not in first.summary


def test_sec_press_releases_padded_titles_and_double_escaped_nbsp():
    r = parse("rss", fixture("rss/sec_press_releases.xml"))
    assert all(d.title == d.title.strip() and "\n" not in d.title for d in r.documents)
    assert any("Crypto" in d.title for d in r.documents)


def test_reddit_listing_skips_over_18_and_is_social():
    body = fixture("reddit/askreddit_new.json")
    assert detect_kind(body) == "reddit"
    r = parse("reddit", body)
    assert r.skipped == 4 and len(r.documents) == 96 and r.problems == []
    d = r.documents[0]
    assert d.kind == "social" and d.link.startswith("https://www.reddit.com/r/AskReddit/comments/")
    assert d.published == datetime(2016, 3, 1, 8, 37, 38, tzinfo=UTC)
    assert d.author == "u/RedHeadQc"


def test_reddit_empty_listing_is_not_a_problem():
    r = parse("reddit", fixture("reddit/empty_listing.json"))
    assert r.documents == [] and r.problems == []


def test_stocktwits_bare_array_and_envelope():
    body = fixture("stocktwits/eth_x_2022-07-03_first100.json")
    assert detect_kind(body) == "stocktwits"
    r = parse("stocktwits", body)
    assert len(r.documents) == 100 and r.problems == []
    d = r.documents[0]
    assert d.kind == "social" and d.tickers == ("BTC.X", "ETH.X")
    assert d.link == "https://stocktwits.com/TheMainCharacter/message/469773959"
    tags = [f for doc in r.documents for f in doc.flags if f.startswith("user_sentiment:")]
    assert tags.count("user_sentiment:bullish") == 23 and tags.count("user_sentiment:bearish") == 24
    # The user's tag never reaches the text the classifier reads: that is the body alone.
    bodies = [clean_text(m["body"], 500) for m in json.loads(body)]
    assert [doc.title for doc in r.documents] == bodies
    envelope = json.dumps({"symbol": {"symbol": "ETH.X"}, "messages": json.loads(body)}).encode()
    assert detect_kind(envelope) == "stocktwits"
    r2 = parse("stocktwits", envelope)
    assert [d.id for d in r2.documents] == [d.id for d in r.documents]


# --- broken input ---------------------------------------------------------------------------


def test_truncated_xml_keeps_what_parsed_and_reports_it():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Oil jumps 5%</title><link>https://a/1</link>"
        b"<pubDate>Mon, 29 Jul 2019 13:55 GMT</pubDate></item><item><title>Tw"
    )
    r = parse("rss", body)
    assert [d.title for d in r.documents][:1] == ["Oil jumps 5%"]
    assert any("malformed feed" in p and "line 1" in p for p in r.problems)


def test_wrong_encoding_is_reported_not_fatal():
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
        "<item><title>Giełda spada</title><link>https://a/1</link></item></channel></rss>"
    ).encode("iso-8859-2")
    r = parse("rss", body)
    assert len(r.documents) == 1
    assert any("CharacterEncodingOverride" in p for p in r.problems)


def test_missing_dates_are_flagged_and_listed():
    body = (
        b'<rss version="2.0"><channel><title>x</title><item><title>No date here</title>'
        b"<link>https://a/1</link></item><item><title>Bad date</title><link>https://a/2</link>"
        b"<pubDate>sometime soon</pubDate></item></channel></rss>"
    )
    r = parse("rss", body)
    assert all(d.published == NOW and "published:missing" in d.flags for d in r.documents)
    assert sum("published:missing" in p for p in r.problems) == 2


def test_huge_fields_are_bounded():
    huge = "A" * 3_000_000
    body = (
        f'<rss version="2.0"><channel><title>x</title><item><title>{huge}</title>'
        f"<description>{huge}</description><link>https://a/1</link></item></channel></rss>"
    ).encode()
    started = time.perf_counter()
    r = parse("rss", body)
    assert time.perf_counter() - started < 30
    d = r.documents[0]
    assert len(d.title) <= 500 and len(d.summary) <= 1000
    assert any("title:truncated" in p for p in r.problems)


def test_billion_laughs_does_not_expand():
    entities = "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]>'
        '<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title>'
        "<link>https://a/1</link></item><item><title>Fine item</title><link>https://a/2</link>"
        "</item></channel></rss>"
    ).encode()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        r = parse("rss", body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 10
    assert peak < 50_000_000  # 10**9 "lol"s would be 3 GB
    assert all(len(d.title) < 100 for d in r.documents)
    assert "Fine item" in [d.title for d in r.documents]
    assert r.problems


@pytest.mark.parametrize(
    ("kind", "body", "needle"),
    [
        ("rss", b"", "empty response body"),
        ("rss", b"<html><body>hello</body></html>", "not an RSS or Atom document"),
        ("reddit", b"{not json", "not valid JSON"),
        ("reddit", b'{"error": 429, "message": "Too Many Requests"}', "reddit error 429"),
        ("reddit", b'{"kind": "t3"}', "not a Reddit Listing"),
        (
            "stocktwits",
            b'{"response": {"status": 404}, "errors": [{"message": "not found"}]}',
            "status 404",
        ),
        ("stocktwits", b'[{"id": 1}, "x"]', "message 1"),
        ("jsonl", b'{"id": "a"}\nnot json\n', "line 1"),
    ],
)
def test_broken_bodies_give_clear_problems(kind, body, needle):
    r = parse(kind, body)
    assert r.documents == []
    assert any(needle in p for p in r.problems), r.problems


def test_jsonl_keeps_archive_ids_and_reports_bad_lines():
    good = {
        "id": "48934135d1c2f5f8adbfc65b82ec72b47cf36b02",
        "source": "CNN",
        "feed_url": "http://rss.cnn.com/rss/edition.rss",
        "title": "Coinbase &amp; Robinhood shares slide",
        "summary": "",
        "link": "https://biztoc.com/p/pac75f9z?ref=rss&rd=1",
        "published": "2022-11-02T22:23:00Z",
        "language": "en-US",
    }
    body = gzip.compress((json.dumps(good) + "\n{broken\n\n[1,2]\n").encode())
    assert detect_kind(body, "x.jsonl.gz") == "jsonl"
    r = parse("jsonl", body)
    assert len(r.documents) == 1
    d = r.documents[0]
    assert d.id == good["id"] and d.source == "CNN" and d.language == "en"
    assert d.title == "Coinbase & Robinhood shares slide" and set(d.tickers) == {"COIN", "HOOD"}
    assert [p.split(":")[0] for p in r.problems] == ["line 2", "line 4"]
