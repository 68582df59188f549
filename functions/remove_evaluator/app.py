"""DELETE /v5/evaluations/{id}/evaluators/{evaluator_version_id}: take an evaluator out of the evaluation."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import EvaluationId
from evalgate.api.schemas.humanloop import EvaluationOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import evaluations

app = EvalgateResolver(role=Role.member)

EvaluatorVersionId = Annotated[str, Path(min_length=1, max_length=500, description="evaluator version id")]


@app.delete("/v5/evaluations/<id>/evaluators/<evaluator_version_id>", tags=["evaluations"], security=API_KEY)
def remove_evaluator(id: EvaluationId, evaluator_version_id: EvaluatorVersionId) -> EvaluationOut:
    logger.info("remove evaluator", evaluation_id=id)
    return EvaluationOut.of(evaluations.remove_evaluator(app.principal, id, evaluator_version_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
