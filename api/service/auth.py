"""Bearer tokens and roles.

A token is `pp_<id>_<secret>`: the id finds its row, the secret is compared with the stored SHA-256 in
constant time. Secrets are 256 random bits, so a plain hash is enough (a slow password hash protects
guessable secrets, which these are not). Roles are ordered: viewer reads, planner also creates scenarios
and runs jobs, admin also manages tokens. Every query the service makes is scoped to the token's workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal

from flask import current_app, g, request
from sqlalchemy.orm import Session

from api.service.db import Token, Workspace, new_id, now
from api.service.problems import ApiProblem

Role = Literal["viewer", "planner", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "planner", "admin")
PREFIX = "pp"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, *, workspace: str, role: Role, name: str) -> tuple[Token, str]:
    """A new token in `workspace` (created if new): the row, and the token text, which is never stored."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if session.get(Workspace, workspace) is None:
        session.add(Workspace(id=workspace))
        session.flush()  # the token's foreign key needs the workspace row first
    secret = secrets.token_urlsafe(32)
    token = Token(id=new_id("tok"), workspace_id=workspace, name=name, role=role, secret_sha256=_digest(secret))
    session.add(token)
    session.flush()
    return token, f"{PREFIX}_{token.id}_{secret}"


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="planner"'})


def authenticate() -> Token:
    """The request's token, checked (401 when missing, malformed, unknown or revoked). The web page
    (`api.web`) signs its requests in from its session cookie before this runs: the API itself takes only
    the `Authorization` header, so no other site's form can act with a browser's cookie."""
    if "token" in g:
        return g.token
    header = request.headers.get("Authorization", "")
    scheme, _, text = header.partition(" ")
    if scheme.lower() != "bearer" or not text.strip():
        raise _unauthorized("send `Authorization: Bearer <token>`; `planner tokens create` makes one")
    g.token = token_of(text.strip())
    return g.token


def token_of(text: str) -> Token:
    """The live token whose text this is (401 when malformed, unknown or revoked)."""
    parts = text.split("_")
    # pp _ tok _ <hex> _ <secret, which may itself hold underscores>
    if len(parts) < 4 or parts[0] != PREFIX or parts[1] != "tok":
        raise _unauthorized("the bearer token is not a planner token")
    token_id, secret = f"{parts[1]}_{parts[2]}", "_".join(parts[3:])
    with current_app.extensions["planner"].session() as session:
        token = session.get(Token, token_id)
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        raise _unauthorized("the bearer token is not valid")
    if token.revoked_at is not None:
        raise _unauthorized("the bearer token was revoked")
    return token


def allows(token: Token, role: Role) -> bool:
    return ROLES.index(token.role) >= ROLES.index(role)


def require(role: Role) -> Token:
    token = authenticate()
    if not allows(token, role):
        raise ApiProblem(403, f"this needs the {role} role; the token '{token.name}' is a {token.role}")
    return token


def revoke(token: Token) -> None:
    token.revoked_at = now()
