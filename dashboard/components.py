"""Pure builders of Dash components from query rows (no I/O).

All user content (headlines, sources, errors, explanation words) goes in as plain ``children``
strings, which React escapes: a headline with ``<script>`` shows as text. Links are only
rendered for http(s) URLs, so a ``javascript:`` link from a feed is shown as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dash import dcc, html

from dashboard.queries import (
    AlertRow,
    CorrectionRow,
    DeadLetterRow,
    DeliveryRow,
    DocRow,
    Headline,
    SourceRow,
)
from models.labels import SENTIMENTS, TOPICS

GRAPH_CONFIG = {"displaylogo": False}


def fmt_time(dt: datetime | None) -> str:
    if dt is None:
        return "—"
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def safe_link(url: str, text: str) -> Any:
    if url.startswith(("http://", "https://")):
        return html.A(text, href=url, target="_blank", rel="noopener noreferrer nofollow")
    return html.Span(text)


def sentiment_badge(sentiment: str | None, score: float | None = None) -> html.Span:
    label = sentiment or "unscored"
    text = label if score is None else f"{label} {score:+.2f}"
    return html.Span(text, className=f"badge badge-{label}")


def headline_cards(h: Headline) -> list[Any]:
    share, base = h.negative_share_today, h.negative_share_baseline
    if share is not None and base is not None:
        delta = share - base
        vs = f"{delta:+.1%} vs 7-day baseline {base:.1%}"
    else:
        vs = "no baseline yet"
    return [
        html.Div(
            [
                html.Div(f"{h.documents_today:,}", className="card-value", id="hl-docs"),
                html.Div(f"documents on {h.day:%Y-%m-%d} (UTC)", className="card-label"),
            ],
            className="card",
        ),
        html.Div(
            [
                html.Div(fmt_pct(share), className="card-value", id="hl-negative"),
                html.Div(f"negative share · {vs}", className="card-label"),
            ],
            className="card",
        ),
        html.Div(
            [
                html.Div(
                    str(h.alerts_firing),
                    className="card-value" + (" card-alert" if h.alerts_firing else ""),
                    id="hl-alerts",
                ),
                html.Div(
                    [dcc.Link("alerts firing", href="/alerts")],
                    className="card-label",
                ),
            ],
            className="card",
        ),
    ]


def documents_table(rows: Sequence[DocRow], caption: str, table_id: str = "docs") -> html.Div:
    """One row per document; the last cell's button opens its details."""
    if not rows:
        return html.Div([html.P(caption), html.P("No documents.", className="muted")])
    head = html.Thead(
        html.Tr(
            [
                html.Th(c)
                for c in ("published", "source", "headline", "topic", "sentiment", "tickers", "")
            ]
        )
    )
    body = []
    for d in rows:
        top_topic = max(d.topic_probs.values()) if d.topic_probs else None
        topic_txt = d.topic or "—"
        if top_topic is not None and d.topic:
            topic_txt = f"{d.topic} ({d.topic_probs.get(d.topic, top_topic):.0%})"
        body.append(
            html.Tr(
                [
                    html.Td(fmt_time(d.published), className="nowrap"),
                    html.Td(d.source),
                    html.Td(safe_link(d.link, d.text), className="doc-title"),
                    html.Td(topic_txt),
                    html.Td(sentiment_badge(d.sentiment, d.score if d.scored else None)),
                    html.Td(" ".join(d.tickers)),
                    html.Td(
                        html.Button(
                            "details",
                            id={"type": "doc-open", "index": d.id},
                            className="small-button",
                            n_clicks=0,
                        )
                    ),
                ],
                className="doc-row",
                **{"data-doc-id": d.id},
            )
        )
    return html.Div(
        [html.P(caption, className="caption"), html.Table([head, html.Tbody(body)], id=table_id)]
    )


def highlight_spans(words: Sequence[str], weights: Sequence[float], label: str) -> list[Any]:
    """Explanation words as text spans, background by weight.

    Red/green/grey (the label's colour) where the word pushed towards ``label``, blue where it
    pushed against; the strongest word gets the full colour.
    """
    towards = {"negative": "214, 39, 40", "positive": "44, 160, 44"}.get(label, "120, 120, 120")
    against = "31, 119, 180"
    peak = max((abs(w) for w in weights), default=0.0) or 1.0
    spans: list[Any] = []
    for word, w in zip(words, weights, strict=False):
        alpha = round(0.65 * min(abs(w) / peak, 1.0), 3)
        rgb = towards if w >= 0 else against
        spans.append(
            html.Span(
                word,
                title=f"{w:+.3f}",
                className="xp-word",
                style={"backgroundColor": f"rgba({rgb}, {alpha})"},
            )
        )
        spans.append(" ")
    return spans


