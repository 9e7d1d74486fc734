"""Which URLs are dashboard pages, and a 404 for every other one.

Dash serves its page shell for any path (a catch-all route), so ``/metrics`` or a typo would
answer 200 with HTML: a Prometheus scraper or a health probe would take that for a live
target. Paths that are no page get a plain 404 instead.
"""

from __future__ import annotations

from flask import Flask, abort, request

from dashboard.pages import scope

PAGE_PATHS = frozenset({"/", "/live", "/alerts", "/sources"})
CATCH_ALL = "/<path:path>"


def is_page(path: str) -> bool:
    path = path.rstrip("/") or "/"
    return path in PAGE_PATHS or scope.parse_path(path) is not None


def install_not_found(server: Flask) -> None:
    @server.before_request
    def _not_found() -> None:
        rule = request.url_rule
        if rule is not None and rule.rule == CATCH_ALL and not is_page(request.path):
            abort(404)
