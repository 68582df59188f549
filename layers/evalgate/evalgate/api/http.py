"""The resolver every function uses: authentication, role and size checks, one error shape."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError, ResponseValidationError
from pydantic import BaseModel

from evalgate import pools
from evalgate.api.errors import VALIDATION_STATUS, error_body, headers_of, raw_error_response, status_of
from evalgate.auth import require_role
from evalgate.errors import EvalgateError, PayloadTooLarge, SchemaViolation, UnsupportedMediaType
from evalgate.models import strict_json
from evalgate.models.domain import Principal, Role
from evalgate.observability import logger

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
API_KEY: list[dict[str, list[str]]] = [{"apiKeyAuth": []}]


class EvalgateResolver(APIGatewayHttpResolver):
    """One route per function. `role` is what the route needs; None makes it public."""

    # the API speaks JSON; a resolver of another wire format (OTLP's protobuf) turns this off and checks its own
    json_only = True

    def __init__(self, *, role: Role | None) -> None:
        super().__init__(
            enable_validation=True,
            response_validation_error_http_code=500,
            json_body_deserializer=self._json_body,
        )
        self.required_role = role
        self._parsed: tuple[str, Any] | None = None
        self._admission: Future[Principal] | None = None
        self._family = "evalgate"
        self.exception_handler(ResponseValidationError)(_response_invalid)
        self.exception_handler(RequestValidationError)(self._validation_error)
        self.exception_handler(EvalgateError)(self._domain_error)
        self.exception_handler(Exception)(_unexpected_error)
        self.not_found(_route_not_found)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        # Size, authentication and role are checked before the body is parsed or validated,
        # so a caller without a key learns nothing about the schema.
        self._family = family_of(str(event.get("rawPath") or ""), _method_of(event))
        self._admission = None
        try:
            _check_body_size(event)
            if self.json_only:
                event = _json_by_default(event)
                if self._family in ("humanloop", "echostash-gate"):
                    event = _empty_body_is_empty_object(event)
            if self.required_role is not None:
                # lazy: a sibling service, loaded on the path that calls it (cold start)
                from evalgate.services.projects import lookup_principal, recall

                principal, digest, recalled = recall(event.get("headers") or {}, event.get("rawPath", ""))
                if recalled and not principal.role.allows(self.required_role):
                    # refused on what was recalled: read the key first, so a revoked key is a 401, not a 403
                    principal, recalled = lookup_principal(digest), False
                require_role(principal, self.required_role)
                logger.append_keys(project_id=principal.project_id, key_id=principal.key_id)
                self.append_context(principal=principal)
                # the key (when this process knew it already) and its rate window are checked while the body is
                # parsed and validated; the route waits for both when it first asks for the principal (before it
                # reads or writes anything of the project), and an error answer waits for them too, so a revoked
                # key is a 401 and a request over the limit a 429 whatever its body, as when they came first
                self._admission = pools.executor("admission").submit(
                    admit_request, principal, digest, recalled, self.required_role
                )
            if self.json_only:
                _check_body_is_json(event)
                self._parsed = _parse_strictly(event)
        except EvalgateError as exc:
            error = self._admission_error() or exc
            logger.info("request rejected", code=error.code, status=status_of(error))
            return raw_error_response(error)
        response = super().resolve(event, context)
        # a route that never asked for its principal is still refused (its context is cleared by now)
        throttled = self._admission_error(adopt=False)
        if throttled is not None and response.get("statusCode") != status_of(throttled):
            logger.info("request rejected", code=throttled.code, status=status_of(throttled))
            return raw_error_response(throttled)
        return response

    def _admission_error(self, *, adopt: bool = True) -> EvalgateError | None:
        """The error of this request's admission (None when admitted or not checked), once it is done; `adopt`:
        the principal admitted replaces the one recalled in the route's context."""
        admission, self._admission = self._admission, None
        if admission is None:
            return None
        try:
            principal = admission.result()
        except EvalgateError as exc:
            return exc
        if adopt and principal != self.context.get("principal"):
            self.append_context(principal=principal)
        return None

    def _wait_admitted(self) -> None:
        throttled = self._admission_error()
        if throttled is not None:
            raise throttled

    def _validation_error(self, exc: RequestValidationError) -> Response:
        throttled = self._admission_error()
        if throttled is not None:
            return _domain_error(throttled)
        if self._family == "humanloop":
            return _humanloop_validation_error(exc.errors())
        response = _validation_error(exc)
        if self._family == "evalguard-400":
            response.status_code = 400
        return response

    def _domain_error(self, exc: EvalgateError) -> Response:
        exc = self._admission_error() or exc
        response = _domain_error(exc)
        if self._family == "humanloop":
            if isinstance(exc, SchemaViolation):
                where = "header" if exc.field == "Idempotency-Key" else "body"
                loc = [where, *(exc.field.split(".") if exc.field else [])]
                return _humanloop_validation_error([{"loc": loc, "msg": exc.message, "type": "value_error"}])
            # Humanloop's errors carry `detail`; evalgate's own `error` object stays beside it
            body = json.loads(str(response.body))
            response.body = json.dumps({"detail": exc.message, **body})
        return response

    def _json_body(self, text: str) -> Any:
        """The body as parsed (strictly) at the edge; parsed again only if it is not the one seen there."""
        if self._parsed is not None and self._parsed[0] == text:
            return self._parsed[1]
        return strict_json.loads(text)

    @property
    def recalled(self) -> Principal:
        """The principal this request presented a key of, before its admission is done (a key this process
        knew is checked again meanwhile): only for reads begun early, whose answer is used once `principal` (which
        waits for the admission) is read."""
        principal = self.context.get("principal")
        if not isinstance(principal, Principal):
            raise RuntimeError("route needs a principal but the function is public")
        return principal

    @property
    def principal(self) -> Principal:
        self._wait_admitted()
        principal = self.context.get("principal")
        if not isinstance(principal, Principal):
            raise RuntimeError("route needs a principal but the function is public")
        return principal


