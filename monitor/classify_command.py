"""``finpulse classify``: texts in, the model's output and the alert scopes they feed out.

Here, above models and ingest, because each row also carries the tickers and entities ingest
would tag (:func:`ingest.tickers.tag_document`) and the scopes the windowing would count the
text in (:func:`monitor.core.windowing.doc_scope_keys`, the one copy of that rule).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

from foundation.schemas import Document, ScoredDocument
from foundation.settings import get_settings
from foundation.text import scrub, scrub_all
from monitor.core.watchlists import WatchlistScopes

# A fixed time: the output of a text does not depend on when it is classified.
_AT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Item:
    text: str
    ident: Any = None


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str


def read_lines(lines: Iterable[str | bytes]) -> Iterator[Item | BadLine]:
    """JSON Lines with a "text" field (or bare JSON strings); a bad line is reported with its
    number and the rest still read. Blank lines are skipped. Bytes are decoded here (invalid
    UTF-8 becomes U+FFFD) and lone surrogates from JSON escapes are scrubbed, so no input
    makes the output unencodable (docs/reliability.md)."""
    for n, raw in enumerate(lines, 1):
        line = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            obj = scrub_all(json.loads(line))
        except (ValueError, RecursionError) as exc:
            yield BadLine(n, f"not JSON ({exc})")
            continue
        if isinstance(obj, str):
            yield Item(obj)
        elif isinstance(obj, dict) and isinstance(obj.get("text"), str):
            yield Item(obj["text"], obj.get("id"))
        else:
            yield BadLine(n, 'expected an object with a "text" string field')


def scopes_row(
    text: str, topic: str | None, watchlists: WatchlistScopes | None = None
) -> dict[str, Any]:
    """Tickers, entities, sectors and scope keys (``topic:x``, ``ticker:AAPL``,
    ``watchlist:banks``, ...) of a text, as ingest would tag it and the windowing would count
    it."""
    from ingest.tickers import default_index, tag_document
    from monitor.core.windowing import doc_scope_keys

    index = default_index()
    doc = tag_document(Document(id="classify", source="", title=text, published=_AT), index)
    sectors = index.sector_lookup()
    scored_doc = ScoredDocument(document=doc, topic=topic, scored_at=_AT)
    keys = doc_scope_keys(scored_doc, sectors)
    if watchlists is not None:
        keys += watchlists.scopes(scored_doc)
    return {
        "tickers": list(doc.tickers),
        "entities": list(doc.entities),
        "sectors": sectors.sectors(doc.tickers, doc.entities),
        # A source scope depends on where a text comes from, not on the text.
        "scopes": [k for k in keys if not k.startswith("source:")],
    }


@click.command()
@click.argument("texts", nargs=-1)
@click.option("--model", default=None, help="Model folder or 'baseline' (default: settings).")
@click.option("--explain", is_flag=True, help="Add word attributions for the sentiment.")
@click.option("--batch-size", default=64, show_default=True)
@click.pass_context
def classify(
    ctx: click.Context, texts: tuple[str, ...], model: str | None, explain: bool, batch_size: int
) -> None:
    """Classify TEXTS (or JSON Lines with a "text" field on stdin) -> JSON Lines.

    Each row holds the topic and sentiment with their probabilities, and the tickers,
    entities, sectors and alert scopes the text would count in. A bad stdin line is reported
    on stderr with its line number and the other lines are still classified; the exit status
    is then 1 (0 when every line was read)."""
    from models.registry import load_classifier

    settings = get_settings(ctx)
    ms = settings.model
    clf = load_classifier(ms.model_copy(update={"path": model}) if model is not None else ms)
    watchlists = WatchlistScopes(settings.watchlists)
    # stdin as bytes, split on "\n" only (U+2028 or U+0085 inside a text are text).
    stdin = getattr(sys.stdin, "buffer", None) or sys.stdin
    stream = (Item(scrub(t)) for t in texts) if texts else read_lines(stdin)
    bad = 0
    chunk: list[Item] = []

    def flush() -> None:
        preds = clf.predict([i.text for i in chunk])
        for item, p in zip(chunk, preds, strict=True):
            row: dict[str, Any] = {} if item.ident is None else {"id": item.ident}
            row.update(
                text=item.text,
                topic=p.topic,
                topic_score=round(p.topic_probs[p.topic], 4),
                sentiment=p.sentiment,
                sentiment_score=round(p.sentiment_probs[p.sentiment], 4),
                sentiment_probs={k: round(v, 4) for k, v in p.sentiment_probs.items()},
                topic_probs={k: round(v, 4) for k, v in p.topic_probs.items()},
                **scopes_row(item.text, p.topic, watchlists),
            )
            if explain:
                from models.explain import explain as explain_fn

                ex = explain_fn(clf, item.text)
                row["explanation"] = {
                    "label": ex.label,
                    "words": list(ex.words),
                    "weights": [round(float(w), 4) for w in ex.weights],
                }
            click.echo(json.dumps(row, ensure_ascii=False))
        chunk.clear()

    for got in stream:
        if isinstance(got, BadLine):
            bad += 1
            click.echo(f"error: stdin line {got.line}: {got.reason}", err=True)
            continue
        chunk.append(got)
        if len(chunk) >= batch_size:
            flush()
    if chunk:
        flush()
    if bad:
        click.echo(f"error: {bad} bad line(s) skipped; the others were classified", err=True)
        ctx.exit(1)
