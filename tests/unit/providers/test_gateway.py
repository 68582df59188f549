"""ModelGateway without AWS: retries (backoff, full jitter bounds, Retry-After, budgets), concurrency limits,
timeouts, the provider factory and cache-key canonicalisation. The DynamoDB cache itself is tested on moto in
tests/integration/test_provider_cache.py; here a small in-memory table covers its edge cases."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from evalgate.providers.anthropic import AnthropicProvider
from evalgate.providers.base import Completion, ModelRequest, ProviderError
from evalgate.providers.bedrock import BedrockProvider
from evalgate.providers.cache_keys import cache_digest, canonical_json
from evalgate.providers.config import ProviderSettings
from evalgate.providers.factory import provider_for
from evalgate.providers.gateway import ModelGateway
from evalgate.providers.offline import EchoProvider, ScriptedProvider
from evalgate.providers.openai_compat import OpenAICompatProvider
from evalgate.store.model_cache import ModelCache


def _ok(text: str = "ok") -> Completion:
    return Completion(text=text, input_tokens=3, output_tokens=1, latency_ms=1.0, cost_usd=0.001, model="m")


class FakeProvider:
    """Plays a script of outcomes (a Completion, or a ProviderError to raise); records the requests."""

    def __init__(self, *outcomes: Completion | ProviderError, name: str = "fake") -> None:
        self.name = name
        self.outcomes = list(outcomes)
        self.requests: list[ModelRequest] = []

    def complete(self, request: ModelRequest) -> Completion:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if self.outcomes else _ok()
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        self.requests.append(ModelRequest(self.name, model, "\n".join(texts)))
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, ProviderError):
            raise outcome
        return [[float(len(t)), 1.0] for t in texts]


class UpperRandom(random.Random):
    """Full jitter at its upper bound, so waits are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


def _gateway(provider: FakeProvider, **kwargs: Any) -> tuple[ModelGateway, list[float]]:
    slept: list[float] = []
    kwargs.setdefault("rng", UpperRandom())
    gw = ModelGateway(None, providers={provider.name: provider}, sleep=slept.append, **kwargs)
    return gw, slept


def _request(prompt: str = "hi", provider: str = "fake", **params: Any) -> ModelRequest:
    return ModelRequest(provider=provider, model="m", prompt=prompt, params=params)


def retryable(retry_after: float | None = None, status: int = 503) -> ProviderError:
    return ProviderError("busy", retryable=True, status=status, retry_after=retry_after)


# -- retries ----------------------------------------------------------------------------------------
def test_success_needs_no_retry() -> None:
    provider = FakeProvider(_ok("hello"))
    gw, slept = _gateway(provider)
    assert gw.complete(_request(), project_id="p").text == "hello"
    assert slept == [] and len(provider.requests) == 1


def test_retryable_errors_back_off_exponentially_up_to_max_attempts() -> None:
    provider = FakeProvider(retryable(), retryable(), retryable(), retryable())
    gw, slept = _gateway(provider, max_attempts=4, base_delay=0.5, max_delay=20)
    with pytest.raises(ProviderError):
        gw.complete(_request(), project_id="p")
    assert len(provider.requests) == 4
    assert slept == [0.5, 1.0, 2.0]  # the upper bounds of full jitter: base * 2**attempt


def test_waits_never_exceed_max_delay() -> None:
    provider = FakeProvider(*[retryable()] * 6)
    gw, slept = _gateway(provider, max_attempts=6, base_delay=1.0, max_delay=3.0)
    with pytest.raises(ProviderError):
        gw.complete(_request(), project_id="p")
    assert slept == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_full_jitter_stays_within_its_bounds() -> None:
    gw = ModelGateway(None, base_delay=0.5, max_delay=4.0, rng=random.Random(7))
    for attempt in range(8):
        ceiling = min(4.0, 0.5 * 2**attempt)
        samples = [gw.backoff(attempt) for _ in range(300)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > 0.8 * ceiling and min(samples) < 0.2 * ceiling  # spread over the whole range


def test_jittered_retry_waits_are_recorded_within_bounds() -> None:
    provider = FakeProvider(*[retryable()] * 3)
    slept: list[float] = []
    gw = ModelGateway(None, providers={"fake": provider}, sleep=slept.append, rng=random.Random(1), base_delay=0.5)
    gw.complete(_request(), project_id="p")
    assert len(slept) == 3
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(slept))


