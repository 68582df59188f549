"""evalgate.auth: which header carries the key, hashing, lookups, and role ordering."""

from __future__ import annotations

import hashlib

import pytest

from evalgate import auth
from evalgate.errors import Forbidden, Unauthorized
from evalgate.models.domain import Principal, Role

SECRET = "eg_abcdefghijklmnopqrstuvwxyz0123456789"


# -- which header -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {SECRET}"},
        {"Authorization": f"Bearer {SECRET}"},
        {"AUTHORIZATION": f"bearer {SECRET}"},
        {"authorization": f"  BEARER   {SECRET}  "},
    ],
)
def test_bearer_header_is_case_insensitive(headers: dict[str, str]) -> None:
    # Given an Authorization header in any case / When it is read on a normal route / Then the key is found
    assert auth.presented_secret(headers, "/api/prompts") == SECRET


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "missing API key: send it as Authorization: Bearer <key>"),
        ({"authorization": ""}, "missing API key: send it as Authorization: Bearer <key>"),
        ({"x-api-key": SECRET}, "missing API key: send it as Authorization: Bearer <key>"),
        ({"authorization": "Bearer"}, "no API key after Bearer"),
        ({"authorization": "Bearer    "}, "no API key after Bearer"),
        ({"authorization": f"Basic {SECRET}"}, "it must be Bearer <key>"),
        ({"authorization": SECRET}, "it must be Bearer <key>"),
        ({"authorization": f"Token {SECRET}"}, "it must be Bearer <key>"),
        ({"authorization": f"Bearer\t{SECRET}"}, "not a tab"),
        ({"authorization": f"Bearer\u00a0{SECRET}"}, "not a tab"),
    ],
)
def test_missing_or_malformed_bearer_is_unauthorized(headers: dict[str, str], says: str) -> None:
    # Given no usable Authorization header on a non-/v5 route (X-API-KEY is not read there)
    # When it is read
    with pytest.raises(Unauthorized) as info:
        auth.presented_secret(headers, "/api/prompts")
    # Then the message says what is wrong, and never repeats the key
    assert says in info.value.message
    assert SECRET not in info.value.message


@pytest.mark.parametrize("path", ["/v5", "/v5/prompts", "/v5/prompts/log"])
@pytest.mark.parametrize("name", ["x-api-key", "X-API-KEY", "X-Api-Key"])
def test_v5_routes_read_x_api_key_case_insensitively(path: str, name: str) -> None:
    # Given X-API-KEY in any case on a /v5 route / When read / Then the trimmed key is found
    assert auth.presented_secret({name: f" {SECRET} "}, path) == SECRET


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "   "}, {"authorization": f"Bearer {SECRET}"}])
def test_v5_routes_need_x_api_key_and_ignore_bearer(headers: dict[str, str]) -> None:
    # Given no X-API-KEY on a /v5 route (even with a Bearer) / When read / Then Unauthorized
    with pytest.raises(Unauthorized) as info:
        auth.presented_secret(headers, "/v5/prompts")
    assert info.value.message == "missing API key: send it in the X-API-KEY header"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/v5", True), ("/v5/x", True), ("/v50", False), ("/v5x/y", False), ("/api/v5/x", False), ("/", False)],
)
def test_uses_x_api_key_only_under_v5(path: str, expected: bool) -> None:
    # Given a path / When checked / Then only /v5 and /v5/... use X-API-KEY
    assert auth.uses_x_api_key(path) is expected


def test_a_bearer_on_a_non_v5_route_wins_over_x_api_key() -> None:
    # Given both headers on a /api route / When read / Then the Bearer key is used
    headers = {"x-api-key": "other", "authorization": f"Bearer {SECRET}"}
    assert auth.presented_secret(headers, "/api/v1/projects") == SECRET


# -- secrets and lookups ----------------------------------------------------------------------------
def test_generated_secrets_are_prefixed_random_and_hashed_with_sha256() -> None:
    # Given two generated secrets
    # When hashed and shown
    # Then they differ, hash with SHA-256, display only a prefix
    a, b = auth.generate_secret(), auth.generate_secret()
    assert a != b
    assert a.startswith("eg_") and len(a) >= 40
    assert auth.hash_secret(a) == hashlib.sha256(a.encode()).hexdigest()
    assert auth.hash_secret(a) != auth.hash_secret(b)
    # the display prefix is short and never the whole secret
    assert auth.display_prefix(a) == a[:10] + "…"
    assert a not in auth.display_prefix(a)


def test_principal_from_a_matching_lookup_item() -> None:
    # Given the lookup item of a hash / When resolved / Then the principal has its project, key and role
    digest = auth.hash_secret(SECRET)
    item = {"PK": f"KEYHASH#{digest}", "projectId": "prj_1", "keyId": "key_1", "role": "member"}
    assert auth.principal_from_lookup(item, digest) == Principal(project_id="prj_1", key_id="key_1", role=Role.member)


@pytest.mark.parametrize(
    "item",
    [None, {}, {"PK": "KEYHASH#someone-else", "projectId": "p", "keyId": "k", "role": "admin"}],
)
def test_no_or_mismatched_lookup_is_unauthorized(item: dict | None) -> None:
    # Given no item, or one for another hash / When resolved / Then Unauthorized
    with pytest.raises(Unauthorized) as info:
        auth.principal_from_lookup(item, auth.hash_secret(SECRET))
    assert info.value.message == "invalid or revoked API key"


# -- roles ------------------------------------------------------------------------------------------
def test_roles_are_ordered_viewer_reviewer_member_admin() -> None:
    # Given the roles / When ranked / Then viewer < reviewer < member < admin
    ranks = [r.rank for r in (Role.viewer, Role.reviewer, Role.member, Role.admin)]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4
    # a reviewer reads and labels, but writes nothing else
    assert Role.reviewer.allows(Role.viewer) and Role.reviewer.allows(Role.reviewer)
    assert not Role.reviewer.allows(Role.member) and not Role.viewer.allows(Role.reviewer)
    assert Role.member.allows(Role.reviewer) and Role.admin.allows(Role.reviewer)


@pytest.mark.parametrize(
    ("have", "need", "allowed"),
    [
        (Role.viewer, Role.viewer, True),
        (Role.viewer, Role.member, False),
        (Role.viewer, Role.admin, False),
        (Role.member, Role.viewer, True),
        (Role.member, Role.member, True),
        (Role.member, Role.admin, False),
        (Role.admin, Role.viewer, True),
        (Role.admin, Role.member, True),
        (Role.admin, Role.admin, True),
    ],
)
def test_require_role(have: Role, need: Role, allowed: bool) -> None:
    # Given a principal's role and a required role / When checked / Then only equal or higher roles pass
    principal = Principal(project_id="p", key_id="k", role=have)
    assert have.allows(need) is allowed
    if allowed:
        auth.require_role(principal, need)
    else:
        with pytest.raises(Forbidden) as info:
            auth.require_role(principal, need)
        assert info.value.message == "insufficient role for this operation"
