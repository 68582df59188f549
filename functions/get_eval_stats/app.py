"""GET /api/v1/evals/{runId}/stats: count, errors, mean, std, percentiles, pass rate with its Wilson interval,
latency, token and cost totals, per scorer too, read from the run's aggregates (the run item and one item per
scorer, never the results); `controlRunId` adds the paired comparison with a control run."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.evals import EvalStatsOut
from evalgate.errors import InvalidInput
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import evals

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/evals/<runId>/stats", tags=["evals"], security=BEARER)
def get_eval_stats(
    runId: TextId,
    controlRunId: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> EvalStatsOut:
    control = None
    if controlRunId is not None:
        if not controlRunId.isdigit() or len(controlRunId) > 16:
            raise InvalidInput(f"control run {controlRunId} not found", field="controlRunId")
        control = int(controlRunId)
    figures = evals.run_stats(app.principal, evals.parse_run_id(runId), control)
    return EvalStatsOut.of(figures, evals.evalguard_status(figures.run))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
