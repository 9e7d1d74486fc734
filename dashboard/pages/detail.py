"""The document detail panel shared by the topic/ticker pages and the live feed:
probabilities, the explanation on request, and the correction form."""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import ALL, Input, Output, State, html

from dashboard import queries
from dashboard.auth import current_user
from dashboard.components import doc_detail, fmt_time, highlight_spans
from dashboard.context import Context
from dashboard.feedback import save_correction
from foundation.errors import FinpulseError

log = logging.getLogger(__name__)


def register(app: dash.Dash, ctx: Context) -> None:
    @app.callback(
        Output("doc-detail", "children"),
        Output("selected-doc", "data"),
        Input({"type": "doc-open", "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_doc(_clicks: list[int | None]) -> tuple[Any, Any]:
        trig = dash.ctx.triggered_id
        # New rows (a refresh) also "trigger" with n_clicks 0: only a real click opens.
        if not isinstance(trig, dict) or not any(t["value"] for t in dash.ctx.triggered):
            raise dash.exceptions.PreventUpdate
        doc = queries.get_document(ctx.engine, trig["index"])
        if doc is None:
            return html.P("That document is no longer in the store."), None
        return doc_detail(doc, queries.corrections_for(ctx.engine, doc.id)), doc.id

    @app.callback(
        Output("explain-out", "children"),
        Input("explain-btn", "n_clicks"),
        State("selected-doc", "data"),
        prevent_initial_call=True,
    )
    def explain(n: int | None, doc_id: str | None) -> Any:
        if not n or not doc_id:
            raise dash.exceptions.PreventUpdate
        doc = queries.get_document(ctx.engine, doc_id)
        if doc is None:
            return "That document is no longer in the store."
        try:
            xp = ctx.explainer.explain(doc.text)
        except (FinpulseError, ValueError, RuntimeError, OSError) as exc:
            log.warning("explanation failed for %s: %s", doc_id, exc)
            return html.P(f"Explanation failed: {exc}", className="bad")
        return [
            html.P(
                f"Words that pushed towards {xp.label} (p={xp.probability:.2f}) are shaded in "
                "its colour, words against it in blue.",
                className="muted",
            ),
            html.P(highlight_spans(xp.words, xp.weights, xp.label), id="explain-words"),
        ]

    @app.callback(
        Output("fix-msg", "children"),
        Output("fix-history", "children"),
        Input("fix-save", "n_clicks"),
        State("fix-sentiment", "value"),
        State("fix-topic", "value"),
        State("selected-doc", "data"),
        prevent_initial_call=True,
    )
    def save(n: int | None, sentiment: str | None, topic: str | None, doc_id: str | None) -> Any:
        if not n or not doc_id:
            raise dash.exceptions.PreventUpdate
        doc = queries.get_document(ctx.engine, doc_id)
        if doc is None:
            return "That document is no longer in the store.", dash.no_update
        user = current_user()
        try:
            res = save_correction(
                ctx.store,
                doc_id,
                current={"sentiment": doc.sentiment, "topic": doc.topic},
                new={"sentiment": sentiment, "topic": topic},
                user=user,
            )
        except FinpulseError as exc:
            return f"Not saved: {exc}", dash.no_update
        history = [
            html.Li(f"{fmt_time(c.at)} · {c.user}: {c.field} {c.old or '—'} → {c.new}")
            for c in queries.corrections_for(ctx.engine, doc_id)
        ]
        if not res.saved:
            return "Nothing to save: the labels are unchanged.", history
        log.info("correction saved by %s for %s: %s", user, doc_id, ", ".join(res.saved))
        return f"Saved {', '.join(res.saved)} correction as {user}.", history
