"""Provider configuration: env parsing, named OpenAI-compatible endpoints, secret references resolved through
Secrets Manager / SSM (real boto3 clients, botocore Stubber: no sockets), and keys that never show."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from evalgate.providers.base import ProviderError
from evalgate.providers.config import (
    ANTHROPIC_DEFAULT_BASE_URL,
    OPENAI_DEFAULT_BASE_URL,
    ProviderSettings,
    Secret,
    clear_secret_cache,
    env_name,
    resolve_secret,
)
from evalgate.settings import get_settings

KEY = "sk-test-0123456789abcdefSECRET"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_secret_cache()
    get_settings.cache_clear()
    yield
    clear_secret_cache()
    get_settings.cache_clear()


class Clients:
    """Real boto3 clients with a Stubber each, handed out like evalgate.aws.client."""

    def __init__(self) -> None:
        self.clients = {s: boto3.client(s, region_name="us-east-1") for s in ("secretsmanager", "ssm")}
        self.stubs = {s: Stubber(c) for s, c in self.clients.items()}
        self.calls: list[str] = []
        for stub in self.stubs.values():
            stub.activate()

    def __call__(self, service: str) -> Any:
        self.calls.append(service)
        return self.clients[service]

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def aws() -> Iterator[Clients]:
    clients = Clients()
    yield clients
    clients.verify()


def _secret_reply(secret_string: str) -> dict[str, Any]:
    return {
        "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/openai-AbCdEf",
        "Name": "prod/openai",
        "VersionId": "v1" * 16,
        "SecretString": secret_string,
    }


# -- env parsing ------------------------------------------------------------------------------------
def test_defaults_without_any_variable() -> None:
    s = ProviderSettings.from_env({})
    openai, anthropic = s.endpoint("openai"), s.endpoint("anthropic")
    assert openai is not None and anthropic is not None
    assert (openai.kind, openai.base_url, openai.api_key()) == ("openai", OPENAI_DEFAULT_BASE_URL, None)
    assert (anthropic.kind, anthropic.base_url) == ("anthropic", ANTHROPIC_DEFAULT_BASE_URL)
    assert s.endpoint("vllm") is None


def test_openai_and_anthropic_variables() -> None:
    s = ProviderSettings.from_env(
        {
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": "http://localhost:4000/v1/",
            "ANTHROPIC_API_KEY": "sk-ant-xyz",
            "ANTHROPIC_BASE_URL": "http://proxy:8080",
        }
    )
    openai = s.endpoint("openai")
    assert openai is not None and openai.base_url == "http://localhost:4000/v1"  # trailing slash dropped
    key = openai.api_key()
    assert key is not None and key.reveal() == KEY
    anthropic = s.endpoint("anthropic")
    assert anthropic is not None and anthropic.base_url == "http://proxy:8080"


def test_named_openai_compatible_providers() -> None:
    s = ProviderSettings.from_env(
        {
            "EVALGATE_PROVIDER_MY_VLLM_BASE_URL": "http://vllm:8000/v1",
            "EVALGATE_PROVIDER_OLLAMA_BASE_URL": "http://localhost:11434/v1",
            "EVALGATE_PROVIDER_OLLAMA_CONCURRENCY": "2",
            "EVALGATE_PROVIDER_PROXY_BASE_URL": "http://claude-proxy",
            "EVALGATE_PROVIDER_PROXY_KIND": "anthropic",
            "EVALGATE_PROVIDER_PROXY_API_KEY": "k",
            "EVALGATE_PROVIDER_BEDROCK_CONCURRENCY": "3",
        }
    )
    vllm = s.endpoint("my-vllm")
    assert vllm is not None and (vllm.kind, vllm.base_url, vllm.api_key()) == ("openai", "http://vllm:8000/v1", None)
    assert s.endpoint("my_vllm") is vllm and s.endpoint("MY-VLLM") is vllm
    proxy = s.endpoint("proxy")
    assert proxy is not None and proxy.kind == "anthropic"
    assert s.concurrency_for("ollama") == 2
    assert s.concurrency_for("bedrock") == 3
    assert s.concurrency_for("openai") is None


@pytest.mark.parametrize(
    "env",
    [
        {"EVALGATE_PROVIDER_X_BASE_URL": "http://x", "EVALGATE_PROVIDER_X_KIND": "cohere"},
        {"EVALGATE_PROVIDER_X_CONCURRENCY": "many"},
    ],
)
def test_invalid_named_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="EVALGATE_PROVIDER_X_"):
        ProviderSettings.from_env(env)


def test_env_name() -> None:
    assert env_name("my-vllm.local") == "MY_VLLM_LOCAL"


def test_settings_are_read_from_the_process_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("BUCKET_NAME", "b")
    monkeypatch.setenv("EVALGATE_PROVIDER_LOCAL_BASE_URL", "http://127.0.0.1:9/v1")
    first = get_settings()
    monkeypatch.setenv("EVALGATE_PROVIDER_LOCAL_BASE_URL", "http://changed/v1")
    assert get_settings() is first
    endpoint = ProviderSettings.from_env(first.provider_environment).endpoint("local")
    assert endpoint is not None
    assert endpoint.base_url == "http://127.0.0.1:9/v1"


# -- secret references ------------------------------------------------------------------------------
def test_secretsmanager_reference_is_fetched_once_and_cached(aws: Clients) -> None:
    aws.stubs["secretsmanager"].add_response(
        "get_secret_value", _secret_reply(KEY), expected_params={"SecretId": "prod/openai"}
    )
    s = ProviderSettings.from_env({"OPENAI_API_KEY": "secretsmanager:prod/openai"}, client_for=aws)
    endpoint = s.endpoint("openai")
    assert endpoint is not None
    for _ in range(3):
        key = endpoint.api_key()
        assert key is not None and key.reveal() == KEY
    assert aws.calls == ["secretsmanager"]


def test_secretsmanager_json_key_by_arn(aws: Clients) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/llm-AbCdEf"
    aws.stubs["secretsmanager"].add_response(
        "get_secret_value",
        _secret_reply(json.dumps({"openai": KEY, "anthropic": "other"})),
        expected_params={"SecretId": arn},
    )
    assert resolve_secret(f"secretsmanager:{arn}#openai", client_for=aws).reveal() == KEY


def test_ssm_parameter_reference(aws: Clients) -> None:
    aws.stubs["ssm"].add_response(
        "get_parameter",
        {"Parameter": {"Name": "/evalgate/anthropic", "Type": "SecureString", "Value": KEY, "Version": 1}},
        expected_params={"Name": "/evalgate/anthropic", "WithDecryption": True},
    )
    s = ProviderSettings.from_env({"ANTHROPIC_API_KEY": "ssm:/evalgate/anthropic"}, client_for=aws)
    endpoint = s.endpoint("anthropic")
    assert endpoint is not None
    key = endpoint.api_key()
    assert key is not None and key.reveal() == KEY


def test_missing_json_key_is_a_clear_error_without_the_secret(aws: Clients) -> None:
    aws.stubs["secretsmanager"].add_response("get_secret_value", _secret_reply(json.dumps({"other": KEY})))
    with pytest.raises(ProviderError, match="has no string key 'openai'") as info:
        resolve_secret("secretsmanager:prod/openai#openai", client_for=aws)
    assert not info.value.retryable
    assert KEY not in str(info.value) and KEY not in repr(info.value)


def test_access_denied_is_not_retryable_and_throttling_is(aws: Clients) -> None:
    aws.stubs["secretsmanager"].add_client_error("get_secret_value", "AccessDeniedException", "no", 400)
    aws.stubs["ssm"].add_client_error("get_parameter", "ThrottlingException", "slow down", 400)
    with pytest.raises(ProviderError, match="AccessDeniedException") as denied:
        resolve_secret("secretsmanager:prod/openai", client_for=aws)
    assert not denied.value.retryable
    with pytest.raises(ProviderError, match="ThrottlingException") as throttled:
        resolve_secret("ssm:/evalgate/openai", client_for=aws)
    assert throttled.value.retryable


def test_a_failed_fetch_is_not_cached(aws: Clients) -> None:
    aws.stubs["ssm"].add_client_error("get_parameter", "ThrottlingException", "slow down", 400)
    aws.stubs["ssm"].add_response("get_parameter", {"Parameter": {"Name": "/k", "Value": KEY}})
    with pytest.raises(ProviderError):
        resolve_secret("ssm:/k", client_for=aws)
    assert resolve_secret("ssm:/k", client_for=aws).reveal() == KEY


@pytest.mark.parametrize("reference", ["ssm:", "secretsmanager:", "secretsmanager:#key"])
def test_empty_references_are_refused(reference: str, aws: Clients) -> None:
    with pytest.raises(ProviderError, match="names no"):
        resolve_secret(reference, client_for=aws)


def test_a_literal_key_needs_no_aws(aws: Clients) -> None:
    assert resolve_secret(KEY, client_for=aws).reveal() == KEY
    assert aws.calls == []


# -- keys never show --------------------------------------------------------------------------------
def test_keys_never_show_in_reprs_strings_or_formatting(aws: Clients) -> None:
    aws.stubs["secretsmanager"].add_response("get_secret_value", _secret_reply(KEY))
    literal = ProviderSettings.from_env({"OPENAI_API_KEY": KEY, "EVALGATE_PROVIDER_V_API_KEY": KEY})
    referenced = ProviderSettings.from_env({"OPENAI_API_KEY": "secretsmanager:prod/openai"}, client_for=aws)
    endpoint = referenced.endpoint("openai")
    assert endpoint is not None
    secret = endpoint.api_key()
    assert secret is not None
    shown = " ".join(
        [
            repr(literal),
            str(literal),
            repr(literal.endpoint("openai")),
            repr(referenced),
            repr(secret),
            str(secret),
            f"{secret}",
            f"{secret!r}",
            "%s" % secret,  # noqa: UP031 - old-style formatting must mask it too
        ]
    )
    assert KEY not in shown
    assert "secretsmanager:prod/openai" in repr(endpoint)  # a reference is no secret and helps debugging
    assert "<literal key>" in repr(literal.endpoint("openai"))


def test_a_secret_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))


def test_secret_fetch_errors_carry_no_traceback_of_the_boto_call(aws: Clients) -> None:
    aws.stubs["secretsmanager"].add_client_error("get_secret_value", "ResourceNotFoundException", "gone", 400)
    with pytest.raises(ProviderError) as info:
        resolve_secret("secretsmanager:prod/missing", client_for=aws)
    text = "".join(traceback.format_exception(info.value))
    assert "ResourceNotFoundException" in text and "prod/missing" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
