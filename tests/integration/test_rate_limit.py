"""A per-key request limit → 429 with Retry-After; other keys are not affected; windows reset."""

from __future__ import annotations

import pytest

from evalgate.errors import Throttled
from evalgate.services import container as container_module
from evalgate.services.projects import limit_rate, recall
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
    principal, _ = recall({"authorization": f"Bearer {admin}"}, "/api/prompts")
    now = 1_800_000_000.0
    limit_rate(principal, now)
    limit_rate(principal, now + 1)
    with pytest.raises(Throttled) as caught:
        limit_rate(principal, now + 2)
    assert caught.value.retry_after == 58
    limit_rate(principal, now + 60)  # the next window starts again
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "0")
    container_module.reset_container()
    for _ in range(10):
        limit_rate(principal, now + 61)


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
    original = limit_rate

    def counted_on(principal: object, now: float | None = None) -> None:
        import threading

        threads.append(threading.current_thread().name)
        original(principal, now)  # type: ignore[arg-type]

    monkeypatch.setattr("evalgate.services.projects.limit_rate", counted_on)
    monkeypatch.setenv("EVALGATE_RATE_LIMIT_PER_MINUTE", "1")
    monkeypatch.setattr("evalgate.services.projects.time.time", lambda: 1_800_000_030.0)
    container_module.reset_container()
    first = stack.call("POST", url, key=limited, body={"results": [{"id": "r1", "passed": True}]})
    assert first.status == 200, first.text
    assert threads and all(name.startswith("admission") for name in threads), threads
    for body in ({"results": [{"id": "r2", "passed": "not a bool"}]}, {"results": [{"id": "r3", "passed": True}]}):
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
    original = projects.lookup_principal

    def lookup(digest: str) -> object:
        checked_on.append(threading.current_thread().name)
        return original(digest)

    monkeypatch.setattr(projects, "lookup_principal", lookup)
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
    for body in ({"results": [{"id": "r3", "passed": True}]}, {"results": [{"id": "r4", "passed": "no"}]}):
        reply = stack.call("POST", url, key=secret, body=body)
        assert reply.status == 401, reply.text
    assert stack.call("POST", url, key=secret, raw_body=b'{"results": [NaN]}').status == 401
    stored = stack.call("GET", url, key=admin).json()["items"]
    assert sorted(r["id"] for r in stored) == ["r1", "r2"]
