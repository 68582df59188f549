"""GET /v5/evaluations/{id}/stats: per run its log count and each evaluator's figures, from aggregates;
against the control run when one is set."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import EvaluationId
from evalgate.api.schemas.humanloop import EvaluationStatsOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import stats

app = EvalgateResolver(role=Role.viewer)


@app.get("/v5/evaluations/<id>/stats", tags=["evaluations"], security=API_KEY)
def get_evaluation_stats(id: EvaluationId) -> EvaluationStatsOut:
    return EvaluationStatsOut.of(stats.evaluation_stats(app.principal, id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
