"""A per-key request limit → 429 with Retry-After; other keys are not affected; windows reset."""

from __future__ import annotations

import pytest

from evalgate.errors import Throttled, Unauthorized
from evalgate.services import container as container_module
from evalgate.services.projects import admit_key, recall
from tests.integration.conftest import Stack, key_for


def test_a_key_over_its_limit_gets_429_with_retry_after(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited, other = key_for(admin, stack, "viewer"), key_for(admin, stack, "viewer")
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "5")
    monkeypatch.setattr("evalgate.services.projects.time.time", lambda: 1_800_000_030.0)  # mid-window: no rollover
    container_module.reset_container()
    statuses = [stack.call("GET", "/api/prompts", key=limited).status for _ in range(5)]
    assert statuses == [200] * 5
    throttled = stack.call("GET", "/api/prompts", key=limited)
    assert throttled.status == 429, throttled.text
    assert throttled.json()["error"]["code"] == "throttled"
    assert throttled.headers["Retry-After"] == "30"
    assert "requests this minute" in throttled.json()["error"]["message"]
    assert stack.call("GET", "/api/prompts", key=other).status == 200  # the limit is per key


def test_windows_reset_and_zero_means_no_limit(stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "2")
    container_module.reset_container()
    principal, digest, _ = recall({"authorization": f"Bearer {admin}"}, "/api/prompts")
    now = 1_800_000_000.0
    assert admit_key(digest, principal, recalled=True, now=now) == principal
    admit_key(digest, principal, recalled=True, now=now + 1)
    with pytest.raises(Throttled) as caught:
        admit_key(digest, principal, recalled=True, now=now + 2)
    assert caught.value.retry_after == 58
    admit_key(digest, principal, recalled=True, now=now + 60)  # the next window starts again
    admit_key(
        digest, principal, recalled=True, now=now + 1
    )  # a clock a minute behind counts into the key's window (its second request)
    with pytest.raises(Throttled):
        admit_key(digest, principal, recalled=True, now=now + 61)
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "0")
    container_module.reset_container()
    for _ in range(10):
        admit_key(digest, principal, recalled=True, now=now + 61)


def test_the_key_check_and_its_count_are_one_write(stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recalled key is checked again and counted by one UpdateItem on its lookup item (no read of its own; in a
    window already begun); a key revoked meanwhile is a 401, whatever its window holds."""
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "100")
    container_module.reset_container()
    project_id = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    made = stack.call(
        "POST", f"/api/v1/projects/{project_id}/api-keys", key=admin, body={"name": "one", "role": "viewer"}
    )
    secret, key_id = made.json()["key"], made.json()["id"]
    assert stack.call("GET", "/api/prompts", key=secret).status == 200  # looked up, then counted
    table = container_module.container().table
    operations: list[str] = []
    monkeypatch.setattr(table, "get", lambda *a, **k: operations.append("get") or type(table).get(table, *a, **k))
    monkeypatch.setattr(
        table, "update", lambda *a, **k: operations.append("update") or type(table).update(table, *a, **k)
    )
    principal, digest, recalled = recall({"authorization": f"Bearer {secret}"}, "/api/prompts")
    assert recalled
    assert admit_key(digest, principal, recalled=True) == principal
    assert operations == ["update"]
    revoked = stack.call("DELETE", f"/api/v1/projects/{project_id}/api-keys/{key_id}", key=admin)
    assert revoked.status in (200, 204), revoked.text
    with pytest.raises(Unauthorized):
        admit_key(digest, principal, recalled=True)


def test_the_window_is_counted_beside_validation_and_a_429_wins_over_a_bad_body(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolver counts the key's window on its own thread while the body is parsed and validated; the route
    waits for it before it touches the project, so a throttled batch stores nothing, and a throttled request
    with a bad body is a 429, as when the window was counted first."""
    run = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "limited"}).json()
    url = f"/api/v1/evals/{run['id']}/results"
    limited = key_for(admin, stack, "member")
    threads: list[str] = []
    original = admit_key

    def counted_on(digest: str, principal: object, **kwargs: object) -> object:
        import threading

        threads.append(threading.current_thread().name)
        return original(digest, principal, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("evalgate.services.projects.admit_key", counted_on)
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "1")
    monkeypatch.setattr("evalgate.services.projects.time.time", lambda: 1_800_000_030.0)
    container_module.reset_container()
    first = stack.call("POST", url, key=limited, body={"results": [{"id": "r1", "passed": True}]})
    assert first.status == 200, first.text
    assert threads and all(name.startswith("admission") for name in threads), threads
    twins = {"results": [{"id": "d", "passed": True}, {"id": "d", "passed": False}]}  # refused by the route itself
    for body in (
        {"results": [{"id": "r2", "passed": "not a bool"}]},
        {"results": [{"id": "r3", "passed": True}]},
        twins,
    ):
        reply = stack.call("POST", url, key=limited, body=body)
        assert reply.status == 429, reply.text
        assert reply.headers["Retry-After"] == "30"
    bad_json = stack.call("POST", url, key=limited, raw_body=b'{"results": [NaN]}')
    assert bad_json.status == 429, bad_json.text
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "0")
    container_module.reset_container()
    stored = stack.call("GET", url, key=admin).json()["items"]
    assert [r["id"] for r in stored] == ["r1"]


