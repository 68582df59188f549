"""PATCH /v5/evaluations/{id}/runs/{run_id}: `control` (replaces the control run) and `status`
(cancelled/completed, only from pending or running: else 409)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import EvaluationId, EvaluationRunId
from evalgate.api.schemas.humanloop import EvaluationRunOut, EvaluationRunUpdate
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import runs

app = EvalgateResolver(role=Role.member)


@app.patch("/v5/evaluations/<id>/runs/<run_id>", tags=["evaluations"], security=API_KEY)
def update_evaluation_run(id: EvaluationId, run_id: EvaluationRunId, body: EvaluationRunUpdate) -> EvaluationRunOut:
    logger.info("update evaluation run", evaluation_id=id, run_id=run_id, status=body.status, control=body.control)
    view = runs.update_run(app.principal, id, run_id, control=body.control, status=body.status)
    return EvaluationRunOut.of(view)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
