"""Anthropic Messages API over HTTP: `POST {base_url}/v1/messages` with `x-api-key` and `anthropic-version`.

Same error mapping as the OpenAI-compatible client (429 / 5xx / timeouts retryable, Retry-After honoured);
529 `overloaded_error` is retryable too. Anthropic has no embeddings endpoint.
"""

from __future__ import annotations

import time
from typing import Any

from evalgate.providers import _http
from evalgate.providers.base import Completion, ModelRequest, ProviderError
from evalgate.providers.config import Endpoint
from evalgate.providers.pricing import cost_of

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024  # the API requires max_tokens
_PASSTHROUGH = {"temperature", "top_p", "top_k", "metadata", "tool_choice", "tools", "thinking", "service_tier"}


class AnthropicProvider:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name

    def __repr__(self) -> str:
        return f"AnthropicProvider({self.endpoint!r})"

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        params = request.api_params()
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": int(params.get("max_tokens") or DEFAULT_MAX_TOKENS),
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.system:
            body["system"] = request.system
        stop = params.get("stop_sequences", params.get("stop"))
        if stop:
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        for name in _PASSTHROUGH:
            if name in params:
                body[name] = params[name]
        return body

    def complete(self, request: ModelRequest) -> Completion:
        headers = {"anthropic-version": API_VERSION}
        secret: str | None = None
        key = self.endpoint.api_key()
        if key is not None:
            secret = key.reveal()
            headers["x-api-key"] = secret
        started = time.perf_counter()
        data = _http.post_json(
            f"{self.endpoint.base_url}/v1/messages",
            self._body(request),
            headers=headers,
            timeout=request.timeout,
            provider=self.name,
            secret=secret,
        )
        latency_ms = (time.perf_counter() - started) * 1000
        if data.get("type") == "error":
            err = data.get("error") or {}
            message = _http.scrub(str(err.get("message", "error")), secret)
            raise ProviderError(f"{self.name}: {message}", retryable=False)
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise ProviderError(f"{self.name}: the reply has no content", retryable=True)
        text = "".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        usage: dict[str, Any] = data["usage"] if isinstance(data.get("usage"), dict) else {}
        input_tokens = int(usage.get("input_tokens") or 0)
        output_tokens = int(usage.get("output_tokens") or 0)
        cost = cost_of(request.model, input_tokens, output_tokens, request.params)
        raw = {
            "id": data.get("id"),
            "finish_reason": data.get("stop_reason"),
            "cache_read_input_tokens": usage.get("cache_read_input_tokens"),
            "cache_creation_input_tokens": usage.get("cache_creation_input_tokens"),
        }
        return Completion(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            latency_ms=latency_ms,
            cost_usd=cost.usd,
            model=str(data.get("model") or request.model),
            raw={k: v for k, v in raw.items() if v is not None},
            priced=cost.priced,
        )

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        raise ProviderError(
            f"{self.name}: Anthropic offers no embeddings; use openai, bedrock or an offline provider", retryable=False
        )
