"""Acting on alerts from the dashboard: acknowledge, silence, end a silence.

The forms sit on the alerts page (a silence form, the silences table, an acknowledge control on
each alert card) and on scope pages (a silence form prefilled with the scope). Every action
records the signed-in user (``dashboard.auth.current_user``; "anonymous" without login) and
goes through ``monitor.alert_actions``, the same code as ``finpulse alerts``; the store audits
it. With users configured the auth guard refuses these callbacks to anyone not signed in.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc, html

from dashboard.auth import current_user
from dashboard.context import Context
from foundation.errors import FinpulseError
from foundation.store import AckRow, OutboxRow, SilenceRow
from monitor.alert_actions import Marks, acknowledge, create_silence, parse_duration
from monitor.core.silences import Silence

DURATIONS = ["1h", "2h", "4h", "12h", "24h", "3d", "7d"]


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def silence_form(prefix: str, matchers: str = "") -> html.Div:
    """Matchers, a duration, a comment and a button; ids start with ``prefix``."""
    return html.Div(
        [
            html.H4("Silence notifications"),
            html.P(
                "Matching alerts are still detected and shown; their notifications wait until "
                "the silence ends. Matchers: rule, scope_kind, scope, fingerprint, watchlist "
                "(=, !=, =~ regex, !~), space separated.",
                className="muted",
            ),
            dcc.Input(
                id=f"{prefix}-sil-matchers",
                value=matchers,
                placeholder="scope_kind=ticker scope=SIVB",
                style={"width": "24em"},
            ),
            dcc.Dropdown(
                id=f"{prefix}-sil-for",
                options=DURATIONS,
                value="2h",
                clearable=False,
                style={"width": "7em", "display": "inline-block"},
            ),
            dcc.Input(
                id=f"{prefix}-sil-comment",
                placeholder="why (required)",
                style={"width": "20em"},
            ),
            html.Button("Silence", id=f"{prefix}-sil-create", n_clicks=0),
            html.Span(id=f"{prefix}-sil-msg", className="action-msg", role="status"),
        ],
        className="silence-form",
    )


def silences_table(rows: Sequence[SilenceRow], now: datetime) -> Any:
    if not rows:
        return html.P("No active or pending silences.", className="muted")
    body = []
    for r in rows:
        state = "pending" if now < r.starts_at else "active"
        body.append(
            html.Tr(
                [
                    html.Td(r.id),
                    html.Td(html.Span(state, className=f"badge badge-{state}")),
                    html.Td(" ".join(r.matchers)),
                    html.Td(f"{_fmt(r.starts_at)} → {_fmt(r.ends_at)}"),
                    html.Td(r.created_by),
                    html.Td(r.comment),
                    html.Td(
                        html.Button(
                            "End now",
                            id={"type": "al-unsilence", "id": r.id},
                            n_clicks=0,
                            className="small",
                        )
                    ),
                ],
                className="silence-row",
            )
        )
    head = html.Tr([html.Th(c) for c in ("id", "state", "matchers", "period", "by", "comment", "")])
    return html.Table([html.Thead(head), html.Tbody(body)], className="silences")


def marks_bar(key: str, marks: Marks, waiting: Sequence[OutboxRow] = ()) -> html.Div:
    """The silence/ack marks of one alert card, the notifications still waiting in the
    outbox (a sink down: attempts and last error), and its acknowledge control."""
    items: list[Any] = []
    if marks.silence is not None:
        items.append(_silenced_badge(marks.silence))
    for r in waiting:
        text = f"{r.alert.status} waiting for {r.sink}"
        if r.attempts:
            text += f" ({r.attempts} attempts, {r.last_error or 'error'})"
        items.append(html.Span(text, className="badge badge-pending outbox-waiting"))
    if marks.ack is not None:
        items.append(_ack_badge(marks.ack))
    else:
        items += [
            dcc.Input(
                id={"type": "al-ack-comment", "key": key},
                placeholder="comment",
                style={"width": "14em"},
            ),
            html.Button(
                "Acknowledge", id={"type": "al-ack", "key": key}, n_clicks=0, className="small"
            ),
        ]
    return html.Div(items, className="alert-marks")


def _silenced_badge(s: Silence) -> html.Span:
    return html.Span(
        f"silenced until {_fmt(s.ends_at)} ({s.id}, by {s.created_by})",
        className="badge badge-silenced",
    )


def _ack_badge(a: AckRow) -> html.Span:
    text = f"acknowledged by {a.user} at {_fmt(a.at)}" + (f": {a.comment}" if a.comment else "")
    return html.Span(text, className="badge badge-acked")


def _clicked() -> bool:
    # A button re-rendered with the cards also "triggers" a pattern callback, with 0 clicks.
    return any(t.get("value") for t in dash.ctx.triggered)


def _matchers(text: str | None) -> list[str]:
    try:
        return shlex.split(text or "")  # scope="Reuters Business" keeps its space
    except ValueError:
        return (text or "").split()  # an unbalanced quote: the matcher parser says what


def scope_matchers(kind: str, name: str) -> str:
    """The matchers that silence one scope, as the form's text."""
    return f"scope_kind={kind} scope={shlex.quote(name)}"


