"""GET /v5/evaluations/{id}/runs: every run of the evaluation."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import EvaluationId
from evalgate.api.schemas.humanloop import EvaluationRunOut, EvaluationRunsOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import runs

app = EvalgateResolver(role=Role.viewer)


@app.get("/v5/evaluations/<id>/runs", tags=["evaluations"], security=API_KEY)
def list_evaluation_runs(id: EvaluationId) -> EvaluationRunsOut:
    return EvaluationRunsOut(runs=[EvaluationRunOut.of(v) for v in runs.list_runs(app.principal, id)])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
