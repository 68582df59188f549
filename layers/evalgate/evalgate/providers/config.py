"""Provider endpoints and credentials.

Parsed once from the variables that evalgate.settings collects:

- ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``);
- ``ANTHROPIC_API_KEY`` / ``ANTHROPIC_BASE_URL`` (default ``https://api.anthropic.com``);
- any other OpenAI-compatible endpoint (vLLM, Ollama, LiteLLM, ...) under a name of its own:
  ``EVALGATE_PROVIDER_<NAME>_BASE_URL`` and optionally ``_API_KEY`` and ``_KIND`` (``openai``, the default,
  or ``anthropic`` for an Anthropic-compatible proxy). ``<NAME>`` is the provider name upper-cased with
  every other character than a letter or digit turned into ``_`` (provider ``my-vllm`` ->
  ``EVALGATE_PROVIDER_MY_VLLM_BASE_URL``);
- ``EVALGATE_PROVIDER_<NAME>_CONCURRENCY``: the per-process concurrency limit of a provider (any name,
  ``OPENAI``, ``ANTHROPIC`` and ``BEDROCK`` included).

A key variable may hold the key itself (local development) or a reference resolved on first use, once per
container, through Secrets Manager or SSM Parameter Store:

- ``secretsmanager:<secret-id-or-arn>`` (the whole SecretString) or ``secretsmanager:<id>#<jsonKey>``;
- ``ssm:<parameter-name>`` (a SecureString is decrypted).

Keys never appear in logs, exceptions or reprs: they are held in `Secret`, which only `reveal()` opens.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from evalgate.providers.base import ProviderError

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com"
_NAMED = re.compile(r"^EVALGATE_PROVIDER_([A-Z0-9_]+?)_(BASE_URL|API_KEY|KIND|CONCURRENCY)$")
_RETRYABLE_AWS_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "InternalServiceError",
    "InternalServerError",
    "InternalServerErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
}

Kind = Literal["openai", "anthropic"]


class Secret:
    """A credential. str(), repr() and formatting show a mask; only reveal() gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:  # never pickle a key into a queue message or a cache by accident
        raise TypeError("a Secret cannot be pickled")


def env_name(provider: str) -> str:
    """The <NAME> part of EVALGATE_PROVIDER_<NAME>_* for a provider name."""
    return re.sub(r"[^A-Z0-9]", "_", provider.upper())


def is_reference(value: str) -> bool:
    return value.startswith(("secretsmanager:", "ssm:"))


def describe_reference(value: str) -> str:
    """A loggable description of a key setting: the reference itself, or a mask for a literal key."""
    return value if is_reference(value) else "<literal key>"


# --- secret references ---------------------------------------------------------------------------
_cache: dict[str, Secret] = {}
_lock = threading.Lock()


def clear_secret_cache() -> None:
    """For tests and key rotation: forget every resolved reference."""
    with _lock:
        _cache.clear()


def resolve_secret(value: str, *, client_for: Any = None) -> Secret:
    """A key setting -> its Secret; references are fetched once per container and cached.

    `client_for(service)` builds the AWS client (default: evalgate.aws.client); failures raise a
    non-retryable ProviderError naming the reference (never a value), retryable when AWS throttled."""
    if not is_reference(value):
        return Secret(value)
    with _lock:
        hit = _cache.get(value)
    if hit is not None:
        return hit
    if client_for is None:
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate import aws

        client_for = aws.client
    secret = _fetch(value, client_for)
    with _lock:
        _cache[value] = secret
    return secret


