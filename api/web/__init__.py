"""The web page for leadership, at /ui/: scenarios, plans as a timeline, live solves, comparisons and sweeps.

Served by `planner serve` itself, from the same records through the same operations as the API
(`api.web.pages`), signed in with the same tokens (`api.web.session`). Server-rendered Jinja2 templates,
one small script of its own (live progress) and no library fetched from anywhere.
"""

from __future__ import annotations

from flask import Flask, Response, redirect, request
from werkzeug.exceptions import NotFound

from api.web.pages import bp, error_page

__all__ = ["error_page", "register"]


def register(app: Flask) -> None:
    """The page's blueprint, and `/` sending a browser to it (an API client asking for JSON still gets a 404)."""
    app.register_blueprint(bp)

    @app.get("/")
    def root() -> Response:
        if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
            return redirect(bp.url_prefix + "/", 302)  # type: ignore[return-value, operator]
        raise NotFound()
