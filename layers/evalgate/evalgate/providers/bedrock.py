"""Amazon Bedrock through boto3: Converse for completions, InvokeModel (Amazon Titan) for embeddings.

The `bedrock-runtime` client is built lazily through evalgate.aws.client (or injected, for tests).
ThrottlingException, ServiceUnavailableException, ModelNotReadyException, InternalServerException and
ModelTimeoutException are retryable; validation, access and missing-model errors are not.

boto3 fixes timeouts per client, not per call: `request.timeout_s` is not applied here; the client's own
read timeout (evalgate.aws.client's Config) bounds each call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from evalgate.providers.base import Completion, ModelRequest, ProviderError
from evalgate.providers.pricing import cost_of

DEFAULT_EMBED_MODEL = "amazon.titan-embed-text-v2:0"
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "ModelNotReadyException",
        "InternalServerException",
        "ModelTimeoutException",
        "TooManyRequestsException",
    }
)
_INFERENCE = {"max_tokens": "maxTokens", "temperature": "temperature", "top_p": "topP"}
_NOT_ADDITIONAL = {"stop", "stop_sequences", "seed", "response_format", "region"}


class BedrockProvider:
    name = "bedrock"

    def __init__(self, client: Any = None, *, client_factory: Callable[[], Any] | None = None) -> None:
        self._client = client
        self._factory = client_factory

    @property
    def client(self) -> Any:
        if self._client is None:
            if self._factory is not None:
                self._client = self._factory()
            else:
                # lazy: loaded only on the code paths that need it (cold start)
                from evalgate import aws

                self._client = aws.client("bedrock-runtime")
        return self._client

    def _kwargs(self, request: ModelRequest) -> dict[str, Any]:
        params = request.api_params()
        kwargs: dict[str, Any] = {
            "modelId": request.model,
            "messages": [{"role": "user", "content": [{"text": request.prompt}]}],
        }
        if request.system:
            kwargs["system"] = [{"text": request.system}]
        inference: dict[str, Any] = {}
        for ours, theirs in _INFERENCE.items():
            if ours in params:
                inference[theirs] = params[ours]
        stop = params.get("stop_sequences", params.get("stop"))
        if stop:
            inference["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
        if inference:
            kwargs["inferenceConfig"] = inference
        additional = {k: v for k, v in params.items() if k not in _INFERENCE and k not in _NOT_ADDITIONAL}
        if additional:  # model-specific fields such as top_k
            kwargs["additionalModelRequestFields"] = additional
        return kwargs

    def complete(self, request: ModelRequest) -> Completion:
        started = time.perf_counter()
        resp = self._call("converse", **self._kwargs(request))
        latency_ms = (time.perf_counter() - started) * 1000
        blocks = ((resp.get("output") or {}).get("message") or {}).get("content") or []
        text = "".join(str(b["text"]) for b in blocks if isinstance(b, dict) and "text" in b)
        usage = resp.get("usage") or {}
        input_tokens = int(usage.get("inputTokens") or 0)
        output_tokens = int(usage.get("outputTokens") or 0)
        cost = cost_of(request.model, input_tokens, output_tokens, request.params)
        raw: dict[str, Any] = {"finish_reason": resp.get("stopReason")}
        if (resp.get("metrics") or {}).get("latencyMs") is not None:
            raw["model_latency_ms"] = resp["metrics"]["latencyMs"]
        request_id = (resp.get("ResponseMetadata") or {}).get("RequestId")
        if request_id:
            raw["id"] = request_id
        return Completion(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            latency_ms=latency_ms,
            cost_usd=cost.usd,
            model=request.model,
            raw={k: v for k, v in raw.items() if v is not None},
            priced=cost.priced,
        )

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        if model in ("", "default"):
            model = DEFAULT_EMBED_MODEL
        vectors: list[list[float]] = []
        for text in texts:  # Titan text embeddings take one text per call
            body: dict[str, Any] = {"inputText": text}
            if "v2" in model:
                body["normalize"] = True
            resp = self._call(
                "invoke_model",
                modelId=model,
                body=json.dumps(body).encode(),
                contentType="application/json",
                accept="application/json",
            )
            payload = json.loads(resp["body"].read())
            vectors.append([float(x) for x in payload["embedding"]])
        return vectors

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        # lazy: the AWS SDK loads on first use, not at import (cold start)
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            ConnectTimeoutError,
            ReadTimeoutError,
        )

        try:
            return dict(getattr(self.client, operation)(**kwargs))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = str(error.get("Message", ""))[:500]
            retryable = code in RETRYABLE_CODES or (isinstance(status, int) and status >= 500)
            raise ProviderError(f"bedrock: {code}: {message}", retryable=retryable, status=status) from None
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            raise ProviderError(f"bedrock: timed out ({type(exc).__name__})", retryable=True) from None
        except ConnectionError as exc:
            raise ProviderError(f"bedrock: connection failed ({type(exc).__name__})", retryable=True) from None
        except BotoCoreError as exc:
            raise ProviderError(f"bedrock: {type(exc).__name__}", retryable=False) from None
