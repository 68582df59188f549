"""A per-key request limit → 429 with Retry-After; other keys are not affected; windows reset."""

from __future__ import annotations

import pytest

from evalgate.errors import Throttled
from evalgate.services import container as container_module
from evalgate.services.projects import authenticate, limit_rate
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
    principal = authenticate({"authorization": f"Bearer {admin}"}, "/api/prompts")  # 1st request of this minute
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
