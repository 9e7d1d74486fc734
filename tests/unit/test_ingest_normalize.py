"""Normalisation: text cleaning, canonical links, dates, ids, language; properties."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.normalize import (
    RawItem,
    as_raw,
    canonical_link,
    clean_text,
    document_id,
    language_tag,
    normalize,
    parse_datetime,
    resolve_published,
)

NOW = datetime(2022, 11, 8, 12, 0, tzinfo=UTC)
TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def norm(**kw):
    return normalize(RawItem(**kw), source="Test", feed_url="https://f.example/rss", fetched_at=NOW)


def test_clean_text_strips_html_entities_and_whitespace():
    raw = (
        "<p>Fed  <b>raises</b>\n rates&nbsp;by 0.75&#37; &amp; signals&hellip;</p>"
        "<script>x()</script>"
    )
    assert clean_text(raw) == "Fed raises rates by 0.75% & signals…"


def test_clean_text_double_escaped_html_is_removed():
    # SEC press releases carry "&amp;nbsp;"; some feeds escape whole tags twice.
    assert clean_text("a&amp;nbsp;b &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt;") == "a b bold"


def test_clean_text_keeps_comparisons_and_cuts_long_text():
    assert clean_text("x < 5 and y > 3") == "x < 5 and y > 3"
    assert clean_text("word " * 1000, 50) == ("word " * 10).strip()


def test_canonical_link_removes_tracking_and_fragment():
    url = (
        " https://WWW.Reuters.COM:443/markets/Story-ID"
        "?utm_source=rss&utm_medium=x&id=7&fbclid=abc#top "
    )
    assert canonical_link(url) == "https://www.reuters.com/markets/Story-ID?id=7"
    assert canonical_link("http://Example.com") == "http://example.com/"
    assert canonical_link("http://example.com:8080/a?gclid=1") == "http://example.com:8080/a"
    # Indented <link> text (Google News) loses its whitespace.
    assert canonical_link("\n        https://news.google.com/rss/articles/X?oc=5") == (
        "https://news.google.com/rss/articles/X?oc=5"
    )
    assert canonical_link("not a url") == "notaurl"
    assert canonical_link(None) == ""


def test_id_is_sha1_of_canonical_link_or_feed_and_title():
    d = norm(title="T", link="https://a.example/x?utm_source=y")
    assert d.link == "https://a.example/x"
    assert d.id == hashlib.sha1(b"https://a.example/x").hexdigest()
    no_link = norm(title="Only a title")
    assert no_link.id == hashlib.sha1(b"https://f.example/rss\nOnly a title").hexdigest()
    assert document_id("", None, "t") == hashlib.sha1(b"\nt").hexdigest()


def test_dates_are_utc_and_rfc822_without_seconds_parses():
    assert parse_datetime("Mon, 29 Jul 2019 13:55 GMT") == datetime(2019, 7, 29, 13, 55, tzinfo=UTC)
    assert parse_datetime("2025-01-24T16:00:43-05:00") == datetime(
        2025, 1, 24, 21, 0, 43, tzinfo=UTC
    )
    assert parse_datetime(1456818002) == datetime(2016, 3, 1, 7, 40, 2, tzinfo=UTC)
    assert parse_datetime(time.struct_time((2022, 11, 8, 16, 31, 5, 0, 0, 0))) == datetime(
        2022, 11, 8, 16, 31, 5, tzinfo=UTC
    )
    assert parse_datetime("yesterday-ish") is None
    assert parse_datetime(True) is None


def test_missing_and_absurd_dates_fall_back_to_fetch_time_with_a_flag():
    d = norm(title="x", link="https://a/1")
    assert d.published == NOW and "published:missing" in d.flags
    future = norm(title="x", link="https://a/2", published=NOW + timedelta(days=2))
    assert future.published == NOW and "published:absurd" in future.flags
    old = norm(title="x", link="https://a/3", published="Fri, 01 Jan 1971 00:00:00 GMT")
    assert "published:absurd" in old.flags
    ok = norm(title="x", link="https://a/4", published=NOW + timedelta(hours=2))
    assert ok.published == NOW + timedelta(hours=2) and not ok.flags
    assert resolve_published("garbage", NOW) == (NOW, ("published:missing",))


def test_language_tag_from_feed_wins_and_is_primary_subtag():
    assert language_tag("en-US") == "en" and language_tag("pl_PL") == "pl"
    assert language_tag("") is None and language_tag("12") is None
    d = normalize(
        RawItem(title="Der Markt fällt", link="https://a/1", published=NOW, language="en-GB"),
        source="s",
        fetched_at=NOW,
    )
    assert d.language == "en"  # the feed said so
    detected = norm(title="Rząd przyjął projekt ustawy o podatku", link="https://a/2")
    assert detected.language == "pl"


def test_title_falls_back_to_body_and_tickers_merge():
    d = normalize(
        RawItem(summary="$AAPL to the moon", link="https://a/1", published=NOW, tickers=("tsla",)),
        source="st",
        fetched_at=NOW,
        kind="social",
    )
    assert d.title == "$AAPL to the moon" and d.kind == "social"
    assert d.tickers == ("AAPL", "TSLA")


def test_entities_are_found_at_ingest_and_the_archive_tagging_agrees():
    from ingest.tickers import tag_document

    d = norm(
        title="Binance walks away from FTX rescue",
        summary="Bitcoin slides as the exchange's withdrawals stay frozen",
        link="https://a/2",
        published=NOW,
    )
    assert d.entities == ("Binance", "FTX") and d.tickers == ("BTC.X",)
    assert tag_document(d) is d  # the backtest/replay tagging adds nothing to ingest's work


def test_huge_fields_are_cut_and_flagged():
    d = norm(title="big " * 50_000, summary="<p>" + "x" * 10_000_000 + "</p>", link="https://a/1")
    assert len(d.title) <= 500 and len(d.summary) <= 1000
    assert {"title:truncated", "summary:truncated"} <= set(d.flags)


# --- properties -----------------------------------------------------------------------------

html_text = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "<b>",
                "</b>",
                "<p class='x'>",
                "&amp;",
                "&lt;i&gt;",
                "&nbsp;",
                "&#39;",
                "<br/>",
                "\n\t",
            ]
        ),
    ),
    max_size=12,
).map("".join)
dates = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1980, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    st.text(max_size=30),
)
links = st.one_of(
    st.none(),
    st.builds(
        lambda host, path, q: f"https://{host}/{path}?{q}",
        st.sampled_from(["Example.COM", "www.reuters.com", "a.b"]),
        st.text(alphabet="abcXYZ-_/", max_size=10),
        st.sampled_from(["", "utm_source=x", "id=1&utm_medium=y", "fbclid=z&p=2"]),
    ),
)


@settings(max_examples=150, deadline=None)
@given(title=html_text, summary=html_text, link=links, published=dates)
def test_normalize_is_idempotent_utc_and_html_free(title, summary, link, published):
    d1 = norm(title=title, summary=summary, link=link, published=published)
    d2 = normalize(as_raw(d1), source=d1.source, feed_url=d1.feed_url, fetched_at=NOW, kind=d1.kind)
    assert d2 == d1
    assert d1.published.tzinfo is not None and d1.published.utcoffset() == timedelta(0)
    assert not TAG.search(d1.title) and not TAG.search(d1.summary)
    assert d1.title == d1.title.strip() and "  " not in d1.title


@settings(max_examples=100, deadline=None)
@given(title=html_text, link=links)
def test_id_is_stable_across_fetch_times_and_tracking_params(title, link):
    a = norm(title=title, link=link)
    b = normalize(
        RawItem(title=title, link=(link or "") and link + "&utm_campaign=zzz" if link else None),
        source="Test",
        feed_url="https://f.example/rss",
        fetched_at=NOW + timedelta(hours=5),
    )
    assert a.id == b.id


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_clean_text_is_idempotent(s):
    once = clean_text(s)
    assert clean_text(once) == once
