"""The gateway's response cache on DynamoDB (moto): hits make no provider call, every request field that can
change a reply makes a miss, use_cache=False still writes, items carry a TTL and live under the tenant."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evalgate import keys
from evalgate.providers.base import Completion, ModelRequest
from evalgate.providers.cache_keys import cache_digest
from evalgate.providers.gateway import ModelGateway
from evalgate.providers.offline import EchoProvider, ScriptedProvider
from evalgate.store.model_cache import ModelCache
from evalgate.store.table import Table

TABLE = "evalgate-cache-test"
WEEK = 7 * 86400


class Counting:
    """Wraps a provider and counts its calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0
        self.embed_calls: list[list[str]] = []

    def complete(self, request: ModelRequest) -> Completion:
        self.calls += 1
        return self.inner.complete(request)

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        self.embed_calls.append(list(texts))
        return self.inner.embed(texts, model)


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ddb


@pytest.fixture
def echo() -> Counting:
    return Counting(EchoProvider())


@pytest.fixture
def gateway(client: Any, echo: Counting) -> ModelGateway:
    scripted = Counting(ScriptedProvider())
    return ModelGateway(ModelCache(Table(TABLE, client)), providers={"echo": echo, "scripted": scripted})


def _req(prompt: str = "Hello", **params: Any) -> ModelRequest:
    return ModelRequest(provider="echo", model="echo-1", prompt=prompt, params=params or {"temperature": 0})


def test_identical_request_twice_calls_the_provider_once(gateway: ModelGateway, echo: Counting) -> None:
    first = gateway.complete(_req(), project_id="prj_a")
    second = gateway.complete(_req(), project_id="prj_a")
    assert echo.calls == 1
    assert (first.cached, second.cached) == (False, True)
    assert (second.text, second.input_tokens, second.output_tokens, second.model) == (
        first.text,
        first.input_tokens,
        first.output_tokens,
        first.model,
    )
    assert second.raw == first.raw


def test_different_params_system_or_prompt_miss(gateway: ModelGateway, echo: Counting) -> None:
    gateway.complete(_req(temperature=0), project_id="prj_a")
    assert not gateway.complete(_req(temperature=0.7), project_id="prj_a").cached
    assert not gateway.complete(_req("Hello!", temperature=0), project_id="prj_a").cached
    with_system = ModelRequest("echo", "echo-1", "Hello", {"temperature": 0}, system="Be brief")
    assert not gateway.complete(with_system, project_id="prj_a").cached
    assert echo.calls == 4
    # param order and a timeout do not matter
    assert gateway.complete(_req(temperature=0.7, timeout_s=3), project_id="prj_a").cached
    assert echo.calls == 4


def test_use_cache_false_calls_the_provider_and_still_writes(client: Any, echo: Counting) -> None:
    now = [1_800_000_000.0]
    gateway = ModelGateway(ModelCache(Table(TABLE, client)), providers={"echo": echo}, clock=lambda: now[0])
    gateway.complete(_req(), project_id="prj_a")
    key = {k: {"S": v} for k, v in keys.model_cache("prj_a", cache_digest(_req())).items()}
    assert client.get_item(TableName=TABLE, Key=key)["Item"]["created_at"]["N"] == "1800000000"
    now[0] += 60
    fresh = gateway.complete(_req(), project_id="prj_a", use_cache=False)
    assert not fresh.cached and echo.calls == 2
    assert client.get_item(TableName=TABLE, Key=key)["Item"]["created_at"]["N"] == "1800000060"
    assert gateway.complete(_req(), project_id="prj_a").cached and echo.calls == 2


def test_items_have_a_ttl_and_live_under_the_tenant(gateway: ModelGateway, client: Any) -> None:
    started = int(time.time())
    gateway.complete(_req(), project_id="prj_a")
    items = client.scan(TableName=TABLE)["Items"]
    assert len(items) == 1
    item = items[0]
    digest = cache_digest(_req())
    assert item["PK"]["S"] == f"PROJECT#prj_a#MODELCACHE#{digest}"
    assert item["SK"]["S"] == "MODELCACHE"
    assert started + WEEK <= int(item["ttl"]["N"]) <= int(time.time()) + WEEK
    assert item["provider"]["S"] == "echo" and item["kind"]["S"] == "completion"


def test_another_tenant_never_sees_the_entry(gateway: ModelGateway, echo: Counting) -> None:
    gateway.complete(_req(), project_id="prj_a")
    assert not gateway.complete(_req(), project_id="prj_b").cached
    assert echo.calls == 2


def test_scripted_failures_are_not_cached_and_the_retry_succeeds(client: Any) -> None:
    scripted = Counting(ScriptedProvider())
    gw = ModelGateway(ModelCache(Table(TABLE, client)), providers={"scripted": scripted}, sleep=lambda s: None)
    request = ModelRequest(
        "scripted", "s", "flaky prompt", {"fail_on": {"match": "flaky", "times": 2}, "default": "fine"}
    )
    assert gw.complete(request, project_id="prj_a").text == "fine"
    assert scripted.calls == 3  # two scripted failures, then success
    assert gw.complete(request, project_id="prj_a").cached
    assert len(client.scan(TableName=TABLE)["Items"]) == 1


def test_large_replies_are_not_cached(gateway: ModelGateway, echo: Counting, client: Any) -> None:
    big = "word " * 30_000  # 150 KB
    gateway.complete(_req(big), project_id="prj_a")
    assert client.scan(TableName=TABLE)["Items"] == []
    assert not gateway.complete(_req(big), project_id="prj_a").cached


def test_embeddings_are_cached_per_text(gateway: ModelGateway, echo: Counting) -> None:
    first = gateway.embed(["a cat", "a dog"], provider="echo", model="hashing-32", project_id="prj_a")
    second = gateway.embed(["a dog", "a bird", "a cat"], provider="echo", model="hashing-32", project_id="prj_a")
    assert echo.embed_calls == [["a cat", "a dog"], ["a bird"]]
    assert second[0] == first[1] and second[2] == first[0]
    assert len(second[1]) == 32


def test_the_container_gateway_caches_in_the_service_table(stack: Any) -> None:
    from evalgate.services.container import container

    gw = container().gateway
    assert container().gateway is gw
    request = ModelRequest("echo", "echo-1", "hello from the stack")
    assert not gw.complete(request, project_id="prj_stack").cached
    assert gw.complete(request, project_id="prj_stack").cached