def register(app: dash.Dash, ctx: Context, prefix: str, version_id: str) -> None:
    """The silence form ``prefix`` creates a silence and bumps store ``version_id``."""

    @app.callback(
        Output(f"{prefix}-sil-msg", "children"),
        Output(version_id, "data", allow_duplicate=True),
        Input(f"{prefix}-sil-create", "n_clicks"),
        State(f"{prefix}-sil-matchers", "value"),
        State(f"{prefix}-sil-for", "value"),
        State(f"{prefix}-sil-comment", "value"),
        State(version_id, "data"),
        prevent_initial_call=True,
    )
    def create(
        n: int | None, matchers: str | None, duration: str | None, comment: str | None, v: Any
    ) -> tuple[str, Any]:
        if not n:
            raise dash.exceptions.PreventUpdate
        now = ctx.clock()
        user = current_user()
        try:
            sid = create_silence(
                ctx.store,
                _matchers(matchers),
                starts_at=now,
                ends_at=now + parse_duration(duration or "2h"),
                user=user,
                comment=comment or "",
                now=now,
                watchlists=ctx.settings.silence_lists(),
            )
        except FinpulseError as exc:
            return f"Not silenced: {exc}", dash.no_update
        return f"Silence {sid} created by {user} for {duration}.", (v or 0) + 1


def register_alerts_page(app: dash.Dash, ctx: Context, version_id: str) -> None:
    """The alert cards' acknowledge buttons and the silences table's end buttons."""
    register(app, ctx, "al", version_id)

    @app.callback(
        Output("al-action-msg", "children"),
        Output(version_id, "data", allow_duplicate=True),
        Input({"type": "al-ack", "key": ALL}, "n_clicks"),
        State({"type": "al-ack-comment", "key": ALL}, "value"),
        State({"type": "al-ack-comment", "key": ALL}, "id"),
        State(version_id, "data"),
        prevent_initial_call=True,
    )
    def ack(clicks: list[int | None], comments: list[str | None], ids: list[dict], v: Any) -> Any:
        trig = dash.ctx.triggered_id
        if not trig or not _clicked():
            raise dash.exceptions.PreventUpdate
        key = trig["key"]
        comment = next((c for c, i in zip(comments, ids, strict=False) if i["key"] == key), "")
        fingerprint, _, starts = key.partition("|")
        user = current_user()
        try:
            a = acknowledge(
                ctx.store,
                fingerprint,
                user=user,
                comment=comment or "",
                now=ctx.clock(),
                starts_at=datetime.fromisoformat(starts),
            )
        except (FinpulseError, ValueError) as exc:
            return f"Not acknowledged: {exc}", dash.no_update
        return f"{a.scope_kind}={a.scope} acknowledged by {user}.", (v or 0) + 1

    @app.callback(
        Output("al-action-msg", "children", allow_duplicate=True),
        Output(version_id, "data", allow_duplicate=True),
        Input({"type": "al-unsilence", "id": ALL}, "n_clicks"),
        State(version_id, "data"),
        prevent_initial_call=True,
    )
    def unsilence(clicks: list[int | None], v: Any) -> Any:
        trig = dash.ctx.triggered_id
        if not trig or not _clicked():
            raise dash.exceptions.PreventUpdate
        user = current_user()
        try:
            ctx.store.expire_silence(trig["id"], user, ctx.clock())
        except FinpulseError as exc:
            return f"Not ended: {exc}", dash.no_update
        return f"Silence {trig['id']} ended by {user}.", (v or 0) + 1
