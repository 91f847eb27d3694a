"""Signing in to the web page, its forms' CSRF tokens, and the headers every page carries.

The session is the API token itself, in an HttpOnly, SameSite=Strict cookie scoped to /ui: no script can
read it, no other site's request carries it, and revoking the token (`planner tokens revoke`) ends the
session at the next request. The API never reads the cookie (it takes only `Authorization`), so a page
elsewhere cannot call the API with a browser's session.

Every form the page posts carries a CSRF token: an HMAC of the session's token, which a page of another
site cannot compute. The sign-in form, which has no session yet, uses a random value kept both in a
cookie and in the form (a double submit), so no other site can sign a browser in as someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import g, request
from werkzeug.wrappers import Response

from api.service import auth
from api.service.db import Token
from api.service.problems import ApiProblem

COOKIE = "planner_session"
SIGN_IN_COOKIE = "planner_signin"
PATH = "/ui"

# Scripts and styles from the page's own files only: an injected <script> or style attribute does not run.
# `data:` images are for the printable report's nothing; SVG is inline markup, which needs no source.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def csrf_of(text: str) -> str:
    return hmac.new(text.encode(), b"planner web form", hashlib.sha256).hexdigest()


def signed_in() -> Token | None:
    """The token of the session cookie, when it is a live one; it becomes the request's token (`g.token`)."""
    text = request.cookies.get(COOKIE, "")
    if not text:
        return None
    try:
        token = auth.token_of(text)
    except ApiProblem:
        return None
    g.token, g.csrf = token, csrf_of(text)
    return token


def check_form() -> None:
    """A posted form carries this session's CSRF token and comes from this site (403 otherwise)."""
    sent = request.form.get("csrf", "")
    if not hmac.compare_digest(sent, g.get("csrf", "")) or not same_origin():
        raise ApiProblem(403, "this form was not sent from the planner's own page, or it is stale: reload the page and send it again")


def same_origin() -> bool:
    """The request's Origin (or Referer), when the browser sends one, names this host."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def sign_in_nonce() -> str:
    """The sign-in form's double-submit value: the cookie's when the browser has one, else a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def check_sign_in_form() -> None:
    cookie, sent = request.cookies.get(SIGN_IN_COOKIE, ""), request.form.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie, sent) or not same_origin():
        raise ApiProblem(403, "this sign-in form was not sent from the planner's own page, or it is stale: reload the page and sign in again")


def keep(response: Response, name: str, value: str) -> None:
    """A session cookie (gone when the browser closes) that scripts cannot read and other sites' requests do not carry."""
    response.set_cookie(name, value, path=PATH, httponly=True, samesite="Strict", secure=request.is_secure)


def forget(response: Response, name: str) -> None:
    response.delete_cookie(name, path=PATH, httponly=True, samesite="Strict", secure=request.is_secure)


def local(target: str | None, default: str = PATH + "/") -> str:
    """`target` when it is a path of the web page (never another site: no open redirect), else `default`."""
    if not target or not target.startswith(PATH + "/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target
