"""Offline providers for tests, demos and local runs: no network, no key, $0.

- `echo`: returns the rendered prompt, or `params["prefix"]` + the prompt.
- `scripted`: deterministic replies from `params["responses"]`, a list of `{"match": ..., "output": ...}`
  tried in order against the prompt (`match` is a substring, or a regular expression searched in the
  prompt), else `params["default"]` (default: the prompt itself). `params["latency_ms"]` sleeps that long;
  `params["fail_on"]` makes matching prompts fail, to exercise error paths:
  a regex string (retryable unless `params["fail_retryable"]` is false), or
  `{"match": regex, "retryable": bool, "status": int, "retry_after": float, "times": n, "message": str}`
  where `times` fails only the first n matching calls of this provider instance (then succeeds).

The `offline-judge` (answers auto-eval judge prompts) builds on `OfflineProvider` and lives with the judge
prompt it reads, in evalgate.autoeval.offline_judge.

Tokens are counted with the offline estimator (tokens.py). Embeddings (both providers) are the hashing
trick over word unigrams and bigrams: a fixed-size, L2-normalised vector, deterministic across processes.
They are LEXICAL: texts that share words are close, paraphrases with other words are not. Use them to
exercise code paths, never to judge meaning.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from evalgate.providers.base import Completion, ModelRequest, ProviderError
from evalgate.providers.tokens import estimate_chat_tokens, estimate_tokens

DEFAULT_DIMENSIONS = 256
_WORD = re.compile(r"\w+", re.UNICODE)
_DIM_IN_MODEL = re.compile(r"(\d+)$")


def hashing_embedding(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """Signed hashing trick over lower-cased word unigrams and bigrams; a zero vector for a text without words."""
    vector = [0.0] * dimensions
    words = _WORD.findall(text.lower())
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    for gram in grams:
        digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[index] += sign
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def _dimensions(model: str) -> int:
    """`hashing-512` (or any model name ending in a number from 8 to 4096) picks the size; else 256."""
    m = _DIM_IN_MODEL.search(model or "")
    if m and 8 <= int(m.group(1)) <= 4096:
        return int(m.group(1))
    return DEFAULT_DIMENSIONS


class OfflineProvider:
    """Shared by the offline providers: token estimates, $0 cost, hashing-trick embeddings."""

    name = "offline"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    def _completion(self, request: ModelRequest, text: str, started: float) -> Completion:
        return Completion(
            text=text,
            input_tokens=estimate_chat_tokens(request.prompt, request.system),
            output_tokens=estimate_tokens(text),
            latency_ms=(time.perf_counter() - started) * 1000,
            cost_usd=0.0,
            model=request.model,
            raw={"finish_reason": "stop", "offline": True},
            priced=True,
        )

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        size = _dimensions(model)
        return [hashing_embedding(t, size) for t in texts]


class EchoProvider(OfflineProvider):
    name = "echo"

    def complete(self, request: ModelRequest) -> Completion:
        started = time.perf_counter()
        prefix = request.params.get("prefix") or ""
        return self._completion(request, f"{prefix}{request.prompt}", started)


class ScriptedProvider(OfflineProvider):
    name = "scripted"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(sleep=sleep)
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def complete(self, request: ModelRequest) -> Completion:
        started = time.perf_counter()
        params = request.params
        latency = params.get("latency_ms")
        if latency:
            self._sleep(float(latency) / 1000)
        self._maybe_fail(request)
        text = self.reply(request.prompt, params)
        return self._completion(request, text, started)

    @staticmethod
    def reply(prompt: str, params: dict[str, Any]) -> str:
        for rule in params.get("responses") or []:
            if not isinstance(rule, dict):
                continue
            if _matches(str(rule.get("match", "")), prompt):
                return str(rule.get("output", ""))
        default = params.get("default")
        return prompt if default is None else str(default)

    def _maybe_fail(self, request: ModelRequest) -> None:
        spec = request.params.get("fail_on")
        if not spec:
            return
        if isinstance(spec, str):
            spec = {"match": spec, "retryable": request.params.get("fail_retryable", True)}
        if not isinstance(spec, dict):
            raise ProviderError("scripted: fail_on must be a regex or an object", retryable=False)
        pattern = str(spec.get("match", ""))
        if not _matches(pattern, request.prompt):
            return
        times = spec.get("times")
        if times is not None:
            with self._lock:
                seen = self._failures.get(pattern, 0)
                if seen >= int(times):
                    return
                self._failures[pattern] = seen + 1
        status = spec.get("status")
        retry_after = spec.get("retry_after")
        raise ProviderError(
            str(spec.get("message") or f"scripted failure for a prompt matching {pattern!r}"),
            retryable=bool(spec.get("retryable", True)),
            status=int(status) if status is not None else None,
            retry_after=float(retry_after) if retry_after is not None else None,
        )


def _matches(pattern: str, prompt: str) -> bool:
    """A substring, or a regular expression searched in the prompt; the empty pattern matches everything."""
    if pattern in prompt:
        return True
    try:
        return re.search(pattern, prompt) is not None
    except re.error:
        return False
