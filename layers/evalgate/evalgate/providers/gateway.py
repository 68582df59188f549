"""The model gateway: every model call goes through here (DESIGN §6).

- Response cache in DynamoDB through the Table wrapper, per tenant: `PROJECT#<id>#MODELCACHE#<sha256>` where
  the hash covers provider, model, the canonical JSON of the params (control params such as `timeout_s`
  and the cost overrides left out), system and rendered prompt. Items carry `ttl` (epoch seconds, cache_ttl
  from now) and are ignored once expired even before DynamoDB's TTL sweep removes them. Only successful
  completions are cached; a completion whose text and metadata exceed `max_cached_bytes` (~100 KB) is
  not cached at all (a DynamoDB item must stay well below 400 KB and such outputs are rare). A hit returns
  the stored Completion (its tokens, cost and latency as first measured) with `cached=True`.
  `use_cache=False` skips the read but still writes. Cache read / write failures are logged and ignored:
  the cache never fails a call.
- Retries of retryable ProviderErrors only: exponential backoff with full jitter
  (uniform(0, min(max_delay, base_delay * 2**attempt))), at least the provider's Retry-After; no wait is
  longer than max_delay and the waits of one call add up to at most `retry_budget_s`. A Retry-After that
  does not fit (longer than max_delay or than what is left of the budget) fails fast with the error.
- A per-provider concurrency limit: one BoundedSemaphore per provider name and limit in the process,
  shared by every gateway; a call that cannot get a slot within its timeout fails retryably.
- A per-call timeout handed to the provider: params["timeout_s"], else `default_timeout_s` (60 s).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from evalgate import keys
from evalgate.providers.base import CONTROL_PARAMS, DEFAULT_TIMEOUT_S, Completion, ModelRequest, Provider, ProviderError

if TYPE_CHECKING:
    from evalgate.providers.config import ProviderSettings
    from evalgate.store.table import Table

CACHE_VERSION = 1
DEFAULT_CONCURRENCY = 8
MAX_CACHED_BYTES = 100_000
OFFLINE_PROVIDERS = ("echo", "scripted")


# --- provider factory ----------------------------------------------------------------------------
def provider_for(name: str, settings: ProviderSettings | None = None) -> Provider:
    """A new provider for a name: "openai" and configured OpenAI-compatible names, "anthropic" (and
    configured Anthropic-compatible names), "bedrock", "echo", "scripted", "local-minilm"."""
    if name == "echo":
        from evalgate.providers.offline import EchoProvider

        return EchoProvider()
    if name == "scripted":
        from evalgate.providers.offline import ScriptedProvider

        return ScriptedProvider()
    if name == "offline-judge":
        from evalgate.providers.offline import OfflineJudgeProvider

        return OfflineJudgeProvider()
    if name == "bedrock":
        from evalgate.providers.bedrock import BedrockProvider

        return BedrockProvider()
    if name == "local-minilm":
        from evalgate.providers.local_embedding import LocalMiniLMProvider

        return LocalMiniLMProvider()
    if settings is None:
        from evalgate.providers.config import get_provider_settings

        settings = get_provider_settings()
    endpoint = settings.endpoint(name)
    if endpoint is None:
        raise ProviderError(
            f"unknown provider {name!r}: use openai, anthropic, bedrock, echo, scripted, or configure "
            "EVALGATE_PROVIDER_<NAME>_BASE_URL for an OpenAI-compatible endpoint",
            retryable=False,
        )
    if endpoint.kind == "anthropic":
        from evalgate.providers.anthropic import AnthropicProvider

        return AnthropicProvider(endpoint)
    from evalgate.providers.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(endpoint)


# --- cache keys ----------------------------------------------------------------------------------
def _canonical(value: Any) -> Any:
    """JSON-stable form: sorted keys (by json.dumps), tuples as lists, 1.0 as 1, Decimals as numbers."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("params must be finite numbers")
        return int(value) if value.is_integer() else value
    if isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def cache_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params that can change a reply: everything but the control params and None values."""
    return {k: v for k, v in params.items() if k not in CONTROL_PARAMS and v is not None}


def cache_digest(request: ModelRequest) -> str:
    """SHA-256 of (provider, model, canonical params, system, prompt): equal requests, equal digests."""
    document = {
        "v": CACHE_VERSION,
        "provider": request.provider,
        "model": request.model,
        "params": cache_params(request.params),
        "system": request.system,
        "prompt": request.prompt,
    }
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


def embedding_digest(provider: str, model: str, text: str) -> str:
    document = {"v": CACHE_VERSION, "kind": "embedding", "provider": provider, "model": model, "text": text}
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


# --- concurrency ---------------------------------------------------------------------------------
_semaphores: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def provider_semaphore(provider: str, limit: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore of a provider name and limit."""
    key = (provider, max(1, int(limit)))
    with _semaphores_lock:
        sem = _semaphores.get(key)
        if sem is None:
            sem = _semaphores[key] = threading.BoundedSemaphore(key[1])
        return sem


