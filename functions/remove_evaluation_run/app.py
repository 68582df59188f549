"""DELETE /v5/evaluations/{id}/runs/{run_id}: take a run out of the evaluation (the run stays)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver, no_content
from evalgate.api.params import EvaluationId, EvaluationRunId
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import runs

app = EvalgateResolver(role=Role.member)


@app.delete("/v5/evaluations/<id>/runs/<run_id>", tags=["evaluations"], security=API_KEY, status_code=204)
def remove_evaluation_run(id: EvaluationId, run_id: EvaluationRunId) -> Response[None]:
    logger.info("remove evaluation run", evaluation_id=id, run_id=run_id)
    runs.remove_run(app.principal, id, run_id)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