def test_non_retryable_errors_are_raised_at_once() -> None:
    provider = FakeProvider(ProviderError("bad request", retryable=False, status=400))
    gw, slept = _gateway(provider)
    with pytest.raises(ProviderError, match="bad request"):
        gw.complete(_request(), project_id="p")
    assert len(provider.requests) == 1 and slept == []


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    provider = FakeProvider(retryable(retry_after=3.0, status=429), _ok("done"))
    gw, slept = _gateway(provider, base_delay=0.5)
    assert gw.complete(_request(), project_id="p").text == "done"
    assert slept == [3.0]


def test_backoff_wins_when_longer_than_retry_after() -> None:
    provider = FakeProvider(retryable(), retryable(retry_after=0.1), _ok())
    gw, slept = _gateway(provider, base_delay=0.5)
    gw.complete(_request(), project_id="p")
    assert slept == [0.5, 1.0]


def test_retry_after_beyond_max_delay_fails_fast() -> None:
    provider = FakeProvider(retryable(retry_after=60.0, status=429), _ok())
    gw, slept = _gateway(provider, max_delay=20.0)
    with pytest.raises(ProviderError) as info:
        gw.complete(_request(), project_id="p")
    assert info.value.retry_after == 60.0
    assert slept == [] and len(provider.requests) == 1


def test_retry_budget_caps_the_total_wait() -> None:
    provider = FakeProvider(*[retryable()] * 10)
    gw, slept = _gateway(provider, max_attempts=10, base_delay=0.5, retry_budget_s=1.0)
    with pytest.raises(ProviderError):
        gw.complete(_request(), project_id="p")
    assert slept == [0.5, 0.5] and sum(slept) <= 1.0
    assert len(provider.requests) == 3


def test_retry_after_beyond_the_remaining_budget_fails_fast() -> None:
    provider = FakeProvider(retryable(), retryable(retry_after=0.8), _ok())
    gw, slept = _gateway(provider, base_delay=0.5, retry_budget_s=1.0)
    with pytest.raises(ProviderError):
        gw.complete(_request(), project_id="p")
    assert slept == [0.5]


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ModelGateway(None, max_attempts=0)


def test_embeddings_are_retried_too() -> None:
    provider = FakeProvider(retryable())
    gw, slept = _gateway(provider)
    assert gw.embed(["ab", "c"], provider="fake", model="e", project_id="p") == [[2.0, 1.0], [1.0, 1.0]]
    assert slept == [0.5]


# -- timeouts ---------------------------------------------------------------------------------------
def test_the_default_timeout_reaches_the_provider() -> None:
    provider = FakeProvider()
    gw, _ = _gateway(provider)
    gw.complete(_request(), project_id="p")
    assert provider.requests[0].timeout_s == 60.0


@pytest.mark.parametrize(("given", "expected"), [(5, 5.0), ("2.5", 2.5), (0, 60.0), ("soon", 60.0), (-1, 60.0)])
def test_params_timeout_overrides_the_default(given: Any, expected: float) -> None:
    provider = FakeProvider()
    gw, _ = _gateway(provider)
    gw.complete(_request(timeout_s=given), project_id="p")
    assert provider.requests[0].timeout_s == expected


# -- concurrency ------------------------------------------------------------------------------------
class SlowProvider:
    def __init__(self, name: str) -> None:
        self.name = name
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def complete(self, request: ModelRequest) -> Completion:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.03)
        with self.lock:
            self.active -= 1
        return _ok()

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        return []


