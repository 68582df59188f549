"""The provider interface: every model call in evalgate goes through a Provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

DEFAULT_TIMEOUT_S = 60.0

# Params that steer evalgate itself (the gateway, the cost table): never sent to a model API, never part of
# the cache key. `provider` and `model` are dropped too, in case a whole modelConfig was passed as params.
CONTROL_PARAMS = frozenset({"timeout_s", "input_cost_per_mtok", "output_cost_per_mtok", "provider", "model"})


@dataclass(frozen=True)
class ModelRequest:
    """One completion request, fully rendered. `params` holds temperature, max_tokens, top_p, stop, seed,
    response_format and any provider-specific extra from the prompt version's modelConfig.

    `timeout_s` is set by the gateway (from params["timeout_s"] or its default) for the provider to apply to
    its HTTP or SDK call; None means the provider's own default (DEFAULT_TIMEOUT_S)."""

    provider: str
    model: str
    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    system: str | None = None
    timeout_s: float | None = None

    def api_params(self) -> dict[str, Any]:
        """The params a provider may send to its API: no control params, no None values."""
        return {k: v for k, v in self.params.items() if k not in CONTROL_PARAMS and v is not None}

    @property
    def timeout(self) -> float:
        return float(self.timeout_s) if self.timeout_s else DEFAULT_TIMEOUT_S


@dataclass
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    cost_usd: float
    model: str = ""
    cached: bool = False
    raw: dict[str, Any] | None = None  # provider response metadata (finish reason, ids), never secrets
    priced: bool = True  # False when the model is not in the cost table (cost_usd is then 0.0)


class ProviderError(Exception):
    """A model call failed. `retryable` says whether the gateway may try again."""

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class Provider(Protocol):
    name: str

    def complete(self, request: ModelRequest) -> Completion: ...

    def embed(self, texts: list[str], model: str) -> list[list[float]]: ...


class ResponseCache(Protocol):
    """Where the gateway keeps model responses (evalgate.store.model_cache.ModelCache in the service; a fake in
    tests). Items are plain dicts; a failure raises evalgate.errors.Unavailable, which the gateway logs and
    ignores: the cache never fails a call."""

    def get(self, project_id: str, digest: str) -> dict[str, Any] | None: ...

    def get_many(self, project_id: str, digests: list[str]) -> dict[str, dict[str, Any]]: ...

    def item(self, project_id: str, digest: str, data: dict[str, Any]) -> dict[str, Any]: ...

    def put_items(self, items: list[dict[str, Any]]) -> None: ...
