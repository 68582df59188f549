"""A template-driven HTTP front: each HttpApi route becomes a genuine API Gateway v2 (payload 2.0) event."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.lambdas import FunctionError
from local.model import App

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API payload limit
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/x-ndjson",
    "+json",
    "+xml",
)

Invoke = Callable[[str, Any], Any]


class _Server(ThreadingHTTPServer):
    # the listen backlog: socketserver's default of 5 resets connections when twenty clients connect at once on a
    # busy machine (API Gateway takes thousands); each connection gets its own thread once accepted
    request_queue_size = 256
    daemon_threads = True


def build_event(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route_key: str,
    path_params: dict[str, str],
    source_ip: str,
    host: str,
) -> dict[str, Any]:
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = {k: unquote(v) for k, v in path_params.items()}
    if body:
        content_type = merged.get("content-type", "").lower()
        is_text = not content_type or any(t in content_type for t in _TEXT_TYPES)
        try:
            text = body.decode("utf-8") if is_text else None
        except UnicodeDecodeError:
            text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def to_http(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Interpret a payload 2.0 response the way API Gateway does."""
    if not isinstance(result, dict) or "statusCode" not in result:
        body = json.dumps(result).encode()
        return 200, [("Content-Type", "application/json")], body
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    headers.extend(("Set-Cookie", c) for c in result.get("cookies") or [])
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
    if not any(k.lower() == "content-type" for k, _ in headers) and body:
        headers.append(("Content-Type", "application/json"))
    return int(result["statusCode"]), headers, body


class HttpFront:
    def __init__(self, app: App, invoke: Invoke, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.app = app
        self.invoke = invoke
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "evalgate-local"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                front.handle(self)

            def __getattr__(self, name: str) -> Any:
                # every method reaches the router, which answers 404 for one no route takes
                if name.startswith("do_"):
                    return self._handle
                raise AttributeError(name)

        self.server = _Server((host, port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="http-front", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _send(self, req: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        req.send_response(status)
        for name, value in headers:
            req.send_header(name, value)
        req.send_header("Content-Length", str(len(body)))
        req.send_header("Apigw-Requestid", uuid.uuid4().hex[:16])
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)

    def _json(self, req: BaseHTTPRequestHandler, status: int, message: str) -> None:
        self._send(req, status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode())

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        length = int(req.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            req.rfile.read(length)
            self._json(req, 413, "Request Entity Too Large")
            return
        body = req.rfile.read(length) if length else b""
        split = urlsplit(req.path)
        method = req.command
        if method == "OPTIONS" and self.app.cors and req.headers.get("Access-Control-Request-Method"):
            self._preflight(req)
            return
        matched = self.app.match(method, split.path)
        if matched is None:
            self._json(req, 404, "Not Found")
            return
        route, params = matched
        event = build_event(
            method,
            split.path,
            split.query,
            list(req.headers.items()),
            body,
            route.route_key,
            params,
            req.client_address[0],
            req.headers.get("Host", "localhost"),
        )
        try:
            result = self.invoke(route.function, event)
        except FunctionError:
            self._json(req, 500, "Internal Server Error")
            return
        status, headers, payload = to_http(result)
        headers.append(("X-Evalgate-Local-Ms", f"{(time.perf_counter() - started) * 1000:.1f}"))
        if self.app.cors:
            headers.extend(self._cors_headers(req))
        self._send(req, status, headers, payload)

    def _cors_headers(self, req: BaseHTTPRequestHandler) -> list[tuple[str, str]]:
        cors = self.app.cors or {}
        origins = cors.get("AllowOrigins") or []
        origin = req.headers.get("Origin")
        if not origin or not ("*" in origins or origin in origins):
            return []
        return [("Access-Control-Allow-Origin", "*" if "*" in origins else origin)]

    def _preflight(self, req: BaseHTTPRequestHandler) -> None:
        cors = self.app.cors or {}
        headers = self._cors_headers(req)
        if headers:
            headers += [
                ("Access-Control-Allow-Methods", ",".join(cors.get("AllowMethods") or ["*"])),
                ("Access-Control-Allow-Headers", ",".join(cors.get("AllowHeaders") or ["*"])),
            ]
        self._send(req, 204, headers, b"")
