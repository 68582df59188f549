"""The model gateway: every model call (runs, explore, judges) goes through here, with cache, retries, limits
and cost.

- Response cache, per tenant, through an injected ResponseCache (evalgate.store.model_cache in the service)
  keyed by the request digest (cache_keys.py). Items carry `ttl` (epoch seconds, cache_ttl from now) and are
  ignored once expired even before DynamoDB's TTL sweep removes them. Only successful completions are cached;
  a completion whose text and metadata exceed `max_cached_bytes` (~100 KB) is not cached at all (a DynamoDB
  item must stay well below 400 KB and such outputs are rare). A hit returns the stored Completion (its
  tokens, cost and latency as first measured) with `cached=True`. `use_cache=False` skips the read but still
  writes. Cache failures (Unavailable) are logged and ignored: the cache never fails a call.
- Retries and the per-provider concurrency limit: limits.py.
- A per-call timeout handed to the provider: params["timeout_s"], else `default_timeout_s` (60 s).
- Providers are built by name on first use (factory.py); `providers` hands in ready ones (tests) and
  `factories` builds others that belong to a higher layer (the auto-eval offline judge).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from evalgate.errors import Unavailable
from evalgate.observability import logger
from evalgate.providers.base import DEFAULT_TIMEOUT_S, Completion, ModelRequest, Provider, ProviderError, ResponseCache
from evalgate.providers.cache_keys import cache_digest, embedding_digest
from evalgate.providers.factory import provider_for
from evalgate.providers.limits import RetryPolicy

if TYPE_CHECKING:
    from evalgate.providers.config import ProviderSettings

DEFAULT_CONCURRENCY = 8
MAX_CACHED_BYTES = 100_000


class ModelGateway:
    def __init__(
        self,
        cache: ResponseCache | None,
        *,
        providers: Mapping[str, Provider] | None = None,
        factories: Mapping[str, Callable[[], Provider]] | None = None,
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
        self.cache = cache
        self.retries = RetryPolicy(
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            retry_budget_s=retry_budget_s,
            sleep=sleep,
            rng=rng or random.Random(),
        )
        self._given = dict(providers or {})
        self._factories = dict(factories or {})
        self._settings = settings
        self._built: dict[str, Provider] = {}
        self._built_lock = threading.Lock()
        self.cache_ttl_seconds = cache_ttl_seconds
        self.concurrency = dict(concurrency or {})
        self.default_concurrency = default_concurrency
        self.default_timeout_s = default_timeout_s
        self.max_cached_bytes = max_cached_bytes
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
                factory = self._factories.get(name)
                self._built[name] = factory() if factory is not None else provider_for(name, self.settings)
            return self._built[name]

    @property
    def settings(self) -> ProviderSettings:
        """The provider settings given (the container passes the function's); none given: no endpoint is
        configured beyond openai and anthropic at their default URLs, without keys."""
        if self._settings is None:
            from evalgate.providers.config import ProviderSettings  # lazy: only gateways that build providers

            self._settings = ProviderSettings.from_env({})
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
        if use_cache and self.cache is not None:
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
        return self.retries.backoff(attempt)

    def _with_retries(self, name: str, timeout: float, call: Callable[[], Any]) -> Any:
        return self.retries.call(name, self.limit_for(name), timeout, call)

    # -- batch mode -------------------------------------------------------------------------------
    def prefetch(self, requests: list[ModelRequest], *, project_id: str) -> int:
        """Read the cache entries of many requests in one round trip (BatchGetItem); later complete()
        calls for them need no read of their own. Returns how many were found."""
        if self.cache is None or not requests:
            return 0
        digests = list(dict.fromkeys(cache_digest(r) for r in requests))
        try:
            found = self.cache.get_many(project_id, digests)
        except Unavailable as exc:
            logger.warning("model cache batch read failed", error=exc.message)
            return 0
        with self._batch_lock:
            for digest in digests:
                self._memo[(project_id, digest)] = found.get(digest)
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
            if flush and pending and self.cache is not None:
                try:
                    self.cache.put_items(pending)
                except Unavailable as exc:
                    logger.warning("model cache batch write failed", error=exc.message)

    # -- cache ------------------------------------------------------------------------------------
    def _cache_item(self, project_id: str, digest: str) -> dict[str, Any] | None:
        if self.cache is None:
            return None
        with self._batch_lock:
            if (project_id, digest) in self._memo:
                item = self._memo[(project_id, digest)]
                return item if item is None or not _expired(item, self._clock()) else None
        try:
            item = self.cache.get(project_id, digest)
        except Unavailable as exc:
            logger.warning("model cache read failed", error=exc.message)
            return None
        if item is None or _expired(item, self._clock()):
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
        if self.cache is None:
            return
        data = asdict(completion)
        data.pop("cached", None)
        data["raw"] = json.dumps(completion.raw, sort_keys=True, default=str) if completion.raw else None
        size = len(completion.text.encode()) + len(data["raw"] or "")
        if size > self.max_cached_bytes:
            logger.info("model reply too large to cache", bytes=size)
            return
        data["kind"] = "completion"
        self._put_item(project_id, digest, data, request.provider, request.model)

    def _put_item(self, project_id: str, digest: str, data: dict[str, Any], provider: str, model: str) -> None:
        if self.cache is None:
            return
        now = self._clock()
        item = self.cache.item(
            project_id,
            digest,
            {
                **data,
                "provider": provider,
                "model": data.get("model") or model,
                "created_at": int(now),
                "ttl": int(now) + int(self.cache_ttl_seconds),
            },
        )
        with self._batch_lock:
            if self._pending is not None:
                self._pending.append(item)
                self._memo[(project_id, digest)] = item
                return
        try:
            self.cache.put_items([item])
        except Unavailable as exc:
            logger.warning("model cache write failed", error=exc.message)


def _expired(item: dict[str, Any], now: float) -> bool:
    ttl = item.get("ttl")
    return isinstance(ttl, int | float) and ttl <= now


def _timeout(value: Any, default: float) -> float:
    try:
        seconds = float(value) if value is not None else default
    except (TypeError, ValueError):
        return default
    return seconds if seconds > 0 and math.isfinite(seconds) else default
