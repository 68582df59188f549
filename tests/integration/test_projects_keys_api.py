"""Projects and API keys (/api/v1/projects...) through the handlers on mock_aws."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest

from tests.integration.conftest import Reply, Stack, key_for

INSUFFICIENT = "insufficient role for this operation"


# -- helpers ----------------------------------------------------------------------------------------
def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, reply.text
    return reply.json()


def err(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.text
    return reply.json()["error"]


def own_project(stack: Stack, key: str) -> dict[str, Any]:
    return dict(ok(stack.call("GET", "/api/v1/projects", key=key))["items"][0])


def create_child(stack: Stack, key: str, name: str = "child") -> dict[str, Any]:
    return dict(ok(stack.call("POST", "/api/v1/projects", key=key, body={"name": name}), 201))


def create_key(stack: Stack, key: str, project: str, name: str = "k", role: str | None = None) -> dict[str, Any]:
    body = {"name": name} if role is None else {"name": name, "role": role}
    return dict(ok(stack.call("POST", f"/api/v1/projects/{project}/api-keys", key=key, body=body), 201))


def all_keys(stack: Stack, key: str, project: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = f"limit=2&cursor={cursor}" if cursor else "limit=2"
        page = ok(stack.call("GET", f"/api/v1/projects/{project}/api-keys", key=key, query=query))
        items += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return items


def scan(stack: Stack) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": os.environ["TABLE_NAME"]}
    while True:
        resp = ddb.scan(**kwargs)
        items += resp["Items"]
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- projects ---------------------------------------------------------------------------------------
def test_admin_creates_a_project_with_a_first_admin_key_shown_once(stack: Stack, admin: str) -> None:
    # Given an admin key of a project
    parent = own_project(stack, admin)
    # When an admin creates a project
    created = create_child(stack, admin, "  team b  ")
    # Then it is a child of the caller's project, and comes with an admin key whose secret is in the answer
    assert created["name"] == "team b"
    assert created["parentId"] == parent["id"]
    assert created["id"].startswith("prj_") and created["id"] != parent["id"]
    api_key = created["apiKey"]
    assert api_key["projectId"] == created["id"]
    assert api_key["role"] == "admin"
    assert api_key["key"].startswith("eg_") and len(api_key["key"]) >= 40
    assert api_key["prefix"] == api_key["key"][:10] + "…"
    assert api_key["revokedAt"] is None
    # the new key works on its own project
    assert own_project(stack, api_key["key"])["id"] == created["id"]
    # and the secret is not shown again anywhere
    for path in ("/api/v1/projects", f"/api/v1/projects/{created['id']}", f"/api/v1/projects/{created['id']}/api-keys"):
        text = stack.call("GET", path, key=admin).text
        assert api_key["key"] not in text, path


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_only_admins_create_projects(stack: Stack, admin: str, role: str) -> None:
    # Given a member or viewer key / When it creates a project / Then 403 and nothing is created
    key = key_for(admin, stack, role)
    error = err(stack.call("POST", "/api/v1/projects", key=key, body={"name": "nope"}), 403)
    assert error["message"] == INSUFFICIENT
    assert [p["name"] for p in ok(stack.call("GET", "/api/v1/projects", key=admin))["items"]] == ["test project"]


def test_create_project_validates_its_body(stack: Stack, admin: str) -> None:
    # Given a project body without a name, or with an unknown field
    # When sent
    # Then 422 naming the field
    assert err(stack.call("POST", "/api/v1/projects", key=admin, body={"name": ""}), 422)["field"] == "name"
    assert err(stack.call("POST", "/api/v1/projects", key=admin, body={}), 422)["field"] == "name"
    error = err(stack.call("POST", "/api/v1/projects", key=admin, body={"name": "x", "parentId": "prj_x"}), 422)
    assert error["field"] == "parentId"


def test_list_projects_is_own_plus_children(stack: Stack, admin: str) -> None:
    # Given children, a grandchild and a stranger
    from evalgate.services.projects import create_project

    own = own_project(stack, admin)
    children = [create_child(stack, admin, f"child {i}") for i in range(3)]
    grandchild = create_child(stack, children[0]["apiKey"]["key"], "grandchild")
    _, _, stranger_key = create_project(None, "stranger")
    # When the parent lists projects
    items = ok(stack.call("GET", "/api/v1/projects", key=admin))["items"]
    # Then it sees its own project first, then its children; not grandchildren, not strangers
    assert items[0]["id"] == own["id"] and items[0]["parentId"] is None
    assert sorted(p["id"] for p in items[1:]) == sorted(c["id"] for c in children)
    assert grandchild["id"] not in {p["id"] for p in items}
    assert own_project(stack, stranger_key)["id"] not in {p["id"] for p in items}
    assert all("apiKey" not in p for p in items)
    # a child sees itself and its own child
    child_items = ok(stack.call("GET", "/api/v1/projects", key=children[0]["apiKey"]["key"]))["items"]
    assert [p["id"] for p in child_items] == [children[0]["id"], grandchild["id"]]


def test_list_projects_paginates(stack: Stack, admin: str) -> None:
    # Given five children / When listed two at a time / Then own project and every child come once
    children = {create_child(stack, admin, f"c{i}")["id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        query = f"limit=2&cursor={cursor}" if cursor else "limit=2"
        page = ok(stack.call("GET", "/api/v1/projects", key=admin, query=query))
        seen += [p["id"] for p in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen[0] == own_project(stack, admin)["id"]
    assert sorted(seen[1:]) == sorted(children)
    assert len(seen) == len(set(seen)) == 6


def test_get_project(stack: Stack, admin: str) -> None:
    # Given own, child, grandchild and stranger projects
    # When each is read
    # Then only own and child are visible
    from evalgate.services.projects import create_project

    own = own_project(stack, admin)
    child = create_child(stack, admin)
    grandchild = create_child(stack, child["apiKey"]["key"], "grandchild")
    stranger, _, _ = create_project(None, "stranger")
    # own project and a child are visible
    assert ok(stack.call("GET", f"/api/v1/projects/{own['id']}", key=admin)) == own
    got = ok(stack.call("GET", f"/api/v1/projects/{child['id']}", key=admin))
    assert (got["id"], got["parentId"], got["name"]) == (child["id"], own["id"], "child")
    # Then another project that is not a child, a grandchild, the parent (from the child) and unknown ids are 404
    for caller, project in [
        (admin, stranger.id),
        (admin, grandchild["id"]),
        (admin, "prj_nope"),
        (child["apiKey"]["key"], own["id"]),
    ]:
        assert err(stack.call("GET", f"/api/v1/projects/{project}", key=caller), 404)["code"] == "not_found"
    # a viewer may read its project
    viewer = key_for(admin, stack, "viewer")
    assert ok(stack.call("GET", f"/api/v1/projects/{own['id']}", key=viewer))["id"] == own["id"]


# -- api keys ---------------------------------------------------------------------------------------
def test_create_api_key_shows_the_secret_once_with_its_role(stack: Stack, admin: str) -> None:
    # Given an admin
    # When keys are created with and without a role
    # Then each secret is shown and the role holds
    project = own_project(stack, admin)["id"]
    default = create_key(stack, admin, project, "ci")
    viewer = create_key(stack, admin, project, "dash", "viewer")
    assert default["role"] == "member"  # the default role
    assert viewer["role"] == "viewer"
    for k in (default, viewer):
        assert k["projectId"] == project
        assert k["id"].startswith("key_")
        assert k["key"].startswith("eg_") and k["prefix"] == k["key"][:10] + "…"
        assert k["revokedAt"] is None
    assert default["key"] != viewer["key"]
    # the keys work with their roles: the member may write, the viewer only read
    assert stack.call("POST", "/api/prompts", key=default["key"], body={"name": "p"}).status == 201
    assert err(stack.call("POST", "/api/prompts", key=viewer["key"], body={"name": "p"}), 403)["message"] == (
        INSUFFICIENT
    )
    assert stack.call("GET", "/api/prompts", key=viewer["key"]).status == 200


def test_create_api_key_validates_its_body(stack: Stack, admin: str) -> None:
    # Given an unknown role, a caller-chosen secret or no name
    # When a key is created
    # Then 422 naming the field
    project = own_project(stack, admin)["id"]
    url = f"/api/v1/projects/{project}/api-keys"
    assert err(stack.call("POST", url, key=admin, body={"name": "x", "role": "owner"}), 422)["field"] == "role"
    assert err(stack.call("POST", url, key=admin, body={"name": "x", "key": "eg_mine"}), 422)["field"] == "key"
    assert err(stack.call("POST", url, key=admin, body={"role": "admin"}), 422)["field"] == "name"


def test_list_keys_never_shows_a_secret_or_its_hash(stack: Stack, admin: str) -> None:
    # Given four keys / When they are listed / Then neither a secret nor its hash is in the JSON
    project = own_project(stack, admin)["id"]
    made = [create_key(stack, admin, project, f"k{i}", role) for i, role in enumerate(["viewer", "member", "admin"])]
    # When the keys are listed (page by page)
    listed = all_keys(stack, admin, project)
    # Then every key is there (the project's first key too) with its role, and no secret or hash appears
    assert {k["id"]: k["role"] for k in made}.items() <= {k["id"]: k["role"] for k in listed}.items()
    assert len(listed) == 4
    text = json.dumps(listed)
    for secret in [admin] + [k["key"] for k in made]:
        assert secret not in text
        assert sha256(secret) not in text
    assert all(set(k) == {"id", "projectId", "name", "role", "prefix", "createdAt", "revokedAt"} for k in listed)
    assert "secretHash" not in text and '"key"' not in text


def test_revoked_key_is_401_right_after(stack: Stack, admin: str) -> None:
    # Given a working key / When it is revoked / Then it is 401 at once while others work
    project = own_project(stack, admin)["id"]
    made = create_key(stack, admin, project, "temp", "admin")
    assert stack.call("GET", "/api/prompts", key=made["key"]).status == 200
    # When it is revoked
    revoked = ok(stack.call("DELETE", f"/api/v1/projects/{project}/api-keys/{made['id']}", key=admin))
    assert revoked["id"] == made["id"] and revoked["revokedAt"] is not None
    assert "key" not in revoked
    # Then it is refused at once, everywhere, while the other keys still work
    for method, path in [
        ("GET", "/api/prompts"),
        ("GET", "/api/v1/projects"),
        ("GET", f"/api/v1/projects/{project}/api-keys"),
    ]:
        reply = stack.call(method, path, key=made["key"])
        assert err(reply, 401)["message"] == "invalid or revoked API key"
        assert reply.headers.get("WWW-Authenticate") == "Bearer"
    assert stack.call("GET", "/api/prompts", key=admin).status == 200
    # the listing shows it as revoked; revoking again is harmless
    listed = {k["id"]: k for k in all_keys(stack, admin, project)}
    assert listed[made["id"]]["revokedAt"] == revoked["revokedAt"]
    again = ok(stack.call("DELETE", f"/api/v1/projects/{project}/api-keys/{made['id']}", key=admin))
    assert again["revokedAt"] == revoked["revokedAt"]
    # an unknown key id is 404
    assert err(stack.call("DELETE", f"/api/v1/projects/{project}/api-keys/key_nope", key=admin), 404)["code"] == (
        "not_found"
    )


def test_a_key_can_revoke_itself(stack: Stack, admin: str) -> None:
    # Given an admin key / When it revokes itself / Then it stops working
    project = own_project(stack, admin)["id"]
    me = create_key(stack, admin, project, "me", "admin")
    ok(stack.call("DELETE", f"/api/v1/projects/{project}/api-keys/{me['id']}", key=me["key"]))
    assert stack.call("GET", "/api/prompts", key=me["key"]).status == 401


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_member_and_viewer_cannot_manage_keys(stack: Stack, admin: str, role: str) -> None:
    # Given a member or viewer key / When it creates, lists or revokes keys / Then 403 and nothing changes
    project = own_project(stack, admin)["id"]
    target = create_key(stack, admin, project, "target")
    key = key_for(admin, stack, role)
    for method, path, body in [
        ("POST", f"/api/v1/projects/{project}/api-keys", {"name": "escalate", "role": "admin"}),
        ("GET", f"/api/v1/projects/{project}/api-keys", None),
        ("DELETE", f"/api/v1/projects/{project}/api-keys/{target['id']}", None),
    ]:
        assert err(stack.call(method, path, key=key, body=body), 403)["message"] == INSUFFICIENT, (method, path)
    # nothing changed: no new key, the target still works
    assert len(all_keys(stack, admin, project)) == 3
    assert stack.call("GET", "/api/prompts", key=target["key"]).status == 200


def test_keys_of_projects_outside_reach_are_404(stack: Stack, admin: str) -> None:
    # Given a parent, a child and a stranger
    # When keys are managed across them
    # Then only the parent reaches the child
    from evalgate.services.projects import create_project

    parent = own_project(stack, admin)["id"]
    child = create_child(stack, admin)
    child_admin = child["apiKey"]["key"]
    stranger, _, stranger_key = create_project(None, "stranger")
    stranger_key_id = ok(stack.call("GET", f"/api/v1/projects/{stranger.id}/api-keys", key=stranger_key))["items"][0][
        "id"
    ]
    # a parent admin manages its child's keys
    made = create_key(stack, admin, child["id"], "from parent", "viewer")
    assert made["projectId"] == child["id"]
    # but the child cannot reach its parent, and nobody reaches a stranger
    for caller, method, path, body in [
        (child_admin, "GET", f"/api/v1/projects/{parent}/api-keys", None),
        (child_admin, "POST", f"/api/v1/projects/{parent}/api-keys", {"name": "x", "role": "admin"}),
        (admin, "GET", f"/api/v1/projects/{stranger.id}/api-keys", None),
        (admin, "POST", f"/api/v1/projects/{stranger.id}/api-keys", {"name": "x", "role": "admin"}),
        (admin, "DELETE", f"/api/v1/projects/{stranger.id}/api-keys/{stranger_key_id}", None),
        # a key id of a stranger under one's own project id is not found either
        (admin, "DELETE", f"/api/v1/projects/{parent}/api-keys/{stranger_key_id}", None),
    ]:
        assert err(stack.call(method, path, key=caller, body=body), 404)["code"] == "not_found", (method, path)
    assert stack.call("GET", "/api/prompts", key=stranger_key).status == 200


# -- authentication ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing API key: send it as Authorization: Bearer <key>"),
        ({"authorization": ""}, "missing API key: send it as Authorization: Bearer <key>"),
        ({"authorization": "Bearer"}, "malformed Authorization header: no API key after Bearer"),
        (
            {"authorization": "Basic dXNlcjpwYXNz"},
            "malformed Authorization header: it must be Bearer <key> (another scheme or no scheme was sent)",
        ),
        (
            {"authorization": "eg_no_scheme_given"},
            "malformed Authorization header: it must be Bearer <key> (another scheme or no scheme was sent)",
        ),
        (
            {"authorization": "Bearer\teg_tab_separated_key_000000000000000000000"},
            "malformed Authorization header: separate Bearer from the key with one space (not a tab or another "
            "whitespace character)",
        ),
        ({"authorization": "Bearer eg_unknown_key_0000000000000000000000000"}, "invalid or revoked API key"),
    ],
)
def test_401_without_a_usable_key(stack: Stack, admin: str, headers: dict[str, str], message: str) -> None:
    # Given a missing, malformed or unknown key
    # When any project route is called
    # Then 401 with the reason
    project = own_project(stack, admin)["id"]
    for method, path, body in [
        ("GET", "/api/v1/projects", None),
        ("POST", "/api/v1/projects", {"name": "x"}),
        ("GET", f"/api/v1/projects/{project}", None),
        ("POST", f"/api/v1/projects/{project}/api-keys", {"name": "x"}),
        ("GET", f"/api/v1/projects/{project}/api-keys", None),
        ("DELETE", f"/api/v1/projects/{project}/api-keys/key_x", None),
    ]:
        reply = stack.call(method, path, body=body, headers=headers)
        error = err(reply, 401)
        assert (error["code"], error["message"]) == ("unauthorized", message), (method, path)
        assert reply.headers.get("WWW-Authenticate") == "Bearer"


def test_bearer_scheme_and_header_name_are_case_insensitive(stack: Stack, admin: str) -> None:
    # Given the header and scheme in other cases / When called / Then the key is accepted
    for headers in ({"Authorization": f"bearer {admin}"}, {"AUTHORIZATION": f"BEARER {admin}"}):
        assert stack.call("GET", "/api/v1/projects", headers=headers).status == 200


def test_x_api_key_is_not_accepted_outside_v5(stack: Stack, admin: str) -> None:
    # Given the key in X-API-KEY on a /api route / When called / Then 401
    assert err(stack.call("GET", "/api/v1/projects", headers={"x-api-key": admin}), 401)["code"] == "unauthorized"


def test_secrets_are_stored_hashed(stack: Stack, admin: str) -> None:
    # Given three keys / When the raw table is scanned / Then only their SHA-256 hashes are stored
    project = own_project(stack, admin)["id"]
    child = create_child(stack, admin)
    made = create_key(stack, admin, project, "k", "viewer")
    secrets_ = [admin, child["apiKey"]["key"], made["key"]]
    # When the whole table is read raw
    raw = json.dumps(scan(stack))
    # Then no secret appears in any item, but each one's SHA-256 does (it is how keys are looked up)
    for secret in secrets_:
        assert secret not in raw
        assert secret[3:] not in raw  # not even without its eg_ prefix
        assert sha256(secret) in raw
    # and revoking drops the lookup by hash
    ok(stack.call("DELETE", f"/api/v1/projects/{project}/api-keys/{made['id']}", key=admin))
    lookups = [i for i in scan(stack) if i["PK"]["S"] == f"KEYHASH#{sha256(made['key'])}"]
    assert lookups == []
