"""The Dash app factory: ``create_app(settings, store=None) -> dash.Dash``.

One ``dcc.Location`` holds the page (path) and the filters (query string). A router callback
renders the page for the path and sets the filter controls from the query string; a filter
callback writes the controls back to the query string; every page's data callback reads the
query string. So the URL is the one source of truth, and a view can be shared as a link.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, State, dcc, html
from flask import jsonify, request
from sqlalchemy import text

from dashboard import auth, paths, queries
from dashboard.context import Context
from dashboard.explanations import Explainer
from dashboard.filters import RANGES, Filters, parse_query, to_query
from dashboard.pages import alerts, detail, live, overview, scope, sources
from foundation.settings import Settings
from foundation.store import Store
from models.base import TextClassifier
from models.labels import SENTIMENTS, TOPICS

log = logging.getLogger(__name__)

NAV = (
    ("/", "Overview"),
    ("/live", "Live feed"),
    ("/alerts", "Alerts"),
    ("/sources", "Sources"),
)
API_MAX_LIMIT = 1000


def _filter_bar() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("time range"),
                    dcc.RadioItems(
                        id="f-range",
                        options=[{"label": k, "value": k} for k in RANGES],
                        value="24h",
                        inline=True,
                    ),
                ],
                className="filter",
            ),
            html.Div(
                [
                    html.Label("topics"),
                    dcc.Dropdown(
                        id="f-topic",
                        options=list(TOPICS),
                        multi=True,
                        placeholder="all topics",
                    ),
                ],
                className="filter filter-wide",
            ),
            html.Div(
                [
                    html.Label("ticker"),
                    dcc.Input(id="f-ticker", type="text", placeholder="e.g. AAPL", debounce=True),
                ],
                className="filter",
            ),
            html.Div(
                [
                    html.Label("source"),
                    dcc.Dropdown(id="f-source", options=[], placeholder="all sources"),
                ],
                className="filter",
            ),
            html.Div(
                [
                    html.Label("sentiment"),
                    dcc.Dropdown(id="f-sentiment", options=list(SENTIMENTS), placeholder="all"),
                ],
                className="filter",
            ),
        ],
        id="filters",
        className="filters",
    )


def _layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            dcc.Store(id="selected-doc"),
            html.Header(
                [
                    html.Span("finpulse", className="brand"),
                    html.Nav(id="nav"),
                    html.Span(id="user", className="user"),
                ],
                className="header",
            ),
            _filter_bar(),
            html.Main(id="page"),
        ],
        className="app",
    )


def _page_for(ctx: Context, pathname: str | None) -> Any:
    path = (pathname or "/").rstrip("/") or "/"
    if path == "/":
        return overview.layout()
    if path == "/live":
        return live.layout(ctx.settings.dashboard.refresh_s)
    if path == "/alerts":
        return alerts.layout()
    if path == "/sources":
        return sources.layout()
    sc = scope.parse_path(path)
    if sc is not None:
        return scope.layout(*sc)
    return html.Div(
        [html.H2("Not found"), html.P(f"No page at {path}."), dcc.Link("Overview", href="/")],
        id="page-missing",
    )


def _register_shell(app: dash.Dash, ctx: Context) -> None:
    @app.callback(
        Output("page", "children"),
        Output("f-range", "value"),
        Output("f-topic", "value"),
        Output("f-ticker", "value"),
        Output("f-source", "value"),
        Output("f-sentiment", "value"),
        Output("f-source", "options"),
        Output("user", "children"),
        Input("url", "pathname"),
        State("url", "search"),
    )
    def route(pathname: str | None, search: str | None) -> tuple[Any, ...]:
        v = ctx.view(search)
        f = v.filters
        names = queries.source_names(ctx.engine, v.start, v.end)
        if f.source and f.source not in names:
            names.append(f.source)
        user: Any = ""
        if ctx.login_enabled:
            user = [f"signed in as {auth.current_user()} · ", html.A("sign out", href="/logout")]
        return (
            _page_for(ctx, pathname),
            f.range,
            list(f.topics),
            f.ticker or "",
            f.source,
            f.sentiment,
            names,
            user,
        )

    @app.callback(
        Output("url", "search"),
        Input("f-range", "value"),
        Input("f-topic", "value"),
        Input("f-ticker", "value"),
        Input("f-source", "value"),
        Input("f-sentiment", "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def write_filters(
        rng: str | None,
        topics: list[str] | None,
        ticker: str | None,
        source: str | None,
        sentiment: str | None,
        search: str | None,
    ) -> Any:
        # The router sets all controls at once: that is the URL being read, not a user edit.
        if len(dash.ctx.triggered_prop_ids) != 1:
            raise dash.exceptions.PreventUpdate
        old = parse_query(search)
        new = parse_query(
            to_query(
                Filters(
                    range=rng or old.range,
                    topics=tuple(topics or ()),
                    ticker=ticker,
                    source=source,
                    sentiment=sentiment,
                )
            )
        )
        if dash.ctx.triggered_id != "f-range" and old.start and old.end:
            new = new.with_(start=old.start, end=old.end)  # keep an explicit from/to
        query = to_query(new)
        if query == (search or ""):
            raise dash.exceptions.PreventUpdate
        return query

    @app.callback(Output("nav", "children"), Input("url", "pathname"), Input("url", "search"))
    def nav(pathname: str | None, search: str | None) -> list[Any]:
        # Links keep the filters, so moving between pages keeps the view.
        q = search or ""
        return [
            dcc.Link(
                label,
                href=href + q,
                className="nav-link active" if (pathname or "/") == href else "nav-link",
            )
            for href, label in NAV
        ]


def _register_api(app: dash.Dash, ctx: Context) -> None:
    server = app.server

    @server.route("/healthz")
    def healthz() -> Any:
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the point of a health check: report, do not raise
            return jsonify(status="error", error=type(exc).__name__), 503
        return jsonify(status="ok")

    @server.route("/api/documents")
    def api_documents() -> Any:
        try:
            limit = int(request.args.get("limit", "50"))
        except ValueError:
            return jsonify(error="limit must be an integer"), 400
        if not 1 <= limit <= API_MAX_LIMIT:
            return jsonify(error=f"limit must be in 1..{API_MAX_LIMIT}"), 400
        f = parse_query(request.query_string.decode("utf-8", "replace"))
        rows = queries.find_documents(
            ctx.engine,
            topics=f.topics,
            ticker=f.ticker,
            source=f.source,
            sentiment=f.sentiment,
            limit=limit,
        )
        return jsonify([r.api_json() for r in rows])


def create_app(
    settings: Settings,
    store: Store | None = None,
    *,
    classifier: TextClassifier | None = None,
) -> dash.Dash:
    """Build the dashboard on ``store`` (default: the configured one).

    ``classifier`` is for tests: without it the configured classifier is loaded the first time
    an explanation is asked for.
    """
    users = auth.load_users(settings.dashboard)
    store = store or Store(settings.store.url)
    ctx = Context(
        settings=settings,
        store=store,
        explainer=Explainer(settings.model, classifier),
        login_enabled=bool(users),
    )
    app = dash.Dash(
        __name__,
        title="finpulse",
        update_title=None,
        assets_folder=str(Path(__file__).parent / "assets"),
        suppress_callback_exceptions=True,
        enable_mcp=False,
    )
    secret = settings.dashboard.secret_key
    auth.install(
        app.server, users, secret.get_secret_value() if secret else None, settings.dashboard
    )
    paths.install_not_found(app.server)
    app.layout = _layout()
    _register_shell(app, ctx)
    _register_api(app, ctx)
    for page in (overview, scope, live, alerts, sources, detail):
        page.register(app, ctx)
    app.server.config["FINPULSE_CONTEXT"] = ctx
    return app