class ModelGateway:
    def __init__(
        self,
        table: Table | None,
        *,
        providers: Mapping[str, Provider] | None = None,
        settings: ProviderSettings | None = None,
        max_attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        retry_budget_s: float | None = None,
        cache_ttl_seconds: int = 7 * 86400,
        concurrency: Mapping[str, int] | None = None,
        default_concurrency: int = DEFAULT_CONCURRENCY,
        default_timeout_s: float = DEFAULT_TIMEOUT_S,
        max_cached_bytes: int = MAX_CACHED_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.table = table
        self._given = dict(providers or {})
        self._settings = settings
        self._built: dict[str, Provider] = {}
        self._built_lock = threading.Lock()
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.retry_budget_s = retry_budget_s
        self.cache_ttl_seconds = cache_ttl_seconds
        self.concurrency = dict(concurrency or {})
        self.default_concurrency = default_concurrency
        self.default_timeout_s = default_timeout_s
        self.max_cached_bytes = max_cached_bytes
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        # batch mode (see prefetch / deferred_writes): cache items known for this batch, writes held back
        self._memo: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._pending: list[dict[str, Any]] | None = None
        self._batch_lock = threading.Lock()

    # -- providers --------------------------------------------------------------------------------
    def provider(self, name: str) -> Provider:
        if name in self._given:
            return self._given[name]
        with self._built_lock:
            if name not in self._built:
                self._built[name] = provider_for(name, self.settings)
            return self._built[name]

    @property
    def settings(self) -> ProviderSettings:
        if self._settings is None:
            from evalgate.providers.config import get_provider_settings

            self._settings = get_provider_settings()
        return self._settings

    def limit_for(self, name: str) -> int:
        """The concurrency limit of a provider: the constructor's, else EVALGATE_PROVIDER_<NAME>_CONCURRENCY,
        else default_concurrency."""
        if name in self.concurrency:
            return self.concurrency[name]
        return self.settings.concurrency_for(name) or self.default_concurrency

    # -- completions ------------------------------------------------------------------------------
    def complete(
        self, request: ModelRequest, *, project_id: str, use_cache: bool = True, write_cache: bool = True
    ) -> Completion:
        """use_cache=False skips the read (a fresh answer); write_cache=False stores nothing either."""
        digest = cache_digest(request)
        if use_cache:
            hit = self._cache_get(project_id, digest)
            if hit is not None:
                return hit
        timeout = _timeout(request.params.get("timeout_s"), self.default_timeout_s)
        call = replace(request, timeout_s=timeout)
        provider = self.provider(request.provider)
        completion = self._with_retries(request.provider, timeout, lambda: provider.complete(call))
        if write_cache:
            self._cache_put(project_id, digest, request, completion)
        return completion

    # -- embeddings -------------------------------------------------------------------------------
    def embed(
        self, texts: list[str], *, provider: str, model: str, project_id: str, use_cache: bool = True
    ) -> list[list[float]]:
        """Embeddings of texts, in order; each text's vector is cached like a completion."""
        results: list[list[float] | None] = [None] * len(texts)
        digests = [embedding_digest(provider, model, t) for t in texts]
        if use_cache and self.table is not None:
            for i, digest in enumerate(digests):
                item = self._cache_item(project_id, digest)
                if item is not None and isinstance(item.get("vector"), list):
                    results[i] = [float(x) for x in item["vector"]]
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            impl = self.provider(provider)
            batch = [texts[i] for i in missing]
            vectors = self._with_retries(provider, self.default_timeout_s, lambda: impl.embed(batch, model))
            if len(vectors) != len(batch):
                raise ProviderError(f"{provider}: {len(vectors)} embeddings for {len(batch)} texts", retryable=False)
            for i, vector in zip(missing, vectors, strict=True):
                results[i] = vector
                self._put_item(project_id, digests[i], {"kind": "embedding", "vector": vector}, provider, model)
        return [r if r is not None else [] for r in results]

    # -- retries and limits -----------------------------------------------------------------------
    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform between 0 and min(max_delay, base_delay * 2**attempt); attempt counts from 0."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return self._rng.uniform(0.0, ceiling)

    def _with_retries(self, name: str, timeout: float, call: Callable[[], Any]) -> Any:
        semaphore = provider_semaphore(name, self.limit_for(name))
        slept = 0.0
        attempt = 0
        while True:
            try:
                if not semaphore.acquire(timeout=timeout):
                    raise ProviderError(
                        f"{name}: no free slot within {timeout:g}s (concurrency limit {self.limit_for(name)})",
                        retryable=True,
                    )
                try:
                    return call()
                finally:
                    semaphore.release()
            except ProviderError as exc:
                attempt += 1
                if not exc.retryable or attempt >= self.max_attempts:
                    raise
                remaining = None if self.retry_budget_s is None else self.retry_budget_s - slept
                cap = self.max_delay if remaining is None else min(self.max_delay, remaining)
                if exc.retry_after is not None and exc.retry_after > cap:
                    raise  # the provider asks for longer than we may wait: fail fast
                if remaining is not None and remaining <= 0:
                    raise  # the retry budget is spent
                delay = min(max(self.backoff(attempt - 1), exc.retry_after or 0.0), cap)
                self._sleep(delay)
                slept += delay

    # -- batch mode -------------------------------------------------------------------------------
    def prefetch(self, requests: list[ModelRequest], *, project_id: str) -> int:
        """Read the cache entries of many requests in one round trip (BatchGetItem); later complete()
        calls for them need no read of their own. Returns how many were found."""
        if self.table is None or not requests:
            return 0
        from botocore.exceptions import BotoCoreError, ClientError

        from evalgate.errors import Throttled

        digests = list(dict.fromkeys(cache_digest(r) for r in requests))
        try:
            items = self.table.batch_get([keys.model_cache(project_id, d) for d in digests])
        except (ClientError, BotoCoreError, Throttled) as exc:
            _log_warning("model cache batch read failed", error=type(exc).__name__)
            return 0
        found = {item[keys.PK]: item for item in items}
        with self._batch_lock:
            for digest in digests:
                self._memo[(project_id, digest)] = found.get(keys.model_cache(project_id, digest)[keys.PK])
        return len(found)

    @contextmanager
    def deferred_writes(self, *, flush: bool = True) -> Iterator[list[dict[str, Any]]]:
        """Hold cache writes back; at the end send them in one BatchWriteItem (or, with flush=False, leave
        them in the yielded list for the caller to write with its own batch). Forgets prefetched entries."""
        held: list[dict[str, Any]] = []
        with self._batch_lock:
            self._pending = held
        try:
            yield held
        finally:
            with self._batch_lock:
                pending, self._pending = list(held), None
                self._memo.clear()
            if flush and pending and self.table is not None:
                from botocore.exceptions import BotoCoreError, ClientError

                from evalgate.errors import Throttled

                try:
                    self.table.batch_write(puts=pending)
                except (ClientError, BotoCoreError, Throttled) as exc:
                    _log_warning("model cache batch write failed", error=type(exc).__name__)

    # -- cache ------------------------------------------------------------------------------------
    def _cache_item(self, project_id: str, digest: str) -> dict[str, Any] | None:
        if self.table is None:
            return None
        from botocore.exceptions import BotoCoreError, ClientError

        from evalgate.errors import Throttled

        with self._batch_lock:
            if (project_id, digest) in self._memo:
                item = self._memo[(project_id, digest)]
                return item if item is None or not _expired(item, self._clock()) else None
        try:
            item = self.table.get(keys.model_cache(project_id, digest), consistent=False)
        except (ClientError, BotoCoreError, Throttled) as exc:
            _log_warning("model cache read failed", error=type(exc).__name__)
            return None
        if item is None:
            return None
        ttl = item.get("ttl")
        if isinstance(ttl, int | float) and ttl <= self._clock():
            return None  # expired; DynamoDB deletes it later
        return item

    def _cache_get(self, project_id: str, digest: str) -> Completion | None:
        item = self._cache_item(project_id, digest)
        if item is None or item.get("kind") != "completion":
            return None
        raw = item.get("raw")
        return Completion(
            text=str(item.get("text", "")),
            input_tokens=int(item.get("input_tokens", 0)),
            output_tokens=int(item.get("output_tokens", 0)),
            latency_ms=float(item.get("latency_ms", 0.0)),
            cost_usd=float(item.get("cost_usd", 0.0)),
            model=str(item.get("model", "")),
            cached=True,
            raw=json.loads(raw) if isinstance(raw, str) and raw else None,
            priced=bool(item.get("priced", True)),
        )

    def _cache_put(self, project_id: str, digest: str, request: ModelRequest, completion: Completion) -> None:
        if self.table is None:
            return
        data = asdict(completion)
        data.pop("cached", None)
        data["raw"] = json.dumps(completion.raw, sort_keys=True, default=str) if completion.raw else None
        size = len(completion.text.encode()) + len(data["raw"] or "")
        if size > self.max_cached_bytes:
            _log_info("model reply too large to cache", bytes=size)
            return
        data["kind"] = "completion"
        self._put_item(project_id, digest, data, request.provider, request.model)

    def _put_item(self, project_id: str, digest: str, data: dict[str, Any], provider: str, model: str) -> None:
        if self.table is None:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        from evalgate.errors import Throttled

        now = self._clock()
        item = {
            **keys.model_cache(project_id, digest),
            **data,
            "provider": provider,
            "model": data.get("model") or model,
            "created_at": int(now),
            "ttl": int(now) + int(self.cache_ttl_seconds),
        }
        with self._batch_lock:
            if self._pending is not None:
                self._pending.append(item)
                self._memo[(project_id, digest)] = item
                return
        try:
            self.table.put(item)
        except (ClientError, BotoCoreError, Throttled) as exc:
            _log_warning("model cache write failed", error=type(exc).__name__)


def _expired(item: dict[str, Any], now: float) -> bool:
    ttl = item.get("ttl")
    return isinstance(ttl, int | float) and ttl <= now


def _timeout(value: Any, default: float) -> float:
    try:
        seconds = float(value) if value is not None else default
    except (TypeError, ValueError):
        return default
    return seconds if seconds > 0 and math.isfinite(seconds) else default


def _log_warning(message: str, **fields: Any) -> None:
    from evalgate.observability import logger

    logger.warning(message, **fields)


def _log_info(message: str, **fields: Any) -> None:
    from evalgate.observability import logger

    logger.info(message, **fields)


# --- the process-wide gateway --------------------------------------------------------------------
_default: tuple[Any, ModelGateway] | None = None
_default_lock = threading.Lock()


def default_gateway() -> ModelGateway:
    """The gateway of this execution environment, on the service table, built on first use (rebuilt when
    the container's table changes, as it does between tests)."""
    global _default
    from evalgate.services.container import container

    table = container().table
    with _default_lock:
        if _default is None or _default[0] is not table:
            from evalgate.providers.config import get_provider_settings

            _default = (table, ModelGateway(table, settings=get_provider_settings()))
        return _default[1]


def reset_default_gateway() -> None:
    """For tests: forget the gateway, the provider settings and resolved secrets."""
    global _default
    from evalgate.providers.config import clear_secret_cache, get_provider_settings

    with _default_lock:
        _default = None
    get_provider_settings.cache_clear()
    clear_secret_cache()
