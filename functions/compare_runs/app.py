"""POST /api/prompts/{promptId}/eval/compare: select-best and max-score across the finished runs of one suite."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.runs import (
    ComparedCaseOut,
    ComparedOutputOut,
    CompareOut,
    CompareRequest,
    OutputComparisonOut,
)
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import comparisons

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/compare", tags=["runs"], security=BEARER)
def compare_runs(promptId: NumericId, body: CompareRequest) -> CompareOut:
    logger.info("compare runs", prompt_id=promptId, runs=len(body.run_ids))
    cases, cursor = comparisons.compare_runs(
        app.principal, promptId, body.run_ids, limit=body.limit, cursor=body.cursor
    )
    return CompareOut(
        cases=[
            ComparedCaseOut(
                index=case.index,
                name=case.name,
                case_name=case.case_name,
                outputs=[
                    ComparedOutputOut(
                        run_id=o.run_id,
                        status=o.status,
                        score=o.score,
                        reason=o.reason,
                        comparisons=[OutputComparisonOut.model_validate(c) for c in o.comparisons],
                    )
                    for o in case.outputs
                ],
            )
            for case in cases
        ],
        next_cursor=cursor,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
