"""POST /v5/evaluations/{id}/runs/{run_id}: add an existing run of the project to the evaluation."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import EvaluationId, EvaluationRunId
from evalgate.api.schemas.humanloop import EvaluationRunOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import runs

app = EvalgateResolver(role=Role.member)


@app.post("/v5/evaluations/<id>/runs/<run_id>", tags=["evaluations"], security=API_KEY)
def add_existing_run(id: EvaluationId, run_id: EvaluationRunId) -> EvaluationRunOut:
    logger.info("add existing run", evaluation_id=id, run_id=run_id)
    return EvaluationRunOut.of(runs.add_existing_run(app.principal, id, run_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
