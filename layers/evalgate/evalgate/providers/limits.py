"""Retries and concurrency limits of model calls.

- Retries of retryable ProviderErrors only: exponential backoff with full jitter
  (uniform(0, min(max_delay, base_delay * 2**attempt))), at least the provider's Retry-After; no wait is
  longer than max_delay and the waits of one call add up to at most `retry_budget_s`. A Retry-After that
  does not fit (longer than max_delay or than what is left of the budget) fails fast with the error.
- A per-provider concurrency limit: one BoundedSemaphore per provider name and limit in the process,
  shared by every gateway; a call that cannot get a slot within its timeout fails retryably.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evalgate.providers.base import ProviderError

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


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    retry_budget_s: float | None = None
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform between 0 and min(max_delay, base_delay * 2**attempt); attempt counts from 0."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return self.rng.uniform(0.0, ceiling)

    def call(self, name: str, limit: int, timeout: float, call: Callable[[], Any]) -> Any:
        """`call()` under the provider's concurrency limit, retried as the policy allows."""
        semaphore = provider_semaphore(name, limit)
        slept = 0.0
        attempt = 0
        while True:
            try:
                if not semaphore.acquire(timeout=timeout):
                    raise ProviderError(
                        f"{name}: no free slot within {timeout:g}s (concurrency limit {limit})", retryable=True
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
                self.sleep(delay)
                slept += delay
