"""JSON over HTTP for the model APIs, on urllib3 (already shipped with botocore: no SDK, small cold start).

One pooled, thread-safe connection manager per process keeps TLS connections alive between calls of a
warm container. urllib3 never retries on its own: the gateway owns retries. Errors become ProviderErrors:
429, 408, 409, 5xx, timeouts and broken connections are retryable (with Retry-After honoured), any other
4xx is not and carries the API's own message, scrubbed of anything that looks like a key.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

from evalgate.providers.base import ProviderError

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
MAX_MESSAGE_CHARS = 500
# sk-..., sk-ant-..., gsk_..., Bearer tokens, long random runs: masked wherever an API echoes them back
_KEYISH = re.compile(r"(?i)(\b(?:sk|gsk|xai)[-_][a-z0-9_\-]{6,}|bearer\s+[a-z0-9_\-.=]{8,}|\b[a-z0-9]{32,}\b)")


@cache
def _pool() -> Any:
    # lazy: urllib3 loads only where an HTTP call is made (cold start)
    import urllib3

    return urllib3.PoolManager(num_pools=16, maxsize=32, retries=False, block=False)


def scrub(text: str, *secrets: str | None) -> str:
    """Remove the given secrets and anything key-shaped from a message, then bound its length."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _KEYISH.sub("***", text)
    return text[:MAX_MESSAGE_CHARS]


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None if absent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _api_message(body: bytes) -> str:
    """The error message of an OpenAI- or Anthropic-shaped error body, else the start of the body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:MAX_MESSAGE_CHARS].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail") or err.get("type")
            if msg:
                kind = err.get("type") or err.get("code")
                return f"{kind}: {msg}" if kind and kind != msg else str(msg)
        if isinstance(err, str):
            return err
        if isinstance(data.get("detail"), str):
            return str(data["detail"])
    return json.dumps(data)[:MAX_MESSAGE_CHARS]


def post_json(
    url: str,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str],
    timeout: float,
    provider: str,
    secret: str | None = None,
) -> dict[str, Any]:
    """POST a JSON body, return the decoded JSON reply or raise a ProviderError (never showing `secret`)."""
    # lazy: urllib3 loads only where an HTTP call is made (cold start)
    import urllib3
    from urllib3.exceptions import HTTPError as Urllib3Error
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    payload = json.dumps(body, ensure_ascii=False).encode()
    all_headers = {"content-type": "application/json", "accept": "application/json", **headers}
    try:
        resp = _pool().request(
            "POST",
            url,
            body=payload,
            headers=all_headers,
            timeout=urllib3.Timeout(connect=min(10.0, timeout), read=timeout),
            retries=False,
            redirect=False,
            preload_content=True,
        )
    except Urllib3Timeout:
        raise ProviderError(f"{provider}: the request timed out after {timeout:g}s", retryable=True) from None
    except Urllib3Error as exc:
        reason = scrub(type(exc).__name__ + ": " + str(getattr(exc, "reason", "") or exc), secret)
        raise ProviderError(f"{provider}: connection failed ({reason})", retryable=True) from None
    status = resp.status
    data = resp.data or b""
    if status >= 400:
        message = scrub(_api_message(data), secret)
        retry_after = parse_retry_after(dict(resp.headers))
        retryable = status in RETRYABLE_STATUS or status >= 500
        raise ProviderError(
            f"{provider}: HTTP {status}: {message}",
            retryable=retryable,
            status=status,
            retry_after=retry_after if retryable else None,
        )
    try:
        decoded = json.loads(data)
    except ValueError:
        message = f"{provider}: the reply is not JSON (HTTP {status})"
        raise ProviderError(message, retryable=True, status=status) from None
    if not isinstance(decoded, dict):
        raise ProviderError(f"{provider}: the reply is not a JSON object", retryable=False, status=status)
    return decoded
