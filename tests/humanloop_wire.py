"""The Humanloop SDK's view of /v5: every response body the SDK receives is checked against the SDK's own
pydantic models (the SDK builds its models without validation, so a missing required field would otherwise
pass unnoticed). Shared by the e2e and integration tests that drive the real SDK."""

from __future__ import annotations

import re
from typing import Any

import httpx
from humanloop.types import (
    CreateEvaluatorLogResponse,
    CreateFlowLogResponse,
    CreatePromptLogResponse,
    DatapointResponse,
    DatasetResponse,
    EvaluationLogResponse,
    EvaluationResponse,
    EvaluationRunResponse,
    EvaluationRunsResponse,
    EvaluationStats,
    EvaluatorLogResponse,
    EvaluatorResponse,
    FlowLogResponse,
    FlowResponse,
    HttpValidationError,
    PaginatedDataEvaluationLogResponse,
    PaginatedEvaluationResponse,
    PromptLogResponse,
    PromptResponse,
)
from pydantic import BaseModel

# (method, path under /v5) -> the SDK model its 2xx body must validate against
MODELS: list[tuple[str, re.Pattern[str], type[BaseModel] | None]] = [
    ("POST", re.compile(r"^files/retrieve-by-path$"), None),  # by `type`: see _check
    ("POST", re.compile(r"^prompts$"), PromptResponse),
    ("GET", re.compile(r"^prompts/[^/]+$"), PromptResponse),
    ("POST", re.compile(r"^prompts/log$"), CreatePromptLogResponse),
    ("POST", re.compile(r"^flows$"), FlowResponse),
    ("GET", re.compile(r"^flows/[^/]+$"), FlowResponse),
    ("POST", re.compile(r"^flows/log$"), CreateFlowLogResponse),
    ("POST", re.compile(r"^datasets$"), DatasetResponse),
    ("GET", re.compile(r"^datasets/[^/]+$"), DatasetResponse),
    ("POST", re.compile(r"^evaluators$"), EvaluatorResponse),
    ("POST", re.compile(r"^evaluators/log$"), CreateEvaluatorLogResponse),
    ("GET", re.compile(r"^logs/[^/]+$"), None),  # prompt or evaluator log: see _check
    ("GET", re.compile(r"^evaluations$"), PaginatedEvaluationResponse),
    ("POST", re.compile(r"^evaluations$"), EvaluationResponse),
    ("GET", re.compile(r"^evaluations/[^/]+$"), EvaluationResponse),
    ("POST", re.compile(r"^evaluations/[^/]+/evaluators$"), EvaluationResponse),
    ("DELETE", re.compile(r"^evaluations/[^/]+/evaluators/[^/]+$"), EvaluationResponse),
    ("GET", re.compile(r"^evaluations/[^/]+/runs$"), EvaluationRunsResponse),
    ("POST", re.compile(r"^evaluations/[^/]+/runs$"), EvaluationRunResponse),
    ("POST", re.compile(r"^evaluations/[^/]+/runs/[^/]+$"), EvaluationRunResponse),
    ("PATCH", re.compile(r"^evaluations/[^/]+/runs/[^/]+$"), EvaluationRunResponse),
    ("POST", re.compile(r"^evaluations/[^/]+/runs/[^/]+/logs$"), EvaluationRunResponse),
    ("GET", re.compile(r"^evaluations/[^/]+/stats$"), EvaluationStats),
    ("GET", re.compile(r"^evaluations/[^/]+/logs$"), PaginatedDataEvaluationLogResponse),
]


class Recorder:
    """Every /v5 response the SDK receives (an httpx response hook), checked once the calls are done."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, Any]] = []

    def hook(self, response: httpx.Response) -> None:
        response.read()
        path = response.request.url.path.split("/v5/", 1)[1]
        body = response.json() if response.content else None
        self.seen.append((response.request.method, path, response.status_code, body))

    def check_all(self) -> set[tuple[str, str]]:
        """Validate every body; the routes met (method, pattern)."""
        met: set[tuple[str, str]] = set()
        for method, path, status, body in self.seen:
            if status == 204:
                continue
            if status == 422:
                err = HttpValidationError.model_validate(body)
                assert err.detail and set(body) == {"detail"}, body
                continue
            if status >= 400:
                assert isinstance(body.get("detail"), str), (method, path, body)
                continue
            route = next(((m, p, model) for m, p, model in MODELS if m == method and p.match(path)), None)
            assert route is not None, f"no model for {method} {path}"
            met.add((method, route[1].pattern))
            check(path, route[2], body)
        return met


def check(path: str, model: type[BaseModel] | None, body: Any) -> None:
    if model is None:
        kind = body.get("type") or ("evaluator" if str(body.get("id", "")).startswith("evl_") else "prompt")
        if kind == "prompt" and "flow" in body:
            kind = "flow"
        model = {
            "prompt": PromptLogResponse if path.startswith("logs/") else PromptResponse,
            "flow": FlowLogResponse if path.startswith("logs/") else FlowResponse,
            "dataset": DatasetResponse,
            "evaluator": EvaluatorLogResponse if path.startswith("logs/") else EvaluatorResponse,
        }[kind]
    model.model_validate(body)
    if model is DatasetResponse and body.get("datapoints"):
        for d in body["datapoints"]:
            DatapointResponse.model_validate(d)
    if model is PaginatedDataEvaluationLogResponse:
        for record in body["records"]:
            EvaluationLogResponse.model_validate(record)
            if "flow" in record["log"]:  # the union's member that evalgate's logs are
                FlowLogResponse.model_validate(record["log"])
                FlowResponse.model_validate(record["log"]["flow"])
            else:
                PromptLogResponse.model_validate(record["log"])
            for e in record["evaluator_logs"]:
                EvaluatorLogResponse.model_validate(e)
                EvaluatorResponse.model_validate(e["evaluator"])
    if model is FlowLogResponse:
        FlowResponse.model_validate(body["flow"])
        for e in body["evaluator_logs"]:
            EvaluatorResponse.model_validate(e["evaluator"])
    if model is PromptLogResponse:
        PromptResponse.model_validate(body["prompt"])
        for e in body["evaluator_logs"]:
            EvaluatorResponse.model_validate(e["evaluator"])
