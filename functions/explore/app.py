"""POST /api/prompts/{promptId}/eval/explore: run cases now and answer the results; nothing is stored."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.runs import ExploreOut, ExploreRequest, ResultOut, RunSummary
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import explore

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/explore", tags=["runs"], security=BEARER)
def explore_cases(promptId: NumericId, body: ExploreRequest) -> ExploreOut:
    logger.info("explore", prompt_id=promptId, tests=len(body.tests))
    results, duration_ms = explore.explore(
        app.principal,
        promptId,
        version_no=body.version_no,
        template=body.template,
        model_override=body.model_config_,
        suite_id=body.suite_id,
        test_ids=body.test_ids,
        tests=[t.model_dump() for t in body.tests],
        use_cache=body.use_cache,
    )
    weight_total = sum(r.weight for r in results)
    weight_passed = sum(r.weight for r in results if r.status == "passed")
    summary = RunSummary(
        total=len(results),
        passed=sum(r.status == "passed" for r in results),
        failed=sum(r.status == "failed" for r in results),
        errored=sum(r.status == "errored" for r in results),
    )
    score = round(100 * weight_passed / weight_total, 2) if weight_total else 0.0
    return ExploreOut(summary=summary, score=score, duration_ms=duration_ms, results=[ResultOut.of(r) for r in results])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
