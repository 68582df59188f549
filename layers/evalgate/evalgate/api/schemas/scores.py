"""Scoring outputs produced elsewhere (POST /api/v1/scores) on the wire."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from evalgate.api.schemas.base import ApiModel, ExpectedOutput, RequestModel
from evalgate.services.scores import MAX_SCORE_ITEMS

ItemId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class JudgeIn(RequestModel):
    provider: str = Field(min_length=1, max_length=100, description="provider of model-graded assertions")
    model: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict, description="extra parameters of judge calls")


class ScoreItemIn(RequestModel):
    id: ItemId = Field(description="yours, echoed back with its verdict")
    output: str = Field(max_length=1_000_000, description="the output to score")
    expected_output: ExpectedOutput | None = Field(default=None, description="compared when an assertion has no value")
    variables: dict[str, Any] = Field(default_factory=dict, description="rendered into assertion values ({{var}})")
    prompt: str = Field(default="", max_length=200_000, description="the input the output answers (judges see it)")
    context: str | None = Field(default=None, max_length=1_000_000, description="retrieved documents, if any")
    latency_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class ScoreRequest(RequestModel):
    assertions: list[dict[str, Any]] = Field(min_length=1, max_length=50, description="as in suite tests")
    items: list[ScoreItemIn] = Field(min_length=1, max_length=MAX_SCORE_ITEMS)
    judge: JudgeIn | None = Field(default=None, description="needed by model-graded assertions (llm-rubric, similar…)")
    threshold: float | None = Field(default=None, ge=0, le=1, description="weighted score an item needs to pass")
    use_cache: bool = True


class ScoredAssertionOut(ApiModel):
    operator: str
    status: str = Field(description="passed | failed | errored (an errored assertion: the reason says why)")
    expected: Any = None
    actual: Any = None
    score: float
    weight: float
    reason: str
    metric: str | None = None


class ScoredItemOut(ApiModel):
    id: str
    status: str = Field(description="passed | failed | errored")
    score: float
    assertions: list[ScoredAssertionOut]


class ScoresOut(ApiModel):
    results: list[ScoredItemOut]
    duration_ms: int