def _hammer(gw: ModelGateway, provider: str, threads: int = 8) -> None:
    workers = [
        threading.Thread(target=gw.complete, args=(_request(str(i), provider=provider),), kwargs={"project_id": "p"})
        for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_concurrency_is_limited_per_provider() -> None:
    slow = SlowProvider("slow-limited")
    gw = ModelGateway(None, providers={slow.name: slow}, concurrency={slow.name: 2})
    _hammer(gw, slow.name)
    assert slow.peak == 2


def test_the_limit_is_shared_by_every_gateway_of_the_process() -> None:
    slow = SlowProvider("slow-shared")
    gateways = [ModelGateway(None, providers={slow.name: slow}, concurrency={slow.name: 1}) for _ in range(2)]
    workers = [
        threading.Thread(target=gw.complete, args=(_request(str(i), provider=slow.name),), kwargs={"project_id": "p"})
        for i in range(3)
        for gw in gateways
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert slow.peak == 1


def test_without_a_limit_calls_run_in_parallel() -> None:
    slow = SlowProvider("slow-free")
    gw = ModelGateway(None, providers={slow.name: slow}, default_concurrency=8)
    _hammer(gw, slow.name)
    assert slow.peak > 2


def test_limits_come_from_the_environment_settings() -> None:
    settings = ProviderSettings.from_env({"EVALGATE_PROVIDER_OLLAMA_CONCURRENCY": "3"})
    gw = ModelGateway(None, settings=settings, concurrency={"openai": 5})
    assert (gw.limit_for("ollama"), gw.limit_for("openai"), gw.limit_for("other")) == (3, 5, 8)


def test_waiting_longer_than_the_timeout_for_a_slot_is_a_retryable_error() -> None:
    slow = SlowProvider("slow-timeout")
    gw = ModelGateway(None, providers={slow.name: slow}, concurrency={slow.name: 1}, max_attempts=1)
    errors: list[ProviderError] = []

    def call() -> None:
        try:
            gw.complete(_request(provider=slow.name, timeout_s=0.001), project_id="p")
        except ProviderError as exc:
            errors.append(exc)

    workers = [threading.Thread(target=call) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors and all(e.retryable and "no free slot" in str(e) for e in errors)


# -- provider factory -------------------------------------------------------------------------------
SETTINGS = ProviderSettings.from_env(
    {
        "OPENAI_API_KEY": "sk-x",
        "EVALGATE_PROVIDER_VLLM_BASE_URL": "http://vllm:8000/v1",
        "EVALGATE_PROVIDER_CLAUDE_PROXY_BASE_URL": "http://proxy",
        "EVALGATE_PROVIDER_CLAUDE_PROXY_KIND": "anthropic",
    }
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("openai", OpenAICompatProvider),
        ("vllm", OpenAICompatProvider),
        ("anthropic", AnthropicProvider),
        ("claude-proxy", AnthropicProvider),
        ("bedrock", BedrockProvider),
        ("echo", EchoProvider),
        ("scripted", ScriptedProvider),
    ],
)
def test_provider_for_names(name: str, kind: type) -> None:
    provider = provider_for(name, SETTINGS)
    assert isinstance(provider, kind)
    assert provider.name == name


def test_bedrock_builds_no_client_until_a_call() -> None:
    provider = provider_for("bedrock", SETTINGS)
    assert isinstance(provider, BedrockProvider) and provider._client is None


def test_unknown_provider_is_a_non_retryable_error_naming_it() -> None:
    with pytest.raises(ProviderError, match="'mystery'") as info:
        provider_for("mystery", SETTINGS)
    assert not info.value.retryable


def test_the_gateway_builds_each_provider_once() -> None:
    gw = ModelGateway(None, settings=SETTINGS)
    assert gw.provider("echo") is gw.provider("echo")
    assert gw.complete(_request("hello", provider="echo"), project_id="p").text == "hello"


# -- cache keys -------------------------------------------------------------------------------------
def _digest(**overrides: Any) -> str:
    base: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt": "Hello",
        "params": {"temperature": 0.2, "max_tokens": 10},
        "system": None,
    }
    base.update(overrides)
    return cache_digest(ModelRequest(**base))


def test_equal_requests_have_equal_digests_whatever_the_param_order_or_number_spelling() -> None:
    reference = _digest()
    assert _digest(params={"max_tokens": 10, "temperature": 0.2}) == reference
    assert _digest(params={"max_tokens": 10.0, "temperature": Decimal("0.2")}) == reference
    assert _digest(params={"max_tokens": 10, "temperature": 0.2, "top_p": None}) == reference
    # control params change nothing in a reply: timeouts and cost overrides are left out
    assert _digest(params={"max_tokens": 10, "temperature": 0.2, "timeout_s": 5, "input_cost_per_mtok": 1}) == reference


@pytest.mark.parametrize(
    "change",
    [
        {"provider": "vllm"},
        {"model": "gpt-4o"},
        {"prompt": "Hello!"},
        {"system": "Be brief"},
        {"params": {"temperature": 0.3, "max_tokens": 10}},
        {"params": {"temperature": 0.2, "max_tokens": 10, "seed": 1}},
        {"params": {"temperature": 0.2, "max_tokens": 10, "stop": ["\n"]}},
    ],
)
def test_anything_that_can_change_the_reply_changes_the_digest(change: dict[str, Any]) -> None:
    assert _digest(**change) != _digest()


def test_digest_is_a_sha256_hex_string() -> None:
    digest = _digest()
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_canonical_json_is_stable() -> None:
    a = canonical_json({"b": [1.0, (2, 3)], "a": {"y": 1, "x": None}, "s": {3, 1}})
    assert a == '{"a":{"y":1},"b":[1,[2,3]],"s":[1,3]}'
    with pytest.raises(ValueError):
        canonical_json({"t": float("nan")})


# -- cache edge cases (in-memory table) -------------------------------------------------------------
class MemoryTable:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.fail = False

    def get(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        if self.fail:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "GetItem")
        return self.items.get((key["PK"], key["SK"]))

    def put(self, item: Mapping[str, Any], **_: Any) -> None:
        if self.fail:
            from evalgate.errors import Throttled

            raise Throttled("busy")
        self.items[(item["PK"], item["SK"])] = dict(item)


def _cached_gateway(provider: FakeProvider, **kwargs: Any) -> tuple[ModelGateway, MemoryTable]:
    table = MemoryTable()
    gw = ModelGateway(ModelCache(table), providers={provider.name: provider}, sleep=lambda s: None, **kwargs)  # type: ignore[arg-type]
    return gw, table


def test_expired_items_are_misses_before_dynamodb_deletes_them() -> None:
    now = [1_000_000.0]
    provider = FakeProvider()
    gw, _ = _cached_gateway(provider, cache_ttl_seconds=60, clock=lambda: now[0])
    gw.complete(_request(), project_id="p")
    assert gw.complete(_request(), project_id="p").cached
    now[0] += 61
    assert not gw.complete(_request(), project_id="p").cached
    assert len(provider.requests) == 2


def test_oversized_replies_are_not_cached() -> None:
    provider = FakeProvider(_ok("x" * 2000), _ok("x" * 2000))
    gw, table = _cached_gateway(provider, max_cached_bytes=1000)
    gw.complete(_request(), project_id="p")
    assert table.items == {}
    assert not gw.complete(_request(), project_id="p").cached


def test_errors_are_not_cached() -> None:
    provider = FakeProvider(ProviderError("no", retryable=False), _ok("later"))
    gw, table = _cached_gateway(provider)
    with pytest.raises(ProviderError):
        gw.complete(_request(), project_id="p")
    assert table.items == {}
    assert gw.complete(_request(), project_id="p").text == "later"


def test_a_failing_cache_never_fails_the_call() -> None:
    provider = FakeProvider(_ok("a"), _ok("b"))
    gw, table = _cached_gateway(provider)
    table.fail = True
    assert gw.complete(_request(), project_id="p").text == "a"
    assert gw.complete(_request(), project_id="p").text == "b"


def test_cached_completion_round_trips_every_field() -> None:
    original = Completion(
        "t", 11, 7, 123.5, 0.25, model="m-2024", raw={"id": "x", "finish_reason": "stop"}, priced=False
    )
    provider = FakeProvider(original)
    gw, _ = _cached_gateway(provider)
    gw.complete(_request(), project_id="p")
    hit = gw.complete(_request(), project_id="p")
    assert hit.cached
    assert (
        hit.text,
        hit.input_tokens,
        hit.output_tokens,
        hit.latency_ms,
        hit.cost_usd,
        hit.model,
        hit.raw,
        hit.priced,
    ) == (
        "t",
        11,
        7,
        123.5,
        0.25,
        "m-2024",
        {"id": "x", "finish_reason": "stop"},
        False,
    )