def test_a_key_revoked_while_a_process_remembers_it_is_refused_before_anything_is_stored(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key this process looked up before is recalled and checked again beside the body's validation (its
    lookup is not on the request's path); revoked meanwhile, it is a 401 whatever the body, and stores nothing."""
    project_id = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    made = stack.call(
        "POST", f"/api/v1/projects/{project_id}/api-keys", key=admin, body={"name": "soon revoked", "role": "member"}
    )
    assert made.status == 201, made.text
    secret, key_id = made.json()["key"], made.json()["id"]
    run = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "revoked"}).json()
    url = f"/api/v1/evals/{run['id']}/results"
    assert stack.call("POST", url, key=secret, body={"results": [{"id": "r1", "passed": True}]}).status == 200

    import threading

    from evalgate.services import projects

    checked_on: list[str] = []
    original = projects.admit_key

    def lookup(digest: str, principal: object, **kwargs: object) -> object:
        checked_on.append(threading.current_thread().name)
        return original(digest, principal, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(projects, "admit_key", lookup)
    assert stack.call("POST", url, key=secret, body={"results": [{"id": "r2", "passed": True}]}).status == 200
    assert checked_on and all(name.startswith("admission") for name in checked_on), checked_on  # recalled

    revoked = stack.call("DELETE", f"/api/v1/projects/{project_id}/api-keys/{key_id}", key=admin)
    assert revoked.status in (200, 204), revoked.text
    # first, while still recalled, a route the key's role never allowed: a 401 (revoked), not the 403 its
    # recalled role would give
    remembered = dict(projects._recalled)
    admin_only = stack.call("POST", f"/api/v1/projects/{project_id}/api-keys", key=secret, body={"name": "x"})
    assert admin_only.status == 401, admin_only.text
    projects._recalled.update(remembered)  # as the submit function's own process still remembers it
    twins = {"results": [{"id": "d", "passed": True}, {"id": "d", "passed": False}]}  # refused by the route itself
    for body in ({"results": [{"id": "r3", "passed": True}]}, {"results": [{"id": "r4", "passed": "no"}]}, twins):
        reply = stack.call("POST", url, key=secret, body=body)
        assert reply.status == 401, reply.text
    assert stack.call("POST", url, key=secret, raw_body=b'{"results": [NaN]}').status == 401
    stored = stack.call("GET", url, key=admin).json()["items"]
    assert sorted(r["id"] for r in stored) == ["r1", "r2"]