def admit_request(principal: Principal, digest: str, recalled: bool, role: Role) -> Principal:
    """Admit a request: its key counted in its rate window and, when its principal was `recalled` (not read by
    this request), checked again, by one write (`admit_key`). The principal to serve it with."""
    from evalgate.services.projects import admit_key  # lazy: as in resolve

    current = admit_key(digest, principal, recalled=recalled)
    if current != principal:  # not in real use (keys do not change); a store rebuilt under a test's feet
        require_role(current, role)
    return current


# EvalGuard's documents answer 400 to a bad body on these two routes (their other routes follow evalgate's 422)
_EVALGUARD_400 = re.compile(r"^/api/v1/(evals/[^/]+/results|auto-eval)$")
_ECHOSTASH_GATE = re.compile(r"^/api/prompts/[^/]+/eval/gate/check$")


def _method_of(event: Mapping[str, Any]) -> str:
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("method") or "").upper()


def family_of(path: str, method: str) -> str:
    """Which API family's conventions answer this request: Humanloop's on /v5 (FastAPI's 422 `detail`, an
    empty body is `{}`), EvalGuard's 400 on two routes, Echostash's body-less gate check; evalgate's elsewhere."""
    if path == "/v5" or path.startswith("/v5/"):
        return "humanloop"
    if method == "POST" and _EVALGUARD_400.match(path):
        return "evalguard-400"
    if method == "POST" and _ECHOSTASH_GATE.match(path):
        return "echostash-gate"
    return "evalgate"


def _empty_body_is_empty_object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """A POST/PUT/PATCH without a body is the empty object (Humanloop's SDK sends none when every field is
    optional)."""
    if _method_of(event) not in ("POST", "PUT", "PATCH") or (event.get("body") or "").strip():
        return event
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    return {**event, "body": "{}", "isBase64Encoded": False, "headers": {**headers, "content-type": "application/json"}}


