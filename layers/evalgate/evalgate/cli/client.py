"""A small JSON-over-HTTP client on urllib: Bearer auth, no redirects, retries with backoff on 429/5xx."""

from __future__ import annotations

import email.utils
import json
import platform
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.client import HTTPException
from typing import Any

from evalgate import __version__
from evalgate.cli.context import CliError, Context

MAX_ATTEMPTS = 6
BACKOFF_BASE = 1.0  # seconds before the 2nd attempt (then doubled), with equal jitter
BACKOFF_CAP = 30.0
MAX_RETRY_AFTER = 300.0  # a server asking for a longer wait ends the command instead
USER_AGENT = f"evalgate-cli/{__version__} python/{platform.python_version()}"

HINTS = {
    401: "check the API key (--key or EVALGATE_API_KEY)",
    403: "the API key lacks the role this action needs, or belongs to another project",
    404: "check the ids and the server URL (--url or EVALGATE_URL)",
}


class ApiError(CliError):
    """The server answered with an error status (after retries, for 429 and 5xx)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.attempts = attempts
        super().__init__(message)

    def __str__(self) -> str:
        return self.describe()

    def describe(self, field_note: str | None = None) -> str:
        """E.g. `400 invalid_input: score must be a number (field results[3].score, line 12)`."""
        text = f"{self.status} {self.code or _reason(self.status)}: {self.message}"
        if self.field:
            text += f" (field {self.field}{', ' + field_note if field_note else ''})"
        if self.attempts > 1:
            text += f" (gave up after {self.attempts} attempts)"
        if self.status in HINTS:
            text += f"; {HINTS[self.status]}"
        return text


class ConnectionFailed(CliError):
    """The server could not be reached (after retries, for transient failures)."""


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: Any  # the parsed JSON, or None when the body is empty or not JSON
    text: str = ""


@dataclass
class _Transient:
    """A failure worth retrying: a 429/5xx answer or a dropped/refused connection."""

    description: str
    retry_after: float | None = None
    error: CliError = field(default_factory=lambda: CliError("transient failure"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: urllib would turn a POST into a GET and carry the key to the new host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _in_progress(status: int, message: str, retry_after: float | None) -> bool:
    """A 409 for a twin request still being processed (after a timeout and a retry with the same
    Idempotency-Key): worth retrying. Other conflicts (e.g. a cancelled run) are not."""
    return status == 409 and (retry_after is not None or "in progress" in message.lower())


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def error_fields(body: Any, text: str) -> tuple[str | None, str, str | None]:
    """(code, message, field) from the service's `{"error": {"code", "message", "field"}}` body."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        message = error.get("message")
        return (
            str(error["code"]) if error.get("code") else None,
            str(message) if message else "(no message)",
            str(error["field"]) if error.get("field") else None,
        )
    if isinstance(body, dict) and isinstance(body.get("message"), str):  # e.g. API Gateway's own errors
        return None, body["message"], None
    snippet = " ".join(text.split())[:200]
    return None, snippet or "(empty response)", None


class ApiClient:
    def __init__(self, base_url: str, key: str, ctx: Context, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.ctx = ctx
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())
        # told about each retry (the submit command routes it past its progress bar)
        self.on_retry: Callable[[str], None] = ctx.err

    def url(self, *segments: str) -> str:
        """The base URL followed by the given path segments, each one percent-encoded."""
        return self.base_url + "/" + "/".join(urllib.parse.quote(s, safe="") for s in segments)

    def post_json(self, url: str, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
        """POST a JSON body; 2xx → the Response, otherwise ApiError / ConnectionFailed (after retries)."""
        return self.send("POST", url, body, headers)

    def call(self, method: str, url: str, payload: Any = None) -> Any:
        """`method` with `payload` as JSON (none for GET/DELETE); the decoded JSON answer (None when empty)."""
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        return self.send(method, url, body).body

    def send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str] | None = None) -> Response:
        """One request, retried on 429/5xx and connection failures as post_json documents."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            outcome = self._send_once(url, body, headers or {}, method)
            if isinstance(outcome, Response):
                return outcome
            if attempt == MAX_ATTEMPTS:
                error = outcome.error
                if isinstance(error, ApiError):
                    error.attempts = attempt
                    raise error
                raise ConnectionFailed(f"{error} (gave up after {attempt} attempts)")
            delay = self._delay(attempt, outcome.retry_after)
            self.on_retry(
                f"evalgate: {outcome.description}; retrying in {delay:.1f} s (attempt {attempt + 1} of {MAX_ATTEMPTS})"
            )
            self.ctx.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            if retry_after > MAX_RETRY_AFTER:
                raise CliError(f"the server asked to retry after {retry_after:.0f} s; giving up")
            # honour the server's wait, spread a little so that parallel clients do not return at once
            return retry_after + self.ctx.rng.uniform(0, min(1.0, retry_after * 0.1))
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        return ceiling / 2 + self.ctx.rng.uniform(0, ceiling / 2)

    def _send_once(
        self, url: str, body: bytes | None, headers: Mapping[str, str], method: str = "POST"
    ) -> Response | _Transient:
        request = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", USER_AGENT)
        for name, value in headers.items():
            request.add_header(name, value)
        request.add_unredirected_header("Authorization", f"Bearer {self._key}")
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                raw = reply.read()
                return _response(reply.status, reply.headers, raw)
        except urllib.error.HTTPError as error:
            try:
                raw = error.read()
            except (OSError, HTTPException):
                raw = b""
            response = _response(error.code, error.headers, raw)
            return self._error_outcome(response)
        except urllib.error.URLError as error:
            return self._connection_outcome(url, error.reason)
        except (OSError, HTTPException) as error:  # timeouts, resets, a connection dropped mid-response
            return self._connection_outcome(url, error)

    def _error_outcome(self, response: Response) -> _Transient:
        code, message, field_ = error_fields(response.body, response.text)
        if 300 <= response.status < 400:
            location = response.headers.get("Location", "?")
            raise CliError(
                f"the server answered {response.status} {_reason(response.status)} to {location}; "
                "redirects are not followed: pass the final URL with --url"
            )
        error = ApiError(response.status, message, code=code, field=field_)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if (
            response.status == 429
            or 500 <= response.status < 600
            or _in_progress(response.status, message, retry_after)
        ):
            return _Transient(
                f"the server answered {response.status} {code or _reason(response.status)}", retry_after, error
            )
        raise error

    def _connection_outcome(self, url: str, reason: object) -> _Transient:
        host = urllib.parse.urlsplit(url).netloc
        if isinstance(reason, socket.gaierror):
            raise ConnectionFailed(
                f"cannot resolve the host of {self.base_url} ({reason}); check --url or EVALGATE_URL"
            )
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise ConnectionFailed(f"TLS certificate verification failed for {host}: {reason.verify_message}")
        if isinstance(reason, (TimeoutError, socket.timeout)):
            text = f"no answer from {host} within {self.timeout:.0f} s"
        else:
            text = f"cannot reach {self.base_url}: {reason}"
        return _Transient(text, None, ConnectionFailed(text))


def _response(status: int, headers: Any, raw: bytes) -> Response:
    text = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    return Response(status=status, headers=headers if headers is not None else {}, body=body, text=text)
