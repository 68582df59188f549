"""Score outputs that were produced elsewhere (the SDK's `evaluate()`, a team's own harness) with evalgate's
assertion types, model-graded ones included: the same engine, judge and embedder path as a suite run's cases
(through the model gateway: cache, retries, limits, cost). Synchronous, bounded, nothing stored."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from evalgate import pools
from evalgate.errors import InvalidInput
from evalgate.models.domain import ModelConfig, Principal, PromptVersion, SuiteConfig
from evalgate.scoring import TYPES, CaseOutput, validate_assertions
from evalgate.scoring import evaluate as score_output
from evalgate.services.container import container
from evalgate.services.execution import Executor

MAX_SCORE_ITEMS = 50  # per request: a model-graded assertion is a judge call per item, within API Gateway's 30 s
SCORE_CONCURRENCY = 8


@dataclass(frozen=True)
class ScoreItem:
    id: str
    output: str
    expected: str | None = None
    variables: dict[str, Any] | None = None
    prompt: str = ""
    context: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True)
class JudgeChoice:
    provider: str
    model: str
    params: dict[str, Any]


def needs_model(assertions: list[dict[str, Any]]) -> bool:
    """Whether any (normalized) assertion calls a judge or an embedding model."""
    return any(TYPES[a["type"]].judge or TYPES[a["type"]].embedder for a in assertions)


def score_outputs(
    principal: Principal,
    raw_assertions: list[Any],
    items: list[ScoreItem],
    *,
    judge: JudgeChoice | None,
    threshold: float | None = None,
    use_cache: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """Each item's verdict ({id, status, score, assertions}) in the items' order, and the time taken (ms)."""
    assertions = validate_assertions(raw_assertions, field="assertions")
    if not assertions:
        raise InvalidInput("give at least one assertion", field="assertions")
    if not items:
        raise InvalidInput("give at least one item", field="items")
    if len(items) > MAX_SCORE_ITEMS:
        raise InvalidInput(f"at most {MAX_SCORE_ITEMS} items per request", field="items")
    seen: set[str] = set()
    for n, item in enumerate(items):
        if item.id in seen:
            raise InvalidInput(f"two items have the id {item.id!r}", field=f"items[{n}].id")
        seen.add(item.id)
    if judge is None and needs_model(assertions):
        graded = next(a["type"] for a in assertions if TYPES[a["type"]].judge or TYPES[a["type"]].embedder)
        raise InvalidInput(
            f"the {graded!r} assertion needs a model: give judge.provider and judge.model", field="judge"
        )
    c = container()
    chosen = judge or JudgeChoice(provider="echo", model="echo", params={})  # never called: nothing needs a model
    model = ModelConfig(provider=chosen.provider, model=chosen.model)
    executor = Executor(  # no prompt: only its judge and embedder are used
        project_id=principal.project_id,
        version=PromptVersion(
            prompt_id=0, version_no=0, template="", settings=model, variables=[], created_at=datetime.now(UTC)
        ),
        model=model,
        suite_config=SuiteConfig(judge_provider=chosen.provider, judge_model=chosen.model, judge_params=chosen.params),
        gateway=c.explore_gateway,
        use_cache=use_cache,
        write_cache=use_cache,
    )
    judge_client, embedder = executor.judge(), executor.embedder()

    def one(item: ScoreItem) -> dict[str, Any]:
        out = CaseOutput(
            output=item.output,
            expected=item.expected,
            variables=dict(item.variables or {}),
            prompt=item.prompt,
            context=item.context,
            latency_ms=item.latency_ms,
        )
        verdict = score_output(assertions, out, judge=judge_client, embedder=embedder, threshold=threshold)
        return {"id": item.id, **verdict.to_dict()}

    started = time.perf_counter()
    with pools.scope("score", min(SCORE_CONCURRENCY, len(items))) as pool:
        results = pool.map(one, items)
    return results, int((time.perf_counter() - started) * 1000)
