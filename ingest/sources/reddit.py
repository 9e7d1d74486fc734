"""Reddit public JSON listings (``https://www.reddit.com/r/<sub>/new.json?raw_json=1``).

Posts become ``kind="social"`` documents: the title is the headline, the self text the
summary, the link the post's permalink (stable, unlike the linked URL). Posts marked
``over_18`` are skipped and counted. Reddit asks unauthenticated clients for a descriptive
User-Agent and at most about ten requests a minute: every request carries
``settings.ingest.user_agent`` and requests to reddit.com are spaced by ``host_interval_s``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.normalize import RawItem
from ingest.sources.base import ParseResult, Source, text_or_none

REDDIT = "https://www.reddit.com"


class RedditSource(Source):
    kind = "reddit"
    doc_kind = "social"
    accept = "application/json"
    host_interval_s = 6.0

    def parse(
        self, body: bytes, *, fetched_at: datetime, content_type: str | None = None
    ) -> ParseResult:
        result = ParseResult()
        obj = self._json_body(body, result)
        if obj is None:
            return result
        # /comments/ endpoints return [listing, listing]; the first holds the post.
        listings = obj if isinstance(obj, list) else [obj]
        posts: list[dict[str, Any]] = []
        for listing in listings:
            if not isinstance(listing, dict) or listing.get("kind") != "Listing":
                if isinstance(listing, dict) and "error" in listing:
                    result.problems.append(
                        f"reddit error {listing.get('error')}: {listing.get('message', '')}"
                    )
                else:
                    result.problems.append("not a Reddit Listing (no kind='Listing')")
                continue
            data = listing.get("data")
            children = data.get("children") if isinstance(data, dict) else None
            if not isinstance(children, list):
                result.problems.append("Listing without data.children")
                continue
            for child in children:
                if isinstance(child, dict) and child.get("kind") == "t3":
                    data = child.get("data")
                    if isinstance(data, dict):
                        posts.append(data)
        items: list[RawItem] = []
        for post in posts:
            if post.get("over_18"):
                result.skipped += 1
                continue
            # Any field may hold any JSON value: only strings are taken as text.
            permalink = text_or_none(post.get("permalink")) or ""
            url = text_or_none(post.get("url"))
            link = f"{REDDIT}{permalink}" if permalink.startswith("/") else url
            summary = text_or_none(post.get("selftext")) or ""
            if not summary and url and not post.get("is_self", True):
                summary = url
            author = text_or_none(post.get("author"))
            items.append(
                RawItem(
                    title=text_or_none(post.get("title")),
                    summary=summary,
                    link=link,
                    published=post.get("created_utc"),
                    author=f"u/{author}" if author else None,
                )
            )
        self._items_to_docs(items, result, fetched_at)
        return result
