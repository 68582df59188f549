"""OpenAI-compatible Chat Completions and Embeddings over HTTP (OpenAI, vLLM, Ollama, LiteLLM, ...).

`POST {base_url}/chat/completions` and `POST {base_url}/embeddings`, where base_url includes the version
path (`https://api.openai.com/v1`, `http://localhost:11434/v1`, ...), as OpenAI's SDKs expect it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from evalgate.providers import _http
from evalgate.providers.base import Completion, ModelRequest, ProviderError
from evalgate.providers.config import Endpoint
from evalgate.providers.pricing import cost_of
from evalgate.providers.tokens import estimate_chat_tokens, estimate_tokens

# reasoning models refuse max_tokens and want max_completion_tokens
_REASONING = re.compile(r"^(?:[\w-]+/)?(?:o\d|gpt-5)")
EMBED_BATCH = 256


class OpenAICompatProvider:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name

    def __repr__(self) -> str:
        return f"OpenAICompatProvider({self.endpoint!r})"

    def _headers(self) -> tuple[dict[str, str], str | None]:
        key = self.endpoint.api_key()
        if key is None:
            return {}, None
        value = key.reveal()
        return {"authorization": f"Bearer {value}"}, value

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        body: dict[str, Any] = {"model": request.model, "messages": messages}
        params = request.api_params()
        if "max_tokens" in params and _REASONING.match(request.model):
            params.setdefault("max_completion_tokens", params.pop("max_tokens"))
        if "stop" in params and isinstance(params["stop"], str):
            params["stop"] = [params["stop"]]
        params.pop("stream", None)  # we read whole replies
        params.pop("messages", None)
        body.update(params)
        return body

    def complete(self, request: ModelRequest) -> Completion:
        headers, secret = self._headers()
        started = time.perf_counter()
        data = _http.post_json(
            f"{self.endpoint.base_url}/chat/completions",
            self._body(request),
            headers=headers,
            timeout=request.timeout,
            provider=self.name,
            secret=secret,
        )
        latency_ms = (time.perf_counter() - started) * 1000
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ProviderError(f"{self.name}: the reply has no choices", retryable=True)
        message = choices[0].get("message") or {}
        text = _content_text(message.get("content"))
        if not text and message.get("refusal"):
            text = str(message["refusal"])
        usage: dict[str, Any] = data["usage"] if isinstance(data.get("usage"), dict) else {}
        estimated = usage.get("prompt_tokens") is None
        if estimated:  # some compatible servers report no usage: count offline
            input_tokens = estimate_chat_tokens(request.prompt, request.system)
            output_tokens = estimate_tokens(text)
        else:
            input_tokens = int(usage.get("prompt_tokens") or 0)
            output_tokens = int(usage.get("completion_tokens") or 0)
        model = str(data.get("model") or request.model)
        cost = cost_of(request.model, input_tokens, output_tokens, request.params)
        raw: dict[str, Any] = {"id": data.get("id"), "finish_reason": choices[0].get("finish_reason")}
        if estimated:
            raw["usage_estimated"] = True
        return Completion(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            latency_ms=latency_ms,
            cost_usd=cost.usd,
            model=model,
            raw={k: v for k, v in raw.items() if v is not None},
            priced=cost.priced,
        )

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        if model in ("", "default"):
            model = "text-embedding-3-small"
        headers, secret = self._headers()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            chunk = texts[start : start + EMBED_BATCH]
            data = _http.post_json(
                f"{self.endpoint.base_url}/embeddings",
                {"model": model, "input": chunk},
                headers=headers,
                timeout=60.0,
                provider=self.name,
                secret=secret,
            )
            items = data.get("data")
            if not isinstance(items, list) or len(items) != len(chunk):
                raise ProviderError(f"{self.name}: the embeddings reply does not match the input", retryable=False)
            ordered = sorted(items, key=lambda d: int(d.get("index", 0)))
            vectors.extend([float(x) for x in d["embedding"]] for d in ordered)
        return vectors


def _content_text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a content array (some servers send one)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)
