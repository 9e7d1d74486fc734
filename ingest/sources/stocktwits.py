"""StockTwits symbol streams (``https://api.stocktwits.com/api/2/streams/symbol/AAPL.json``).

Accepts the API's envelope ``{"symbol": ..., "cursor": ..., "messages": [...]}`` and a bare
array of messages (how scrapers store them). Messages become ``kind="social"`` documents
with the symbols StockTwits attached as tickers. The author's own Bullish/Bearish tag is
*not* put into the text the classifier reads: it is kept as the flag
``user_sentiment:bullish`` / ``user_sentiment:bearish`` for evaluation only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.normalize import RawItem
from ingest.sources.base import ParseResult, Source, text_or_none

SITE = "https://stocktwits.com"


class StocktwitsSource(Source):
    kind = "stocktwits"
    doc_kind = "social"
    accept = "application/json"
    # Unauthenticated clients get about 200 requests an hour.
    host_interval_s = 18.0

    def parse(
        self, body: bytes, *, fetched_at: datetime, content_type: str | None = None
    ) -> ParseResult:
        result = ParseResult()
        obj = self._json_body(body, result)
        if obj is None:
            return result
        messages: Any
        if isinstance(obj, dict):
            response = obj.get("response") or {}
            status = response.get("status") if isinstance(response, dict) else None
            if status not in (None, 200):
                errors = obj.get("errors") or []
                detail = "; ".join(str(e.get("message", e)) for e in errors if e) or "no detail"
                result.problems.append(f"StockTwits answered status {status}: {detail}")
            messages = obj.get("messages")
            if messages is None:
                result.problems.append("JSON object without a 'messages' array")
                return result
        else:
            messages = obj
        if not isinstance(messages, list):
            result.problems.append("'messages' is not an array")
            return result
        items: list[RawItem] = []
        for n, msg in enumerate(messages, start=1):
            if not isinstance(msg, dict) or not msg.get("body"):
                result.problems.append(f"message {n}: not a message object with a body")
                continue
            user: dict[str, Any] = msg["user"] if isinstance(msg.get("user"), dict) else {}
            username = text_or_none(user.get("username"))
            link = f"{SITE}/{username}/message/{msg['id']}" if username and msg.get("id") else None
            raw_symbols = msg.get("symbols")
            symbols = tuple(
                str(s.get("symbol"))
                for s in (raw_symbols if isinstance(raw_symbols, list) else [])
                if isinstance(s, dict) and s.get("symbol")
            )
            flags: tuple[str, ...] = ()
            entities = msg.get("entities") if isinstance(msg.get("entities"), dict) else {}
            sentiment = (entities.get("sentiment") or {}) if entities else {}
            basic = sentiment.get("basic") if isinstance(sentiment, dict) else None
            if isinstance(basic, str) and basic:
                flags = (f"user_sentiment:{basic.lower()}",)
            items.append(
                RawItem(
                    title=None,
                    summary=str(msg["body"]),
                    link=link,
                    published=msg.get("created_at"),
                    author=f"@{username}" if username else None,
                    tickers=symbols,
                    flags=flags,
                )
            )
        self._items_to_docs(items, result, fetched_at)
        return result
