"""POST /api/v1/scores: score outputs produced elsewhere with evalgate's assertion types, model-graded ones included
(the SDK's `evaluate()` uses it); nothing is stored."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.schemas.scores import ScoredItemOut, ScoreRequest, ScoresOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import scores

app = EvalgateResolver(role=Role.member)


@app.post("/api/v1/scores", tags=["evals"], security=BEARER)
def score_outputs(body: ScoreRequest) -> ScoresOut:
    logger.info("score outputs", items=len(body.items), assertions=len(body.assertions))
    judge = scores.JudgeChoice(body.judge.provider, body.judge.model, body.judge.params) if body.judge else None
    items = [
        scores.ScoreItem(
            id=i.id,
            output=i.output,
            expected=i.expected_output,
            variables=i.variables,
            prompt=i.prompt,
            context=i.context,
            latency_ms=i.latency_ms,
        )
        for i in body.items
    ]
    results, duration_ms = scores.score_outputs(
        app.principal, body.assertions, items, judge=judge, threshold=body.threshold, use_cache=body.use_cache
    )
    return ScoresOut(results=[ScoredItemOut.model_validate(r) for r in results], duration_ms=duration_ms)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