def _fetch(reference: str, client_for: Any) -> Secret:
    # lazy: the AWS SDK loads on first use, not at import (cold start)
    from botocore.exceptions import BotoCoreError, ClientError

    scheme, _, rest = reference.partition(":")
    try:
        if scheme == "ssm":
            if not rest:
                raise ProviderError("the ssm: key reference names no parameter", retryable=False)
            resp = client_for("ssm").get_parameter(Name=rest, WithDecryption=True)
            return Secret(str(resp["Parameter"]["Value"]))
        secret_id, _, json_key = rest.partition("#")
        if not secret_id:
            raise ProviderError("the secretsmanager: key reference names no secret", retryable=False)
        resp = client_for("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        raise ProviderError(
            f"cannot read the key from {reference}: {code}", retryable=code in _RETRYABLE_AWS_CODES
        ) from None
    except BotoCoreError as exc:
        raise ProviderError(f"cannot read the key from {reference}: {type(exc).__name__}", retryable=True) from None
    raw = resp.get("SecretString")
    if raw is None:
        raise ProviderError(f"the secret {secret_id} has no SecretString", retryable=False)
    if not json_key:
        return Secret(str(raw))
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProviderError(f"the secret {secret_id} is not JSON (wanted {json_key!r})", retryable=False) from None
    if not isinstance(data, dict) or not isinstance(data.get(json_key), str):
        raise ProviderError(f"the secret {secret_id} has no string key {json_key!r}", retryable=False)
    return Secret(data[json_key])


# --- endpoints -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """Where one named provider lives. The key setting is resolved only when a call needs it."""

    name: str
    kind: Kind
    base_url: str
    key_setting: str | None = field(default=None, repr=False)
    client_for: Any = field(default=None, repr=False, compare=False)

    def api_key(self) -> Secret | None:
        if not self.key_setting:
            return None
        return resolve_secret(self.key_setting, client_for=self.client_for)

    def __repr__(self) -> str:
        key = describe_reference(self.key_setting) if self.key_setting else None
        return f"Endpoint(name={self.name!r}, kind={self.kind!r}, base_url={self.base_url!r}, key={key!r})"


@dataclass(frozen=True)
class ProviderSettings:
    endpoints: dict[str, Endpoint]
    concurrency: dict[str, int]
    minilm_dir: str | None = None  # EVALGATE_MINILM_DIR: the local-minilm weights, else the installed package

    def endpoint(self, provider: str) -> Endpoint | None:
        if provider in self.endpoints:
            return self.endpoints[provider]
        wanted = env_name(provider)
        return next((e for n, e in self.endpoints.items() if env_name(n) == wanted), None)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, client_for: Any = None, minilm_dir: str | None = None
    ) -> ProviderSettings:
        """Parse the providers' variables (evalgate.settings collects them from the function's environment)."""
        endpoints: dict[str, Endpoint] = {
            "openai": Endpoint(
                "openai",
                "openai",
                (env.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_BASE_URL).rstrip("/"),
                env.get("OPENAI_API_KEY") or None,
                client_for,
            ),
            "anthropic": Endpoint(
                "anthropic",
                "anthropic",
                (env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_DEFAULT_BASE_URL).rstrip("/"),
                env.get("ANTHROPIC_API_KEY") or None,
                client_for,
            ),
        }
        named: dict[str, dict[str, str]] = {}
        for var, value in env.items():
            m = _NAMED.match(var)
            if m:
                named.setdefault(m.group(1), {})[m.group(2)] = value
        concurrency: dict[str, int] = {}
        for raw_name, values in named.items():
            name = raw_name.lower().replace("_", "-")
            if "CONCURRENCY" in values:
                try:
                    concurrency[name] = max(1, int(values["CONCURRENCY"]))
                except ValueError:
                    raise ValueError(f"EVALGATE_PROVIDER_{raw_name}_CONCURRENCY is not an integer") from None
            if "BASE_URL" not in values:
                continue
            kind = values.get("KIND", "openai").strip().lower()
            if kind not in ("openai", "anthropic"):
                raise ValueError(f"EVALGATE_PROVIDER_{raw_name}_KIND must be openai or anthropic")
            endpoints[name] = Endpoint(
                name,
                "anthropic" if kind == "anthropic" else "openai",
                values["BASE_URL"].rstrip("/"),
                values.get("API_KEY") or None,
                client_for,
            )
        return cls(endpoints=endpoints, concurrency=concurrency, minilm_dir=minilm_dir)

    def concurrency_for(self, provider: str) -> int | None:
        wanted = env_name(provider)
        return next((v for n, v in self.concurrency.items() if env_name(n) == wanted), None)