def _humanloop_validation_error(errors: Any) -> Response:
    """FastAPI's shape, which Humanloop's SDK reads into UnprocessableEntityError.body.detail."""
    detail = []
    for err in errors:
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())] or ["body"]
        detail.append({"loc": loc, "msg": str(err.get("msg", "invalid")), "type": str(err.get("type", "value_error"))})
    return Response(
        status_code=VALIDATION_STATUS,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"detail": detail}),
    )


def _json_by_default(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The API speaks JSON only: a JSON body sent with curl's default form content type is read as JSON."""
    headers = event.get("headers") or {}
    content_type = str(headers.get("content-type", "")).lower()
    body = (event.get("body") or "").lstrip()
    if event.get("isBase64Encoded") or body[:1] not in ("{", "["):
        return event
    if content_type and not content_type.startswith("application/x-www-form-urlencoded"):
        return event
    return {**event, "headers": {**headers, "content-type": "application/json"}}


def _check_body_is_json(event: Mapping[str, Any]) -> None:
    """A body must be UTF-8 JSON sent as JSON; anything else is refused before parsing."""
    raw = event.get("body")
    if not raw:
        return
    content_type = str((event.get("headers") or {}).get("content-type", "")).split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {content_type}")
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise SchemaViolation("request body is not valid UTF-8 JSON") from exc


def _parse_strictly(event: Mapping[str, Any]) -> tuple[str, Any] | None:
    """One guard for every route, before any model sees the body: NaN/Infinity, numbers out of range, integers
    too long to convert and nesting too deep are a 422 naming the field (strict_json). Malformed JSON is left to
    the route's validation (422 json_invalid)."""
    raw = event.get("body")
    if not raw:
        return None
    text = base64.b64decode(raw).decode("utf-8") if event.get("isBase64Encoded") else str(raw)
    try:
        return text, strict_json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None


def _check_body_size(event: Mapping[str, Any]) -> None:
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.settings import get_settings

    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    limit = get_settings().max_body_bytes
    if size > limit:
        raise PayloadTooLarge(f"request body is {size} bytes; the limit is {limit} bytes")


def json_response(status: int, body: BaseModel | dict[str, Any] | list[Any]) -> Response:
    """A JSON response; pydantic bodies are checked against the route's declared model and serialised by alias."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def replayable(status: int, payload: Any, replayed: bool) -> Response:
    """A stored (idempotent) response; a replay says so in a header."""
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=payload, headers=headers)


def no_content() -> Response:
    return Response(status_code=204, body="")


def decoded_body(app: APIGatewayHttpResolver) -> bytes:
    event = app.current_event
    raw = event.body or ""
    return base64.b64decode(raw) if event.is_base64_encoded else raw.encode()


def _validation_error(exc: RequestValidationError) -> Response:
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc else "body"
        if err.get("type") == "json_invalid":
            details.append(
                {
                    "in": "body",
                    "field": None,
                    "message": "request body is not valid JSON",
                    "type": "json_invalid",
                }
            )
            continue
        field = ".".join(loc[1:]) or None
        details.append({"in": where, "field": field, "message": err.get("msg", "invalid"), "type": err.get("type")})
    first = details[0] if details else {"field": None, "message": "invalid request"}
    message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    return Response(
        status_code=VALIDATION_STATUS,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_body("validation_error", message, first["field"], details)),
    )


def _response_invalid(exc: ResponseValidationError) -> Response:
    """Our answer did not match its own schema: a bug on our side, never the caller's fault."""
    logger.error("response failed its schema", errors=str(exc.errors())[:2000])
    return Response(
        status_code=500,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_body("internal", "internal error; the request id is in the logs")),
    )


def _domain_error(exc: EvalgateError) -> Response:
    status = status_of(exc)
    logger.info("request failed", code=exc.code, status=status)
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        headers={k: v for k, v in headers_of(exc).items() if k != "Content-Type"},
        body=json.dumps(error_body(exc.code, exc.message, exc.field, exc.details or None)),
    )


def _unexpected_error(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return Response(
        status_code=500,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_body("internal", "internal error; the request id is in the logs")),
    )


def _route_not_found(exc: Exception) -> Response:
    return Response(
        status_code=404,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_body("not_found", "no such route")),
    )
