"""Tokens (admin only): create (the secret is shown once), list, revoke; always within the admin's workspace."""

from __future__ import annotations

from flask import Blueprint, g
from sqlalchemy import select

from api.service import auth
from api.service.context import service
from api.service.db import Token
from api.service.openapi import JSON, Reply, operation, reply
from api.service.problems import ApiProblem
from api.service.schemas import NewToken, TokenList, TokenOut, TokenRequest
from planner.errors import NotFound

bp = Blueprint("tokens", __name__, url_prefix="/tokens")


def token_out(token: Token) -> dict[str, object]:
    return dict(id=token.id, name=token.name, role=token.role, workspace=token.workspace_id, created_at=token.created_at, revoked_at=token.revoked_at)


@bp.post("")
@operation(
    "create token",
    role="admin",
    tag="tokens",
    body=TokenRequest,
    replies={201: Reply("The new token; `token` is shown only in this answer.", {JSON: NewToken})},
)
def create(body: TokenRequest) -> object:
    with service().sessions.begin() as session:
        token, text = auth.create_token(session, workspace=g.token.workspace_id, role=body.role, name=body.name)
        out = NewToken(**token_out(token), token=text)
    return reply(out, 201)


@bp.get("")
@operation("list tokens", role="admin", tag="tokens", replies={200: Reply("The workspace's tokens, without their secrets.", {JSON: TokenList})})
def list_() -> object:
    with service().session() as session:
        tokens = session.scalars(select(Token).where(Token.workspace_id == g.token.workspace_id).order_by(Token.created_at, Token.id)).all()
    return reply(TokenList(items=[TokenOut(**token_out(t)) for t in tokens]))


@bp.delete("/<token_id>")
@operation("revoke token", role="admin", tag="tokens", replies={204: Reply("Revoked: requests with it get 401 from now on.")})
def revoke(token_id: str) -> object:
    with service().sessions.begin() as session:
        token = session.get(Token, token_id)
        if token is None or token.workspace_id != g.token.workspace_id:
            raise NotFound(f"no token '{token_id}' in this workspace")
        if token.revoked_at is not None:
            raise NotFound(f"token '{token_id}' is already revoked")
        if token.id == g.token.id:
            raise ApiProblem(409, "a token cannot revoke itself; use another admin token")
        auth.revoke(token)
    return "", 204