def doc_detail(doc: DocRow, fixes: Sequence[CorrectionRow]) -> html.Div:
    from dashboard.figures import probability_figure

    history = [
        html.Li(f"{fmt_time(c.at)} · {c.user}: {c.field} {c.old or '—'} → {c.new}") for c in fixes
    ]
    return html.Div(
        [
            html.H3(doc.text, id="detail-title"),
            html.P(
                [
                    f"{doc.source} · {fmt_time(doc.published)} · ",
                    safe_link(doc.link, "open article") if doc.link else "no link",
                    f" · model {doc.model or '—'} · id {doc.id}",
                ],
                className="muted",
            ),
            html.Div(
                [
                    dcc.Graph(
                        figure=probability_figure(doc.sentiment_probs, "sentiment"),
                        config={"displayModeBar": False},
                        className="prob-graph",
                    ),
                    dcc.Graph(
                        figure=probability_figure(doc.topic_probs, "topic (top 5)"),
                        config={"displayModeBar": False},
                        className="prob-graph",
                    ),
                ],
                className="row",
            ),
            html.Div(
                [
                    html.Button("Explain sentiment", id="explain-btn", n_clicks=0),
                    html.Div(id="explain-out", className="explanation"),
                ]
            ),
            html.H4("Correct the labels"),
            html.Div(
                [
                    html.Label("sentiment", htmlFor="fix-sentiment"),
                    dcc.Dropdown(
                        id="fix-sentiment",
                        options=list(SENTIMENTS),
                        value=doc.sentiment,
                        clearable=False,
                        className="fix-dropdown",
                    ),
                    html.Label("topic", htmlFor="fix-topic"),
                    dcc.Dropdown(
                        id="fix-topic",
                        options=list(TOPICS),
                        value=doc.topic,
                        clearable=False,
                        className="fix-dropdown",
                    ),
                    html.Button("Save correction", id="fix-save", n_clicks=0),
                ],
                className="row fix-row",
            ),
            html.Div(id="fix-msg", role="status"),
            html.Ul(history, id="fix-history"),
        ],
        className="detail",
        **{"data-doc-id": doc.id},
    )


def _figures_table(figs: dict[str, Any]) -> html.Table:
    rows = []
    for k, v in sorted(figs.items()):
        val = f"{v:.4g}" if isinstance(v, float) else str(v)
        rows.append(html.Tr([html.Td(k), html.Td(val)]))
    return html.Table(html.Tbody(rows), className="figures")


def _scope_href(a: AlertRow) -> str | None:
    if a.scope_kind == "topic":
        return f"/topic/{a.scope}"
    if a.scope_kind == "ticker":
        return f"/ticker/{a.scope}"
    if a.scope_kind == "sector":
        return f"/sector/{a.scope}"
    return None


def alert_card(a: AlertRow, sent: Sequence[DeliveryRow]) -> html.Div:
    href = _scope_href(a)
    scope = f"{a.scope_kind}={a.scope}"
    title = [html.Span(a.status, className=f"badge badge-{a.status}"), f" {a.rule} · "]
    title.append(dcc.Link(scope, href=href) if href else scope)
    when = f"since {fmt_time(a.starts_at)}"
    if a.ends_at:
        when = f"{fmt_time(a.starts_at)} → {fmt_time(a.ends_at)}"
    evidence = [
        html.Li(
            [
                safe_link(str(e.get("link") or ""), str(e.get("title") or "")),
                f" · {e.get('source', '')} · {str(e.get('published', ''))[:16]}",
            ]
        )
        for e in a.evidence
    ]
    deliveries = [
        html.Tr(
            [
                html.Td(d.sink),
                html.Td(d.status),
                html.Td(html.Span(d.state, className=f"badge badge-{d.state}")),
                html.Td(str(d.attempts)),
                html.Td(d.error or ""),
                html.Td(fmt_time(d.at)),
            ]
        )
        for d in sent
    ]
    summary = str(a.payload.get("summary") or "")
    return html.Div(
        [
            html.H4(title),
            html.P(when, className="muted"),
            html.P(summary) if summary else None,
            html.Div(
                [
                    html.Div([html.H5("figures"), _figures_table(a.figures)]),
                    html.Div([html.H5("peak"), _figures_table(dict(a.payload.get("peak") or {}))]),
                ],
                className="row",
            ),
            html.H5("evidence"),
            html.Ul(evidence) if evidence else html.P("none", className="muted"),
            html.H5("deliveries"),
            html.Table(
                [
                    html.Thead(
                        html.Tr(
                            [
                                html.Th(c)
                                for c in (
                                    "sink",
                                    "alert status",
                                    "state",
                                    "attempts",
                                    "error",
                                    "at",
                                )
                            ]
                        )
                    ),
                    html.Tbody(deliveries),
                ],
                className="deliveries",
            )
            if deliveries
            else html.P("no deliveries recorded", className="muted"),
        ],
        className=f"alert-card alert-{a.status}",
        **{"data-fingerprint": a.fingerprint},
    )


def dead_letters_table(rows: Sequence[DeadLetterRow]) -> Any:
    if not rows:
        return html.P("No dead letters.", className="muted")
    return html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(c)
                        for c in (
                            "at",
                            "sink",
                            "alert",
                            "status",
                            "attempts",
                            "error",
                            "fingerprint",
                        )
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(fmt_time(r.at)),
                            html.Td(r.sink),
                            html.Td(r.scope),
                            html.Td(r.status),
                            html.Td(str(r.attempts)),
                            html.Td(r.error),
                            html.Td(r.fingerprint[:12]),
                        ]
                    )
                    for r in rows
                ]
            ),
        ],
        id="dead-letters",
    )


def sources_table(rows: Sequence[SourceRow]) -> Any:
    if not rows:
        return html.P("No sources yet.", className="muted")
    cols = (
        "source",
        "last success",
        "fetched",
        "published",
        "duplicates",
        "errors",
        "last error",
        "docs last hour",
        "docs / hour (24 h)",
        "newest document",
    )
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(c) for c in cols])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(r.source),
                            html.Td(fmt_time(r.last_success)),
                            html.Td(f"{r.fetched:,}"),
                            html.Td(f"{r.published:,}"),
                            html.Td(f"{r.duplicates:,}"),
                            html.Td(f"{r.errors:,}", className="bad" if r.errors else None),
                            html.Td(r.last_error or ""),
                            html.Td(f"{r.docs_last_hour:,}"),
                            html.Td(f"{r.docs_per_hour:.1f}"),
                            html.Td(fmt_time(r.newest)),
                        ],
                        **{"data-source": r.source},
                    )
                    for r in rows
                ]
            ),
        ],
        id="sources-table",
    )
