"""`planner tokens create | list | revoke`: what a token list shows (never a secret), and that a revoked token is refused."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from api.cli import main
from tests.service import close, make_api


def planner(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture
def instance(tmp_path: Path) -> str:
    return str(tmp_path / "instance")


def create(instance: str, name: str, role: str = "planner", workspace: str = "local") -> str:
    code, token = planner("tokens", "create", "--role", role, "--name", name, "--workspace", workspace, "--instance", instance)
    assert code == 0
    return token.strip()


def listed(instance: str, *options: str) -> list[dict[str, str]]:
    code, out = planner("tokens", "list", "--format", "json", "--instance", instance, *options)
    assert code == 0
    return json.loads(out)


def test_tokens_list_shows_name_role_workspace_and_creation_but_never_the_secret_or_its_hash(instance):
    # pp_tok_<id>_<secret>: the secret is URL-safe base64 and may hold underscores itself, so it is all after the third one.
    secret = create(instance, "ci", role="viewer", workspace="team-a").split("_", 3)[3]
    code, out = planner("tokens", "list", "--instance", instance)
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["id", "name", "role", "workspace", "created_at"]
    assert row.split()[1:4] == ["ci", "viewer", "team-a"]
    assert secret not in out
    assert [sorted(t) for t in listed(instance)] == [["created_at", "id", "name", "role", "workspace"]]


def test_tokens_list_leaves_out_revoked_tokens_unless_asked_for_all(instance):
    create(instance, "alice")
    create(instance, "bob")
    assert planner("tokens", "revoke", "bob", "--instance", instance)[0] == 0
    assert [t["name"] for t in listed(instance)] == ["alice"]
    everything = listed(instance, "--all")
    assert [(t["name"], t["revoked_at"] is not None) for t in everything] == [("alice", False), ("bob", True)]


def test_tokens_list_can_show_one_workspace(instance):
    create(instance, "alice", workspace="one")
    create(instance, "bob", workspace="two")
    assert [t["name"] for t in listed(instance, "--workspace", "two")] == ["bob"]


def test_a_token_can_be_revoked_by_its_id(instance):
    create(instance, "alice")
    token_id = listed(instance)[0]["id"]
    code, out = planner("tokens", "revoke", token_id, "--instance", instance)
    assert code == 0
    assert out.startswith(f"revoked {token_id}: token 'alice'")
    assert listed(instance) == []


def test_revoking_an_unknown_token_is_an_error_that_says_how_to_find_them(instance, capsys):
    create(instance, "alice")
    code, _ = planner("tokens", "revoke", "nobody", "--instance", instance)
    assert code == 1
    assert "no live token with the id or name 'nobody'" in capsys.readouterr().err
    assert [t["name"] for t in listed(instance)] == ["alice"]


def test_revoking_a_token_twice_is_an_error(instance, capsys):
    create(instance, "alice")
    token_id = listed(instance)[0]["id"]
    assert planner("tokens", "revoke", token_id, "--instance", instance)[0] == 0
    assert planner("tokens", "revoke", token_id, "--instance", instance)[0] == 1
    assert "already revoked" in capsys.readouterr().err


def test_a_name_two_live_tokens_share_is_refused_and_their_ids_are_named(instance, capsys):
    create(instance, "shared", workspace="one")
    create(instance, "shared", workspace="two")
    ids = [t["id"] for t in listed(instance)]
    assert planner("tokens", "revoke", "shared", "--instance", instance)[0] == 1
    err = capsys.readouterr().err
    assert all(i in err for i in ids)
    assert len(listed(instance)) == 2
    assert planner("tokens", "revoke", "shared", "--workspace", "two", "--instance", instance)[0] == 0
    assert [t["workspace"] for t in listed(instance)] == ["one"]


def test_the_service_refuses_a_token_once_it_is_revoked(instance):
    api = make_api(Path(instance), start_runner=False)
    try:
        token = create(instance, "ci", role="viewer")
        headers = {"Authorization": f"Bearer {token}"}
        assert api.client.get("/scenarios", headers=headers).status_code == 200
        assert planner("tokens", "revoke", "ci", "--instance", instance)[0] == 0
        refused = api.client.get("/scenarios", headers=headers)
        assert refused.status_code == 401
        assert refused.get_json()["detail"] == "the bearer token was revoked"
    finally:
        close(api)
